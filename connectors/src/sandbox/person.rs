//! The synthetic person behind each sandbox user: what they measured, day by day.
//!
//! Policy: everything is a pure function of (user, local day, kind), so the same user
//! and day always yield the same readings, in any process and on any Rust release.
//! The hash is FNV-1a 64 with a SplitMix64 finaliser, implemented here (std's
//! `DefaultHasher` may change between releases). Readings are vendor-neutral; each
//! vendor twin renders them in its own payload shape. Nothing is ever produced that
//! lies after `now`: a day's step count exists once the day is over.

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Offset, TimeZone, Utc};

/// What a reading measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Steps per local day.
    Steps,
    /// A spot heart rate every 15 minutes from 06:00 to 22:00 (last one 21:45).
    HeartRate,
    /// A spot body weight each morning around 07:00.
    BodyWeight,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Steps => "steps",
            Kind::HeartRate => "heart_rate",
            Kind::BodyWeight => "body_weight",
        }
    }
}

/// Which of the person's devices took a reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DeviceKind {
    Band,
    Scale,
}

/// One measurement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reading {
    pub kind: Kind,
    pub start: DateTime<FixedOffset>,
    /// Present for interval readings (steps per day).
    pub end: Option<DateTime<FixedOffset>>,
    /// Decimal text: `8123`, `72`, `72.50`.
    pub value: String,
    pub device: DeviceKind,
    /// A stable id for the reading, unique per user.
    pub key: u64,
}

/// FNV-1a 64 over the parts (each followed by a 0 byte, so `("ab","c")` and
/// `("a","bc")` differ), finished with SplitMix64 so small moduli are well spread.
pub(crate) fn hash(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.bytes().chain(std::iter::once(0)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    let mut z = h;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The offsets users live at, in seconds east of UTC: +01:00, -05:00, +05:30,
/// +00:00, +09:00.
const OFFSETS: [i32; 5] = [3600, -5 * 3600, 5 * 3600 + 1800, 0, 9 * 3600];

/// The user's fixed UTC offset. `sandbox-user-N` takes the offsets in turn
/// (`sandbox-user-1` is +01:00, `-2` is -05:00, …) so tests can pick one; any other
/// name is placed by its hash.
pub(crate) fn utc_offset(user: &str) -> FixedOffset {
    let numbered = user
        .strip_prefix("sandbox-user-")
        .and_then(|n| n.parse::<u64>().ok())
        .filter(|n| *n > 0);
    let index = match numbered {
        Some(n) => (n - 1) % 5,
        None => hash(&[user, "offset"]) % 5,
    };
    OFFSETS
        .get(usize::try_from(index).unwrap_or(0))
        .and_then(|secs| FixedOffset::east_opt(*secs))
        .unwrap_or_else(|| Utc.fix())
}

/// The readings of `kind` whose start lies in `[from, until)` and which are over by
/// `now`, in order of start. The person was born with the Unix epoch: nothing lies
/// before 1970 (which also keeps local dates far from the ends of chrono's range).
pub(crate) fn readings<'u>(
    user: &'u str,
    kind: Kind,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> impl Iterator<Item = Reading> + 'u {
    let offset = utc_offset(user);
    let from = from.max(DateTime::<Utc>::UNIX_EPOCH);
    let first = from.with_timezone(&offset).date_naive();
    std::iter::successors(Some(first), |d| d.succ_opt())
        .take_while(move |d| local(offset, *d, 0, 0).is_some_and(|t| t < until && t <= now))
        .flat_map(move |d| day(user, kind, offset, d))
        .filter(move |r| r.start >= from && r.start < until && r.end.unwrap_or(r.start) <= now)
}

/// A local time on a local day.
fn local(offset: FixedOffset, day: NaiveDate, h: u32, m: u32) -> Option<DateTime<FixedOffset>> {
    offset
        .from_local_datetime(&day.and_hms_opt(h, m, 0)?)
        .single()
}

/// Every reading of `kind` on one local day.
fn day(user: &str, kind: Kind, offset: FixedOffset, d: NaiveDate) -> Vec<Reading> {
    let date = d.to_string();
    let seed = hash(&[user, &date, kind.name()]);
    match kind {
        Kind::Steps => steps(offset, d, seed).into_iter().collect(),
        Kind::HeartRate => heart_rate(user, offset, d, &date),
        Kind::BodyWeight => body_weight(user, offset, d, seed).into_iter().collect(),
    }
}

fn steps(offset: FixedOffset, d: NaiveDate, seed: u64) -> Option<Reading> {
    let start = local(offset, d, 0, 0)?;
    Some(Reading {
        kind: Kind::Steps,
        start,
        end: Some(start.checked_add_signed(Duration::days(1))?),
        value: (2000 + seed % 12_001).to_string(),
        device: DeviceKind::Band,
        key: seed,
    })
}

fn heart_rate(user: &str, offset: FixedOffset, d: NaiveDate, date: &str) -> Vec<Reading> {
    // A resting rate per user, noise per reading, and now and then some exercise:
    // 55–69 + 0–39 + 0–40 stays within 50–150.
    let resting = 55 + hash(&[user, "resting"]) % 15;
    (0..64u32)
        .filter_map(|slot| {
            let minutes = 6 * 60 + 15 * slot;
            let start = local(offset, d, minutes / 60, minutes % 60)?;
            let seed = hash(&[user, date, "heart_rate", &slot.to_string()]);
            let exercise = if seed.is_multiple_of(20) {
                (seed >> 8) % 41
            } else {
                0
            };
            Some(Reading {
                kind: Kind::HeartRate,
                start,
                end: None,
                value: (resting + (seed >> 16) % 40 + exercise).to_string(),
                device: DeviceKind::Band,
                key: seed,
            })
        })
        .collect()
}

fn body_weight(user: &str, offset: FixedOffset, d: NaiveDate, seed: u64) -> Option<Reading> {
    // Centigrams: a base of 60.00–94.99 kg per user, ±0.50 kg from day to day.
    let base = 6000 + hash(&[user, "weight"]) % 3500;
    let centi = (base + seed % 101).saturating_sub(50);
    let minute = u32::try_from(seed >> 32).unwrap_or(0) % 30;
    Some(Reading {
        kind: Kind::BodyWeight,
        start: local(offset, d, 7, minute)?,
        end: None,
        value: format!("{}.{:02}", centi / 100, centi % 100),
        device: DeviceKind::Scale,
        key: seed,
    })
}
