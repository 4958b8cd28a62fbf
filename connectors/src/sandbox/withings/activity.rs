//! `POST /v2/measure action=getactivity`: the member's days, as their watch counted
//! them.
//!
//! Policy: one record per local day, once the day is over and synced (`modified`,
//! 5 to 60 minutes after local midnight). Steps are the person's
//! ([`person::readings`]); distance, calories, intensity durations and heart rates
//! follow from them and the member's build. `startdateymd`/`enddateymd` select
//! days (both included), `startdate`/`enddate` days whose midnight lies in
//! `[startdate, enddate)`, `lastupdate` days modified since; `data_fields` keeps
//! only the fields it names. Ten days a page.

use super::{daily_page, device_id, local, pick};
use crate::sandbox::person::{self, Kind};
use crate::sandbox::twin::DataError;
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use serde::Serialize;

/// Days per page.
const PAGE: usize = 10;

#[derive(Serialize)]
pub(super) struct Body {
    activities: Vec<Day>,
    more: bool,
    offset: usize,
}

#[derive(Serialize)]
struct Day {
    #[serde(skip_serializing_if = "Option::is_none")]
    steps: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    distance: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    elevation: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    soft: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    moderate: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    intense: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    active: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    calories: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    totalcalories: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hr_average: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hr_min: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hr_max: Option<i64>,
    deviceid: String,
    hash_deviceid: String,
    timezone: String,
    date: String,
    modified: i64,
    brand: u32,
    modelid: u32,
    model: &'static str,
    is_tracker: bool,
}

/// A day before it is rendered.
struct Draft {
    day: NaiveDate,
    midnight: i64,
    modified: i64,
    steps: i64,
    seed: u64,
}

/// The answer to one `getactivity` request.
pub(super) fn answer(
    user: &str,
    query: &[(String, String)],
    now: DateTime<Utc>,
) -> Result<Body, DataError> {
    let (activities, more, offset) = daily_page(
        user,
        query,
        now,
        PAGE,
        |utc_offset, day| draft(user, utc_offset, day, now),
        |d| (d.day, d.midnight, d.modified),
        |timezone, d, wanted| render(user, timezone, d, wanted),
    )?;
    Ok(Body {
        activities,
        more,
        offset,
    })
}

/// Local day `day`, if it is over by `now`.
fn draft(user: &str, offset: FixedOffset, day: NaiveDate, now: DateTime<Utc>) -> Option<Draft> {
    let from = local(offset, day, 0)?.with_timezone(&Utc);
    let until = local(offset, day, 24 * 60)?.with_timezone(&Utc);
    let reading = person::readings(user, Kind::Steps, from, until, now).next()?;
    let steps = reading.value.parse::<i64>().ok()?;
    let seed = person::hash(&[user, &day.to_string(), "activity"]);
    Some(Draft {
        day,
        midnight: from.timestamp(),
        modified: until.timestamp() + pick(seed >> 48, 300, 3600),
        steps,
        seed,
    })
}

fn render(user: &str, timezone: &str, d: &Draft, wanted: &dyn Fn(&str) -> bool) -> Day {
    let keep = |name: &str, value: i64| wanted(name).then_some(value);
    let thousandths = |name: &str, value: i64| {
        #[allow(clippy::cast_precision_loss)] // whole thousandths below 2^53
        let value = value as f64 / 1000.0;
        wanted(name).then_some(value)
    };
    let s = d.steps;
    let stride_mm = pick(person::hash(&[user, "stride"]), 680, 800);
    let moderate = s * pick(d.seed >> 8, 30, 45) / 100;
    let intense = s * pick(d.seed >> 16, 0, 12) / 100;
    let active_millikcal =
        s * pick(person::hash(&[user, "kcal_per_step"]), 38, 52) + pick(d.seed >> 24, 0, 999);
    let resting_millikcal = pick(person::hash(&[user, "bmr"]), 1_450_000, 1_950_000);
    let id = device_id(user, "watch");
    Day {
        steps: keep("steps", s),
        distance: thousandths("distance", s * stride_mm),
        elevation: keep("elevation", pick(d.seed >> 32, 0, 14)),
        soft: keep("soft", 2000 + s / 4 + pick(d.seed >> 40, 0, 2000)),
        moderate: keep("moderate", moderate),
        intense: keep("intense", intense),
        active: keep("active", moderate + intense),
        calories: thousandths("calories", active_millikcal),
        totalcalories: thousandths("totalcalories", resting_millikcal + active_millikcal),
        hr_average: keep("hr_average", pick(d.seed >> 12, 64, 82)),
        hr_min: keep("hr_min", pick(d.seed >> 20, 48, 60)),
        hr_max: keep("hr_max", pick(d.seed >> 28, 110, 165)),
        deviceid: id.clone(),
        hash_deviceid: id,
        timezone: timezone.to_owned(),
        date: d.day.to_string(),
        modified: d.modified,
        brand: 1,
        modelid: 93,
        model: "ScanWatch",
        is_tracker: true,
    }
}
