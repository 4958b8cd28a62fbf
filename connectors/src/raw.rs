//! Reading raw vendor JSON field by field, shared by every vendor's parser.
//!
//! Policy: a body is read as raw JSON text, so a fault is reported at its exact path
//! (`data[3].start`, `body.measuregrps[2].measures[0].value`) and a number keeps the
//! text it was sent as. A problem text names what is wrong with a field, never its
//! value. Unknown fields are ignored; `null` reads as absent wherever a field is
//! optional. What differs between vendors (Withings' `value × 10^unit`, Oura's
//! exponents, Garmin's skipped metrics, the wording of a time's problem) stays with
//! the vendor; this module holds only what they all read alike.

use crate::connector::{Page, ParseError, Skipped};
use crate::sample::Sample;
use chrono::{DateTime, FixedOffset, TimeZone};
use serde_json::value::RawValue;
use std::collections::BTreeMap;

/// A JSON object with its values still as text.
pub(crate) type Object<'a> = BTreeMap<String, &'a RawValue>;

/// `path.key`, or `key` at the top.
pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// Whether a raw value is JSON `null`.
pub(crate) fn is_null(raw: &RawValue) -> bool {
    raw.get().trim() == "null"
}

/// A field that is there and not `null`.
pub(crate) fn present<'a>(obj: &Object<'a>, key: &str) -> Option<&'a RawValue> {
    obj.get(key).copied().filter(|raw| !is_null(raw))
}

/// The text of a JSON integer (`-?[0-9]+`), if `text` is one.
pub(crate) fn integer(text: &str) -> Option<&str> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())).then_some(text)
}

/// Epoch seconds in `zone`, with the offset in force then.
pub(crate) fn epoch<Z: TimeZone>(seconds: i64, zone: &Z) -> Option<DateTime<FixedOffset>> {
    Some(
        DateTime::from_timestamp(seconds, 0)?
            .with_timezone(zone)
            .fixed_offset(),
    )
}

/// The samples and skipped records of a page being read.
#[derive(Debug, Default)]
pub(crate) struct Out {
    pub samples: Vec<Sample>,
    pub skipped: Vec<Skipped>,
}

impl Out {
    /// The record at `path` is left out, for `reason`.
    pub fn skip(&mut self, path: String, reason: &'static str) {
        self.skipped.push(Skipped { path, reason });
    }

    pub fn into_page(self, next_cursor: Option<String>) -> Page {
        Page {
            samples: self.samples,
            next_cursor,
            skipped: self.skipped,
        }
    }
}

/// A number field as found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Number<'a> {
    /// The field is not there.
    Absent,
    /// The field is `null`.
    Null,
    /// The number's text, as sent.
    Text(&'a str),
}

/// Reads one vendor's payloads of one data type, naming both in every error.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reader {
    pub vendor: &'static str,
    pub data_type: &'static str,
}

impl Reader {
    pub const fn new(vendor: &'static str, data_type: &'static str) -> Self {
        Self { vendor, data_type }
    }

    /// An error at `path` (`$`, the whole body, when the path is empty).
    pub fn err(&self, path: impl Into<String>, problem: impl Into<String>) -> ParseError {
        let path = path.into();
        ParseError {
            vendor: self.vendor.to_owned(),
            data_type: self.data_type.to_owned(),
            path: if path.is_empty() {
                "$".to_owned()
            } else {
                path
            },
            problem: problem.into(),
        }
    }

