//! Figures computed by hand for November 2026 (30 days, 43 200 minutes), samples
//! once an hour (interval one hour: a sample stands for at most two).

use super::*;

fn t(day: u32, hour: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 11, day)
        .unwrap()
        .and_hms_opt(hour, 0, 0)
        .unwrap()
}

const HOUR_MS: i64 = 3_600_000;

/// Hourly samples of `instance` over the whole month; `bad` hours fail on `database`.
fn hourly(
    instance: &str,
    bad: &[(u32, u32)],
    gap: Option<((u32, u32), (u32, u32))>,
) -> Vec<Sample> {
    let mut out = Vec::new();
    for day in 1..=30 {
        for hour in 0..24 {
            if let Some((from, to)) = gap {
                if (day, hour) >= from && (day, hour) < to {
                    continue;
                }
            }
            let ok = !bad.contains(&(day, hour));
            out.push(Sample {
                instance: instance.into(),
                at: t(day, hour),
                ok,
                failed: if ok { vec![] } else { vec!["database".into()] },
                interval_ms: HOUR_MS,
                vendors: BTreeMap::new(),
            });
        }
    }
    out
}

fn november() -> Period {
    let (start, end) = month_bounds("2026-11").unwrap();
    Period {
        month: "2026-11".into(),
        start,
        end,
        now: t(30, 23) + chrono::Duration::hours(2),
        first_sample: Some(start),
        target_percent: 99.9,
    }
}

#[test]
fn a_two_hour_database_outage() {
    let r = report(&november(), &hourly("a", &[(10, 10), (10, 11)], None), &[]);
    assert_eq!(r.scheduled_minutes, 43_200.0);
    assert_eq!(r.downtime_minutes, 120.0);
    // (43 200 − 120) / 43 200 = 99.7222…
    assert!(
        (r.availability_percent - 99.722_222_222).abs() < 1e-6,
        "{}",
        r.availability_percent
    );
    assert!(!r.target_met);
    assert_eq!(r.downtime.len(), 1);
    assert_eq!(r.downtime[0].start, "2026-11-10T10:00:00Z");
    assert_eq!(r.downtime[0].end, "2026-11-10T12:00:00Z");
    assert_eq!(r.downtime[0].cause, "database");
    assert_eq!(r.components["database"], 120.0);
    assert_eq!(r.days.len(), 30);
    let day10 = &r.days[9];
    assert_eq!(day10.downtime_minutes, 120.0);
    assert!((day10.availability_percent.unwrap() - 100.0 * 1320.0 / 1440.0).abs() < 1e-9);
}

#[test]
fn one_instance_down_while_another_serves_is_not_downtime() {
    let mut samples = hourly("a", &[(10, 10), (10, 11)], None);
    samples.extend(hourly("b", &[], None));
    let r = report(&november(), &samples, &[]);
    assert_eq!(r.downtime_minutes, 0.0);
    assert_eq!(r.availability_percent, 100.0);
    // Both down at 10:00, only a at 11:00: one hour.
    let mut samples = hourly("a", &[(10, 10), (10, 11)], None);
    samples.extend(hourly("b", &[(10, 10)], None));
    assert_eq!(report(&november(), &samples, &[]).downtime_minutes, 60.0);
}

#[test]
fn an_announced_window_is_excluded_an_unannounced_one_counts() {
    let samples = hourly("a", &[(10, 10), (10, 11)], None);
    let window = |announced| Window {
        start: t(10, 10),
        end: t(10, 12),
        reason: "upgrade".into(),
        announced,
    };
    let r = report(&november(), &samples, &[window(true)]);
    assert_eq!(r.scheduled_minutes, 43_080.0);
    assert_eq!(r.excluded_minutes, 120.0);
    assert_eq!(r.downtime_minutes, 0.0);
    assert!(r.target_met);
    let r = report(&november(), &samples, &[window(false)]);
    assert_eq!(r.scheduled_minutes, 43_200.0);
    assert_eq!(r.downtime_minutes, 120.0);
}

#[test]
fn no_samples_is_downtime_from_the_first_sample_on() {
    // Samples stop after 19th 23:00 (it stands until 20th 01:00) and resume at 05:00.
    let samples = hourly("a", &[], Some(((20, 0), (20, 5))));
    let r = report(&november(), &samples, &[]);
    assert_eq!(r.downtime_minutes, 240.0);
    assert_eq!(r.downtime[0].cause, NO_SAMPLES);
    // The hub started on the 16th: the first fifteen days are not measured.
    let late: Vec<Sample> = samples.into_iter().filter(|s| s.at >= t(16, 0)).collect();
    let mut period = november();
    period.first_sample = Some(t(16, 0));
    let r = report(&period, &late, &[]);
    assert_eq!(r.scheduled_minutes, 15.0 * 1440.0);
    assert_eq!(r.days[0].availability_percent, None);
}

