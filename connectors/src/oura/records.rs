//! One Oura record into samples, per data type.
//!
//! Policy: fields the schema requires (`id`, `day`, the times) fail the page when
//! missing or mistyped; a metric field that is absent yields no sample, and one that
//! is `null` is listed in [`crate::Page::skipped`]. A value outside what the metric
//! can be (a negative step count, a heart rate of zero) fails the page: that is not
//! Oura's documented data. Units are converted exactly ([`super::decimal`]).

use super::decimal::{self, Class};
use super::parse::{join, Fields, Number, Object, Out, Reader};
use crate::connector::ParseError;
use crate::sample::{Device, Metric, Quantity, Sample, Value, Workout};
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, Offset, TimeZone, Utc};

/// Reads one record into `out`.
pub(super) type RecordFn = fn(&Rec<'_>, &mut Out) -> Result<(), ParseError>;

/// One record being read: the reader, the record's path and its fields.
pub(super) struct Rec<'a> {
    pub r: &'a Reader,
    pub path: &'a str,
    pub obj: &'a Object<'a>,
}

/// A metric field and the sample it becomes: its key (also the sample's vendor
/// code), what its value may be, the metric and the unit.
type Field = (&'static str, Check, Metric, &'static str);

/// A period's start and end.
type Span = (DateTime<FixedOffset>, DateTime<FixedOffset>);

/// Digits after the point for seconds in minutes: terminating quotients (seconds
/// divisible by 3) need at most 2, so 4 means exact where exactness is possible
/// and within 0.003 s otherwise.
const MINUTE_DIGITS: u32 = 4;
/// Digits for a workout's milliseconds in minutes: exact within 6 (60 000 = 2⁵·3·5⁴
/// leaves at most 5), else within 0.03 ms.
const WORKOUT_MINUTE_DIGITS: u32 = 6;

const NULL: &str = "null value";

/// What a value may be.
#[derive(Debug, Clone, Copy)]
enum Check {
    /// A whole number, not negative (steps).
    Count,
    NonNegative,
    /// Above zero (heart rate, HRV).
    Positive,
    /// 0 to 100.
    Percent,
    /// Any sign (a deviation).
    Any,
}

/// The plain text of a number that passes `check`.
fn checked(
    r: &Reader,
    field: &str,
    text: String,
    class: Class,
    check: Check,
) -> Result<String, ParseError> {
    let problem = match check {
        Check::Count if class.negative => Some("negative"),
        Check::Count if !class.whole => Some("not a whole number"),
        Check::NonNegative if class.negative => Some("negative"),
        Check::Positive if class.negative || class.zero => Some("not above zero"),
        Check::Percent if class.negative || text.parse::<f64>().map_or(true, |v| v > 100.0) => {
            Some("not a percentage from 0 to 100")
        }
        _ => None,
    };
    match problem {
        Some(problem) => Err(r.err(field, problem)),
        None => Ok(text),
    }
}

impl Rec<'_> {
    /// A number field: absent or `null` is `None`.
    fn value(&self, key: &str, check: Check) -> Result<Option<String>, ParseError> {
        match self.r.plain_number(self.obj, self.path, key)? {
            Number::Absent | Number::Null => Ok(None),
            Number::Value(text, class) => {
                checked(self.r, &join(self.path, key), text, class, check).map(Some)
            }
        }
    }

    /// A number field that is a metric of its own: `null` is listed as skipped.
    fn metric(&self, key: &str, check: Check, out: &mut Out) -> Result<Option<String>, ParseError> {
        match self.r.plain_number(self.obj, self.path, key)? {
            Number::Absent => Ok(None),
            Number::Null => {
                out.skip(join(self.path, key), NULL);
                Ok(None)
            }
            Number::Value(text, class) => {
                checked(self.r, &join(self.path, key), text, class, check).map(Some)
            }
        }
    }

    /// Each of `fields` that is there, as a sample of `frame`.
    fn quantities(&self, frame: &Frame, fields: &[Field], out: &mut Out) -> Result<(), ParseError> {
        for &(key, check, metric, unit) in fields {
            if let Some(v) = self.metric(key, check, out)? {
                out.samples.push(frame.quantity(metric, key, v, unit));
            }
        }
        Ok(())
    }

    /// A required, non-empty string field.
    fn id(&self, key: &str) -> Result<String, ParseError> {
        self.r.nonempty_string(self.obj, self.path, key)
    }

    fn time(&self, key: &str) -> Result<DateTime<FixedOffset>, ParseError> {
        self.r.time(self.obj, self.path, key)
    }

    fn string(&self, key: &str) -> Result<Option<String>, ParseError> {
        self.r.string(self.obj, self.path, key)
    }

    /// The start and end of a period record; `None` (noted as skipped) when it does
    /// not end after it starts.
    fn period(
        &self,
        start_key: &str,
        end_key: &str,
        out: &mut Out,
    ) -> Result<Option<Span>, ParseError> {
        let start = self.time(start_key)?;
        let end = self.time(end_key)?;
        if end <= start {
            out.skip(self.path.to_owned(), "does not end after it starts");
            return Ok(None);
        }
        Ok(Some((start, end)))
    }
}

