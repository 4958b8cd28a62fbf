//! The query of a `usercollection` request and the page that answers it:
//! `{"data": [...], "next_token": "…" | null}`.
//!
//! Policy: documents are chosen by their `day` (the member's local date) with
//! `start_date` and `end_date` both inclusive (default: yesterday to today, as Oura
//! documents); heart rate by its instant in `[start_datetime, end_datetime)`
//! (default: the last day). A page holds [`PAGE_DOCUMENTS`] documents or
//! [`PAGE_READINGS`] readings. `next_token` is opaque to clients and stateless here:
//! it names the next record (a day and its place in the day, or an instant), so any
//! page can be fetched again and yields the same bytes; a token outside its query's
//! range is refused.

use super::documents::{self, DocKind};
use super::life;
use crate::sandbox::twin::{single, DataError};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

/// Documents per page.
pub(super) const PAGE_DOCUMENTS: usize = 10;
/// Heart-rate readings per page.
pub(super) const PAGE_READINGS: usize = 1000;

fn bad(name: &'static str, problem: &str) -> DataError {
    DataError::BadParam {
        name,
        problem: problem.to_owned(),
    }
}

fn page(data: Vec<Value>, next_token: Option<String>) -> Result<Vec<u8>, DataError> {
    serde_json::to_vec(&json!({"data": data, "next_token": next_token}))
        .map_err(|e| DataError::Internal(e.to_string()))
}

/// The first day the synthetic person has data for (they were born with the epoch).
fn epoch_day() -> NaiveDate {
    DateTime::<Utc>::UNIX_EPOCH.date_naive()
}

fn date(query: &[(String, String)], name: &'static str) -> Result<Option<NaiveDate>, DataError> {
    single(query, name)?
        .map(|text| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map_err(|_| bad(name, "not a YYYY-MM-DD date"))
        })
        .transpose()
}

/// An ISO 8601 date-time; without an offset it is UTC.
fn datetime(
    query: &[(String, String)],
    name: &'static str,
) -> Result<Option<DateTime<Utc>>, DataError> {
    single(query, name)?
        .map(|text| {
            DateTime::parse_from_rfc3339(text)
                .map(|t| t.with_timezone(&Utc))
                .or_else(|_| {
                    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").map(|t| t.and_utc())
                })
                .map_err(|_| bad(name, "not an ISO 8601 date-time"))
        })
        .transpose()
}

fn encode(text: &str) -> String {
    URL_SAFE_NO_PAD.encode(text)
}

fn decode(text: &str) -> Option<String> {
    String::from_utf8(URL_SAFE_NO_PAD.decode(text).ok()?).ok()
}

fn doc_token(day: NaiveDate, seq: u8) -> String {
    encode(&format!("d:{day}:{seq}"))
}

fn read_doc_token(text: &str) -> Option<(NaiveDate, u8)> {
    let plain = decode(text)?;
    let (day, seq) = plain.strip_prefix("d:")?.rsplit_once(':')?;
    Some((
        NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()?,
        seq.parse().ok()?,
    ))
}

fn time_token(at: DateTime<Utc>) -> String {
    encode(&format!("t:{}", at.timestamp()))
}

fn read_time_token(text: &str) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(decode(text)?.strip_prefix("t:")?.parse().ok()?, 0)
}

/// A page of `kind`'s documents of `user`.
pub(super) fn documents(
    kind: DocKind,
    user: &str,
    query: &[(String, String)],
    now: DateTime<Utc>,
) -> Result<Vec<u8>, DataError> {
    let today = life::local_day(user, now);
    let end = date(query, "end_date")?.unwrap_or(today);
    let start = match date(query, "start_date")? {
        Some(d) => d,
        None => end.pred_opt().unwrap_or(end),
    };
    if end < start {
        return Err(bad("end_date", "before start_date"));
    }
    let cursor = single(query, "next_token")?
        .map(|text| {
            read_doc_token(text)
                .filter(|(day, _)| start <= *day && *day <= end)
                .ok_or_else(|| bad("next_token", "not a token of this query"))
        })
        .transpose()?;
    let first = cursor.map_or(start, |(day, _)| day).max(epoch_day());
    let last = end.min(today);
    let mut found = Vec::new();
    let days = std::iter::successors(Some(first), |d| d.succ_opt()).take_while(|d| *d <= last);
    for day in days {
        found.extend(
            documents::of_day(kind, user, day)
                .into_iter()
                .filter(|d| cursor.is_none_or(|c| (d.day, d.seq) >= c) && d.available <= now),
        );
        if found.len() > PAGE_DOCUMENTS {
            break;
        }
    }
    let next_token = found.get(PAGE_DOCUMENTS).map(|d| doc_token(d.day, d.seq));
    found.truncate(PAGE_DOCUMENTS);
    page(found.into_iter().map(|d| d.body).collect(), next_token)
}

/// A page of `user`'s heart-rate readings.
pub(super) fn heart_rate(
    user: &str,
    query: &[(String, String)],
    now: DateTime<Utc>,
) -> Result<Vec<u8>, DataError> {
    let end = datetime(query, "end_datetime")?.unwrap_or(now);
    let start = match datetime(query, "start_datetime")? {
        Some(t) => t,
        None => end.checked_sub_signed(Duration::days(1)).unwrap_or(end),
    };
    if end <= start {
        return Err(bad("end_datetime", "not after start_datetime"));
    }
    let cursor = single(query, "next_token")?
        .map(|text| {
            read_time_token(text)
                .filter(|t| start <= *t && *t < end)
                .ok_or_else(|| bad("next_token", "not a token of this query"))
        })
        .transpose()?;
    let from = cursor.unwrap_or(start).max(DateTime::<Utc>::UNIX_EPOCH);
    let mut found = Vec::new();
    let mut day = life::local_day(user, from);
    loop {
        let segment = life::heart_rate(user, day);
        match segment.first() {
            Some(r) if r.at < end && r.at <= now => {}
            _ => break,
        }
        found.extend(
            segment
                .into_iter()
                .filter(|r| from <= r.at && r.at < end && r.at <= now),
        );
        match day.succ_opt() {
            Some(next) if found.len() <= PAGE_READINGS => day = next,
            _ => break,
        }
    }
    let next_token = found.get(PAGE_READINGS).map(|r| time_token(r.at));
    found.truncate(PAGE_READINGS);
    let data = found
        .iter()
        .map(|r| {
            json!({
                "bpm": r.bpm,
                "source": r.source.name(),
                "timestamp": r.at.to_rfc3339_opts(SecondsFormat::Secs, false),
                "timestamp_unix": r.at.timestamp_millis(),
            })
        })
        .collect();
    page(data, next_token)
}
