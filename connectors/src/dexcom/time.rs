//! Dexcom's notions of time, and how a reading gets its UTC offset.
//!
//! Policy: a reading happened at `systemTime`, "the UTC time according to the
//! device"; `displayTime` is "the time being shown on the device to the user",
//! which the user may set, so its offset from `systemTime` may change (endpoint
//! overview, Time). The offset a reading keeps is therefore the display clock minus
//! the system clock, **rounded to the nearest quarter hour**:
//!
//! - Every UTC offset in use is a whole multiple of 15 minutes (`+05:45`, `+12:45`),
//!   while a hand-set receiver clock drifts from the system clock by seconds or
//!   minutes. Dexcom's own devices example shows it: `systemTime`
//!   `2021-04-05T17:53:03Z`, `displayTime` `2021-04-05T10:52:48-06:59:59`, 15 s
//!   behind; rounded, that is `-07:00`. Drift under 7.5 minutes is absorbed.
//! - The display clock is read from `displayTime`'s own digits; an offset written
//!   after them (mobile apps add one, receivers do not) is not needed, since the
//!   digits are what the member saw.
//! - A difference outside -12:00…+14:00 is no time zone but a display clock set to
//!   another day: the reading then keeps its instant in UTC (`+00:00`).
//! - A receiver that has no notion of local time shows UTC: such readings are
//!   `+00:00`, the best that can be known.
//!
//! Each reading is computed on its own, so a DST change (or a trip) between two
//! readings gives each its own offset. The instant is always `systemTime`'s; the
//! local time shown in the output is that instant at the rounded offset, which can
//! differ from `displayTime` by the drift.
//!
//! Dexcom Share's `/Date(ms±hhmm)/` stamps follow the same rule: the display clock
//! is `DT`'s milliseconds plus its suffix (older payloads write the local clock with
//! `+0000`, newer ones the instant with the offset: both give the same clock), the
//! instant is `ST` (`WT` when `ST` is absent).

use chrono::{DateTime, Datelike as _, Duration, FixedOffset, NaiveDateTime, Offset as _, Utc};

/// The widest offset from UTC any zone uses, in each direction.
const WEST_LIMIT: i64 = -12 * 3600;
const EAST_LIMIT: i64 = 14 * 3600;
/// A quarter of an hour, in seconds.
const QUARTER: i64 = 900;

/// A Dexcom timestamp as written: the clock digits, and the offset written after
/// them, if any (seconds east of UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub clock: NaiveDateTime,
    pub offset: Option<i32>,
}

impl Stamp {
    /// The instant: the clock at its written offset, or in UTC without one (Dexcom
    /// writes `systemTime` in UTC).
    pub fn instant(&self) -> Option<DateTime<Utc>> {
        let shift = Duration::seconds(i64::from(self.offset.unwrap_or(0)));
        self.clock.checked_sub_signed(shift).map(|t| t.and_utc())
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.fff]` followed by nothing, `Z`, or `±HH[:MM[:SS]]` /
/// `±HHMM[SS]`. Dexcom writes offsets with seconds (`-06:59:59`), which RFC 3339
/// parsers refuse.
pub fn parse_stamp(text: &str) -> Option<Stamp> {
    let (date, time) = text.split_once('T')?;
    let zone_at = time.find(['Z', 'z', '+', '-']).unwrap_or(time.len());
    let (clock, zone) = time.split_at(zone_at);
    // Seconds are required: `%.f` takes an optional fraction after them.
    if clock.len() < 8 || !clock.is_ascii() {
        return None;
    }
    let clock =
        NaiveDateTime::parse_from_str(&format!("{date}T{clock}"), "%Y-%m-%dT%H:%M:%S%.f").ok()?;
    Some(Stamp {
        clock,
        offset: parse_zone(zone)?,
    })
}

/// `""` (none), `Z`, or a signed `HH`, `HH:MM`, `HH:MM:SS`, `HHMM`, `HHMMSS`.
fn parse_zone(zone: &str) -> Option<Option<i32>> {
    if zone.is_empty() {
        return Some(None);
    }
    if zone.eq_ignore_ascii_case("z") {
        return Some(Some(0));
    }
    let (sign, digits) = match (zone.strip_prefix('+'), zone.strip_prefix('-')) {
        (Some(rest), _) => (1, rest),
        (_, Some(rest)) => (-1, rest),
        _ => return None,
    };
    let compact: String = digits.chars().filter(|c| *c != ':').collect();
    let colons_ok = !digits.contains(':') || digits.split(':').all(|p| p.len() == 2);
    if !colons_ok || !matches!(compact.len(), 2 | 4 | 6) || !compact.is_ascii() {
        return None;
    }
    let part = |i: usize| -> Option<i32> {
        match compact.get(i..i + 2) {
            None => Some(0),
            Some(p) if p.bytes().all(|b| b.is_ascii_digit()) => p.parse().ok(),
            Some(_) => None,
        }
    };
    let (h, m, s) = (part(0)?, part(2)?, part(4)?);
    (h < 24 && m < 60 && s < 60).then_some(Some(sign * (h * 3600 + m * 60 + s)))
}

/// The offset a reading keeps: the display clock minus the instant, rounded to the
/// quarter hour; UTC when that is no real offset (see the module policy).
pub fn display_offset(display_clock: NaiveDateTime, instant: DateTime<Utc>) -> FixedOffset {
    let utc = Utc.fix();
    let diff = display_clock
        .signed_duration_since(instant.naive_utc())
        .num_seconds();
    let rounded = diff.saturating_add(QUARTER / 2).div_euclid(QUARTER) * QUARTER;
    if !(WEST_LIMIT..=EAST_LIMIT).contains(&rounded) {
        return utc;
    }
    i32::try_from(rounded)
        .ok()
        .and_then(FixedOffset::east_opt)
        .unwrap_or(utc)
}

/// Whether a reading's time can be real and written as FHIR writes years (four
/// digits): from 1970 to 9999, in UTC and at its offset.
pub fn plausible(t: DateTime<FixedOffset>) -> bool {
    let years = 1970..=9999;
    years.contains(&t.year()) && years.contains(&t.naive_utc().year())
}

/// A request date as Dexcom's examples write them: UTC, whole seconds, no offset
/// (`2022-02-06T09:12:35`).
pub fn request_date(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S").to_string()
}

/// A .NET JSON date as Dexcom Share writes it: `/Date(1587165223000+0000)/` or
/// `Date(1587165223000)`: milliseconds since the epoch and an optional `±HHMM`.
pub fn parse_net_date(text: &str) -> Option<(i64, Option<i32>)> {
    let inner = text.strip_prefix('/').unwrap_or(text);
    let inner = inner.strip_suffix('/').unwrap_or(inner);
    let inner = inner.strip_prefix("Date(")?.strip_suffix(')')?;
    // A zone sign may follow the digits; a leading `-` is the number's own.
    let zone_at = inner
        .char_indices()
        .skip(1)
        .find(|(_, c)| *c == '+' || *c == '-')
        .map_or(inner.len(), |(i, _)| i);
    let (millis, zone) = inner.split_at(zone_at);
    let digits = millis.strip_prefix('-').unwrap_or(millis);
    if digits.is_empty() || digits.len() > 18 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let millis: i64 = millis.parse().ok()?;
    let offset = if zone.is_empty() {
        None
    } else if zone.len() == 5 {
        parse_zone(zone)?
    } else {
        return None;
    };
    Some((millis, offset))
}
