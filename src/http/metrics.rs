//! Prometheus metrics. Labels are bounded and carry no ids or user data: the route
//! is the pattern (`/v1/members/{user_key}`), never the concrete path.

use actix_web::{web, HttpResponse};
use prometheus::{
    Encoder, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    jobs: IntGaugeVec,
    jobs_finished: IntCounterVec,
    job_seconds: HistogramVec,
    vendor_calls: IntCounterVec,
    vendor_pushes: IntCounterVec,
    records_skipped: IntCounterVec,
    sync_lag: GaugeVec,
    webhook_attempts: IntCounterVec,
    fhir_push: IntCounterVec,
    /// The availability monitor's gauges (`ops::metrics`).
    pub ops: crate::ops::metrics::OpsMetrics,
    /// Responses and server errors since the monitor's last round.
    pub tally: crate::ops::error_rate::RequestTally,
}

/// Label for requests that matched no route: the path itself could hold anything.
pub const UNMATCHED_ROUTE: &str = "unmatched";

impl Metrics {
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let labels = ["method", "route", "status"];
        let requests = IntCounterVec::new(
            Opts::new("tributary_http_requests_total", "HTTP requests served"),
            &labels,
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "tributary_http_request_duration_seconds",
                "Time from request received to response ready",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
            &labels,
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        // Sync engine. Labels are kinds, states, outcomes, vendors and status codes:
        // never a member, connection or job id.
        let jobs = IntGaugeVec::new(
            Opts::new(
                "tributary_jobs",
                "Jobs in the queue by kind and state (at the last scheduler tick)",
            ),
            &["kind", "state"],
        )?;
        let jobs_finished = IntCounterVec::new(
            Opts::new(
                "tributary_job_runs_total",
                "Job runs by kind and outcome in this process",
            ),
            &["kind", "outcome"],
        )?;
        let job_seconds = HistogramVec::new(
            HistogramOpts::new(
                "tributary_job_duration_seconds",
                "Time a successful job ran",
            )
            .buckets(vec![0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0, 120.0, 600.0]),
            &["kind"],
        )?;
        let vendor_calls = IntCounterVec::new(
            Opts::new(
                "tributary_vendor_calls_total",
                "Calls to vendor data APIs by vendor and HTTP status (`error`: no response)",
            ),
            &["vendor", "status"],
        )?;
        let vendor_pushes = IntCounterVec::new(
            Opts::new(
                "tributary_vendor_pushes_total",
                "Notifications received at /vendor-hooks by vendor and outcome",
            ),
            &["vendor", "outcome"],
        )?;
        let records_skipped = IntCounterVec::new(
            Opts::new(
                "tributary_records_skipped_total",
                "Vendor records left out on purpose (goals, unmapped measure types, empty \
                 values) by vendor, data type and reason",
            ),
            &["vendor", "data_type", "reason"],
        )?;
        let sync_lag = GaugeVec::new(
            Opts::new(
                "tributary_sync_lag_seconds",
                "Per vendor, the age of the stalest synced data type of an active connection",
            ),
            &["vendor"],
        )?;
        let webhook_attempts = IntCounterVec::new(
            Opts::new(
                "tributary_webhook_attempts_total",
                "Webhook delivery attempts by outcome (delivered, retry, failed)",
            ),
            &["outcome"],
        )?;
        registry.register(Box::new(webhook_attempts.clone()))?;
        let fhir_push = IntCounterVec::new(
            Opts::new(
                "tributary_fhir_push_total",
                "FHIR push: observations pushed or rejected, and requests that failed (retry, failed)",
            ),
            &["outcome"],
        )?;
        registry.register(Box::new(fhir_push.clone()))?;
        registry.register(Box::new(jobs.clone()))?;
        registry.register(Box::new(jobs_finished.clone()))?;
        registry.register(Box::new(job_seconds.clone()))?;
        registry.register(Box::new(vendor_calls.clone()))?;
        registry.register(Box::new(vendor_pushes.clone()))?;
        registry.register(Box::new(records_skipped.clone()))?;
        registry.register(Box::new(sync_lag.clone()))?;
        let ops = crate::ops::metrics::OpsMetrics::register(&registry)?;
        Ok(Self {
            registry,
            requests,
            latency,
            jobs,
            jobs_finished,
            job_seconds,
            vendor_calls,
            vendor_pushes,
            records_skipped,
            sync_lag,
            webhook_attempts,
            fhir_push,
            ops,
            tally: Default::default(),
        })
    }

