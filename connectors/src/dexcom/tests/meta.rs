//! dataRange and devices.

use super::{dexcom, fixture, utc};
use crate::connector::TimeWindow;
use crate::sample::Device;

#[test]
fn the_data_range_is_the_window_holding_every_egv() {
    let d = dexcom();
    assert_eq!(
        d.parse_data_range(&fixture("data_range.json")).unwrap(),
        Some(TimeWindow {
            start: utc("2025-08-14T17:02:11Z"),
            // Half-open: one second past the last reading, which it then holds.
            end: utc("2025-11-02T06:25:04Z"),
        })
    );
    assert_eq!(
        d.parse_data_range(&fixture("data_range_no_egvs.json"))
            .unwrap(),
        None
    );
    assert_eq!(d.parse_data_range(b"{}").unwrap(), None);
    // Mobile-app ranges carry offsets.
    let body =
        br#"{"egvs": {"start": {"systemTime": "2025-01-01T08:00:00+01:00", "displayTime": "x"},
        "end": {"systemTime": "2025-01-02T08:00:00Z", "displayTime": "x"}}}"#;
    assert_eq!(
        d.parse_data_range(body).unwrap().map(|w| w.start),
        Some(utc("2025-01-01T07:00:00Z"))
    );
}

#[test]
fn a_malformed_data_range_names_the_field() {
    let d = dexcom();
    let cases: [(&[u8], &str); 7] = [
        (b"[]", "$"),
        (br#"{"egvs": 3}"#, "egvs"),
        (br#"{"egvs": {"end": {"systemTime": "2025-01-01T00:00:00"}}}"#, "egvs.start"),
        (br#"{"egvs": {"start": {}, "end": {}}}"#, "egvs.start.systemTime"),
        (
            br#"{"egvs": {"start": {"systemTime": "soon"}, "end": {"systemTime": "2025-01-01T00:00:00"}}}"#,
            "egvs.start.systemTime",
        ),
        (
            br#"{"egvs": {"start": {"systemTime": "2025-01-02T00:00:00"}, "end": {"systemTime": "2025-01-01T00:00:00"}}}"#,
            "egvs.end",
        ),
        (b"{", "$"),
    ];
    for (body, path) in cases {
        let err = d.parse_data_range(body).unwrap_err();
        assert_eq!(err.path, path, "{}", String::from_utf8_lossy(body));
        assert_eq!(
            (err.vendor.as_str(), err.data_type.as_str()),
            ("dexcom", "dataRange")
        );
    }
}

#[test]
fn devices_are_described_as_readings_describe_them() {
    let d = dexcom();
    let devices = d.parse_devices(&fixture("devices.json")).unwrap();
    assert_eq!(
        devices,
        [
            Device {
                manufacturer: Some("Dexcom".into()),
                model: Some("G7, iOS app".into()),
                vendor_device_id: None,
            },
            Device {
                manufacturer: Some("Dexcom".into()),
                model: Some("G6, receiver".into()),
                vendor_device_id: Some(
                    "59e0ab6c38092b375cf6ba6a364aae06c80bb5d47eccb669434c320e3f807735".into()
                ),
            },
        ]
    );
    // The G6 receiver's readings name the same device.
    let page = crate::connector::Connector::parse(
        &d,
        &super::dt("egvs"),
        &fixture("egvs_mgdl_receiver_dst.json"),
    )
    .unwrap();
    assert_eq!(page.samples[0].device.as_ref(), Some(&devices[1]));
    assert_eq!(d.parse_devices(br#"{"records": []}"#).unwrap(), []);
    for (body, path) in [
        (&br#"{}"#[..], "records"),
        (br#"{"records": {}}"#, "records"),
        (br#"{"records": [7]}"#, "records[0]"),
        (
            br#"{"records": [{"displayDevice": 1}]}"#,
            "records[0].displayDevice",
        ),
    ] {
        assert_eq!(d.parse_devices(body).unwrap_err().path, path);
    }
}

#[test]
fn the_connector_tells_the_hub_where_egvs_lie() {
    use crate::Connector;
    let d = dexcom();
    assert_eq!(d.history_range_request(), Some(d.data_range_request()));
    let egvs = crate::DataType::parse("egvs").unwrap();
    let body = fixture("data_range.json");
    assert_eq!(
        d.parse_history_range(&egvs, &body).unwrap(),
        d.parse_data_range(&body).unwrap()
    );
    let share = crate::DataType::parse("share_glucose").unwrap();
    assert_eq!(d.parse_history_range(&share, &body).unwrap(), None);
    assert!(d.parse_history_range(&egvs, b"[").is_err());
}
