//! Withings notifications ("Data update notifications").
//!
//! Subscriptions are per member and per category (`appli`): `POST /notify` with
//! the member's bearer token and the form `action=subscribe`, `callbackurl`,
//! `appli`. Withings then POSTs `application/x-www-form-urlencoded` bodies to the
//! callback URL: `userid=…&appli=…&startdate=…&enddate=…` (epoch seconds of the
//! changed data), or `date=YYYY-MM-DD` for daily data, and `action` for events on
//! the member's account. Before accepting a callback URL, Withings sends it a
//! `HEAD` request that must answer 2xx; each notification must be answered 200
//! within two seconds, and four failures in a row remove the subscription.
//!
//! Policy: Withings signs nothing. The hub gives Withings a callback URL carrying
//! a token of its own ([`crate::PushAuth::CallbackToken`]) and checks it before
//! reading the body; [`parse`] only reads what the body says. Categories:
//!
//! | appli | what changed | becomes |
//! |---|---|---|
//! | 1 | weight and body composition | new `body_measures` |
//! | 2 | temperature | new `body_measures` |
//! | 4 | blood pressure, heart pulse, SpO2 | new `body_measures` |
//! | 16 | activity | new `activity` |
//! | 44 | sleep | new `sleep_summary` |
//! | 46 | the member's account: `action=unlink` (the member unlinked the app) or `delete` (the account is gone) | the connection ends; `action=update` (profile edits) means nothing to Tributary |
//!
//! Any other `appli` is not one Tributary subscribes to, and is an error naming it.

use super::{ACTIVITY, BODY_MEASURES, SLEEP_SUMMARY, VENDOR};
use crate::connector::ParseError;
use crate::push::{PushEvent, PushNotice};
use crate::sample::DataType;
use crate::TimeWindow;
use chrono::{DateTime, Duration, NaiveDate, Utc};

/// The categories Tributary subscribes a member to, in subscription order.
pub const SUBSCRIBED_APPLIS: [u32; 6] = [1, 2, 4, 16, 44, 46];

/// The category of events on the member's account.
const USER_APPLI: u32 = 46;

/// Longest user id accepted (Withings' are integers).
const MAX_USER_ID: usize = 64;

/// The data type an `appli` announces new data of.
pub fn data_type_of(appli: u32) -> Option<&'static str> {
    match appli {
        1 | 2 | 4 => Some(BODY_MEASURES),
        16 => Some(ACTIVITY),
        44 => Some(SLEEP_SUMMARY),
        _ => None,
    }
}

fn err(path: &str, problem: &str) -> ParseError {
    ParseError {
        vendor: VENDOR.to_owned(),
        data_type: String::new(),
        path: path.to_owned(),
        problem: problem.to_owned(),
    }
}

/// A form body's fields. A repeated field counts once (the first).
struct Form(Vec<(String, String)>);

impl Form {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Read a notification body. Unknown fields are ignored.
pub(super) fn parse(body: &[u8]) -> Result<Vec<PushNotice>, ParseError> {
    let form = Form(url::form_urlencoded::parse(body).into_owned().collect());
    let vendor_user = form.get("userid").ok_or_else(|| err("userid", "missing"))?;
    let valid_user = !vendor_user.is_empty()
        && vendor_user.len() <= MAX_USER_ID
        && vendor_user.bytes().all(|b| b.is_ascii_graphic());
    if !valid_user {
        return Err(err("userid", "not a Withings user id"));
    }
    let appli = form.get("appli").ok_or_else(|| err("appli", "missing"))?;
    let appli: u32 = appli
        .parse()
        .map_err(|_| err("appli", "not a notification category number"))?;
    let event = if appli == USER_APPLI {
        match form.get("action") {
            Some("unlink" | "delete") => PushEvent::Deregistered,
            Some("update") => return Ok(Vec::new()),
            Some(_) => return Err(err("action", "not unlink, delete or update")),
            None => return Err(err("action", "missing")),
        }
    } else {
        let data_type = data_type_of(appli)
            .and_then(DataType::parse)
            .ok_or_else(|| {
                err(
                    "appli",
                    "not a notification category Tributary subscribes to",
                )
            })?;
        PushEvent::NewData {
            data_type,
            window: window(&form)?,
        }
    };
    Ok(vec![PushNotice {
        vendor_user: vendor_user.to_owned(),
        event,
    }])
}

/// The changed data's window: `[startdate, enddate]` (the end second included),
/// else the whole of `date` in any time zone (UTC−12 to UTC+14), else none.
fn window(form: &Form) -> Result<Option<TimeWindow>, ParseError> {
    let epoch = |name: &'static str| -> Result<Option<DateTime<Utc>>, ParseError> {
        match form.get(name) {
            None => Ok(None),
            Some(text) => text
                .parse::<i64>()
                .ok()
                .and_then(|s| DateTime::from_timestamp(s, 0))
                .map(Some)
                .ok_or_else(|| err(name, "not a time in epoch seconds")),
        }
    };
    match (epoch("startdate")?, epoch("enddate")?) {
        (Some(start), Some(end)) if end >= start => {
            let end = end
                .checked_add_signed(Duration::seconds(1))
                .ok_or_else(|| err("enddate", "out of range"))?;
            return Ok(Some(TimeWindow { start, end }));
        }
        (Some(_), Some(_)) => return Err(err("enddate", "before startdate")),
        (Some(_), None) => return Err(err("enddate", "missing with startdate")),
        (None, Some(_)) => return Err(err("startdate", "missing with enddate")),
        (None, None) => {}
    }
    let Some(date) = form.get("date") else {
        return Ok(None);
    };
    if !date.is_empty() && date.bytes().all(|b| b.is_ascii_digit()) {
        let at = epoch("date")?.ok_or_else(|| err("date", "missing"))?;
        let end = at
            .checked_add_signed(Duration::seconds(1))
            .ok_or_else(|| err("date", "out of range"))?;
        return Ok(Some(TimeWindow { start: at, end }));
    }
    let day = NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .map_err(|_| err("date", "not a YYYY-MM-DD date or epoch seconds"))?;
    let midnight = |d: NaiveDate| d.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
    let start = midnight(day).and_then(|t| t.checked_sub_signed(Duration::hours(14)));
    let end = day
        .succ_opt()
        .and_then(midnight)
        .and_then(|t| t.checked_add_signed(Duration::hours(12)));
    match (start, end) {
        (Some(start), Some(end)) => Ok(Some(TimeWindow { start, end })),
        _ => Err(err("date", "a date out of range")),
    }
}

/// The body Withings sends for `user`'s new data of category `appli` between
/// `start` and `end` (epoch seconds): for tests and the sandbox.
pub fn body(user: &str, appli: u32, start: i64, end: i64) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("userid", user)
        .append_pair("appli", &appli.to_string())
        .append_pair("startdate", &start.to_string())
        .append_pair("enddate", &end.to_string())
        .finish()
}
