//! Backup and restore: `tributary backup --out FILE`, `tributary restore FILE`, and
//! the scheduled backups of `[backup]`.
//!
//! Policy:
//! - A backup is a consistent snapshot taken while the hub serves (SQLite `VACUUM
//!   INTO`, PostgreSQL `pg_dump`), sealed as it is written ([`format`]): without
//!   the master key the file reveals nothing but its backend, time and size. It is
//!   written beside its final name and renamed when complete, so a failed backup
//!   leaves no file.
//! - A restore goes only into an empty database, and changes nothing until the
//!   whole file has been authenticated (SQLite: the file is written aside and moved
//!   in; PostgreSQL: a first pass checks every chunk, then `pg_restore` runs in one
//!   transaction). Then the migrations run, so an older backup is brought up to
//!   date, and the erasure journal is re-applied: a member erased after the backup
//!   was made stays erased.
//! - Until then the database carries a marker table ([`MARKER`]): it is in the
//!   SQLite file before that file takes its place, and created before
//!   `pg_restore` runs on PostgreSQL. A restore that stops after the data is in
//!   but before the journal is re-applied would leave erased members readable, so
//!   every command that opens the database (`crate::db::open`: `serve`, `backup`,
//!   `migrate`, …) refuses while the marker is there. The marker goes last. A
//!   database holding nothing but the marker counts as empty, so the restore can
//!   simply be run again.

pub mod format;
mod postgres;
pub mod schedule;
mod sqlite;

use crate::config::{DatabaseUrl, MasterKeySource, Settings};
use crate::crypto::SecretKey;
use crate::db::{AnyConnection, Database};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};
use thiserror::Error;

pub use schedule::Scheduled;

#[derive(Debug, Error)]
pub enum BackupError {
    #[error("not a Tributary backup (it does not start with TRIBUTARY-BACKUP)")]
    NotABackup,
    #[error("backup format version {0} is not one this tributary reads (1)")]
    UnsupportedVersion(u8),
    #[error("wrong master key: this backup was made with another master key")]
    WrongMasterKey,
    #[error("the backup's header was altered (its data key does not open)")]
    HeaderAltered,
    #[error("the backup file is truncated: it ends at chunk {chunk}, before its last chunk")]
    Truncated { chunk: u64 },
    #[error("the backup file was altered: chunk {chunk} does not authenticate")]
    Altered { chunk: u64 },
    #[error("this is a {backup} backup, but the configured database is {configured}: restore it with a {backup} database URL")]
    BackendMismatch {
        backup: String,
        configured: &'static str,
    },
    #[error("{database} is not empty ({reason}): restore only into an empty database; nothing was changed")]
    NotEmpty { database: String, reason: String },
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error("{0}")]
    Tool(String),
    #[error("database: {0}")]
    Db(String),
}

/// What `backup` wrote.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Written {
    pub file: String,
    pub backend: String,
    pub backup_id: String,
    pub created_at: String,
    /// Size of the backup file.
    pub bytes: u64,
}

/// What `restore` did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Restored {
    pub backend: String,
    pub backup_id: String,
    pub created_at: String,
    /// Payload bytes restored (the SQLite file, the pg_dump archive).
    pub bytes: u64,
    pub tables: usize,
    pub rows: i64,
    pub migrations_applied: Vec<String>,
    pub journal_entries: usize,
    pub erasures_reapplied: usize,
}

/// A progress bar for `bytes` on stderr; drawn only when stderr is a terminal.
pub fn progress(total: Option<u64>, what: &'static str) -> ProgressBar {
    let pb = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
    let template = if total.is_some() {
        "{msg} {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} {eta}"
    } else {
        "{msg} {spinner} {bytes} {bytes_per_sec}"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        pb.set_style(style);
    }
    pb.set_message(what);
    pb
}

/// Back up the database behind `db` (configured as `url`) into `out`, which must
/// not exist.
pub fn backup_to_file(
    db: &Database,
    url: &DatabaseUrl,
    backup_key: &SecretKey,
    out: &Path,
    bar: &ProgressBar,
) -> Result<Written, BackupError> {
    if out.exists() {
        return Err(BackupError::Io(
            format!("{} already exists", out.display()),
            std::io::ErrorKind::AlreadyExists.into(),
        ));
    }
    let dir = out
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let io = |what: String, e| BackupError::Io(what, e);
    // Created 0600; renamed to `out` only once complete.
    let tmp = tempfile::Builder::new()
        .prefix(".tributary-backup-")
        .suffix(".partial")
        .tempfile_in(dir)
        .map_err(|e| io(format!("cannot write in {}", dir.display()), e))?;
    let file = tmp
        .reopen()
        .map_err(|e| io("cannot write the backup".into(), e))?;
    let sink = bar.wrap_write(std::io::BufWriter::new(file));
    let mut writer = format::Writer::new(sink, backup_key, url.backend_name())
        .map_err(|e| io("cannot write the backup".into(), e))?;
    let header = writer.header.clone();
    match url {
        DatabaseUrl::Sqlite { path } => {
            let mut conn = db.conn().map_err(|e| BackupError::Db(e.to_string()))?;
            let snap = sqlite::snapshot(&mut conn, path)?;
            drop(conn);
            let mut f = std::fs::File::open(&snap.file)
                .map_err(|e| io("cannot read the snapshot".into(), e))?;
            std::io::copy(&mut f, &mut writer)
                .map_err(|e| io("cannot write the backup".into(), e))?;
        }
        DatabaseUrl::Postgres { url } => {
            let mut dump = postgres::dump(url)?;
            let copied = std::io::copy(&mut dump.stdout, &mut writer);
            dump.finish()?;
            copied.map_err(|e| io("cannot write the backup".into(), e))?;
        }
    }
    drop(
        writer
            .finish()
            .map_err(|e| io("cannot write the backup".into(), e))?,
    );
    tmp.as_file()
        .sync_all()
        .map_err(|e| io("cannot write the backup".into(), e))?;
    tmp.persist_noclobber(out)
        .map_err(|e| io(format!("cannot write {}", out.display()), e.error))?;
    bar.finish_and_clear();
    let bytes = std::fs::metadata(out).map(|m| m.len()).unwrap_or_default();
    Ok(Written {
        file: out.display().to_string(),
        backend: header.backend,
        backup_id: header.backup_id,
        created_at: header.created_at,
        bytes,
    })
}

