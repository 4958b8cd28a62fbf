//! Operations (issue 10): the promises portals buy a hub on — 99.9 % monthly
//! availability, incident notice within the hour, updates every four hours, monthly
//! reports with announced maintenance excluded — measured and kept.
//!
//! - `checks`: the core checks of one round (API, database, consent page, workers).
//! - `monitor`: the loop in every `serve` process; samples buffered through outages.
//! - `sla`: the arithmetic (pure): downtime is time no instance vouched for.
//! - `store`: samples, windows, incidents, notices.
//! - `report`: the monthly report and its table and HTML (SVG chart) forms.
//! - `incidents`: operators' incidents and the outbox announcements.
//! - `notify`: incident notices sent directly while the outbox may be down.
//! - `maintenance`: windows, weekly ones from config, `maintenance.scheduled`.
//! - `pages`: `GET /v1/status/sla` and the public `GET /status`.
//! - `probe`: `tributary probe`, the same checks from outside.
//! - `vendor_health`: how each vendor has been answering; vendor outages.

pub mod checks;
pub mod cli;
pub mod error_rate;
pub mod incidents;
pub mod maintenance;
pub mod metrics;
pub mod monitor;
pub mod notify;
pub mod pages;
pub mod probe;
pub mod report;
pub mod sla;
pub mod store;
pub mod vendor_health;
