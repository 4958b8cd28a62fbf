//! The SLA arithmetic: from availability samples and maintenance windows to a
//! month's scheduled time, downtime and availability. Pure: no I/O, so the figures
//! can be checked by hand in unit tests.
//!
//! Policy (issue 10):
//! - A sample of an instance stands for the time until that instance's next sample,
//!   but at most twice the interval it was taken at: a process that stops sampling
//!   (crashed, killed, the host gone) stops vouching for the hub.
//! - The hub is **up** while at least one instance's latest sample says every core
//!   function answered; otherwise it is **down** — whether the instances said so
//!   (a failed check) or said nothing at all (no process running). So one instance
//!   down while another serves is not downtime, both down is.
//! - The period starts with the first sample ever (before it the hub did not exist)
//!   and ends at the end of the month or now, whichever is first.
//! - Time inside a maintenance window announced before the window began is excluded
//!   from both scheduled time and downtime; an unannounced window excludes nothing.
//! - Vendor outages are the vendors', never the hub's downtime: they change neither
//!   downtime nor availability. A vendor is down while any instance's latest sample
//!   says so (each sample stands as above; see `vendor_health` for how a round's
//!   state of a vendor is decided), within the measured period — announced
//!   maintenance is ours, so it does not shorten a vendor's outage.

use chrono::{NaiveDate, NaiveDateTime};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use utoipa::ToSchema;

/// One check round of one instance.
#[derive(Debug, Clone)]
pub struct Sample {
    pub instance: String,
    pub at: NaiveDateTime,
    pub ok: bool,
    pub failed: Vec<String>,
    pub interval_ms: i64,
    /// The vendors whose state this instance knew in the round: `true` up, `false`
    /// down. A vendor not named is unknown.
    pub vendors: BTreeMap<String, bool>,
}

/// A maintenance window and whether it was announced before it began.
#[derive(Debug, Clone)]
pub struct Window {
    pub start: NaiveDateTime,
    pub end: NaiveDateTime,
    pub reason: String,
    pub announced: bool,
}

/// What the report needs besides samples and windows.
#[derive(Debug, Clone)]
pub struct Period {
    /// The month, `YYYY-MM`.
    pub month: String,
    pub start: NaiveDateTime,
    pub end: NaiveDateTime,
    pub now: NaiveDateTime,
    pub first_sample: Option<NaiveDateTime>,
    pub target_percent: f64,
}

/// A month's availability report (`GET /v1/status/sla`, `tributary sla report`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Report {
    pub month: String,
    /// The stretch measured: from the month's start (or the first sample) to its end
    /// (or now). `null` when nothing was measured in the month.
    pub measured_from: Option<String>,
    pub measured_until: Option<String>,
    pub scheduled_minutes: f64,
    pub excluded_minutes: f64,
    pub downtime_minutes: f64,
    /// 100 when nothing was scheduled.
    pub availability_percent: f64,
    pub target_percent: f64,
    pub target_met: bool,
    pub downtime: Vec<Downtime>,
    /// Downtime minutes by failed component (an interval counts for each).
    pub components: BTreeMap<String, f64>,
    /// Outage minutes by vendor, for every vendor some instance knew the state of
    /// in the period (0 when it never failed). Vendor outages are not the hub's
    /// downtime: they count neither in `downtime_minutes` nor in availability.
    pub vendors: BTreeMap<String, f64>,
    /// Each vendor's outages in the period, by start.
    pub vendor_outages: Vec<VendorOutage>,
    pub maintenance: Vec<MaintenanceLine>,
    pub days: Vec<Day>,
}

/// A stretch of downtime and the components that failed in it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Downtime {
    pub start: String,
    pub end: String,
    pub minutes: f64,
    pub cause: String,
}

/// A maintenance window of the period.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MaintenanceLine {
    pub start: String,
    pub end: String,
    pub reason: String,
    pub announced: bool,
    /// Minutes of the window inside the measured period that were excluded.
    pub excluded_minutes: f64,
}

/// One day of the month.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Day {
    pub date: String,
    pub scheduled_minutes: f64,
    pub downtime_minutes: f64,
    /// `null` for a day with nothing scheduled (before the first sample, future).
    pub availability_percent: Option<f64>,
}

/// A stretch during which a vendor failed the hub's calls.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VendorOutage {
    pub vendor: String,
    pub start: String,
    pub end: String,
    pub minutes: f64,
}

/// The cause of a stretch no instance said anything about.
pub const NO_SAMPLES: &str = "no instance running";

