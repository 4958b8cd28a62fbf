//! The real Garmin push bodies in shared/vendor-samples/garmin (RADAR-base's
//! integration tests, Garmin's documented examples with dummy users), read as a
//! `parse` input of their data type and through `parse_push`, with values checked
//! by hand against the files.
//!
//! Not mapped, on purpose: `epoch.json` (15-minute slices of what dailies sum up),
//! `stress.json` (stress and Body Battery scores, no FHIR metric),
//! `move-iq.json` (auto-detected activity already inside dailies and epochs),
//! `user-metrics.json` (VO2 max and fitness age, no metric here),
//! `health-snapshot.json` (2-minute series, opt-in granularity) and
//! `activity-details.json` (per-second samples of an activity whose summary is
//! `activities`). Their keys are ignored by `parse_push`.

use super::*;
use crate::push::{PushEvent, PushNotice};

/// Each file's samples per member, read through `parse_push`.
fn pushed(file: &str) -> Vec<(String, String, Page)> {
    garmin()
        .parse_push(&sample_file(file))
        .unwrap_or_else(|e| panic!("{file}: {e}"))
        .into_iter()
        .map(|PushNotice { vendor_user, event }| match event {
            PushEvent::Samples { data_type, page } => (vendor_user, data_type.to_string(), page),
            other => panic!("{file}: {other:?}"),
        })
        .collect()
}

/// `parse` of the file, and the same file through `parse_push` (its members'
/// pages concatenated) yield the same samples; so does the bare pull array.
fn both_ways(file: &str, data_type: &str, key: &str) -> Page {
    let body = sample_file(file);
    let page = parse(data_type, &body);
    let from_push: Vec<Sample> = pushed(file)
        .into_iter()
        .inspect(|(_, t, _)| assert_eq!(t, data_type))
        .flat_map(|(_, _, p)| p.samples)
        .collect();
    assert_eq!(page.samples, from_push, "{file}");
    let root: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let array = serde_json::to_vec(&root[key]).unwrap();
    let pulled = parse(data_type, &array);
    assert_eq!(lines(&pulled), lines(&page), "{file} as a pull");
    page
}

#[test]
fn dailies_json() {
    let page = both_ways("dailies.json", "dailies", "dailies");
    let d1 = "2016-01-11T00:00:00+01:00..2016-01-12T00:00:00+01:00 #EXAMPLE 67891";
    let d2 = "2016-01-12T00:00:00+01:00..2016-01-13T00:00:00+01:00 #EXAMPLE 67892";
    assert_eq!(
        lines(&page),
        [
            format!("steps_daily 4210 /d {d1}"),
            format!("distance 3146.5 m {d1}"),
            format!("active_energy 321 kcal {d1}"),
            format!("max_heart_rate24h 112 /min {d1}"),
            format!("steps_daily 3305 /d {d2}"),
            format!("distance 2470.1 m {d2}"),
            format!("active_energy 304 kcal {d2}"),
            format!("resting_heart_rate_daily 64 /min {d2}"),
            format!("max_heart_rate24h 122 /min {d2}"),
        ]
    );
    let users: Vec<String> = pushed("dailies.json")
        .into_iter()
        .map(|(u, _, _)| u)
        .collect();
    assert_eq!(users, ["sub-1", "sub-2"]);
}

#[test]
fn sleeps_json() {
    let page = both_ways("sleeps.json", "sleeps", "sleeps");
    let n1 = "2016-01-10T11:53:01+02:00..2016-01-10T16:07:25+02:00 #EXAMPLE 567890";
    let n2 = "2016-01-11T01:11:33+02:00..2016-01-11T04:29:53+02:00 #EXAMPLE 567891";
    assert_eq!(
        lines(&page),
        [
            // 15264 s less 492 s awake = 14772 s = deep + light + REM.
            format!("sleep_duration 246.2 min {n1}"),
            // 11231 s = 187.1833… min.
            format!("sleep_deep 187.18 min {n1}"),
            // 3541 s = 59.0166… min.
            format!("sleep_light 59.02 min {n1}"),
            // 11900 s less 312 s awake = 11588 s = 193.1333… min.
            format!("sleep_duration 193.13 min {n2}"),
            format!("sleep_deep 157.43 min {n2}"),
            format!("sleep_rem 35.7 min {n2}"),
        ]
    );
    assert_eq!(
        skipped(&page),
        [
            (
                "sleeps[0].remSleepInSeconds",
                "zero stage: the device may not measure it"
            ),
            (
                "sleeps[1].lightSleepDurationInSeconds",
                "zero stage: the device may not measure it"
            ),
        ]
    );
}

