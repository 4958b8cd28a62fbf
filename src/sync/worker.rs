//! Workers: claim a job, run it while renewing its lease, record the outcome.
//!
//! Policy: each job runs in its own task, so a panic in one job is caught here,
//! recorded as a failed attempt and retried, and never stops the worker. A worker
//! whose lease renewal finds the claim lost stops the job: another worker owns it
//! now, and the job's final transaction would refuse to commit anyway. On shutdown
//! workers stop claiming and let running jobs finish; a job still running when the
//! process ends is taken over by another worker once its lease expires.

use super::run::{self, JobError};
use super::SyncContext;
use crate::store::jobs::{self, Claim, Job, Kind, Outcome};
use crate::store::sync_state;
use chrono::Utc;
use rand::Rng as _;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Start `settings.workers` workers; they stop when `stop` turns true.
pub fn spawn(ctx: &SyncContext, stop: &watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
    (0..ctx.settings.workers)
        .map(|_| tokio::spawn(work(ctx.clone(), stop.clone())))
        .collect()
}

async fn work(ctx: SyncContext, mut stop: watch::Receiver<bool>) {
    let lease =
        chrono::Duration::from_std(ctx.settings.lease).unwrap_or(chrono::Duration::minutes(1));
    while !*stop.borrow() {
        let (db, instance) = (ctx.db.clone(), ctx.instance.clone());
        let claimed = tokio::task::spawn_blocking(move || {
            let mut conn = db.conn().map_err(|e| e.to_string())?;
            jobs::claim(&mut conn, &instance, &Kind::ALL, lease).map_err(|e| e.to_string())
        })
        .await
        .unwrap_or_else(|e| Err(e.to_string()));
        match claimed {
            Ok(Claim::Job(job)) => {
                execute(&ctx, job).await;
                continue;
            }
            Ok(Claim::Exhausted { id, kind }) => {
                tracing::warn!(job = %id, kind = kind.as_str(), "job failed: its workers kept stopping");
                ctx.metrics.job_finished(kind.as_str(), "failed");
                continue;
            }
            Ok(Claim::Nothing) => {}
            Err(e) => tracing::warn!(error = %e, "cannot claim a job"),
        }
        // Idle: wait a poll interval (with jitter, so idle workers spread out).
        let poll = ctx.settings.poll_interval;
        let jitter = rand::thread_rng().gen_range(0..=poll.as_millis() as u64 / 2);
        tokio::select! {
            _ = tokio::time::sleep(poll + Duration::from_millis(jitter)) => {}
            _ = stop.changed() => {}
        }
    }
}

/// Run a claimed job to its end and record the outcome.
async fn execute(ctx: &SyncContext, job: Job) {
    let (c, j) = (ctx.clone(), job.clone());
    execute_with(ctx, job, async move { run::run(&c, &j).await }).await;
}

/// Run `work` as the claimed `job`: in a task of its own (a panic in it is caught
/// here and recorded as a failed attempt), renewing the lease while it runs, and
/// record the outcome.
pub async fn execute_with(
    ctx: &SyncContext,
    job: Job,
    work: impl std::future::Future<Output = Result<run::Done, JobError>> + Send + 'static,
) {
    let started = Instant::now();
    let kind = job.kind.as_str();
    let mut task = tokio::spawn(work);
    let renew_every = ctx.settings.lease / 3;
    let lease =
        chrono::Duration::from_std(ctx.settings.lease).unwrap_or(chrono::Duration::minutes(1));
    let result = loop {
        tokio::select! {
            joined = &mut task => break joined,
            _ = tokio::time::sleep(renew_every) => {
                let (db, j) = (ctx.db.clone(), job.clone());
                let renewed = tokio::task::spawn_blocking(move || {
                    let mut conn = db.conn().map_err(|e| e.to_string())?;
                    // Through the writers' queue: on SQLite a bare UPDATE
                    // would give up after busy_timeout behind a long write.
                    conn.write_transaction(|c| jobs::renew(c, &j, lease))
                        .map_err(|e| e.to_string())
                })
                .await
                .unwrap_or_else(|e| Err(e.to_string()));
                match renewed {
                    Ok(true) => {}
                    Ok(false) => {
                        task.abort();
                        tracing::warn!(job = %job.id, kind, "lease lost; the job was taken over");
                        ctx.metrics.job_finished(kind, "lost");
                        return;
                    }
                    // The database is unreachable for now: keep going; the
                    // job's final commit checks the claim.
                    Err(e) => tracing::warn!(job = %job.id, error = %e, "cannot renew a lease"),
                }
            }
        }
    };
    let outcome = match result {
        Ok(Ok(done)) => {
            ctx.metrics.job_finished(kind, "done");
            ctx.metrics
                .job_duration(kind, started.elapsed().as_secs_f64());
            tracing::info!(
                job = %job.id,
                kind,
                samples = done.samples,
                inserted = done.inserted,
                ms = started.elapsed().as_millis() as u64,
                "job done"
            );
            return;
        }
        Ok(Err(e)) => e,
        Err(e) if e.is_panic() => JobError::Retry("the job panicked".into()),
        Err(_) => JobError::Retry("the job was cancelled".into()),
    };
    record_failure(ctx, &job, outcome).await;
}

