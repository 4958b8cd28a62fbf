//! Wrong payloads: each malformed field is named by its path, and no input, cut
//! short or mutated, makes the parser panic or quote a value.

use super::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value as Json};

/// A marker put in place of values; no error text may contain it.
const MARK: &str = "MARK-987654";
const MARK_NUMBER: i64 = -987_654;

fn activity() -> Json {
    json!({"id": "a1", "day": "2026-08-10", "timestamp": "2026-08-10T04:00:00-07:00",
           "steps": 8342, "active_calories": 410, "total_calories": 2510})
}
fn sleep() -> Json {
    json!({"id": "s1", "type": "long_sleep", "day": "2026-08-10",
           "bedtime_start": "2026-08-09T23:14:02-07:00", "bedtime_end": "2026-08-10T07:04:02-07:00",
           "total_sleep_duration": 27000, "deep_sleep_duration": 5400, "light_sleep_duration": 15300,
           "rem_sleep_duration": 6300, "average_heart_rate": 54.0, "average_hrv": 42, "ring_id": "r"})
}
fn heart() -> Json {
    json!({"timestamp": "2026-08-10T09:00:00+00:00", "bpm": 61, "source": "awake"})
}
fn spo2() -> Json {
    json!({"id": "o1", "day": "2026-08-10", "spo2_percentage": {"average": 97.2}})
}
fn readiness() -> Json {
    json!({"id": "t1", "day": "2026-08-10", "timestamp": "2026-08-10T04:00:00+00:00",
           "temperature_deviation": -0.1})
}
fn workout() -> Json {
    json!({"id": "w1", "activity": "cycling", "day": "2026-08-10", "calories": 480.0,
           "distance": 18500.0, "start_datetime": "2026-08-10T17:02:00-07:00",
           "end_datetime": "2026-08-10T18:11:00-07:00", "source": "autodetected"})
}

/// A page of two copies of `record` with `key` set to `value` (`None`: removed).
fn page_with(record: Json, key: &str, value: Option<Json>) -> Vec<u8> {
    let mut record = record;
    match value {
        Some(v) => record[key] = v,
        None => {
            record.as_object_mut().unwrap().remove(key);
        }
    }
    json!({"data": [record.clone(), record], "next_token": null})
        .to_string()
        .into_bytes()
}

