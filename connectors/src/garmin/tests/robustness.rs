//! Payloads of every wrong shape: a `ParseError` naming the field, never a value
//! in the error; odd but valid values read or skipped.

use super::*;
use serde_json::{json, Value as Json};

/// A valid record of each data type, to break one field at a time.
fn base(data_type: &str) -> Json {
    let t = json!({"startTimeInSeconds": 1_795_129_200, "startTimeOffsetInSeconds": 3600});
    let m =
        json!({"measurementTimeInSeconds": 1_795_155_249, "measurementTimeOffsetInSeconds": 3600});
    let mut record = match data_type {
        "dailies" => {
            json!({"calendarDate": "2026-11-20", "durationInSeconds": 86400, "steps": 100})
        }
        "sleeps" => json!({"durationInSeconds": 600, "deepSleepDurationInSeconds": 300}),
        "body_compositions" => json!({"weightInGrams": 72450}),
        "pulse_ox" => json!({"timeOffsetSpo2Values": {"0": 96}}),
        "respiration" => json!({"timeOffsetEpochToBreaths": {"60": 14}}),
        "hrv" => json!({"lastNightAvg": 44}),
        "blood_pressures" => json!({"systolic": 120, "diastolic": 80}),
        "activities" => json!({"activityType": "RUNNING", "durationInSeconds": 60}),
        other => panic!("{other}"),
    };
    let time = if matches!(data_type, "body_compositions" | "blood_pressures") {
        m
    } else {
        t
    };
    for (k, v) in time.as_object().unwrap() {
        record[k] = v.clone();
    }
    record["summaryId"] = json!("r1");
    record
}

/// A pull body of a good record and then one with `key` set to `value` (or
/// removed, for `Json::Null` written as `"<remove>"`).
fn broken(data_type: &str, key: &str, value: Json) -> Vec<u8> {
    let mut record = base(data_type);
    if value == json!("<remove>") {
        record.as_object_mut().unwrap().remove(key);
    } else {
        record[key] = value;
    }
    json!([base(data_type), record]).to_string().into_bytes()
}

#[test]
fn every_base_record_parses() {
    for d in garmin().manifest().data_types.iter() {
        let page = parse(
            d.id.as_str(),
            &json!([base(d.id.as_str())]).to_string().into_bytes(),
        );
        assert!(!page.samples.is_empty(), "{}", d.id);
        assert!(page.skipped.is_empty(), "{}: {:?}", d.id, page.skipped);
    }
}

