//! Reading Withings JSON field by field, from raw text.
//!
//! Policy: a body is read as raw JSON, so a fault is reported at its exact path
//! (`body.measuregrps[2].measures[0].value`) and a number keeps the text it was
//! sent as. Problems name what is wrong with a field, never its value. Unknown
//! fields are ignored; `null` reads as absent wherever a field is optional.
//!
//! Three shapes are accepted for a page: the API's answer
//! `{"status": 0, "body": {…}}` (a non-zero status is an error answer, not data),
//! the bare `body` object, and a bare JSON array of records (how client libraries
//! keep their test data). Paths follow the shape: `body.measuregrps[0]`,
//! `measuregrps[0]`, `$[0]`.

use super::{time, VENDOR};
use crate::connector::ParseError;
use crate::raw::present;
pub(super) use crate::raw::{join, Number, Object, Reader};
use chrono_tz::Tz;
use serde_json::value::RawValue;

/// A reader of Withings' data type `data_type`.
pub(super) const fn reader(data_type: &'static str) -> Reader {
    Reader::new(VENDOR, data_type)
}

/// What only Withings sends: IANA zone names, and epoch seconds read in them.
pub(super) trait Zoned {
    /// The zone a `timezone` field names.
    fn zone(&self, obj: &Object<'_>, path: &str, key: &str) -> Result<Option<Tz>, ParseError>;

    fn required_zone(&self, obj: &Object<'_>, path: &str, key: &str) -> Result<Tz, ParseError>;

    /// An epoch-seconds field, in `zone`.
    fn instant(
        &self,
        obj: &Object<'_>,
        path: &str,
        key: &str,
        zone: Tz,
    ) -> Result<chrono::DateTime<chrono::FixedOffset>, ParseError>;
}

impl Zoned for Reader {
    fn zone(&self, obj: &Object<'_>, path: &str, key: &str) -> Result<Option<Tz>, ParseError> {
        match self.string(obj, path, key)? {
            None => Ok(None),
            Some(name) => time::zone(&name)
                .map(Some)
                .ok_or_else(|| self.err(join(path, key), "not an IANA time-zone name")),
        }
    }

    fn required_zone(&self, obj: &Object<'_>, path: &str, key: &str) -> Result<Tz, ParseError> {
        self.zone(obj, path, key)?
            .ok_or_else(|| self.err(join(path, key), "missing"))
    }

    fn instant(
        &self,
        obj: &Object<'_>,
        path: &str,
        key: &str,
        zone: Tz,
    ) -> Result<chrono::DateTime<chrono::FixedOffset>, ParseError> {
        let seconds = self.required_integer(obj, path, key)?;
        time::instant(seconds, zone).ok_or_else(|| self.err(join(path, key), "a time out of range"))
    }
}

/// One page as received: its records, and the object around them if there is one.
pub(super) struct Doc<'a> {
    /// The `body` object (or the bare body); `None` for a bare array.
    pub body: Option<Object<'a>>,
    /// `body.` for an answer, empty for a bare body.
    prefix: &'static str,
    list_key: &'static str,
    pub records: Vec<&'a RawValue>,
}

impl Doc<'_> {
    /// The path of the body itself: `body`, or empty for a bare body.
    pub fn body_path(&self) -> &'static str {
        self.prefix.trim_end_matches('.')
    }

    /// The path of a field of the body (`body.timezone`).
    pub fn field_path(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    /// The path of record `i` (`body.measuregrps[3]`, or `$[3]` in a bare array).
    pub fn record_path(&self, i: usize) -> String {
        if self.body.is_none() {
            format!("$[{i}]")
        } else {
            format!("{}{}[{i}]", self.prefix, self.list_key)
        }
    }

    /// The cursor of the next page: the `offset` to ask for when `more` is set
    /// (`1` or `true`; Withings uses both). A bare array has no next page.
    pub fn next_cursor(&self, r: &Reader) -> Result<Option<String>, ParseError> {
        let Some(body) = &self.body else {
            return Ok(None);
        };
        let path = self.body_path();
        let more = match present(body, "more").map(|raw| raw.get().trim()) {
            None | Some("false" | "0") => false,
            Some("true" | "1") => true,
            Some(_) => return Err(r.err(self.field_path("more"), "not a boolean or 0/1")),
        };
        if !more {
            return Ok(None);
        }
        match r.integer(body, path, "offset")? {
            Some(offset) if offset >= 0 => Ok(Some(offset.to_string())),
            Some(_) => Err(r.err(self.field_path("offset"), "negative")),
            None => Err(r.err(self.field_path("offset"), "missing while more is set")),
        }
    }
}

/// Open a page whose records are in the body's `list_key` array.
pub(super) fn open<'a>(
    r: &Reader,
    body: &'a [u8],
    list_key: &'static str,
) -> Result<Doc<'a>, ParseError> {
    let root: &RawValue = serde_json::from_slice(body).map_err(|e| {
        let problem = if e.is_eof() {
            "truncated JSON".to_owned()
        } else {
            format!("not JSON (line {}, column {})", e.line(), e.column())
        };
        r.err("$", problem)
    })?;
    if root.get().trim_start().starts_with('[') {
        return Ok(Doc {
            body: None,
            prefix: "",
            list_key,
            records: r.array(root, "$")?,
        });
    }
    let outer = r
        .object(root, "$")
        .map_err(|_| r.err("$", "neither an object nor an array"))?;
    let (body, prefix) = if outer.contains_key("status") {
        match r.integer(&outer, "", "status")? {
            Some(0) => {}
            Some(status) => {
                return Err(r.err(
                    "status",
                    format!("an error answer (status {status}), not data"),
                ))
            }
            None => return Err(r.err("status", "missing")),
        }
        let inner = r.required(&outer, "", "body")?;
        (r.object(inner, "body")?, "body.")
    } else {
        (outer, "")
    };
    let list =
        present(&body, list_key).ok_or_else(|| r.err(format!("{prefix}{list_key}"), "missing"))?;
    let records = r.array(list, &format!("{prefix}{list_key}"))?;
    Ok(Doc {
        body: Some(body),
        prefix,
        list_key,
        records,
    })
}
