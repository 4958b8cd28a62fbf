//! Reading Garmin summary records field by field, from raw JSON text.
//!
//! Policy: a field of the wrong type, a required field that is missing, or a time
//! that cannot be a time fails with a [`ParseError`] naming the field's path, and
//! the problem text never quotes a value. A metric that is `null` or below zero is
//! left out and noted in [`Page::skipped`]; an absent optional field just yields no
//! sample. Numbers keep the text Garmin sent ([`decimal::plain`]).

use super::decimal;
use crate::connector::ParseError;
use crate::raw::{self, Number};
pub(super) use crate::raw::{Object, Out, Reader};
use crate::sample::{Metric, Quantity, Sample, Value};
use chrono::{DateTime, FixedOffset};
use serde_json::value::RawValue;

/// The largest UTC offset a record may carry (ISO 8601's ±18 hours).
const MAX_OFFSET_SECS: i64 = 18 * 3600;

/// A reader of Garmin's data type `data_type`.
pub(super) const fn reader(data_type: &'static str) -> Reader {
    Reader::new(super::VENDOR, data_type)
}

/// A number as read: its plain decimal text, or why there is no value.
pub(super) enum Num {
    Absent,
    /// `null` or below zero: noted as skipped already.
    Skipped,
    Value(String),
}

/// One record being read.
pub(super) struct Rec<'a> {
    pub ctx: Reader,
    /// The record's JSON path (`dailies[2]`).
    pub path: String,
    pub obj: Object<'a>,
}

impl Rec<'_> {
    pub fn at(&self, key: &str) -> String {
        format!("{}.{key}", self.path)
    }

    pub fn has(&self, key: &str) -> bool {
        self.obj.contains_key(key)
    }

    /// A whole number (Unix seconds, an offset, a duration); `null` is absent.
    pub fn int(&self, key: &str) -> Result<Option<i64>, ParseError> {
        let Some(raw) = raw::present(&self.obj, key) else {
            return Ok(None);
        };
        whole(raw.get())
            .map(Some)
            .ok_or_else(|| self.ctx.err(self.at(key), "not a whole number"))
    }

    pub fn required_int(&self, key: &str) -> Result<i64, ParseError> {
        self.int(key)?
            .ok_or_else(|| self.ctx.err(self.at(key), "missing"))
    }

    /// A duration in whole seconds, not below zero.
    pub fn seconds(&self, key: &str) -> Result<Option<u64>, ParseError> {
        match self.int(key)? {
            None => Ok(None),
            Some(s) => u64::try_from(s)
                .map(Some)
                .map_err(|_| self.ctx.err(self.at(key), "a negative duration")),
        }
    }

    /// A string; `null` is absent.
    pub fn string(&self, key: &str) -> Result<Option<String>, ParseError> {
        self.ctx.string(&self.obj, &self.path, key)
    }

    /// The record's id (`summaryId`), where it has one.
    pub fn summary_id(&self) -> Result<Option<String>, ParseError> {
        let id = self.string("summaryId")?;
        if id.as_deref() == Some("") {
            return Err(self.ctx.err(self.at("summaryId"), "empty"));
        }
        Ok(id)
    }

    /// The instant `secs_key` (Unix seconds) in the offset `offset_key` (seconds
    /// east of UTC), both required.
    pub fn time(
        &self,
        secs_key: &str,
        offset_key: &str,
    ) -> Result<DateTime<FixedOffset>, ParseError> {
        let offset = self.offset(offset_key)?;
        let secs = self.required_int(secs_key)?;
        instant(secs, offset).ok_or_else(|| self.ctx.err(self.at(secs_key), "out of range"))
    }

    pub fn offset(&self, key: &str) -> Result<FixedOffset, ParseError> {
        let secs = self.required_int(key)?;
        fixed_offset(secs).ok_or_else(|| self.ctx.err(self.at(key), "not a UTC offset"))
    }

    /// A metric's number at `key`, checked to be a JSON number; `null` and values
    /// below zero are noted in `out` as skipped.
    pub fn number(&self, key: &str, out: &mut Out) -> Result<Num, ParseError> {
        match self.obj.get(key) {
            None => Ok(Num::Absent),
            Some(raw) => number_at(self.ctx, self.at(key), raw, out),
        }
    }
}

