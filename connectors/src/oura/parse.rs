//! Reading one page of Oura's `usercollection` API: the envelope, and the field
//! readers the record parsers share.
//!
//! Policy: the body is read field by field from raw JSON text, so a fault is reported
//! at its exact path (`data[3].bedtime_start`) and a number keeps the text it was sent
//! as. Unknown fields are ignored (Oura adds fields between versions). A problem text
//! names what is wrong, never the value.

use super::decimal::{self, Class};
use super::records::RecordFn;
use super::VENDOR;
use crate::connector::{Page, ParseError, Skipped};
use chrono::{DateTime, FixedOffset, NaiveDate};
use serde_json::value::RawValue;
use std::collections::BTreeMap;

/// A JSON object with its values still as text.
pub(super) type Object<'a> = BTreeMap<String, &'a RawValue>;

/// Parse a whole response body of `data_type`, each record with `record`.
pub(super) fn page(
    data_type: &'static str,
    record: RecordFn,
    body: &[u8],
) -> Result<Page, ParseError> {
    let r = Reader { data_type };
    let root: Object<'_> = serde_json::from_slice(body).map_err(|e| {
        let problem = if e.is_data() {
            "not a JSON object".to_owned()
        } else {
            // serde_json's message names a line and column, never the content.
            format!("not JSON ({e})")
        };
        r.err("$", problem)
    })?;
    let Some(data) = root.get("data") else {
        return Err(r.err("data", "missing"));
    };
    let records: Vec<&RawValue> =
        serde_json::from_str(data.get()).map_err(|_| r.err("data", "not an array"))?;
    let mut out = Out::default();
    for (i, raw) in records.iter().enumerate() {
        let path = format!("data[{i}]");
        let obj = r.object(raw, &path)?;
        record(&r, &path, &obj, &mut out)?;
    }
    // `next_token` may be absent (the heart-rate schema does not require it) or
    // null on the last page; an empty token would loop, so it ends paging too.
    let next_cursor = r.string(&root, "", "next_token")?.filter(|t| !t.is_empty());
    Ok(Page {
        samples: out.samples,
        next_cursor,
        skipped: out.skipped,
    })
}

/// What the records of a page yield.
#[derive(Default)]
pub(super) struct Out {
    pub samples: Vec<crate::Sample>,
    pub skipped: Vec<Skipped>,
}

impl Out {
    pub fn skip(&mut self, path: String, reason: &'static str) {
        self.skipped.push(Skipped { path, reason });
    }
}

/// A number field as found.
pub(super) enum Number {
    Absent,
    Null,
    /// The plain decimal text (see [`decimal::plain`]) and what it is.
    Value(String, Class),
}

pub(super) struct Reader {
    pub data_type: &'static str,
}

/// `path.key`, or `key` at the top level.
pub(super) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

impl Reader {
    pub fn err(&self, path: &str, problem: impl Into<String>) -> ParseError {
        ParseError {
            vendor: VENDOR.to_owned(),
            data_type: self.data_type.to_owned(),
            path: path.to_owned(),
            problem: problem.into(),
        }
    }

    pub fn object<'a>(&self, raw: &'a RawValue, path: &str) -> Result<Object<'a>, ParseError> {
        serde_json::from_str(raw.get()).map_err(|_| self.err(path, "not an object"))
    }

    /// A field that is present and not `null`.
    fn present<'a>(obj: &Object<'a>, key: &str) -> Option<&'a RawValue> {
        obj.get(key).copied().filter(|raw| raw.get() != "null")
    }

    /// A string field; absent or `null` is `None`.
    pub fn string(
        &self,
        obj: &Object<'_>,
        path: &str,
        key: &str,
    ) -> Result<Option<String>, ParseError> {
        match Self::present(obj, key) {
            None => Ok(None),
            Some(raw) => serde_json::from_str::<String>(raw.get())
                .map(Some)
                .map_err(|_| self.err(&join(path, key), "not a string")),
        }
    }

    /// A string field the schema requires, not empty.
    pub fn required_string(
        &self,
        obj: &Object<'_>,
        path: &str,
        key: &str,
    ) -> Result<String, ParseError> {
        match self.string(obj, path, key)? {
            None => Err(self.err(&join(path, key), "missing")),
            Some(s) if s.is_empty() => Err(self.err(&join(path, key), "empty")),
            Some(s) => Ok(s),
        }
    }

    /// A required timestamp with its UTC offset (`2026-08-10T07:04:02-07:00`).
    pub fn time(
        &self,
        obj: &Object<'_>,
        path: &str,
        key: &str,
    ) -> Result<DateTime<FixedOffset>, ParseError> {
        let text = self.required_string(obj, path, key)?;
        DateTime::parse_from_rfc3339(&text).map_err(|_| {
            self.err(
                &join(path, key),
                "not an ISO 8601 timestamp with a UTC offset",
            )
        })
    }

    /// An optional timestamp: absent or `null` is `None`.
    pub fn optional_time(
        &self,
        obj: &Object<'_>,
        path: &str,
        key: &str,
    ) -> Result<Option<DateTime<FixedOffset>>, ParseError> {
        if Self::present(obj, key).is_none() {
            return Ok(None);
        }
        self.time(obj, path, key).map(Some)
    }

    /// A required `YYYY-MM-DD` day.
    pub fn day(&self, obj: &Object<'_>, path: &str, key: &str) -> Result<NaiveDate, ParseError> {
        let text = self.required_string(obj, path, key)?;
        NaiveDate::parse_from_str(&text, "%Y-%m-%d")
            .map_err(|_| self.err(&join(path, key), "not a YYYY-MM-DD date"))
    }

    /// A number field, its text kept.
    pub fn number(&self, obj: &Object<'_>, path: &str, key: &str) -> Result<Number, ParseError> {
        let Some(raw) = obj.get(key) else {
            return Ok(Number::Absent);
        };
        if raw.get() == "null" {
            return Ok(Number::Null);
        }
        let plain = decimal::plain(raw.get()).ok_or_else(|| {
            self.err(
                &join(path, key),
                "not a number (or its exponent is out of range)",
            )
        })?;
        let class =
            decimal::class(&plain).ok_or_else(|| self.err(&join(path, key), "not a number"))?;
        Ok(Number::Value(plain, class))
    }
}
