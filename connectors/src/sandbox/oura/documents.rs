//! Oura's documents, one local day at a time, in the API v2 shapes: daily activity,
//! sleep periods, daily SpO2, daily readiness and workouts.
//!
//! Policy: a document exists once what it describes is over: a sleep period at its
//! `bedtime_end`, a workout at its `end_datetime`, a daily document at the local
//! midnight that ends its day. Ids are UUID-shaped and stable per user, day and kind.
//! Times carry the member's offset, as Oura writes them.

use super::life::{self, Phase, Sleep, Source, Workout};
use crate::sandbox::person::{self, hash, Kind};
use chrono::{DateTime, Duration, FixedOffset, NaiveDate, SecondsFormat, TimeZone, Utc};
use serde_json::{json, Value};

/// The documents the twin serves, by Oura's endpoint (and webhook data type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DocKind {
    DailyActivity,
    Sleep,
    DailySpo2,
    DailyReadiness,
    Workout,
}

impl DocKind {
    pub const ALL: [DocKind; 5] = [
        DocKind::DailyActivity,
        DocKind::Sleep,
        DocKind::DailySpo2,
        DocKind::DailyReadiness,
        DocKind::Workout,
    ];

    /// The `usercollection` endpoint, which is also the webhook `data_type`.
    pub fn endpoint(self) -> &'static str {
        match self {
            DocKind::DailyActivity => "daily_activity",
            DocKind::Sleep => "sleep",
            DocKind::DailySpo2 => "daily_spo2",
            DocKind::DailyReadiness => "daily_readiness",
            DocKind::Workout => "workout",
        }
    }

    pub fn from_endpoint(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.endpoint() == name)
    }
}

/// One document.
pub(super) struct Doc {
    pub day: NaiveDate,
    /// Its place among the day's documents of its kind (the night 0, a nap 1).
    pub seq: u8,
    pub id: String,
    /// When it came to exist.
    pub available: DateTime<Utc>,
    pub body: Value,
}

/// The documents of `kind` for `user`'s local `day`, in order.
pub(super) fn of_day(kind: DocKind, user: &str, day: NaiveDate) -> Vec<Doc> {
    let daily = |body: Option<Value>| {
        let available = midnight(user, day.succ_opt()?)?;
        Some(Doc {
            day,
            seq: 0,
            id: uuid(user, day, kind.endpoint()),
            available,
            body: body?,
        })
    };
    match kind {
        DocKind::DailyActivity => daily(daily_activity(user, day)).into_iter().collect(),
        DocKind::DailySpo2 => daily(Some(daily_spo2(user, day))).into_iter().collect(),
        DocKind::DailyReadiness => daily(daily_readiness(user, day)).into_iter().collect(),
        DocKind::Sleep => [life::night(user, day), life::nap(user, day)]
            .into_iter()
            .flatten()
            .map(|s| {
                let seq = u8::from(s.nap);
                let id = uuid(user, day, if s.nap { "sleep-nap" } else { "sleep" });
                Doc {
                    day,
                    seq,
                    available: s.end().with_timezone(&Utc),
                    body: sleep(user, &s, &id),
                    id,
                }
            })
            .collect(),
        DocKind::Workout => life::workout(user, day)
            .map(|w| {
                let id = uuid(user, day, "workout");
                Doc {
                    day,
                    seq: 0,
                    available: w.end.with_timezone(&Utc),
                    body: workout(&w, &id),
                    id,
                }
            })
            .into_iter()
            .collect(),
    }
}

/// A stable UUID-shaped id (version 4 layout) for `(user, day, kind)`.
fn uuid(user: &str, day: NaiveDate, kind: &str) -> String {
    let date = day.to_string();
    let (a, b) = (
        hash(&[user, &date, kind, "id"]),
        hash(&[user, &date, kind, "id2"]),
    );
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        0x8000 | ((b >> 48) & 0x3fff),
        b & 0xffff_ffff_ffff
    )
}

fn midnight(user: &str, day: NaiveDate) -> Option<DateTime<Utc>> {
    let t = person::utc_offset(user)
        .from_local_datetime(&day.and_hms_opt(0, 0, 0)?)
        .single()?;
    Some(t.with_timezone(&Utc))
}

