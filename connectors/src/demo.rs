//! The `demo` vendor: a vendor of our own design, served only by the sandbox, for
//! quick starts and tests.
//!
//! Policy: the payload shape is ours, so it is strict. Every record names its type,
//! its unit and its times with their UTC offset; a record that does not match the
//! documented shape fails the whole page with a [`ParseError`] naming the field path,
//! never a panic and never a silently dropped record. Numbers keep the text the
//! vendor sent.
//!
//! The data API: `GET {api_base}/{data_type}?start=…&end=…&limit=…[&cursor=…]` with a
//! bearer token, answering
//! `{"data": [{"id", "type", "start", "end", "value", "unit", "device"}], "next_cursor"}`.

mod parse;
pub mod push;
#[cfg(test)]
mod tests;

use crate::connector::{
    ClientAuth, Connector, ConnectorError, DataTypeSpec, Delivery, HttpRequest, Manifest, Page,
    ParseError, PushAuth, RateLimits, TimeWindow, TokenStyle,
};
use crate::push::{PushError, PushNotice};
use crate::sample::{DataType, Metric};
use chrono::SecondsFormat;

/// The vendor id.
pub const VENDOR: &str = "demo";

/// The page size the connector asks for (the API's maximum).
const PAGE_LIMIT: u32 = 1000;

/// One data type of the demo API: what it is called, what it needs, how it reads.
struct TypeInfo {
    /// The metrics its samples carry.
    metrics: &'static [Metric],
    id: &'static str,
    label: &'static str,
    description: &'static str,
    scope: &'static str,
    metric: Metric,
    /// The unit the API sends.
    vendor_unit: &'static str,
    /// The UCUM unit of the resulting [`crate::Quantity`].
    ucum: &'static str,
}

const TYPES: [TypeInfo; 3] = [
    TypeInfo {
        id: "steps",
        metrics: &[Metric::StepsDaily],
        label: "Steps",
        description: "Daily step counts",
        scope: "activity",
        metric: Metric::StepsDaily,
        vendor_unit: "count",
        // Steps of one day: LOINC 41950-7 is "number of steps in 24 hours", `/d`.
        ucum: "/d",
    },
    TypeInfo {
        id: "heart_rate",
        metrics: &[Metric::HeartRate],
        label: "Heart rate",
        description: "Heart rate readings through the day",
        scope: "heartrate",
        metric: Metric::HeartRate,
        vendor_unit: "/min",
        ucum: "/min",
    },
    TypeInfo {
        id: "body_weight",
        metrics: &[Metric::BodyWeight],
        label: "Body weight",
        description: "Weight measurements from a connected scale",
        scope: "body",
        metric: Metric::BodyWeight,
        vendor_unit: "kg",
        ucum: "kg",
    },
];

fn type_info(data_type: &str) -> Option<&'static TypeInfo> {
    TYPES.iter().find(|t| t.id == data_type)
}

/// The demo vendor, reached through the sandbox.
#[derive(Debug, Clone)]
pub struct Demo {
    manifest: Manifest,
}

impl Demo {
    /// `sandbox_base` is the sandbox root without a trailing slash, e.g.
    /// `http://127.0.0.1:8080/sandbox`.
    pub fn new(sandbox_base: &str) -> Self {
        let base = format!("{}/{VENDOR}", sandbox_base.trim_end_matches('/'));
        let data_types = TYPES
            .iter()
            .filter_map(|t| {
                Some(DataTypeSpec {
                    id: DataType::parse(t.id)?,
                    label: t.label,
                    description: t.description,
                    scopes: vec![t.scope.to_owned()],
                    metrics: t.metrics,
                })
            })
            .collect();
        Self {
            manifest: Manifest {
                vendor: VENDOR,
                display_name: "Demo Health (sandbox)",
                authorize_url: format!("{base}/oauth/authorize"),
                token_url: format!("{base}/oauth/token"),
                revoke_url: Some(format!("{base}/oauth/revoke")),
                api_base_url: format!("{base}/api/v1"),
                scope_separator: " ",
                data_types,
                // Our own vendor: quotas in the range real vendors publish per user,
                // and an app quota (100 calls/s) that lets the ingest bench measure
                // the hub rather than the quota.
                rate_limits: RateLimits {
                    per_app_per_minute: Some(6000),
                    per_user_per_minute: Some(60),
                },
                // Polled on a schedule; its notifications only make a sync come sooner.
                delivery: Delivery::Poll,
                max_history_days: 90,
                notifies: true,
                push_auth: PushAuth::Signature,
                token_style: TokenStyle::Standard,
                client_auth: ClientAuth::Basic,
            },
        }
    }
}

impl Connector for Demo {
    fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    fn build_request(
        &self,
        data_type: &DataType,
        window: TimeWindow,
        cursor: Option<&str>,
    ) -> Result<HttpRequest, ConnectorError> {
        let Some(info) = type_info(data_type.as_str()) else {
            return Err(ConnectorError::UnknownDataType {
                vendor: VENDOR.to_owned(),
                data_type: data_type.to_string(),
            });
        };
        let time =
            |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(SecondsFormat::AutoSi, true);
        let mut query = vec![
            ("start".to_owned(), time(window.start)),
            ("end".to_owned(), time(window.end)),
            ("limit".to_owned(), PAGE_LIMIT.to_string()),
        ];
        if let Some(cursor) = cursor {
            query.push(("cursor".to_owned(), cursor.to_owned()));
        }
        Ok(HttpRequest {
            method: "GET",
            url: format!("{}/{}", self.manifest.api_base_url, info.id),
            query,
            form: Vec::new(),
        })
    }

    fn parse(&self, data_type: &DataType, body: &[u8]) -> Result<Page, ParseError> {
        match type_info(data_type.as_str()) {
            Some(info) => parse::page(info, body),
            None => Err(ParseError {
                vendor: VENDOR.to_owned(),
                data_type: data_type.to_string(),
                path: "$".to_owned(),
                problem: "the demo vendor has no such data type".to_owned(),
            }),
        }
    }

    fn subscribe_request(&self, callback_url: &str) -> Option<HttpRequest> {
        Some(HttpRequest {
            method: "POST",
            url: format!("{}/subscriptions", self.manifest.api_base_url),
            query: Vec::new(),
            form: vec![("callback_url".to_owned(), callback_url.to_owned())],
        })
    }

    fn verify_push(
        &self,
        headers: &[(String, String)],
        body: &[u8],
        secret: &[u8],
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), PushError> {
        let value = headers
            .iter()
            .find(|(k, _)| k == push::SIGNATURE_HEADER)
            .map(|(_, v)| v.as_str());
        crate::push::verify(push::SIGNATURE_HEADER, value, secret, body, now)
    }

    fn parse_push(&self, body: &[u8]) -> Result<Vec<PushNotice>, ParseError> {
        push::parse(body)
    }
}
