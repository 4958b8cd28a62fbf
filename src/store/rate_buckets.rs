//! Vendor quota buckets shared by every process on one database.
//!
//! Policy: a bucket is GCRA with a burst of one: a call may be made once `now`
//! has reached the bucket's `next_at`, and moves it to `now + interval`. A call
//! needs every bucket it counts against (its vendor app's and its connection's):
//! all are read under lock in one transaction (rows locked in key order on
//! PostgreSQL, so two processes never deadlock; SQLite's one writer at a time),
//! and either all are taken or none. A pause (a vendor's 429) holds a bucket until
//! its end in every process. Rows hold ids and instants only.

use super::StoreError;
use crate::db::schema::rate_buckets;
use crate::db::AnyConnection;
use diesel::prelude::*;

/// One bucket a call counts against: its key, and the spacing between calls
/// (`None`: no quota, only pauses apply), in microseconds.
#[derive(Debug, Clone)]
pub struct Bucket {
    pub key: String,
    pub interval_us: Option<i64>,
}

fn ensure(conn: &mut AnyConnection, keys: &[&str]) -> Result<(), StoreError> {
    let rows: Vec<_> = keys
        .iter()
        .map(|k| {
            (
                rate_buckets::key.eq(*k),
                rate_buckets::next_at.eq(0_i64),
                rate_buckets::paused_until.eq(0_i64),
            )
        })
        .collect();
    let insert = diesel::insert_into(rate_buckets::table).values(&rows);
    match conn {
        AnyConnection::Postgresql(pg) => insert.on_conflict_do_nothing().execute(pg)?,
        AnyConnection::Sqlite(lite) => insert.on_conflict_do_nothing().execute(lite)?,
    };
    Ok(())
}

/// Take one call from every bucket at `now_us()` (read once the buckets are
/// locked), or none: `Ok(None)` when taken,
/// `Ok(Some(wait_us))` when the call must wait that long first.
pub fn take(
    conn: &mut AnyConnection,
    buckets: &[Bucket],
    now_us: impl Fn() -> i64,
) -> Result<Option<i64>, StoreError> {
    let mut keys: Vec<&str> = buckets.iter().map(|b| b.key.as_str()).collect();
    keys.sort_unstable();
    keys.dedup();
    conn.write_transaction(|conn| {
        ensure(conn, &keys)?;
        let query = rate_buckets::table
            .filter(rate_buckets::key.eq_any(&keys))
            .order(rate_buckets::key)
            .select((rate_buckets::next_at, rate_buckets::paused_until));
        let rows: Vec<(i64, i64)> = match conn {
            AnyConnection::Postgresql(pg) => query.for_update().load(pg)?,
            AnyConnection::Sqlite(lite) => query.load(lite)?,
        };
        // The time once the rows are locked: waiting for the lock takes time.
        let now_us = now_us();
        let ready_at = rows
            .iter()
            .map(|(next, paused)| (*next).max(*paused))
            .max()
            .unwrap_or(0);
        if ready_at > now_us {
            return Ok(Some(ready_at - now_us));
        }
        for bucket in buckets {
            if let Some(interval) = bucket.interval_us {
                diesel::update(rate_buckets::table.find(&bucket.key))
                    .set(rate_buckets::next_at.eq(now_us.saturating_add(interval)))
                    .execute(conn)?;
            }
        }
        Ok(None)
    })
}

/// Hold the bucket `key` until `until_us` (a later pause already set stays).
pub fn pause(conn: &mut AnyConnection, key: &str, until_us: i64) -> Result<(), StoreError> {
    conn.write_transaction(|conn| {
        ensure(conn, &[key])?;
        diesel::update(
            rate_buckets::table
                .find(key)
                .filter(rate_buckets::paused_until.lt(until_us)),
        )
        .set(rate_buckets::paused_until.eq(until_us))
        .execute(conn)?;
        Ok(())
    })
}

/// Delete buckets idle since before `before_us` (their connection is gone or
/// quiet; a new row starts empty, which is what an idle bucket is).
pub fn purge(conn: &mut AnyConnection, before_us: i64) -> Result<usize, StoreError> {
    Ok(diesel::delete(
        rate_buckets::table
            .filter(rate_buckets::next_at.lt(before_us))
            .filter(rate_buckets::paused_until.lt(before_us)),
    )
    .execute(conn)?)
}
