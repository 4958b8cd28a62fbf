//! The retention purge (`retention.max_age_days`), run by the daily housekeeping.
//!
//! Observations whose effective start is older than the limit are deleted, in
//! batches; the purge is idempotent (a second run finds nothing) and each run that
//! deleted something is written to the audit log with the hub as actor and the
//! count as its target (no member, no data).

use crate::db::AnyConnection;
use crate::store::audit::{self, ActorType, NewEvent};
use crate::store::{purge, StoreError};
use chrono::Utc;
use std::time::Duration;

/// Delete observations older than `max_age`; returns how many went.
pub fn purge(conn: &mut AnyConnection, max_age: Duration) -> Result<u64, StoreError> {
    let age = chrono::Duration::from_std(max_age).unwrap_or(chrono::Duration::MAX);
    let before = Utc::now()
        .checked_sub_signed(age)
        .map_or(i64::MIN, |t| t.timestamp_micros());
    let n = purge::older_than(conn, before)?;
    if n > 0 {
        let count = n.to_string();
        audit::append(
            conn,
            &NewEvent {
                portal: None,
                actor_type: ActorType::Hub,
                actor_id: "retention",
                action: "retention.purge",
                target_type: "observations",
                target_id: Some(&count),
                outcome: "success",
                request_id: None,
            },
        )?;
        tracing::info!(purged = n, "retention: old observations deleted");
    }
    Ok(n)
}
