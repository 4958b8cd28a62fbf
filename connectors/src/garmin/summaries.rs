//! Summaries over an interval: dailies, sleeps, overnight HRV and activities.
//!
//! Policy: a daily summary covers the member's local day, from local midnight to
//! the next, in the offset Garmin sent (`startTimeOffsetInSeconds`). Garmin sends
//! one offset per day; on the 23- or 25-hour day of a clock change the next
//! midnight's offset is taken from the day's length (see [`day_bounds`]). Sleep,
//! HRV and activities run from their start for their duration, in their offset.

use super::decimal;
use super::read::{after, fixed_offset, Num, Out, Quant, Rec};
use crate::connector::ParseError;
use crate::sample::{Device, Metric, Quantity, Sample, Value, Workout};
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, TimeZone as _};

/// The day's metrics: Garmin's field, the metric, its UCUM unit.
const DAILY_METRICS: [(&str, Metric, &str); 5] = [
    // Steps of one day: LOINC 41950-7, `/d`.
    ("steps", Metric::StepsDaily, "/d"),
    ("distanceInMeters", Metric::Distance, "m"),
    // Active calories only (Garmin's `bmrKilocalories` is the resting part).
    ("activeKilocalories", Metric::ActiveEnergy, "kcal"),
    (
        "restingHeartRateInBeatsPerMinute",
        Metric::RestingHeartRateDaily,
        "/min",
    ),
    (
        "maxHeartRateInBeatsPerMinute",
        Metric::MaxHeartRate24h,
        "/min",
    ),
];

/// Sleep stages: Garmin's field and the metric (minutes).
const SLEEP_STAGES: [(&str, Metric); 3] = [
    ("deepSleepDurationInSeconds", Metric::SleepDeep),
    ("lightSleepDurationInSeconds", Metric::SleepLight),
    ("remSleepInSeconds", Metric::SleepRem),
];

const SECONDS_A_DAY: i64 = 86_400;

pub(super) fn daily(rec: &Rec<'_>, out: &mut Out) -> Result<(), ParseError> {
    let start = rec.time("startTimeInSeconds", "startTimeOffsetInSeconds")?;
    let duration = rec.seconds("durationInSeconds")?;
    let day = match rec.string("calendarDate")? {
        Some(text) => calendar_date(&text)
            .ok_or_else(|| rec.ctx.err(rec.at("calendarDate"), "not a yyyy-mm-dd date"))?,
        // The member's local day: `start` carries the member's offset.
        None => start.date_naive(),
    };
    let (from, to) = day_bounds(day, start, duration)
        .ok_or_else(|| rec.ctx.err(rec.at("calendarDate"), "out of range"))?;
    let id = rec.summary_id()?;
    for (key, metric, unit) in DAILY_METRICS {
        let Num::Value(value) = rec.number(key, out)? else {
            continue;
        };
        if metric == Metric::StepsDaily && value.contains('.') {
            return Err(rec.ctx.err(rec.at(key), "not a whole number"));
        }
        // A heart rate of zero is no reading; zero steps, metres or calories are.
        if unit == "/min" && decimal::is_zero(&value) {
            out.skip(rec.at(key), "zero value");
            continue;
        }
        let sample = Quant {
            metric,
            vendor_code: key,
            value,
            unit,
            start: from,
            end: Some(to),
            record_id: id.clone(),
        };
        out.samples.push(sample.sample());
    }
    Ok(())
}

