//! Sync progress per connection and data type: how far back the backfill reached,
//! the newest instant fetched, the last success and error, and the next sync.
//!
//! Policy: the row changes in the same transaction as the observations a sync
//! stores, so progress never claims more than what is stored. Errors are reasons
//! the hub wrote (no PHI). Times are UTC.

use super::StoreError;
use crate::db::schema::sync_state;
use crate::db::AnyConnection;
use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;

pub const BACKFILLING: &str = "backfilling";
pub const IDLE: &str = "idle";
pub const ERROR: &str = "error";
pub const REAUTH_REQUIRED: &str = "reauth_required";

/// One data type's progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncState {
    pub connection_id: String,
    pub data_type: String,
    pub state: String,
    /// The backfill reaches back to here.
    pub backfill_from: NaiveDateTime,
    /// The oldest instant fetched so far (the backfill's progress).
    pub oldest_fetched: Option<NaiveDateTime>,
    /// Everything before this instant has been fetched once.
    pub fetched_until: Option<NaiveDateTime>,
    pub last_success_at: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    pub last_error_at: Option<NaiveDateTime>,
    pub next_sync_at: NaiveDateTime,
}

type Row = (
    String,
    String,
    String,
    NaiveDateTime,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    Option<String>,
    Option<NaiveDateTime>,
    NaiveDateTime,
);

const COLUMNS: (
    sync_state::connection_id,
    sync_state::data_type,
    sync_state::state,
    sync_state::backfill_from,
    sync_state::oldest_fetched,
    sync_state::fetched_until,
    sync_state::last_success_at,
    sync_state::last_error,
    sync_state::last_error_at,
    sync_state::next_sync_at,
) = (
    sync_state::connection_id,
    sync_state::data_type,
    sync_state::state,
    sync_state::backfill_from,
    sync_state::oldest_fetched,
    sync_state::fetched_until,
    sync_state::last_success_at,
    sync_state::last_error,
    sync_state::last_error_at,
    sync_state::next_sync_at,
);

fn from_row(r: Row) -> SyncState {
    SyncState {
        connection_id: r.0,
        data_type: r.1,
        state: r.2,
        backfill_from: r.3,
        oldest_fetched: r.4,
        fetched_until: r.5,
        last_success_at: r.6,
        last_error: r.7,
        last_error_at: r.8,
        next_sync_at: r.9,
    }
}

