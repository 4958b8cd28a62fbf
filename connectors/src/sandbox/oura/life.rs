//! What the ring records of the sandbox member: nights, naps, workouts and the heart
//! rate through day and night.
//!
//! Policy: every value is a pure function of the user, the member's local day (or,
//! for heart rate and HRV, the instant) and a kind tag, through [`person::hash`], so
//! it is the same in every process. A night belongs to the day it ends on (Oura's
//! `day` of a sleep period). Heart rate is read every 5 minutes: at the sleep
//! periods' own 5-minute slots while asleep, on the UTC 5-minute grid while awake;
//! a workout or a nap changes its source and level, so the sleep documents'
//! averages are the averages of the readings the heart-rate endpoint serves.

use super::super::person::{self, hash};
use chrono::{DateTime, Duration, FixedOffset, NaiveDate, TimeZone, Utc};

/// Oura's sleep and heart-rate interval, in seconds.
pub(super) const SLOT_SECS: i64 = 300;

/// A sleep stage of one 5-minute slot, as Oura's `sleep_phase_5_min` writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    Deep,
    Light,
    Rem,
    Awake,
}

impl Phase {
    pub fn digit(self) -> char {
        match self {
            Phase::Deep => '1',
            Phase::Light => '2',
            Phase::Rem => '3',
            Phase::Awake => '4',
        }
    }
}

/// One sleep period.
pub(super) struct Sleep {
    /// The day it belongs to.
    pub day: NaiveDate,
    pub start: DateTime<FixedOffset>,
    pub phases: Vec<Phase>,
    /// A daytime nap rather than the night.
    pub nap: bool,
    /// Seeds the values the documents add (breath, restlessness).
    pub seed: u64,
}

impl Sleep {
    pub fn end(&self) -> DateTime<FixedOffset> {
        after(self.start, slots_secs(self.phases.len()))
    }

    /// The start of each 5-minute slot.
    pub fn slot_times(&self) -> impl Iterator<Item = DateTime<FixedOffset>> + '_ {
        (0..self.phases.len()).map(|i| after(self.start, slots_secs(i)))
    }

    fn contains(&self, t: DateTime<Utc>) -> bool {
        self.start <= t && t < self.end()
    }
}

/// A workout.
pub(super) struct Workout {
    pub day: NaiveDate,
    pub activity: &'static str,
    pub start: DateTime<FixedOffset>,
    pub end: DateTime<FixedOffset>,
    pub intensity: &'static str,
    pub source: &'static str,
    /// Tenths of a kcal.
    pub calories_tenths: i64,
    /// Tenths of a metre, for activities that cover a distance.
    pub distance_tenths: Option<i64>,
}

/// What the member was doing at a heart-rate reading (Oura's `source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Source {
    Sleep,
    Rest,
    Awake,
    Workout,
}

impl Source {
    pub fn name(self) -> &'static str {
        match self {
            Source::Sleep => "sleep",
            Source::Rest => "rest",
            Source::Awake => "awake",
            Source::Workout => "workout",
        }
    }
}

/// One heart-rate reading.
pub(super) struct HeartRate {
    pub at: DateTime<Utc>,
    pub bpm: u64,
    pub source: Source,
}

/// Activity, kcal per minute, metres per minute (`None`: no distance).
const ACTIVITIES: [(&str, i64, Option<i64>); 6] = [
    ("walking", 4, Some(85)),
    ("running", 11, Some(165)),
    ("cycling", 9, Some(380)),
    ("strength_training", 6, None),
    ("yoga", 3, None),
    ("swimming", 8, Some(40)),
];

fn after(t: DateTime<FixedOffset>, secs: i64) -> DateTime<FixedOffset> {
    t.checked_add_signed(Duration::seconds(secs)).unwrap_or(t)
}

fn slots_secs(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(0).saturating_mul(SLOT_SECS)
}

/// `h:m` on `day` in the member's zone, plus `secs`.
fn local(user: &str, day: NaiveDate, h: u32, m: u32, secs: u64) -> Option<DateTime<FixedOffset>> {
    let time = person::utc_offset(user)
        .from_local_datetime(&day.and_hms_opt(h, m, 0)?)
        .single()?;
    Some(after(time, i64::try_from(secs).ok()?))
}

/// The member's local date of `t`.
pub(super) fn local_day(user: &str, t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&person::utc_offset(user)).date_naive()
}

/// The hash of `(user, day, kind)`.
pub(super) fn seed(user: &str, day: NaiveDate, kind: &str) -> u64 {
    hash(&[user, &day.to_string(), kind])
}

