//! Oura's webhook subscriptions, which belong to the vendor APP.
//!
//! `POST {api_base}/v2/webhook/subscription` with headers `x-client-id` and
//! `x-client-secret` (the app's credentials, no member token) and the JSON body
//! `{"callback_url", "verification_token", "event_type", "data_type"}`, one per
//! (event type, data type) pair; during that call Oura sends
//! `GET {callback_url}?verification_token=…&challenge=…` and expects
//! `{"challenge": "…"}` back within 10 s. A subscription has an `expiration_time` and
//! is renewed with `PUT {api_base}/v2/webhook/subscription/renew/{id}`; all are listed
//! with `GET {api_base}/v2/webhook/subscription` (API reference, "Webhook
//! Subscription Routes").
//!
//! Policy: [`HttpRequest`] has neither headers nor a JSON body, so each call is an
//! [`AppRequest`]: the request, its JSON body, and [`AppRequest::headers`] naming the
//! headers the hub must add with the app's client id and secret.

use super::VENDOR;
use crate::connector::{HttpRequest, ParseError};
use crate::push::PushError;
use chrono::{DateTime, FixedOffset, NaiveDateTime, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The header that carries the app's client id.
pub const CLIENT_ID_HEADER: &str = "x-client-id";
/// The header that carries the app's client secret.
pub const CLIENT_SECRET_HEADER: &str = "x-client-secret";
/// Oura's webhook operations (`WebhookOperation`).
pub const EVENT_TYPES: [&str; 3] = ["create", "update", "delete"];
/// A challenge longer than this is not Oura's.
const MAX_CHALLENGE: usize = 1024;

/// One call of the per-app webhook API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppRequest {
    /// Method and URL; `query` and `form` are empty.
    pub http: HttpRequest,
    /// The `application/json` body, for calls that have one.
    pub json_body: Option<String>,
}

impl AppRequest {
    /// Every header the call needs: the app's credentials, and the content type when
    /// there is a body. The hub adds no `Authorization` header.
    pub fn headers(&self, client_id: &str, client_secret: &str) -> Vec<(String, String)> {
        let mut headers = vec![
            (CLIENT_ID_HEADER.to_owned(), client_id.to_owned()),
            (CLIENT_SECRET_HEADER.to_owned(), client_secret.to_owned()),
        ];
        if self.json_body.is_some() {
            headers.push(("content-type".to_owned(), "application/json".to_owned()));
        }
        headers
    }
}

/// A subscription as Oura reports it (`WebhookSubscriptionModel`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppSubscription {
    pub id: String,
    pub callback_url: String,
    pub event_type: String,
    pub data_type: String,
    /// When it lapses unless renewed.
    pub expiration_time: DateTime<FixedOffset>,
}

fn request(method: &'static str, url: String, json_body: Option<String>) -> AppRequest {
    AppRequest {
        http: HttpRequest {
            method,
            url,
            query: Vec::new(),
            form: Vec::new(),
        },
        json_body,
    }
}

pub(super) fn create_requests<'a>(
    api_base: &str,
    data_types: impl Iterator<Item = &'a str>,
    callback_url: &str,
    verification_token: &str,
) -> Vec<AppRequest> {
    let url = format!("{api_base}/v2/webhook/subscription");
    let url = url.as_str();
    data_types
        .flat_map(|data_type| {
            EVENT_TYPES.iter().map(move |event_type| {
                let body = serde_json::json!({
                    "callback_url": callback_url,
                    "verification_token": verification_token,
                    "event_type": event_type,
                    "data_type": data_type,
                });
                request("POST", url.to_owned(), Some(body.to_string()))
            })
        })
        .collect()
}

pub(super) fn list_request(api_base: &str) -> AppRequest {
    request("GET", format!("{api_base}/v2/webhook/subscription"), None)
}

pub(super) fn renew_request(api_base: &str, id: &str) -> Option<AppRequest> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    ok.then(|| {
        let url = format!("{api_base}/v2/webhook/subscription/renew/{id}");
        request("PUT", url, None)
    })
}

fn err(path: &str, problem: &str) -> ParseError {
    ParseError {
        vendor: VENDOR.to_owned(),
        data_type: String::new(),
        path: path.to_owned(),
        problem: problem.to_owned(),
    }
}

pub(super) fn parse(body: &[u8]) -> Result<Vec<AppSubscription>, ParseError> {
    let root: Value = serde_json::from_slice(body).map_err(|_| err("$", "not JSON"))?;
    match &root {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| subscription(&format!("[{i}]"), item))
            .collect(),
        Value::Object(_) => subscription("", &root).map(|s| vec![s]),
        _ => Err(err("$", "neither a subscription nor a list of them")),
    }
}

fn subscription(path: &str, item: &Value) -> Result<AppSubscription, ParseError> {
    let at = |name: &str| {
        if path.is_empty() {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        }
    };
    if !item.is_object() {
        return Err(err(
            if path.is_empty() { "$" } else { path },
            "not an object",
        ));
    }
    let text = |name: &str| match item.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        None | Some(Value::Null) => Err(err(&at(name), "missing")),
        Some(_) => Err(err(&at(name), "not a non-empty string")),
    };
    let expiration = text("expiration_time")?;
    // A date-time; without an offset it is read as UTC, the time of Oura's servers.
    let expiration_time = DateTime::parse_from_rfc3339(&expiration)
        .or_else(|_| {
            NaiveDateTime::parse_from_str(&expiration, "%Y-%m-%dT%H:%M:%S%.f")
                .map(|t| t.and_utc().fixed_offset())
        })
        .map_err(|_| err(&at("expiration_time"), "not an ISO 8601 timestamp"))?;
    Ok(AppSubscription {
        id: text("id")?,
        callback_url: text("callback_url")?,
        event_type: text("event_type")?,
        data_type: text("data_type")?,
        expiration_time,
    })
}

/// Whether `a` and `b` are equal, in time independent of where they differ (and of
/// their lengths: the digests are compared, not the texts).
fn same(a: &str, b: &str) -> bool {
    let (x, y) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    x.iter()
        .zip(y.iter())
        .fold(0u8, |acc, (p, q)| acc | (p ^ q))
        == 0
}

pub(super) fn answer_challenge(
    query: &[(String, String)],
    expected_token: &str,
) -> Result<String, PushError> {
    let first = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    // PushError names headers; here the names are the query parameters'.
    let token =
        first("verification_token").ok_or(PushError::MissingSignature("verification_token"))?;
    if expected_token.is_empty() || !same(token, expected_token) {
        return Err(PushError::Mismatch);
    }
    let challenge = first("challenge").ok_or(PushError::MissingSignature("challenge"))?;
    if challenge.is_empty() || challenge.len() > MAX_CHALLENGE {
        return Err(PushError::Malformed("challenge"));
    }
    Ok(serde_json::json!({ "challenge": challenge }).to_string())
}

/// When to renew: a day before the subscription lapses.
pub fn renew_due(subscription: &AppSubscription, now: DateTime<Utc>) -> bool {
    subscription
        .expiration_time
        .with_timezone(&Utc)
        .checked_sub_signed(chrono::Duration::days(1))
        .is_none_or(|t| t <= now)
}
