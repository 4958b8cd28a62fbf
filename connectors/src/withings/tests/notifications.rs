//! Notifications: form bodies, categories, windows, unlinking.

use super::*;
use crate::push::{PushEvent, PushNotice};
use chrono::{DateTime, Utc};

fn notices(body: &[u8]) -> Vec<PushNotice> {
    withings()
        .parse_push(body)
        .unwrap_or_else(|e| panic!("{}: {e}", String::from_utf8_lossy(body)))
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn new_data(user: &str, data_type: &str, window: Option<(&str, &str)>) -> PushNotice {
    PushNotice {
        vendor_user: user.to_owned(),
        event: PushEvent::NewData {
            data_type: dt(data_type),
            window: window.map(|(start, end)| TimeWindow {
                start: at(start),
                end: at(end),
            }),
        },
    }
}

#[test]
fn new_measures_name_their_window() {
    // startdate and enddate are the first and last second of the changed data.
    assert_eq!(
        notices(&fixture("notify_measures.txt")),
        [new_data(
            "38271946",
            "body_measures",
            Some(("2024-03-31T00:30:00Z", "2024-03-31T01:30:01Z"))
        )]
    );
    let sent = push::body("38271946", 44, 1_711_838_400, 1_711_861_500);
    assert_eq!(
        sent,
        "userid=38271946&appli=44&startdate=1711838400&enddate=1711861500"
    );
    assert_eq!(
        notices(sent.as_bytes()),
        [new_data(
            "38271946",
            "sleep_summary",
            Some(("2024-03-30T22:40:00Z", "2024-03-31T05:05:01Z"))
        )]
    );
}

#[test]
fn every_subscribed_category_maps_to_its_data_type() {
    let cases = [
        (1, "body_measures"),
        (2, "body_measures"),
        (4, "body_measures"),
        (16, "activity"),
        (44, "sleep_summary"),
    ];
    for (appli, data_type) in cases {
        let body = format!("userid=7&appli={appli}&startdate=100&enddate=100");
        let [notice] = notices(body.as_bytes()).try_into().unwrap();
        assert_eq!(
            notice.event,
            PushEvent::NewData {
                data_type: dt(data_type),
                window: Some(TimeWindow {
                    start: DateTime::from_timestamp(100, 0).unwrap(),
                    end: DateTime::from_timestamp(101, 0).unwrap(),
                })
            },
            "appli {appli}"
        );
        assert_eq!(push::data_type_of(appli), Some(data_type));
    }
    assert_eq!(push::SUBSCRIBED_APPLIS, [1, 2, 4, 16, 44, 46]);
}

#[test]
fn a_daily_notification_covers_its_date_in_every_time_zone() {
    assert_eq!(
        notices(&fixture("notify_activity.txt")),
        [new_data(
            "38271946",
            "activity",
            Some(("2024-03-30T10:00:00Z", "2024-04-01T12:00:00Z"))
        )]
    );
    // The reference allows `date` as epoch seconds too; extra fields are ignored.
    assert_eq!(
        notices(b"foo=bar&userid=12345&appli=16&date=1711845000&deviceid=abc"),
        [new_data(
            "12345",
            "activity",
            Some(("2024-03-31T00:30:00Z", "2024-03-31T00:30:01Z"))
        )]
    );
    assert_eq!(
        notices(b"userid=12345&appli=4"),
        [new_data("12345", "body_measures", None)]
    );
}

#[test]
fn unlinking_or_deleting_the_account_ends_the_connection() {
    let gone = |user: &str| PushNotice {
        vendor_user: user.to_owned(),
        event: PushEvent::Deregistered,
    };
    assert_eq!(notices(&fixture("notify_unlink.txt")), [gone("38271946")]);
    assert_eq!(notices(b"userid=9&appli=46&action=delete"), [gone("9")]);
    // A profile edit changes nothing Tributary holds.
    assert_eq!(notices(b"userid=9&appli=46&action=update"), []);
}

#[test]
fn a_malformed_notification_names_the_field() {
    let cases: [(&[u8], &str); 17] = [
        (b"", "userid"),
        (b"appli=1", "userid"),
        (b"userid=&appli=1", "userid"),
        (b"userid=a%20b&appli=1", "userid"),
        (b"userid=1", "appli"),
        (b"userid=1&appli=x", "appli"),
        (b"userid=1&appli=-1", "appli"),
        (b"userid=1&appli=50", "appli"),
        (b"userid=1&appli=54", "appli"),
        (b"userid=1&appli=46", "action"),
        (b"userid=1&appli=46&action=merge", "action"),
        (b"userid=1&appli=1&startdate=10", "enddate"),
        (b"userid=1&appli=1&enddate=10", "startdate"),
        (b"userid=1&appli=1&startdate=10&enddate=9", "enddate"),
        (b"userid=1&appli=1&startdate=1e3&enddate=2000", "startdate"),
        (b"userid=1&appli=16&date=2024-02-30", "date"),
        (b"userid=1&appli=16&date=99999999999999999999", "date"),
    ];
    for (body, path) in cases {
        let e = withings().parse_push(body).unwrap_err();
        assert_eq!(e.path, path, "{}: {e}", String::from_utf8_lossy(body));
        assert_eq!(e.vendor, "withings");
        assert!(!e.problem.is_empty());
    }
    // A JSON body (the shape of other vendors) is not a Withings notification.
    assert_eq!(
        withings().parse_push(br#"{"userid": 1}"#).unwrap_err().path,
        "userid"
    );
}

#[test]
fn garbage_notifications_never_panic() {
    let w = withings();
    let bodies: [&[u8]; 6] = [
        b"\xff\xfe=\xff",
        b"%%%&&&===",
        b"userid=1&appli=16&date=",
        b"userid=1&appli=16&date=-262144-01-01",
        b"userid=1&appli=1&startdate=-9223372036854775808&enddate=9223372036854775807",
        &[b'&'; 10_000],
    ];
    for body in bodies {
        let _ = w.parse_push(body);
        for cut in 0..body.len().min(80) {
            let _ = w.parse_push(&body[..cut]);
        }
    }
}
