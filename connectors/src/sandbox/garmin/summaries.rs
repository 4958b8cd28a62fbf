//! The synthetic person's Garmin summaries, one local day at a time, in the shapes
//! Garmin's pulls answer (a push adds the `userId`).
//!
//! Policy: every summary is a pure function of the user and the local day
//! (`person::hash`), in the user's fixed offset (`person::utc_offset`): steps, heart
//! rates and body weight are the person's own readings ([`person::readings`]), the
//! rest is drawn here. The summaries of local day D all lie between D−1 at 20:00
//! and D+1 at 01:00: the night's sleep, HRV and SpO2 end on D's morning, the daily
//! summary covers D. Each is uploaded at the end of its period (a spot reading: when
//! it was taken) plus a delay under an hour fixed per summary; that upload time is
//! what pulls select by. Summary ids are stable: `x{user}-{start in hex}[-{duration
//! in hex}]` as Garmin writes them, an activity's its activity id.

use super::super::person::{self, Kind as Reading};
use chrono::{DateTime, Days, FixedOffset, NaiveDate, TimeZone as _, Utc};
use serde_json::{json, Map, Value};

/// A Garmin summary type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Dailies,
    Sleeps,
    BodyComps,
    PulseOx,
    Respiration,
    Hrv,
    BloodPressures,
    Activities,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Dailies => "dailies",
            Kind::Sleeps => "sleeps",
            Kind::BodyComps => "bodyComps",
            Kind::PulseOx => "pulseOx",
            Kind::Respiration => "respiration",
            Kind::Hrv => "hrv",
            Kind::BloodPressures => "bloodPressures",
            Kind::Activities => "activities",
        }
    }
}

/// Which time a window selects summaries by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum By {
    /// When Garmin received it (pulls, pushes).
    Upload,
    /// When its period starts, or the reading was taken (backfill).
    Start,
}

/// One summary and its times in Unix seconds.
struct Summary {
    start: i64,
    upload: i64,
    id: String,
    record: Map<String, Value>,
}

/// The summaries of `kind` whose upload (or start) time lies in `[from, until)`,
/// uploaded by `now`, in order of start (then id).
pub(super) fn list(
    user: &str,
    kind: Kind,
    by: By,
    from: i64,
    until: i64,
    now: DateTime<Utc>,
) -> Vec<Map<String, Value>> {
    let now = now.timestamp();
    // Nothing before the person was born (1970), nothing uploaded after now.
    let from = from.max(0);
    let until = until.min(now.saturating_add(1));
    if from >= until {
        return Vec::new();
    }
    let offset = person::utc_offset(user);
    let date = |secs: i64| {
        DateTime::from_timestamp(secs, 0).map(|t| t.with_timezone(&offset).date_naive())
    };
    // A summary of day D starts after D−1 20:00 and is uploaded before D+1 02:00.
    let first = date(from).and_then(|d| d.checked_sub_days(Days::new(2)));
    let last = date(until).and_then(|d| d.checked_add_days(Days::new(1)));
    let (Some(first), Some(last)) = (first, last) else {
        return Vec::new();
    };
    let mut out: Vec<Summary> = first
        .iter_days()
        .take_while(|d| *d <= last)
        .flat_map(|d| day(user, kind, offset, d))
        .filter(|s| {
            let key = match by {
                By::Upload => s.upload,
                By::Start => s.start,
            };
            key >= from && key < until && s.upload <= now
        })
        .collect();
    out.sort_by(|a, b| (a.start, &a.id).cmp(&(b.start, &b.id)));
    out.into_iter().map(|s| s.record).collect()
}

/// The user's part of summary ids: 7 hex digits.
pub(super) fn user_key(user: &str) -> String {
    format!("x{:07x}", person::hash(&[user, "garmin-user"]) >> 36)
}

/// What every summary of one user and day is made from.
struct Day<'u> {
    user: &'u str,
    offset: FixedOffset,
    /// `yyyy-mm-dd`.
    text: String,
    /// Local midnight starting the day, Unix seconds.
    midnight: i64,
}

