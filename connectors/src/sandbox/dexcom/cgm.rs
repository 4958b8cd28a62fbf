//! The synthetic person's continuous glucose monitor: one estimated glucose value
//! (EGV) every 5 minutes, from the day their Dexcom history starts.
//!
//! Policy: every reading is a pure function of (user, slot), where slot `k` is the
//! reading taken at `k * 300 + phase` seconds after the epoch (`phase` per user, so
//! readings fall at odd seconds, as a transmitter's do). The curve is a sum of
//! smooth parts, each computable at any instant without walking from the start, so a
//! window of `n` readings costs `O(n)`:
//!
//! - a baseline per user (95–125 mg/dL) and a dawn rise around 06:30 local time;
//! - three meals a day (breakfast now and then skipped) at hashed local times, each a
//!   rise of 25–90 mg/dL peaking after 40–70 minutes and fading over hours;
//! - a slow drift of ±15 mg/dL (hashed knots every 45 minutes, eased between) and a
//!   jitter of ±1 mg/dL per reading;
//! - on some days an excursion: a dip below 40 mg/dL (Dexcom's "LOW": the reading
//!   has no value and `status` `low`), a rise above 400 mg/dL (`high`), or a few
//!   minutes of signal loss (no value, no status).
//!
//! Each day's meals and excursions come from `person::hash(&[user, date, …])` of
//! the local date. The trend rate is the change from the previous reading, per
//! minute, and the trend arrow follows it with Dexcom's thresholds (±1, ±2, ±3
//! mg/dL/min); after signal loss the trend is `notComputable`.

use crate::sandbox::person::{hash, utc_offset};
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use std::collections::HashMap;

/// Seconds between two readings.
pub(super) const SLOT_SECS: i64 = 300;
const DAY_SECS: i64 = 86_400;
/// The sensor reports 40–400 mg/dL; beyond, the reading is `low` or `high`.
const SENSOR_MIN: i64 = 40;
const SENSOR_MAX: i64 = 400;
/// How far (in readings) an excursion reaches from its centre.
const EXCURSION_REACH: i64 = 36;
/// Local minutes of the day an excursion may be centred in (03:00–21:00), so that
/// its reach stays within the day.
const EXCURSION_MINUTES: (u64, u64) = (180, 1260);
/// A member's Dexcom history starts within a year after this (2020-01-01).
const HISTORY_FROM: i64 = 1_577_836_800;

/// Where the member sees their readings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Display {
    /// A G6 receiver: times without a UTC offset, a display clock set by hand
    /// (a few seconds off), a hashed transmitter id.
    Receiver,
    /// The G7 iOS app: times with a UTC offset, no transmitter id.
    Ios,
    /// The G7 Android app: times with a UTC offset, a 6-character transmitter serial.
    Android,
}

impl Display {
    pub fn device(self) -> &'static str {
        match self {
            Display::Receiver => "receiver",
            Display::Ios => "iOS",
            Display::Android => "android",
        }
    }

    pub fn app(self) -> &'static str {
        match self {
            Display::Receiver => "receiver",
            Display::Ios | Display::Android => "G7",
        }
    }

    pub fn generation(self) -> &'static str {
        match self {
            Display::Receiver => "g6",
            Display::Ios | Display::Android => "g7",
        }
    }

    /// Whether times carry a UTC offset (records from the mobile apps do).
    pub fn with_offsets(self) -> bool {
        self != Display::Receiver
    }

    /// Days one transmitter lasts (G6: 90; G7: sensor and transmitter in one, 10).
    fn transmitter_days(self) -> i64 {
        match self {
            Display::Receiver => 90,
            Display::Ios | Display::Android => 10,
        }
    }
}

/// What is fixed about one member's monitor.
pub(super) struct Profile<'u> {
    pub user: &'u str,
    pub offset: FixedOffset,
    pub display: Display,
    /// Seconds into each 5-minute slot a reading is taken (never on a whole minute).
    pub phase: i64,
    /// How far the receiver's display clock is off, in seconds (0 for the apps).
    pub drift: i64,
    /// The first slot with a reading.
    pub first: i64,
    baseline: f64,
}