#[test]
fn every_malformed_payload_names_the_field_at_fault() {
    let raw = |t: &str, body: &str| (t.to_owned(), body.as_bytes().to_vec());
    let mut cases: Vec<((String, Vec<u8>), &str)> = vec![
        (raw("dailies", "<html>"), "$"),
        (raw("dailies", ""), "$"),
        (raw("dailies", "5"), "$"),
        (raw("dailies", "{}"), "dailies"),
        (raw("dailies", r#"{"sleeps": []}"#), "dailies"),
        (raw("dailies", r#"{"dailies": {}}"#), "dailies"),
        (raw("pulse_ox", r#"{"pulseox": 5}"#), "pulseox"),
        (raw("dailies", "[1]"), "$[0]"),
        (raw("dailies", "[[]]"), "$[0]"),
        (raw("dailies", "[{}]"), "$[0].startTimeOffsetInSeconds"),
    ];
    let d =
        |t: &str, key: &str, v: Json, path: &'static str| ((t.to_owned(), broken(t, key, v)), path);
    let rm = json!("<remove>");
    cases.extend([
        d(
            "dailies",
            "startTimeOffsetInSeconds",
            json!(99_999),
            "$[1].startTimeOffsetInSeconds",
        ),
        d(
            "dailies",
            "startTimeOffsetInSeconds",
            json!("+01:00"),
            "$[1].startTimeOffsetInSeconds",
        ),
        d(
            "dailies",
            "startTimeInSeconds",
            rm.clone(),
            "$[1].startTimeInSeconds",
        ),
        d(
            "dailies",
            "startTimeInSeconds",
            Json::Null,
            "$[1].startTimeInSeconds",
        ),
        d(
            "dailies",
            "startTimeInSeconds",
            json!("1795129200"),
            "$[1].startTimeInSeconds",
        ),
        d(
            "dailies",
            "startTimeInSeconds",
            json!(1.5),
            "$[1].startTimeInSeconds",
        ),
        d(
            "dailies",
            "startTimeInSeconds",
            json!(99_999_999_999_999_999_i64),
            "$[1].startTimeInSeconds",
        ),
        d(
            "dailies",
            "calendarDate",
            json!("2026-13-01"),
            "$[1].calendarDate",
        ),
        d(
            "dailies",
            "calendarDate",
            json!("2026-1-1"),
            "$[1].calendarDate",
        ),
        d(
            "dailies",
            "calendarDate",
            json!(20_261_120),
            "$[1].calendarDate",
        ),
        d("dailies", "steps", json!("8123"), "$[1].steps"),
        d("dailies", "steps", json!(12.5), "$[1].steps"),
        d("dailies", "steps", json!([1]), "$[1].steps"),
        d("dailies", "summaryId", json!(5), "$[1].summaryId"),
        d("dailies", "summaryId", json!(""), "$[1].summaryId"),
        d(
            "dailies",
            "durationInSeconds",
            json!(-5),
            "$[1].durationInSeconds",
        ),
        d(
            "sleeps",
            "durationInSeconds",
            rm.clone(),
            "$[1].durationInSeconds",
        ),
        d(
            "sleeps",
            "durationInSeconds",
            json!(u64::MAX),
            "$[1].durationInSeconds",
        ),
        d(
            "sleeps",
            "deepSleepDurationInSeconds",
            json!(12.5),
            "$[1].deepSleepDurationInSeconds",
        ),
        d(
            "sleeps",
            "awakeDurationInSeconds",
            json!("x"),
            "$[1].awakeDurationInSeconds",
        ),
        d(
            "body_compositions",
            "measurementTimeOffsetInSeconds",
            rm.clone(),
            "$[1].measurementTimeOffsetInSeconds",
        ),
        d(
            "body_compositions",
            "weightInGrams",
            json!(true),
            "$[1].weightInGrams",
        ),
        d(
            "pulse_ox",
            "timeOffsetSpo2Values",
            json!([96]),
            "$[1].timeOffsetSpo2Values",
        ),
        d(
            "pulse_ox",
            "timeOffsetSpo2Values",
            json!({"-5": 96}),
            "$[1].timeOffsetSpo2Values",
        ),
        d(
            "pulse_ox",
            "timeOffsetSpo2Values",
            json!({"05": 96}),
            "$[1].timeOffsetSpo2Values",
        ),
        d(
            "pulse_ox",
            "timeOffsetSpo2Values",
            json!({"0": "96"}),
            "$[1].timeOffsetSpo2Values.0",
        ),
        d(
            "respiration",
            "timeOffsetEpochToBreaths",
            json!({"60": {}}),
            "$[1].timeOffsetEpochToBreaths.60",
        ),
        d("hrv", "lastNightAvg", json!("44"), "$[1].lastNightAvg"),
        d(
            "hrv",
            "durationInSeconds",
            json!(-1),
            "$[1].durationInSeconds",
        ),
        d("blood_pressures", "systolic", json!([120]), "$[1].systolic"),
        d("blood_pressures", "pulse", json!("82"), "$[1].pulse"),
        d(
            "activities",
            "activityType",
            rm.clone(),
            "$[1].activityType",
        ),
        d("activities", "activityType", json!(""), "$[1].activityType"),
        d(
            "activities",
            "durationInSeconds",
            rm,
            "$[1].durationInSeconds",
        ),
        d("activities", "deviceName", json!(5), "$[1].deviceName"),
        d(
            "activities",
            "distanceInMeters",
            json!("5 km"),
            "$[1].distanceInMeters",
        ),
    ]);
    let mut no_id = base("activities");
    no_id.as_object_mut().unwrap().remove("summaryId");
    no_id["activityId"] = json!(["x"]);
    cases.push((
        (
            "activities".to_owned(),
            json!([no_id]).to_string().into_bytes(),
        ),
        "$[0].activityId",
    ));
    // The same faults in a push body name the list they sit in.
    cases.push((
        (
            "hrv".to_owned(),
            json!({"hrv": [base("hrv"), {"lastNightAvg": 1}]})
                .to_string()
                .into_bytes(),
        ),
        "hrv[1].startTimeOffsetInSeconds",
    ));
    for ((data_type, body), path) in cases {
        let e = garmin().parse(&dt(&data_type), &body).unwrap_err();
        assert_eq!(
            e.path,
            path,
            "{data_type}: {}: {e}",
            String::from_utf8_lossy(&body)
        );
        assert_eq!(
            (e.vendor.as_str(), e.data_type.as_str()),
            ("garmin", data_type.as_str())
        );
        assert!(!e.problem.is_empty() && !e.problem.contains(|c: char| c.is_ascii_digit()));
    }
}

#[test]
fn odd_but_valid_values_are_read_or_skipped_not_failed() {
    // An exponent is spelled out; negative and null metrics are skipped.
    let body = broken("body_compositions", "weightInGrams", json!(7.245e4));
    let page = parse("body_compositions", &body);
    assert_eq!(page.samples[1].quantity().unwrap().value, "72.45");
    let page = parse("body_compositions", br#"[{"measurementTimeInSeconds": 0, "measurementTimeOffsetInSeconds": 0, "weightInGrams": 7.245E+4, "bodyMassIndex": -1, "bodyFatInPercent": 0}]"#);
    assert_eq!(
        lines(&page),
        ["body_weight 72.45 kg 1970-01-01T00:00:00+00:00.. #-"]
    );
    assert_eq!(
        skipped(&page),
        [
            ("$[0].bodyMassIndex", "negative value"),
            ("$[0].bodyFatInPercent", "zero value")
        ]
    );
    // A ping inside a page is no summary.
    let page = parse(
        "sleeps",
        br#"{"sleeps": [{"userId": "u", "callbackURL": "https://x"}]}"#,
    );
    assert_eq!(skipped(&page), [("sleeps[0]", "a ping, not a summary")]);
    // More time awake than in bed: the stages still count.
    let body = broken("sleeps", "awakeDurationInSeconds", json!(601));
    let page = parse("sleeps", &body);
    assert_eq!(
        skipped(&page),
        [(
            "$[1].awakeDurationInSeconds",
            "more time awake than the sleep period"
        )]
    );
    assert_eq!(page.samples.len(), 3);
    // An hrv of zero is no reading.
    let page = parse("hrv", &broken("hrv", "lastNightAvg", json!(0)));
    assert_eq!(skipped(&page), [("$[1].lastNightAvg", "zero value")]);
}
