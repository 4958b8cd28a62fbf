//! Notifications: pushed summaries grouped per member, pings, deregistrations and
//! permission changes.

use super::*;
use crate::push::{PushEvent, PushNotice};
use chrono::DateTime;

fn notices(body: &[u8]) -> Vec<PushNotice> {
    garmin().parse_push(body).unwrap_or_else(|e| panic!("{e}"))
}

fn push_error(body: &str) -> ParseError {
    garmin().parse_push(body.as_bytes()).unwrap_err()
}

#[test]
fn a_mixed_push_groups_summaries_per_member_and_reads_lifecycle_events() {
    let all = notices(&fixture("push-mixed.json"));
    // Keys in name order: dailies, deregistrations, (epochs: ignored),
    // userPermissionsChange.
    assert_eq!(all.len(), 4, "{all:#?}");
    let PushEvent::Samples { data_type, page } = &all[0].event else {
        panic!("{:?}", all[0]);
    };
    assert_eq!(
        (all[0].vendor_user.as_str(), data_type.as_str()),
        ("4aacafe82427c251", "dailies")
    );
    let d20 = "2026-11-20T00:00:00+01:00..2026-11-21T00:00:00+01:00 #x4aacafe-6a1e8e40-15180";
    let d21 = "2026-11-21T00:00:00+01:00..2026-11-22T00:00:00+01:00 #x4aacafe-6a1fdfc0-15180";
    assert_eq!(
        lines(page),
        [
            format!("steps_daily 9120 /d {d20}"),
            format!("distance 6801.4 m {d20}"),
            format!("active_energy 455 kcal {d20}"),
            format!("resting_heart_rate_daily 57 /min {d20}"),
            format!("steps_daily 512 /d {d21}"),
        ]
    );
    // The path names the record in the body, whoever's page it lands on.
    assert_eq!(
        skipped(page),
        [("dailies[2].maxHeartRateInBeatsPerMinute", "null value")]
    );
    let PushEvent::Samples { page, .. } = &all[1].event else {
        panic!("{:?}", all[1]);
    };
    assert_eq!(all[1].vendor_user, "b4c1e0d2a9f8473e");
    assert_eq!(
        lines(page),
        ["steps_daily 3050 /d 2026-11-20T00:00:00-05:00..2026-11-21T00:00:00-05:00 #xb4c1e0d-6a1f5a50-15180"]
    );
    assert_eq!(
        all[2],
        PushNotice {
            vendor_user: "d1e2f3a4b5c6d7e8".into(),
            event: PushEvent::Deregistered
        }
    );
    assert_eq!(
        all[3],
        PushNotice {
            vendor_user: "4aacafe82427c251".into(),
            event: PushEvent::PermissionsChanged {
                data_types: vec![dt("activities")]
            }
        }
    );
}

#[test]
fn a_ping_names_its_window_and_keeps_no_url() {
    let all = notices(&fixture("ping.json"));
    let hour = TimeWindow {
        start: DateTime::from_timestamp(1_795_165_200, 0).unwrap(),
        end: DateTime::from_timestamp(1_795_168_800, 0).unwrap(),
    };
    assert_eq!(
        all,
        [
            // From its callback URL's parameters, the fields being absent.
            PushNotice {
                vendor_user: "4aacafe82427c251".into(),
                event: PushEvent::NewData {
                    data_type: dt("activities"),
                    window: Some(hour)
                }
            },
            // From the ping's upload-time fields.
            PushNotice {
                vendor_user: "4aacafe82427c251".into(),
                event: PushEvent::NewData {
                    data_type: dt("dailies"),
                    window: Some(hour)
                }
            },
            // Neither: the hub pulls from where it left off.
            PushNotice {
                vendor_user: "b4c1e0d2a9f8473e".into(),
                event: PushEvent::NewData {
                    data_type: dt("sleeps"),
                    window: None
                }
            },
        ]
    );
    let text = format!("{all:?}");
    assert!(!text.contains("CPT") && !text.contains("callback") && !text.contains("http"));
}

