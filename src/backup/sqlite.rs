//! SQLite: an online snapshot with `VACUUM INTO`, and a restore that writes the
//! database file whole before it takes its place.
//!
//! `VACUUM INTO` reads in one read transaction, so the copy is consistent while
//! the hub goes on writing (WAL). The copy is plaintext health data on disk for as
//! long as the backup runs, so it is written in a private folder (0700) beside the
//! database, into a file created 0600 beforehand, and removed when the snapshot is
//! dropped, whatever happened.

use super::BackupError;
use crate::db::AnyConnection;
use diesel::prelude::*;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A consistent copy of the database; deleted on drop.
pub struct Snapshot {
    _dir: tempfile::TempDir,
    pub file: PathBuf,
}

fn folder_of(path: &Path) -> &Path {
    path.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Copy the database behind `conn` (a pooled connection to `db_path`).
pub fn snapshot(conn: &mut AnyConnection, db_path: &Path) -> Result<Snapshot, BackupError> {
    let AnyConnection::Sqlite(inner) = conn else {
        return Err(BackupError::Db("not a SQLite connection".into()));
    };
    let io = |what: &str, e| BackupError::Io(what.to_owned(), e);
    let dir = tempfile::Builder::new()
        .prefix(".tributary-backup-")
        .tempdir_in(folder_of(db_path))
        .map_err(|e| io("cannot create the snapshot folder", e))?;
    let file = dir.path().join("snapshot.db");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(&file)
        .map_err(|e| io("cannot create the snapshot file", e))?;
    // An empty file is accepted as the target of VACUUM INTO.
    diesel::sql_query("VACUUM INTO ?")
        .bind::<diesel::sql_types::Text, _>(file.to_string_lossy().into_owned())
        .execute(inner)
        .map_err(|e| BackupError::Db(format!("VACUUM INTO failed: {e}")))?;
    Ok(Snapshot { _dir: dir, file })
}

/// `Some(reason)` when the file at `path` holds a database with tables.
pub fn not_empty(path: &Path) -> Result<Option<String>, BackupError> {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(BackupError::Io(
                format!("cannot read {}", path.display()),
                e,
            ))
        }
        Ok(m) if m.len() == 0 => return Ok(None),
        Ok(_) => {}
    }
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let escaped = path
        .to_string_lossy()
        .replace('%', "%25")
        .replace('?', "%3f")
        .replace('#', "%23");
    let uri = format!("file:{escaped}?mode=ro");
    let counted = diesel::SqliteConnection::establish(&uri)
        .map_err(|e| e.to_string())
        .and_then(|mut c| {
            diesel::sql_query(format!(
                "SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' \
                     AND name NOT LIKE 'sqlite_%' AND name <> '{}'",
                super::MARKER
            ))
            .get_result::<Count>(&mut c)
            .map_err(|e| e.to_string())
        });
    Ok(match counted {
        Ok(Count { n: 0 }) => None,
        Ok(Count { n }) => Some(format!("it has {n} tables")),
        Err(e) => Some(format!("it is not an empty SQLite database ({e})")),
    })
}

/// Writes the restored database beside `path`, then moves it into place.
pub struct Restore {
    tmp: tempfile::NamedTempFile,
    path: PathBuf,
}

impl Restore {
    pub fn begin(path: &Path) -> Result<Self, BackupError> {
        let dir = folder_of(path);
        std::fs::create_dir_all(dir)
            .map_err(|e| BackupError::Io(format!("cannot create {}", dir.display()), e))?;
        // NamedTempFile is created 0600.
        let tmp = tempfile::Builder::new()
            .prefix(".tributary-restore-")
            .tempfile_in(dir)
            .map_err(|e| BackupError::Io("cannot create the restore file".into(), e))?;
        Ok(Self {
            tmp,
            path: path.to_path_buf(),
        })
    }

    pub fn write(&mut self, data: &[u8]) -> Result<(), BackupError> {
        self.tmp
            .write_all(data)
            .map_err(|e| BackupError::Io("cannot write the restore file".into(), e))
    }

    /// The whole payload is in and authenticated: check it is a SQLite database and
    /// move it to the configured path (an empty file there, and its WAL, go).
    pub fn commit(self) -> Result<(), BackupError> {
        let io = |what: String, e| BackupError::Io(what, e);
        self.tmp
            .as_file()
            .sync_all()
            .map_err(|e| io("cannot write the restore file".into(), e))?;
        let mut magic = [0u8; 16];
        let head = std::fs::File::open(self.tmp.path())
            .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic));
        if head.is_err() || &magic != b"SQLite format 3\0" {
            return Err(BackupError::Db(
                "the backup's payload is not a SQLite database".into(),
            ));
        }
        // Marked unfinished before it takes its place (see `super::MARKER`).
        {
            let mut conn = diesel::SqliteConnection::establish(&self.tmp.path().to_string_lossy())
                .map_err(|e| BackupError::Db(format!("cannot open the restored database: {e}")))?;
            diesel::sql_query(format!(
                "CREATE TABLE IF NOT EXISTS {} (started_at TEXT NOT NULL)",
                super::MARKER
            ))
            .execute(&mut conn)
            .map_err(|e| BackupError::Db(format!("cannot mark the restore: {e}")))?;
        }
        for suffix in ["-wal", "-shm"] {
            let side = PathBuf::from(format!("{}{suffix}", self.path.display()));
            match std::fs::remove_file(&side) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(io(format!("cannot remove {}", side.display()), e))
                }
                _ => {}
            }
        }
        self.tmp
            .persist(&self.path)
            .map_err(|e| io(format!("cannot write {}", self.path.display()), e.error))?;
        Ok(())
    }
}
