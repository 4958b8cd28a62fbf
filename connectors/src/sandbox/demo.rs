//! The demo vendor's twin: `GET /api/v1/{data_type}` in the demo payload shape.
//!
//! Policy: records whose start lies in `[start, end)` are returned in order of start,
//! `limit` (default 100, at most 1000) per page. The cursor is opaque to clients and
//! stateless here: it encodes the start of the next record, so any page can be
//! fetched again and yields the same bytes. Heart-rate records carry `"end": null`
//! and weight records no `end` at all, so parsers meet both forms of a spot value.

use super::person::{self, DeviceKind, Kind, Reading};
use super::twin::{single, DataEndpoint, DataError, ScopeInfo, Twin};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::value::RawValue;

pub(crate) struct DemoTwin;

const SCOPES: [ScopeInfo; 3] = [
    ScopeInfo {
        name: "activity",
        description: "Daily activity: steps",
    },
    ScopeInfo {
        name: "heartrate",
        description: "Heart rate readings",
    },
    ScopeInfo {
        name: "body",
        description: "Body measurements: weight",
    },
];

/// Data type, scope, what the person measured, record id prefix, unit.
const TYPES: [(&str, &str, Kind, &str, &str); 3] = [
    ("steps", "activity", Kind::Steps, "st", "count"),
    ("heart_rate", "heartrate", Kind::HeartRate, "hr", "/min"),
    ("body_weight", "body", Kind::BodyWeight, "bw", "kg"),
];

const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1000;

impl Twin for DemoTwin {
    fn vendor(&self) -> &'static str {
        "demo"
    }

    fn display_name(&self) -> &'static str {
        "Demo Health"
    }

    fn scopes(&self) -> &'static [ScopeInfo] {
        &SCOPES
    }

    fn data_types(&self) -> &'static [&'static str] {
        &["steps", "heart_rate", "body_weight"]
    }

    fn subscription(
        &self,
        method: &str,
        path: &str,
        params: &[(String, String)],
    ) -> Option<Result<String, DataError>> {
        (method == "POST" && path == "/api/v1/subscriptions").then(|| {
            single(params, "callback_url")?
                .map(str::to_owned)
                .ok_or(DataError::BadParam {
                    name: "callback_url",
                    problem: "missing".to_owned(),
                })
        })
    }

    fn notification(
        &self,
        user: &str,
        data_types: &[&str],
        window: crate::TimeWindow,
        secret: &str,
        at: DateTime<Utc>,
    ) -> Vec<super::twin::Notification> {
        let body = crate::demo::push::body(user, data_types, window);
        let signature = crate::push::sign(secret.as_bytes(), at.timestamp(), &body);
        let headers = vec![
            ("content-type".to_owned(), "application/json".to_owned()),
            (crate::demo::push::SIGNATURE_HEADER.to_owned(), signature),
        ];
        vec![(headers, body)]
    }

    fn data_endpoint(&self, path: &str, _params: &[(String, String)]) -> Option<DataEndpoint> {
        let data_type = path.strip_prefix("/api/v1/")?;
        TYPES
            .iter()
            .find(|t| t.0 == data_type)
            .map(|t| DataEndpoint {
                data_type: t.0,
                scope: Some(t.1),
                method: "GET",
            })
    }

    fn data(
        &self,
        endpoint: DataEndpoint,
        user: &str,
        query: &[(String, String)],
        now: DateTime<Utc>,
    ) -> Result<Vec<u8>, DataError> {
        let Some(&(_, _, kind, prefix, unit)) = TYPES.iter().find(|t| t.0 == endpoint.data_type)
        else {
            return Err(DataError::Internal("no such data type".to_owned()));
        };
        let q = Query::read(query)?;
        let from = q.cursor.unwrap_or(q.start);
        let mut readings: Vec<Reading> = person::readings(user, kind, from, q.end, now)
            .take(q.limit + 1)
            .collect();
        // One record more than the page holds says where the next page starts.
        let next_cursor = if readings.len() > q.limit {
            readings.pop().map(|r| cursor(r.start.with_timezone(&Utc)))
        } else {
            None
        };
        let data = readings
            .iter()
            .map(|r| record(endpoint.data_type, prefix, unit, user, r))
            .collect::<Result<Vec<_>, _>>()?;
        serde_json::to_vec(&Body { data, next_cursor })
            .map_err(|e| DataError::Internal(e.to_string()))
    }
}

