//! The egvs fixtures, read value by value.

use super::{dexcom, dt, fixture, utc};
use crate::connector::{Connector, Skipped, TimeWindow};
use crate::sample::{Device, Metric, Sample};
use std::collections::BTreeMap;

fn samples(name: &str) -> (Vec<Sample>, Vec<Skipped>) {
    let page = dexcom().parse(&dt("egvs"), &fixture(name)).unwrap();
    assert_eq!(page.next_cursor, None);
    (page.samples, page.skipped)
}

/// (start with its offset, value, unit, trend) of each sample.
fn seen(samples: &[Sample]) -> Vec<(String, String, String, Option<String>)> {
    samples
        .iter()
        .map(|s| {
            let q = s.quantity().unwrap();
            (
                s.start.to_rfc3339(),
                q.value.clone(),
                q.unit.clone(),
                s.trend.clone(),
            )
        })
        .collect()
}

fn row(t: &str, v: &str, u: &str, trend: Option<&str>) -> (String, String, String, Option<String>) {
    (t.into(), v.into(), u.into(), trend.map(Into::into))
}

#[test]
fn a_receiver_across_the_end_of_dst_keeps_each_readings_offset() {
    let (samples, skipped) = samples("egvs_mgdl_receiver_dst.json");
    assert_eq!(
        seen(&samples),
        [
            // Display clock 9 s ahead of the system clock: -03:59:51 rounds to -04:00.
            row("2025-11-02T01:50:03-04:00", "112", "mg/dL", Some("flat")),
            row(
                "2025-11-02T01:55:03-04:00",
                "118",
                "mg/dL",
                Some("singleUp")
            ),
            // 02:00 EDT became 01:00 EST: the next reading is -05:00.
            row(
                "2025-11-02T01:00:03-05:00",
                "124",
                "mg/dL",
                Some("fortyFiveUp")
            ),
            // An undocumented trend name is dropped, the reading kept.
            row("2025-11-02T01:10:03-05:00", "131", "mg/dL", None),
            // `high`: the sensor's upper limit, kept as sent.
            row(
                "2025-11-02T01:15:03-05:00",
                "400",
                "mg/dL",
                Some("doubleUp")
            ),
        ]
    );
    // The instants are the system clock's, in order, 5 minutes apart.
    assert_eq!(samples[2].start, utc("2025-11-02T06:00:03Z"));
    assert!(samples.windows(2).all(|w| w[0].start < w[1].start));
    let reasons: Vec<(&str, &str)> = skipped
        .iter()
        .map(|s| (s.path.as_str(), s.reason))
        .collect();
    assert_eq!(
        reasons,
        [
            ("records[3]", "no glucose value"),
            ("records[6]", "beyond the sensor's range, no glucose value"),
            ("records[7]", "glucose unit unknown"),
        ]
    );
    let s = &samples[0];
    assert_eq!(
        (s.metric, s.vendor_code.as_str(), s.end),
        (Metric::GlucoseCgm, "egv", None)
    );
    assert_eq!(
        s.vendor_record_id.as_deref(),
        Some("3049e3e7-acd4-5aa1-b4a5-b8e581f3963a")
    );
    assert_eq!(
        s.device,
        Some(Device {
            manufacturer: Some("Dexcom".into()),
            model: Some("G6, receiver".into()),
            vendor_device_id: Some(
                "59e0ab6c38092b375cf6ba6a364aae06c80bb5d47eccb669434c320e3f807735".into()
            ),
        })
    );
}

