//! `POST /v2/sleep action=getsummary`: the member's nights.
//!
//! Policy: nine nights in ten have a summary, dated by the local day the member
//! woke up (`date`): in bed between 22:00 and 00:29, up between 06:00 and 07:59,
//! with light, deep and REM sleep adding up to `total_sleep_time`. The member
//! sleeps with a ScanWatch (`model` 16) or a Sleep Analyzer (`model` 32), one per
//! member. A summary exists once synced (`modified`, 10 to 40 minutes after
//! waking). `startdateymd`/`enddateymd` select nights by `date` (both included),
//! `startdate`/`enddate` nights that began in `[startdate, enddate)`,
//! `lastupdate` nights modified since; `data_fields` keeps only the `data` fields
//! it names. Ten nights a page.

use super::{daily_page, device_id, local, pick, record_id};
use crate::sandbox::person;
use crate::sandbox::twin::DataError;
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use serde::Serialize;

/// Nights per page.
const PAGE: usize = 10;

#[derive(Serialize)]
pub(super) struct Body {
    series: Vec<Night>,
    more: bool,
    offset: usize,
}

#[derive(Serialize)]
struct Night {
    id: u64,
    timezone: String,
    model: u32,
    model_id: u32,
    hash_deviceid: String,
    startdate: i64,
    enddate: i64,
    date: String,
    data: Data,
    created: i64,
    modified: i64,
}

#[derive(Serialize)]
struct Data {
    #[serde(skip_serializing_if = "Option::is_none")]
    wakeupduration: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    wakeupcount: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    durationtosleep: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    remsleepduration: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    durationtowakeup: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    total_sleep_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    total_timeinbed: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sleep_efficiency: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sleep_latency: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    wakeup_latency: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    waso: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lightsleepduration: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    deepsleepduration: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hr_average: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hr_min: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hr_max: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rr_average: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sleep_score: Option<i64>,
}

/// A night before it is rendered.
struct Draft {
    day: NaiveDate,
    start: i64,
    end: i64,
    modified: i64,
    seed: u64,
}

/// The answer to one `getsummary` request.
pub(super) fn answer(
    user: &str,
    query: &[(String, String)],
    now: DateTime<Utc>,
) -> Result<Body, DataError> {
    let (series, more, offset) = daily_page(
        user,
        query,
        now,
        PAGE,
        |utc_offset, day| draft(user, utc_offset, day),
        |n| (n.day, n.start, n.modified),
        |timezone, n, wanted| render(user, timezone, n, wanted),
    )?;
    Ok(Body {
        series,
        more,
        offset,
    })
}

/// The night that ended on local day `day`, if the member slept with a device.
fn draft(user: &str, offset: FixedOffset, day: NaiveDate) -> Option<Draft> {
    let seed = person::hash(&[user, &day.to_string(), "sleep"]);
    if seed.is_multiple_of(10) {
        return None;
    }
    let start = local(offset, day, -120 + pick(seed >> 8, 0, 149))?.timestamp();
    let end = local(offset, day, 6 * 60 + pick(seed >> 16, 0, 119))?.timestamp();
    Some(Draft {
        day,
        start,
        end,
        modified: end + pick(seed >> 24, 600, 2400),
        seed,
    })
}

/// Whole minutes, in seconds.
fn minutes(seconds: i64) -> i64 {
    seconds / 60 * 60
}

fn render(user: &str, timezone: &str, n: &Draft, wanted: &dyn Fn(&str) -> bool) -> Night {
    let keep = |name: &str, value: i64| wanted(name).then_some(value);
    let s = n.seed;
    let in_bed = n.end - n.start;
    let latency = minutes(pick(s >> 28, 300, 1500));
    let to_wakeup = minutes(pick(s >> 32, 60, 1200));
    let waso = minutes(pick(s >> 36, 0, 2400));
    let total = minutes(in_bed - latency - to_wakeup - waso);
    let deep = minutes(total * pick(s >> 40, 15, 25) / 100);
    let rem = minutes(total * pick(s >> 44, 18, 25) / 100);
    let light = total - deep - rem;
    let hr = pick(person::hash(&[user, "sleep_hr"]), 50, 62) + pick(s >> 48, -3, 4);
    let efficiency = {
        #[allow(clippy::cast_precision_loss)] // a percentage
        let percent = (total * 100 / in_bed.max(1)) as f64;
        percent / 100.0
    };
    let analyzer = person::hash(&[user, "sleep_device"]) % 2 == 1;
    let (model, model_id, key) = if analyzer {
        (32, 63, "sleep_analyzer")
    } else {
        (16, 93, "watch")
    };
    Night {
        id: record_id(user, "sleep", n.day, 1, 0),
        timezone: timezone.to_owned(),
        model,
        model_id,
        hash_deviceid: device_id(user, key),
        startdate: n.start,
        enddate: n.end,
        date: n.day.to_string(),
        data: Data {
            wakeupduration: keep("wakeupduration", latency + to_wakeup + waso),
            wakeupcount: keep("wakeupcount", pick(s >> 52, 0, 4)),
            durationtosleep: keep("durationtosleep", latency),
            remsleepduration: keep("remsleepduration", rem),
            durationtowakeup: keep("durationtowakeup", to_wakeup),
            total_sleep_time: keep("total_sleep_time", total),
            total_timeinbed: keep("total_timeinbed", in_bed),
            sleep_efficiency: wanted("sleep_efficiency").then_some(efficiency),
            sleep_latency: keep("sleep_latency", latency),
            wakeup_latency: keep("wakeup_latency", to_wakeup),
            waso: keep("waso", waso),
            lightsleepduration: keep("lightsleepduration", light),
            deepsleepduration: keep("deepsleepduration", deep),
            hr_average: keep("hr_average", hr),
            hr_min: keep("hr_min", hr - pick(s >> 56, 4, 10)),
            hr_max: keep("hr_max", hr + pick(s >> 58, 12, 30)),
            rr_average: keep("rr_average", pick(s >> 4, 12, 17)),
            sleep_score: keep("sleep_score", pick(s >> 20, 55, 95)),
        },
        created: n.modified,
        modified: n.modified,
    }
}