/// The ring, as far as the record tells (`ring_id` is on sleep periods only).
fn ring(ring_id: Option<String>) -> Option<Device> {
    Some(Device {
        manufacturer: Some("Oura".to_owned()),
        model: None,
        vendor_device_id: ring_id,
    })
}

/// Where and when the samples of one record lie, and whose they are.
struct Frame {
    id: Option<String>,
    start: DateTime<FixedOffset>,
    end: Option<DateTime<FixedOffset>>,
    device: Option<Device>,
}

impl Frame {
    fn sample(&self, metric: Metric, vendor_code: &str, value: Value) -> Sample {
        Sample {
            metric,
            vendor_code: vendor_code.to_owned(),
            value,
            start: self.start,
            end: self.end,
            device: self.device.clone(),
            vendor_record_id: self.id.clone(),
            trend: None,
        }
    }

    fn quantity(&self, metric: Metric, vendor_code: &str, value: String, unit: &str) -> Sample {
        let q = Quantity {
            value,
            unit: unit.to_owned(),
        };
        self.sample(metric, vendor_code, Value::Quantity(q))
    }
}

/// The member's day `day` as local midnight to the next local midnight at `offset`.
fn day_frame(
    rec: &Rec<'_>,
    id: String,
    day: NaiveDate,
    offset: FixedOffset,
) -> Result<Frame, ParseError> {
    let midnight = |d: NaiveDate| offset.from_local_datetime(&d.and_time(NaiveTime::MIN));
    let start = midnight(day).single();
    let end = day.succ_opt().and_then(|next| midnight(next).single());
    let (Some(start), Some(end)) = (start, end) else {
        return Err(rec.r.err(join(rec.path, "day"), "out of range"));
    };
    Ok(Frame {
        id: Some(id),
        start,
        end: Some(end),
        device: ring(None),
    })
}

/// The frame of a daily document: its `day`, at the offset of its `timestamp`.
fn daily_frame(rec: &Rec<'_>) -> Result<Frame, ParseError> {
    let id = rec.id("id")?;
    let day = rec.r.day(rec.obj, rec.path, "day")?;
    let offset = *rec.time("timestamp")?.offset();
    day_frame(rec, id, day, offset)
}

/// `daily_activity`: steps (`/d`), active calories (`kcal` over the day) and total
/// calories (`kcal/d`). Oura's activity day runs from 04:00 to 04:00; the samples
/// name the member's calendar day, as the project's daily measures do.
pub(super) fn daily_activity(rec: &Rec<'_>, out: &mut Out) -> Result<(), ParseError> {
    let frame = daily_frame(rec)?;
    let fields = [
        ("steps", Check::Count, Metric::StepsDaily, "/d"),
        (
            "active_calories",
            Check::NonNegative,
            Metric::ActiveEnergy,
            "kcal",
        ),
        (
            "total_calories",
            Check::NonNegative,
            Metric::EnergyBurnedDaily,
            "kcal/d",
        ),
    ];
    rec.quantities(&frame, &fields, out)
}

/// `sleep`: one sleep period from `bedtime_start` to `bedtime_end`, its durations
/// in minutes, its average heart rate and its average HRV (Oura's HRV is RMSSD).
pub(super) fn sleep(rec: &Rec<'_>, out: &mut Out) -> Result<(), ParseError> {
    let id = rec.id("id")?;
    // PublicSleepType: `deleted` by the member; `rest` = "falsely detected sleep /
    // nap, rejected in confirm prompt by user"; `sleep`, `long_sleep`, `late_nap`
    // are sleep. The type is nullable: no type is still a sleep period.
    let reason = match rec.string("type")?.as_deref() {
        None | Some("sleep" | "long_sleep" | "late_nap") => None,
        Some("deleted") => Some("sleep period deleted by the member"),
        Some("rest") => Some("rest period the member rejected as sleep"),
        Some(_) => Some("unknown sleep period type"),
    };
    if let Some(reason) = reason {
        out.skip(rec.path.to_owned(), reason);
        return Ok(());
    }
    let Some((start, end)) = rec.period("bedtime_start", "bedtime_end", out)? else {
        return Ok(());
    };
    let frame = Frame {
        id: Some(id),
        start,
        end: Some(end),
        device: ring(rec.string("ring_id")?),
    };
    let durations = [
        ("total_sleep_duration", Metric::SleepDuration),
        ("deep_sleep_duration", Metric::SleepDeep),
        ("light_sleep_duration", Metric::SleepLight),
        ("rem_sleep_duration", Metric::SleepRem),
    ];
    for (key, m) in durations {
        if let Some(seconds) = rec.metric(key, Check::NonNegative, out)? {
            let minutes = decimal::divide(&seconds, 60, MINUTE_DIGITS)
                .ok_or_else(|| rec.r.err(join(rec.path, key), "out of range"))?;
            out.samples.push(frame.quantity(m, key, minutes, "min"));
        }
    }
    let rates = [
        (
            "average_heart_rate",
            Check::Positive,
            Metric::HeartRate,
            "/min",
        ),
        ("average_hrv", Check::Positive, Metric::HrvRmssd, "ms"),
    ];
    rec.quantities(&frame, &rates, out)
}