#[test]
fn a_phone_app_in_mmol_per_litre_keeps_the_decimal_text_and_its_offsets() {
    let (samples, skipped) = samples("egvs_mmol_ios_dst.json");
    assert_eq!(
        seen(&samples),
        [
            row("2025-10-26T02:50:00+02:00", "6.1", "mmol/L", Some("flat")),
            // `7.0` stays `7.0`.
            row(
                "2025-10-26T02:55:00+02:00",
                "7.0",
                "mmol/L",
                Some("fortyFiveUp")
            ),
            // 03:00 CEST became 02:00 CET.
            row("2025-10-26T02:00:00+01:00", "6.3", "mmol/L", Some("flat")),
            // `+00:00` on systemTime, `+0100` on displayTime.
            row(
                "2025-10-26T02:05:00+01:00",
                "5.9",
                "mmol/L",
                Some("fortyFiveDown")
            ),
            // displayTime written `+00:59:45`, 15 s behind: +01:00.
            row(
                "2025-10-26T02:10:03+01:00",
                "5.55",
                "mmol/L",
                Some("singleDown")
            ),
        ]
    );
    assert_eq!(
        skipped,
        [Skipped {
            path: "records[5]".into(),
            reason: "no glucose value"
        }]
    );
    assert_eq!(
        samples[0].device,
        Some(Device {
            manufacturer: Some("Dexcom".into()),
            model: Some("G7, iOS app".into()),
            vendor_device_id: None,
        })
    );
    assert_eq!(
        samples[0].vendor_record_id.as_deref(),
        Some("b0044290-44f5-56b4-9ca3-f72d37c4654d")
    );
}

#[test]
fn the_two_pages_of_a_split_window_join_without_a_gap() {
    let d = dexcom();
    let w = TimeWindow {
        start: utc("2025-01-01T00:00:00Z"),
        end: utc("2025-02-15T00:00:00Z"),
    };
    let first = d.build_request(&dt("egvs"), w, None).unwrap();
    let cursor = d.next_cursor(w, None).unwrap();
    assert_eq!(cursor, "2025-01-31T00:00:00Z");
    let second = d.build_request(&dt("egvs"), w, Some(&cursor)).unwrap();
    assert_eq!(first.query[1].1, "2025-01-31T00:00:00");
    assert_eq!(second.query[0].1, "2025-01-31T00:00:00");
    assert_eq!(d.next_cursor(w, Some(&cursor)), None);

    // Dexcom's endDate includes its second: the reading at the split is on both
    // pages, the same sample twice (one Observation, by its record id).
    let (one, _) = samples("egvs_split_1.json");
    let (two, _) = samples("egvs_split_2.json");
    assert_eq!(one.last(), two.first());
    let mut by_id = BTreeMap::new();
    for s in one.iter().chain(&two) {
        by_id.insert(s.vendor_record_id.clone().unwrap(), s.clone());
    }
    let mut times: Vec<String> = by_id.values().map(|s| s.start.to_rfc3339()).collect();
    times.sort();
    assert_eq!(
        times,
        [
            "2025-01-30T15:50:00-08:00",
            "2025-01-30T15:55:00-08:00",
            "2025-01-30T16:00:00-08:00",
            "2025-01-30T16:05:00-08:00",
            "2025-01-30T16:10:00-08:00",
        ]
    );
    let device = one[0].device.clone().unwrap();
    assert_eq!(device.model.as_deref(), Some("G7, Android app"));
    assert_eq!(device.vendor_device_id.as_deref(), Some("8GA1JK"));
}

#[test]
fn an_empty_answer_is_an_empty_page() {
    let page = dexcom()
        .parse(&dt("egvs"), &fixture("egvs_empty.json"))
        .unwrap();
    assert!(page.samples.is_empty() && page.skipped.is_empty() && page.next_cursor.is_none());
}

#[test]
fn unknown_fields_and_optional_ones_left_out_are_accepted() {
    let body = br#"{"records": [{"recordId": "r1", "systemTime": "2025-03-01T12:00:00",
        "displayTime": "2025-03-01T13:00:00", "value": 150, "unit": "mg/dL",
        "futureField": {"x": [1, 2]}}], "paging": null}"#;
    let page = dexcom().parse(&dt("egvs"), body).unwrap();
    let s = &page.samples[0];
    assert_eq!(s.start.to_rfc3339(), "2025-03-01T13:00:00+01:00");
    assert_eq!(s.trend, None);
    assert_eq!(
        s.device,
        Some(Device {
            manufacturer: Some("Dexcom".into()),
            model: None,
            vendor_device_id: None,
        })
    );
}