/// Start tracking a data type: the backfill reaches back to `backfill_from`, the
/// present (up to `now`) is its to fetch, and incremental syncs take over from
/// `now`. Keeps an existing row's progress (a reconnect resumes).
pub fn start(
    conn: &mut AnyConnection,
    connection_id: &str,
    data_type: &str,
    backfill_from: NaiveDateTime,
    now: NaiveDateTime,
    next_sync_at: NaiveDateTime,
) -> Result<(), StoreError> {
    if get(conn, connection_id, data_type)?.is_some() {
        diesel::update(sync_state::table.find((connection_id, data_type)))
            .set((
                sync_state::state.eq(BACKFILLING),
                sync_state::next_sync_at.eq(next_sync_at),
                sync_state::updated_at.eq(now),
            ))
            .execute(conn)?;
        return Ok(());
    }
    diesel::insert_into(sync_state::table)
        .values((
            sync_state::connection_id.eq(connection_id),
            sync_state::data_type.eq(data_type),
            sync_state::state.eq(BACKFILLING),
            sync_state::backfill_from.eq(backfill_from),
            sync_state::fetched_until.eq(Some(now)),
            sync_state::next_sync_at.eq(next_sync_at),
            sync_state::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn get(
    conn: &mut AnyConnection,
    connection_id: &str,
    data_type: &str,
) -> Result<Option<SyncState>, StoreError> {
    Ok(sync_state::table
        .find((connection_id, data_type))
        .select(COLUMNS)
        .first::<Row>(conn)
        .optional()?
        .map(from_row))
}

/// Every tracked data type of a connection, by data type.
pub fn for_connection(
    conn: &mut AnyConnection,
    connection_id: &str,
) -> Result<Vec<SyncState>, StoreError> {
    Ok(sync_state::table
        .filter(sync_state::connection_id.eq(connection_id))
        .order(sync_state::data_type.asc())
        .select(COLUMNS)
        .load::<Row>(conn)?
        .into_iter()
        .map(from_row)
        .collect())
}

/// A backfill window `[start, ..)` was stored; `done` when it was the last one.
pub fn backfilled(
    conn: &mut AnyConnection,
    connection_id: &str,
    data_type: &str,
    start: NaiveDateTime,
    done: bool,
) -> Result<(), StoreError> {
    let now = Utc::now().naive_utc();
    let row = get(conn, connection_id, data_type)?.ok_or(StoreError::NotFound)?;
    let oldest = row.oldest_fetched.map_or(start, |o| o.min(start));
    let state = if done || row.state != BACKFILLING {
        IDLE
    } else {
        BACKFILLING
    };
    diesel::update(sync_state::table.find((connection_id, data_type)))
        .set((
            sync_state::oldest_fetched.eq(Some(oldest)),
            sync_state::state.eq(state),
            sync_state::last_success_at.eq(Some(now)),
            sync_state::last_error.eq(None::<String>),
            sync_state::last_error_at.eq(None::<NaiveDateTime>),
            sync_state::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// An incremental window up to `until` was stored; the next is due at `next`.
pub fn synced(
    conn: &mut AnyConnection,
    connection_id: &str,
    data_type: &str,
    until: NaiveDateTime,
    next: NaiveDateTime,
) -> Result<(), StoreError> {
    let now = Utc::now().naive_utc();
    let row = get(conn, connection_id, data_type)?.ok_or(StoreError::NotFound)?;
    let state = if row.state == BACKFILLING {
        BACKFILLING
    } else {
        IDLE
    };
    diesel::update(sync_state::table.find((connection_id, data_type)))
        .set((
            sync_state::fetched_until.eq(Some(row.fetched_until.map_or(until, |f| f.max(until)))),
            sync_state::state.eq(state),
            sync_state::last_success_at.eq(Some(now)),
            sync_state::last_error.eq(None::<String>),
            sync_state::last_error_at.eq(None::<NaiveDateTime>),
            sync_state::next_sync_at.eq(next),
            sync_state::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Record an error (the hub's reason, no PHI); `state` is [`ERROR`] or
/// [`REAUTH_REQUIRED`], or `None` to keep the state (a retry is coming).
pub fn errored(
    conn: &mut AnyConnection,
    connection_id: &str,
    data_type: &str,
    reason: &str,
    state: Option<&str>,
) -> Result<(), StoreError> {
    let now = Utc::now().naive_utc();
    let q = sync_state::table.find((connection_id, data_type));
    match state {
        Some(state) => diesel::update(q)
            .set((
                sync_state::state.eq(state),
                sync_state::last_error.eq(Some(reason)),
                sync_state::last_error_at.eq(Some(now)),
                sync_state::updated_at.eq(now),
            ))
            .execute(conn)?,
        None => diesel::update(q)
            .set((
                sync_state::last_error.eq(Some(reason)),
                sync_state::last_error_at.eq(Some(now)),
                sync_state::updated_at.eq(now),
            ))
            .execute(conn)?,
    };
    Ok(())
}

/// The (connection, data type) pairs of active connections due for an
/// incremental sync at `now`, at most `limit`.
pub fn due(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    limit: i64,
) -> Result<Vec<(String, String)>, StoreError> {
    use crate::db::schema::connections;
    Ok(sync_state::table
        .inner_join(connections::table)
        .filter(sync_state::next_sync_at.le(now))
        .filter(connections::status.eq("active"))
        .filter(sync_state::state.ne(REAUTH_REQUIRED))
        .order(sync_state::next_sync_at.asc())
        .limit(limit)
        .select((sync_state::connection_id, sync_state::data_type))
        .load(conn)?)
}

/// Push the next incremental sync of a data type to `next`.
pub fn schedule(
    conn: &mut AnyConnection,
    connection_id: &str,
    data_type: &str,
    next: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::update(sync_state::table.find((connection_id, data_type)))
        .set(sync_state::next_sync_at.eq(next))
        .execute(conn)?;
    Ok(())
}

/// Per vendor, the age in seconds of the stalest data type of an active connection
/// (now minus the end of its last fetched window): the sync lag.
pub fn lag_by_vendor(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
) -> Result<Vec<(String, f64)>, StoreError> {
    use crate::db::schema::connections;
    let rows: Vec<(String, Option<NaiveDateTime>)> = sync_state::table
        .inner_join(connections::table)
        .filter(connections::status.eq("active"))
        .group_by(connections::vendor)
        .select((
            connections::vendor,
            diesel::dsl::min(sync_state::fetched_until),
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(vendor, oldest)| {
            let lag = oldest.map_or(0.0, |t| (now - t).num_milliseconds().max(0) as f64 / 1000.0);
            (vendor, lag)
        })
        .collect())
}
