//! The durable job queue: what the workers do, kept in the database so that a
//! restart, a crash or a second instance loses and repeats nothing.
//!
//! Policy:
//! - A job is claimed by turning it `running` with a lease; its `attempts` grows by
//!   one at every claim and is the claim's fencing token: a worker may finish or
//!   renew a job only while `attempts` is still the value its claim returned, so a
//!   worker that lost its lease (it stalled, and another took the job over) can
//!   change nothing.
//! - PostgreSQL claims with `FOR UPDATE SKIP LOCKED`, so workers on several machines
//!   never wait for each other; SQLite claims inside one `BEGIN IMMEDIATE`
//!   transaction, which SQLite runs one at a time.
//! - At most one job per `lock_key` is running (unique index), and a queued job is
//!   not claimed while another of its key runs; at most one job per key and kind is
//!   queued, except backfill windows, so requests for the same sync coalesce.
//! - A running job whose lease has expired is taken over by the next claim; that
//!   counts as an attempt. A job out of attempts ends `failed` with its reason.
//! - Jobs carry ids, kinds and time windows, never health data. `last_error` is a
//!   reason the hub wrote, never a vendor's response body.

use super::StoreError;
use crate::db::schema::jobs;
use crate::db::AnyConnection;
use chrono::{Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use rand::Rng as _;

/// What a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Fetch one window of a data type's history (on connect).
    Backfill,
    /// Fetch what is new for a data type since its last sync.
    Incremental,
    /// Refresh a connection's tokens before they expire.
    TokenRefresh,
    /// Delete finished jobs past their keep time.
    Housekeeping,
    /// Ask the vendor to notify the hub of a connection's new data.
    Subscribe,
    /// Withdraw a revoked grant at the vendor (its token sealed under the ring in
    /// the payload, wiped when the job ends).
    VendorRevoke,
    /// Write a scheduled backup (`[backup]`) and prune old ones.
    Backup,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::Backfill,
        Kind::Incremental,
        Kind::TokenRefresh,
        Kind::Housekeeping,
        Kind::Subscribe,
        Kind::VendorRevoke,
        Kind::Backup,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Backfill => "backfill",
            Kind::Incremental => "incremental",
            Kind::TokenRefresh => "token_refresh",
            Kind::Housekeeping => "housekeeping",
            Kind::Subscribe => "subscribe",
            Kind::VendorRevoke => "vendor_revoke",
            Kind::Backup => "backup",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

pub const QUEUED: &str = "queued";
pub const RUNNING: &str = "running";
pub const DONE: &str = "done";
pub const FAILED: &str = "failed";

/// A job to add.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: Kind,
    pub lock_key: String,
    pub connection_id: Option<String>,
    pub data_type: Option<String>,
    /// Kind-specific parameters (a time window, say); never health data.
    pub payload: serde_json::Value,
    pub run_at: NaiveDateTime,
    pub max_attempts: i32,
}

/// A claimed job, as its worker sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: String,
    pub kind: Kind,
    pub lock_key: String,
    pub connection_id: Option<String>,
    pub data_type: Option<String>,
    pub payload: serde_json::Value,
    /// This claim's attempt number (1 for the first): the fencing token.
    pub attempt: i32,
    pub max_attempts: i32,
    pub lease_until: NaiveDateTime,
}

/// Whether [`enqueue`] added a job or found one already waiting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Enqueued {
    Added(String),
    /// A queued job of the same key and kind was there; it now runs no later than
    /// the `run_at` asked for.
    Coalesced,
}