/// `heartrate`: one sample per reading, at its `timestamp` with the offset as
/// written. The schema calls it a UTC time, so real answers carry `+00:00`: the
/// instant is exact and Oura tells no zone to move it into, so it stays UTC.
/// `timestamp_unix` is redundant and ignored (real samples disagree with it).
pub(super) fn heartrate(rec: &Rec<'_>, out: &mut Out) -> Result<(), ParseError> {
    let frame = Frame {
        id: None,
        start: rec.time("timestamp")?,
        end: None,
        device: ring(None),
    };
    if let Some(bpm) = rec.metric("bpm", Check::Positive, out)? {
        out.samples
            .push(frame.quantity(Metric::HeartRate, "heartrate", bpm, "/min"));
    }
    Ok(())
}

/// `daily_spo2`: the night's average SpO2 (`%`) for `day`. The document has no
/// timestamp, so its day is written at `+00:00` (the date is the member's day; only
/// the offset is unknown), unless a `timestamp` field gives one.
pub(super) fn daily_spo2(rec: &Rec<'_>, out: &mut Out) -> Result<(), ParseError> {
    let id = rec.id("id")?;
    let day = rec.r.day(rec.obj, rec.path, "day")?;
    let offset = match rec.r.optional_time(rec.obj, rec.path, "timestamp")? {
        Some(t) => *t.offset(),
        None => Utc.fix(),
    };
    let frame = day_frame(rec, id, day, offset)?;
    let key = "spo2_percentage";
    let field = join(rec.path, key);
    let inner = match rec.obj.get(key) {
        None => return Ok(()),
        Some(raw) if crate::raw::is_null(raw) => {
            out.skip(field, NULL);
            return Ok(());
        }
        Some(raw) => rec.r.object(raw, &field)?,
    };
    let inner = Rec {
        r: rec.r,
        path: &field,
        obj: &inner,
    };
    if let Some(v) = inner.metric("average", Check::Percent, out)? {
        out.samples.push(frame.quantity(Metric::Spo2, key, v, "%"));
    }
    Ok(())
}

/// `temperature`, read from `daily_readiness`: the deviation from the member's
/// baseline (`Cel`) for `day`.
pub(super) fn temperature(rec: &Rec<'_>, out: &mut Out) -> Result<(), ParseError> {
    let frame = daily_frame(rec)?;
    let fields = [(
        "temperature_deviation",
        Check::Any,
        Metric::SkinTemperatureDeviation,
        "Cel",
    )];
    rec.quantities(&frame, &fields, out)
}

/// `workout`: one workout from `start_datetime` to `end_datetime`; its duration is
/// that span in minutes, its energy `calories` (kcal), its `distance` (m). A manual
/// workout was typed in by the member, so it names no device.
pub(super) fn workout(rec: &Rec<'_>, out: &mut Out) -> Result<(), ParseError> {
    let id = rec.id("id")?;
    let activity = rec.id("activity")?;
    let Some((start, end)) = rec.period("start_datetime", "end_datetime", out)? else {
        return Ok(());
    };
    let millis = (end - start).num_milliseconds().to_string();
    let minutes = decimal::divide(&millis, 60_000, WORKOUT_MINUTE_DIGITS)
        .ok_or_else(|| rec.r.err(join(rec.path, "end_datetime"), "out of range"))?;
    let quantity = |key: &str, unit: &str| -> Result<Option<Quantity>, ParseError> {
        Ok(rec.value(key, Check::NonNegative)?.map(|value| Quantity {
            value,
            unit: unit.to_owned(),
        }))
    };
    let workout = Workout {
        activity,
        duration: Quantity {
            value: minutes,
            unit: "min".to_owned(),
        },
        energy: quantity("calories", "kcal")?,
        distance: quantity("distance", "m")?,
    };
    let manual = rec.string("source")?.as_deref() == Some("manual");
    let frame = Frame {
        id: Some(id),
        start,
        end: Some(end),
        device: if manual { None } else { ring(None) },
    };
    out.samples
        .push(frame.sample(Metric::Workout, "workout", Value::Workout(workout)));
    Ok(())
}