/// The query of a data request, checked.
struct Query {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    limit: usize,
    cursor: Option<DateTime<Utc>>,
}

impl Query {
    fn read(query: &[(String, String)]) -> Result<Self, DataError> {
        let start = time(query, "start")?;
        let end = time(query, "end")?;
        if end <= start {
            return Err(bad("end", "not after start"));
        }
        let limit = match single(query, "limit")? {
            None => DEFAULT_LIMIT,
            Some(text) => text
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| bad("limit", "not a whole number from 1 to 1000"))?,
        };
        let cursor = match single(query, "cursor")? {
            None => None,
            Some(text) => Some(
                read_cursor(text)
                    .filter(|c| *c >= start && *c < end)
                    .ok_or_else(|| bad("cursor", "not a cursor of this query"))?,
            ),
        };
        Ok(Self {
            start,
            end,
            limit,
            cursor,
        })
    }
}

fn bad(name: &'static str, problem: &str) -> DataError {
    DataError::BadParam {
        name,
        problem: problem.to_owned(),
    }
}

fn time(query: &[(String, String)], name: &'static str) -> Result<DateTime<Utc>, DataError> {
    let text = single(query, name)?.ok_or_else(|| bad(name, "missing"))?;
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| bad(name, "not an RFC 3339 timestamp"))
}

fn cursor(at: DateTime<Utc>) -> String {
    URL_SAFE_NO_PAD.encode(format!("t:{}", at.timestamp()))
}

fn read_cursor(text: &str) -> Option<DateTime<Utc>> {
    let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
    let secs = std::str::from_utf8(&bytes).ok()?.strip_prefix("t:")?;
    DateTime::from_timestamp(secs.parse().ok()?, 0)
}

#[derive(Serialize)]
struct Body {
    data: Vec<Record>,
    next_cursor: Option<String>,
}

#[derive(Serialize)]
struct Record {
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    start: String,
    /// `None`: no `end` field; `Some(None)`: `"end": null`.
    #[serde(skip_serializing_if = "Option::is_none")]
    end: Option<Option<String>>,
    value: Box<RawValue>,
    unit: &'static str,
    device: DeviceJson,
}

#[derive(Serialize)]
struct DeviceJson {
    manufacturer: &'static str,
    model: &'static str,
    id: String,
}

fn record(
    data_type: &'static str,
    prefix: &str,
    unit: &'static str,
    user: &str,
    r: &Reading,
) -> Result<Record, DataError> {
    let time = |t: DateTime<chrono::FixedOffset>| t.to_rfc3339_opts(SecondsFormat::Secs, false);
    let end = match (r.kind, r.end) {
        (_, Some(end)) => Some(Some(time(end))),
        (Kind::HeartRate, None) => Some(None),
        (_, None) => None,
    };
    let value =
        RawValue::from_string(r.value.clone()).map_err(|e| DataError::Internal(e.to_string()))?;
    let (model, device_prefix) = match r.device {
        DeviceKind::Band => ("Demo Band 2", "band"),
        DeviceKind::Scale => ("Demo Scale", "scale"),
    };
    let device_key = person::hash(&[user, device_prefix]) >> 32;
    Ok(Record {
        id: format!("{prefix}_{:016x}", r.key),
        kind: data_type,
        start: time(r.start),
        end,
        value,
        unit,
        device: DeviceJson {
            manufacturer: "Demo",
            model,
            id: format!("{device_prefix}-{device_key:08x}"),
        },
    })
}
