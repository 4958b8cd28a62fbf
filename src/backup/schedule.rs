//! Scheduled backups (`[backup]`): a cron tick queues one `backup` job (lock key
//! `backup`, coalesced while queued), so among all the instances on a database
//! exactly one writes it; the job writes `dir/tributary-<UTC time>.trb` and
//! deletes the oldest beyond `keep`. Logs name files and sizes, never URLs.

use super::{backup_to_file, file_name, BackupError};
use crate::config::{BackupSettings, DatabaseUrl};
use crate::crypto::SecretKey;
use crate::db::Database;
use crate::store::jobs::{self, Job, Kind, NewJob};
use crate::store::StoreError;
use crate::sync::run::{Done, JobError};
use crate::sync::SyncContext;
use chrono::Utc;
use std::path::{Path, PathBuf};

const PREFIX: &str = "tributary-";
const SUFFIX: &str = ".trb";

/// What the worker needs to write a backup.
pub struct Scheduled {
    pub db: Database,
    pub url: DatabaseUrl,
    pub key: SecretKey,
    pub settings: BackupSettings,
}

/// Queue the backup job (the cron tick's work).
pub async fn enqueue(ctx: &SyncContext) {
    let db = ctx.db.clone();
    let done = tokio::task::spawn_blocking(move || -> Result<(), StoreError> {
        let mut conn = db
            .conn()
            .map_err(|e| StoreError::Invalid(format!("database: {e}")))?;
        jobs::enqueue(
            &mut conn,
            &NewJob {
                kind: Kind::Backup,
                lock_key: "backup".into(),
                connection_id: None,
                data_type: None,
                payload: serde_json::json!({}),
                run_at: Utc::now().naive_utc(),
                max_attempts: 3,
            },
        )?;
        Ok(())
    })
    .await;
    match done {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "cannot enqueue the backup"),
        Err(e) => tracing::warn!(error = %e, "backup enqueue panicked"),
    }
}

/// Run a claimed backup job.
pub async fn run(ctx: &SyncContext, job: &Job) -> Result<Done, JobError> {
    let Some(scheduled) = ctx.backup.clone() else {
        return Err(JobError::Fatal(
            "backups are not configured in this process".into(),
            crate::store::sync_state::ERROR,
        ));
    };
    // Written without holding a pooled connection: the backup takes its own, and
    // a small pool (SQLite's) must not wait on itself for the length of a backup.
    tokio::task::spawn_blocking(move || write_one(&scheduled))
        .await
        .map_err(|e| JobError::Retry(format!("backup task: {e}")))?
        .map_err(|e| JobError::Retry(format!("backup: {e}")))?;
    let job = job.clone();
    crate::sync::run::blocking(ctx, move |conn| {
        if jobs::complete(conn, &job)? {
            Ok(Done::default())
        } else {
            Err(JobError::Lost)
        }
    })
    .await
}

fn write_one(s: &Scheduled) -> Result<(), BackupError> {
    let dir = &s.settings.dir;
    create_private_dir(dir)?;
    let name = format!("{PREFIX}{}{SUFFIX}", Utc::now().format("%Y%m%dT%H%M%SZ"));
    let out = dir.join(&name);
    if out.exists() {
        // Another run this very second already wrote it.
        return Ok(());
    }
    let written = backup_to_file(
        &s.db,
        &s.url,
        &s.key,
        &out,
        &indicatif::ProgressBar::hidden(),
    )?;
    tracing::info!(file = %name, bytes = written.bytes, "scheduled backup written");
    for old in prune(dir, s.settings.keep)? {
        tracing::info!(file = %file_name(&old), "old backup deleted");
    }
    Ok(())
}

fn create_private_dir(dir: &Path) -> Result<(), BackupError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(|e| BackupError::Io("cannot create the backup folder".into(), e))
}

/// Delete the oldest backups of `dir` beyond the newest `keep`; the deleted files.
/// Names sort by time, so only files named as this module names them count.
pub fn prune(dir: &Path, keep: usize) -> Result<Vec<PathBuf>, BackupError> {
    let io = |e| BackupError::Io("cannot list the backup folder".into(), e);
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(io)?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(PREFIX) && n.ends_with(SUFFIX))
        .collect();
    names.sort();
    let extra = names.len().saturating_sub(keep);
    let mut deleted = Vec::new();
    for name in names.into_iter().take(extra) {
        let path = dir.join(name);
        std::fs::remove_file(&path)
            .map_err(|e| BackupError::Io("cannot delete an old backup".into(), e))?;
        deleted.push(path);
    }
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn prune_keeps_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        for t in ["20260101T000001Z", "20260101T000003Z", "20260101T000002Z"] {
            std::fs::write(dir.path().join(format!("{PREFIX}{t}{SUFFIX}")), b"x").unwrap();
        }
        std::fs::write(dir.path().join("other.trb"), b"x").unwrap();
        let gone = prune(dir.path(), 2).unwrap();
        assert_eq!(gone.len(), 1);
        assert!(file_name(&gone[0]).contains("000001"));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 3);
    }
}
