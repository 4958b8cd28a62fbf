//! The availability monitor: a loop in every `serve` process that checks the core
//! functions each `monitor.interval`, records a sample, and opens, updates and
//! resolves the automatic incident.
//!
//! Why samples are buffered: a database outage is exactly when the monitor cannot
//! write. Samples wait in memory (bounded) and are written with the times they were
//! taken as soon as the database answers again, so the outage is in the record.
//! The automatic incident is kept in memory for the same reason and written when it
//! can be; its notices go out directly (`notify`), not through the outbox.
//!
//! Each round also takes the vendors' states from the process's
//! [`VendorHealth`] into the sample (vendor outages, never the hub's downtime) and
//! into `tributary_vendor_up`.
//!
//! The automatic incident is about the hub, not this process: downtime is time the
//! core functions fail on *every* instance. So when this instance's checks fail it
//! first asks whether another instance serves — from the others' samples when it
//! can still read the database (a passing sample of another instance taken within
//! twice that sample's interval), else by probing `[monitor] peers` (`probe::core`:
//! `/healthz`, `/readyz`, `/connect`; any peer that passes serves). While another
//! serves: no incident opens (logged once at info, counted in
//! `tributary_monitor_failing_while_another_serves_total`), the threshold starts
//! again, and this instance's open automatic incident is resolved — the hub is up,
//! which is what the portals were told about; if the other instance fails later,
//! a new incident opens after the threshold. With no peers and no database this
//! instance cannot know of any other and assumes it is alone. Instances that lose
//! the hub together each open (and notify) their own incident: they cannot see one
//! another's.

use super::checks::Checks;
use super::notify::Notifier;
use super::sla::Sample;
use super::store::{self, Incident};
use super::vendor_health::VendorHealth;
use crate::config::{MaintenanceSettings, MonitorSettings};
use crate::db::Database;
use crate::http::metrics::Metrics;
use crate::keys::KeyRing;
use crate::store::events::{self, EventKind};
use chrono::NaiveDateTime;
use std::collections::VecDeque;
use std::sync::Arc;

/// Samples kept while the database is away: a week at 30 s.
const BUFFER_LIMIT: usize = 20_160;
/// Bounds of the time a peer has to pass the core checks.
const PEER_TIMEOUT_MIN: std::time::Duration = std::time::Duration::from_millis(250);
const PEER_TIMEOUT_MAX: std::time::Duration = std::time::Duration::from_secs(2);

pub struct Monitor {
    pub checks: Checks,
    pub ring: Arc<KeyRing>,
    pub settings: MonitorSettings,
    pub maintenance: MaintenanceSettings,
    pub instance: String,
    pub notifier: Notifier,
    pub metrics: Arc<Metrics>,
    pub vendors: Arc<VendorHealth>,
    buffer: VecDeque<Sample>,
    /// Since when this instance has seen the hub down (its checks failing, no other
    /// instance serving).
    failing_since: Option<NaiveDateTime>,
    /// Whether the last round failed while another instance served (to log once).
    another_served: bool,
    incident: Option<Incident>,
    incident_dirty: bool,
    /// Whether the last round's database check passed.
    database_ok: bool,
    /// The API's error rate over `monitor.error_rate_window` (`error_rate`).
    errors: super::error_rate::ErrorWindow,
}

impl Monitor {
    pub fn new(
        checks: Checks,
        ring: Arc<KeyRing>,
        settings: MonitorSettings,
        maintenance: MaintenanceSettings,
        instance: String,
        notifier: Notifier,
        metrics: Arc<Metrics>,
    ) -> Self {
        let errors = super::error_rate::ErrorWindow::new(
            settings.error_rate_window,
            settings.error_rate_min_requests,
        );
        Self {
            checks,
            ring,
            settings,
            maintenance,
            instance,
            notifier,
            metrics,
            vendors: Arc::default(),
            buffer: VecDeque::new(),
            failing_since: None,
            another_served: false,
            incident: None,
            incident_dirty: false,
            database_ok: false,
            errors,
        }
    }

    /// Take the vendors' states from `vendors` (the process's tracker) each round.
    pub fn watching(mut self, vendors: Arc<VendorHealth>) -> Self {
        self.vendors = vendors;
        self
    }

    fn db(&self) -> Database {
        self.checks.db.clone()
    }

