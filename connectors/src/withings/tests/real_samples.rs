//! Every real Withings payload in the shared samples that belongs to a data type
//! of this connector, with values checked by hand (and the values Shimmer's tests
//! assert, from `withings-legacy/EXPECTED.md`).

use super::*;

/// Every shared sample this connector reads, with its data type.
pub(super) const READ: [(&str, &str); 15] = [
    ("withings/activity.json", "activity"),
    ("withings/get_meas.json", "body_measures"),
    ("withings/get_meas_1.json", "body_measures"),
    ("withings/measurements.json", "body_measures"),
    ("withings/measurements_1.json", "body_measures"),
    ("withings/get_sleep.json", "sleep_summary"),
    ("withings/sleep_summaries.json", "sleep_summary"),
    ("withings-aiowithings/activity.json", "activity"),
    ("withings-aiowithings/measurement.json", "body_measures"),
    (
        "withings-aiowithings/measurement_list_2.json",
        "body_measures",
    ),
    (
        "withings-aiowithings/measurement_positions.json",
        "body_measures",
    ),
    (
        "withings-legacy/withings-activity-measures.json",
        "activity",
    ),
    (
        "withings-legacy/withings-body-measures-only-goal.json",
        "body_measures",
    ),
    (
        "withings-legacy/withings-body-measures.json",
        "body_measures",
    ),
    (
        "withings-legacy/withings-sleep-summary.json",
        "sleep_summary",
    ),
];

/// The shared samples of other Withings services (devices, goals, notification
/// lists, workouts, intraday activity, sleep segments): no data type reads them.
pub(super) const NOT_READ: [&str; 22] = [
    "withings/devices.json",
    "withings/get_device.json",
    "withings/person0_get_device.json",
    "withings/goals.json",
    "withings/goals_1.json",
    "withings/notifications.json",
    "withings/notify_list.json",
    "withings/person0_notify_list.json",
    "withings/workouts.json",
    "withings-aiowithings/device.json",
    "withings-aiowithings/new_device.json",
    "withings-aiowithings/goals.json",
    "withings-aiowithings/goals_1.json",
    "withings-aiowithings/goals_2.json",
    "withings-aiowithings/no_goals.json",
    "withings-aiowithings/notify_list.json",
    "withings-aiowithings/notify_revoke.json",
    "withings-aiowithings/notify_subscribe.json",
    "withings-aiowithings/sleep_no_datafields.json",
    "withings-aiowithings/workouts.json",
    "withings-legacy/withings-intraday-activity.json",
    "withings-legacy/withings-sleep-measures.json",
];

#[test]
fn home_assistant_activity_days_keep_their_decimals_and_cest_days() {
    let page = parse("activity", &real("withings/activity.json"));
    assert_eq!(page.samples.len(), 14 * 4);
    let first = lines(&page)[..4].to_vec();
    let at = "@ 2023-10-08T00:00:00+02:00 .. 2023-10-09T00:00:00+02:00 #2023-10-08";
    assert_eq!(
        first,
        [
            format!("steps_daily steps 1892 /d {at}"),
            format!("distance distance 1607.93 m {at}"),
            format!("active_energy calories 204.796 kcal {at}"),
            format!("energy_burned_daily totalcalories 2454.481 kcal/d {at}"),
        ]
    );
    let steps: Vec<&str> = of(&page, Metric::StepsDaily)
        .iter()
        .filter_map(|s| Some(s.quantity()?.value.as_str()))
        .collect();
    assert_eq!(
        steps,
        [
            "1892", "2576", "1827", "3801", "2501", "6787", "1232", "851", "654", "566", "2204",
            "95", "1209", "1155"
        ]
    );
    let last = page.samples.last().unwrap();
    assert_eq!(line(last), "energy_burned_daily totalcalories 2444.149 kcal/d @ 2023-10-21T00:00:00+02:00 .. 2023-10-22T00:00:00+02:00 #2023-10-21");
    // Imported from Google Fit (brand 18): not a Withings device.
    assert_eq!(last.device, device(None, Some("GoogleFit tracker"), None));
    assert_eq!((page.next_cursor.as_deref(), page.skipped.len()), (None, 0));
}

