//! The monitor's metrics. Labels are component names and vendor ids only.

use prometheus::{IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

/// Components a round checks, so every gauge exists from the first scrape.
const COMPONENTS: [&str; 4] = ["api", "consent_page", "database", "workers"];

pub struct OpsMetrics {
    up: IntGaugeVec,
    rounds: IntCounterVec,
    buffered: IntGauge,
    incidents: IntGauge,
    vendor_up: IntGaugeVec,
    /// The vendors `vendor_up` has a series for, to drop those no longer known.
    vendors_shown: Mutex<BTreeSet<String>>,
    another_serves: IntCounter,
    error_rate: prometheus::Gauge,
}

impl OpsMetrics {
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let up = IntGaugeVec::new(
            Opts::new(
                "tributary_monitor_component_up",
                "1 when the component passed this process's last monitor round",
            ),
            &["component"],
        )?;
        let rounds = IntCounterVec::new(
            Opts::new(
                "tributary_monitor_rounds_total",
                "Monitor rounds by outcome (ok, failed)",
            ),
            &["outcome"],
        )?;
        let buffered = IntGauge::new(
            "tributary_monitor_samples_buffered",
            "Availability samples waiting in memory for the database",
        )?;
        let incidents = IntGauge::new("tributary_incidents_open", "Open incidents")?;
        let vendor_up = IntGaugeVec::new(
            Opts::new(
                "tributary_vendor_up",
                "1 when the vendor answered this process's calls in the last monitor round \
                 (or its last calls, within ten minutes), 0 when they all failed at the vendor",
            ),
            &["vendor"],
        )?;
        let another_serves = IntCounter::new(
            "tributary_monitor_failing_while_another_serves_total",
            "Monitor rounds this process failed while another instance served (no incident)",
        )?;
        registry.register(Box::new(up.clone()))?;
        registry.register(Box::new(rounds.clone()))?;
        registry.register(Box::new(buffered.clone()))?;
        registry.register(Box::new(incidents.clone()))?;
        registry.register(Box::new(vendor_up.clone()))?;
        let error_rate = prometheus::Gauge::new(
            "tributary_api_error_rate_percent",
            "Share of this process's API responses that were 5xx over monitor.error_rate_window_secs \
             (-1 while there were fewer than monitor.error_rate_min_requests)",
        )?;
        registry.register(Box::new(another_serves.clone()))?;
        registry.register(Box::new(error_rate.clone()))?;
        Ok(Self {
            up,
            rounds,
            buffered,
            incidents,
            vendor_up,
            vendors_shown: Mutex::default(),
            another_serves,
            error_rate,
        })
    }

    /// A round ended with `failed` components and `buffered` samples unwritten.
    pub fn round(&self, failed: &[String], buffered: usize) {
        for c in COMPONENTS {
            self.up
                .with_label_values(&[c])
                .set(i64::from(!failed.iter().any(|f| f == c)));
        }
        let outcome = if failed.is_empty() { "ok" } else { "failed" };
        self.rounds.with_label_values(&[outcome]).inc();
        self.buffered
            .set(i64::try_from(buffered).unwrap_or(i64::MAX));
    }

    pub fn incidents_open(&self, n: usize) {
        self.incidents.set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    /// The vendors' states of this round (`true` up); vendors no longer known lose
    /// their series.
    pub fn vendors(&self, states: &BTreeMap<String, bool>) {
        let mut shown = self.vendors_shown.lock().unwrap_or_else(|e| e.into_inner());
        for gone in shown.iter().filter(|v| !states.contains_key(*v)) {
            let _ = self.vendor_up.remove_label_values(&[gone]);
        }
        for (vendor, up) in states {
            self.vendor_up
                .with_label_values(&[vendor])
                .set(i64::from(*up));
        }
        *shown = states.keys().cloned().collect();
    }

    /// The error rate over the window, `None` while too few responses.
    pub fn error_rate(&self, percent: Option<f64>) {
        self.error_rate.set(percent.unwrap_or(-1.0));
    }

    /// This process failed a round while another instance served.
    pub fn failing_while_another_serves(&self) {
        self.another_serves.inc();
    }
}