/// Add a job, or coalesce it into the queued one of the same key and kind.
pub fn enqueue(conn: &mut AnyConnection, job: &NewJob) -> Result<Enqueued, StoreError> {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let now = Utc::now().naive_utc();
    let values = (
        jobs::id.eq(&id),
        jobs::kind.eq(job.kind.as_str()),
        jobs::lock_key.eq(&job.lock_key),
        jobs::connection_id.eq(&job.connection_id),
        jobs::data_type.eq(&job.data_type),
        jobs::payload.eq(job.payload.to_string()),
        jobs::state.eq(QUEUED),
        jobs::attempts.eq(0),
        jobs::max_attempts.eq(job.max_attempts.max(1)),
        jobs::run_at.eq(job.run_at),
        jobs::created_at.eq(now),
        jobs::updated_at.eq(now),
    );
    // `ON CONFLICT DO NOTHING` (both backends have it; diesel's multi-backend
    // connection does not, so each backend builds it): a unique violation inside
    // the caller's transaction would abort it on PostgreSQL.
    let insert = diesel::insert_into(jobs::table).values(values);
    let inserted = match conn {
        AnyConnection::Postgresql(pg) => insert.on_conflict_do_nothing().execute(pg)?,
        AnyConnection::Sqlite(lite) => insert.on_conflict_do_nothing().execute(lite)?,
    };
    if inserted == 1 {
        return Ok(Enqueued::Added(id));
    }
    diesel::update(
        jobs::table
            .filter(jobs::lock_key.eq(&job.lock_key))
            .filter(jobs::kind.eq(job.kind.as_str()))
            .filter(jobs::state.eq(QUEUED))
            .filter(jobs::run_at.gt(job.run_at)),
    )
    .set((jobs::run_at.eq(job.run_at), jobs::updated_at.eq(now)))
    .execute(conn)?;
    Ok(Enqueued::Coalesced)
}

/// Make the queued job of `lock_key` and `kind` cover `since`: its payload's
/// `since` becomes the earlier of the two. `false` when no job of that key and kind
/// is queued (a worker claimed it in the meantime).
pub fn widen_since(
    conn: &mut AnyConnection,
    lock_key: &str,
    kind: Kind,
    since: chrono::DateTime<Utc>,
) -> Result<bool, StoreError> {
    let queued = || {
        jobs::table
            .filter(jobs::lock_key.eq(lock_key))
            .filter(jobs::kind.eq(kind.as_str()))
            .filter(jobs::state.eq(QUEUED))
    };
    let Some((id, payload)) = queued()
        .select((jobs::id, jobs::payload))
        .first::<(String, String)>(conn)
        .optional()?
    else {
        return Ok(false);
    };
    let mut payload: serde_json::Value = serde_json::from_str(&payload)
        .map_err(|_| StoreError::Corrupt(format!("job {id}: payload")))?;
    let earlier = payload
        .get("since")
        .and_then(|v| serde_json::from_value::<chrono::DateTime<Utc>>(v.clone()).ok())
        .is_some_and(|s| s <= since);
    if earlier {
        return Ok(true);
    }
    if let Some(map) = payload.as_object_mut() {
        map.insert("since".into(), serde_json::json!(since));
    } else {
        payload = serde_json::json!({ "since": since });
    }
    let updated = diesel::update(queued().filter(jobs::id.eq(&id)))
        .set((
            jobs::payload.eq(payload.to_string()),
            jobs::updated_at.eq(Utc::now().naive_utc()),
        ))
        .execute(conn)?;
    Ok(updated == 1)
}

type Row = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    i32,
    i32,
    Option<NaiveDateTime>,
);

const ROW: (
    jobs::id,
    jobs::kind,
    jobs::lock_key,
    jobs::connection_id,
    jobs::data_type,
    jobs::payload,
    jobs::attempts,
    jobs::max_attempts,
    jobs::lease_until,
) = (
    jobs::id,
    jobs::kind,
    jobs::lock_key,
    jobs::connection_id,
    jobs::data_type,
    jobs::payload,
    jobs::attempts,
    jobs::max_attempts,
    jobs::lease_until,
);

fn job_from(row: Row) -> Result<Job, StoreError> {
    Ok(Job {
        kind: Kind::parse(&row.1)
            .ok_or_else(|| StoreError::Corrupt(format!("job {}: kind", row.0)))?,
        payload: serde_json::from_str(&row.5)
            .map_err(|_| StoreError::Corrupt(format!("job {}: payload", row.0)))?,
        lease_until: row
            .8
            .ok_or_else(|| StoreError::Corrupt(format!("job {}: lease", row.0)))?,
        id: row.0,
        lock_key: row.2,
        connection_id: row.3,
        data_type: row.4,
        attempt: row.6,
        max_attempts: row.7,
    })
}