#[test]
fn home_assistant_measure_groups() {
    // The bare body: timezone "UTC", three groups, the third one ambiguous.
    let page = parse("body_measures", &real("withings/get_meas.json"));
    let at = "@ 2019-08-01T12:00:00+00:00 #1";
    assert_eq!(
        lines(&page)[..8].to_vec(),
        [
            format!("body_weight meastype:1 70 kg {at}"),
            format!("body_height meastype:4 200 cm {at}"),
            format!("body_temperature meastype:12 40 Cel {at}:12"),
            format!("body_temperature meastype:71 40 Cel {at}"),
            // Fat ratio 70 × 10^-3 and SpO2 95 × 10^-2, as the (hand-written) test data says.
            format!("body_fat meastype:6 0.070 % {at}"),
            format!("heart_rate meastype:11 60 /min {at}"),
            format!("spo2 meastype:54 0.95 % {at}"),
            format!("blood_pressure meastype:9,10 100/70 mm[Hg] {at}"),
        ]
    );
    assert_eq!(page.samples.len(), 16);
    assert_eq!(
        page.samples[8].start.to_rfc3339(),
        "2019-08-01T11:00:00+00:00"
    );
    assert_eq!(page.samples[8].quantity().unwrap().value, "71");
    assert_eq!(
        page.samples[0].device,
        device(Some("Withings"), None, Some("DEV_ID"))
    );
    assert!(skipped(&page)
        .contains(&"measuregrps[2]: ambiguous: it may be another person's measurement".to_owned()));
    assert!(skipped(&page).contains(
        &"measuregrps[0].measures[8]: skin temperature is absolute, not a deviation from baseline"
            .to_owned()
    ));
    assert_eq!(page.skipped.len(), 15);

    // Bare lists of groups carry no zone: the instants stay exact, in UTC.
    for (file, samples, skips) in [
        ("withings/get_meas_1.json", 8, 7),
        ("withings/measurements.json", 16, 23),
        ("withings/measurements_1.json", 8, 6),
    ] {
        let page = parse("body_measures", &real(file));
        assert_eq!(
            (page.samples.len(), page.skipped.len()),
            (samples, skips),
            "{file}"
        );
        assert!(
            page.samples
                .iter()
                .all(|s| s.start.offset().local_minus_utc() == 0),
            "{file}"
        );
        let bp = of(&page, Metric::BloodPressure);
        assert_eq!(
            line(bp[0]).split(" @ ").next(),
            Some("blood_pressure meastype:9,10 100/70 mm[Hg]"),
            "{file}"
        );
        let dev = "91a7e556c2022ef54dca6e07a853c3193734d148";
        assert_eq!(
            bp[0].device,
            device(Some("Withings"), Some("BPM Connect"), Some(dev)),
            "{file}"
        );
    }
    let page = parse("body_measures", &real("withings/measurements_1.json"));
    assert_eq!(
        page.samples[0].start.to_rfc3339(),
        "2021-04-16T20:30:55+00:00"
    );
}

#[test]
fn home_assistant_sleep_summaries_in_paris_summer_time() {
    let page = parse("sleep_summary", &real("withings/get_sleep.json"));
    let at = "@ 2021-04-17T22:30:53+02:00 .. 2021-04-18T04:32:53+02:00 #2081804182";
    assert_eq!(
        lines(&page)[..5].to_vec(),
        [
            // 18660 s; 5820, 10440, 2400 s.
            format!("sleep_duration total_sleep_time 311 min {at}"),
            format!("sleep_deep deepsleepduration 97 min {at}"),
            format!("sleep_light lightsleepduration 174 min {at}"),
            format!("sleep_rem remsleepduration 40 min {at}"),
            format!("heart_rate hr_average 103 /min {at}"),
        ]
    );
    let totals: Vec<&str> = of(&page, Metric::SleepDuration)
        .iter()
        .filter_map(|s| Some(s.quantity()?.value.as_str()))
        .collect();
    assert_eq!(totals, ["311", "448", "281", "281", "378"]);
    let last = &page.samples[20];
    assert_eq!(last.start.to_rfc3339(), "2021-04-13T22:30:05+02:00");
    assert_eq!(last.end.unwrap().to_rfc3339(), "2021-04-14T06:11:44+02:00");
    let sensor = "201d0b9a0556d6b755166b2cf8d22d3bdf0487ee";
    assert_eq!(
        last.device,
        device(Some("Withings"), Some("Aura Sensor V2"), Some(sensor))
    );
    assert_eq!((page.next_cursor.as_deref(), page.skipped.len()), (None, 0));

    // The same five nights as a bare list, in another order.
    let mut listed = lines(&parse(
        "sleep_summary",
        &real("withings/sleep_summaries.json"),
    ));
    let mut answered = lines(&page);
    listed.sort();
    answered.sort();
    assert_eq!(listed, answered);
}

