//! Oura's webhook notifications: how they are signed and what they say.
//!
//! `POST {callback}` with headers `x-oura-timestamp: <unix seconds>` and
//! `x-oura-signature: <HEX(HMAC-SHA256(client secret, timestamp + body))>` (upper-case
//! hex in Oura's example; either case is accepted), and the JSON body
//! `{"event_type", "data_type", "object_id", "event_time", "user_id"}` (the API
//! reference, "Webhook Subscription Routes"). One notification names one document
//! of one member; the hub fetches it.
//!
//! Policy: the signature is checked over the exact bytes received, in constant time,
//! within [`TOLERANCE_SECS`] of the timestamp. (Oura's example signs
//! `JSON.stringify(body)`, the parsed body written again; that is the received bytes
//! when Oura sends compact JSON, which is assumed, not documented.) A notification of a
//! data type the hub does not sync is authentic and well formed, so it is accepted
//! and yields nothing (a 4xx would only make Oura retry it ten times); a missing or
//! mistyped field is a [`ParseError`] naming it.

use super::{TYPES, VENDOR};
use crate::connector::ParseError;
use crate::push::{PushError, PushEvent, PushNotice, TOLERANCE_SECS};
use crate::sample::DataType;
use crate::TimeWindow;
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

/// The header that carries the signature.
pub const SIGNATURE_HEADER: &str = "x-oura-signature";
/// The header that carries the signed timestamp.
pub const TIMESTAMP_HEADER: &str = "x-oura-timestamp";

/// How far before a notification's `event_time` the hub looks for the changed
/// document: Oura notifies about 30 s after the app syncs, and a sync carries the
/// night's sleep (`day` = today), today's and yesterday's activity and readiness.
const LOOK_BACK_DAYS: i64 = 2;
/// And after it: a member east of UTC is already on the next day.
const LOOK_AHEAD_DAYS: i64 = 1;

/// The signature header value Oura sends for `body` at `timestamp` (the header's
/// exact text), signed with the app's client secret.
pub fn sign(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    mac(secret, timestamp, body)
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

fn mac(secret: &[u8], timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length, so this does not fail; were it to, the fixed
    // all-zero key makes every check fail, the safe side.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret)
        .unwrap_or_else(|_| <Hmac<Sha256> as Mac>::new(&Default::default()));
    mac.update(timestamp.as_bytes());
    mac.update(body);
    mac
}

fn header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
}

/// Check that `body` was signed by Oura with `secret` near `now`.
pub(super) fn verify(
    headers: &[(String, String)],
    body: &[u8],
    secret: &[u8],
    now: DateTime<Utc>,
) -> Result<(), PushError> {
    let signature =
        header(headers, SIGNATURE_HEADER).ok_or(PushError::MissingSignature(SIGNATURE_HEADER))?;
    let timestamp =
        header(headers, TIMESTAMP_HEADER).ok_or(PushError::MissingSignature(TIMESTAMP_HEADER))?;
    let signature = from_hex(signature)
        .filter(|s| s.len() == 32)
        .ok_or(PushError::Malformed(SIGNATURE_HEADER))?;
    let seconds = unix_seconds(timestamp).ok_or(PushError::Malformed(TIMESTAMP_HEADER))?;
    if now.timestamp().abs_diff(seconds) > TOLERANCE_SECS.unsigned_abs() {
        return Err(PushError::Stale);
    }
    // `verify_slice` compares in constant time.
    mac(secret, timestamp, body)
        .verify_slice(&signature)
        .map_err(|_| PushError::Mismatch)
}

/// The header's Unix time in seconds. Oura's example is seconds (`1234567890`); a
/// 13-digit value is read as milliseconds, as some senders write them. The MAC
/// covers the header's text either way.
fn unix_seconds(text: &str) -> Option<i64> {
    if text.is_empty() || text.len() > 16 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: i64 = text.parse().ok()?;
    Some(if n >= 100_000_000_000 { n / 1000 } else { n })
}

fn from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

fn err(path: &str, problem: &str) -> ParseError {
    ParseError {
        vendor: VENDOR.to_owned(),
        data_type: String::new(),
        path: path.to_owned(),
        problem: problem.to_owned(),
    }
}

/// Read a verified notification body.
pub(super) fn parse(body: &[u8]) -> Result<Vec<PushNotice>, ParseError> {
    let root: Value = serde_json::from_slice(body).map_err(|_| err("$", "not JSON"))?;
    if !root.is_object() {
        return Err(err("$", "not a JSON object"));
    }
    let text = |name: &'static str| field(&root, name);
    let required = |name: &'static str| text(name)?.ok_or_else(|| err(name, "missing"));
    let vendor_user = required("user_id")?.to_owned();
    let data_type = required("data_type")?;
    // create, update or delete: each means the document changed, and fetching it
    // again is the answer to all three (a deleted document is no longer returned).
    required("event_type")?;
    let window = match text("event_time")? {
        None => None,
        Some(t) => Some(window_around(event_time(t)?)?),
    };
    let Some(data_type) = TYPES
        .iter()
        .find(|t| t.webhook == Some(data_type))
        .and_then(|t| DataType::parse(t.id))
    else {
        // An Oura data type the hub does not sync (daily_sleep, session, tag, …).
        return Ok(Vec::new());
    };
    Ok(vec![PushNotice {
        vendor_user,
        event: PushEvent::NewData { data_type, window },
    }])
}

/// A string field: absent or `null` is `None`, an empty string is no string.
fn field<'v>(root: &'v Value, name: &str) -> Result<Option<&'v str>, ParseError> {
    match root.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.as_str())),
        Some(_) => Err(err(name, "not a non-empty string")),
    }
}

/// `event_time` with its offset (`2023-01-01T08:00:00+00:00`); without one it is
/// read as UTC, the time of Oura's servers (it dates the event, not a measurement).
fn event_time(text: &str) -> Result<DateTime<Utc>, ParseError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .map(|t| t.and_utc())
        .map_err(|_| err("event_time", "not an ISO 8601 timestamp"))
}

fn window_around(t: DateTime<Utc>) -> Result<TimeWindow, ParseError> {
    let start = t.checked_sub_signed(Duration::days(LOOK_BACK_DAYS));
    let end = t.checked_add_signed(Duration::days(LOOK_AHEAD_DAYS));
    match (start, end) {
        (Some(start), Some(end)) => Ok(TimeWindow { start, end }),
        _ => Err(err("event_time", "out of range")),
    }
}

/// The body Oura sends when `user`'s document `object_id` of webhook data type
/// `data_type` had `event_type` at `event_time` (for the sandbox and tests).
pub fn body(
    user: &str,
    data_type: &str,
    event_type: &str,
    object_id: &str,
    event_time: DateTime<Utc>,
) -> Vec<u8> {
    serde_json::json!({
        "event_type": event_type,
        "data_type": data_type,
        "object_id": object_id,
        "event_time": event_time.to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
        "user_id": user,
    })
    .to_string()
    .into_bytes()
}
