//! The project's own fixtures (`connectors/fixtures/oura`): every data type and
//! metric, paging, offsets across DST changes, nulls, deleted and rejected records.

use super::*;
use crate::sample::Device;
use Metric::*;

#[test]
fn daily_activity_spans_the_members_day_at_the_records_offset() {
    let page = parse("daily_activity", &fixture("daily_activity.json"));
    let (berlin, berlin_end) = (
        "2026-07-14T00:00:00+02:00",
        Some("2026-07-15T00:00:00+02:00"),
    );
    // 2026-03-08 is the US spring-forward day: Oura's timestamp (04:00) is already
    // PDT; the day stays the 8th.
    let (us, us_end) = (
        "2026-03-08T00:00:00-07:00",
        Some("2026-03-09T00:00:00-07:00"),
    );
    let (india, india_end) = (
        "2026-11-20T00:00:00+05:30",
        Some("2026-11-21T00:00:00+05:30"),
    );
    assert_eq!(
        rows(&page),
        [
            r(StepsDaily, "11234", "/d", berlin, berlin_end),
            r(ActiveEnergy, "612", "kcal", berlin, berlin_end),
            r(EnergyBurnedDaily, "2748", "kcal/d", berlin, berlin_end),
            r(StepsDaily, "4021", "/d", us, us_end),
            r(ActiveEnergy, "198", "kcal", us, us_end),
            r(EnergyBurnedDaily, "2105", "kcal/d", us, us_end),
            r(StepsDaily, "0", "/d", india, india_end),
            r(ActiveEnergy, "0", "kcal", india, india_end),
            r(EnergyBurnedDaily, "1650", "kcal/d", india, india_end),
        ]
    );
    let codes: Vec<&str> = page.samples[..3]
        .iter()
        .map(|s| s.vendor_code.as_str())
        .collect();
    assert_eq!(codes, ["steps", "active_calories", "total_calories"]);
    let s = &page.samples[3];
    assert_eq!(
        s.vendor_record_id.as_deref(),
        Some("5d1f0c3e-7a41-4c2b-9b0e-3f6a1e2d4c02")
    );
    assert_eq!(
        s.device,
        Some(Device {
            manufacturer: Some("Oura".into()),
            model: None,
            vendor_device_id: None
        })
    );
    assert_eq!(
        page.next_cursor.as_deref(),
        Some("MjAyNi0xMS0yMXxkYWlseV9hY3Rpdml0eQ==")
    );
    assert!(page.skipped.is_empty());
}

#[test]
fn sleep_periods_keep_both_offsets_and_convert_seconds_exactly() {
    let page = parse("sleep", &fixture("sleep.json"));
    // The night of the US spring-forward: in bed at PST, up at PDT (6 h 45 min).
    let (s1, e1) = (
        "2026-03-07T23:30:00-08:00",
        Some("2026-03-08T07:15:00-07:00"),
    );
    let (s2, e2) = (
        "2026-03-08T18:40:00-07:00",
        Some("2026-03-08T19:25:10-07:00"),
    );
    assert_eq!(
        rows(&page),
        [
            r(SleepDuration, "367.5", "min", s1, e1),
            r(SleepDeep, "66.5", "min", s1, e1),
            r(SleepLight, "211", "min", s1, e1),
            r(SleepRem, "90", "min", s1, e1),
            r(HeartRate, "57.125", "/min", s1, e1),
            r(HrvRmssd, "38", "ms", s1, e1),
            // 2410 s and 2110 s are no whole number of 0.01 min: 4 digits, half-up.
            r(SleepDuration, "40.1667", "min", s2, e2),
            r(SleepLight, "35.1667", "min", s2, e2),
            r(SleepRem, "5", "min", s2, e2),
        ]
    );
    let first = &page.samples[0];
    assert_eq!(
        (
            first.vendor_code.as_str(),
            first.vendor_record_id.as_deref()
        ),
        (
            "total_sleep_duration",
            Some("b7e2a9d0-1c44-4e8f-a0d2-6c9e3f1b7a11")
        )
    );
    assert_eq!(
        first
            .device
            .as_ref()
            .and_then(|d| d.vendor_device_id.as_deref()),
        Some("cmluZy0wMDA3LWJsYWNr")
    );
    assert_eq!(page.samples[4].vendor_code, "average_heart_rate");
    assert_eq!(page.samples[5].vendor_code, "average_hrv");
    assert_eq!(
        page.samples[6]
            .device
            .as_ref()
            .map(|d| d.vendor_device_id.clone()),
        Some(None)
    );
    assert_eq!(
        skipped(&page),
        [
            ("data[1].deep_sleep_duration", "null value"),
            ("data[1].average_heart_rate", "null value"),
            ("data[1].average_hrv", "null value"),
            ("data[2]", "sleep period deleted by the member"),
            ("data[3]", "rest period the member rejected as sleep"),
        ]
    );
    // The fifth period has no metrics at all: nothing, and nothing skipped.
    assert_eq!(page.next_cursor, None);
}