#[test]
fn aiowithings_answers() {
    let page = parse("activity", &real("withings-aiowithings/activity.json"));
    assert_eq!(
        lines(&page)[0],
        "steps_daily steps 1209 /d @ 2023-10-20T00:00:00+02:00 .. 2023-10-21T00:00:00+02:00 #2023-10-20"
    );
    assert_eq!(page.samples[6].quantity().unwrap().value, "134.132");
    assert_eq!(page.samples.len(), 8);
    // `more: false` ends the paging whatever the offset says.
    assert_eq!(page.next_cursor, None);

    // One weighing reported twice (attrib 0 and 8, "same as 0"): one group id,
    // so both samples are one record.
    let page = parse(
        "body_measures",
        &real("withings-aiowithings/measurement.json"),
    );
    assert_eq!(
        lines(&page),
        ["body_weight meastype:1 118.003 kg @ 2023-09-02T12:39:11+02:00 #4815757309"; 2]
    );
    let scale = "f998be4b9ccc9e136fd8cd8e8e344c31ec3b271d";
    assert_eq!(
        page.samples[0].device,
        device(Some("Withings"), Some("Body+"), Some(scale))
    );

    let page = parse(
        "body_measures",
        &real("withings-aiowithings/measurement_list_2.json"),
    );
    let count = |m| of(&page, m).len();
    assert_eq!(
        (
            count(Metric::BodyWeight),
            count(Metric::BodyFat),
            count(Metric::HeartRate)
        ),
        (17, 14, 8)
    );
    assert_eq!((page.samples.len(), page.skipped.len()), (39, 394));
    assert_eq!(
        line(&page.samples[0]),
        "heart_rate meastype:11 120 /min @ 2023-12-25T17:04:23+00:00 #5109691092"
    );
    assert_eq!(
        line(&page.samples[1]),
        "body_weight meastype:1 95.817 kg @ 2023-12-25T17:04:23+00:00 #5109691080"
    );
    assert_eq!(
        page.samples[0]
            .device
            .as_ref()
            .and_then(|d| d.model.as_deref()),
        Some("Body Scan")
    );

    // Whole-body measures (position 7) and per-segment ones (12 torso, 10 left
    // leg, 3 left arm, 11 right leg, 2 right arm) of types Tributary does not map.
    let page = parse(
        "body_measures",
        &real("withings-aiowithings/measurement_positions.json"),
    );
    assert_eq!(
        lines(&page),
        [
            "body_weight meastype:1 95.854 kg @ 2024-01-09T03:08:39+00:00 #5149666502",
            "body_fat meastype:6 19.467 % @ 2024-01-09T03:08:39+00:00 #5149666502",
            "body_weight meastype:1 96.440 kg @ 2024-01-11T02:05:44+00:00 #5156052100",
            "body_fat meastype:6 18.457 % @ 2024-01-11T02:05:44+00:00 #5156052100",
        ]
    );
    assert_eq!(page.skipped.len(), 52);
}

#[test]
fn shimmer_body_measures_as_expected_md_states() {
    let page = parse(
        "body_measures",
        &real("withings-legacy/withings-body-measures.json"),
    );
    assert_eq!(
        lines(&page),
        [
            // 2015-05-31T06:06:23Z, shown in Los Angeles summer time.
            "heart_rate meastype:11 41 /min @ 2015-05-30T23:06:23-07:00 #366956482",
            "body_weight meastype:1 74.126 kg @ 2015-05-30T23:06:23-07:00 #366956482",
            "blood_pressure meastype:9,10 104/68 mm[Hg] @ 2015-05-30T23:06:23-07:00 #366956482",
            "body_weight meastype:1 74.128 kg @ 2015-04-20T10:13:56-07:00 #347186704",
            "heart_rate meastype:11 51 /min @ 2015-03-02T08:28:55-08:00 #323560022",
            "heart_rate meastype:11 47 /min @ 2015-02-26T13:57:17-08:00 #321858727",
            // 1930 × 10^-3 m = 193.0 cm.
            "body_height meastype:4 193.0 cm @ 2015-02-23T11:24:49-08:00 #320419189",
            "body_temperature meastype:71 37 Cel @ 2015-02-23T11:24:49-08:00 #320419189",
        ]
    );
    let utc: Vec<String> = page
        .samples
        .iter()
        .map(|s| s.start.with_timezone(&chrono::Utc).to_rfc3339())
        .collect();
    assert_eq!(utc[1], "2015-05-31T06:06:23+00:00");
    assert_eq!(utc[3], "2015-04-20T17:13:56+00:00");
    assert_eq!(utc[5], "2015-02-26T21:57:17+00:00");
    assert_eq!(utc[6], "2015-02-23T19:24:49+00:00");
    // Meastype 18 (value -1000 × 10^-3) is not mapped.
    assert_eq!(
        skipped(&page),
        [
            "body.measuregrps[0].measures[3]: a measure type Tributary does not map",
            "body.measuregrps[2].measures[1]: a measure type Tributary does not map",
            "body.measuregrps[3].measures[1]: a measure type Tributary does not map",
        ]
    );
    assert!(page.samples.iter().all(|s| s.device.is_none()));

    let goal = parse(
        "body_measures",
        &real("withings-legacy/withings-body-measures-only-goal.json"),
    );
    assert_eq!(goal.samples, []);
    assert_eq!(
        skipped(&goal),
        ["body.measuregrps[0]: a goal, not a measurement"]
    );
}

