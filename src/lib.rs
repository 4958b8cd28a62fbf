//! Tributary: an open-source health-data integration hub.
//!
//! The binary (`src/main.rs`) only calls [`cli::main`]; everything else is this
//! library, so integration tests start the same hub the binary starts. See
//! `docs/ARCHITECTURE.md` for the parts and how data flows through them.

pub mod admin;
pub mod api;
pub mod app;
pub mod backup;
pub mod cli;
pub mod config;
pub mod connect;
pub mod consent;
pub mod crypto;
pub mod db;
pub mod delivery;
pub mod domain;
pub mod erasure;
pub mod fhir;
pub mod fhir_api;
pub mod hooks;
pub mod http;
pub mod ingest;
pub mod keys;
pub mod ops;
pub mod sandbox;
pub mod store;
pub mod sync;
pub mod telemetry;
pub mod vendors;
