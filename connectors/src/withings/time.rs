//! Withings times: epoch seconds plus an IANA zone name, and local calendar days.
//!
//! Policy: every time keeps the offset in force at that instant in the zone the
//! record names (`"timezone": "Europe/Paris"` gives `+02:00` in July and `+01:00`
//! in January), so a weigh-in at 23:30 stays on its day. A day runs from the
//! member's local midnight to the next one, with the offset of each: a day of a
//! DST change lasts 23 or 25 hours and never shifts. Where a zone skips midnight,
//! the day starts at the first local time that exists.

use chrono::{DateTime, Duration, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;

/// The zone an IANA name (`Europe/Paris`, `UTC`) stands for.
pub(super) fn zone(name: &str) -> Option<Tz> {
    name.parse::<Tz>().ok()
}

/// Epoch seconds in `zone`, with the offset in force then.
pub(super) fn instant(seconds: i64, zone: Tz) -> Option<DateTime<FixedOffset>> {
    crate::raw::epoch(seconds, &zone)
}

/// The member's day `date` in `zone`: its local midnight and the next one.
/// `None` when the zone skipped the whole date (Samoa, 2011-12-30).
pub(super) fn day(
    zone: Tz,
    date: NaiveDate,
) -> Option<(DateTime<FixedOffset>, DateTime<FixedOffset>)> {
    let start = first_local(zone, date.and_hms_opt(0, 0, 0)?)?;
    if start.date_naive() != date {
        return None;
    }
    let end = first_local(zone, date.succ_opt()?.and_hms_opt(0, 0, 0)?)?;
    Some((start, end))
}

/// The first local time at or after `local` that exists in `zone`: `local` itself,
/// or where a DST gap (or a move across the date line) swallows it, the first
/// minute after the gap. An ambiguous time (clocks set back over it) is the
/// earlier instant.
fn first_local(zone: Tz, local: NaiveDateTime) -> Option<DateTime<FixedOffset>> {
    // The longest jump on record is a whole day (Samoa, 2011).
    for minute in 0..=2 * 24 * 60 {
        let t = local.checked_add_signed(Duration::minutes(minute))?;
        match zone.from_local_datetime(&t) {
            LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => return Some(t.fixed_offset()),
            LocalResult::None => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    fn text(t: Option<DateTime<FixedOffset>>) -> String {
        t.map(|t| t.to_rfc3339()).unwrap_or_default()
    }

    #[test]
    fn instants_carry_the_offset_of_their_season() {
        let paris = zone("Europe/Paris").unwrap_or(Tz::UTC);
        assert_eq!(
            text(instant(1_618_691_453, paris)),
            "2021-04-17T22:30:53+02:00"
        );
        assert_eq!(
            text(instant(1_610_000_000, paris)),
            "2021-01-07T07:13:20+01:00"
        );
        assert_eq!(text(instant(0, Tz::UTC)), "1970-01-01T00:00:00+00:00");
        assert_eq!(instant(i64::MAX, paris), None);
        assert_eq!(zone("Mars/Olympus_Mons"), None);
        assert_eq!(zone("europe/paris"), None);
    }

    #[test]
    fn days_run_midnight_to_midnight_across_dst() {
        let paris = zone("Europe/Paris").unwrap_or(Tz::UTC);
        let (start, end) = day(paris, date(2024, 3, 31)).unwrap_or_default();
        assert_eq!(start.to_rfc3339(), "2024-03-31T00:00:00+01:00");
        assert_eq!(end.to_rfc3339(), "2024-04-01T00:00:00+02:00");
        assert_eq!((end - start).num_hours(), 23);
        let (start, end) = day(paris, date(2024, 10, 27)).unwrap_or_default();
        assert_eq!(
            (start.to_rfc3339(), (end - start).num_hours()),
            ("2024-10-27T00:00:00+02:00".into(), 25)
        );
    }

    #[test]
    fn a_skipped_midnight_starts_the_day_at_the_first_local_time() {
        // Santiago moved its clocks from 24:00 to 01:00 on 2022-09-11.
        let santiago = zone("America/Santiago").unwrap_or(Tz::UTC);
        let (start, _) = day(santiago, date(2022, 9, 11)).unwrap_or_default();
        assert_eq!(start.to_rfc3339(), "2022-09-11T01:00:00-03:00");
        // Samoa skipped 2011-12-30 entirely: that day has no local time at all.
        let apia = zone("Pacific/Apia").unwrap_or(Tz::UTC);
        assert_eq!(day(apia, date(2011, 12, 30)), None);
        let (start, end) = day(apia, date(2011, 12, 29)).unwrap_or_default();
        assert_eq!(start.to_rfc3339(), "2011-12-29T00:00:00-10:00");
        assert_eq!(end.to_rfc3339(), "2011-12-31T00:00:00+14:00");
        assert_eq!(day(Tz::UTC, NaiveDate::MAX), None);
    }
}