    /// Run until `stop` turns true.
    pub async fn run(mut self, mut stop: tokio::sync::watch::Receiver<bool>) {
        // The first round one interval after start: the server is accepting by then.
        let first = tokio::time::Instant::now() + self.settings.interval;
        let mut tick = tokio::time::interval_at(first, self.settings.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => self.round().await,
                _ = stop.changed() => break,
            }
            if *stop.borrow() {
                break;
            }
        }
        // A last attempt to keep what was measured, only when the database answered
        // last round: a write to a missing database would hold up the shutdown.
        if self.database_ok {
            self.flush().await;
        }
    }

    async fn round(&mut self) {
        let at = events::now();
        let (mut failed, database_ok) = self.checks.run().await;
        self.database_ok = database_ok;
        let vendors = self.vendors.take_round();
        self.metrics.ops.vendors(&vendors);
        let interval_ms = i64::try_from(self.settings.interval.as_millis()).unwrap_or(i64::MAX);
        self.buffer.push_back(Sample {
            instance: self.instance.clone(),
            at,
            ok: failed.is_empty(),
            failed: failed.clone(),
            interval_ms,
            vendors,
        });
        while self.buffer.len() > BUFFER_LIMIT {
            self.buffer.pop_front();
        }
        if database_ok && !self.flush().await {
            failed.push("database".to_owned());
            if let Some(last) = self.buffer.back_mut() {
                last.ok = false;
                last.failed = failed.clone();
            }
        }
        self.metrics.ops.round(&failed, self.buffer.len());
        let another_serves = !failed.is_empty() && self.another_serves(at, database_ok).await;
        let (served, errors) = self.metrics.tally.take();
        let rate = self.errors.push(std::time::Instant::now(), served, errors);
        self.metrics.ops.error_rate(rate);
        let threshold = self.settings.error_rate_percent;
        // Only while this instance's core checks pass: a failing instance's errors
        // are that failure's, which the core rule judges (with the other instances).
        let error_rate = rate.filter(|r| failed.is_empty() && threshold > 0.0 && *r > threshold);
        self.track_incident(at, &failed, another_serves, error_rate);
        if database_ok {
            self.housekeeping(at, failed.is_empty()).await;
        }
    }

    /// Write the buffered samples; `false` when the write failed (they stay).
    async fn flush(&mut self) -> bool {
        if self.buffer.is_empty() {
            return true;
        }
        let samples: Vec<Sample> = self.buffer.iter().cloned().collect();
        let db = self.db();
        let written = tokio::task::spawn_blocking(move || -> bool {
            db.conn()
                .ok()
                .is_some_and(|mut c| store::insert_samples(&mut c, &samples).is_ok())
        })
        .await
        .unwrap_or(false);
        if written {
            self.buffer.clear();
        }
        written
    }

    /// Whether another instance serves while this one fails: from the samples when
    /// the database answers this instance, else from the peers.
    async fn another_serves(&self, now: NaiveDateTime, database_ok: bool) -> bool {
        if database_ok {
            let (db, me) = (self.db(), self.instance.clone());
            let seen = tokio::task::spawn_blocking(move || {
                let mut conn = db.conn().ok()?;
                store::another_serves(&mut conn, &me, now).ok()
            })
            .await
            .ok()
            .flatten();
            if let Some(answer) = seen {
                return answer;
            }
        }
        self.a_peer_serves().await
    }

    /// Probe every peer at once; `true` as soon as one passes the core checks. A
    /// peer that serves answers these on its own loopback-fast paths, so a peer
    /// gets half an interval (0.25 to 2 s): the round stays well within the two
    /// intervals its sample stands for.
    async fn a_peer_serves(&self) -> bool {
        let limit = (self.settings.interval / 2).clamp(PEER_TIMEOUT_MIN, PEER_TIMEOUT_MAX);
        let mut probes = tokio::task::JoinSet::new();
        for peer in &self.settings.peers {
            let client = self.checks.client.clone();
            let base = peer.as_str().trim_end_matches('/').to_owned();
            probes.spawn(async move {
                let probe = super::probe::core(&client, &base);
                matches!(tokio::time::timeout(limit, probe).await, Ok(failed) if failed.is_empty())
            });
        }
        while let Some(result) = probes.join_next().await {
            if result.unwrap_or(false) {
                return true;
            }
        }
        false
    }

    /// Open, repeat or resolve the automatic incident. It is open while the hub is
    /// down (this instance's core checks failing for `incident_after` with no other
    /// instance serving) or while this instance's API error rate is above the
    /// threshold (`error_rate`, in percent; at once, the window smooths it).
    fn track_incident(
        &mut self,
        now: NaiveDateTime,
        failed: &[String],
        another_serves: bool,
        error_rate: Option<f64>,
    ) {
        if another_serves {
            self.metrics.ops.failing_while_another_serves();
            if !self.another_served {
                tracing::info!(failed = %failed.join(", "), "this instance is failing; another serves");
            }
        }
        self.another_served = another_serves;
        let core_failing = !failed.is_empty() && !another_serves;
        if !core_failing {
            self.failing_since = None;
        }
        let rate_cause = error_rate.map(|r| {
            format!(
                "{r:.1} % of API responses were server errors over {} s",
                self.settings.error_rate_window.as_secs()
            )
        });
        if !core_failing && rate_cause.is_none() {
            if let Some(incident) = self.incident.as_mut().filter(|i| i.state == "open") {
                incident.state = "resolved".into();
                incident.resolved_at = Some(now);
                incident.updated_at = now;
                incident.message = if !failed.is_empty() {
                    "Another instance serves; the hub is up."
                } else if incident.cause.contains("server errors") {
                    "The API's error rate is back under the threshold."
                } else {
                    "The core functions answer again."
                }
                .into();
                incident.last_notice_at = now;
                self.notifier.send(
                    EventKind::IncidentResolved,
                    &incident.id,
                    incident.notice_data(),
                );
                tracing::info!(incident = %incident.id, "incident resolved");
                self.incident_dirty = true;
            }
            return;
        }
        let mut causes: Vec<String> = if core_failing {
            failed.to_vec()
        } else {
            Vec::new()
        };
        causes.extend(rate_cause);
        let cause = causes.join(", ");
        let threshold =
            chrono::Duration::from_std(self.settings.incident_after).unwrap_or_default();
        let since = if core_failing {
            Some(*self.failing_since.get_or_insert(now))
        } else {
            None
        };
        // Core checks count after the threshold; an error rate at once.
        let due = error_rate.is_some() || since.is_none_or(|s| now - s >= threshold);
        let open = self.incident.as_ref().is_some_and(|i| i.state == "open");
        if !open && due {
            let core = core_failing && failed.iter().any(|f| f == "database" || f == "api");
            let incident = Incident {
                id: Incident::new_id(),
                severity: if core { 1 } else { 2 },
                state: "open".into(),
                title: if core_failing {
                    "Core functions failing"
                } else {
                    "Elevated API error rate"
                }
                .into(),
                cause,
                message: if core_failing {
                    "The hub's core checks are failing; we are working on it."
                } else {
                    "Part of the hub's API answers with server errors; we are working on it."
                }
                .into(),
                automatic: true,
                opened_at: since.unwrap_or(now),
                updated_at: now,
                resolved_at: None,
                last_notice_at: now,
            };
            self.notifier.send(
                EventKind::IncidentOpened,
                &incident.id,
                incident.notice_data(),
            );
            tracing::warn!(incident = %incident.id, cause = %incident.cause, "incident opened");
            self.incident = Some(incident);
            self.incident_dirty = true;
        } else if let Some(incident) = self.incident.as_mut().filter(|i| i.state == "open") {
            let every = chrono::Duration::from_std(self.settings.update_every).unwrap_or_default();
            if now - incident.last_notice_at >= every {
                incident.last_notice_at = now;
                incident.updated_at = now;
                incident.cause = cause;
                self.notifier.send(
                    EventKind::IncidentUpdated,
                    &incident.id,
                    incident.notice_data(),
                );
                self.incident_dirty = true;
            }
        }
    }

    /// While the database answers: write the incident and the notices sent, refresh
    /// the endpoints, repeat operators' open incidents, announce weekly windows, and
    /// (when this round passed) resolve automatic incidents orphaned by a process
    /// that stopped.
    async fn housekeeping(&mut self, now: NaiveDateTime, passed: bool) {
        let incident = self.incident_dirty.then(|| self.incident.clone()).flatten();
        let own = self.incident.as_ref().map(|i| i.id.clone());
        let stale_after = self.settings.update_every + 3 * self.settings.interval;
        let notices = self.notifier.take_sent();
        let (db, ring) = (self.db(), self.ring.clone());
        let (settings, maintenance) = (self.settings.clone(), self.maintenance.clone());
        let result = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
            let mut conn = db.conn()?;
            if let Some(i) = &incident {
                store::save_incident(&mut conn, i)?;
            }
            store::record_notices(&mut conn, &notices)?;
            super::incidents::repeat_updates(&mut conn, now, settings.update_every)?;
            super::maintenance::announce_weekly(&mut conn, &maintenance, now)?;
            if passed {
                super::incidents::resolve_orphans(&mut conn, now, own.as_deref(), stale_after)?;
            }
            let open = store::open_incidents(&mut conn)?.len();
            Ok((super::notify::load_endpoints(&mut conn, &ring)?, open))
        })
        .await;
        match result {
            Ok(Ok((endpoints, open))) => {
                self.notifier.set_endpoints(endpoints);
                self.metrics.ops.incidents_open(open);
                if self.incident_dirty {
                    self.incident_dirty = false;
                    if self
                        .incident
                        .as_ref()
                        .is_some_and(|i| i.state == "resolved")
                    {
                        self.incident = None;
                    }
                }
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "monitor housekeeping failed"),
            Err(e) => tracing::warn!(error = %e, "monitor housekeeping task failed"),
        }
    }
}