impl Day<'_> {
    fn seed(&self, kind: Kind, salt: &str) -> u64 {
        person::hash(&[self.user, &self.text, kind.name(), salt])
    }

    fn offset_secs(&self) -> i64 {
        i64::from(self.offset.local_minus_utc())
    }

    /// A summary of this day: its upload is `end` plus a delay under an hour.
    fn summary(&self, start: i64, end: i64, id: String, record: Value) -> Summary {
        let delay = person::hash(&[self.user, &id, "upload"]) % 3600;
        Summary {
            start,
            upload: end + i64::try_from(delay).unwrap_or(0),
            id,
            record: match record {
                Value::Object(map) => map,
                _ => Map::new(),
            },
        }
    }

    /// `x{user}-{start}-{duration}` in hex.
    fn id(&self, start: i64, duration: Option<i64>) -> String {
        match duration {
            Some(d) => format!("{}-{start:x}-{d:x}", user_key(self.user)),
            None => format!("{}-{start:x}", user_key(self.user)),
        }
    }
}

fn day(user: &str, kind: Kind, offset: FixedOffset, date: NaiveDate) -> Vec<Summary> {
    let Some(midnight) = date
        .and_hms_opt(0, 0, 0)
        .and_then(|t| offset.from_local_datetime(&t).single())
    else {
        return Vec::new();
    };
    let d = Day {
        user,
        offset,
        text: date.to_string(),
        midnight: midnight.timestamp(),
    };
    match kind {
        Kind::Dailies => daily(&d).into_iter().collect(),
        Kind::Sleeps => vec![sleep(&d)],
        Kind::Hrv => vec![hrv(&d)],
        Kind::PulseOx => vec![pulse_ox(&d)],
        Kind::Respiration => respiration(&d),
        Kind::BodyComps => body_comp(&d).into_iter().collect(),
        Kind::BloodPressures => blood_pressure(&d).into_iter().collect(),
        Kind::Activities => activity(&d).into_iter().collect(),
    }
}

/// The person's readings of `kind` in `[start, end)` (Unix seconds), as numbers.
fn readings(user: &str, kind: Reading, start: i64, end: i64) -> Vec<(i64, String)> {
    let (Some(from), Some(until)) = (
        DateTime::from_timestamp(start, 0),
        DateTime::from_timestamp(end, 0),
    ) else {
        return Vec::new();
    };
    person::readings(user, kind, from, until, DateTime::<Utc>::MAX_UTC)
        .map(|r| (r.start.timestamp(), r.value))
        .collect()
}

/// `n / 100` as a JSON number (`7803.12`).
fn hundredths(n: u64) -> Value {
    json!(n as f64 / 100.0)
}

fn daily(d: &Day<'_>) -> Option<Summary> {
    let start = d.midnight;
    let end = start + 86_400;
    let steps: u64 = readings(d.user, Reading::Steps, start, start + 1)
        .first()?
        .1
        .parse()
        .ok()?;
    let rates: Vec<u64> = readings(d.user, Reading::HeartRate, start, end)
        .iter()
        .filter_map(|(_, v)| v.parse().ok())
        .collect();
    let seed = d.seed(Kind::Dailies, "");
    let stride_cm = 65 + person::hash(&[d.user, "stride"]) % 20;
    let id = d.id(start, Some(86_400));
    let mut record = json!({
        "summaryId": id,
        "calendarDate": d.text,
        "activityType": "WALKING",
        "activeKilocalories": steps / 25 + seed % 150,
        "bmrKilocalories": 1450 + person::hash(&[d.user, "bmr"]) % 400,
        "steps": steps,
        "distanceInMeters": hundredths(steps * stride_cm),
        "durationInSeconds": 86_400,
        "activeTimeInSeconds": steps * 6 / 10,
        "startTimeInSeconds": start,
        "startTimeOffsetInSeconds": d.offset_secs(),
        "moderateIntensityDurationInSeconds": 60 * (seed % 40),
        "vigorousIntensityDurationInSeconds": 60 * ((seed >> 8) % 20),
        "floorsClimbed": (seed >> 16) % 15,
        "stepsGoal": 10_000,
    });
    if let (Some(min), Some(max), Some(map)) = (
        rates.iter().min(),
        rates.iter().max(),
        record.as_object_mut(),
    ) {
        let average = rates.iter().sum::<u64>() / rates.len() as u64;
        map.insert("minHeartRateInBeatsPerMinute".to_owned(), json!(min));
        map.insert(
            "averageHeartRateInBeatsPerMinute".to_owned(),
            json!(average),
        );
        map.insert("maxHeartRateInBeatsPerMinute".to_owned(), json!(max));
        map.insert("restingHeartRateInBeatsPerMinute".to_owned(), json!(min));
    }
    Some(d.summary(start, end, id, record))
}

