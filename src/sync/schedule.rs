//! The scheduler: tokio-cron-scheduler ticks that turn due work into jobs.
//!
//! Policy: the scheduler holds no state. Each tick reads what is due from the
//! database (the next sync time of each data type, token expiry times) and
//! enqueues jobs, which coalesce with those already queued; so a restart, a missed
//! tick or several instances ticking at once lose and duplicate nothing. The daily
//! housekeeping is itself a job (one lock key), so one instance does it; so is a
//! scheduled backup (`[backup]`, see `crate::backup::schedule`).

use super::{plan, SyncContext};
use crate::store::jobs::{self, Kind, NewJob};
use crate::store::{connections, sync_state, StoreError};
use chrono::{Duration, Utc};
use tokio_cron_scheduler::{Job as CronJob, JobScheduler};

/// Due rows handled per tick; the rest wait for the next tick.
const PER_TICK: i64 = 2000;
/// Tokens are refreshed this long before they expire.
const REFRESH_AHEAD: Duration = Duration::minutes(10);

/// Check a cron string (six fields, seconds first) the way the scheduler reads it.
pub fn validate_cron(text: &str) -> Result<(), String> {
    CronJob::new(text, |_, _| {}).map(|_| ()).map_err(|_| {
        "expected six fields: second minute hour day-of-month month day-of-week".into()
    })
}

/// Start the ticks. The returned scheduler runs until shut down.
pub async fn start(
    ctx: SyncContext,
) -> Result<JobScheduler, tokio_cron_scheduler::JobSchedulerError> {
    let scheduler = JobScheduler::new().await?;
    let tick_ctx = ctx.clone();
    scheduler
        .add(CronJob::new_async(
            ctx.settings.schedule.as_str(),
            move |_, _| {
                let ctx = tick_ctx.clone();
                Box::pin(async move { tick(&ctx).await })
            },
        )?)
        .await?;
    let hk_ctx = ctx.clone();
    scheduler
        .add(CronJob::new_async(
            ctx.settings.housekeeping_schedule.as_str(),
            move |_, _| {
                let ctx = hk_ctx.clone();
                Box::pin(async move { enqueue_housekeeping(&ctx).await })
            },
        )?)
        .await?;
    if let Some(schedule) = ctx
        .backup
        .as_ref()
        .and_then(|b| b.settings.schedule.clone())
    {
        let backup_ctx = ctx.clone();
        scheduler
            .add(CronJob::new_async(schedule.as_str(), move |_, _| {
                let ctx = backup_ctx.clone();
                Box::pin(async move { crate::backup::schedule::enqueue(&ctx).await })
            })?)
            .await?;
    }
    scheduler.start().await?;
    Ok(scheduler)
}

/// One tick: enqueue due incremental syncs and token refreshes, and update the
/// queue gauges. Errors are logged; the next tick tries again.
pub async fn tick(ctx: &SyncContext) {
    let c = ctx.clone();
    let done = tokio::task::spawn_blocking(move || enqueue_due(&c)).await;
    match done {
        Ok(Ok(n)) if n > 0 => tracing::debug!(enqueued = n, "scheduler tick"),
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "scheduler tick failed"),
        Err(e) => tracing::warn!(error = %e, "scheduler tick panicked"),
    }
}

fn enqueue_due(ctx: &SyncContext) -> Result<usize, StoreError> {
    let mut conn = ctx
        .db
        .conn()
        .map_err(|e| StoreError::Invalid(format!("database: {e}")))?;
    let now = Utc::now().naive_utc();
    let mut enqueued = 0;
    for (connection_id, data_type) in sync_state::due(&mut conn, now, PER_TICK)? {
        let connection = match connections::get(&mut conn, &connection_id) {
            Ok(c) => c,
            Err(StoreError::NotFound) => continue,
            Err(e) => return Err(e),
        };
        let Some(connector) = ctx.vendors.connector(&connection.vendor) else {
            continue;
        };
        let interval = plan::incremental_interval(&ctx.settings, connector.manifest());
        let polls = connector.polls_on_schedule();
        conn.write_transaction(|conn| {
            if polls {
                plan::request_incremental(conn, &ctx.settings, &connection, &data_type, now)?;
            }
            sync_state::schedule(conn, &connection_id, &data_type, now + interval)
        })?;
        enqueued += usize::from(polls);
    }
    for connection_id in connections::expiring(&mut conn, now + REFRESH_AHEAD, PER_TICK)? {
        jobs::enqueue(
            &mut conn,
            &NewJob {
                kind: Kind::TokenRefresh,
                lock_key: format!("token/{connection_id}"),
                connection_id: Some(connection_id),
                data_type: None,
                payload: serde_json::json!({}),
                run_at: now,
                max_attempts: 3,
            },
        )?;
        enqueued += 1;
    }
    ctx.metrics.set_job_counts(&jobs::counts(&mut conn)?);
    ctx.metrics
        .set_sync_lag(&sync_state::lag_by_vendor(&mut conn, now)?);
    Ok(enqueued)
}

/// Enqueue the daily housekeeping (one job for all instances), and repair any
/// active connection whose data types have no sync progress yet.
pub async fn enqueue_housekeeping(ctx: &SyncContext) {
    let c = ctx.clone();
    let done = tokio::task::spawn_blocking(move || -> Result<(), StoreError> {
        let mut conn =
            c.db.conn()
                .map_err(|e| StoreError::Invalid(format!("database: {e}")))?;
        jobs::enqueue(
            &mut conn,
            &NewJob {
                kind: Kind::Housekeeping,
                lock_key: "housekeeping".into(),
                connection_id: None,
                data_type: None,
                payload: serde_json::json!({}),
                run_at: Utc::now().naive_utc(),
                max_attempts: 3,
            },
        )?;
        for id in connections::active_ids(&mut conn)? {
            let connection = connections::get(&mut conn, &id)?;
            if let Some(connector) = c.vendors.connector(&connection.vendor) {
                conn.write_transaction(|conn| {
                    plan::start(conn, &c.settings, connector.manifest(), &connection)
                })?;
            }
        }
        Ok(())
    })
    .await;
    match done {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "cannot enqueue housekeeping"),
        Err(e) => tracing::warn!(error = %e, "housekeeping enqueue panicked"),
    }
}