    /// FHIR push: `n` observations `pushed` or `rejected`, or a request that
    /// failed (`retry`, `failed`).
    pub fn fhir_push(&self, outcome: &str, n: u64) {
        self.fhir_push.with_label_values(&[outcome]).inc_by(n);
    }

    /// A webhook delivery attempt ended with `outcome`.
    pub fn webhook_attempt(&self, outcome: &str) {
        self.webhook_attempts.with_label_values(&[outcome]).inc();
    }

    /// A call to a vendor's data API answered `status` (`error`: no answer).
    pub fn vendor_call(&self, vendor: &str, status: &str) {
        self.vendor_calls.with_label_values(&[vendor, status]).inc();
    }

    /// `n` notifications from `vendor` were `outcome` (`accepted`, `unknown_member`,
    /// `bad_signature`, `malformed`).
    pub fn vendor_push(&self, vendor: &str, outcome: &str, n: u64) {
        self.vendor_pushes
            .with_label_values(&[vendor, outcome])
            .inc_by(n);
    }

    /// A vendor record was left out for `reason` (a fixed text, never a value).
    pub fn records_skipped(&self, vendor: &str, data_type: &str, reason: &str) {
        self.records_skipped
            .with_label_values(&[vendor, data_type, reason])
            .inc();
    }

    /// A job run ended with `outcome` (done, retry, postponed, failed, lost).
    pub fn job_finished(&self, kind: &str, outcome: &str) {
        self.jobs_finished.with_label_values(&[kind, outcome]).inc();
    }

    pub fn job_duration(&self, kind: &str, seconds: f64) {
        self.job_seconds.with_label_values(&[kind]).observe(seconds);
    }

    /// The queue's counts by kind and state; states absent from `counts` read 0.
    pub fn set_job_counts(&self, counts: &[(String, String, i64)]) {
        self.jobs.reset();
        for (kind, state, n) in counts {
            self.jobs.with_label_values(&[kind, state]).set(*n);
        }
    }

    pub fn set_sync_lag(&self, lag: &[(String, f64)]) {
        self.sync_lag.reset();
        for (vendor, seconds) in lag {
            self.sync_lag.with_label_values(&[vendor]).set(*seconds);
        }
    }

    pub fn observe_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let status = status.to_string();
        let labels = [bounded_method(method), route, status.as_str()];
        self.requests.with_label_values(&labels).inc();
        self.latency.with_label_values(&labels).observe(seconds);
    }

    pub fn render(&self) -> Result<String, prometheus::Error> {
        let mut out = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut out)?;
        Ok(String::from_utf8_lossy(&out).into_owned())
    }
}

/// Only standard methods become label values, so a client cannot mint new series.
fn bounded_method(method: &str) -> &str {
    match method {
        "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS" => method,
        _ => "OTHER",
    }
}

/// `GET /metrics`.
#[utoipa::path(get, operation_id = "metrics", path = "/metrics", tag = "operations", security(()),
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain", body = String)))]
pub async fn handler(metrics: web::Data<Metrics>) -> HttpResponse {
    match metrics.render() {
        Ok(text) => HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4; charset=utf-8")
            .body(text),
        Err(e) => {
            tracing::error!(error = %e, "cannot render metrics");
            HttpResponse::InternalServerError().finish()
        }
    }
}