/// What a claim found.
#[derive(Debug)]
pub enum Claim {
    Job(Job),
    /// A job whose workers kept dying ran out of attempts and is now `failed`.
    Exhausted {
        id: String,
        kind: Kind,
    },
    Nothing,
}

/// Claim the job due first, for `lease` (by `worker`, an instance name for
/// operators), taking over expired leases. `kinds` limits what is claimed.
pub fn claim(
    conn: &mut AnyConnection,
    worker: &str,
    kinds: &[Kind],
    lease: Duration,
) -> Result<Claim, StoreError> {
    let now = Utc::now().naive_utc();
    let kinds: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
    let result = conn.write_transaction(|conn| -> Result<Claim, StoreError> {
        // First a job whose worker stopped renewing its lease, then the queued job
        // due first whose key has no running job. Two queries, so that each is one
        // range scan of a partial index (`jobs_leases`, `jobs_due`) however many
        // finished jobs the table keeps.
        let expired = jobs::table
            .filter(jobs::state.eq(RUNNING))
            .filter(jobs::lease_until.lt(now))
            .filter(jobs::kind.eq_any(&kinds))
            .order(jobs::lease_until.asc())
            .select((jobs::id, jobs::state, jobs::attempts, jobs::max_attempts));
        let running = diesel::alias!(jobs as running);
        let key_is_running = diesel::dsl::exists(
            running
                .filter(running.field(jobs::lock_key).eq(jobs::lock_key))
                .filter(running.field(jobs::state).eq(RUNNING)),
        );
        let due = jobs::table
            .filter(jobs::state.eq(QUEUED))
            .filter(jobs::run_at.le(now))
            .filter(jobs::kind.eq_any(&kinds))
            .filter(diesel::dsl::not(key_is_running))
            .order(jobs::run_at.asc())
            .select((jobs::id, jobs::state, jobs::attempts, jobs::max_attempts));
        let found: Option<(String, String, i32, i32)> = match conn {
            AnyConnection::Postgresql(pg) => {
                match expired.for_update().skip_locked().first(pg).optional()? {
                    Some(row) => Some(row),
                    None => due.for_update().skip_locked().first(pg).optional()?,
                }
            }
            AnyConnection::Sqlite(lite) => match expired.first(lite).optional()? {
                Some(row) => Some(row),
                None => due.first(lite).optional()?,
            },
        };
        let Some((id, state, attempts, max_attempts)) = found else {
            return Ok(Claim::Nothing);
        };
        if state == RUNNING && attempts >= max_attempts {
            diesel::update(jobs::table.find(&id))
                .set((
                    jobs::state.eq(FAILED),
                    jobs::lease_until.eq(None::<NaiveDateTime>),
                    jobs::last_error.eq(format!(
                        "the worker stopped during the job {attempts} times"
                    )),
                    jobs::updated_at.eq(now),
                    jobs::finished_at.eq(now),
                ))
                .execute(conn)?;
            let kind: String = jobs::table.find(&id).select(jobs::kind).first(conn)?;
            let kind =
                Kind::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("job {id}: kind")))?;
            return Ok(Claim::Exhausted { id, kind });
        }
        diesel::update(jobs::table.find(&id))
            .set((
                jobs::state.eq(RUNNING),
                jobs::attempts.eq(attempts + 1),
                jobs::lease_until.eq(now + lease),
                jobs::worker.eq(worker),
                jobs::updated_at.eq(now),
            ))
            .execute(conn)?;
        let row: Row = jobs::table.find(&id).select(ROW).first(conn)?;
        Ok(Claim::Job(job_from(row)?))
    });
    match result {
        // Another worker's claim of the same key won the race (PostgreSQL only).
        Err(StoreError::Conflict) => Ok(Claim::Nothing),
        other => other,
    }
}

/// The condition that the claim behind `job` still holds.
macro_rules! owned {
    ($job:expr) => {
        jobs::table
            .find(&$job.id)
            .filter(jobs::state.eq(RUNNING))
            .filter(jobs::attempts.eq($job.attempt))
    };
}