type Span = (i64, i64);

fn us(t: NaiveDateTime) -> i64 {
    t.and_utc().timestamp_micros()
}

fn at(us: i64) -> NaiveDateTime {
    chrono::DateTime::from_timestamp_micros(us)
        .map(|d| d.naive_utc())
        .unwrap_or_default()
}

pub fn rfc3339(t: NaiveDateTime) -> String {
    t.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn minutes(us: i64) -> f64 {
    us as f64 / 60_000_000.0
}

/// Sorted, merged union of spans.
fn merge(mut spans: Vec<Span>) -> Vec<Span> {
    spans.retain(|s| s.0 < s.1);
    spans.sort_unstable();
    let mut out: Vec<Span> = Vec::with_capacity(spans.len());
    for s in spans {
        match out.last_mut() {
            Some(last) if s.0 <= last.1 => last.1 = last.1.max(s.1),
            _ => out.push(s),
        }
    }
    out
}

/// `a` minus the merged spans `b`.
fn subtract(a: &[Span], b: &[Span]) -> Vec<Span> {
    let mut out = Vec::new();
    for &(mut start, end) in a {
        for &(bs, be) in b {
            if be <= start || bs >= end {
                continue;
            }
            if bs > start {
                out.push((start, bs));
            }
            start = start.max(be);
        }
        if start < end {
            out.push((start, end));
        }
    }
    out
}

fn overlap(spans: &[Span], window: Span) -> i64 {
    spans
        .iter()
        .map(|&(s, e)| (e.min(window.1) - s.max(window.0)).max(0))
        .sum()
}

/// Each sample with the stretch it stands for: until the same instance's next
/// sample, at most twice its interval.
fn standing(samples: &[Sample]) -> Vec<(Span, &Sample)> {
    let mut by_instance: BTreeMap<&str, Vec<&Sample>> = BTreeMap::new();
    for s in samples {
        by_instance.entry(&s.instance).or_default().push(s);
    }
    let mut out = Vec::with_capacity(samples.len());
    for list in by_instance.values_mut() {
        list.sort_by_key(|s| s.at);
        for (i, s) in list.iter().enumerate() {
            let start = us(s.at);
            let limit = start + 2 * s.interval_ms.max(1) * 1000;
            let end = list.get(i + 1).map_or(limit, |n| us(n.at).min(limit));
            out.push(((start, end), *s));
        }
    }
    out
}

/// Each instance's ok stretches, merged over instances; and the failing stretches
/// with their components.
fn coverage(samples: &[Sample]) -> (Vec<Span>, Vec<(Span, Vec<String>)>) {
    let (mut up, mut failing) = (Vec::new(), Vec::new());
    for (span, s) in standing(samples) {
        if s.ok {
            up.push(span);
        } else {
            failing.push((span, s.failed.clone()));
        }
    }
    (merge(up), failing)
}

/// Per vendor named by any sample, the merged stretches inside `measured` during
/// which some instance's sample said it was down.
fn vendor_down(samples: &[Sample], measured: &[Span]) -> BTreeMap<String, Vec<Span>> {
    let mut down: BTreeMap<String, Vec<Span>> = BTreeMap::new();
    for (span, s) in standing(samples) {
        for (vendor, up) in &s.vendors {
            let spans = down.entry(vendor.clone()).or_default();
            if !*up {
                spans.extend(
                    measured
                        .iter()
                        .map(|m| (span.0.max(m.0), span.1.min(m.1)))
                        .filter(|c| c.0 < c.1),
                );
            }
        }
    }
    down.into_iter()
        .map(|(v, spans)| (v, merge(spans)))
        .collect()
}

/// The month's report.
pub fn report(period: &Period, samples: &[Sample], windows: &[Window]) -> Report {
    let from = period
        .first_sample
        .map_or(us(period.end), |f| us(f).max(us(period.start)));
    let until = us(period.end).min(us(period.now));
    let measured: Vec<Span> = if from < until {
        vec![(from, until)]
    } else {
        vec![]
    };
    let excluded = merge(
        windows
            .iter()
            .filter(|w| w.announced)
            .map(|w| (us(w.start), us(w.end)))
            .collect(),
    );
    let scheduled = subtract(&measured, &excluded);
    let (up, failing) = coverage(samples);
    let down = subtract(&scheduled, &up);
    let total = |spans: &[Span]| spans.iter().map(|s| s.1 - s.0).sum::<i64>();
    let (scheduled_us, down_us) = (total(&scheduled), total(&down));
    let mut components: BTreeMap<String, f64> = BTreeMap::new();
    let downtime = down
        .iter()
        .map(|&span| {
            let causes: BTreeSet<String> = failing
                .iter()
                .filter(|(f, _)| f.0 < span.1 && f.1 > span.0)
                .flat_map(|(_, c)| c.iter().cloned())
                .collect();
            let cause = if causes.is_empty() {
                NO_SAMPLES.to_owned()
            } else {
                causes.iter().cloned().collect::<Vec<_>>().join(", ")
            };
            let component_names = if causes.is_empty() {
                vec![NO_SAMPLES.to_owned()]
            } else {
                causes.into_iter().collect()
            };
            for c in component_names {
                *components.entry(c).or_default() += minutes(span.1 - span.0);
            }
            Downtime {
                start: rfc3339(at(span.0)),
                end: rfc3339(at(span.1)),
                minutes: minutes(span.1 - span.0),
                cause,
            }
        })
        .collect();
    let availability = percent(scheduled_us, down_us).unwrap_or(100.0);
    let by_vendor = vendor_down(samples, &measured);
    let mut vendor_outages: Vec<VendorOutage> = by_vendor
        .iter()
        .flat_map(|(vendor, spans)| {
            spans.iter().map(move |&(start, end)| VendorOutage {
                vendor: vendor.clone(),
                start: rfc3339(at(start)),
                end: rfc3339(at(end)),
                minutes: minutes(end - start),
            })
        })
        .collect();
    vendor_outages.sort_by(|a, b| (&a.start, &a.vendor).cmp(&(&b.start, &b.vendor)));
    Report {
        month: period.month.clone(),
        measured_from: measured.first().map(|s| rfc3339(at(s.0))),
        measured_until: measured.first().map(|s| rfc3339(at(s.1))),
        scheduled_minutes: minutes(scheduled_us),
        excluded_minutes: minutes(total(&measured) - scheduled_us),
        downtime_minutes: minutes(down_us),
        availability_percent: availability,
        target_percent: period.target_percent,
        target_met: availability >= period.target_percent,
        downtime,
        components,
        vendors: by_vendor
            .iter()
            .map(|(v, spans)| (v.clone(), minutes(total(spans))))
            .collect(),
        vendor_outages,
        maintenance: windows
            .iter()
            .map(|w| MaintenanceLine {
                start: rfc3339(w.start),
                end: rfc3339(w.end),
                reason: w.reason.clone(),
                announced: w.announced,
                excluded_minutes: if w.announced {
                    minutes(overlap(&measured, (us(w.start), us(w.end))))
                } else {
                    0.0
                },
            })
            .collect(),
        days: days(period, &scheduled, &down),
    }
}

fn percent(scheduled: i64, down: i64) -> Option<f64> {
    (scheduled > 0).then(|| 100.0 * (scheduled - down) as f64 / scheduled as f64)
}

fn days(period: &Period, scheduled: &[Span], down: &[Span]) -> Vec<Day> {
    let mut out = Vec::new();
    let mut day: NaiveDate = period.start.date();
    while day.and_time(chrono::NaiveTime::MIN) < period.end {
        let start = us(day.and_time(chrono::NaiveTime::MIN));
        let Some(next) = day.succ_opt() else { break };
        let end = us(next.and_time(chrono::NaiveTime::MIN));
        let (s, d) = (
            overlap(scheduled, (start, end)),
            overlap(down, (start, end)),
        );
        out.push(Day {
            date: day.to_string(),
            scheduled_minutes: minutes(s),
            downtime_minutes: minutes(d),
            availability_percent: percent(s, d),
        });
        day = next;
    }
    out
}

/// `YYYY-MM` → the month's first instant and the next month's first instant (UTC).
pub fn month_bounds(month: &str) -> Option<(NaiveDateTime, NaiveDateTime)> {
    let (y, m) = month.split_once('-')?;
    if y.len() != 4 || m.len() != 2 {
        return None;
    }
    let (y, m): (i32, u32) = (y.parse().ok()?, m.parse().ok()?);
    let start = NaiveDate::from_ymd_opt(y, m, 1)?;
    let end = if m == 12 {
        NaiveDate::from_ymd_opt(y + 1, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(y, m + 1, 1)?
    };
    Some((
        start.and_time(chrono::NaiveTime::MIN),
        end.and_time(chrono::NaiveTime::MIN),
    ))
}

#[cfg(test)]
#[path = "sla_tests.rs"]
mod tests;