/// `instance`'s samples at `known` hours (every hour when `None`) say `vendor` is
/// up, except at `down` hours.
fn vendor(
    mut samples: Vec<Sample>,
    instance: &str,
    name: &str,
    known: Option<&[(u32, u32)]>,
    down: &[(u32, u32)],
) -> Vec<Sample> {
    for s in samples.iter_mut().filter(|s| s.instance == instance) {
        let hour = (s.at.day(), s.at.hour());
        if known.is_none_or(|k| k.contains(&hour)) {
            s.vendors.insert(name.into(), !down.contains(&hour));
        }
    }
    samples
}

use chrono::{Datelike, Timelike};

#[test]
fn vendor_outages_are_per_vendor_and_never_downtime() {
    // a: withings down 10th 10:00 and 11:00 (b still says up: one instance's
    // failure is enough). b: oura known 12th 04:00–06:00, down at 05:00.
    let mut samples = vendor(
        hourly("a", &[], None),
        "a",
        "withings",
        None,
        &[(10, 10), (10, 11)],
    );
    samples.extend(hourly("b", &[], None));
    samples = vendor(samples, "b", "withings", None, &[]);
    samples = vendor(
        samples,
        "b",
        "oura",
        Some(&[(12, 4), (12, 5), (12, 6)]),
        &[(12, 5)],
    );
    let r = report(&november(), &samples, &[]);
    assert_eq!(r.vendors["withings"], 120.0);
    assert_eq!(r.vendors["oura"], 60.0);
    assert_eq!(r.vendor_outages.len(), 2);
    let w = &r.vendor_outages[0];
    assert_eq!(
        (
            w.vendor.as_str(),
            w.start.as_str(),
            w.end.as_str(),
            w.minutes
        ),
        (
            "withings",
            "2026-11-10T10:00:00Z",
            "2026-11-10T12:00:00Z",
            120.0
        )
    );
    let o = &r.vendor_outages[1];
    assert_eq!(
        (
            o.vendor.as_str(),
            o.start.as_str(),
            o.end.as_str(),
            o.minutes
        ),
        ("oura", "2026-11-12T05:00:00Z", "2026-11-12T06:00:00Z", 60.0)
    );
    assert_eq!(r.downtime_minutes, 0.0);
    assert_eq!(r.availability_percent, 100.0);
    assert!(r.days.iter().all(|d| d.downtime_minutes == 0.0));

    // Our announced maintenance over the withings outage: excluded from the hub's
    // scheduled time, not from the vendor's outage.
    let window = Window {
        start: t(10, 9),
        end: t(10, 13),
        reason: "upgrade".into(),
        announced: true,
    };
    let r = report(&november(), &samples, &[window]);
    assert_eq!(r.excluded_minutes, 240.0);
    assert_eq!(r.vendors["withings"], 120.0);

    // A vendor every sample says is up is listed with no outage.
    let r = report(
        &november(),
        &vendor(hourly("a", &[], None), "a", "dexcom", None, &[]),
        &[],
    );
    assert_eq!(r.vendors["dexcom"], 0.0);
    assert!(r.vendor_outages.is_empty());
}

#[test]
fn a_vendor_sample_stands_at_most_two_intervals_and_inside_the_period() {
    // a samples nothing 15th 04:00–07:59: its 03:00 sample (withings down) stands
    // until 05:00, 120 minutes. Its last sample, 30th 23:00, down, would stand until
    // 1 December 01:00: the month ends at midnight, 60 minutes.
    let samples = vendor(
        hourly("a", &[], Some(((15, 4), (15, 8)))),
        "a",
        "withings",
        None,
        &[(15, 3), (30, 23)],
    );
    let r = report(&november(), &samples, &[]);
    assert_eq!(r.vendors["withings"], 180.0);
    assert_eq!(r.vendor_outages[0].end, "2026-11-15T05:00:00Z");
    assert_eq!(r.vendor_outages[1].end, "2026-12-01T00:00:00Z");
    // The hub's own downtime is the stretch with no sample (05:00–08:00), nothing
    // of the vendor's.
    assert_eq!(r.downtime_minutes, 180.0);
    assert_eq!(r.downtime[0].cause, NO_SAMPLES);
}

#[test]
fn months_parse() {
    assert_eq!(
        month_bounds("2026-12").unwrap().1,
        NaiveDate::from_ymd_opt(2027, 1, 1)
            .unwrap()
            .and_time(chrono::NaiveTime::MIN)
    );
    assert!(month_bounds("2026-13").is_none());
    assert!(month_bounds("26-1").is_none());
}
