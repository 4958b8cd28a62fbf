//! Readings in the shape of Dexcom Share, the unofficial follower API (what
//! pydexcom and Home Assistant read): a record
//! `{"WT": "/Date(ms)/", "ST": "/Date(ms)/", "DT": "/Date(ms±hhmm)/", "Value": 110,
//! "Trend": 4}`, alone or in an array (newest first).
//!
//! Policy: Share is undocumented, so this follows what its clients read. `Value` is
//! mg/dL (Share has no unit field; its clients convert to mmol/L themselves).
//! `Trend` is a number 0–9 or, in newer answers, a name (`"Flat"`); both become the
//! Web API's trend names (`flat`). The time is `ST` (else `WT`) with the offset
//! `DT` shows (see [`super::time`]). Share records have no id.

use super::glucose::{self, Reading};
use super::time::{display_offset, parse_net_date, plausible};
use super::VENDOR;
use crate::connector::{Page, ParseError, Skipped};
use crate::raw::{join, Object, Reader};
use crate::sample::{Metric, Quantity, Sample, Value};
use chrono::{DateTime, Duration};
use serde_json::value::RawValue;

/// The vendor's name for the metric.
const VENDOR_CODE: &str = "share_egv";

/// Whether a body has Share's shape rather than the Web API's: an array, or an
/// object with Share's fields and no `records`.
pub(super) fn looks_like_share(body: &[u8]) -> bool {
    let start = body
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .and_then(|i| body.get(i..))
        .unwrap_or_default();
    match start.first() {
        Some(b'[') => true,
        Some(b'{') => serde_json::from_slice::<Object<'_>>(body).is_ok_and(|obj| {
            !obj.contains_key("records")
                && ["WT", "ST", "DT", "Value"]
                    .iter()
                    .any(|k| obj.contains_key(*k))
        }),
        _ => false,
    }
}

/// Parse a whole body: one record or an array of them.
pub(super) fn page(data_type: &'static str, body: &[u8]) -> Result<Page, ParseError> {
    let r = Reader::new(VENDOR, data_type);
    let root = r.root(body)?;
    let records: Vec<(String, &RawValue)> = if root.get().starts_with('[') {
        r.array(root, "$")?
            .into_iter()
            .enumerate()
            .map(|(i, raw)| (format!("$[{i}]"), raw))
            .collect()
    } else {
        vec![(String::new(), root)]
    };
    let mut page = Page::default();
    for (path, raw) in records {
        match record(r, &path, raw)? {
            Ok(sample) => page.samples.push(sample),
            Err(reason) => page.skipped.push(Skipped {
                path: if path.is_empty() {
                    "$".to_owned()
                } else {
                    path
                },
                reason,
            }),
        }
    }
    Ok(page)
}

fn record(
    r: Reader,
    path: &str,
    raw: &RawValue,
) -> Result<Result<Sample, &'static str>, ParseError> {
    let obj = r.object(raw, if path.is_empty() { "$" } else { path })?;
    let (instant_key, instant_ms) = match date(r, &obj, path, "ST")? {
        Some((ms, _)) => ("ST", ms),
        None => match date(r, &obj, path, "WT")? {
            Some((ms, _)) => ("WT", ms),
            None => return Err(r.err(join(path, "ST"), "missing (and no WT)")),
        },
    };
    let instant = DateTime::from_timestamp_millis(instant_ms)
        .ok_or_else(|| r.err(join(path, instant_key), "out of range"))?;
    let Some((display_ms, display_zone)) = date(r, &obj, path, "DT")? else {
        return Err(r.err(join(path, "DT"), "missing"));
    };
    let display_clock = DateTime::from_timestamp_millis(display_ms)
        .and_then(|t| {
            t.naive_utc()
                .checked_add_signed(Duration::seconds(i64::from(display_zone.unwrap_or(0))))
        })
        .ok_or_else(|| r.err(join(path, "DT"), "out of range"))?;
    let value = match glucose::value(obj.get("Value").copied(), "mg/dL") {
        Ok(Reading::Value(v)) => v,
        Ok(Reading::Skip(reason)) => return Ok(Err(reason)),
        Err(problem) => return Err(r.err(join(path, "Value"), problem)),
    };
    let start = instant.with_timezone(&display_offset(display_clock, instant));
    if !plausible(start) {
        return Err(r.err(join(path, instant_key), "out of range"));
    }
    Ok(Ok(Sample {
        metric: Metric::GlucoseCgm,
        vendor_code: VENDOR_CODE.to_owned(),
        value: Value::Quantity(Quantity {
            value,
            unit: "mg/dL".to_owned(),
        }),
        start,
        end: None,
        device: Some(glucose::device(None, None, None)),
        vendor_record_id: None,
        trend: trend(r, &obj, path)?,
    }))
}

/// A `/Date(…)/` field, absent or `null` as `None`.
fn date(
    r: Reader,
    obj: &Object<'_>,
    path: &str,
    key: &str,
) -> Result<Option<(i64, Option<i32>)>, ParseError> {
    match r.string(obj, path, key)? {
        None => Ok(None),
        Some(text) => parse_net_date(&text)
            .map(Some)
            .ok_or_else(|| r.err(join(path, key), "not a /Date(ms)/ date")),
    }
}

/// `Trend` as a number or a name; an unknown one is dropped, the reading stays.
fn trend(r: Reader, obj: &Object<'_>, path: &str) -> Result<Option<String>, ParseError> {
    let Some(raw) = crate::raw::present(obj, "Trend") else {
        return Ok(None);
    };
    if raw
        .get()
        .starts_with(|c: char| c == '-' || c.is_ascii_digit())
    {
        // A number outside 0–9 (or not whole) is a trend Share never documented.
        return Ok(serde_json::from_str::<u64>(raw.get())
            .ok()
            .and_then(glucose::share_trend_number));
    }
    match serde_json::from_str::<String>(raw.get()) {
        Ok(name) => Ok(glucose::share_trend_name(&name)),
        Err(_) => Err(r.err(join(path, "Trend"), "not a number or a name")),
    }
}