/// The night ending on the day's morning: start, and seconds of each part.
struct Night {
    start: i64,
    duration: i64,
    deep: i64,
    light: i64,
    rem: i64,
    awake: i64,
    unmeasurable: i64,
}

fn night(d: &Day<'_>) -> Night {
    let seed = d.seed(Kind::Sleeps, "");
    let part = |shift: u32, modulus: u64, base: u64| {
        i64::try_from(base + (seed >> shift) % modulus).unwrap_or(0)
    };
    // To bed between 22:00 and 23:59 the evening before, for 6 to 8½ hours.
    let start = d.midnight - 2 * 3600 + part(0, 7200, 0);
    let duration = 6 * 3600 + 60 * part(13, 150, 0);
    let awake = duration * part(21, 8, 3) / 100;
    let unmeasurable = if seed.is_multiple_of(10) {
        60 * part(29, 10, 1)
    } else {
        0
    };
    let asleep = duration - awake - unmeasurable;
    let deep = asleep * part(33, 10, 15) / 100;
    let rem = asleep * part(41, 8, 18) / 100;
    Night {
        start,
        duration,
        deep,
        light: asleep - deep - rem,
        rem,
        awake,
        unmeasurable,
    }
}

fn sleep(d: &Day<'_>) -> Summary {
    let n = night(d);
    let seed = d.seed(Kind::Sleeps, "score");
    let score = 55 + seed % 41;
    let qualifier = match score {
        90.. => "EXCELLENT",
        80..=89 => "GOOD",
        60..=79 => "FAIR",
        _ => "POOR",
    };
    // Light, deep, light, REM, then awake; the unmeasurable time is not mapped.
    let mut at = n.start;
    let mut block = |secs: i64| {
        let b = json!({"startTimeInSeconds": at, "endTimeInSeconds": at + secs});
        at += secs;
        b
    };
    let first_light = block(n.light / 2);
    let deep = block(n.deep);
    let second_light = block(n.light - n.light / 2);
    let rem = block(n.rem);
    let awake = block(n.awake);
    let id = d.id(n.start, Some(n.duration));
    let record = json!({
        "summaryId": id,
        "calendarDate": d.text,
        "durationInSeconds": n.duration,
        "startTimeInSeconds": n.start,
        "startTimeOffsetInSeconds": d.offset_secs(),
        "unmeasurableSleepDurationInSeconds": n.unmeasurable,
        "deepSleepDurationInSeconds": n.deep,
        "lightSleepDurationInSeconds": n.light,
        "remSleepInSeconds": n.rem,
        "awakeDurationInSeconds": n.awake,
        "sleepLevelsMap": {
            "deep": [deep],
            "light": [first_light, second_light],
            "rem": [rem],
            "awake": [awake],
        },
        "validation": "ENHANCED_FINAL",
        "overallSleepScore": {"value": score, "qualifierKey": qualifier},
    });
    d.summary(n.start, n.start + n.duration, id, record)
}

