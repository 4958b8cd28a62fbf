//! The project's own Garmin fixtures (connectors/fixtures/garmin), every value
//! checked by hand.

use super::*;

#[test]
fn dailies_cover_the_local_day_across_both_clock_changes() {
    let page = parse("dailies", &fixture("dailies-pull.json"));
    let day1 = "2026-03-28T00:00:00+01:00..2026-03-29T00:00:00+01:00 #x4d2a9c1-69c70a70-15180";
    // Spring forward in Berlin: a 23-hour day ending at +02:00.
    let day2 = "2026-03-29T00:00:00+01:00..2026-03-30T00:00:00+02:00 #x4d2a9c1-69c85bf0-14370";
    // Fall back: a 25-hour day ending at +01:00.
    let day3 = "2026-10-25T00:00:00+02:00..2026-10-26T00:00:00+01:00 #x4d2a9c1-6a1c4be0-15f90";
    // No calendarDate, and a day still in progress: the local day from its start.
    let day4 = "2026-11-20T00:00:00-05:00..2026-11-21T00:00:00-05:00 #x9e07b55-6a1f5a50-a1b8";
    assert_eq!(
        lines(&page),
        [
            format!("steps_daily 10234 /d {day1}"),
            format!("distance 7803.12 m {day1}"),
            format!("active_energy 512 kcal {day1}"),
            format!("resting_heart_rate_daily 58 /min {day1}"),
            format!("max_heart_rate24h 151 /min {day1}"),
            format!("steps_daily 4012 /d {day2}"),
            format!("distance 2987.5 m {day2}"),
            format!("active_energy 201 kcal {day2}"),
            format!("max_heart_rate24h 122 /min {day2}"),
            format!("steps_daily 6120 /d {day3}"),
            format!("distance 4480.0 m {day3}"),
            format!("active_energy 0 kcal {day3}"),
            format!("resting_heart_rate_daily 61 /min {day3}"),
            format!("max_heart_rate24h 133 /min {day3}"),
            format!("steps_daily 2210 /d {day4}"),
            format!("active_energy 88 kcal {day4}"),
            format!("resting_heart_rate_daily 55 /min {day4}"),
        ]
    );
    assert_eq!(
        skipped(&page),
        [("$[1].restingHeartRateInBeatsPerMinute", "null value")]
    );
    let codes: Vec<&str> = page.samples[..5]
        .iter()
        .map(|s| s.vendor_code.as_str())
        .collect();
    assert_eq!(
        codes,
        [
            "steps",
            "distanceInMeters",
            "activeKilocalories",
            "restingHeartRateInBeatsPerMinute",
            "maxHeartRateInBeatsPerMinute"
        ]
    );
    assert!(page.samples.iter().all(|s| s.device.is_none()));
    assert_eq!(page.next_cursor, None);
}

#[test]
fn sleep_counts_time_asleep_and_its_stages_in_minutes() {
    let page = parse("sleeps", &fixture("sleeps-pull.json"));
    // The first night spans the spring-forward change; its times keep the offset
    // Garmin sent for its start (the instant is what counts).
    let night1 = "2026-03-28T23:12:30+01:00..2026-03-29T06:45:30+01:00 #x4d2a9c1-69c84f4e-6a2c";
    let night2 = "2026-11-20T22:47:00+05:30..2026-11-21T05:48:00+05:30 #x1c88f03-6a1fb08c-62ac";
    assert_eq!(
        lines(&page),
        [
            // 27180 s in bed less 1260 s awake = 25920 s.
            format!("sleep_duration 432 min {night1}"),
            format!("sleep_deep 90 min {night1}"),
            format!("sleep_light 237 min {night1}"),
            format!("sleep_rem 105 min {night1}"),
            // 25260 s less 2880 awake and 3000 unmeasurable = 19380 s.
            format!("sleep_duration 323 min {night2}"),
            format!("sleep_deep 67 min {night2}"),
            format!("sleep_light 256 min {night2}"),
        ]
    );
    assert_eq!(
        skipped(&page),
        [(
            "$[1].remSleepInSeconds",
            "zero stage: the device may not measure it"
        )]
    );
    let codes: Vec<&str> = page.samples[..4]
        .iter()
        .map(|s| s.vendor_code.as_str())
        .collect();
    assert_eq!(
        codes,
        [
            "durationInSeconds",
            "deepSleepDurationInSeconds",
            "lightSleepDurationInSeconds",
            "remSleepInSeconds"
        ]
    );
}

