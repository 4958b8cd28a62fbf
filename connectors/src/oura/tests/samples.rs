//! Every Oura sample in `shared/vendor-samples/oura-v2-synthetic` (synthetic
//! payloads in the real v2 shape), with values checked by hand against the files.
//! The folder has no EXPECTED.md.
//!
//! Not mapped, so not parsed here: `daily_sleep.json` (scores only), `daily_stress.json`
//! (seconds in high stress/recovery: no metric in the mapping), `session.json`
//! (guided sessions; their heart-rate series are null in the sample), and
//! `enhanced_tag.json` (free-text tags, with local times without an offset).

use super::*;
use Metric::*;

fn sample(name: &str) -> Vec<u8> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/vendor-samples/oura-v2-synthetic/"
    );
    let path = format!("{path}{name}");
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The sample files and the data type each is served as.
pub(super) const FILES: [(&str, &str); 7] = [
    ("daily_activity.json", "daily_activity"),
    ("daily_readiness.json", "temperature"),
    ("daily_spo2.json", "daily_spo2"),
    ("heartrate.json", "heartrate"),
    ("sleep_page1.json", "sleep"),
    ("sleep_page2.json", "sleep"),
    ("workout.json", "workout"),
];

pub(super) fn all() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    FILES
        .iter()
        .map(|(file, data_type)| (*file, *data_type, sample(file)))
        .collect()
}

const DAY10: (&str, Option<&str>) = (
    "2026-08-10T00:00:00+00:00",
    Some("2026-08-11T00:00:00+00:00"),
);
const DAY11: (&str, Option<&str>) = (
    "2026-08-11T00:00:00+00:00",
    Some("2026-08-12T00:00:00+00:00"),
);

#[test]
fn daily_activity_sample() {
    let page = parse("daily_activity", &sample("daily_activity.json"));
    assert_eq!(
        rows(&page),
        [
            r(StepsDaily, "8342", "/d", DAY10.0, DAY10.1),
            r(ActiveEnergy, "410", "kcal", DAY10.0, DAY10.1),
            r(EnergyBurnedDaily, "2510", "kcal/d", DAY10.0, DAY10.1),
            r(StepsDaily, "5210", "/d", DAY11.0, DAY11.1),
            r(ActiveEnergy, "260", "kcal", DAY11.0, DAY11.1),
            r(EnergyBurnedDaily, "2290", "kcal/d", DAY11.0, DAY11.1),
        ]
    );
    assert_eq!(
        page.samples[5].vendor_record_id.as_deref(),
        Some("aaaaaaaa-0001-4000-8000-000000000002")
    );
    assert_eq!((page.next_cursor, page.skipped), (None, vec![]));
}

#[test]
fn daily_readiness_sample_as_temperature() {
    let page = parse("temperature", &sample("daily_readiness.json"));
    assert_eq!(
        rows(&page),
        [
            r(SkinTemperatureDeviation, "-0.1", "Cel", DAY10.0, DAY10.1),
            r(SkinTemperatureDeviation, "0.6", "Cel", DAY11.0, DAY11.1),
        ]
    );
    assert_eq!(
        page.samples[0].vendor_record_id.as_deref(),
        Some("bbbbbbbb-0002-4000-8000-000000000001")
    );
}

#[test]
fn daily_spo2_sample() {
    let page = parse("daily_spo2", &sample("daily_spo2.json"));
    assert_eq!(
        rows(&page),
        [
            r(Spo2, "97.2", "%", DAY10.0, DAY10.1),
            r(Spo2, "95.8", "%", DAY11.0, DAY11.1),
        ]
    );
    assert_eq!(
        page.samples[1].vendor_record_id.as_deref(),
        Some("22222222-0008-4000-8000-000000000002")
    );
}

