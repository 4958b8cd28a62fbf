//! Domain storage on top of [`crate::db`]: portals, members, API keys, vendor apps,
//! the audit log, connect sessions and connections, observations, exports, and the
//! sync engine's jobs and progress.
//!
//! Policy: personal data never reaches a table in clear. What a query must find is
//! stored as a keyed hash (HMAC under the ring's index key); what must be read back
//! is sealed with the member's data key, bound to its table, row and member.

pub mod api_keys;
pub mod audit;
pub mod connect_sessions;
pub mod connections;
pub mod consent_events;
pub mod deliveries;
pub mod events;
pub mod exports;
pub mod fhir_push;
pub mod jobs;
pub mod members;
pub mod observations;
pub mod portals;
pub mod purge;
pub mod rate_buckets;
pub mod sync_state;
pub mod vendor_apps;
pub mod vendor_revokes;
pub mod webhook_endpoints;

use crate::keys::KeyError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("already exists")]
    Conflict,
    #[error("not found")]
    NotFound,
    /// Input the store refuses to write; the message names the item, never its content.
    #[error("invalid input: {0}")]
    Invalid(String),
    #[error("stored value is unreadable: {0}")]
    Corrupt(String),
    /// The erasure journal cannot be written: the change is not made, since a
    /// restore could not apply it again.
    #[error("the erasure journal cannot be written: {0}")]
    Journal(String),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("database: {0}")]
    Db(diesel::result::Error),
}

impl From<diesel::result::Error> for StoreError {
    fn from(e: diesel::result::Error) -> Self {
        if crate::db::is_unique_violation(&e) {
            Self::Conflict
        } else {
            Self::Db(e)
        }
    }
}