/// The night that ends on the morning of `day`: to bed between 22:00 and 23:30 the
/// evening before, 7 to 9 hours in bed.
pub(super) fn night(user: &str, day: NaiveDate) -> Option<Sleep> {
    let s = seed(user, day, "oura-night");
    let start = local(user, day.pred_opt()?, 22, 0, s % 19 * 300 + (s >> 8) % 60)?;
    let slots = 84 + (s >> 16) % 25;
    let latency = 1 + (s >> 24) % 3;
    let phases = (0..slots)
        .map(|i| {
            if i < latency || i + 1 == slots {
                return Phase::Awake;
            }
            // Now and then a few minutes awake in the night.
            if hash(&[user, &day.to_string(), "oura-wake", &i.to_string()]) % 100 < 4 {
                return Phase::Awake;
            }
            // 90-minute cycles: deep sleep early in the night, REM late.
            let (cycle, pos) = ((i - latency) / 18, (i - latency) % 18);
            let deep = 6u64.saturating_sub(2 * cycle);
            let rem = (2 + cycle).min(6);
            match pos {
                p if p < 4 => Phase::Light,
                p if p < 4 + deep => Phase::Deep,
                p if p < 18 - rem => Phase::Light,
                _ => Phase::Rem,
            }
        })
        .collect();
    Some(Sleep {
        day,
        start,
        phases,
        nap: false,
        seed: s,
    })
}

/// An afternoon nap of 20 to 45 minutes, one day in seven.
pub(super) fn nap(user: &str, day: NaiveDate) -> Option<Sleep> {
    let s = seed(user, day, "oura-nap");
    if !s.is_multiple_of(7) {
        return None;
    }
    let start = local(user, day, 13, 30, (s >> 8) % 18 * 300 + (s >> 16) % 60)?;
    let slots = 4 + (s >> 24) % 6;
    let phases = (0..slots)
        .map(|i| match i {
            0 => Phase::Awake,
            2 => Phase::Deep,
            _ => Phase::Light,
        })
        .collect();
    Some(Sleep {
        day,
        start,
        phases,
        nap: true,
        seed: s,
    })
}

/// A workout in the early evening, two days in five.
pub(super) fn workout(user: &str, day: NaiveDate) -> Option<Workout> {
    let s = seed(user, day, "oura-workout");
    if s % 5 >= 2 {
        return None;
    }
    let (activity, kcal_per_min, metres_per_min) =
        ACTIVITIES[usize::try_from((s >> 8) % 6).unwrap_or(0)];
    let start = local(user, day, 17, 0, (s >> 16) % 24 * 300 + (s >> 24) % 60)?;
    let secs = i64::try_from((25 + (s >> 32) % 51) * 60 + (s >> 40) % 60).ok()?;
    Some(Workout {
        day,
        activity,
        start,
        end: after(start, secs),
        intensity: ["easy", "moderate", "hard"][usize::try_from((s >> 48) % 3).unwrap_or(0)],
        source: ["autodetected", "confirmed", "manual"]
            [usize::try_from((s >> 52) % 3).unwrap_or(0)],
        calories_tenths: kcal_per_min * secs / 6,
        distance_tenths: metres_per_min.map(|m| m * secs / 6),
    })
}

/// The member's resting heart rate: 48 to 61.
fn resting(user: &str) -> u64 {
    48 + hash(&[user, "oura-resting"]) % 14
}

/// The heart rate at `t` doing `source`.
pub(super) fn bpm(user: &str, t: DateTime<Utc>, source: Source) -> u64 {
    let h = hash(&[user, &t.timestamp().to_string(), "oura-hr"]);
    let base = resting(user);
    match source {
        Source::Sleep => base - 3 + h % 7,
        Source::Rest => base + h % 9,
        Source::Awake => {
            let burst = if (h >> 16).is_multiple_of(25) {
                (h >> 8) % 25
            } else {
                0
            };
            base + 8 + h % 28 + burst
        }
        Source::Workout => 105 + h % 45,
    }
}

/// The heart-rate variability (RMSSD, ms) of the 5-minute slot at `t`.
pub(super) fn hrv(user: &str, t: DateTime<Utc>) -> u64 {
    22 + hash(&[user, &t.timestamp().to_string(), "oura-hrv"]) % 55
}

/// The readings from the start of the night ending on `day` to the start of the
/// next night, in order.
pub(super) fn heart_rate(user: &str, day: NaiveDate) -> Vec<HeartRate> {
    let (Some(sleep), Some(next)) = (
        night(user, day),
        day.succ_opt().and_then(|d| night(user, d)),
    ) else {
        return Vec::new();
    };
    let mut out: Vec<HeartRate> = sleep
        .slot_times()
        .map(|t| t.with_timezone(&Utc))
        .map(|at| HeartRate {
            at,
            bpm: bpm(user, at, Source::Sleep),
            source: Source::Sleep,
        })
        .collect();
    let (nap, workout) = (nap(user, day), workout(user, day));
    let end = sleep.end().timestamp();
    let first = end + (SLOT_SECS - end.rem_euclid(SLOT_SECS)) % SLOT_SECS;
    let awake = std::iter::successors(DateTime::from_timestamp(first, 0), |t| {
        t.checked_add_signed(Duration::seconds(SLOT_SECS))
    })
    .take_while(|t| *t < next.start);
    for at in awake {
        let source = if workout
            .as_ref()
            .is_some_and(|w| w.start <= at && at < w.end)
        {
            Source::Workout
        } else if nap.as_ref().is_some_and(|n| n.contains(at)) {
            Source::Rest
        } else {
            Source::Awake
        };
        out.push(HeartRate {
            at,
            bpm: bpm(user, at, source),
            source,
        });
    }
    out
}