#[test]
fn every_malformed_field_is_named_by_its_path() {
    let raw = |s: &str| s.as_bytes().to_vec();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("sleep", raw("<html>"), "$"),
        ("sleep", raw("[1]"), "$"),
        ("sleep", raw(""), "$"),
        ("sleep", raw("{}"), "data"),
        ("sleep", raw(r#"{"data": {}}"#), "data"),
        ("sleep", raw(r#"{"data": null}"#), "data"),
        ("sleep", raw(r#"{"data": [1]}"#), "data[0]"),
        (
            "sleep",
            raw(r#"{"data": [], "next_token": 5}"#),
            "next_token",
        ),
        (
            "daily_activity",
            page_with(activity(), "id", None),
            "data[0].id",
        ),
        (
            "daily_activity",
            page_with(activity(), "id", Some(json!(""))),
            "data[0].id",
        ),
        (
            "daily_activity",
            page_with(activity(), "id", Some(json!(7))),
            "data[0].id",
        ),
        (
            "daily_activity",
            page_with(activity(), "day", Some(json!("2026/08/10"))),
            "data[0].day",
        ),
        (
            "daily_activity",
            page_with(activity(), "day", Some(json!(20_260_810))),
            "data[0].day",
        ),
        (
            "daily_activity",
            page_with(activity(), "day", Some(json!("262143-12-31"))),
            "data[0].day",
        ),
        (
            "daily_activity",
            page_with(activity(), "timestamp", None),
            "data[0].timestamp",
        ),
        (
            "daily_activity",
            page_with(activity(), "timestamp", Some(json!("2026-08-10T04:00:00"))),
            "data[0].timestamp",
        ),
        (
            "daily_activity",
            page_with(activity(), "steps", Some(json!("8342"))),
            "data[0].steps",
        ),
        (
            "daily_activity",
            page_with(activity(), "steps", Some(json!(-1))),
            "data[0].steps",
        ),
        (
            "daily_activity",
            page_with(activity(), "steps", Some(json!(12.5))),
            "data[0].steps",
        ),
        (
            "daily_activity",
            page_with(activity(), "active_calories", Some(json!(-3))),
            "data[0].active_calories",
        ),
        (
            "daily_activity",
            page_with(activity(), "total_calories", Some(json!(true))),
            "data[0].total_calories",
        ),
        (
            "sleep",
            page_with(sleep(), "bedtime_start", None),
            "data[0].bedtime_start",
        ),
        (
            "sleep",
            page_with(sleep(), "bedtime_end", Some(json!(5))),
            "data[0].bedtime_end",
        ),
        (
            "sleep",
            page_with(sleep(), "type", Some(json!(5))),
            "data[0].type",
        ),
        (
            "sleep",
            page_with(sleep(), "total_sleep_duration", Some(json!(-60))),
            "data[0].total_sleep_duration",
        ),
        (
            "sleep",
            page_with(sleep(), "rem_sleep_duration", Some(json!(1e35))),
            "data[0].rem_sleep_duration",
        ),
        (
            "sleep",
            page_with(sleep(), "average_heart_rate", Some(json!(0))),
            "data[0].average_heart_rate",
        ),
        (
            "sleep",
            page_with(sleep(), "average_hrv", Some(json!("42"))),
            "data[0].average_hrv",
        ),
        (
            "sleep",
            page_with(sleep(), "ring_id", Some(json!(7))),
            "data[0].ring_id",
        ),
        (
            "heartrate",
            page_with(heart(), "timestamp", None),
            "data[0].timestamp",
        ),
        (
            "heartrate",
            page_with(heart(), "timestamp", Some(json!(1_786_435_200))),
            "data[0].timestamp",
        ),
        (
            "heartrate",
            page_with(heart(), "bpm", Some(json!(0))),
            "data[0].bpm",
        ),
        (
            "heartrate",
            page_with(heart(), "bpm", Some(json!({}))),
            "data[0].bpm",
        ),
        (
            "daily_spo2",
            page_with(spo2(), "spo2_percentage", Some(json!(97))),
            "data[0].spo2_percentage",
        ),
        (
            "daily_spo2",
            page_with(spo2(), "spo2_percentage", Some(json!({"average": 101}))),
            "data[0].spo2_percentage.average",
        ),
        (
            "daily_spo2",
            page_with(spo2(), "spo2_percentage", Some(json!({"average": -1}))),
            "data[0].spo2_percentage.average",
        ),
        (
            "daily_spo2",
            page_with(spo2(), "timestamp", Some(json!("x"))),
            "data[0].timestamp",
        ),
        ("daily_spo2", page_with(spo2(), "day", None), "data[0].day"),
        (
            "temperature",
            page_with(readiness(), "temperature_deviation", Some(json!("0.1"))),
            "data[0].temperature_deviation",
        ),
        (
            "workout",
            page_with(workout(), "activity", None),
            "data[0].activity",
        ),
        (
            "workout",
            page_with(workout(), "activity", Some(json!(""))),
            "data[0].activity",
        ),
        (
            "workout",
            page_with(workout(), "start_datetime", Some(json!("yesterday"))),
            "data[0].start_datetime",
        ),
        (
            "workout",
            page_with(workout(), "calories", Some(json!(-5))),
            "data[0].calories",
        ),
        (
            "workout",
            page_with(workout(), "distance", Some(json!("far"))),
            "data[0].distance",
        ),
        (
            "workout",
            page_with(workout(), "source", Some(json!(3))),
            "data[0].source",
        ),
    ];
    for (data_type, body, path) in cases {
        let err = sandbox().parse(&dt(data_type), &body).unwrap_err();
        let shown = String::from_utf8_lossy(&body);
        assert_eq!(err.path, path, "{shown}: {err}");
        assert_eq!(
            (err.vendor.as_str(), err.data_type.as_str()),
            ("oura", data_type)
        );
        assert!(!err.problem.is_empty());
        // No value of the payload in the message (8342 steps, 27000 s, …).
        for value in [
            "8342",
            "27000",
            "97.2",
            "-0.1",
            "18500",
            "101",
            "12.5",
            "2026/08/10",
        ] {
            assert!(!err.problem.contains(value), "{err}");
        }
    }
}

/// The real samples and the project's fixtures, as (name, data type, body).
fn corpus() -> Vec<(String, &'static str, Vec<u8>)> {
    let mut all: Vec<(String, &'static str, Vec<u8>)> = samples::all()
        .into_iter()
        .map(|(name, t, body)| (name.to_owned(), t, body))
        .collect();
    for (name, t) in [
        ("daily_activity.json", "daily_activity"),
        ("sleep.json", "sleep"),
        ("heartrate_page1.json", "heartrate"),
        ("heartrate_page2.json", "heartrate"),
        ("daily_spo2.json", "daily_spo2"),
        ("daily_readiness.json", "temperature"),
        ("workout.json", "workout"),
    ] {
        all.push((format!("fixture {name}"), t, fixture(name)));
    }
    all
}

#[test]
fn every_prefix_of_every_payload_fails_cleanly() {
    for (name, data_type, body) in corpus() {
        let full = String::from_utf8_lossy(&body).trim().to_owned();
        for cut in 0..body.len() {
            let prefix = &body[..cut];
            let result = sandbox().parse(&dt(data_type), prefix);
            if String::from_utf8_lossy(prefix).trim() != full {
                let err = result.expect_err(&format!("{name} cut at {cut}"));
                assert_eq!(err.path, "$", "{name} cut at {cut}");
            }
        }
    }
}

#[test]
fn marked_values_anywhere_never_panic_and_are_never_quoted() {
    let marks = [
        Json::Null,
        json!(MARK),
        json!(MARK_NUMBER),
        json!(0),
        json!(1.0e300),
        json!({}),
        json!([]),
        json!(true),
        json!("2026-02-30"),
        json!("2026-08-10T25:00:00+00:00"),
    ];
    for (name, _, body) in corpus() {
        let root: Json = serde_json::from_slice(&body).unwrap();
        let records = root["data"].as_array().unwrap();
        for i in 0..records.len() {
            for key in records[i].as_object().unwrap().keys() {
                for mark in &marks {
                    let mut changed = root.clone();
                    changed["data"][i][key] = mark.clone();
                    let bytes = changed.to_string().into_bytes();
                    for id in type_ids() {
                        if let Err(e) = sandbox().parse(&dt(id), &bytes) {
                            let text = e.to_string();
                            assert!(!e.path.is_empty(), "{name} {key}: {text}");
                            assert!(
                                !text.contains(MARK) && !text.contains("987654"),
                                "{name} data[{i}].{key} as {id}: {text}"
                            );
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn random_byte_mutations_never_panic() {
    let corpus = corpus();
    let alphabet = b"{}[]\",:.-+eE0123456789 nultrfase\\\x00\xff";
    let mut rng = StdRng::seed_from_u64(0x5eed_0a5a);
    for _ in 0..3000 {
        let (_, _, body) = &corpus[rng.gen_range(0..corpus.len())];
        let mut body = body.clone();
        for _ in 0..rng.gen_range(1..4) {
            if body.is_empty() {
                break;
            }
            let at = rng.gen_range(0..body.len());
            match rng.gen_range(0..3) {
                0 => body[at] = alphabet[rng.gen_range(0..alphabet.len())],
                1 => {
                    let end = (at + rng.gen_range(1..16)).min(body.len());
                    body.drain(at..end);
                }
                _ => {
                    let end = (at + rng.gen_range(1..32)).min(body.len());
                    let copy = body[at..end].to_vec();
                    body.splice(at..at, copy);
                }
            }
        }
        for id in type_ids() {
            if let Err(e) = sandbox().parse(&dt(id), &body) {
                assert!(!e.path.is_empty());
            }
        }
    }
}

#[test]
fn garbage_never_panics() {
    let deep = [b'['; 10_000];
    let seeds: [&[u8]; 9] = [
        b"",
        b"\xff\xfe",
        b"null",
        b"{\"data\": [null, {}, [], \"x\", 1e999]}",
        b"{\"data\": [{\"steps\": 1e999999, \"timestamp\": \"9999-12-31T23:59:59-23:59\"}]}",
        b"{\"data\": [{\"id\": \"\\ud800\"}]}",
        &deep,
        br#"{"data": [{"id": "a", "day": "262142-12-31", "timestamp": "2026-01-01T04:00:00+14:00", "steps": 1}]}"#,
        br#"{"data": [{"id": "w", "activity": "x", "start_datetime": "0001-01-01T00:00:00+00:00", "end_datetime": "9999-12-31T23:59:59+00:00"}]}"#,
    ];
    for id in type_ids() {
        for body in seeds {
            let _ = sandbox().parse(&dt(id), body);
            for cut in 0..body.len().min(64) {
                let _ = sandbox().parse(&dt(id), &body[..cut]);
            }
        }
    }
    // The longest possible workout still has a duration.
    let page = parse("workout", seeds[8]);
    assert!(!workout_of(&page.samples[0]).duration.value.is_empty());
}
