//! What to fetch and when: backfill windows on connect, incremental syncs when due,
//! and the lock keys that keep one data type of a connection on one worker.
//!
//! Policy: every function here only writes rows (sync progress and jobs) and runs
//! inside its caller's transaction, so a connection is never created without its
//! backfill, and a due sync is never both enqueued and forgotten.

use crate::config::SyncSettings;
use crate::db::AnyConnection;
use crate::store::connections::{Connection, Status};
use crate::store::jobs::{self, Enqueued, Kind, NewJob};
use crate::store::{sync_state, StoreError};
use chrono::{DateTime, Duration, NaiveDateTime, SubsecRound as _, Utc};
use serde::{Deserialize, Serialize};
use tributary_connectors::Manifest;

/// The parameters of a backfill job: the window `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// A data type of a connection is worked on by one job at a time.
pub fn lock_key(connection_id: &str, data_type: &str) -> String {
    format!("sync/{connection_id}/{data_type}")
}

fn to_chrono(d: std::time::Duration) -> Duration {
    Duration::from_std(d).unwrap_or(Duration::days(1))
}

/// The days of history to backfill for a vendor: its configured entry, else the
/// default, never past the vendor's own limit.
pub fn backfill_days(settings: &SyncSettings, manifest: &Manifest) -> u32 {
    settings
        .backfill_days_by_vendor
        .get(manifest.vendor)
        .copied()
        .unwrap_or(settings.backfill_days)
        .min(manifest.max_history_days)
}

/// The time between incremental syncs of one data type: the configured interval,
/// slowed down where the vendor's per-user quota could not keep up with every data
/// type of a connection syncing at it (two calls per type and sync, at least).
pub fn incremental_interval(settings: &SyncSettings, manifest: &Manifest) -> Duration {
    let configured = to_chrono(settings.incremental_interval);
    let Some(per_minute) = manifest.rate_limits.per_user_per_minute else {
        return configured;
    };
    let calls = 2 * manifest.data_types.len().max(1) as i64;
    let floor = Duration::seconds(60 * calls / i64::from(per_minute.max(1)));
    configured.max(floor)
}

/// Start syncing every granted data type of a connection that has no progress yet,
/// and resume an interrupted backfill: enqueue the next window where the data type
/// is still backfilling. Returns the number of jobs added.
pub fn start(
    conn: &mut AnyConnection,
    settings: &SyncSettings,
    manifest: &Manifest,
    connection: &Connection,
) -> Result<usize, StoreError> {
    if connection.status != Status::Active {
        return Ok(0);
    }
    // Whole seconds: the database keeps microseconds (PostgreSQL) and windows are
    // compared with what it kept.
    let now = Utc::now().trunc_subsecs(0);
    let from = now - Duration::days(i64::from(backfill_days(settings, manifest)));
    let interval = incremental_interval(settings, manifest);
    let mut added = 0;
    for data_type in &connection.data_types {
        if manifest.data_type(data_type).is_none() {
            continue;
        }
        let existing = sync_state::get(conn, &connection.id, data_type)?;
        let resume_at = match &existing {
            None => now,
            Some(s) if s.state == sync_state::REAUTH_REQUIRED || s.state == sync_state::ERROR => s
                .oldest_fetched
                .unwrap_or(s.fetched_until.unwrap_or(s.backfill_from))
                .and_utc(),
            Some(s)
                if s.state == sync_state::BACKFILLING
                    && !backfill_queued(conn, connection, data_type)? =>
            {
                s.oldest_fetched
                    .unwrap_or(s.fetched_until.unwrap_or(s.backfill_from))
                    .and_utc()
            }
            Some(_) => continue,
        };
        let backfill_from = existing
            .as_ref()
            .map_or(from, |s| s.backfill_from.and_utc());
        sync_state::start(
            conn,
            &connection.id,
            data_type,
            backfill_from.naive_utc(),
            existing
                .as_ref()
                .and_then(|s| s.fetched_until)
                .unwrap_or(now.naive_utc()),
            (now + interval).naive_utc(),
        )?;
        if resume_at > backfill_from {
            enqueue_backfill(
                conn,
                settings,
                connection,
                data_type,
                backfill_from,
                resume_at,
            )?;
            added += 1;
        } else {
            sync_state::backfilled(
                conn,
                &connection.id,
                data_type,
                backfill_from.naive_utc(),
                true,
            )?;
        }
        if existing.is_some() {
            // After a reconnect, catch up on what came in while it was broken.
            request_incremental(conn, settings, connection, data_type, now.naive_utc())?;
            added += 1;
        }
    }
    if added > 0 && manifest.notifies {
        // New or reconnected: (re)subscribe to the vendor's notifications.
        jobs::enqueue(
            conn,
            &NewJob {
                kind: Kind::Subscribe,
                lock_key: format!("subscribe/{}", connection.id),
                connection_id: Some(connection.id.clone()),
                data_type: None,
                payload: serde_json::json!({}),
                run_at: now.naive_utc(),
                max_attempts: max_attempts(settings),
            },
        )?;
        added += 1;
    }
    Ok(added)
}