    /// The whole body as one JSON value.
    pub fn root<'a>(&self, body: &'a [u8]) -> Result<&'a RawValue, ParseError> {
        serde_json::from_slice(body).map_err(|e| {
            // serde's message names a line and column, never the payload's content.
            self.err("$", format!("not JSON ({e})"))
        })
    }

    /// A body `{"data": […], …}`: the root object and the records of its `data`.
    pub fn data_envelope<'a>(
        &self,
        body: &'a [u8],
    ) -> Result<(Object<'a>, Vec<&'a RawValue>), ParseError> {
        let root: Object<'_> = serde_json::from_slice(body).map_err(|e| {
            let problem = if e.is_data() {
                "not a JSON object".to_owned()
            } else {
                // serde_json's message names a line and column, never the content.
                format!("not JSON ({e})")
            };
            self.err("$", problem)
        })?;
        let Some(data) = root.get("data") else {
            return Err(self.err("data", "missing"));
        };
        let records = self.array(data, "data")?;
        Ok((root, records))
    }

    /// `raw` as an object, or an error at `path`.
    pub fn object<'a>(&self, raw: &'a RawValue, path: &str) -> Result<Object<'a>, ParseError> {
        serde_json::from_str(raw.get()).map_err(|_| self.err(path, "not an object"))
    }

    /// `raw` as an array, or an error at `path`.
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
        present(obj, key).ok_or_else(|| self.err(join(path, key), "missing"))
    }

    /// A string field; absent and `null` are `None`.
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
                .map_err(|_| self.err(join(path, key), "not a string")),
        }
    }

    /// A string field that must be there.
    pub fn required_string(
        &self,
        obj: &Object<'_>,
        path: &str,
        key: &str,
    ) -> Result<String, ParseError> {
        self.string(obj, path, key)?
            .ok_or_else(|| self.err(join(path, key), "missing"))
    }

    /// A string field that must be there and not be empty.
    pub fn nonempty_string(
        &self,
        obj: &Object<'_>,
        path: &str,
        key: &str,
    ) -> Result<String, ParseError> {
        match self.string(obj, path, key)? {
            None => Err(self.err(join(path, key), "missing")),
            Some(s) if s.is_empty() => Err(self.err(join(path, key), "empty")),
            Some(s) => Ok(s),
        }
    }

    /// RFC 3339 text with its UTC offset; `problem` says what it should have been.
    pub fn rfc3339(
        &self,
        text: &str,
        path: &str,
        problem: &str,
    ) -> Result<DateTime<FixedOffset>, ParseError> {
        DateTime::parse_from_rfc3339(text).map_err(|_| self.err(path, problem))
    }

    /// An RFC 3339 timestamp field; absent and `null` are `None`.
    pub fn timestamp(
        &self,
        obj: &Object<'_>,
        path: &str,
        key: &str,
        problem: &str,
    ) -> Result<Option<DateTime<FixedOffset>>, ParseError> {
        match self.string(obj, path, key)? {
            None => Ok(None),
            Some(text) => self.rfc3339(&text, &join(path, key), problem).map(Some),
        }
    }

    /// A number field, as text: it must at least start as a JSON number does.
    pub fn number<'a>(
        &self,
        obj: &Object<'a>,
        path: &str,
        key: &str,
    ) -> Result<Number<'a>, ParseError> {
        match obj.get(key) {
            None => Ok(Number::Absent),
            Some(raw) => self.number_at(raw, &join(path, key)),
        }
    }

    /// A value found at `path` as a number (see [`Reader::number`]).
    pub fn number_at<'a>(&self, raw: &'a RawValue, path: &str) -> Result<Number<'a>, ParseError> {
        if is_null(raw) {
            return Ok(Number::Null);
        }
        let text = raw.get().trim();
        if text.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
            Ok(Number::Text(text))
        } else {
            Err(self.err(path, "not a number"))
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
            Number::Text(text) => integer(text)
                .map(Some)
                .ok_or_else(|| self.err(join(path, key), "not an integer")),
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
                .map_err(|_| self.err(join(path, key), "an integer out of range")),
        }
    }

    /// An integer field that must be there.
    pub fn required_integer(
        &self,
        obj: &Object<'_>,
        path: &str,
        key: &str,
    ) -> Result<i64, ParseError> {
        self.integer(obj, path, key)?
            .ok_or_else(|| self.err(join(path, key), "missing"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const R: Reader = Reader::new("v", "t");

    #[test]
    fn fields_read_alike_for_every_vendor() {
        let body = br#"{ "s" : "x" , "n" : null, "i": -12, "f": 1.5, "e": "" }"#;
        let obj: Object<'_> = serde_json::from_slice(body).unwrap();
        assert_eq!(R.string(&obj, "a", "s").unwrap().as_deref(), Some("x"));
        assert_eq!(R.string(&obj, "a", "n").unwrap(), None);
        assert_eq!(R.required_string(&obj, "a", "n").unwrap_err().path, "a.n");
        assert_eq!(
            R.nonempty_string(&obj, "", "e").unwrap_err().problem,
            "empty"
        );
        assert_eq!(R.integer(&obj, "", "i").unwrap(), Some(-12));
        assert_eq!(
            R.integer(&obj, "", "f").unwrap_err().problem,
            "not an integer"
        );
        assert_eq!(R.number(&obj, "", "f").unwrap(), Number::Text("1.5"));
        assert_eq!(R.number(&obj, "", "n").unwrap(), Number::Null);
        assert_eq!(R.number(&obj, "", "z").unwrap(), Number::Absent);
        assert_eq!(R.number(&obj, "a", "s").unwrap_err().path, "a.s");
        assert_eq!(R.err("", "x").path, "$");
    }
}