#[test]
fn heart_rate_pages_keep_utc_as_oura_sends_it() {
    let one = parse("heartrate", &fixture("heartrate_page1.json"));
    let two = parse("heartrate", &fixture("heartrate_page2.json"));
    assert_eq!(
        rows(&one),
        [
            r(HeartRate, "58", "/min", "2026-10-25T00:55:00+00:00", None),
            r(HeartRate, "57", "/min", "2026-10-25T01:00:00+00:00", None),
            r(HeartRate, "104", "/min", "2026-10-25T09:31:17+00:00", None),
            r(
                HeartRate,
                "66",
                "/min",
                "2026-10-25T12:00:00.250+00:00",
                None
            ),
        ]
    );
    assert_eq!(
        one.next_cursor.as_deref(),
        Some("eyJvZmZzZXQiOiA0LCAidHlwZSI6ICJoZWFydHJhdGUifQ")
    );
    assert!(one.samples.iter().all(|s| s.vendor_code == "heartrate"
        && s.vendor_record_id.is_none()
        && s.device.is_some()));
    assert_eq!(
        rows(&two),
        [r(
            HeartRate,
            "72",
            "/min",
            "2026-10-25T13:05:00+00:00",
            None
        )]
    );
    assert_eq!(skipped(&two), [("data[1].bpm", "null value")]);
    assert_eq!(two.next_cursor, None);
}

#[test]
fn spo2_without_a_timestamp_keeps_its_day_at_utc() {
    let page = parse("daily_spo2", &fixture("daily_spo2.json"));
    assert_eq!(
        rows(&page),
        [
            r(
                Spo2,
                "96.875",
                "%",
                "2026-07-14T00:00:00+00:00",
                Some("2026-07-15T00:00:00+00:00")
            ),
            r(
                Spo2,
                "100",
                "%",
                "2026-07-18T00:00:00+00:00",
                Some("2026-07-19T00:00:00+00:00")
            ),
        ]
    );
    assert_eq!(page.samples[0].vendor_code, "spo2_percentage");
    assert_eq!(
        skipped(&page),
        [
            ("data[1].spo2_percentage", "null value"),
            ("data[2].spo2_percentage.average", "null value"),
        ]
    );
    // A timestamp, should Oura add one, gives the offset.
    let body =
        br#"{"data": [{"id": "x", "day": "2026-07-14", "timestamp": "2026-07-14T04:00:00-04:00",
        "spo2_percentage": {"average": 95}}]}"#;
    let page = parse("daily_spo2", body);
    assert_eq!(
        page.samples[0].start.to_rfc3339(),
        "2026-07-14T00:00:00-04:00"
    );
}