/// Extend the lease; `false` when the claim was lost (the job was taken over).
pub fn renew(conn: &mut AnyConnection, job: &Job, lease: Duration) -> Result<bool, StoreError> {
    let now = Utc::now().naive_utc();
    let n = diesel::update(owned!(job))
        .set((jobs::lease_until.eq(now + lease), jobs::updated_at.eq(now)))
        .execute(conn)?;
    Ok(n == 1)
}

/// Mark the job done; `false` when the claim was lost. Call it inside the
/// transaction that commits the job's effect, so both happen or neither.
pub fn complete(conn: &mut AnyConnection, job: &Job) -> Result<bool, StoreError> {
    let now = Utc::now().naive_utc();
    let n = diesel::update(owned!(job))
        .set((
            jobs::state.eq(DONE),
            jobs::lease_until.eq(None::<NaiveDateTime>),
            jobs::last_error.eq(None::<String>),
            jobs::updated_at.eq(now),
            jobs::finished_at.eq(now),
        ))
        .execute(conn)?;
    if n == 1 {
        forget_secret(conn, job)?;
    }
    Ok(n == 1)
}

/// A job whose payload holds a secret (a sealed token) drops it when it ends.
fn forget_secret(conn: &mut AnyConnection, job: &Job) -> Result<(), StoreError> {
    if job.kind == Kind::VendorRevoke {
        diesel::update(jobs::table.find(&job.id))
            .set(jobs::payload.eq("{}"))
            .execute(conn)?;
    }
    Ok(())
}

/// Wipe the payloads of ended jobs that held a secret, whatever ended them (a
/// job given up after its workers kept stopping ends in `claim`). For housekeeping.
pub fn forget_ended_secrets(conn: &mut AnyConnection) -> Result<usize, StoreError> {
    Ok(diesel::update(
        jobs::table
            .filter(jobs::kind.eq(Kind::VendorRevoke.as_str()))
            .filter(jobs::state.eq_any([DONE, FAILED]))
            .filter(jobs::payload.ne("{}")),
    )
    .set(jobs::payload.eq("{}"))
    .execute(conn)?)
}

/// What became of a job that did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Queued again, to run at this time.
    Retrying(NaiveDateTime),
    /// Out of attempts (or not worth retrying): `failed`.
    Failed,
    /// A queued job of the same key and kind will do the same work.
    Superseded,
    /// The claim was lost; someone else owns the job now.
    Lost,
}