#[test]
fn a_ping_body_the_twin_sends_reads_back() {
    let window = TimeWindow {
        start: DateTime::from_timestamp(1_795_165_200, 0).unwrap(),
        end: DateTime::from_timestamp(1_795_168_800, 0).unwrap(),
    };
    let body = crate::garmin::push::ping_body(
        API_BASE,
        "u1",
        &["pulse_ox", "respiration", "nope"],
        window,
    );
    let text = String::from_utf8(body.clone()).unwrap();
    assert!(text.contains(r#""pulseox":"#) && text.contains(r#""allDayRespiration":"#));
    assert!(text.contains("/wellness-api/rest/pulseOx?uploadStartTimeInSeconds=1795165200"));
    let types: Vec<(String, Option<TimeWindow>)> = notices(&body)
        .into_iter()
        .map(|n| match n.event {
            PushEvent::NewData { data_type, window } => (data_type.to_string(), window),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        types,
        [
            ("respiration".to_owned(), Some(window)),
            ("pulse_ox".to_owned(), Some(window))
        ]
    );
}

#[test]
fn spellings_seen_in_the_field_are_read_too() {
    let body = br#"{
        "pulseOx": [{"userId": "u", "summaryId": "s", "startTimeInSeconds": 0,
                     "startTimeOffsetInSeconds": 0, "timeOffsetSpo2Values": {"5": 98}}],
        "respiration": [{"userId": "u", "startTimeInSeconds": 0,
                         "startTimeOffsetInSeconds": 0, "timeOffsetEpochToBreaths": {"0": 12}}],
        "manuallyUpdatedActivities": [{"userId": "u", "activityType": "WALKING",
            "startTimeInSeconds": 0, "startTimeOffsetInSeconds": 0, "durationInSeconds": 90}]
    }"#;
    let got: Vec<String> = notices(body)
        .iter()
        .flat_map(|n| match &n.event {
            PushEvent::Samples { data_type, page } => lines(page)
                .into_iter()
                .map(move |l| format!("{data_type}: {l}")),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        got,
        [
            "activities: workout WALKING 1.5 min - - 1970-01-01T00:00:00+00:00..1970-01-01T00:01:30+00:00 #-",
            "pulse_ox: spo2 98 % 1970-01-01T00:00:05+00:00.. #s:5",
            "respiration: respiratory_rate 12 /min 1970-01-01T00:00:00+00:00.. #-",
        ]
    );
}

#[test]
fn permissions_that_share_nothing_leave_no_data_type() {
    let all = notices(
        br#"{"userPermissionsChange": [
            {"userId": "a", "permissions": []},
            {"userId": "b", "permissions": ["HEALTH_EXPORT", "MCT_EXPORT"]}
        ]}"#,
    );
    let PushEvent::PermissionsChanged { data_types } = &all[0].event else {
        panic!("{all:?}");
    };
    assert!(data_types.is_empty());
    let PushEvent::PermissionsChanged { data_types } = &all[1].event else {
        panic!("{all:?}");
    };
    assert_eq!(data_types.len(), 7);
    assert!(!data_types.contains(&dt("activities")));
}

#[test]
fn a_malformed_notification_names_the_field() {
    let cases = [
        ("nope", "$"),
        ("[]", "$"),
        (r#"{"dailies": {}}"#, "dailies"),
        (r#"{"dailies": [1]}"#, "dailies[0]"),
        (r#"{"dailies": [{"steps": 1}]}"#, "dailies[0].userId"),
        (r#"{"dailies": [{"userId": ""}]}"#, "dailies[0].userId"),
        (r#"{"dailies": [{"userId": 7}]}"#, "dailies[0].userId"),
        (
            r#"{"dailies": [{"userId": "u", "startTimeOffsetInSeconds": 0}]}"#,
            "dailies[0].startTimeInSeconds",
        ),
        (
            r#"{"sleeps": [{"userId": "u", "callbackURL": 5}]}"#,
            "sleeps[0].callbackURL",
        ),
        (
            r#"{"sleeps": [{"userId": "u", "callbackURL": "x",
                "uploadStartTimeInSeconds": 10, "uploadEndTimeInSeconds": 10}]}"#,
            "sleeps[0].uploadEndTimeInSeconds",
        ),
        (
            r#"{"sleeps": [{"userId": "u", "callbackURL": "x",
                "uploadStartTimeInSeconds": 1.5, "uploadEndTimeInSeconds": 10}]}"#,
            "sleeps[0].uploadStartTimeInSeconds",
        ),
        (r#"{"deregistrations": {}}"#, "deregistrations"),
        (r#"{"deregistrations": [{}]}"#, "deregistrations[0].userId"),
        (
            r#"{"userPermissionsChange": [{"userId": "u"}]}"#,
            "userPermissionsChange[0].permissions",
        ),
        (
            r#"{"userPermissionsChange": [{"userId": "u", "permissions": [1]}]}"#,
            "userPermissionsChange[0].permissions",
        ),
    ];
    for (body, path) in cases {
        let e = push_error(body);
        assert_eq!(e.path, path, "{body}: {e}");
        assert_eq!(e.vendor, "garmin");
    }
    // The data type is named where the fault is in a summary list.
    assert_eq!(push_error(r#"{"hrv": [{"userId": "u"}]}"#).data_type, "hrv");
    assert_eq!(push_error(r#"{"deregistrations": [{}]}"#).data_type, "");
    // Unknown summary types and fields are ignored; an empty body says nothing.
    assert_eq!(notices(br#"{}"#), []);
    assert_eq!(notices(br#"{"skinTemp": [{"userId": "u"}], "mct": 5}"#), []);
    assert_eq!(notices(br#"{"dailies": []}"#), []);
}

#[test]
fn no_token_or_value_reaches_an_error() {
    let body = r#"{"dailies": [{"userId": "u", "userAccessToken": "SECRET-TOKEN",
        "startTimeInSeconds": 0, "startTimeOffsetInSeconds": 0, "steps": "8123"}]}"#;
    let e = push_error(body);
    assert_eq!(e.path, "dailies[0].steps");
    let text = e.to_string();
    assert!(!text.contains("SECRET") && !text.contains("8123"), "{text}");
}