/// `tributary backup --out FILE`.
pub fn backup_command(settings: &Settings, out: &Path) -> anyhow::Result<Written> {
    if let DatabaseUrl::Sqlite { path } = &settings.database.url {
        if !path.exists() {
            anyhow::bail!("database file {} does not exist", path.display());
        }
    }
    // Unlocking the ring checks that the master key is this database's: a backup
    // sealed under another key could never be restored into a working hub.
    let (db, ring) = crate::app::open_storage(settings)?;
    let written = backup_to_file(
        &db,
        &settings.database.url,
        &ring.backup_key(),
        out,
        &progress(None, "backup"),
    )?;
    tracing::info!(file = %file_name(out), bytes = written.bytes, "backup written");
    Ok(written)
}

/// The last component of a path, for logs (folders may say more than they should).
pub fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn describe(url: &DatabaseUrl) -> String {
    match url {
        DatabaseUrl::Sqlite { path } => format!("SQLite database {}", path.display()),
        DatabaseUrl::Postgres { url } => postgres::describe(url),
    }
}

pub use crate::db::{unfinished_restore, RESTORE_MARKER as MARKER};

/// `tributary restore FILE [--journal FILE]…`.
pub fn restore_command(
    settings: &Settings,
    file: &Path,
    journals: &[PathBuf],
    no_journal: bool,
) -> anyhow::Result<Restored> {
    if let MasterKeySource::Development(p) = &settings.master_key {
        if !p.exists() {
            anyhow::bail!(
                "no master key: set TRIBUTARY_MASTER_KEY or keys.master_key_file to the key the backup was made with"
            );
        }
    }
    let master = crate::keys::load_master_key(&settings.master_key)?;
    // Read every journal first: a bad line, or one this hub did not sign, stops the
    // restore before it starts. A configured journal that does not exist is an
    // error unless another is given or the operator says there is none: restoring
    // without it would bring erased members back.
    let hub_key =
        crate::erasure::ReceiptSigner::from_seed(&crate::keys::receipt_seed(&master)).public_key();
    if !no_journal && journals.is_empty() && !settings.erasure_journal.exists() {
        anyhow::bail!(
            "the erasure journal {} does not exist: give the journal that outlived the database with --journal FILE, or --no-journal if no member was ever erased",
            settings.erasure_journal.display()
        );
    }
    for given in journals {
        anyhow::ensure!(
            given.exists(),
            "the erasure journal {} does not exist",
            given.display()
        );
    }
    let mut entries = Vec::new();
    for path in std::iter::once(&settings.erasure_journal).chain(journals) {
        entries.extend(crate::erasure::journal::read_verified(path, &hub_key)?);
    }
    let backup_key = crate::keys::backup_key(&master);
    let url = &settings.database.url;
    let header = check(file, url, &backup_key)?;
    let bytes = restore_payload(file, url, &header, &backup_key)?;
    let (db, applied) = crate::db::open_restoring(&settings.database)?;
    let mut conn = db.conn()?;
    // The ring must open with this master key, as it will when the hub starts.
    let ring = crate::keys::KeyRing::unlock(&mut conn, master)?;
    let erased = crate::erasure::reapply(&mut conn, &ring, &entries)?;
    forget_backup_jobs(&mut conn)?;
    {
        use diesel::RunQueryDsl;
        diesel::sql_query(format!("DROP TABLE {MARKER}"))
            .execute(&mut conn)
            .map_err(|e| BackupError::Db(format!("cannot remove the restore marker: {e}")))?;
    }
    let (tables, rows) = count(&mut conn)?;
    tracing::info!(file = %file_name(file), bytes, tables, rows, erased, "restored");
    Ok(Restored {
        backend: header.backend,
        backup_id: header.backup_id,
        created_at: header.created_at,
        bytes,
        tables,
        rows,
        migrations_applied: applied,
        journal_entries: entries.len(),
        erasures_reapplied: erased,
    })
}

