//! Every way a payload can be wrong: a `ParseError` naming the field, never a
//! panic, never a health value in the problem text.

use super::{dexcom, dt, fixture};
use crate::connector::Connector;
use serde_json::{json, Value};

fn record() -> Value {
    json!({
        "recordId": "r1", "systemTime": "2025-03-01T12:00:00Z",
        "displayTime": "2025-03-01T13:00:00+01:00", "value": 187, "unit": "mg/dL",
        "trend": "flat", "status": "ok", "transmitterId": "8GA1JK",
        "transmitterGeneration": "g7", "displayDevice": "iOS"
    })
}

/// Two records, the second with `key` set to `value` (removed for `None`).
fn body_with(key: &str, value: Option<Value>) -> Vec<u8> {
    body_with_all(&[(key, value)])
}

fn body_with_all(changes: &[(&str, Option<Value>)]) -> Vec<u8> {
    let mut r = record();
    for (key, value) in changes {
        match value {
            Some(v) => r[*key] = v.clone(),
            None => {
                r.as_object_mut().unwrap().remove(*key);
            }
        }
    }
    json!({"recordType": "egv", "records": [record(), r]})
        .to_string()
        .into_bytes()
}

#[test]
fn every_malformed_egvs_payload_names_the_field_at_fault() {
    let d = dexcom();
    let mut cases: Vec<(Vec<u8>, &str)> = vec![
        (b"<html>".to_vec(), "$"),
        (b"".to_vec(), "$"),
        (b"\"egv\"".to_vec(), "$"),
        (b"{}".to_vec(), "records"),
        (br#"{"records": {}}"#.to_vec(), "records"),
        (br#"{"records": null}"#.to_vec(), "records"),
        (br#"{"records": [1]}"#.to_vec(), "records[0]"),
        (
            br#"{"recordType": "dataRange", "records": []}"#.to_vec(),
            "recordType",
        ),
        (
            br#"{"recordType": 3, "records": []}"#.to_vec(),
            "recordType",
        ),
    ];
    let fields: [(&str, Option<Value>, &str); 17] = [
        ("recordId", None, "records[1].recordId"),
        ("recordId", Some(json!("")), "records[1].recordId"),
        ("recordId", Some(json!(42)), "records[1].recordId"),
        ("systemTime", None, "records[1].systemTime"),
        (
            "systemTime",
            Some(json!("yesterday")),
            "records[1].systemTime",
        ),
        (
            "systemTime",
            Some(json!(1_700_000_000)),
            "records[1].systemTime",
        ),
        ("displayTime", None, "records[1].displayTime"),
        (
            "displayTime",
            Some(json!("2025-03-01 13:00")),
            "records[1].displayTime",
        ),
        ("unit", None, "records[1].unit"),
        ("unit", Some(json!(1)), "records[1].unit"),
        ("value", Some(json!("187")), "records[1].value"),
        ("value", Some(json!(true)), "records[1].value"),
        ("value", Some(json!({"mg": 187})), "records[1].value"),
        ("trend", Some(json!(4)), "records[1].trend"),
        ("status", Some(json!([])), "records[1].status"),
        ("transmitterId", Some(json!(7)), "records[1].transmitterId"),
        (
            "displayDevice",
            Some(json!(false)),
            "records[1].displayDevice",
        ),
    ];
    for (key, value, path) in fields {
        cases.push((body_with(key, value), path));
    }
    let exponent = body_with("value", Some(json!(0))).replace_value("1.87e2");
    cases.push((exponent, "records[1].value"));
    for (body, path) in cases {
        let err = d.parse(&dt("egvs"), &body).unwrap_err();
        assert_eq!(err.path, path, "{}", String::from_utf8_lossy(&body));
        assert_eq!(
            (err.vendor.as_str(), err.data_type.as_str()),
            ("dexcom", "egvs")
        );
        assert!(!err.problem.is_empty());
        assert!(!err.problem.contains("187"), "{}", err.problem);
    }
    let err = d.parse(&dt("sleep"), b"{}").unwrap_err();
    assert_eq!((err.path.as_str(), err.data_type.as_str()), ("$", "sleep"));
}

trait ReplaceValue {
    fn replace_value(self, raw: &str) -> Vec<u8>;
}

impl ReplaceValue for Vec<u8> {
    /// The second record's `"value":0` written as `raw`.
    fn replace_value(self, raw: &str) -> Vec<u8> {
        let text = String::from_utf8(self).unwrap();
        let at = text.rfind("\"value\":0").unwrap();
        format!("{}\"value\":{raw}{}", &text[..at], &text[at + 9..]).into_bytes()
    }
}

#[test]
fn values_out_of_a_sensors_reach_are_skipped_not_stored() {
    let d = dexcom();
    for (value, unit) in [
        (json!(0), "mg/dL"),
        (json!(-5), "mg/dL"),
        (json!(1200), "mg/dL"),
        (json!(110), "mmol/L"),
    ] {
        let body = body_with_all(&[("value", Some(value.clone())), ("unit", Some(json!(unit)))]);
        let page = d.parse(&dt("egvs"), &body).unwrap();
        assert_eq!(page.samples.len(), 1, "{value} {unit}");
        assert_eq!(
            page.skipped[0].reason,
            "glucose value implausible for its unit"
        );
    }
    let page = d
        .parse(&dt("egvs"), &body_with("unit", Some(json!("mg/100mL"))))
        .unwrap();
    assert_eq!(page.skipped[0].reason, "unsupported glucose unit");
}

#[test]
fn malformed_share_records_name_the_field_at_fault() {
    let d = dexcom();
    let ok = r#""WT":"/Date(1587179623000)/","ST":"/Date(1587179623000)/","DT":"/Date(1587165223000+0000)/""#;
    let cases = [
        (r#"[1]"#.to_owned(), "$[0]"),
        (r#"[{"Value": 110, "Trend": 4}]"#.to_owned(), "$[0].ST"),
        (format!(r#"{{{ok}, "Value": "110"}}"#), "Value"),
        (
            format!(r#"[{{{ok}, "Value": 110, "Trend": true}}]"#),
            "$[0].Trend",
        ),
        (
            r#"{"ST":"/Date(1587179623000)/","Value":110}"#.to_owned(),
            "DT",
        ),
        (
            r#"{"ST":"1587179623000","DT":"/Date(1587165223000+0000)/","Value":110}"#.to_owned(),
            "ST",
        ),
        (
            r#"{"ST":"/Date(1587179623000)/","DT":7,"Value":110}"#.to_owned(),
            "DT",
        ),
        (
            r#"{"ST":"/Date(999999999999999999)/","DT":"/Date(0)/","Value":110}"#.to_owned(),
            "ST",
        ),
        (r#"{"WT":5,"DT":"/Date(0)/","Value":110}"#.to_owned(), "WT"),
    ];
    for (body, path) in cases {
        let err = d.parse(&dt("share_glucose"), body.as_bytes()).unwrap_err();
        assert_eq!(err.path, path, "{body}");
        assert_eq!(err.data_type, "share_glucose");
        assert!(!err.problem.contains("110"));
    }
}

/// Every prefix of the payload, and every byte of it replaced by characters that
/// break JSON in different ways: parsing must answer, never panic.
fn mutate_all(data_type: &str, body: &[u8]) {
    let d = dexcom();
    let t = dt(data_type);
    for cut in 0..body.len() {
        let _ = d.parse(&t, &body[..cut]);
    }
    let _ = d.parse(&t, body);
    for (i, replacement) in body
        .iter()
        .enumerate()
        .flat_map(|(i, _)| [b'"', b'}', b'-', 0xff].into_iter().map(move |r| (i, r)))
    {
        let mut m = body.to_vec();
        m[i] = replacement;
        let _ = d.parse(&t, &m);
    }
}

#[test]
fn truncated_and_mutated_payloads_never_panic() {
    let share = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/vendor-samples/dexcom-share/data.json"
    ))
    .unwrap();
    for data_type in ["share_glucose", "egvs"] {
        mutate_all(data_type, &share);
    }
    mutate_all("egvs", &fixture("egvs_split_1.json"));
    let d = dexcom();
    let mmol = fixture("egvs_mmol_ios_dst.json");
    for cut in 0..mmol.len() {
        let _ = d.parse(&dt("egvs"), &mmol[..cut]);
    }
    for name in ["data_range.json", "devices.json"] {
        let body = fixture(name);
        for cut in 0..body.len() {
            let _ = d.parse_data_range(&body[..cut]);
            let _ = d.parse_devices(&body[..cut]);
        }
    }
}

#[test]
fn garbage_never_panics() {
    let d = dexcom();
    let seeds: [&[u8]; 10] = [
        b"",
        b"\xff\xfe",
        b"null",
        b"[null, {}, [], \"x\", 1e999]",
        b"{\"records\": [null, {}, [], \"x\", 1e999]}",
        br#"{"records": [{"recordId": "a", "systemTime": "+275760-09-13T00:00:00", "displayTime": "-262143-01-01T00:00:00", "unit": "mg/dL", "value": 1e999999}]}"#,
        br#"{"records": [{"recordId": "a", "systemTime": "9999-12-31T23:59:59-23:59:59", "displayTime": "0000-01-01T00:00:00+23:59", "unit": "mg/dL", "value": 100}]}"#,
        br#"[{"ST": "/Date(-9223372036854775808)/", "DT": "/Date(9223372036854775807+2359)/", "Value": 1}]"#,
        br#"{"recordId": "\ud800"}"#,
        &[b'['; 10_000],
    ];
    for data_type in ["egvs", "share_glucose"] {
        for body in seeds {
            let _ = d.parse(&dt(data_type), body);
            let _ = d.parse_data_range(body);
            let _ = d.parse_devices(body);
        }
    }
}
