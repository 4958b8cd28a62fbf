//! The [`Connector`] trait: a manifest plus pure functions.
//!
//! A connector never performs I/O. The hub asks it for the request that fetches a
//! data type over a time window (from a cursor), performs the request itself, and
//! hands the body back to [`Connector::parse`]. Parsing never panics: a payload of
//! the wrong shape is a [`ParseError`] naming the vendor, the data type and the
//! field path at fault.

use crate::sample::{DataType, Sample};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use thiserror::Error;

/// What the hub needs to know about a vendor before talking to it.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// Stable id used in URLs and the database (`withings`, `demo`).
    pub vendor: &'static str,
    pub display_name: &'static str,
    pub authorize_url: String,
    pub token_url: String,
    pub revoke_url: Option<String>,
    pub api_base_url: String,
    /// OAuth scopes each data type needs.
    pub scopes: BTreeMap<DataType, Vec<String>>,
}

/// A half-open time window `[start, end)` to fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeWindow {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// A request the hub should perform on the connector's behalf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: &'static str,
    pub url: String,
    pub query: Vec<(String, String)>,
}

/// One parsed response page.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub samples: Vec<Sample>,
    /// Where the next page starts; `None` when this was the last page.
    pub next_cursor: Option<String>,
}

/// A payload that does not have the shape the vendor documents.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{vendor} {data_type}: {path}: {problem}")]
pub struct ParseError {
    pub vendor: String,
    pub data_type: String,
    /// JSON path of the field at fault, e.g. `body.measuregrps[2].measures[0].value`.
    pub path: String,
    pub problem: String,
}

/// A request the connector cannot build.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConnectorError {
    #[error("{vendor} has no data type {data_type}")]
    UnknownDataType { vendor: String, data_type: String },
}

/// A vendor: its manifest, and how to fetch and read its data.
pub trait Connector: Send + Sync {
    fn manifest(&self) -> &Manifest;

    /// The request that fetches `data_type` within `window`, continuing from `cursor`.
    fn build_request(
        &self,
        data_type: &DataType,
        window: TimeWindow,
        cursor: Option<&str>,
    ) -> Result<HttpRequest, ConnectorError>;

    /// Parse one response body of a request built by [`Connector::build_request`].
    fn parse(&self, data_type: &DataType, body: &[u8]) -> Result<Page, ParseError>;
}