#[test]
fn heartrate_sample_keeps_its_offsets_and_ignores_timestamp_unix() {
    // SOURCES.md: `timestamp_unix` in this file is in seconds and a day off; the
    // `timestamp` text is what counts.
    let page = parse("heartrate", &sample("heartrate.json"));
    let got: Vec<(String, String)> = page
        .samples
        .iter()
        .map(|s| (s.quantity().unwrap().value.clone(), s.start.to_rfc3339()))
        .collect();
    let want: Vec<(String, String)> = [
        ("48", "2026-08-10T02:00:00-07:00"),
        ("46", "2026-08-10T02:05:00-07:00"),
        ("62", "2026-08-10T07:30:00-07:00"),
        ("70", "2026-08-10T08:00:00-07:00"),
        ("128", "2026-08-10T17:10:00-07:00"),
        ("52", "2026-08-11T03:00:00-07:00"),
        ("66", "2026-08-11T09:00:00-07:00"),
    ]
    .iter()
    .map(|(v, t)| (v.to_string(), t.to_string()))
    .collect();
    assert_eq!(got, want);
    assert!(page
        .samples
        .iter()
        .all(|s| s.metric == HeartRate && s.end.is_none() && s.quantity().unwrap().unit == "/min"));
    assert_eq!(page.next_cursor, None);
}

#[test]
fn sleep_sample_pages() {
    let one = parse("sleep", &sample("sleep_page1.json"));
    let (s, e) = (
        "2026-08-09T23:14:02-07:00",
        Some("2026-08-10T07:04:02-07:00"),
    );
    assert_eq!(
        rows(&one),
        [
            // 27000 s, 5400 s, 15300 s, 6300 s
            r(SleepDuration, "450", "min", s, e),
            r(SleepDeep, "90", "min", s, e),
            r(SleepLight, "255", "min", s, e),
            r(SleepRem, "105", "min", s, e),
            r(HeartRate, "54.0", "/min", s, e),
            r(HrvRmssd, "42", "ms", s, e),
        ]
    );
    assert_eq!(one.next_cursor.as_deref(), Some("eyJwYWdlIjoxfQ=="));
    assert_eq!(
        one.samples[0].vendor_record_id.as_deref(),
        Some("dddddddd-0004-4000-8000-000000000001")
    );

    let two = parse("sleep", &sample("sleep_page2.json"));
    let (s, e) = (
        "2026-08-10T23:40:15-07:00",
        Some("2026-08-11T06:55:15-07:00"),
    );
    assert_eq!(
        rows(&two),
        [
            // 24300 s, 4500 s, 14700 s, 5100 s
            r(SleepDuration, "405", "min", s, e),
            r(SleepDeep, "75", "min", s, e),
            r(SleepLight, "245", "min", s, e),
            r(SleepRem, "85", "min", s, e),
            r(HeartRate, "58.5", "/min", s, e),
            r(HrvRmssd, "36", "ms", s, e),
        ]
    );
    assert_eq!(two.next_cursor, None);
}

#[test]
fn workout_sample() {
    let page = parse("workout", &sample("workout.json"));
    assert_eq!(page.samples.len(), 2);
    let ride = &page.samples[0];
    let w = workout_of(ride);
    // 17:02 to 18:11 is 69 minutes.
    assert_eq!(
        (
            w.activity.as_str(),
            w.duration.value.as_str(),
            w.duration.unit.as_str()
        ),
        ("cycling", "69", "min")
    );
    assert_eq!(
        w.energy
            .as_ref()
            .map(|q| (q.value.as_str(), q.unit.as_str())),
        Some(("480.0", "kcal"))
    );
    assert_eq!(
        w.distance
            .as_ref()
            .map(|q| (q.value.as_str(), q.unit.as_str())),
        Some(("18500.0", "m"))
    );
    assert_eq!(ride.start.to_rfc3339(), "2026-08-10T17:02:00-07:00");
    assert_eq!(
        ride.end.map(|t| t.to_rfc3339()).as_deref(),
        Some("2026-08-10T18:11:00-07:00")
    );
    assert!(ride.device.is_some());

    let lift = &page.samples[1];
    let w = workout_of(lift);
    assert_eq!(
        (w.activity.as_str(), w.duration.value.as_str()),
        ("strength_training", "40")
    );
    assert_eq!(w.energy.as_ref().map(|q| q.value.as_str()), Some("220.0"));
    assert_eq!(w.distance, None);
    // `source: manual`: typed in, no device.
    assert_eq!(lift.device, None);
    assert_eq!(
        lift.vendor_record_id.as_deref(),
        Some("eeeeeeee-0005-4000-8000-000000000002")
    );
}