fn hrv(d: &Day<'_>) -> Summary {
    let n = night(d);
    let seed = d.seed(Kind::Hrv, "");
    // A base of 30–69 ms per user, ±7 from night to night.
    let average = 23 + person::hash(&[d.user, "hrv"]) % 40 + seed % 15;
    let values: Map<String, Value> = (1..=n.duration / 300)
        .map(|i| {
            let v = person::hash(&[d.user, &d.text, "hrv", &i.to_string()]) % 31;
            ((i * 300).to_string(), json!(average + v - 15))
        })
        .collect();
    let id = d.id(n.start, None);
    let record = json!({
        "summaryId": id,
        "calendarDate": d.text,
        "lastNightAvg": average,
        "lastNight5MinHigh": average + 10 + (seed >> 8) % 20,
        "startTimeOffsetInSeconds": d.offset_secs(),
        "durationInSeconds": n.duration,
        "startTimeInSeconds": n.start,
        "hrvValues": values,
    });
    d.summary(n.start, n.start + n.duration, id, record)
}

fn pulse_ox(d: &Day<'_>) -> Summary {
    let seed = d.seed(Kind::PulseOx, "");
    // An hour of readings, one a minute, starting between 01:00 and 01:59.
    let start = d.midnight + 3600 + 60 * i64::try_from(seed % 60).unwrap_or(0);
    let duration = 3600;
    let values: Map<String, Value> = (0..60)
        .map(|i| {
            let v = person::hash(&[d.user, &d.text, "spo2", &i.to_string()]);
            ((i * 60).to_string(), json!(93 + v % 7))
        })
        .collect();
    let id = d.id(start, Some(duration));
    let record = json!({
        "summaryId": id,
        "calendarDate": d.text,
        "startTimeInSeconds": start,
        "durationInSeconds": duration,
        "startTimeOffsetInSeconds": d.offset_secs(),
        "timeOffsetSpo2Values": values,
        "onDemand": false,
    });
    d.summary(start, start + duration, id, record)
}

/// A quarter-hour of breathing every three hours, a rate a minute.
fn respiration(d: &Day<'_>) -> Vec<Summary> {
    (0..8)
        .map(|slot: i64| {
            let start = d.midnight + slot * 3 * 3600;
            let duration = 900;
            let asleep = slot < 2;
            let values: Map<String, Value> = (0..15)
                .map(|i: i64| {
                    let key = format!("{slot}:{i}");
                    let v = person::hash(&[d.user, &d.text, "respiration", &key]) % 16;
                    // 12–15.75 breaths a minute asleep, 14–17.75 awake, in quarters.
                    let base = if asleep { 48 } else { 56 };
                    ((i * 60).to_string(), json!((base + v) as f64 / 4.0))
                })
                .collect();
            let id = d.id(start, None);
            let record = json!({
                "summaryId": id,
                "startTimeInSeconds": start,
                "durationInSeconds": duration,
                "startTimeOffsetInSeconds": d.offset_secs(),
                "timeOffsetEpochToBreaths": values,
            });
            d.summary(start, start + duration, id, record)
        })
        .collect()
}

fn body_comp(d: &Day<'_>) -> Option<Summary> {
    let (at, kg) = readings(d.user, Reading::BodyWeight, d.midnight, d.midnight + 86_400)
        .into_iter()
        .next()?;
    // `72.50` kg is 72 500 g.
    let (whole, cents) = kg.split_once('.')?;
    let grams = whole.parse::<u64>().ok()? * 1000 + cents.parse::<u64>().ok()? * 10;
    let height_cm = 160 + person::hash(&[d.user, "height"]) % 35;
    let seed = d.seed(Kind::BodyComps, "");
    let id = d.id(at, None);
    let record = json!({
        "summaryId": id,
        "measurementTimeInSeconds": at,
        "measurementTimeOffsetInSeconds": d.offset_secs(),
        "muscleMassInGrams": grams * 42 / 1000 * 10,
        "boneMassInGrams": grams * 4 / 1000 * 10,
        "bodyWaterInPercent": json!((500 + seed % 100) as f64 / 10.0),
        "bodyFatInPercent": json!((150 + (seed >> 8) % 150) as f64 / 10.0),
        // kg / m² = g · 10 / cm², in hundredths.
        "bodyMassIndex": hundredths(grams * 1000 / (height_cm * height_cm)),
        "weightInGrams": grams,
    });
    Some(d.summary(at, at, id, record))
}

