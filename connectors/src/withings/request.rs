//! The requests Withings is asked: data pages and notification subscriptions.
//!
//! Policy: every request is a `POST` with a form body (the member's bearer token
//! goes in the header, added by the hub). Instants are epoch seconds: the window's
//! start rounded down, its end rounded up, so no second is missed. Daily services
//! take calendar dates (`startdateymd`, `enddateymd`, both included) of the
//! member's own zone, which the request cannot know: the dates asked for cover
//! every day the window touches anywhere on Earth (UTC−12 to UTC+14), and a day
//! fetched twice is the same record. The cursor is the `offset` of the next page.

use super::{activity, measures, sleep};
use crate::connector::{HttpRequest, TimeWindow};
use chrono::{DateTime, Duration, NaiveDate, Utc};

/// The easternmost and westernmost UTC offsets in use, in hours.
const MAX_AHEAD: i64 = 14;
const MAX_BEHIND: i64 = 12;

fn post(url: String, form: Vec<(&str, String)>, cursor: Option<&str>) -> HttpRequest {
    let mut form: Vec<(String, String)> =
        form.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    if let Some(offset) = cursor {
        form.push(("offset".to_owned(), offset.to_owned()));
    }
    HttpRequest {
        method: "POST",
        url,
        query: Vec::new(),
        form,
    }
}

/// `POST /measure action=getmeas` for the mapped meastypes, real measures only.
pub(super) fn measures(base: &str, window: TimeWindow, cursor: Option<&str>) -> HttpRequest {
    let end = window.end.timestamp() + i64::from(window.end.timestamp_subsec_nanos() > 0);
    post(
        format!("{base}/measure"),
        vec![
            ("action", "getmeas".to_owned()),
            ("meastypes", measures::REQUESTED_TYPES.to_owned()),
            ("category", "1".to_owned()),
            ("startdate", window.start.timestamp().to_string()),
            ("enddate", end.to_string()),
        ],
        cursor,
    )
}

/// `POST /v2/measure action=getactivity` for the days of the window.
pub(super) fn activity(base: &str, window: TimeWindow, cursor: Option<&str>) -> HttpRequest {
    let (first, last) = days(window);
    post(
        format!("{base}/v2/measure"),
        vec![
            ("action", "getactivity".to_owned()),
            ("startdateymd", first.to_string()),
            ("enddateymd", last.to_string()),
            ("data_fields", activity::DATA_FIELDS.to_owned()),
        ],
        cursor,
    )
}

/// `POST /v2/sleep action=getsummary` for the nights dated within the window.
pub(super) fn sleep(base: &str, window: TimeWindow, cursor: Option<&str>) -> HttpRequest {
    let (first, last) = days(window);
    post(
        format!("{base}/v2/sleep"),
        vec![
            ("action", "getsummary".to_owned()),
            ("startdateymd", first.to_string()),
            ("enddateymd", last.to_string()),
            ("data_fields", sleep::DATA_FIELDS.to_owned()),
        ],
        cursor,
    )
}

/// `POST /notify action=subscribe` of `callback_url` to category `appli`.
pub(super) fn subscribe(base: &str, callback_url: &str, appli: u32) -> HttpRequest {
    post(
        format!("{base}/notify"),
        vec![
            ("action", "subscribe".to_owned()),
            ("callbackurl", callback_url.to_owned()),
            ("appli", appli.to_string()),
        ],
        None,
    )
}

/// The first and last calendar dates any zone is in during `[start, end)`.
fn days(window: TimeWindow) -> (NaiveDate, NaiveDate) {
    let shifted = |t: DateTime<Utc>, hours: i64| {
        t.checked_add_signed(Duration::hours(hours))
            .unwrap_or(t)
            .date_naive()
    };
    let last_instant = if window.end > window.start {
        window.end - Duration::nanoseconds(1)
    } else {
        window.start
    };
    (
        shifted(window.start, -MAX_BEHIND),
        shifted(last_instant, MAX_AHEAD),
    )
}
