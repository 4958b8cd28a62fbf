//! Maintenance windows: declared weekly in `[maintenance]` or one at a time with
//! `tributary maintenance schedule`, and announced to portals by a
//! `maintenance.scheduled` event through the outbox.
//!
//! A window excludes downtime from the SLA only when it was announced before it
//! began (`announced_at <= starts_at`). One scheduled after its start is recorded
//! as unannounced: maintenance nobody was told about counts as downtime.
//! Weekly windows are written (and announced) `announce_days` ahead by the monitor;
//! the unique (start, end) slot keeps several processes from announcing one twice.

use super::incidents::announce;
use super::sla::{rfc3339, Window};
use super::store;
use crate::config::MaintenanceSettings;
use crate::db::AnyConnection;
use crate::store::events::{self, EventKind};
use crate::store::StoreError;
use chrono::{Datelike, NaiveDateTime, TimeZone, Timelike};
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct Scheduled {
    pub id: Option<String>,
    pub start: String,
    pub end: String,
    pub reason: String,
    /// Whether portals were told before the window starts.
    pub announced: bool,
    pub portals_told: usize,
}

/// Record a window and tell every portal, in one transaction.
pub fn schedule(
    conn: &mut AnyConnection,
    start: NaiveDateTime,
    end: NaiveDateTime,
    reason: &str,
    source: &str,
) -> Result<Scheduled, StoreError> {
    if end <= start {
        return Err(StoreError::Invalid(
            "the end must be after the start".into(),
        ));
    }
    if reason.trim().is_empty() {
        return Err(StoreError::Invalid("a reason is required".into()));
    }
    let now = events::now();
    let window = Window {
        start,
        end,
        reason: reason.to_owned(),
        announced: now <= start,
    };
    conn.write_transaction(|conn| {
        let Some(id) = store::insert_window(conn, &window, source, Some(now))? else {
            return Ok(Scheduled {
                id: None,
                start: rfc3339(start),
                end: rfc3339(end),
                reason: reason.to_owned(),
                announced: window.announced,
                portals_told: 0,
            });
        };
        let data = serde_json::json!({
            "maintenance": {
                "id": id,
                "start": rfc3339(start),
                "end": rfc3339(end),
                "reason": reason,
            }
        });
        let portals_told = announce(conn, EventKind::MaintenanceScheduled, &data)?;
        Ok(Scheduled {
            id: Some(id),
            start: rfc3339(start),
            end: rfc3339(end),
            reason: reason.to_owned(),
            announced: window.announced,
            portals_told,
        })
    })
}

/// Write and announce the configured weekly windows that start within the
/// announcement horizon.
pub fn announce_weekly(
    conn: &mut AnyConnection,
    settings: &MaintenanceSettings,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    for (start, end, reason) in weekly_occurrences(settings, now) {
        schedule(conn, start, end, &reason, "config")?;
    }
    Ok(())
}

/// The configured windows starting in `(now, now + announce_ahead]`, in UTC.
pub fn weekly_occurrences(
    settings: &MaintenanceSettings,
    now: NaiveDateTime,
) -> Vec<(NaiveDateTime, NaiveDateTime, String)> {
    let zone = settings.time_zone;
    let horizon = now + chrono::Duration::from_std(settings.announce_ahead).unwrap_or_default();
    let local_today = zone.from_utc_datetime(&now).date_naive();
    let mut out = Vec::new();
    for w in &settings.weekly {
        for offset in 0..=62 {
            let Some(day) = local_today.checked_add_days(chrono::Days::new(offset)) else {
                break;
            };
            if day.weekday() != w.start.0 {
                continue;
            }
            let start_local = day.and_time(w.start.1);
            let span = (i64::from(w.end.0.num_days_from_monday()) * 1440
                + i64::from(w.end.1.num_seconds_from_midnight() / 60))
                - (i64::from(w.start.0.num_days_from_monday()) * 1440
                    + i64::from(w.start.1.num_seconds_from_midnight() / 60));
            let span = if span <= 0 { span + 7 * 1440 } else { span };
            let end_local = start_local + chrono::Duration::minutes(span);
            let (Some(start), Some(end)) = (
                zone.from_local_datetime(&start_local).earliest(),
                zone.from_local_datetime(&end_local).latest(),
            ) else {
                continue;
            };
            let (start, end) = (start.naive_utc(), end.naive_utc());
            if start > now && start <= horizon {
                out.push((start, end, w.reason.clone()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::WeeklyWindow;
    use chrono::{NaiveDate, NaiveTime, Weekday};

    #[test]
    fn a_weekly_window_in_berlin_across_midnight() {
        let settings = MaintenanceSettings {
            time_zone: chrono_tz::Europe::Berlin,
            announce_ahead: std::time::Duration::from_secs(7 * 86_400),
            weekly: vec![WeeklyWindow {
                start: (Weekday::Sun, NaiveTime::from_hms_opt(22, 0, 0).unwrap()),
                end: (Weekday::Mon, NaiveTime::from_hms_opt(3, 0, 0).unwrap()),
                reason: "patching".into(),
            }],
        };
        // Tuesday 24 November 2026, noon UTC: the next Sunday is the 29th (CET, +1).
        let now = NaiveDate::from_ymd_opt(2026, 11, 24)
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap();
        let got = weekly_occurrences(&settings, now);
        assert_eq!(got.len(), 1);
        assert_eq!(rfc3339(got[0].0), "2026-11-29T21:00:00Z");
        assert_eq!(rfc3339(got[0].1), "2026-11-30T02:00:00Z");
    }
}
