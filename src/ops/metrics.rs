//! The monitor's metrics. Labels are component names only.

use prometheus::{IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry};

/// Components a round checks, so every gauge exists from the first scrape.
const COMPONENTS: [&str; 4] = ["api", "consent_page", "database", "workers"];

pub struct OpsMetrics {
    up: IntGaugeVec,
    rounds: IntCounterVec,
    buffered: IntGauge,
    incidents: IntGauge,
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
        registry.register(Box::new(up.clone()))?;
        registry.register(Box::new(rounds.clone()))?;
        registry.register(Box::new(buffered.clone()))?;
        registry.register(Box::new(incidents.clone()))?;
        Ok(Self {
            up,
            rounds,
            buffered,
            incidents,
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
}
