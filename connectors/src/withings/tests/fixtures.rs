//! The project's own fixtures: every metric, paging, offsets across DST changes,
//! and the records left out on purpose.

use super::*;

#[test]
fn measure_groups_become_spot_samples_in_the_offset_of_their_day() {
    let page = parse("body_measures", &fixture("getmeas_page1.json"));
    assert_eq!(
        lines(&page),
        [
            "body_weight meastype:1 72.450 kg @ 2024-01-15T07:12:31+01:00 #5300000001",
            "body_fat meastype:6 21.37 % @ 2024-01-15T07:12:31+01:00 #5300000001",
            // Half an hour before the spring change, and an hour after it.
            "heart_rate meastype:11 64 /min @ 2024-03-31T01:30:00+01:00 #5300000002",
            "blood_pressure meastype:9,10 121/79 mm[Hg] @ 2024-03-31T01:30:00+01:00 #5300000002",
            "blood_pressure meastype:9,10 118/77 mm[Hg] @ 2024-03-31T03:30:00+02:00 #5300000003",
            "body_temperature meastype:71 36.85 Cel @ 2024-07-04T21:05:12+02:00 #5300000004",
            "spo2 meastype:54 97 % @ 2024-07-05T08:40:00+02:00 #5300000005",
            "heart_rate meastype:11 68 /min @ 2024-07-05T08:40:00+02:00 #5300000005",
            "body_height meastype:4 178 cm @ 2024-02-10T09:15:00+01:00 #5300000006",
            "body_weight meastype:1 72.305 kg @ 2024-07-06T07:31:10+02:00 #5300000009",
            "body_fat meastype:6 20.98 % @ 2024-07-06T07:31:10+02:00 #5300000009",
            "body_temperature meastype:12 37.1 Cel @ 2024-07-06T07:31:10+02:00 #5300000011:12",
            "body_temperature meastype:71 37.12 Cel @ 2024-07-06T07:31:10+02:00 #5300000011",
        ]
    );
    assert_eq!(
        skipped(&page),
        [
            "body.measuregrps[0].measures[2]: a measure type Tributary does not map",
            "body.measuregrps[3].measures[1]: skin temperature is absolute, not a deviation from baseline",
            "body.measuregrps[6]: a goal, not a measurement",
            "body.measuregrps[7]: ambiguous: it may be another person's measurement",
            "body.measuregrps[8].measures[1]: a body-segment measure, not the whole body",
            "body.measuregrps[8].measures[3]: a second measure of the same type in the group",
            "body.measuregrps[8].measures[4]: a negative value (not measured)",
            "body.measuregrps[9].measures[0]: blood pressure without its other half",
        ]
    );
    assert_eq!(page.next_cursor.as_deref(), Some("11"));
    let scale = "3f9c2a7be1d04c58a6e07b21f4d9c8e5a1b2c3d4";
    assert_eq!(
        page.samples[0].device,
        device(Some("Withings"), Some("Body Cardio"), Some(scale))
    );
    assert_eq!(
        page.samples[8].device, None,
        "a height typed in by hand has no device"
    );
    assert_eq!(
        page.samples[11].device,
        device(Some("Withings"), Some("Thermo"), None)
    );
    assert!(page
        .samples
        .iter()
        .all(|s| s.end.is_none() && s.trend.is_none()));
    // Every metric of the type carries the unit of the mapping.
    for s in &page.samples {
        let unit = match (&s.value, s.metric) {
            (
                Value::BloodPressure {
                    systolic,
                    diastolic,
                },
                Metric::BloodPressure,
            ) => {
                assert_eq!(systolic.unit, diastolic.unit);
                systolic.unit.as_str()
            }
            (Value::Quantity(q), _) => q.unit.as_str(),
            _ => panic!("{}", line(s)),
        };
        let expected = match s.metric {
            Metric::BodyWeight => "kg",
            Metric::BodyHeight => "cm",
            Metric::BodyFat | Metric::Spo2 => "%",
            Metric::BloodPressure => "mm[Hg]",
            Metric::HeartRate => "/min",
            Metric::BodyTemperature => "Cel",
            other => panic!("{other:?}"),
        };
        assert_eq!(unit, expected, "{}", line(s));
    }
}

#[test]
fn the_last_page_of_measures_has_no_cursor() {
    let w = withings();
    let first = parse("body_measures", &fixture("getmeas_page1.json"));
    let window = TimeWindow {
        start: chrono::DateTime::from_timestamp(1_704_067_200, 0).unwrap(),
        end: chrono::DateTime::from_timestamp(1_725_148_800, 0).unwrap(),
    };
    let next = w
        .build_request(&dt("body_measures"), window, first.next_cursor.as_deref())
        .unwrap();
    assert!(next.form.contains(&("offset".to_owned(), "11".to_owned())));
    let last = parse("body_measures", &fixture("getmeas_page2.json"));
    assert_eq!(
        lines(&last),
        ["body_weight meastype:1 71.900 kg @ 2024-08-12T07:02:45-04:00 #5300000012"]
    );
    assert_eq!((last.next_cursor, last.skipped.len()), (None, 0));
}

