//! `[monitor]` and `[maintenance]`: the availability monitor, incidents, the SLA
//! target and weekly maintenance windows (issue 10).
//!
//! Weekly windows are wall-clock times in a named time zone (`Europe/Berlin`), so a
//! window stays "Sunday 22:00" across daylight-saving changes; chrono-tz holds the
//! zone rules.

use super::{invalid, ConfigError};
use serde::Deserialize;
use std::time::Duration;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct MonitorFile {
    enabled: bool,
    interval_secs: f64,
    incident_after_secs: f64,
    update_every_secs: f64,
    sla_target_percent: f64,
    peers: Vec<String>,
    error_rate_percent: f64,
    error_rate_window_secs: f64,
    error_rate_min_requests: u64,
}

impl Default for MonitorFile {
    fn default() -> Self {
        Self {
            enabled: true,
            interval_secs: 30.0,
            incident_after_secs: 120.0,
            update_every_secs: 4.0 * 3600.0,
            sla_target_percent: 99.9,
            peers: Vec::new(),
            error_rate_percent: 5.0,
            error_rate_window_secs: 300.0,
            error_rate_min_requests: 20,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct MaintenanceFile {
    time_zone: String,
    /// How many days ahead a weekly window is announced to portals.
    announce_days: u32,
    weekly: Vec<WeeklyFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WeeklyFile {
    /// `Sun 22:00`
    start: String,
    /// `Mon 03:00`
    end: String,
    reason: String,
}

/// The availability monitor (`[monitor]`).
#[derive(Debug, Clone)]
pub struct MonitorSettings {
    pub enabled: bool,
    /// How often each process checks the core functions.
    pub interval: Duration,
    /// How long the core checks must fail before an incident opens.
    pub incident_after: Duration,
    /// How often an open incident's notice is repeated (`incident.updated`).
    pub update_every: Duration,
    /// The monthly availability promised, in percent.
    pub sla_target_percent: f64,
    /// The other instances' base URLs, probed (`/healthz`, `/readyz`, `/connect`)
    /// when this instance's checks fail and it cannot read the others' samples:
    /// while one of them serves, the hub is up and no incident opens.
    pub peers: Vec<url::Url>,
    /// The share of 5xx responses (percent) above which the automatic incident
    /// opens; 0 turns the rule off.
    pub error_rate_percent: f64,
    /// The stretch the error rate is taken over.
    pub error_rate_window: Duration,
    /// Fewer responses than this in the window never open an incident.
    pub error_rate_min_requests: u64,
}

/// Weekly maintenance windows (`[maintenance]`).
#[derive(Debug, Clone)]
pub struct MaintenanceSettings {
    pub time_zone: chrono_tz::Tz,
    pub announce_ahead: Duration,
    pub weekly: Vec<WeeklyWindow>,
}

/// A window that repeats every week, in wall-clock time of the configured zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeeklyWindow {
    pub start: (chrono::Weekday, chrono::NaiveTime),
    pub end: (chrono::Weekday, chrono::NaiveTime),
    pub reason: String,
}

fn seconds(key: &'static str, origin: &str, v: f64, min: f64) -> Result<Duration, ConfigError> {
    if !v.is_finite() || v < min || v > 366.0 * 86_400.0 {
        return Err(invalid(
            key,
            origin,
            &format!("must be {min} seconds or more"),
        ));
    }
    Ok(Duration::from_secs_f64(v))
}

pub(super) fn monitor_settings(
    f: MonitorFile,
    origin: &str,
) -> Result<MonitorSettings, ConfigError> {
    let target = f.sla_target_percent;
    if !(target.is_finite() && target > 0.0 && target <= 100.0) {
        return Err(invalid(
            "monitor.sla_target_percent",
            origin,
            "must be a percentage above 0, at most 100",
        ));
    }
    Ok(MonitorSettings {
        enabled: f.enabled,
        interval: seconds("monitor.interval_secs", origin, f.interval_secs, 0.2)?,
        incident_after: seconds(
            "monitor.incident_after_secs",
            origin,
            f.incident_after_secs,
            0.0,
        )?,
        update_every: seconds(
            "monitor.update_every_secs",
            origin,
            f.update_every_secs,
            1.0,
        )?,
        sla_target_percent: target,
        peers: peers(&f.peers, origin)?,
        error_rate_percent: {
            let p = f.error_rate_percent;
            if !(p.is_finite() && (0.0..100.0).contains(&p)) {
                return Err(invalid(
                    "monitor.error_rate_percent",
                    origin,
                    "must be a percentage from 0 (off) to below 100",
                ));
            }
            p
        },
        error_rate_window: seconds(
            "monitor.error_rate_window_secs",
            origin,
            f.error_rate_window_secs,
            1.0,
        )?,
        error_rate_min_requests: f.error_rate_min_requests,
    })
}

/// `monitor.peers`: http(s) URLs with a host, no query; at most 16.
fn peers(list: &[String], origin: &str) -> Result<Vec<url::Url>, ConfigError> {
    const KEY: &str = "monitor.peers";
    if list.len() > 16 {
        return Err(invalid(KEY, origin, "at most 16 peers"));
    }
    let mut out = Vec::with_capacity(list.len());
    for text in list {
        match super::optional_url(KEY, text.trim(), origin)? {
            Some(url) => out.push(url),
            None => return Err(invalid(KEY, origin, "a peer URL must not be empty")),
        }
    }
    Ok(out)
}

pub(super) fn maintenance_settings(
    f: MaintenanceFile,
    origin: &str,
) -> Result<MaintenanceSettings, ConfigError> {
    let zone = if f.time_zone.trim().is_empty() {
        "UTC"
    } else {
        f.time_zone.trim()
    };
    let time_zone: chrono_tz::Tz = zone.parse().map_err(|_| {
        invalid(
            "maintenance.time_zone",
            origin,
            &format!("`{zone}` is not an IANA time zone name"),
        )
    })?;
    let announce_days = if f.announce_days == 0 {
        7
    } else {
        f.announce_days
    };
    if announce_days > 60 {
        return Err(invalid(
            "maintenance.announce_days",
            origin,
            "must be 1 to 60",
        ));
    }
    let mut weekly = Vec::new();
    for w in f.weekly {
        let parse = |text: &str| {
            weekly_point(text).ok_or_else(|| {
                invalid(
                    "maintenance.weekly",
                    origin,
                    &format!("`{text}` is not a weekday and time such as `Sun 22:00`"),
                )
            })
        };
        let (start, end) = (parse(&w.start)?, parse(&w.end)?);
        if start == end {
            return Err(invalid(
                "maintenance.weekly",
                origin,
                "a window must not be empty",
            ));
        }
        if w.reason.trim().is_empty() {
            return Err(invalid(
                "maintenance.weekly",
                origin,
                "each window needs a reason",
            ));
        }
        weekly.push(WeeklyWindow {
            start,
            end,
            reason: w.reason,
        });
    }
    Ok(MaintenanceSettings {
        time_zone,
        announce_ahead: Duration::from_secs(u64::from(announce_days) * 86_400),
        weekly,
    })
}

/// `Sun 22:00` → (Sunday, 22:00).
fn weekly_point(text: &str) -> Option<(chrono::Weekday, chrono::NaiveTime)> {
    let (day, time) = text.trim().split_once(' ')?;
    let day: chrono::Weekday = day.parse().ok()?;
    let time = chrono::NaiveTime::parse_from_str(time.trim(), "%H:%M").ok()?;
    Some((day, time))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weekly_points_parse() {
        let (d, t) = weekly_point("Sun 22:00").unwrap();
        assert_eq!(d, chrono::Weekday::Sun);
        assert_eq!(t, chrono::NaiveTime::from_hms_opt(22, 0, 0).unwrap());
        assert!(weekly_point("Sunday").is_none());
        assert!(weekly_point("Xyz 22:00").is_none());
    }
}

#[cfg(test)]
mod settings_tests {
    use super::*;

    #[test]
    fn bad_values_are_named() {
        let bad = MonitorFile {
            sla_target_percent: 120.0,
            ..MonitorFile::default()
        };
        let e = monitor_settings(bad, "file").unwrap_err().to_string();
        assert!(e.contains("monitor.sla_target_percent"), "{e}");
        let bad = MonitorFile {
            interval_secs: 0.0,
            ..MonitorFile::default()
        };
        let e = monitor_settings(bad, "file").unwrap_err().to_string();
        assert!(e.contains("monitor.interval_secs"), "{e}");
        let zone = MaintenanceFile {
            time_zone: "Mars/Olympus".into(),
            ..MaintenanceFile::default()
        };
        let e = maintenance_settings(zone, "file").unwrap_err().to_string();
        assert!(e.contains("maintenance.time_zone"), "{e}");
        let bad = MonitorFile {
            peers: vec!["ftp://host".into()],
            ..MonitorFile::default()
        };
        let e = monitor_settings(bad, "file").unwrap_err().to_string();
        assert!(e.contains("monitor.peers"), "{e}");
        let bad = MonitorFile {
            peers: vec![String::new()],
            ..MonitorFile::default()
        };
        assert!(monitor_settings(bad, "file").is_err());
        let good = MonitorFile {
            peers: vec![
                "http://10.0.0.2:8080".into(),
                "https://hub-b.example.org/".into(),
            ],
            ..MonitorFile::default()
        };
        assert_eq!(monitor_settings(good, "file").unwrap().peers.len(), 2);
        let defaults = monitor_settings(MonitorFile::default(), "file").unwrap();
        assert!(defaults.peers.is_empty());
        assert_eq!(defaults.interval, Duration::from_secs(30));
        assert_eq!(defaults.incident_after, Duration::from_secs(120));
        assert_eq!(defaults.update_every, Duration::from_secs(4 * 3600));
        assert_eq!(defaults.sla_target_percent, 99.9);
    }

    #[test]
    fn unknown_keys_are_rejected() {
        assert!(toml::from_str::<MonitorFile>("intervall_secs = 1").is_err());
        assert!(toml::from_str::<MaintenanceFile>(
            "weekly = [{ start = \"Sun 22:00\", end = \"Mon 03:00\", reason = \"x\", extra = 1 }]"
        )
        .is_err());
        let f: MaintenanceFile = toml::from_str(
            "time_zone = \"Europe/Berlin\"\nweekly = [{ start = \"Sun 22:00\", end = \"Mon 03:00\", reason = \"patching\" }]",
        )
        .unwrap();
        let s = maintenance_settings(f, "file").unwrap();
        assert_eq!(s.weekly.len(), 1);
        assert_eq!(s.time_zone, chrono_tz::Europe::Berlin);
    }
}
