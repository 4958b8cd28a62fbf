//! The demo connector on its own: manifest, requests, and parsing hand-written
//! payloads, including every way a payload can be wrong.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::sample::Device;
use crate::testing::dt;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

const BASE: &str = "http://127.0.0.1:8080/sandbox";

fn weight_record() -> Value {
    json!({
        "id": "bw_1", "type": "body_weight", "start": "2026-11-20T07:12:00+01:00",
        "value": 0, "unit": "kg",
        "device": {"manufacturer": "Demo", "model": "Demo Scale", "id": "scale-1"}
    })
}

/// A body_weight page whose one record has `value` written as `raw`.
fn weight_page(raw: &str) -> Vec<u8> {
    let page = json!({"data": [weight_record()], "next_cursor": "abc"}).to_string();
    page.replace("\"value\":0", &format!("\"value\":{raw}"))
        .into_bytes()
}

#[test]
fn the_manifest_describes_the_sandbox_vendor() {
    let demo = Demo::new(&format!("{BASE}/"));
    let m = demo.manifest();
    assert_eq!(
        (m.vendor, m.display_name),
        ("demo", "Demo Health (sandbox)")
    );
    assert_eq!(m.authorize_url, format!("{BASE}/demo/oauth/authorize"));
    assert_eq!(m.token_url, format!("{BASE}/demo/oauth/token"));
    assert_eq!(
        m.revoke_url.as_deref(),
        Some(&*format!("{BASE}/demo/oauth/revoke"))
    );
    assert_eq!(m.api_base_url, format!("{BASE}/demo/api/v1"));
    assert_eq!(m.scope_separator, " ");
    let types: Vec<(&str, &str, &str, Vec<String>)> = m
        .data_types
        .iter()
        .map(|d| (d.id.as_str(), d.label, d.description, d.scopes.clone()))
        .collect();
    assert_eq!(
        types,
        [
            (
                "steps",
                "Steps",
                "Daily step counts",
                vec!["activity".to_owned()]
            ),
            (
                "heart_rate",
                "Heart rate",
                "Heart rate readings through the day",
                vec!["heartrate".to_owned()]
            ),
            (
                "body_weight",
                "Body weight",
                "Weight measurements from a connected scale",
                vec!["body".to_owned()]
            ),
        ]
    );
    assert_eq!(m.rate_limits.per_app_per_minute, Some(6000));
    assert_eq!(m.rate_limits.per_user_per_minute, Some(60));
    assert_eq!((m.delivery, m.max_history_days), (Delivery::Poll, 90));
}

#[test]
fn build_request_asks_for_the_window_in_utc_and_the_cursor() {
    let demo = Demo::new(BASE);
    let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
    let window = TimeWindow {
        start: t("2026-11-20T00:00:00+01:00"),
        end: t("2026-11-21T00:00:00.250+01:00"),
    };
    let req = demo
        .build_request(&dt("heart_rate"), window, Some("c1"))
        .unwrap();
    assert_eq!(req.method, "GET");
    assert_eq!(req.url, format!("{BASE}/demo/api/v1/heart_rate"));
    let q: Vec<(&str, &str)> = req
        .query
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        q,
        [
            ("start", "2026-11-19T23:00:00Z"),
            ("end", "2026-11-20T23:00:00.250Z"),
            ("limit", "1000"),
            ("cursor", "c1"),
        ]
    );
    let first = demo.build_request(&dt("steps"), window, None).unwrap();
    assert_eq!(first.query.len(), 3);
    assert_eq!(
        demo.build_request(&dt("sleep"), window, None),
        Err(ConnectorError::UnknownDataType {
            vendor: "demo".into(),
            data_type: "sleep".into()
        })
    );
}