impl<'u> Profile<'u> {
    pub fn new(user: &'u str) -> Self {
        // `sandbox-user-N` takes the displays in turn (1: receiver, 2: iOS,
        // 3: Android, …), as `person::utc_offset` does with offsets.
        let numbered = user
            .strip_prefix("sandbox-user-")
            .and_then(|n| n.parse::<u64>().ok())
            .filter(|n| *n > 0);
        let index = match numbered {
            Some(n) => (n - 1) % 3,
            None => hash(&[user, "egv-display"]) % 3,
        };
        let display = match index {
            0 => Display::Receiver,
            1 => Display::Ios,
            _ => Display::Android,
        };
        let h = hash(&[user, "egv-profile"]);
        let phase = small(h % 5) * 60 + 1 + small((h >> 8) % 59);
        let drift = match display {
            Display::Receiver => small((h >> 16) % 21) - 10,
            _ => 0,
        };
        let since = HISTORY_FROM + small((h >> 24) % 366) * DAY_SECS;
        Self {
            user,
            offset: utc_offset(user),
            display,
            phase,
            drift,
            first: (since - phase).div_euclid(SLOT_SECS) + 1,
            baseline: 95.0 + f64::from(u32::try_from((h >> 40) % 31).unwrap_or(0)),
        }
    }

    /// When reading `slot` was taken, in seconds since the epoch.
    pub fn time(&self, slot: i64) -> i64 {
        slot * SLOT_SECS + self.phase
    }

    /// The slots of the readings taken in `[from, to]` (both in seconds since the
    /// epoch, both included) and by `now`: `None` when there are none.
    pub fn slots(&self, from: i64, to: i64, now: i64) -> Option<(i64, i64)> {
        let to = to.min(now);
        let first = (from - self.phase + SLOT_SECS - 1)
            .div_euclid(SLOT_SECS)
            .max(self.first);
        let last = (to - self.phase).div_euclid(SLOT_SECS);
        (first <= last).then_some((first, last))
    }

    /// The transmitter of reading `slot`: its period number and the seconds it had
    /// run when it took the reading.
    pub fn transmitter(&self, slot: i64) -> (i64, i64) {
        let per = self.display.transmitter_days() * DAY_SECS / SLOT_SECS;
        (slot.div_euclid(per), slot.rem_euclid(per) * SLOT_SECS + 1)
    }

    /// The transmitter id Dexcom sends for transmitter `period`.
    pub fn transmitter_id(&self, period: i64) -> Option<String> {
        let p = period.to_string();
        match self.display {
            Display::Receiver => Some(hex64(self.user, &p, "egv-transmitter")),
            Display::Ios => None,
            Display::Android => {
                const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKLMNPQRSTUVWXYZ";
                let mut h = hash(&[self.user, &p, "egv-transmitter"]);
                let serial = (0..6)
                    .map(|_| {
                        let i = usize::try_from(h % 34).unwrap_or(0);
                        h /= 34;
                        char::from(ALPHABET.get(i).copied().unwrap_or(b'0'))
                    })
                    .collect();
                Some(serial)
            }
        }
    }
}

/// One reading as Dexcom reports it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Egv {
    pub slot: i64,
    /// mg/dL; `None` beyond the sensor's range or on signal loss.
    pub value: Option<i64>,
    pub status: Option<&'static str>,
    pub trend: Option<&'static str>,
    /// mg/dL/min, one decimal.
    pub rate: Option<f64>,
}

