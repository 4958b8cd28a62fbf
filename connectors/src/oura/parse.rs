//! Reading one page of Oura's `usercollection` API: the envelope, and the field
//! readers the record parsers share.
//!
//! Policy: the body is read field by field from raw JSON text ([`crate::raw`]), so a
//! fault is reported at its exact path (`data[3].bedtime_start`) and a number keeps
//! the text it was sent as. Unknown fields are ignored (Oura adds fields between
//! versions). A problem text names what is wrong, never the value.

use super::decimal::{self, Class};
use super::records::{Rec, RecordFn};
use super::VENDOR;
use crate::connector::{Page, ParseError};
use crate::raw::{is_null, present};
pub(super) use crate::raw::{join, Object, Out, Reader};
use chrono::{DateTime, FixedOffset, NaiveDate};

/// Parse a whole response body of `data_type`, each record with `record`.
pub(super) fn page(
    data_type: &'static str,
    record: RecordFn,
    body: &[u8],
) -> Result<Page, ParseError> {
    let r = Reader::new(VENDOR, data_type);
    let (root, records) = r.data_envelope(body)?;
    let mut out = Out::default();
    for (i, raw) in records.iter().enumerate() {
        let path = format!("data[{i}]");
        let obj = r.object(raw, &path)?;
        let rec = Rec {
            r: &r,
            path: &path,
            obj: &obj,
        };
        record(&rec, &mut out)?;
    }
    // `next_token` may be absent (the heart-rate schema does not require it) or
    // null on the last page; an empty token would loop, so it ends paging too.
    let next_cursor = r.string(&root, "", "next_token")?.filter(|t| !t.is_empty());
    Ok(out.into_page(next_cursor))
}

/// A number field as found.
pub(super) enum Number {
    Absent,
    Null,
    /// The plain decimal text (see [`decimal::plain`]) and what it is.
    Value(String, Class),
}

/// What Oura's fields are read as beyond [`Reader`]'s own: its times, days and
/// numbers (which may come with an exponent).
pub(super) trait Fields {
    /// A required timestamp with its UTC offset (`2026-08-10T07:04:02-07:00`).
    fn time(
        &self,
        obj: &Object<'_>,
        path: &str,
        key: &str,
    ) -> Result<DateTime<FixedOffset>, ParseError>;

    /// An optional timestamp: absent or `null` is `None`.
    fn optional_time(
        &self,
        obj: &Object<'_>,
        path: &str,
        key: &str,
    ) -> Result<Option<DateTime<FixedOffset>>, ParseError>;

    /// A required `YYYY-MM-DD` day.
    fn day(&self, obj: &Object<'_>, path: &str, key: &str) -> Result<NaiveDate, ParseError>;

    /// A number field, its text kept.
    fn plain_number(&self, obj: &Object<'_>, path: &str, key: &str) -> Result<Number, ParseError>;
}

impl Fields for Reader {
    fn time(
        &self,
        obj: &Object<'_>,
        path: &str,
        key: &str,
    ) -> Result<DateTime<FixedOffset>, ParseError> {
        let text = self.nonempty_string(obj, path, key)?;
        self.rfc3339(
            &text,
            &join(path, key),
            "not an ISO 8601 timestamp with a UTC offset",
        )
    }

    fn optional_time(
        &self,
        obj: &Object<'_>,
        path: &str,
        key: &str,
    ) -> Result<Option<DateTime<FixedOffset>>, ParseError> {
        if present(obj, key).is_none() {
            return Ok(None);
        }
        Fields::time(self, obj, path, key).map(Some)
    }

    fn day(&self, obj: &Object<'_>, path: &str, key: &str) -> Result<NaiveDate, ParseError> {
        let text = self.nonempty_string(obj, path, key)?;
        NaiveDate::parse_from_str(&text, "%Y-%m-%d")
            .map_err(|_| self.err(join(path, key), "not a YYYY-MM-DD date"))
    }

    fn plain_number(&self, obj: &Object<'_>, path: &str, key: &str) -> Result<Number, ParseError> {
        let Some(raw) = obj.get(key) else {
            return Ok(Number::Absent);
        };
        if is_null(raw) {
            return Ok(Number::Null);
        }
        let plain = decimal::plain(raw.get()).ok_or_else(|| {
            self.err(
                join(path, key),
                "not a number (or its exponent is out of range)",
            )
        })?;
        let class =
            decimal::class(&plain).ok_or_else(|| self.err(join(path, key), "not a number"))?;
        Ok(Number::Value(plain, class))
    }
}
