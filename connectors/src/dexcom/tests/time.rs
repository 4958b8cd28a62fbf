//! The time rules: Dexcom's timestamps, Share's dates, and the offset rounding.

use super::utc;
use crate::dexcom::time::{display_offset, parse_net_date, parse_stamp, request_date, Stamp};
use chrono::NaiveDateTime;

fn clock(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S").unwrap()
}

#[test]
fn timestamps_are_read_with_or_without_an_offset_even_one_with_seconds() {
    let cases = [
        ("2022-02-06T09:12:35", None),
        ("2022-02-06T09:12:35Z", Some(0)),
        ("2022-02-06T09:12:35.123Z", Some(0)),
        ("2022-02-06T09:12:35+00:00", Some(0)),
        ("2022-02-06T09:12:35-07:00", Some(-7 * 3600)),
        ("2022-02-06T09:12:35+0545", Some(5 * 3600 + 45 * 60)),
        ("2022-02-06T09:12:35+09", Some(9 * 3600)),
        (
            "2022-02-06T09:12:35-06:59:59",
            Some(-(6 * 3600 + 59 * 60 + 59)),
        ),
    ];
    for (text, offset) in cases {
        let stamp = parse_stamp(text).unwrap_or_else(|| panic!("{text}"));
        assert_eq!(stamp.offset, offset, "{text}");
        assert_eq!(stamp.clock.format("%H:%M:%S").to_string(), "09:12:35");
    }
    for bad in [
        "",
        "2022-02-06",
        "2022-02-06 09:12:35",
        "2022-02-06T09:12",
        "2022-02-06T09:12:35+7",
        "2022-02-06T09:12:35+07:0",
        "2022-02-06T09:12:35+24:00",
        "2022-02-06T09:12:35+07:60",
        "2022-02-06T09:12:35+0a:00",
        "2022-02-06T09:12:35 +07:00",
        "2022-13-06T09:12:35",
        "2022-02-30T09:12:35",
        "2022-02-06T25:12:35",
        "2022-02-06T09:12:35X",
        "2022-02-06T09:12:35+07:00:00:00",
        "2022-02-06T09:1é:35",
    ] {
        assert_eq!(parse_stamp(bad), None, "{bad:?}");
    }
    let stamp = Stamp {
        clock: clock("2021-04-05T10:52:48"),
        offset: Some(-(6 * 3600 + 59 * 60 + 59)),
    };
    assert_eq!(stamp.instant(), Some(utc("2021-04-05T17:52:47Z")));
}

#[test]
fn the_offset_is_the_display_clock_minus_the_instant_to_the_quarter_hour() {
    let at = utc("2021-04-05T17:53:03Z");
    let offset = |display: &str| display_offset(clock(display), at).to_string();
    // Dexcom's own example: displayTime 10:52:48 for systemTime 17:53:03Z.
    assert_eq!(offset("2021-04-05T10:52:48"), "-07:00");
    assert_eq!(offset("2021-04-05T17:53:03"), "+00:00");
    assert_eq!(offset("2021-04-05T23:38:03"), "+05:45");
    assert_eq!(offset("2021-04-06T06:38:03"), "+12:45");
    assert_eq!(offset("2021-04-05T08:23:03"), "-09:30");
    // Up to 7.5 minutes of drift either way is absorbed.
    assert_eq!(offset("2021-04-05T19:00:20"), "+01:00");
    assert_eq!(offset("2021-04-05T18:46:00"), "+01:00");
    // The widest real offsets still count...
    assert_eq!(offset("2021-04-06T07:53:03"), "+14:00");
    assert_eq!(offset("2021-04-05T05:53:03"), "-12:00");
    // ...beyond them the display clock is on another day: UTC.
    assert_eq!(offset("2021-04-06T08:53:03"), "+00:00");
    assert_eq!(offset("2021-04-05T04:53:03"), "+00:00");
    assert_eq!(offset("2009-01-01T00:00:00"), "+00:00");
}

#[test]
fn request_dates_are_utc_without_an_offset() {
    assert_eq!(
        request_date(utc("2022-02-06T10:12:35+01:00")),
        "2022-02-06T09:12:35"
    );
}

#[test]
fn share_dates_are_read_with_or_without_slashes_and_zone() {
    assert_eq!(
        parse_net_date("/Date(1587165223000+0000)/"),
        Some((1_587_165_223_000, Some(0)))
    );
    assert_eq!(
        parse_net_date("Date(1651987807000-0400)"),
        Some((1_651_987_807_000, Some(-4 * 3600)))
    );
    assert_eq!(
        parse_net_date("/Date(1587179623000)/"),
        Some((1_587_179_623_000, None))
    );
    assert_eq!(parse_net_date("/Date(-5000)/"), Some((-5000, None)));
    for bad in [
        "",
        "/Date()/",
        "/Date(abc)/",
        "/Date(1587179623000+00)/",
        "/Date(1587179623000+0000",
        "1587179623000",
        "/Date(1587179623000+2400)/",
        "/Date(99999999999999999999)/",
        "/Date(--5)/",
    ] {
        assert_eq!(parse_net_date(bad), None, "{bad:?}");
    }
}
