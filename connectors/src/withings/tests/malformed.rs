//! Payloads of the wrong shape: an error naming the field, never a health value
//! in the problem, never a panic; every prefix of the real payloads.

use super::real_samples::READ;
use super::*;
use serde_json::{json, Value as Json};

fn error(data_type: &str, body: &[u8]) -> ParseError {
    match withings().parse(&dt(data_type), body) {
        Ok(page) => panic!(
            "{} parsed: {:?}",
            String::from_utf8_lossy(body),
            lines(&page)
        ),
        Err(e) => e,
    }
}

/// A getmeas body with one weight group, changed by `edit`.
fn group(edit: impl FnOnce(&mut Json)) -> Vec<u8> {
    let mut body = json!({"status": 0, "body": {"timezone": "Europe/Paris", "measuregrps": [{
        "grpid": 1, "attrib": 0, "date": 1705299151, "category": 1, "model": "Body Cardio",
        "deviceid": "abc", "measures": [{"value": 72450, "type": 1, "unit": -3}]
    }]}});
    edit(&mut body);
    body.to_string().into_bytes()
}

fn day(edit: impl FnOnce(&mut Json)) -> Vec<u8> {
    let mut body = json!({"status": 0, "body": {"activities": [{
        "date": "2024-03-30", "timezone": "Europe/Paris", "steps": 8123, "distance": 6140.25
    }], "more": false}});
    edit(&mut body);
    body.to_string().into_bytes()
}

fn night(edit: impl FnOnce(&mut Json)) -> Vec<u8> {
    let mut body = json!({"status": 0, "body": {"series": [{
        "id": 7, "timezone": "Europe/Paris", "model_id": 63, "startdate": 1711838400,
        "enddate": 1711861500, "data": {"total_sleep_time": 22830, "hr_average": 58}
    }]}});
    edit(&mut body);
    body.to_string().into_bytes()
}

