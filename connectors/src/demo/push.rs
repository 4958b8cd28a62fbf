//! The demo vendor's notifications.
//!
//! `POST {callback}` with header `demo-signature: t=…,v1=…` ([`crate::push::sign`]
//! with the app's client secret) and the body
//! `{"notifications": [{"user_id", "data_type", "start", "end"}]}`: the member's
//! account has new or changed records of `data_type` within `[start, end)`.
//! Subscriptions are per member: `POST {api_base}/subscriptions` with the member's
//! bearer token and the form field `callback_url`.

use super::{type_info, VENDOR};
use crate::connector::ParseError;
use crate::push::{PushEvent, PushNotice};
use crate::sample::DataType;
use crate::TimeWindow;
use chrono::{DateTime, Utc};
use serde_json::Value;

/// The header that carries the signature.
pub const SIGNATURE_HEADER: &str = "demo-signature";
/// More notifications than this in one body is not the vendor.
const MAX_NOTICES: usize = 1000;

fn err(path: String, problem: &str) -> ParseError {
    ParseError {
        vendor: VENDOR.to_owned(),
        data_type: String::new(),
        path,
        problem: problem.to_owned(),
    }
}

/// Read a notification body. Unknown fields are ignored; a missing or mistyped
/// field fails the whole body, naming its path.
pub(super) fn parse(body: &[u8]) -> Result<Vec<PushNotice>, ParseError> {
    let root: Value = serde_json::from_slice(body).map_err(|_| err("$".into(), "not JSON"))?;
    let list = root
        .get("notifications")
        .ok_or_else(|| err("notifications".into(), "missing"))?
        .as_array()
        .ok_or_else(|| err("notifications".into(), "not an array"))?;
    if list.len() > MAX_NOTICES {
        return Err(err("notifications".into(), "more than 1000 notifications"));
    }
    list.iter()
        .enumerate()
        .map(|(i, n)| notice(&format!("notifications[{i}]"), n))
        .collect()
}

fn notice(path: &str, value: &Value) -> Result<PushNotice, ParseError> {
    let text = |name: &str| -> Result<&str, ParseError> {
        match value.get(name) {
            None => Err(err(format!("{path}.{name}"), "missing")),
            Some(Value::String(s)) if !s.is_empty() => Ok(s.as_str()),
            Some(_) => Err(err(format!("{path}.{name}"), "not a non-empty string")),
        }
    };
    let time = |name: &str| -> Result<DateTime<Utc>, ParseError> {
        DateTime::parse_from_rfc3339(text(name)?)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| err(format!("{path}.{name}"), "not an RFC 3339 timestamp"))
    };
    let vendor_user = text("user_id")?.to_owned();
    let data_type = text("data_type")?;
    let data_type = type_info(data_type)
        .and_then(|t| DataType::parse(t.id))
        .ok_or_else(|| err(format!("{path}.data_type"), "not a demo data type"))?;
    let (start, end) = (time("start")?, time("end")?);
    if end <= start {
        return Err(err(format!("{path}.end"), "not after start"));
    }
    Ok(PushNotice {
        vendor_user,
        event: PushEvent::NewData {
            data_type,
            window: Some(TimeWindow { start, end }),
        },
    })
}

/// The body the vendor sends for `user`'s new data of `data_types` in `window`.
pub fn body(user: &str, data_types: &[&str], window: TimeWindow) -> Vec<u8> {
    let time = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let notifications: Vec<Value> = data_types
        .iter()
        .map(|d| {
            serde_json::json!({
                "user_id": user,
                "data_type": d,
                "start": time(window.start),
                "end": time(window.end),
            })
        })
        .collect();
    serde_json::json!({ "notifications": notifications })
        .to_string()
        .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_the_vendor_sends_reads_back() {
        let window = TimeWindow {
            start: DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default(),
            end: DateTime::from_timestamp(1_800_086_400, 0).unwrap_or_default(),
        };
        let sent = body("alice", &["steps", "body_weight"], window);
        let notices = parse(&sent).map_err(|e| e.to_string());
        let notices = notices.as_deref().unwrap_or_default();
        assert_eq!(notices.len(), 2);
        assert_eq!(notices[0].vendor_user, "alice");
        assert!(matches!(&notices[1].event,
            PushEvent::NewData { data_type, .. } if data_type.as_str() == "body_weight"));
        assert!(matches!(&notices[0].event,
            PushEvent::NewData { window: w, .. } if *w == Some(window)));
    }

    #[test]
    fn a_malformed_body_names_the_field() {
        let cases: [(&[u8], &str); 7] = [
            (b"nope", "$"),
            (b"{}", "notifications"),
            (br#"{"notifications": {}}"#, "notifications"),
            (
                br#"{"notifications": [{"data_type": "steps"}]}"#,
                "notifications[0].user_id",
            ),
            (
                br#"{"notifications": [{"user_id": "a", "data_type": "sleep"}]}"#,
                "notifications[0].data_type",
            ),
            (
                br#"{"notifications": [{"user_id": "a", "data_type": "steps", "start": "x"}]}"#,
                "notifications[0].start",
            ),
            (
                br#"{"notifications": [{"user_id": "a", "data_type": "steps",
                    "start": "2026-01-02T00:00:00Z", "end": "2026-01-01T00:00:00Z"}]}"#,
                "notifications[0].end",
            ),
        ];
        for (body, path) in cases {
            let e = parse(body).err().map(|e| e.path);
            assert_eq!(
                e.as_deref(),
                Some(path),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        assert_eq!(parse(br#"{"notifications": [], "extra": 1}"#), Ok(vec![]));
    }
}
