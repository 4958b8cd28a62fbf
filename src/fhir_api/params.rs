//! FHIR search parameter values: dates with prefixes and partial precision, tokens,
//! references, `_count`, `_sort` and the paging cursor. Errors name the parameter
//! and the rule, never echo the value (it may be PHI).

use super::outcome::FhirError;
use crate::domain::MemberId;
use crate::store::observations::{Cursor, DateBound, Prefix, Token};
use chrono::{DateTime, Datelike, Months, NaiveDate, TimeDelta};

/// `_count` when none is given, and the most a page holds.
pub const DEFAULT_COUNT: usize = 50;
pub const MAX_COUNT: usize = 1000;

fn bad(param: &str, rule: &str) -> FhirError {
    FhirError::invalid(format!("search parameter `{param}`: {rule}"))
}

/// `[eq|ge|le|gt|lt]VALUE` with VALUE `YYYY`, `YYYY-MM`, `YYYY-MM-DD` or an instant
/// with an offset; the value's precision gives the range `[low, high)` in Unix µs.
/// Dates without a time are taken in UTC.
pub fn date(param: &str, raw: &str) -> Result<DateBound, FhirError> {
    let (prefix, value) = match raw.get(..2) {
        Some("eq") => (Prefix::Eq, &raw[2..]),
        Some("ge") => (Prefix::Ge, &raw[2..]),
        Some("le") => (Prefix::Le, &raw[2..]),
        Some("gt") => (Prefix::Gt, &raw[2..]),
        Some("lt") => (Prefix::Lt, &raw[2..]),
        Some(p) if p.chars().all(|c| c.is_ascii_lowercase()) => {
            return Err(bad(param, "supported prefixes are eq, ge, le, gt, lt"))
        }
        _ => (Prefix::Eq, raw),
    };
    let (low, high) = range(value).ok_or_else(|| {
        bad(
            param,
            "a date is YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm[:ss[.fff]] with Z or ±hh:mm",
        )
    })?;
    Ok(DateBound { prefix, low, high })
}

fn micros(d: NaiveDate) -> Option<i64> {
    Some(d.and_hms_opt(0, 0, 0)?.and_utc().timestamp_micros())
}

fn range(value: &str) -> Option<(i64, i64)> {
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    match value.len() {
        4 if digits(value) => {
            let y: i32 = value.parse().ok()?;
            let from = NaiveDate::from_ymd_opt(y, 1, 1)?;
            Some((
                micros(from)?,
                micros(NaiveDate::from_ymd_opt(y + 1, 1, 1)?)?,
            ))
        }
        7 if value.as_bytes()[4] == b'-' && digits(&value[..4]) && digits(&value[5..]) => {
            let from =
                NaiveDate::from_ymd_opt(value[..4].parse().ok()?, value[5..].parse().ok()?, 1)?;
            Some((
                micros(from)?,
                micros(from.checked_add_months(Months::new(1))?)?,
            ))
        }
        10 => {
            let d = NaiveDate::parse_from_str(value, "%Y-%m-%d").ok()?;
            (d.year() > 0).then_some(())?;
            Some((micros(d)?, micros(d.succ_opt()?)?))
        }
        _ => instant(value),
    }
}

/// An instant: its precision (minutes, seconds, or the fraction given) is the range.
fn instant(value: &str) -> Option<(i64, i64)> {
    let (_, time) = value.split_once('T')?;
    let with_seconds = if time.len() >= 5
        && time
            .as_bytes()
            .get(5)
            .is_none_or(|b| !b.is_ascii_digit() && *b != b':')
    {
        // hh:mm then the offset: read as hh:mm:00.
        let (date, _) = value.split_once('T')?;
        format!("{date}T{}:00{}", &time[..5], &time[5..])
    } else {
        value.to_owned()
    };
    let t = DateTime::parse_from_rfc3339(&with_seconds).ok()?;
    let width = if with_seconds != value {
        TimeDelta::minutes(1)
    } else {
        match time.split_once('.') {
            Some((_, frac)) => {
                let n = frac.chars().take_while(char::is_ascii_digit).count().min(6);
                TimeDelta::microseconds(10_i64.pow(6 - u32::try_from(n).ok()?))
            }
            None => TimeDelta::seconds(1),
        }
    };
    let low = t.timestamp_micros();
    Some((low, low.checked_add(width.num_microseconds()?)?))
}