fn calendar_date(text: &str) -> Option<NaiveDate> {
    let shaped = text.len() == 10 && text.as_bytes().get(4) == Some(&b'-');
    shaped
        .then(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
        .flatten()
}

/// Local midnight of `day` to the next. The start's offset is the summary's; the
/// end's is the same, unless the summary starts at that midnight and lasts 23 or
/// 25 hours (or 23½ or 24½): then the clocks changed that day, by the difference.
/// A summary of a day still in progress may be that long by chance; its final
/// version (a full day) corrects it under the same summary id.
fn day_bounds(
    day: NaiveDate,
    start: DateTime<FixedOffset>,
    duration: Option<u64>,
) -> Option<(DateTime<FixedOffset>, DateTime<FixedOffset>)> {
    let before = *start.offset();
    let from = before
        .from_local_datetime(&day.and_time(NaiveTime::MIN))
        .single()?;
    let shift = match duration {
        Some(d) if from == start => {
            SECONDS_A_DAY.saturating_sub(i64::try_from(d).unwrap_or(i64::MAX))
        }
        _ => 0,
    };
    let shift = if shift.unsigned_abs() <= 3600 && shift % 1800 == 0 {
        shift
    } else {
        0
    };
    let after = fixed_offset(i64::from(before.local_minus_utc()) + shift)?;
    let to = after
        .from_local_datetime(&day.succ_opt()?.and_time(NaiveTime::MIN))
        .single()?;
    Some((from, to))
}

pub(super) fn sleep(rec: &Rec<'_>, out: &mut Out) -> Result<(), ParseError> {
    let start = rec.time("startTimeInSeconds", "startTimeOffsetInSeconds")?;
    let duration = rec
        .seconds("durationInSeconds")?
        .ok_or_else(|| rec.ctx.err(rec.at("durationInSeconds"), "missing"))?;
    let end = after(start, duration)
        .ok_or_else(|| rec.ctx.err(rec.at("durationInSeconds"), "out of range"))?;
    let id = rec.summary_id()?;
    let minutes = |metric, vendor_code, seconds| {
        Quant {
            metric,
            vendor_code,
            value: decimal::seconds_to_minutes(seconds),
            unit: "min",
            start,
            end: Some(end),
            record_id: id.clone(),
        }
        .sample()
    };
    // Garmin's sleep period includes the time awake in it: in its documented
    // example `durationInSeconds` is deep + light + REM + awake. Time asleep is
    // the period less the time awake and the time it could not measure.
    let awake = rec.seconds("awakeDurationInSeconds")?.unwrap_or(0);
    let unmeasurable = rec
        .seconds("unmeasurableSleepDurationInSeconds")?
        .unwrap_or(0);
    match duration.checked_sub(awake.saturating_add(unmeasurable)) {
        Some(asleep) => {
            out.samples
                .push(minutes(Metric::SleepDuration, "durationInSeconds", asleep))
        }
        None => out.skip(
            rec.at("awakeDurationInSeconds"),
            "more time awake than the sleep period",
        ),
    }
    for (key, metric) in SLEEP_STAGES {
        match stage_seconds(rec, key, out)? {
            // A device that does not tell a stage apart reports it as 0.
            Some(0) => out.skip(rec.at(key), "zero stage: the device may not measure it"),
            Some(seconds) => out.samples.push(minutes(metric, key, seconds)),
            None => {}
        }
    }
    Ok(())
}

/// A stage's whole seconds; `null` or below zero is noted as skipped.
fn stage_seconds(rec: &Rec<'_>, key: &str, out: &mut Out) -> Result<Option<u64>, ParseError> {
    let Num::Value(text) = rec.number(key, out)? else {
        return Ok(None);
    };
    text.parse::<u64>()
        .map(Some)
        .map_err(|_| rec.ctx.err(rec.at(key), "not whole seconds"))
}

/// Overnight HRV. Garmin's `lastNightAvg` is the night's average of its 5-minute
/// RMSSD values (`hrvValues`), in milliseconds.
pub(super) fn hrv(rec: &Rec<'_>, out: &mut Out) -> Result<(), ParseError> {
    let start = rec.time("startTimeInSeconds", "startTimeOffsetInSeconds")?;
    let end = match rec.seconds("durationInSeconds")? {
        Some(d) => Some(
            after(start, d)
                .ok_or_else(|| rec.ctx.err(rec.at("durationInSeconds"), "out of range"))?,
        ),
        None => None,
    };
    let id = rec.summary_id()?;
    if let Num::Value(value) = rec.number("lastNightAvg", out)? {
        if decimal::is_zero(&value) {
            out.skip(rec.at("lastNightAvg"), "zero value");
            return Ok(());
        }
        let sample = Quant {
            metric: Metric::HrvRmssd,
            vendor_code: "lastNightAvg",
            value,
            unit: "ms",
            start,
            end,
            record_id: id,
        };
        out.samples.push(sample.sample());
    }
    Ok(())
}

pub(super) fn activity(rec: &Rec<'_>, out: &mut Out) -> Result<(), ParseError> {
    let start = rec.time("startTimeInSeconds", "startTimeOffsetInSeconds")?;
    let duration = rec
        .seconds("durationInSeconds")?
        .ok_or_else(|| rec.ctx.err(rec.at("durationInSeconds"), "missing"))?;
    let end = after(start, duration)
        .ok_or_else(|| rec.ctx.err(rec.at("durationInSeconds"), "out of range"))?;
    let activity = rec
        .string("activityType")?
        .filter(|a| !a.is_empty())
        .ok_or_else(|| rec.ctx.err(rec.at("activityType"), "missing"))?;
    let quantity = |num: Num, unit: &str| match num {
        Num::Value(value) => Some(Quantity {
            value,
            unit: unit.to_owned(),
        }),
        _ => None,
    };
    let energy = quantity(rec.number("activeKilocalories", out)?, "kcal");
    let distance = quantity(rec.number("distanceInMeters", out)?, "m");
    let device = rec.string("deviceName")?.map(|model| Device {
        manufacturer: Some("Garmin".to_owned()),
        model: Some(model),
        vendor_device_id: None,
    });
    // Without a summary id, the activity id (a number, or its text).
    let id = match rec.summary_id()? {
        Some(id) => Some(id),
        None => match rec.int("activityId") {
            Ok(id) => id.map(|id| id.to_string()),
            Err(e) => Some(rec.string("activityId").map_err(|_| e)?.unwrap_or_default())
                .filter(|id| !id.is_empty()),
        },
    };
    out.samples.push(Sample {
        metric: Metric::Workout,
        vendor_code: "activities".to_owned(),
        value: Value::Workout(Workout {
            activity,
            duration: Quantity {
                value: decimal::seconds_to_minutes(duration),
                unit: "min".to_owned(),
            },
            energy,
            distance,
        }),
        start,
        end: Some(end),
        device,
        vendor_record_id: id,
        trend: None,
    });
    Ok(())
}
