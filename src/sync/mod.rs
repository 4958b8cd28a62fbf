//! The sync engine: durable jobs that fetch vendors' data into the store.
//!
//! Flow: connecting a vendor starts a backfill per data type ([`plan::start`]),
//! one job per window, newest window first; the scheduler ([`schedule`]) enqueues
//! incremental syncs when they fall due, token refreshes and housekeeping; a
//! manual sync request enqueues one at once. Workers ([`worker`]) claim jobs from
//! the database and run them ([`run`]): get a valid token, fetch the window page by
//! page within the vendor's rate limits ([`limits`]), parse, normalise, and store
//! the observations, the progress and the job's completion in one transaction.
//!
//! Policy:
//! - Exactly-once effect: every observation has a deterministic identifier and is
//!   upserted, windows are contiguous, and an incremental sync re-reads an overlap
//!   before its last end; a job that dies anywhere is retried whole. So a window
//!   fetched twice, overlapping windows or a crash leave no duplicate and no gap.
//! - Consent: a job fetches only data types its connection grants at the moment it
//!   runs; a narrowed or revoked grant turns queued work into no-ops.
//! - No PHI leaves a job: errors are the hub's own reasons (status codes, field
//!   paths), never response bodies; metric labels are kinds, vendors and statuses.

pub mod limits;
pub mod plan;
pub mod retention;
pub mod revoke;
pub mod run;
pub mod schedule;
pub mod worker;

use crate::config::SyncSettings;
use crate::connect::tokens::TokenContext;
use crate::db::Database;
use crate::http::metrics::Metrics;
use crate::keys::KeyRing;
use crate::vendors::Vendors;
use std::sync::Arc;

/// What jobs need, shared by the workers and the scheduler of one process.
#[derive(Clone)]
pub struct SyncContext {
    pub db: Database,
    pub ring: Arc<KeyRing>,
    pub vendors: Arc<Vendors>,
    pub tokens: TokenContext,
    pub http: reqwest::Client,
    pub settings: Arc<SyncSettings>,
    pub limits: Arc<limits::VendorLimits>,
    pub metrics: Arc<Metrics>,
    /// This process, as workers name themselves in claimed jobs.
    pub instance: String,
    /// Jobs doing database work at once (see [`db_slots`]).
    pub db_slots: Arc<tokio::sync::Semaphore>,
    /// Scheduled backups (`[backup]`); `None` where this process writes none.
    pub backup: Option<Arc<crate::backup::Scheduled>>,
}

/// How many jobs of one process may do database work at once: twice the cores
/// (the work is CPU on this side and on the database's), at least 2.
pub fn db_slots() -> Arc<tokio::sync::Semaphore> {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    Arc::new(tokio::sync::Semaphore::new((cores * 2).max(2)))
}

/// The name of this process in job rows: host and process id.
pub fn instance_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "host".into());
    format!("{host}:{}", std::process::id())
}