/// A reading on one day in three, between 08:00 and 08:59.
fn blood_pressure(d: &Day<'_>) -> Option<Summary> {
    let seed = d.seed(Kind::BloodPressures, "");
    if !seed.is_multiple_of(3) {
        return None;
    }
    let at = d.midnight + 8 * 3600 + i64::try_from((seed >> 4) % 3600).ok()?;
    let user = person::hash(&[d.user, "blood-pressure"]);
    let id = d.id(at, None);
    let record = json!({
        "summaryId": id,
        "systolic": 108 + user % 15 + (seed >> 16) % 15,
        "diastolic": 68 + user % 8 + (seed >> 24) % 10,
        "pulse": 58 + (seed >> 32) % 25,
        "sourceType": "DEVICE",
        "measurementTimeInSeconds": at,
        "measurementTimeOffsetInSeconds": d.offset_secs(),
    });
    Some(d.summary(at, at, id, record))
}

/// Garmin's type, the name's noun, speed in cm/s (0: no distance), active kcal a
/// minute, steps a minute.
const SPORTS: [(&str, &str, u64, u64, u64); 5] = [
    ("RUNNING", "Run", 250, 11, 165),
    ("CYCLING", "Ride", 550, 9, 0),
    ("WALKING", "Walk", 130, 4, 110),
    ("STRENGTH_TRAINING", "Strength", 0, 6, 0),
    ("YOGA", "Yoga", 0, 3, 0),
];

/// A workout on two days in three, in the morning or the evening.
fn activity(d: &Day<'_>) -> Option<Summary> {
    let seed = d.seed(Kind::Activities, "");
    if seed.is_multiple_of(3) {
        return None;
    }
    let (sport, noun, speed, kcal, cadence) =
        *SPORTS.get(usize::try_from((seed >> 4) % 5).ok()?)?;
    let morning = (seed >> 8).is_multiple_of(2);
    let (hour, part) = if morning {
        (6, "Morning")
    } else {
        (17, "Evening")
    };
    let start = d.midnight + hour * 3600 + 1800 + 60 * i64::try_from((seed >> 12) % 90).ok()?;
    let duration = 1200 + (seed >> 20) % 4200;
    let minutes = duration / 60;
    let speed = if speed == 0 {
        0
    } else {
        speed + (seed >> 32) % (speed / 5)
    };
    let activity_id =
        10_000_000_000 + person::hash(&[d.user, &d.text, "activity-id"]) % 90_000_000_000;
    let average_hr = 105 + (seed >> 40) % 50;
    let mut record = json!({
        "summaryId": activity_id.to_string(),
        "activityId": activity_id,
        "activityName": format!("{part} {noun}"),
        "activityType": sport,
        "startTimeInSeconds": start,
        "startTimeOffsetInSeconds": d.offset_secs(),
        "durationInSeconds": duration,
        "averageHeartRateInBeatsPerMinute": average_hr,
        "maxHeartRateInBeatsPerMinute": average_hr + 10 + (seed >> 48) % 20,
        "activeKilocalories": kcal * minutes,
        "deviceName": "Forerunner 265",
    });
    if let Some(map) = record.as_object_mut() {
        if speed > 0 {
            map.insert(
                "averageSpeedInMetersPerSecond".to_owned(),
                hundredths(speed),
            );
            map.insert("distanceInMeters".to_owned(), hundredths(speed * duration));
        }
        if cadence > 0 {
            map.insert("steps".to_owned(), json!(cadence * minutes));
        }
    }
    let duration = i64::try_from(duration).ok()?;
    Some(d.summary(start, start + duration, activity_id.to_string(), record))
}