/// The readings of slots `first..=last`, oldest first.
pub(super) fn egvs(p: &Profile<'_>, first: i64, last: i64) -> Vec<Egv> {
    let mut plans = Plans::new(p);
    // The curve one reading before the first, for its trend.
    let mut previous = reading(p, &mut plans, first - 1);
    let mut out = Vec::with_capacity(usize::try_from(last - first + 1).unwrap_or(0));
    for slot in first..=last {
        let current = reading(p, &mut plans, slot);
        let (value, status) = match current {
            Raw::Lost => (None, None),
            Raw::Mg(v) if v < SENSOR_MIN => (None, Some("low")),
            Raw::Mg(v) if v > SENSOR_MAX => (None, Some("high")),
            Raw::Mg(v) => (Some(v), Some("ok")),
        };
        let (trend, rate) = match (value, previous, current) {
            (Some(_), Raw::Mg(before), Raw::Mg(now)) => {
                let rate = rate_per_minute(now - before);
                (Some(trend(rate)), Some(rate))
            }
            (Some(_), Raw::Lost, _) => (Some("notComputable"), None),
            _ => (None, None),
        };
        out.push(Egv {
            slot,
            value,
            status,
            trend,
            rate,
        });
        previous = current;
    }
    out
}

/// The change over one reading, per minute, to one decimal.
fn rate_per_minute(change: i64) -> f64 {
    (float_i(change) * 10.0 / 5.0).round() / 10.0
}