/// A metric's number at `path` (see [`Rec::number`]).
pub(super) fn number_at(
    ctx: Reader,
    path: String,
    raw: &RawValue,
    out: &mut Out,
) -> Result<Num, ParseError> {
    let text = match ctx.number_at(raw, &path)? {
        Number::Absent => return Ok(Num::Absent),
        Number::Null => {
            out.skip(path, "null value");
            return Ok(Num::Skipped);
        }
        Number::Text(text) => text,
    };
    let Some(plain) = decimal::plain(text) else {
        return Err(ctx.err(path, "a number out of range"));
    };
    if decimal::is_negative(&plain) {
        out.skip(path, "negative value");
        return Ok(Num::Skipped);
    }
    // `-0` is zero: no sign on it.
    let plain = match plain.strip_prefix('-') {
        Some(zero) => zero.to_owned(),
        None => plain,
    };
    Ok(Num::Value(plain))
}

/// A JSON number's text as an `i64`, if it is a whole number written without a
/// fraction or exponent.
fn whole(text: &str) -> Option<i64> {
    raw::integer(text)?.parse().ok()
}

pub(super) fn fixed_offset(secs: i64) -> Option<FixedOffset> {
    if secs.unsigned_abs() > MAX_OFFSET_SECS.unsigned_abs() {
        return None;
    }
    FixedOffset::east_opt(i32::try_from(secs).ok()?)
}

/// Unix seconds at a fixed offset.
pub(super) fn instant(secs: i64, offset: FixedOffset) -> Option<DateTime<FixedOffset>> {
    raw::epoch(secs, &offset)
}

/// Unix seconds plus `delta` seconds, at a fixed offset.
pub(super) fn after(start: DateTime<FixedOffset>, delta: u64) -> Option<DateTime<FixedOffset>> {
    let delta = i64::try_from(delta).ok()?;
    instant(start.timestamp().checked_add(delta)?, *start.offset())
}

/// A sample of one quantity.
pub(super) struct Quant<'a> {
    pub metric: Metric,
    pub vendor_code: &'a str,
    pub value: String,
    pub unit: &'a str,
    pub start: DateTime<FixedOffset>,
    pub end: Option<DateTime<FixedOffset>>,
    pub record_id: Option<String>,
}

impl Quant<'_> {
    pub fn sample(self) -> Sample {
        Sample {
            metric: self.metric,
            vendor_code: self.vendor_code.to_owned(),
            value: Value::Quantity(Quantity {
                value: self.value,
                unit: self.unit.to_owned(),
            }),
            start: self.start,
            end: self.end,
            device: None,
            vendor_record_id: self.record_id,
            trend: None,
        }
    }
}

/// The entries of a `{"<seconds from start>": value}` object at `key`, in time
/// order; absent or `null` is no entries. A key that is not whole seconds fails.
pub(super) fn offset_map<'a>(
    rec: &Rec<'a>,
    key: &str,
) -> Result<Vec<(u64, &'a RawValue)>, ParseError> {
    let Some(raw) = raw::present(&rec.obj, key) else {
        return Ok(Vec::new());
    };
    let path = rec.at(key);
    let map = rec.ctx.object(raw, &path)?;
    let mut entries = map
        .into_iter()
        .map(|(k, v)| {
            // Canonical whole seconds only: `00` beside `0` would be one time twice.
            let ok = !k.is_empty()
                && k.len() <= 12
                && k.bytes().all(|b| b.is_ascii_digit())
                && (k == "0" || !k.starts_with('0'));
            ok.then(|| k.parse::<u64>().ok())
                .flatten()
                .map(|secs| (secs, v))
                .ok_or_else(|| rec.ctx.err(path.clone(), "a key is not whole seconds"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    entries.sort_by_key(|(secs, _)| *secs);
    Ok(entries)
}
