//! Reading Dexcom JSON field by field, so a fault is reported at its path
//! (`records[3].systemTime`) and a number keeps the text it was sent as.
//!
//! Policy: a problem text names what is wrong with a field, never its value.

use super::VENDOR;
use crate::connector::ParseError;
use serde_json::value::RawValue;
use std::collections::BTreeMap;

/// A JSON object with its values still as text.
pub(super) type Object<'a> = BTreeMap<String, &'a RawValue>;

/// Reads one body of one data type; its errors name both.
#[derive(Debug, Clone, Copy)]
pub(super) struct Reader {
    pub data_type: &'static str,
}

/// `path.key`, or `key` at the root.
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
            path: if path.is_empty() { "$" } else { path }.to_owned(),
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

    /// A field that may be absent or `null`.
    pub fn optional<'a>(&self, obj: &Object<'a>, key: &str) -> Option<&'a RawValue> {
        obj.get(key).copied().filter(|raw| raw.get() != "null")
    }

    /// A string field; absent and `null` are `None`.
    pub fn string(
        &self,
        obj: &Object<'_>,
        path: &str,
        key: &str,
    ) -> Result<Option<String>, ParseError> {
        match self.optional(obj, key) {
            None => Ok(None),
            Some(raw) => serde_json::from_str::<String>(raw.get())
                .map(Some)
                .map_err(|_| self.err(&join(path, key), "not a string")),
        }
    }

    /// A string field that must be there and not be empty.
    pub fn required(&self, obj: &Object<'_>, path: &str, key: &str) -> Result<String, ParseError> {
        match self.string(obj, path, key)? {
            None => Err(self.err(&join(path, key), "missing")),
            Some(s) if s.is_empty() => Err(self.err(&join(path, key), "empty")),
            Some(s) => Ok(s),
        }
    }
}