#[test]
fn body_comps_json() {
    let page = both_ways("body-comps.json", "body_compositions", "bodyComps");
    let t1 = "2015-08-16T16:05:30+00:00.. #EXAMPLE_678901";
    let t2 = "2015-08-17T04:05:30+00:00.. #EXAMPLE_678902";
    assert_eq!(
        lines(&page),
        [
            format!("body_weight 75.45 kg {t1}"),
            format!("bmi 23.2 kg/m2 {t1}"),
            format!("body_fat 17.1 % {t1}"),
            format!("body_weight 75.173 kg {t2}"),
            format!("bmi 23.1 kg/m2 {t2}"),
            format!("body_fat 17.3 % {t2}"),
        ]
    );
}

#[test]
fn pulse_ox_json() {
    let page = both_ways("pulse-ox.json", "pulse_ox", "pulseox");
    // 1572303600 + 55740 s, at +01:00.
    assert_eq!(
        lines(&page),
        ["spo2 93 % 2019-10-29T15:29:00+01:00.. #example1234-spo2OnDemand:55740"]
    );
}

#[test]
fn respiration_json() {
    let page = both_ways("respiration.json", "respiration", "allDayRespiration");
    let want: Vec<String> = [
        ("0", "14.63", "22:15"),
        ("60", "14.4", "22:16"),
        ("120", "14.38", "22:17"),
        ("180", "14.38", "22:18"),
        ("300", "17.1", "22:20"),
        ("540", "16.61", "22:24"),
        ("600", "16.14", "22:25"),
        ("660", "14.59", "22:26"),
        ("720", "14.65", "22:27"),
        ("780", "15.09", "22:28"),
        ("840", "14.88", "22:29"),
    ]
    .iter()
    .map(|(offset, value, time)| {
        format!("respiratory_rate {value} /min 2019-09-10T{time}:00-05:00.. #x15372ea-5d7866b4:{offset}")
    })
    .collect();
    assert_eq!(lines(&page), want);
}

#[test]
fn hrv_json() {
    let page = both_ways("hrv.json", "hrv", "hrv");
    assert_eq!(
        lines(&page),
        ["hrv_rmssd 44 ms 2022-05-31T00:46:44-05:00..2022-05-31T01:50:24-05:00 #x473db21-6295abc4"]
    );
}

#[test]
fn blood_pressure_json() {
    let page = both_ways("blood-pressure.json", "blood_pressures", "bloodPressures");
    // measurementTimeInSeconds 1663776000 at -05:00 (its startTimeInSeconds is ignored).
    assert_eq!(
        lines(&page),
        [
            "blood_pressure 120/110 mm[Hg] 2022-09-21T11:00:00-05:00.. #x473db21-632b3500",
            "heart_rate 82 /min 2022-09-21T11:00:00-05:00.. #x473db21-632b3500",
        ]
    );
}

#[test]
fn activities_json() {
    let page = both_ways("activities.json", "activities", "activities");
    assert_eq!(
        lines(&page),
        [
            "workout RUNNING 193 min 448 kcal 519818.125 m 2016-01-11T00:00:00+00:00..2016-01-11T03:13:00+00:00 #5001968355 [Garmin/Forerunner 910XT]",
            "workout CYCLING 30.4 min 360 kcal 4322.357 m 2016-01-11T09:54:54+00:00..2016-01-11T10:25:18+00:00 #5001968355 [Garmin/Forerunner 910XT]",
        ]
    );
}

#[test]
fn files_of_summary_types_not_offered_push_nothing() {
    for file in [
        "epoch.json",
        "stress.json",
        "move-iq.json",
        "user-metrics.json",
        "health-snapshot.json",
        "activity-details.json",
    ] {
        assert_eq!(
            garmin().parse_push(&sample_file(file)),
            Ok(vec![]),
            "{file}"
        );
        // Nor is any of them a page of an offered type.
        let e = garmin()
            .parse(&dt("dailies"), &sample_file(file))
            .unwrap_err();
        assert_eq!(e.path, "dailies", "{file}");
    }
}