/// The delay before attempt `attempt + 1`: exponential from `base`, at most `cap`,
/// with "equal jitter" (half fixed, half random) so that jobs that failed together
/// do not retry together.
pub fn backoff(attempt: i32, base: std::time::Duration, cap: std::time::Duration) -> Duration {
    let exp = u32::try_from(attempt.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    let full = base.saturating_mul(2u32.saturating_pow(exp)).min(cap);
    let half = full / 2;
    let jitter = rand::thread_rng().gen_range(0..=half.as_millis().max(1) as u64);
    Duration::from_std(half + std::time::Duration::from_millis(jitter))
        .unwrap_or(Duration::hours(1))
}

/// Record a failed attempt: retry after `delay` when attempts remain and `retry`,
/// else end `failed`. `reason` is the hub's own words, with no PHI.
pub fn fail(
    conn: &mut AnyConnection,
    job: &Job,
    reason: &str,
    retry: Option<Duration>,
) -> Result<Outcome, StoreError> {
    let now = Utc::now().naive_utc();
    let retry = retry.filter(|_| job.attempt < job.max_attempts);
    let Some(delay) = retry else {
        let n = diesel::update(owned!(job))
            .set((
                jobs::state.eq(FAILED),
                jobs::lease_until.eq(None::<NaiveDateTime>),
                jobs::last_error.eq(reason),
                jobs::updated_at.eq(now),
                jobs::finished_at.eq(now),
            ))
            .execute(conn)?;
        if n == 1 {
            forget_secret(conn, job)?;
        }
        return Ok(if n == 1 {
            Outcome::Failed
        } else {
            Outcome::Lost
        });
    };
    requeue(conn, job, Some(reason), now + delay, false)
}

/// Put the job back without counting this attempt (the vendor asked us to wait:
/// a 429 with `Retry-After`, or our own rate limit).
pub fn postpone(
    conn: &mut AnyConnection,
    job: &Job,
    reason: &str,
    until: NaiveDateTime,
) -> Result<Outcome, StoreError> {
    requeue(conn, job, Some(reason), until, true)
}

fn requeue(
    conn: &mut AnyConnection,
    job: &Job,
    reason: Option<&str>,
    run_at: NaiveDateTime,
    refund_attempt: bool,
) -> Result<Outcome, StoreError> {
    let now = Utc::now().naive_utc();
    let attempts = if refund_attempt {
        job.attempt - 1
    } else {
        job.attempt
    };
    let updated = conn.write_transaction(|conn| {
        diesel::update(owned!(job))
            .set((
                jobs::state.eq(QUEUED),
                jobs::attempts.eq(attempts),
                jobs::run_at.eq(run_at),
                jobs::lease_until.eq(None::<NaiveDateTime>),
                jobs::last_error.eq(reason),
                jobs::updated_at.eq(now),
            ))
            .execute(conn)
    });
    match updated {
        Ok(1) => Ok(Outcome::Retrying(run_at)),
        Ok(_) => Ok(Outcome::Lost),
        Err(e) if crate::db::is_unique_violation(&e) => {
            // Another request for the same work is already queued: it will do it.
            let n = diesel::update(owned!(job))
                .set((
                    jobs::state.eq(DONE),
                    jobs::lease_until.eq(None::<NaiveDateTime>),
                    jobs::last_error.eq(reason),
                    jobs::updated_at.eq(now),
                    jobs::finished_at.eq(now),
                ))
                .execute(conn)?;
            Ok(if n == 1 {
                Outcome::Superseded
            } else {
                Outcome::Lost
            })
        }
        Err(e) => Err(e.into()),
    }
}

/// Counts of unfinished and failed jobs by kind and state, for metrics (`done`
/// jobs are left out: there are many, and they are history).
pub fn counts(conn: &mut AnyConnection) -> Result<Vec<(String, String, i64)>, StoreError> {
    Ok(jobs::table
        .filter(jobs::state.ne(DONE))
        .group_by((jobs::kind, jobs::state))
        .select((jobs::kind, jobs::state, diesel::dsl::count_star()))
        .load(conn)?)
}

/// A job as an operator or a test sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobView {
    pub id: String,
    pub kind: String,
    pub state: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub data_type: Option<String>,
    pub run_at: NaiveDateTime,
}

/// The jobs of a connection, newest first (at most `limit`).
pub fn for_connection(
    conn: &mut AnyConnection,
    connection_id: &str,
    limit: i64,
) -> Result<Vec<JobView>, StoreError> {
    type ViewRow = (
        String,
        String,
        String,
        i32,
        Option<String>,
        Option<String>,
        NaiveDateTime,
    );
    let rows: Vec<ViewRow> = jobs::table
        .filter(jobs::connection_id.eq(connection_id))
        .order(jobs::created_at.desc())
        .limit(limit)
        .select((
            jobs::id,
            jobs::kind,
            jobs::state,
            jobs::attempts,
            jobs::last_error,
            jobs::data_type,
            jobs::run_at,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| JobView {
            id: r.0,
            kind: r.1,
            state: r.2,
            attempts: r.3,
            last_error: r.4,
            data_type: r.5,
            run_at: r.6,
        })
        .collect())
}

/// Delete finished jobs: `done` older than `done_age`, `failed` older than
/// `failed_age`. Returns how many went.
pub fn purge(
    conn: &mut AnyConnection,
    done_age: Duration,
    failed_age: Duration,
) -> Result<usize, StoreError> {
    let now = Utc::now().naive_utc();
    let done = diesel::delete(
        jobs::table
            .filter(jobs::state.eq(DONE))
            .filter(jobs::finished_at.lt(now - done_age)),
    )
    .execute(conn)?;
    let failed = diesel::delete(
        jobs::table
            .filter(jobs::state.eq(FAILED))
            .filter(jobs::finished_at.lt(now - failed_age)),
    )
    .execute(conn)?;
    Ok(done + failed)
}