/// A vendor notified of new data of one data type: sync it now, from `since` (the
/// start of the notified window) if that lies before what the sync would fetch
/// anyway. Coalesces with a queued sync and widens it to cover `since`.
pub fn request_push(
    conn: &mut AnyConnection,
    settings: &SyncSettings,
    connection: &Connection,
    data_type: &str,
    since: Option<DateTime<Utc>>,
) -> Result<(), StoreError> {
    let now = Utc::now().naive_utc();
    let key = lock_key(&connection.id, data_type);
    // A worker may claim the queued job between the two steps; then the next
    // round queues a new one.
    for _ in 0..3 {
        let job = NewJob {
            kind: Kind::Incremental,
            lock_key: key.clone(),
            connection_id: Some(connection.id.clone()),
            data_type: Some(data_type.to_owned()),
            payload: since.map_or_else(
                || serde_json::json!({}),
                |s| serde_json::json!({ "since": s }),
            ),
            run_at: now,
            max_attempts: max_attempts(settings),
        };
        match jobs::enqueue(conn, &job)? {
            Enqueued::Added(_) => return Ok(()),
            Enqueued::Coalesced => match since {
                None => return Ok(()),
                Some(s) if jobs::widen_since(conn, &key, Kind::Incremental, s)? => return Ok(()),
                Some(_) => {}
            },
        }
    }
    Ok(())
}

fn backfill_queued(
    conn: &mut AnyConnection,
    connection: &Connection,
    data_type: &str,
) -> Result<bool, StoreError> {
    Ok(jobs::for_connection(conn, &connection.id, 1000)?
        .iter()
        .any(|j| {
            j.kind == Kind::Backfill.as_str()
                && j.data_type.as_deref() == Some(data_type)
                && (j.state == jobs::QUEUED || j.state == jobs::RUNNING)
        }))
}

/// Enqueue the backfill window that ends at `end` (the newest not yet fetched).
pub fn enqueue_backfill(
    conn: &mut AnyConnection,
    settings: &SyncSettings,
    connection: &Connection,
    data_type: &str,
    backfill_from: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Enqueued, StoreError> {
    let start = (end - to_chrono(settings.backfill_window)).max(backfill_from);
    let window = Window { start, end };
    jobs::enqueue(
        conn,
        &NewJob {
            kind: Kind::Backfill,
            lock_key: lock_key(&connection.id, data_type),
            connection_id: Some(connection.id.clone()),
            data_type: Some(data_type.to_owned()),
            payload: serde_json::to_value(window).unwrap_or_default(),
            run_at: Utc::now().naive_utc(),
            max_attempts: max_attempts(settings),
        },
    )
}

/// Enqueue an incremental sync of one data type to run at `run_at` (coalesced with
/// one already queued), and move its next scheduled sync past the interval.
pub fn request_incremental(
    conn: &mut AnyConnection,
    settings: &SyncSettings,
    connection: &Connection,
    data_type: &str,
    run_at: NaiveDateTime,
) -> Result<Enqueued, StoreError> {
    jobs::enqueue(
        conn,
        &NewJob {
            kind: Kind::Incremental,
            lock_key: lock_key(&connection.id, data_type),
            connection_id: Some(connection.id.clone()),
            data_type: Some(data_type.to_owned()),
            payload: serde_json::json!({}),
            run_at,
            max_attempts: max_attempts(settings),
        },
    )
}

fn max_attempts(settings: &SyncSettings) -> i32 {
    i32::try_from(settings.max_attempts).unwrap_or(i32::MAX)
}