fn open_backup(file: &Path) -> Result<(BufReader<std::fs::File>, u64), BackupError> {
    let f = std::fs::File::open(file)
        .map_err(|e| BackupError::Io(format!("cannot read {}", file.display()), e))?;
    let len = f.metadata().map(|m| m.len()).unwrap_or_default();
    Ok((BufReader::with_capacity(1 << 20, f), len))
}

/// Everything that can be known before the database is touched: a backup of this
/// backend, made with this master key, into an empty database.
fn check(
    file: &Path,
    url: &DatabaseUrl,
    backup_key: &SecretKey,
) -> Result<format::Header, BackupError> {
    let (mut input, _) = open_backup(file)?;
    let header = format::read_header(&mut input)?;
    if header.backend != url.backend_name() {
        return Err(BackupError::BackendMismatch {
            backup: header.backend,
            configured: url.backend_name(),
        });
    }
    format::Reader::new(input, &header, backup_key)?;
    let reason = match url {
        DatabaseUrl::Sqlite { path } => sqlite::not_empty(path)?,
        DatabaseUrl::Postgres { url } => postgres::not_empty(url)?,
    };
    if let Some(reason) = reason {
        return Err(BackupError::NotEmpty {
            database: describe(url),
            reason,
        });
    }
    Ok(header)
}

/// Feed every authenticated chunk of `file` to `sink`; the payload's size.
fn each_chunk(
    file: &Path,
    header: &format::Header,
    backup_key: &SecretKey,
    what: &'static str,
    mut sink: impl FnMut(&[u8]) -> Result<(), BackupError>,
) -> Result<u64, BackupError> {
    let (input, len) = open_backup(file)?;
    let bar = progress(Some(len), what);
    let mut input = BufReader::new(bar.wrap_read(input));
    format::read_header(&mut input)?;
    let mut reader = format::Reader::new(input, header, backup_key)?;
    let mut bytes = 0u64;
    while let Some(chunk) = reader.next_chunk()? {
        bytes += chunk.len() as u64;
        sink(&chunk)?;
    }
    bar.finish_and_clear();
    Ok(bytes)
}

fn restore_payload(
    file: &Path,
    url: &DatabaseUrl,
    header: &format::Header,
    backup_key: &SecretKey,
) -> Result<u64, BackupError> {
    match url {
        DatabaseUrl::Sqlite { path } => {
            let mut target = sqlite::Restore::begin(path)?;
            let bytes = each_chunk(file, header, backup_key, "restore", |c| target.write(c))?;
            target.commit()?;
            Ok(bytes)
        }
        DatabaseUrl::Postgres { url } => {
            // pg_restore would apply a chunk before a later one fails to open.
            each_chunk(file, header, backup_key, "verify", |_| Ok(()))?;
            let mut child = postgres::restore(url)?;
            let mut stdin = child.stdin.take();
            let fed = each_chunk(file, header, backup_key, "restore", |c| match &mut stdin {
                Some(s) => s
                    .write_all(c)
                    .map_err(|e| BackupError::Io("pg_restore".into(), e)),
                None => Ok(()),
            });
            drop(stdin);
            match fed {
                Ok(bytes) => child.finish().map(|()| bytes).inspect_err(|_| {
                    // pg_restore's one transaction rolled back: nothing went in.
                    postgres::unmark(url);
                }),
                Err(e) => {
                    child.abort();
                    postgres::unmark(url);
                    Err(e)
                }
            }
        }
    }
}

/// A backup job running when the snapshot was taken would run again on the
/// restored database once its lease expired.
fn forget_backup_jobs(conn: &mut AnyConnection) -> Result<(), BackupError> {
    use crate::db::schema::jobs;
    use diesel::prelude::*;
    diesel::delete(
        jobs::table
            .filter(jobs::kind.eq(crate::store::jobs::Kind::Backup.as_str()))
            .filter(jobs::state.eq_any([crate::store::jobs::QUEUED, crate::store::jobs::RUNNING])),
    )
    .execute(conn)
    .map_err(|e| BackupError::Db(e.to_string()))?;
    Ok(())
}

/// Tables and rows in the restored database, for the summary.
fn count(conn: &mut AnyConnection) -> Result<(usize, i64), BackupError> {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let sql = match conn {
        AnyConnection::Sqlite(_) => {
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '%diesel_schema%'"
        }
        AnyConnection::Postgresql(_) => {
            "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' \
             AND tablename NOT LIKE '%diesel_schema%'"
        }
    };
    let db = |e: diesel::result::Error| BackupError::Db(e.to_string());
    let names: Vec<Name> = diesel::sql_query(sql).load(conn).map_err(db)?;
    let mut rows = 0;
    for Name { name } in &names {
        let quoted = name.replace('"', "\"\"");
        let c: Count = diesel::sql_query(format!("SELECT count(*) AS n FROM \"{quoted}\""))
            .get_result(conn)
            .map_err(db)?;
        rows += c.n;
    }
    Ok((names.len(), rows))
}