/// Record a failed attempt on the job and on the data type's progress.
async fn record_failure(ctx: &SyncContext, job: &Job, error: JobError) {
    let kind = job.kind.as_str();
    let settings = ctx.settings.clone();
    let (db, j) = (ctx.db.clone(), job.clone());
    let label = match &error {
        JobError::Retry(_) => "retry",
        JobError::Postpone(..) => "postponed",
        JobError::Fatal(..) => "failed",
        JobError::Lost => "lost",
    };
    ctx.metrics.job_finished(kind, label);
    if error == JobError::Lost {
        tracing::warn!(job = %job.id, kind, "claim lost; another worker owns the job");
        return;
    }
    let logged = match &error {
        JobError::Retry(r) | JobError::Postpone(r, _) | JobError::Fatal(r, _) => r.clone(),
        JobError::Lost => String::new(),
    };
    let recorded = tokio::task::spawn_blocking(move || -> Result<Outcome, String> {
        let mut conn = db.conn().map_err(|e| e.to_string())?;
        conn.write_transaction(|conn| -> Result<Outcome, crate::store::StoreError> {
            let (reason, outcome, state) = match &error {
                JobError::Retry(reason) => {
                    let delay = jobs::backoff(j.attempt, settings.retry_base, settings.retry_max);
                    (
                        reason.clone(),
                        jobs::fail(conn, &j, reason, Some(delay))?,
                        None,
                    )
                }
                JobError::Postpone(reason, wait) => {
                    let jitter = rand::thread_rng().gen_range(0..=250);
                    let until = Utc::now().naive_utc()
                        + chrono::Duration::from_std(*wait + Duration::from_millis(jitter))
                            .unwrap_or(chrono::Duration::minutes(1));
                    (
                        reason.clone(),
                        jobs::postpone(conn, &j, reason, until)?,
                        None,
                    )
                }
                JobError::Fatal(reason, state) => (
                    reason.clone(),
                    jobs::fail(conn, &j, reason, None)?,
                    Some(*state),
                ),
                JobError::Lost => return Ok(Outcome::Lost),
            };
            // Out of attempts: the data type shows the error until a later sync works.
            let state = state.or((outcome == Outcome::Failed).then_some(sync_state::ERROR));
            if let (Some(connection), Some(data_type)) = (&j.connection_id, &j.data_type) {
                sync_state::errored(conn, connection, data_type, &reason, state)?;
            }
            Ok(outcome)
        })
        .map_err(|e| e.to_string())
    })
    .await
    .unwrap_or_else(|e| Err(e.to_string()));
    match recorded {
        Ok(outcome) => {
            tracing::info!(job = %job.id, kind, attempt = job.attempt, reason = %logged, outcome = ?outcome, "job not done");
        }
        // The lease will expire and the job will be claimed again.
        Err(e) => tracing::warn!(job = %job.id, kind, error = %e, "cannot record a job's failure"),
    }
}