#[test]
fn body_composition_gives_kilograms_exactly_from_a_push_body() {
    let page = parse("body_compositions", &fixture("body-comps-push.json"));
    let first = "2026-11-20T07:14:09+01:00.. #xb4c1e0d-6a1f3b31";
    assert_eq!(
        lines(&page),
        [
            format!("body_weight 72.45 kg {first}"),
            format!("bmi 23.65 kg/m2 {first}"),
            format!("body_fat 18.25 % {first}"),
            "body_weight 80 kg 2026-11-21T08:02:00-08:00.. #xb4c1e0d-6a210f78".to_owned(),
        ]
    );
    assert_eq!(
        skipped(&page),
        [("bodyComps[1].bodyFatInPercent", "null value")]
    );
}

#[test]
fn spo2_and_respiration_give_one_sample_per_reading_at_its_time() {
    let page = parse("pulse_ox", &fixture("pulse-ox-pull.json"));
    assert_eq!(
        lines(&page),
        [
            "spo2 96 % 2026-11-20T01:00:00+01:00.. #x4d2a9c1-6a1f0480-1068:0",
            "spo2 95 % 2026-11-20T01:01:00+01:00.. #x4d2a9c1-6a1f0480-1068:60",
            "spo2 97 % 2026-11-20T02:00:00+01:00.. #x4d2a9c1-6a1f0480-1068:3600",
        ]
    );
    assert_eq!(
        skipped(&page),
        [("$[0].timeOffsetSpo2Values.120", "zero value")]
    );
    assert_eq!(page.samples[0].vendor_code, "timeOffsetSpo2Values");

    let page = parse("respiration", &fixture("respiration-pull.json"));
    assert_eq!(
        lines(&page),
        [
            "respiratory_rate 13.5 /min 2026-11-20T02:10:00+01:00.. #x4d2a9c1-6a1f14e8:0",
            "respiratory_rate 13.75 /min 2026-11-20T02:11:00+01:00.. #x4d2a9c1-6a1f14e8:60",
            "respiratory_rate 14.00 /min 2026-11-20T02:12:00+01:00.. #x4d2a9c1-6a1f14e8:120",
        ]
    );
    assert_eq!(
        skipped(&page),
        [("$[0].timeOffsetEpochToBreaths.840", "null value")]
    );
}

#[test]
fn hrv_is_the_nights_rmssd_over_the_night() {
    let page = parse("hrv", &fixture("hrv-pull.json"));
    assert_eq!(
        lines(&page),
        ["hrv_rmssd 52 ms 2026-11-19T23:40:00+09:00..2026-11-20T06:30:00+09:00 #x77ab310-6a1e8e40"]
    );
    assert_eq!(page.samples[0].vendor_code, "lastNightAvg");
}

#[test]
fn blood_pressure_needs_both_halves_and_keeps_the_pulse() {
    let page = parse("blood_pressures", &fixture("blood-pressures-pull.json"));
    assert_eq!(
        lines(&page),
        [
            "blood_pressure 128/82 mm[Hg] 2026-11-20T06:58:00+01:00.. #x4d2a9c1-6a1f3668",
            "heart_rate 71 /min 2026-11-20T06:58:00+01:00.. #x4d2a9c1-6a1f3668",
            "heart_rate 88 /min 2026-11-20T12:00:00-05:00.. #x9e07b55-6a1f5a50",
        ]
    );
    assert_eq!(skipped(&page), [("$[1]", "systolic or diastolic missing")]);
}

#[test]
fn activities_are_workouts_with_their_device() {
    let page = parse("activities", &fixture("activities-pull.json"));
    assert_eq!(
        lines(&page),
        [
            "workout RUNNING 45.2 min 604 kcal 8012.35 m 2026-11-20T07:00:00-05:00..2026-11-20T07:45:12-05:00 #21456789012 [Garmin/Forerunner 965]",
            "workout YOGA 60 min 180 kcal - 2026-11-20T18:05:00+00:00..2026-11-20T19:05:00+00:00 #21456790555",
        ]
    );
    assert_eq!(page.samples[0].vendor_code, "activities");
    assert!(page.skipped.is_empty());
    // Without a summary id, the activity id names the record, as number or text.
    for (id, want) in [("21456790555", "21456790555"), ("\"a-17\"", "a-17")] {
        let body = format!(
            r#"[{{"activityId": {id}, "activityType": "YOGA", "startTimeInSeconds": 0,
                "startTimeOffsetInSeconds": 0, "durationInSeconds": 60}}]"#
        );
        let page = parse("activities", body.as_bytes());
        assert_eq!(page.samples[0].vendor_record_id.as_deref(), Some(want));
    }
}

#[test]
fn an_empty_pull_or_push_list_is_an_empty_page() {
    for id in ["dailies", "sleeps", "activities"] {
        assert_eq!(parse(id, b"[]"), Page::default());
        assert_eq!(parse(id, b" [ ] "), Page::default());
    }
    assert_eq!(parse("pulse_ox", br#"{"pulseOx": []}"#), Page::default());
    assert_eq!(
        parse("respiration", br#"{"respiration": [], "other": 1}"#),
        Page::default()
    );
}