#[test]
fn a_malformed_page_names_the_field_at_fault() {
    let g = "body.measuregrps[0]";
    let m = "body.measuregrps[0].measures[0]";
    let cases: Vec<(&str, Vec<u8>, String)> = vec![
        ("body_measures", b"".to_vec(), "$".into()),
        ("body_measures", b"<html>".to_vec(), "$".into()),
        ("body_measures", b"null".to_vec(), "$".into()),
        ("body_measures", b"42".to_vec(), "$".into()),
        ("body_measures", b"\xff\xfe{}".to_vec(), "$".into()),
        ("body_measures", b"{}".to_vec(), "measuregrps".into()),
        ("body_measures", br#"{"status": 0}"#.to_vec(), "body".into()),
        (
            "body_measures",
            br#"{"status": 0, "body": []}"#.to_vec(),
            "body".into(),
        ),
        (
            "body_measures",
            br#"{"status": "0", "body": {}}"#.to_vec(),
            "status".into(),
        ),
        (
            "body_measures",
            br#"{"status": 0.5, "body": {}}"#.to_vec(),
            "status".into(),
        ),
        (
            "body_measures",
            br#"{"status": null, "body": {}}"#.to_vec(),
            "status".into(),
        ),
        (
            "body_measures",
            br#"{"status": 601, "body": {}}"#.to_vec(),
            "status".into(),
        ),
        (
            "body_measures",
            br#"{"status": 0, "body": {"measuregrps": {}}}"#.to_vec(),
            "body.measuregrps".into(),
        ),
        (
            "body_measures",
            br#"{"measuregrps": [1]}"#.to_vec(),
            "measuregrps[0]".into(),
        ),
        (
            "body_measures",
            br#"[{"category": 1}]"#.to_vec(),
            "$[0].grpid".into(),
        ),
        (
            "body_measures",
            group(|b| b["body"]["measuregrps"][0]["category"] = Json::Null),
            format!("{g}.category"),
        ),
        (
            "body_measures",
            group(|b| b["body"]["measuregrps"][0]["category"] = json!("1")),
            format!("{g}.category"),
        ),
        (
            "body_measures",
            group(|b| b["body"]["measuregrps"][0]["grpid"] = json!(1.5)),
            format!("{g}.grpid"),
        ),
        (
            "body_measures",
            group(|b| b["body"]["measuregrps"][0]["grpid"] = Json::Null),
            format!("{g}.grpid"),
        ),
        (
            "body_measures",
            group(|b| b["body"]["measuregrps"][0]["date"] = Json::Null),
            format!("{g}.date"),
        ),
        (
            "body_measures",
            group(|b| b["body"]["measuregrps"][0]["date"] = json!(1e20)),
            format!("{g}.date"),
        ),
        (
            "body_measures",
            group(|b| b["body"]["measuregrps"][0]["date"] = json!(99_999_999_999_999_999_i64)),
            format!("{g}.date"),
        ),
        (
            "body_measures",
            group(|b| b["body"]["measuregrps"][0]["attrib"] = json!("0")),
            format!("{g}.attrib"),
        ),
        (
            "body_measures",
            group(|b| b["body"]["measuregrps"][0]["model"] = json!(45)),
            format!("{g}.model"),
        ),
        (
            "body_measures",
            group(|b| b["body"]["measuregrps"][0]["deviceid"] = json!(5)),
            format!("{g}.deviceid"),
        ),
        (
            "body_measures",
            group(|b| b["body"]["measuregrps"][0]["measures"] = Json::Null),
            format!("{g}.measures"),
        ),
        (
            "body_measures",
            group(|b| b["body"]["measuregrps"][0]["measures"] = json!({})),
            format!("{g}.measures"),
        ),
        (
            "body_measures",
            group(|b| b["body"]["measuregrps"][0]["measures"][0] = json!("x")),
            m.into(),
        ),
        (
            "body_measures",
            group(|b| b["body"]["measuregrps"][0]["measures"][0]["type"] = Json::Null),
            format!("{m}.type"),
        ),
        (
            "body_measures",
            group(|b| b["body"]["measuregrps"][0]["measures"][0]["value"] = json!(72.45)),
            format!("{m}.value"),
        ),
        (
            "body_measures",
            group(|b| b["body"]["measuregrps"][0]["measures"][0]["value"] = json!("72450")),
            format!("{m}.value"),
        ),
        (
            "body_measures",
            group(|b| b["body"]["measuregrps"][0]["measures"][0]["unit"] = Json::Null),
            format!("{m}.unit"),
        ),
        (
            "body_measures",
            group(|b| b["body"]["measuregrps"][0]["measures"][0]["unit"] = json!(99)),
            format!("{m}.unit"),
        ),
        (
            "body_measures",
            group(|b| b["body"]["measuregrps"][0]["measures"][0]["unit"] = json!(i64::MAX)),
            format!("{m}.unit"),
        ),
        (
            "body_measures",
            group(|b| b["body"]["measuregrps"][0]["measures"][0]["position"] = json!("7")),
            format!("{m}.position"),
        ),
        (
            "body_measures",
            group(|b| b["body"]["timezone"] = json!("Mars/Base")),
            "body.timezone".into(),
        ),
        (
            "body_measures",
            group(|b| b["body"]["timezone"] = json!(1)),
            "body.timezone".into(),
        ),
        (
            "body_measures",
            group(|b| b["body"]["more"] = json!("yes")),
            "body.more".into(),
        ),
        (
            "body_measures",
            group(|b| b["body"]["more"] = json!(1)),
            "body.offset".into(),
        ),
        (
            "body_measures",
            group(|b| {
                b["body"]["more"] = json!(true);
                b["body"]["offset"] = json!(-3)
            }),
            "body.offset".into(),
        ),
        (
            "body_measures",
            group(|b| {
                b["body"]["more"] = json!(true);
                b["body"]["offset"] = json!("3")
            }),
            "body.offset".into(),
        ),
        ("activity", b"{}".to_vec(), "activities".into()),
        (
            "activity",
            day(|b| b["body"]["activities"] = json!("x")),
            "body.activities".into(),
        ),
        (
            "activity",
            day(|b| b["body"]["activities"][0]["date"] = Json::Null),
            "body.activities[0].date".into(),
        ),
        (
            "activity",
            day(|b| b["body"]["activities"][0]["date"] = json!("2024/03/30")),
            "body.activities[0].date".into(),
        ),
        (
            "activity",
            day(|b| b["body"]["activities"][0]["date"] = json!("2024-02-30")),
            "body.activities[0].date".into(),
        ),
        (
            "activity",
            day(|b| b["body"]["activities"][0]["date"] = json!(20240330)),
            "body.activities[0].date".into(),
        ),
        (
            "activity",
            day(|b| b["body"]["activities"][0]["timezone"] = Json::Null),
            "body.activities[0].timezone".into(),
        ),
        (
            "activity",
            day(|b| b["body"]["activities"][0]["timezone"] = json!("+01:00")),
            "body.activities[0].timezone".into(),
        ),
        (
            "activity",
            day(|b| {
                b["body"]["activities"][0]["timezone"] = json!("Pacific/Apia");
                b["body"]["activities"][0]["date"] = json!("2011-12-30")
            }),
            "body.activities[0].date".into(),
        ),
        (
            "activity",
            day(|b| b["body"]["activities"][0]["steps"] = json!(12.5)),
            "body.activities[0].steps".into(),
        ),
        (
            "activity",
            day(|b| b["body"]["activities"][0]["steps"] = json!("8123")),
            "body.activities[0].steps".into(),
        ),
        (
            "activity",
            day(|b| b["body"]["activities"][0]["distance"] = json!(true)),
            "body.activities[0].distance".into(),
        ),
        (
            "activity",
            day(|b| b["body"]["activities"][0]["totalcalories"] = json!({})),
            "body.activities[0].totalcalories".into(),
        ),
        (
            "activity",
            day(|b| b["body"]["activities"][0]["brand"] = json!("18")),
            "body.activities[0].brand".into(),
        ),
        (
            "activity",
            day(|b| b["body"]["more"] = json!(2)),
            "body.more".into(),
        ),
        ("sleep_summary", b"[[]]".to_vec(), "$[0]".into()),
        (
            "sleep_summary",
            night(|b| b["body"]["series"][0]["timezone"] = Json::Null),
            "body.series[0].timezone".into(),
        ),
        (
            "sleep_summary",
            night(|b| b["body"]["series"][0]["startdate"] = Json::Null),
            "body.series[0].startdate".into(),
        ),
        (
            "sleep_summary",
            night(|b| b["body"]["series"][0]["enddate"] = json!(1711838399)),
            "body.series[0].enddate".into(),
        ),
        (
            "sleep_summary",
            night(|b| b["body"]["series"][0]["id"] = json!("abc")),
            "body.series[0].id".into(),
        ),
        (
            "sleep_summary",
            night(|b| b["body"]["series"][0]["model_id"] = json!("63")),
            "body.series[0].model_id".into(),
        ),
        (
            "sleep_summary",
            night(|b| b["body"]["series"][0]["hash_deviceid"] = json!([])),
            "body.series[0].hash_deviceid".into(),
        ),
        (
            "sleep_summary",
            night(|b| b["body"]["series"][0]["data"] = json!([])),
            "body.series[0].data".into(),
        ),
        (
            "sleep_summary",
            night(|b| b["body"]["series"][0]["data"]["total_sleep_time"] = json!(12.5)),
            "body.series[0].data.total_sleep_time".into(),
        ),
        (
            "sleep_summary",
            night(|b| b["body"]["series"][0]["data"]["total_sleep_time"] = json!(1e30)),
            "body.series[0].data.total_sleep_time".into(),
        ),
        (
            "sleep_summary",
            night(|b| b["body"]["series"][0]["data"]["lightsleepduration"] = json!("3600")),
            "body.series[0].data.lightsleepduration".into(),
        ),
        (
            "sleep_summary",
            night(|b| b["body"]["series"][0]["data"]["hr_average"] = json!({})),
            "body.series[0].data.hr_average".into(),
        ),
    ];
    for (data_type, body, path) in cases {
        let e = error(data_type, &body);
        assert_eq!(e.path, path, "{}: {e}", String::from_utf8_lossy(&body));
        assert_eq!(
            (e.vendor.as_str(), e.data_type.as_str()),
            ("withings", data_type)
        );
        assert!(!e.problem.is_empty());
    }
}

#[test]
fn problems_never_quote_a_health_value() {
    let wrong: Vec<(&str, Vec<u8>)> = vec![
        (
            "body_measures",
            group(|b| b["body"]["measuregrps"][0]["measures"][0]["value"] = json!("98765.4321")),
        ),
        (
            "body_measures",
            group(|b| b["body"]["measuregrps"][0]["measures"][0]["value"] = json!(98765.4321)),
        ),
        (
            "body_measures",
            group(|b| b["body"]["timezone"] = json!("98765.4321")),
        ),
        (
            "activity",
            day(|b| b["body"]["activities"][0]["steps"] = json!(98765.4321)),
        ),
        (
            "activity",
            day(|b| b["body"]["activities"][0]["date"] = json!("98765.4321")),
        ),
        (
            "sleep_summary",
            night(|b| b["body"]["series"][0]["data"]["total_sleep_time"] = json!(98765.4321)),
        ),
    ];
    for (data_type, body) in wrong {
        let e = error(data_type, &body);
        assert!(!e.to_string().contains("98765"), "{e}");
    }
}

#[test]
fn every_prefix_of_real_payloads_fails_cleanly() {
    let w = withings();
    for (file, data_type) in READ {
        let body = real(file);
        let complete = body.len()
            - body
                .iter()
                .rev()
                .take_while(|b| b.is_ascii_whitespace())
                .count();
        // Every prefix of the small payloads (up to about 3 KB: one of each data
        // type); evenly spread prefixes of the larger ones, about 3 MB of parsing
        // each, and their last 32 cuts.
        let stride = (body.len() * body.len() / 6_000_000).max(1);
        for cut in (0..complete)
            .step_by(stride)
            .chain(complete.saturating_sub(32)..complete)
        {
            match w.parse(&dt(data_type), &body[..cut]) {
                Ok(_) => panic!("{file}: the first {cut} bytes parsed"),
                Err(e) => assert!(!e.path.is_empty(), "{file} @ {cut}"),
            }
        }
    }
}