#[test]
fn temperature_comes_from_daily_readiness_across_the_eu_fall_back() {
    let page = parse("temperature", &fixture("daily_readiness.json"));
    assert_eq!(
        rows(&page),
        [
            r(
                SkinTemperatureDeviation,
                "0.41",
                "Cel",
                "2026-10-24T00:00:00+02:00",
                Some("2026-10-25T00:00:00+02:00")
            ),
            // The clocks went back at 03:00 on the 25th: the record's 04:00 offset
            // is CET, which is right for the end; the day is the 25th either way.
            r(
                SkinTemperatureDeviation,
                "-0.23",
                "Cel",
                "2026-10-25T00:00:00+01:00",
                Some("2026-10-26T00:00:00+01:00")
            ),
        ]
    );
    assert_eq!(page.samples[1].vendor_code, "temperature_deviation");
    assert_eq!(
        skipped(&page),
        [("data[2].temperature_deviation", "null value")]
    );
}

#[test]
fn workouts_take_their_duration_from_the_real_span() {
    let page = parse("workout", &fixture("workout.json"));
    assert_eq!(page.samples.len(), 3);
    let run = &page.samples[0];
    let w = workout_of(run);
    assert_eq!(
        (run.metric, run.vendor_code.as_str(), w.activity.as_str()),
        (Workout, "workout", "running")
    );
    // 07:02:11.500 to 07:58:43 is 56 min 31.5 s.
    assert_eq!(
        (w.duration.value.as_str(), w.duration.unit.as_str()),
        ("56.525", "min")
    );
    let q = |q: &Option<crate::Quantity>| q.as_ref().map(|q| (q.value.clone(), q.unit.clone()));
    assert_eq!(q(&w.energy), Some(("712.3".into(), "kcal".into())));
    assert_eq!(q(&w.distance), Some(("10234.5".into(), "m".into())));
    assert_eq!(run.start.to_rfc3339(), "2026-05-03T07:02:11.500+02:00");
    assert_eq!(
        run.end.map(|e| e.to_rfc3339()).as_deref(),
        Some("2026-05-03T07:58:43+02:00")
    );
    assert!(run.device.is_some());

    let yoga = &page.samples[1];
    let w = workout_of(yoga);
    assert_eq!(
        (w.activity.as_str(), w.duration.value.as_str()),
        ("yoga", "60")
    );
    assert_eq!((w.energy.clone(), w.distance.clone()), (None, None));
    // Typed in by the member: no device measured it.
    assert_eq!(yoga.device, None);

    // 02:30 CEST to 02:10 CET on the night the clocks go back: 40 minutes.
    let ride = &page.samples[2];
    let w = workout_of(ride);
    assert_eq!(
        (w.activity.as_str(), w.duration.value.as_str()),
        ("cycling", "40")
    );
    assert_eq!(q(&w.energy), Some(("301".into(), "kcal".into())));
    assert_eq!(ride.start.to_rfc3339(), "2026-10-25T02:30:00+02:00");
    assert_eq!(
        ride.vendor_record_id.as_deref(),
        Some("7f3e2d1c-0b9a-4877-9665-544332211a03")
    );
    assert_eq!(
        skipped(&page),
        [("data[3]", "does not end after it starts")]
    );
}

#[test]
fn an_empty_list_is_a_valid_empty_page() {
    for id in type_ids() {
        for body in [
            &br#"{"data": [], "next_token": null}"#[..],
            br#"{"data": []}"#,
            br#"{"data": [], "next_token": ""}"#,
        ] {
            assert_eq!(parse(id, body), Page::default(), "{id}");
        }
    }
}

#[test]
fn exponents_become_plain_decimals_exactly() {
    let body =
        br#"{"data": [{"id": "r", "day": "2026-10-24", "timestamp": "2026-10-24T04:00:00+02:00",
        "temperature_deviation": -2.5e-2}]}"#;
    let page = parse("temperature", body);
    assert_eq!(page.samples[0].quantity().unwrap().value, "-0.025");
}