/// `system|code`, `|code` (no system) or `code`.
pub fn tokens(param: &str, raw: &str) -> Result<Vec<Token>, FhirError> {
    raw.split(',')
        .map(|t| {
            let (system, code) = match t.split_once('|') {
                Some((s, c)) => (Some(s.to_owned()).filter(|s| !s.is_empty()), c),
                None => (None, t),
            };
            if code.is_empty() || code.len() > 256 {
                return Err(bad(param, "a token is [system|]code with a non-empty code"));
            }
            Ok(Token {
                system,
                code: code.to_owned(),
            })
        })
        .collect()
}

/// `Patient/<id>` or `<id>`.
pub fn patient(param: &str, raw: &str) -> Result<MemberId, FhirError> {
    let id = raw.strip_prefix("Patient/").unwrap_or(raw);
    MemberId::parse(id).ok_or_else(|| bad(param, "a reference is Patient/<id> or <id>"))
}

pub fn count(raw: &str) -> Result<usize, FhirError> {
    match raw.parse::<usize>() {
        Ok(n) if n <= MAX_COUNT => Ok(n),
        _ => Err(bad(
            "_count",
            &format!("a whole number from 0 to {MAX_COUNT}"),
        )),
    }
}

/// The cursor `<start µs>.<id>` of a `next` link.
pub fn cursor(raw: &str) -> Result<Cursor, FhirError> {
    let (start, id) = raw
        .split_once('.')
        .ok_or_else(|| bad("_cursor", "use the next link as given"))?;
    let ok_id = !id.is_empty()
        && id.len() <= 64
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    match start.parse() {
        Ok(start) if ok_id => Ok(Cursor {
            start,
            id: id.to_owned(),
        }),
        _ => Err(bad("_cursor", "use the next link as given")),
    }
}

pub fn cursor_text(c: &Cursor) -> String {
    format!("{}.{}", c.start, c.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(v: &str) -> (i64, i64) {
        range(v).unwrap()
    }

    #[test]
    fn precision_gives_the_range() {
        let day = 86_400_000_000;
        let (l, h) = r("2026-11-20");
        assert_eq!(h - l, day);
        let (l2, h2) = r("2026-11");
        assert_eq!((h2 - l2) / day, 30);
        assert_eq!(l2, r("2026-11-01").0);
        let (l3, h3) = r("2026");
        assert_eq!((h3 - l3) / day, 365);
        let (a, b) = r("2026-11-20T07:15:00+01:00");
        assert_eq!(b - a, 1_000_000);
        assert_eq!(a, r("2026-11-20T06:15:00Z").0);
        let (a, b) = r("2026-11-20T07:15+01:00");
        assert_eq!(b - a, 60_000_000);
        let (a, b) = r("2026-11-20T07:15:00.5Z");
        assert_eq!(b - a, 100_000);
        for bad in [
            "2026-13",
            "20261120",
            "2026-11-20T07",
            "x",
            "2026-11-20T07:15:00",
        ] {
            assert!(range(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn prefixes_and_tokens() {
        assert_eq!(date("date", "ge2026").unwrap().prefix, Prefix::Ge);
        assert_eq!(date("date", "2026").unwrap().prefix, Prefix::Eq);
        assert!(date("date", "sa2026").is_err());
        let t = tokens("code", "http://loinc.org|8867-4,41950-7").unwrap();
        assert_eq!(t[0].system.as_deref(), Some("http://loinc.org"));
        assert_eq!(t[1].system, None);
        assert!(tokens("code", "a,").is_err());
    }
}