#[test]
fn a_record_parses_into_a_sample_keeping_the_number_text_and_offset() {
    let demo = Demo::new(BASE);
    for raw in ["72.50", "72.5", "72.45", "80"] {
        let page = demo.parse(&dt("body_weight"), &weight_page(raw)).unwrap();
        assert_eq!(page.samples[0].quantity().unwrap().value, raw);
    }
    let page = demo
        .parse(&dt("body_weight"), &weight_page("72.50"))
        .unwrap();
    assert_eq!(page.next_cursor.as_deref(), Some("abc"));
    let s = &page.samples[0];
    assert_eq!(s.metric, Metric::BodyWeight);
    assert_eq!(s.quantity().unwrap().unit, "kg");
    assert_eq!(s.start.to_rfc3339(), "2026-11-20T07:12:00+01:00");
    assert_eq!(s.end, None);
    assert_eq!(s.vendor_record_id.as_deref(), Some("bw_1"));
    assert_eq!(
        s.device,
        Some(Device {
            manufacturer: Some("Demo".into()),
            model: Some("Demo Scale".into()),
            vendor_device_id: Some("scale-1".into()),
        })
    );

    let steps = json!({"data": [{
        "id": "st_1", "type": "steps", "start": "2026-11-20T00:00:00-05:00",
        "end": "2026-11-21T00:00:00-05:00", "value": 8123, "unit": "count"
    }], "next_cursor": null});
    let page = demo
        .parse(&dt("steps"), steps.to_string().as_bytes())
        .unwrap();
    let s = &page.samples[0];
    assert_eq!(
        (
            s.metric,
            s.quantity().unwrap().value.as_str(),
            s.quantity().unwrap().unit.as_str()
        ),
        (Metric::StepsDaily, "8123", "/d")
    );
    assert_eq!(s.vendor_code, "steps");
    assert_eq!(s.end.unwrap().to_rfc3339(), "2026-11-21T00:00:00-05:00");
    assert_eq!((s.device.clone(), page.next_cursor), (None, None));

    let hr = json!({"data": [{
        "id": "hr_1", "type": "heart_rate", "start": "2026-11-20T06:00:00+05:30",
        "end": null, "value": 61, "unit": "/min", "device": null, "extra": [1, 2]
    }]});
    let page = demo
        .parse(&dt("heart_rate"), hr.to_string().as_bytes())
        .unwrap();
    assert_eq!(page.samples[0].metric, Metric::HeartRate);
    assert_eq!(page.samples[0].quantity().unwrap().unit, "/min");
    assert_eq!(
        demo.parse(&dt("steps"), br#"{"data": []}"#)
            .unwrap()
            .samples,
        []
    );
}

#[test]
fn every_malformed_payload_names_the_field_at_fault() {
    let demo = Demo::new(BASE);
    let with = |key: &str, value: Value| {
        let mut record = weight_record();
        record["value"] = json!(70.1);
        if value.is_null() && key != "end" {
            record.as_object_mut().unwrap().remove(key);
        } else {
            record[key] = value;
        }
        json!({"data": [record.clone(), record]})
            .to_string()
            .into_bytes()
    };
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("body_weight", b"<html>".to_vec(), "$"),
        ("body_weight", b"[1]".to_vec(), "$"),
        ("body_weight", b"{}".to_vec(), "data"),
        ("body_weight", br#"{"data": {}}"#.to_vec(), "data"),
        ("body_weight", br#"{"data": [1]}"#.to_vec(), "data[0]"),
        (
            "body_weight",
            br#"{"data": [], "next_cursor": 5}"#.to_vec(),
            "next_cursor",
        ),
        (
            "body_weight",
            br#"{"data": [], "next_cursor": ""}"#.to_vec(),
            "next_cursor",
        ),
        ("body_weight", with("id", Value::Null), "data[0].id"),
        ("body_weight", with("id", json!("")), "data[0].id"),
        ("body_weight", with("type", json!("steps")), "data[0].type"),
        ("body_weight", with("start", Value::Null), "data[0].start"),
        (
            "body_weight",
            with("start", json!("2026-11-20 07:00")),
            "data[0].start",
        ),
        (
            "body_weight",
            with("start", json!(1_700_000_000)),
            "data[0].start",
        ),
        (
            "body_weight",
            with("end", json!("2026-11-20T07:00:00+01:00")),
            "data[0].end",
        ),
        ("body_weight", with("value", Value::Null), "data[0].value"),
        ("body_weight", with("value", json!("72.5")), "data[0].value"),
        ("body_weight", with("value", json!(-1.5)), "data[0].value"),
        ("body_weight", with("value", json!(0)), "data[0].value"),
        ("body_weight", with("unit", json!("lb")), "data[0].unit"),
        (
            "body_weight",
            with("device", json!("scale")),
            "data[0].device",
        ),
        (
            "body_weight",
            with("device", json!({"model": 3})),
            "data[0].device.model",
        ),
        ("body_weight", weight_page("7.25e1"), "data[0].value"),
        ("steps", weight_page("1"), "data[0].type"),
        ("heart_rate", weight_page("1"), "data[0].type"),
        ("sleep", weight_page("1"), "$"),
    ];
    for (data_type, body, path) in cases {
        let err = demo.parse(&dt(data_type), &body).unwrap_err();
        assert_eq!(err.path, path, "{}: {err}", String::from_utf8_lossy(&body));
        assert_eq!(
            (err.vendor.as_str(), err.data_type.as_str()),
            ("demo", data_type)
        );
        assert!(!err.problem.is_empty());
    }
    let steps = |value: &str, end: &str| {
        format!(
            r#"{{"data": [{{"id": "s", "type": "steps", "start": "2026-11-20T00:00:00Z", {end} "value": {value}, "unit": "count"}}]}}"#
        )
    };
    let end = r#""end": "2026-11-21T00:00:00Z","#;
    for (body, path) in [
        (steps("-5", end), "data[0].value"),
        (steps("12.5", end), "data[0].value"),
        (steps("10", ""), "data[0].end"),
        (
            steps("10", r#""end": "2026-11-19T00:00:00Z","#),
            "data[0].end",
        ),
    ] {
        assert_eq!(
            demo.parse(&dt("steps"), body.as_bytes()).unwrap_err().path,
            path,
            "{body}"
        );
    }
    let hr = r#"{"data": [{"id": "h", "type": "heart_rate", "start": "2026-11-20T06:00:00Z", "value": 61.5, "unit": "/min"}]}"#;
    assert_eq!(
        demo.parse(&dt("heart_rate"), hr.as_bytes())
            .unwrap_err()
            .path,
        "data[0].value"
    );
}

#[test]
fn garbage_never_panics() {
    let demo = Demo::new(BASE);
    let seeds: [&[u8]; 8] = [
        b"",
        b"\xff\xfe",
        b"null",
        b"{\"data\": [null, {}, [], \"x\", 1e999]}",
        b"{\"data\": [{\"value\": 1e999999, \"start\": \"9999-12-31T23:59:59-23:59\"}]}",
        b"{\"data\": [{\"id\": \"\\ud800\"}]}",
        &[b'['; 10_000],
        br#"{"data": [{"id": "a", "type": "steps", "start": "+275760-09-13T00:00:00Z"}]}"#,
    ];
    for data_type in ["steps", "heart_rate", "body_weight"] {
        for body in seeds {
            assert!(demo.parse(&dt(data_type), body).is_err());
            for cut in 0..body.len().min(64) {
                let _ = demo.parse(&dt(data_type), &body[..cut]);
            }
        }
    }
}
