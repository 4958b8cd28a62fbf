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

use super::{decimal, time, VENDOR};
use crate::connector::ParseError;
use chrono_tz::Tz;
use serde_json::value::RawValue;
use std::collections::BTreeMap;

/// A JSON object with its values still as text.
pub(super) type Object<'a> = BTreeMap<String, &'a RawValue>;

/// `path.key`, or `key` at the top.
pub(super) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// A field's value, as far as its type goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Number<'a> {
    /// The field is not there.
    Absent,
    /// The field is `null`.
    Null,
    /// The number's text.
    Text(&'a str),
}

/// Reads one data type's payloads, naming it in every error.
pub(super) struct Reader {
    pub data_type: &'static str,
}

impl Reader {
    pub fn err(&self, path: &str, problem: impl Into<String>) -> ParseError {
        ParseError {
            vendor: VENDOR.to_owned(),
            data_type: self.data_type.to_owned(),
            path: if path.is_empty() {
                "$".to_owned()
            } else {
                path.to_owned()
            },
            problem: problem.into(),
        }
    }

    pub fn object<'a>(&self, raw: &'a RawValue, path: &str) -> Result<Object<'a>, ParseError> {
        serde_json::from_str(raw.get()).map_err(|_| self.err(path, "not an object"))
    }

    pub fn array<'a>(
        &self,
        raw: &'a RawValue,
        path: &str,
    ) -> Result<Vec<&'a RawValue>, ParseError> {
        serde_json::from_str(raw.get()).map_err(|_| self.err(path, "not an array"))
    }

    /// A field that must be there and not `null`.
    pub fn required<'a>(
        &self,
        obj: &Object<'a>,
        path: &str,
        key: &str,
    ) -> Result<&'a RawValue, ParseError> {
        present(obj, key).ok_or_else(|| self.err(&join(path, key), "missing"))
    }

    /// A number field, as text.
    pub fn number<'a>(
        &self,
        obj: &Object<'a>,
        path: &str,
        key: &str,
    ) -> Result<Number<'a>, ParseError> {
        match obj.get(key) {
            None => Ok(Number::Absent),
            Some(raw) if raw.get().trim() == "null" => Ok(Number::Null),
            Some(raw) => {
                let text = raw.get().trim();
                if text.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
                    Ok(Number::Text(text))
                } else {
                    Err(self.err(&join(path, key), "not a number"))
                }
            }
        }
    }

    /// An integer field as its text (ids that may not fit an `i64` stay exact).
    pub fn integer_text<'a>(
        &self,
        obj: &Object<'a>,
        path: &str,
        key: &str,
    ) -> Result<Option<&'a str>, ParseError> {
        match self.number(obj, path, key)? {
            Number::Absent | Number::Null => Ok(None),
            Number::Text(text) => decimal::integer(text)
                .map(Some)
                .ok_or_else(|| self.err(&join(path, key), "not an integer")),
        }
    }

    /// An integer field.
    pub fn integer(
        &self,
        obj: &Object<'_>,
        path: &str,
        key: &str,
    ) -> Result<Option<i64>, ParseError> {
        match self.integer_text(obj, path, key)? {
            None => Ok(None),
            Some(text) => text
                .parse::<i64>()
                .map(Some)
                .map_err(|_| self.err(&join(path, key), "an integer out of range")),
        }
    }

    pub fn required_integer(
        &self,
        obj: &Object<'_>,
        path: &str,
        key: &str,
    ) -> Result<i64, ParseError> {
        self.integer(obj, path, key)?
            .ok_or_else(|| self.err(&join(path, key), "missing"))
    }

    /// A string field.
    pub fn string(
        &self,
        obj: &Object<'_>,
        path: &str,
        key: &str,
    ) -> Result<Option<String>, ParseError> {
        match present(obj, key) {
            None => Ok(None),
            Some(raw) => serde_json::from_str::<String>(raw.get())
                .map(Some)
                .map_err(|_| self.err(&join(path, key), "not a string")),
        }
    }

    pub fn required_string(
        &self,
        obj: &Object<'_>,
        path: &str,
        key: &str,
    ) -> Result<String, ParseError> {
        self.string(obj, path, key)?
            .ok_or_else(|| self.err(&join(path, key), "missing"))
    }

    /// The zone a `timezone` field names.
    pub fn zone(&self, obj: &Object<'_>, path: &str, key: &str) -> Result<Option<Tz>, ParseError> {
        match self.string(obj, path, key)? {
            None => Ok(None),
            Some(name) => time::zone(&name)
                .map(Some)
                .ok_or_else(|| self.err(&join(path, key), "not an IANA time-zone name")),
        }
    }

    pub fn required_zone(&self, obj: &Object<'_>, path: &str, key: &str) -> Result<Tz, ParseError> {
        self.zone(obj, path, key)?
            .ok_or_else(|| self.err(&join(path, key), "missing"))
    }

    /// An epoch-seconds field, in `zone`.
    pub fn instant(
        &self,
        obj: &Object<'_>,
        path: &str,
        key: &str,
        zone: Tz,
    ) -> Result<chrono::DateTime<chrono::FixedOffset>, ParseError> {
        let seconds = self.required_integer(obj, path, key)?;
        time::instant(seconds, zone)
            .ok_or_else(|| self.err(&join(path, key), "a time out of range"))
    }
}

/// A field that is there and not `null`.
fn present<'a>(obj: &Object<'a>, key: &str) -> Option<&'a RawValue> {
    obj.get(key)
        .copied()
        .filter(|raw| raw.get().trim() != "null")
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
            Some(_) => return Err(r.err(&self.field_path("more"), "not a boolean or 0/1")),
        };
        if !more {
            return Ok(None);
        }
        match r.integer(body, path, "offset")? {
            Some(offset) if offset >= 0 => Ok(Some(offset.to_string())),
            Some(_) => Err(r.err(&self.field_path("offset"), "negative")),
            None => Err(r.err(&self.field_path("offset"), "missing while more is set")),
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
        present(&body, list_key).ok_or_else(|| r.err(&format!("{prefix}{list_key}"), "missing"))?;
    let records = r.array(list, &format!("{prefix}{list_key}"))?;
    Ok(Doc {
        body: Some(body),
        prefix,
        list_key,
        records,
    })
}