#[test]
fn shimmer_activity_days_as_expected_md_states() {
    let page = parse(
        "activity",
        &real("withings-legacy/withings-activity-measures.json"),
    );
    let days: Vec<(String, String, String, String)> = of(&page, Metric::StepsDaily)
        .iter()
        .zip(of(&page, Metric::ActiveEnergy))
        .map(|(steps, calories)| {
            assert_eq!((steps.start, steps.end), (calories.start, calories.end));
            (
                steps.quantity().unwrap().value.clone(),
                calories.quantity().unwrap().value.clone(),
                steps.start.to_rfc3339(),
                steps.end.unwrap().to_rfc3339(),
            )
        })
        .collect();
    let day = |steps: &str, kcal: &str, start: &str, end: &str| {
        (
            steps.to_owned(),
            kcal.to_owned(),
            start.to_owned(),
            end.to_owned(),
        )
    };
    assert_eq!(
        days,
        [
            day(
                "2934",
                "139",
                "2015-06-18T00:00:00-07:00",
                "2015-06-19T00:00:00-07:00"
            ),
            day(
                "2600",
                "130",
                "2015-06-19T00:00:00-07:00",
                "2015-06-20T00:00:00-07:00"
            ),
            day(
                "5458",
                "241",
                "2015-06-20T00:00:00-07:00",
                "2015-06-21T00:00:00-07:00"
            ),
            // February: Pacific standard time.
            day(
                "1798",
                "99",
                "2015-02-21T00:00:00-08:00",
                "2015-02-22T00:00:00-08:00"
            ),
        ]
    );
    // Withings' `calories` are active calories (the API reference), so they are
    // active energy over the day; these old answers have no `totalcalories`.
    assert_eq!(of(&page, Metric::EnergyBurnedDaily).len(), 0);
    assert_eq!(
        of(&page, Metric::Distance)[0].quantity().unwrap().value,
        "2563"
    );
    assert_eq!(page.samples.len(), 12);
}

#[test]
fn shimmer_sleep_summaries_as_expected_md_states() {
    let page = parse(
        "sleep_summary",
        &real("withings-legacy/withings-sleep-summary.json"),
    );
    let first = "@ 2017-09-02T00:15:00+01:00 .. 2017-09-02T03:25:00+01:00 #123";
    let second = "@ 2017-09-03T23:19:00+01:00 .. 2017-09-04T08:19:00+01:00 #124";
    assert_eq!(
        lines(&page),
        [
            // Light 3360 s + deep 7800 s (no REM) = 11160 s = 186 min.
            format!("sleep_duration total_sleep_time 186 min {first}"),
            format!("sleep_deep deepsleepduration 130 min {first}"),
            format!("sleep_light lightsleepduration 56 min {first}"),
            format!("sleep_duration total_sleep_time 495 min {second}"),
            format!("sleep_deep deepsleepduration 230 min {second}"),
            format!("sleep_light lightsleepduration 265 min {second}"),
        ]
    );
    // Model 16 ("activity tracker") names no model: no device.
    assert!(page.samples.iter().all(|s| s.device.is_none()));
}

#[test]
fn every_shared_sample_parses_or_fails_cleanly_as_every_type() {
    let w = withings();
    for (file, data_type) in READ {
        let page = w.parse(&dt(data_type), &real(file));
        assert!(page.is_ok(), "{file}: {:?}", page.err());
    }
    // Payloads of other services are not data of ours: an error naming a field,
    // or at most records read as such; never a panic.
    for file in NOT_READ.iter().chain(READ.iter().map(|(f, _)| f)) {
        let body = real(file);
        for data_type in ["body_measures", "activity", "sleep_summary"] {
            if let Err(e) = w.parse(&dt(data_type), &body) {
                assert!(!e.path.is_empty() && !e.problem.is_empty(), "{file}");
            }
        }
    }
    let devices = w.parse(
        &dt("body_measures"),
        &real("withings/person0_get_device.json"),
    );
    assert_eq!(devices.unwrap_err().path, "body.measuregrps");
    let goals = w.parse(&dt("activity"), &real("withings-aiowithings/goals.json"));
    assert_eq!(goals.unwrap_err().path, "body.activities");
    let segments = w.parse(
        &dt("sleep_summary"),
        &real("withings-aiowithings/sleep_no_datafields.json"),
    );
    assert_eq!(segments.unwrap_err().path, "body.series[0].timezone");
}
