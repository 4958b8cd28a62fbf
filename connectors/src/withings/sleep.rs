//! `sleep_summary`: nightly summaries from `POST /v2/sleep action=getsummary`.
//!
//! Policy: a summary covers one sleep period, `startdate` to `enddate` (epoch
//! seconds), shown in the offsets of the record's `timezone`; every sample of the
//! night spans that period. Durations are whole seconds, delivered in minutes
//! (exact where the quotient is a finite decimal, else to the thousandth).
//!
//! | field | metric |
//! |---|---|
//! | `total_sleep_time`; else `asleepduration` (nights from another source, which have no stages); else light + deep + REM | sleep duration, `min` |
//! | `deepsleepduration` | deep sleep, `min` |
//! | `lightsleepduration` | light sleep, `min` |
//! | `remsleepduration` | REM sleep, `min` |
//! | `hr_average` | heart rate over the night, `/min` |
//!
//! A missing field yields no sample; a `null` or negative duration, or a heart
//! rate of zero or less, is left out and counted. `vendor_record_id` is the
//! summary's `id`. The device is the record's `model_id` (named from Withings'
//! model table) and `hash_deviceid`; `model` there is only 16 (tracker) or 32
//! (sleep monitor).

use super::device::{self, Source};
use super::json::{self, join, Number, Object, Reader, Zoned as _};
use super::{decimal, skip, SLEEP_SUMMARY};
use crate::connector::{Page, ParseError};
use crate::sample::{Metric, Quantity, Sample, Value};
use chrono::{DateTime, FixedOffset};
use serde_json::value::RawValue;

/// The data fields a `getsummary` request asks for.
pub(super) const DATA_FIELDS: &str =
    "total_sleep_time,asleepduration,lightsleepduration,deepsleepduration,remsleepduration,hr_average";

/// The stage durations, in the order their samples are made.
const STAGES: [(&str, Metric); 3] = [
    ("deepsleepduration", Metric::SleepDeep),
    ("lightsleepduration", Metric::SleepLight),
    ("remsleepduration", Metric::SleepRem),
];

/// Parse one `getsummary` answer (or its body, or a bare list of summaries).
pub(super) fn page(body: &[u8]) -> Result<Page, ParseError> {
    let r = json::reader(SLEEP_SUMMARY);
    let doc = json::open(&r, body, "series")?;
    let mut page = Page::default();
    for (i, raw) in doc.records.iter().enumerate() {
        night(&r, &mut page, &doc.record_path(i), raw)?;
    }
    page.next_cursor = doc.next_cursor(&r)?;
    Ok(page)
}

/// What every sample of one night shares.
struct Night {
    id: Option<String>,
    start: DateTime<FixedOffset>,
    end: DateTime<FixedOffset>,
    device: Option<crate::sample::Device>,
}

impl Night {
    fn sample(&self, metric: Metric, code: &str, value: String, ucum: &str) -> Sample {
        Sample {
            metric,
            vendor_code: code.to_owned(),
            value: Value::Quantity(Quantity {
                value,
                unit: ucum.to_owned(),
            }),
            start: self.start,
            end: Some(self.end),
            device: self.device.clone(),
            vendor_record_id: self.id.clone(),
            trend: None,
        }
    }
}

fn night(r: &Reader, page: &mut Page, path: &str, raw: &RawValue) -> Result<(), ParseError> {
    let obj = r.object(raw, path)?;
    let zone = r.required_zone(&obj, path, "timezone")?;
    let start = r.instant(&obj, path, "startdate", zone)?;
    let end = r.instant(&obj, path, "enddate", zone)?;
    if end < start {
        return Err(r.err(join(path, "enddate"), "before startdate"));
    }
    let night = Night {
        id: r.integer_text(&obj, path, "id")?.map(str::to_owned),
        start,
        end,
        device: Source {
            model: None,
            model_id: r.integer(&obj, path, "model_id")?,
            device_id: device::device_id(r, &obj, path)?,
            brand: None,
        }
        .device(),
    };
    let data_path = join(path, "data");
    let Some(data) = obj.get("data").filter(|raw| raw.get().trim() != "null") else {
        skip::record(page, data_path, skip::NO_SLEEP_DATA);
        return Ok(());
    };
    let data = r.object(data, &data_path)?;
    let mut stages: Vec<(Metric, &str, u64)> = Vec::new();
    for (key, metric) in STAGES {
        if let Some(seconds) = duration(r, page, &data, &data_path, key)? {
            stages.push((metric, key, seconds));
        }
    }
    let total = match duration(r, page, &data, &data_path, "total_sleep_time")? {
        Some(seconds) => Some(("total_sleep_time", seconds)),
        None => match duration(r, page, &data, &data_path, "asleepduration")? {
            Some(seconds) => Some(("asleepduration", seconds)),
            // Withings defines total_sleep_time as this sum.
            None if !stages.is_empty() => {
                let sum = stages
                    .iter()
                    .try_fold(0u64, |sum, (_, _, s)| sum.checked_add(*s))
                    .ok_or_else(|| r.err(&data_path, "stage durations out of range"))?;
                Some(("total_sleep_time", sum))
            }
            None => None,
        },
    };
    if let Some((code, seconds)) = total {
        let minutes = decimal::seconds_as_minutes(seconds);
        page.samples
            .push(night.sample(Metric::SleepDuration, code, minutes, "min"));
    }
    for (metric, code, seconds) in stages {
        let minutes = decimal::seconds_as_minutes(seconds);
        page.samples
            .push(night.sample(metric, code, minutes, "min"));
    }
    if let Some(rate) = heart_rate(r, page, &data, &data_path)? {
        page.samples
            .push(night.sample(Metric::HeartRate, "hr_average", rate, "/min"));
    }
    Ok(())
}

/// A duration field in whole seconds; `None` when absent, or `null` or negative
/// (then recorded as skipped).
fn duration(
    r: &Reader,
    page: &mut Page,
    data: &Object<'_>,
    path: &str,
    key: &str,
) -> Result<Option<u64>, ParseError> {
    let field = join(path, key);
    let text = match r.number(data, path, key)? {
        Number::Absent => return Ok(None),
        Number::Null => {
            skip::record(page, field, skip::NULL_VALUE);
            return Ok(None);
        }
        Number::Text(text) => text,
    };
    let plain = decimal::plain(text).ok_or_else(|| r.err(&field, "not a number"))?;
    if decimal::is_negative(&plain) {
        skip::record(page, field, skip::NEGATIVE);
        return Ok(None);
    }
    let seconds =
        decimal::integer(&plain).ok_or_else(|| r.err(&field, "not a whole number of seconds"))?;
    seconds
        .trim_start_matches('-')
        .parse::<u64>()
        .map(Some)
        .map_err(|_| r.err(&field, "a duration out of range"))
}

/// `hr_average` as decimal text; `None` when absent, `null` or not above zero.
fn heart_rate(
    r: &Reader,
    page: &mut Page,
    data: &Object<'_>,
    path: &str,
) -> Result<Option<String>, ParseError> {
    let field = join(path, "hr_average");
    match r.number(data, path, "hr_average")? {
        Number::Absent => Ok(None),
        Number::Null => {
            skip::record(page, field, skip::NULL_VALUE);
            Ok(None)
        }
        Number::Text(text) => {
            let rate = decimal::plain(text).ok_or_else(|| r.err(&field, "not a number"))?;
            if decimal::is_negative(&rate) || decimal::is_zero(&rate) {
                skip::record(page, field, skip::NO_HEART_RATE);
                return Ok(None);
            }
            Ok(Some(rate))
        }
    }
}