/// Dexcom's arrows for a rate in mg/dL/min.
fn trend(rate: f64) -> &'static str {
    match rate {
        r if r > 3.0 => "doubleUp",
        r if r > 2.0 => "singleUp",
        r if r > 1.0 => "fortyFiveUp",
        r if r >= -1.0 => "flat",
        r if r >= -2.0 => "fortyFiveDown",
        r if r >= -3.0 => "singleDown",
        _ => "doubleDown",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Raw {
    /// The curve, rounded to whole mg/dL (may lie beyond the sensor's range).
    Mg(i64),
    /// Signal loss: the sensor sent nothing usable.
    Lost,
}

/// What happens on one local day.
#[derive(Debug, Clone, Copy)]
struct Plan {
    /// Start (seconds since the epoch), peak in mg/dL, minutes to the peak.
    meals: [Option<(i64, f64, f64)>; 3],
    /// The slots excursions are centred on.
    low: Option<i64>,
    high: Option<i64>,
    /// Signal loss: the first slot and how many readings it lasts.
    lost: Option<(i64, i64)>,
}

/// Day plans, made once per local day a window touches.
struct Plans<'p, 'u> {
    profile: &'p Profile<'u>,
    days: HashMap<i64, Plan>,
}

impl<'p, 'u> Plans<'p, 'u> {
    fn new(profile: &'p Profile<'u>) -> Self {
        Self {
            profile,
            days: HashMap::new(),
        }
    }

    /// The plan of local day `day` (days since 1970-01-01, local).
    fn get(&mut self, day: i64) -> Plan {
        let profile = self.profile;
        *self.days.entry(day).or_insert_with(|| plan(profile, day))
    }
}

fn plan(p: &Profile<'_>, day: i64) -> Plan {
    let midnight = day * DAY_SECS - i64::from(p.offset.local_minus_utc());
    let date = DateTime::<Utc>::from_timestamp(day * DAY_SECS, 0)
        .map_or(NaiveDate::MIN, |t| t.date_naive())
        .to_string();
    let at = |minute: u64| midnight + small(minute) * 60;
    let slot_at = |minute: u64| (at(minute) - p.phase).div_euclid(SLOT_SECS);
    // Breakfast 06:30–08:30 (skipped one day in six), lunch 11:45–13:30, dinner
    // 18:00–20:00.
    let windows: [(u64, u64, &str); 3] = [
        (390, 510, "egv-breakfast"),
        (705, 810, "egv-lunch"),
        (1080, 1200, "egv-dinner"),
    ];
    let meals = windows.map(|(from, to, kind)| {
        let h = hash(&[p.user, &date, kind]);
        if kind == "egv-breakfast" && (h >> 56).is_multiple_of(6) {
            return None;
        }
        let minute = from + h % (to - from);
        let peak = 25.0 + float((h >> 16) % 66);
        let minutes_to_peak = 40.0 + float((h >> 32) % 31);
        Some((at(minute), peak, minutes_to_peak))
    });
    // Each kind of excursion on its own: a dip one day in four, a rise one in six,
    // signal loss one in five.
    let (lo, hi) = EXCURSION_MINUTES;
    let excursion = |kind: &str, one_in: u64| {
        let h = hash(&[p.user, &date, kind]);
        h.is_multiple_of(one_in).then(|| {
            (
                slot_at(lo + (h >> 16) % (hi - lo)),
                2 + small((h >> 48) % 3),
            )
        })
    };
    Plan {
        meals,
        low: excursion("egv-low", 4).map(|(centre, _)| centre),
        high: excursion("egv-high", 6).map(|(centre, _)| centre),
        lost: excursion("egv-lost", 5),
    }
}

/// The curve at reading `slot`.
fn reading(p: &Profile<'_>, plans: &mut Plans<'_, '_>, slot: i64) -> Raw {
    let t = p.time(slot);
    let local = t + i64::from(p.offset.local_minus_utc());
    let day = local.div_euclid(DAY_SECS);
    let (yesterday, today, tomorrow) = (plans.get(day - 1), plans.get(day), plans.get(day + 1));

    let hour = float_i(local.rem_euclid(DAY_SECS)) / 3600.0;
    let dawn = 18.0 * (-((hour - 6.5) / 1.2).powi(2)).exp();
    let meals: f64 = [yesterday, today]
        .iter()
        .flat_map(|plan| plan.meals.iter().flatten())
        .filter(|&&(start, _, _)| (0..=6 * 3600).contains(&(t - start)))
        .map(|&(start, peak, to_peak)| {
            let x = float_i(t - start) / 60.0 / to_peak;
            peak * x * x * (2.0 * (1.0 - x)).exp()
        })
        .sum();
    let slot_text = slot.to_string();
    let jitter = float(hash(&[p.user, &slot_text, "egv-jitter"]) % 3) - 1.0;
    let mut mg = (p.baseline + dawn + meals + drift(p.user, t) + jitter).round();

    let days = [yesterday, today, tomorrow];
    for plan in days {
        if let Some(centre) = plan.high {
            let reach = (slot - centre).abs();
            if reach <= EXCURSION_REACH {
                mg = mg.max(404.0 - 12.0 * float_i(reach));
            }
        }
    }
    for plan in days {
        if let Some(centre) = plan.low {
            let reach = (slot - centre).abs();
            if reach <= EXCURSION_REACH {
                mg = mg.min(32.0 + 6.0 * float_i(reach));
            }
        }
    }
    if days.iter().any(|plan| {
        plan.lost
            .is_some_and(|(from, len)| (from..from + len).contains(&slot))
    }) {
        return Raw::Lost;
    }
    // Within ±1000 by construction: the cast cannot truncate.
    #[allow(clippy::cast_possible_truncation)]
    Raw::Mg(mg as i64)
}

/// The slow drift at `t`: knots of ±15 mg/dL every 45 minutes, eased between.
fn drift(user: &str, t: i64) -> f64 {
    const KNOT_SECS: i64 = 2700;
    let knot = |j: i64| float(hash(&[user, &j.to_string(), "egv-drift"]) % 3001) / 100.0 - 15.0;
    let j = t.div_euclid(KNOT_SECS);
    let frac = float_i(t.rem_euclid(KNOT_SECS)) / float_i(KNOT_SECS);
    let ease = (1.0 - (frac * std::f64::consts::PI).cos()) / 2.0;
    knot(j) * (1.0 - ease) + knot(j + 1) * ease
}

/// 64 hexadecimal digits (how Dexcom writes user and transmitter ids).
pub(super) fn hex64(user: &str, part: &str, kind: &str) -> String {
    (0..4)
        .map(|i| format!("{:016x}", hash(&[user, part, kind, &i.to_string()])))
        .collect()
}

/// A small hashed number as an `i64` (the modulus keeps it far below `i64::MAX`).
fn small(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(0)
}

/// A small hashed number as a float.
fn float(n: u64) -> f64 {
    f64::from(u32::try_from(n).unwrap_or(0))
}

/// An `i64` of a few days' seconds at most as a float.
fn float_i(n: i64) -> f64 {
    f64::from(i32::try_from(n).unwrap_or(0))
}