/// `2026-07-14T04:00:00.000+02:00`, as Oura writes a daily document's timestamp.
fn millis(t: DateTime<FixedOffset>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, false)
}

fn secs(t: DateTime<FixedOffset>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// `h:00` on `day` in the member's zone.
fn at_hour(user: &str, day: NaiveDate, h: u32) -> Option<DateTime<FixedOffset>> {
    person::utc_offset(user)
        .from_local_datetime(&day.and_hms_opt(h, 0, 0)?)
        .single()
}

/// `n / 10` as a JSON number (`712.3`).
fn tenths(n: i64) -> Value {
    // Below 2^53 the quotient prints as its shortest decimal, the tenth itself.
    json!(n as f64 / 10.0)
}

/// `sum / n` rounded to thousandths, as a JSON number (`57.125`).
fn mean(values: &[u64]) -> Value {
    let n = u64::try_from(values.len()).unwrap_or(0);
    if n == 0 {
        return Value::Null;
    }
    let milli = (values.iter().sum::<u64>() * 1000 + n / 2) / n;
    json!(milli as f64 / 1000.0)
}

/// A 0–100 score from `seed`, mostly 60–95.
fn score(seed: u64) -> u64 {
    60 + seed % 36
}

fn daily_activity(user: &str, day: NaiveDate) -> Option<Value> {
    let start = midnight(user, day)?;
    let end = start.checked_add_signed(Duration::days(1))?;
    let steps: u64 = person::readings(user, Kind::Steps, start, end, end)
        .next()?
        .value
        .parse()
        .ok()?;
    let s = life::seed(user, day, "oura-activity");
    let active = steps / 25 + s % 150;
    let bmr = 1500 + hash(&[user, "oura-bmr"]) % 600;
    let walked = steps * 4 / 5;
    let high = (s >> 8) % 40 * 60;
    let medium = (s >> 16) % 90 * 60;
    let low = steps / 2;
    Some(json!({
        "id": uuid(user, day, "daily_activity"),
        "day": day.to_string(),
        "timestamp": millis(at_hour(user, day, 4)?),
        "score": score(s >> 24),
        "steps": steps,
        "active_calories": active,
        "total_calories": bmr + active,
        "target_calories": 500,
        "equivalent_walking_distance": walked,
        "target_meters": 10_000,
        "meters_to_target": 10_000u64.saturating_sub(walked),
        "high_activity_time": high,
        "medium_activity_time": medium,
        "low_activity_time": low,
        "sedentary_time": 50_400u64.saturating_sub(high + medium + low),
        "resting_time": 28_800,
        "non_wear_time": 0,
        "inactivity_alerts": (s >> 32) % 3,
        "contributors": {
            "meet_daily_targets": score(s >> 36),
            "move_every_hour": score(s >> 40),
            "recovery_time": score(s >> 44),
            "stay_active": score(s >> 48),
            "training_frequency": score(s >> 52),
            "training_volume": score(s >> 56),
        },
    }))
}

/// The nightly skin-temperature deviation in hundredths of a degree: within ±0.30,
/// and one night in fifteen a fever-like +0.60 to +1.20.
fn temperature_centi(user: &str, day: NaiveDate) -> i64 {
    let s = life::seed(user, day, "oura-temperature");
    let spread = i64::try_from(s % 61).unwrap_or(0);
    if (s >> 8).is_multiple_of(15) {
        60 + spread
    } else {
        spread - 30
    }
}

fn readiness_parts(user: &str, day: NaiveDate) -> (u64, Value, Value) {
    let s = life::seed(user, day, "oura-readiness");
    let deviation = temperature_centi(user, day);
    // The trend: a third of the night's deviation, in hundredths.
    let trend = deviation / 3;
    let as_degrees = |centi: i64| json!(centi as f64 / 100.0);
    (score(s), as_degrees(deviation), as_degrees(trend))
}

fn daily_readiness(user: &str, day: NaiveDate) -> Option<Value> {
    let s = life::seed(user, day, "oura-readiness-contributors");
    let (score_value, deviation, trend) = readiness_parts(user, day);
    Some(json!({
        "id": uuid(user, day, "daily_readiness"),
        "day": day.to_string(),
        "timestamp": millis(at_hour(user, day, 0)?),
        "score": score_value,
        "temperature_deviation": deviation,
        "temperature_trend_deviation": trend,
        "contributors": {
            "activity_balance": score(s),
            "body_temperature": score(s >> 6),
            "hrv_balance": score(s >> 12),
            "previous_day_activity": score(s >> 18),
            "previous_night": score(s >> 24),
            "recovery_index": score(s >> 30),
            "resting_heart_rate": score(s >> 36),
            "sleep_balance": score(s >> 42),
            "sleep_regularity": score(s >> 48),
        },
    }))
}

fn daily_spo2(user: &str, day: NaiveDate) -> Value {
    let s = life::seed(user, day, "oura-spo2");
    // 94.0 to 99.9 %, in tenths.
    let average = 940 + i64::try_from(s % 60).unwrap_or(0);
    json!({
        "id": uuid(user, day, "daily_spo2"),
        "day": day.to_string(),
        "spo2_percentage": {"average": tenths(average)},
        "breathing_disturbance_index": (s >> 8) % 15,
    })
}

fn sleep(user: &str, s: &Sleep, id: &str) -> Value {
    let seconds = |phase: Phase| {
        let n = s.phases.iter().filter(|p| **p == phase).count();
        u64::try_from(n).unwrap_or(0) * 300
    };
    let (deep, light, rem, awake) = (
        seconds(Phase::Deep),
        seconds(Phase::Light),
        seconds(Phase::Rem),
        seconds(Phase::Awake),
    );
    let in_bed = deep + light + rem + awake;
    let total = deep + light + rem;
    let source = if s.nap { Source::Rest } else { Source::Sleep };
    let times: Vec<DateTime<Utc>> = s.slot_times().map(|t| t.with_timezone(&Utc)).collect();
    let rates: Vec<u64> = times.iter().map(|t| life::bpm(user, *t, source)).collect();
    let hrvs: Vec<u64> = times.iter().map(|t| life::hrv(user, *t)).collect();
    let series =
        |items: &[u64]| json!({"interval": 300.0, "items": items, "timestamp": millis(s.start)});
    let latency = s.phases.iter().take_while(|p| **p == Phase::Awake).count();
    let hrv_mean = (hrvs.iter().sum::<u64>() + u64::try_from(hrvs.len() / 2).unwrap_or(0))
        / u64::try_from(hrvs.len().max(1)).unwrap_or(1);
    let readiness = (!s.nap).then(|| {
        let (score_value, deviation, trend) = readiness_parts(user, s.day);
        json!({
            "score": score_value,
            "temperature_deviation": deviation,
            "temperature_trend_deviation": trend,
        })
    });
    json!({
        "id": id,
        "day": s.day.to_string(),
        "type": if s.nap { "sleep" } else { "long_sleep" },
        "period": u8::from(s.nap),
        "bedtime_start": secs(s.start),
        "bedtime_end": secs(s.end()),
        "time_in_bed": in_bed,
        "total_sleep_duration": total,
        "deep_sleep_duration": deep,
        "light_sleep_duration": light,
        "rem_sleep_duration": rem,
        "awake_time": awake,
        "efficiency": (total * 100 + in_bed / 2) / in_bed.max(1),
        "latency": u64::try_from(latency).unwrap_or(0) * 300,
        "average_heart_rate": mean(&rates),
        "lowest_heart_rate": rates.iter().min(),
        "average_hrv": hrv_mean,
        "average_breath": tenths(130 + i64::try_from(s.seed % 40).unwrap_or(0)),
        "restless_periods": (s.seed >> 8) % 200,
        "heart_rate": series(&rates),
        "hrv": series(&hrvs),
        "sleep_phase_5_min": s.phases.iter().map(|p| p.digit()).collect::<String>(),
        "low_battery_alert": false,
        "readiness": readiness,
        "sleep_algorithm_version": "v2",
    })
}

fn workout(w: &Workout, id: &str) -> Value {
    json!({
        "id": id,
        "day": w.day.to_string(),
        "activity": w.activity,
        "start_datetime": secs(w.start),
        "end_datetime": secs(w.end),
        "intensity": w.intensity,
        "source": w.source,
        "label": null,
        "calories": tenths(w.calories_tenths),
        "distance": w.distance_tenths.map(tenths),
    })
}