#[test]
fn activity_days_run_local_midnight_to_midnight_through_dst() {
    let page = parse("activity", &fixture("getactivity.json"));
    let day = |date: &str, start: &str, end: &str| {
        let at = format!("@ {start} .. {end} #{date}");
        move |metric: &str, value: &str| format!("{metric} {value} {at}")
    };
    let normal = day(
        "2024-03-30",
        "2024-03-30T00:00:00+01:00",
        "2024-03-31T00:00:00+01:00",
    );
    let spring = day(
        "2024-03-31",
        "2024-03-31T00:00:00+01:00",
        "2024-04-01T00:00:00+02:00",
    );
    let autumn = day(
        "2024-10-27",
        "2024-10-27T00:00:00+02:00",
        "2024-10-28T00:00:00+01:00",
    );
    let new_york = day(
        "2024-11-03",
        "2024-11-03T00:00:00-04:00",
        "2024-11-04T00:00:00-05:00",
    );
    assert_eq!(
        lines(&page),
        [
            normal("steps_daily steps", "8123 /d"),
            normal("distance distance", "6140.25 m"),
            normal("active_energy calories", "312.5 kcal"),
            normal("energy_burned_daily totalcalories", "2210.75 kcal/d"),
            spring("steps_daily steps", "10502 /d"),
            spring("distance distance", "7911.004 m"),
            spring("active_energy calories", "455.118 kcal"),
            spring("energy_burned_daily totalcalories", "2398.6 kcal/d"),
            autumn("steps_daily steps", "0 /d"),
            autumn("distance distance", "0 m"),
            autumn("active_energy calories", "0 kcal"),
            autumn("energy_burned_daily totalcalories", "1702.31 kcal/d"),
            new_york("steps_daily steps", "6480 /d"),
        ]
    );
    let hours: Vec<i64> = page
        .samples
        .iter()
        .step_by(4)
        .map(|s| (s.end.unwrap() - s.start).num_hours())
        .collect();
    assert_eq!(hours, [24, 23, 25, 25]);
    assert_eq!(
        skipped(&page),
        [
            "body.activities[3].calories: a negative value (not measured)",
            "body.activities[3].totalcalories: a null value",
        ]
    );
    assert_eq!(page.next_cursor.as_deref(), Some("4"));
    let watch = "9a8b7c6d5e4f30211203f4e5d6c7b8a90a1b2c3d";
    assert_eq!(
        page.samples[0].device,
        device(Some("Withings"), Some("ScanWatch"), Some(watch))
    );
    assert_eq!(
        page.samples[12].device,
        device(None, Some("HealthKit step iPhone tracker"), None),
        "steps imported from a phone are not a Withings device's"
    );
}

#[test]
fn sleep_summaries_become_minutes_over_the_night() {
    let page = parse("sleep_summary", &fixture("getsummary.json"));
    let night = |id: &str, start: &str, end: &str| {
        let at = format!("@ {start} .. {end} #{id}");
        move |metric: &str, value: &str| format!("{metric} {value} {at}")
    };
    // The night the clocks went forward: 23:40 (+01:00) to 07:05 (+02:00).
    let dst = night(
        "3100000001",
        "2024-03-30T23:40:00+01:00",
        "2024-03-31T07:05:00+02:00",
    );
    let watch = night(
        "3100000002",
        "2024-05-20T22:55:00+02:00",
        "2024-05-21T06:43:20+02:00",
    );
    let external = night(
        "3100000003",
        "2024-11-02T23:10:00-04:00",
        "2024-11-03T06:50:00-05:00",
    );
    assert_eq!(
        lines(&page),
        [
            dst("sleep_duration total_sleep_time", "380.5 min"),
            dst("sleep_deep deepsleepduration", "105 min"),
            dst("sleep_light lightsleepduration", "200.5 min"),
            dst("sleep_rem remsleepduration", "75 min"),
            dst("heart_rate hr_average", "58 /min"),
            // No total from Withings: light + deep + REM = 23415 s, exactly 390.25 min.
            watch("sleep_duration total_sleep_time", "390.25 min"),
            watch("sleep_deep deepsleepduration", "90 min"),
            // 14405 s and 3610 s have no finite decimal in minutes: thousandths.
            watch("sleep_light lightsleepduration", "240.083 min"),
            watch("sleep_rem remsleepduration", "60.167 min"),
            external("sleep_duration asleepduration", "420 min"),
        ]
    );
    assert_eq!(
        skipped(&page),
        [
            "body.series[1].data.hr_average: no heart rate measured",
            "body.series[2].data.deepsleepduration: a null value",
            "body.series[2].data.lightsleepduration: a null value",
            "body.series[2].data.remsleepduration: a null value",
            "body.series[3].data: a sleep summary without data",
        ]
    );
    assert_eq!(page.next_cursor.as_deref(), Some("4"));
    let aura = "201d0b9a0556d6b755166b2cf8d22d3bdf04aaaa";
    assert_eq!(
        page.samples[0].device,
        device(Some("Withings"), Some("Aura Sensor V2"), Some(aura))
    );
    assert_eq!(
        page.samples[5]
            .device
            .as_ref()
            .and_then(|d| d.model.as_deref()),
        Some("ScanWatch")
    );
    assert_eq!(page.samples[9].device, None);
}

#[test]
fn the_three_shapes_of_a_page_read_alike() {
    // The answer, its body, and the bare list of its records give the same samples.
    let answer: serde_json::Value = serde_json::from_slice(&fixture("getactivity.json")).unwrap();
    let body = answer["body"].to_string();
    let list = answer["body"]["activities"].to_string();
    let full = parse("activity", &fixture("getactivity.json"));
    let from_body = parse("activity", body.as_bytes());
    let from_list = parse("activity", list.as_bytes());
    assert_eq!(from_body.samples, full.samples);
    assert_eq!(from_list.samples, full.samples);
    assert_eq!(from_body.next_cursor.as_deref(), Some("4"));
    assert_eq!(from_list.next_cursor, None, "a bare list has no paging");
    assert_eq!(from_body.skipped[0].path, "activities[3].calories");
    assert_eq!(from_list.skipped[0].path, "$[3].calories");
}
