//! What the crate's tests share: times, windows, data types and request queries
//! written the short way.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::connector::{HttpRequest, TimeWindow};
use crate::sample::DataType;
use chrono::{DateTime, Utc};

/// An RFC 3339 instant, in UTC.
pub(crate) fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// The window between two RFC 3339 instants.
pub(crate) fn window(start: &str, end: &str) -> TimeWindow {
    TimeWindow {
        start: utc(start),
        end: utc(end),
    }
}

/// A data type id that must parse.
pub(crate) fn dt(id: &str) -> DataType {
    DataType::parse(id).unwrap()
}

/// A request's query, as pairs of text.
pub(crate) fn query(req: &HttpRequest) -> Vec<(&str, &str)> {
    req.query
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}
