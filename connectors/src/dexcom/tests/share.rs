//! Dexcom Share readings: the real sample, checked by hand, and the other shapes
//! Share answers in.

use super::{dexcom, dt};
use crate::connector::{Connector, Skipped};
use crate::sample::{Device, Metric};

/// The real Share record (Home Assistant's test fixture), read where it lives.
const SAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/vendor-samples/dexcom-share/data.json"
);

#[test]
fn the_real_share_sample_reads_as_checked_by_hand() {
    let body = std::fs::read(SAMPLE).unwrap();
    // Parse-only type, and the same file read as egvs (what the CLI can ask for).
    for data_type in ["share_glucose", "egvs"] {
        let page = dexcom().parse(&dt(data_type), &body).unwrap();
        assert_eq!((page.next_cursor.clone(), page.skipped.len()), (None, 0));
        let [s] = page.samples.as_slice() else {
            panic!("one reading expected")
        };
        assert_eq!(
            (s.metric, s.vendor_code.as_str()),
            (Metric::GlucoseCgm, "share_egv")
        );
        let q = s.quantity().unwrap();
        assert_eq!((q.value.as_str(), q.unit.as_str()), ("110", "mg/dL"));
        // ST = 1587179623000 ms = 2020-04-18T03:13:43Z. DT = 1587165223000 ms written
        // `+0000`: the display clock read 2020-04-17 23:13:43, four hours behind, so
        // the member was at -04:00 (EDT in April).
        assert_eq!(s.start.to_rfc3339(), "2020-04-17T23:13:43-04:00");
        assert_eq!(s.start.timestamp(), 1_587_179_623);
        // Trend 4 is `Flat`.
        assert_eq!(s.trend.as_deref(), Some("flat"));
        assert_eq!((s.end, s.vendor_record_id.as_deref()), (None, None));
        assert_eq!(
            s.device,
            Some(Device {
                manufacturer: Some("Dexcom".into()),
                model: None,
                vendor_device_id: None,
            })
        );
    }
}

#[test]
fn the_newer_share_shape_with_the_instant_and_offset_in_dt_gives_the_same_answer() {
    // An array, newest first; DT the instant with the offset; Trend a name.
    let body = br#"[
        {"WT":"Date(1587179923000)","ST":"Date(1587179923000)","DT":"Date(1587179923000-0400)","Value":116,"Trend":"FortyFiveUp"},
        {"WT":"Date(1587179623000)","ST":"Date(1587179623000)","DT":"Date(1587179623000-0400)","Value":110,"Trend":"Flat"}
    ]"#;
    let page = dexcom().parse(&dt("share_glucose"), body).unwrap();
    let seen: Vec<(String, String, Option<String>)> = page
        .samples
        .iter()
        .map(|s| {
            (
                s.start.to_rfc3339(),
                s.quantity().unwrap().value.clone(),
                s.trend.clone(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                "2020-04-17T23:18:43-04:00".into(),
                "116".into(),
                Some("fortyFiveUp".into())
            ),
            (
                "2020-04-17T23:13:43-04:00".into(),
                "110".into(),
                Some("flat".into())
            ),
        ]
    );
}

#[test]
fn share_trends_numbers_and_names_map_to_the_web_api_names() {
    let with_trend = |trend: &str| {
        let body = format!(
            r#"{{"ST":"/Date(1587179623000)/","DT":"/Date(1587165223000+0000)/","Value":110,"Trend":{trend}}}"#
        );
        dexcom()
            .parse(&dt("share_glucose"), body.as_bytes())
            .unwrap()
            .samples[0]
            .trend
            .clone()
    };
    let expected = [
        "none",
        "doubleUp",
        "singleUp",
        "fortyFiveUp",
        "flat",
        "fortyFiveDown",
        "singleDown",
        "doubleDown",
        "notComputable",
        "rateOutOfRange",
    ];
    for (n, name) in expected.iter().enumerate() {
        assert_eq!(with_trend(&n.to_string()).as_deref(), Some(*name));
    }
    assert_eq!(with_trend(r#""DoubleDown""#).as_deref(), Some("doubleDown"));
    assert_eq!(
        with_trend(r#""RateOutOfRange""#).as_deref(),
        Some("rateOutOfRange")
    );
    // Unknown trends are dropped; the reading stays.
    for unknown in ["10", "-1", "4.5", r#""Sideways""#, "null"] {
        assert_eq!(with_trend(unknown), None, "{unknown}");
    }
}

#[test]
fn share_readings_without_a_value_are_skipped_and_wt_stands_in_for_st() {
    let body = br#"[
        {"WT":"/Date(1587179623000)/","DT":"/Date(1587165223000+0000)/","Value":112,"Trend":4},
        {"WT":"/Date(1587179923000)/","ST":"/Date(1587179923000)/","DT":"/Date(1587165523000+0000)/","Value":null,"Trend":4}
    ]"#;
    let page = dexcom().parse(&dt("share_glucose"), body).unwrap();
    assert_eq!(page.samples.len(), 1);
    assert_eq!(
        page.samples[0].start.to_rfc3339(),
        "2020-04-17T23:13:43-04:00"
    );
    assert_eq!(
        page.skipped,
        [Skipped {
            path: "$[1]".into(),
            reason: "no glucose value"
        }]
    );
    assert!(dexcom()
        .parse(&dt("share_glucose"), b"[]")
        .unwrap()
        .samples
        .is_empty());
}
