//! The connection pool and everything backend-specific about opening connections.

use super::{pending_migrations, run_migrations, AnyConnection};
use crate::config::{DatabaseSettings, DatabaseUrl};
use diesel::connection::{
    Instrumentation, InstrumentationEvent, SimpleConnection, TransactionManager,
};
use diesel::r2d2::{self, ManageConnection};
use diesel::result::{DatabaseErrorKind, Error as QueryError};
use diesel::{Connection, PgConnection, SqliteConnection};
use secrecy::{ExposeSecret, SecretString};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use thiserror::Error;

pub type PooledConn = r2d2::PooledConnection<Manager>;

/// Storage errors. Messages name the backend and the step, never a URL or a value.
#[derive(Debug, Error)]
pub enum DbError {
    #[error("cannot set up the {backend} database: {reason}")]
    Setup {
        backend: &'static str,
        reason: String,
    },
    #[error("no database connection available: {0}")]
    Pool(#[from] r2d2::PoolError),
    #[error("database query failed: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("database migrations failed: {0}")]
    Migration(String),
    #[error("a restore into this database did not finish (members erased after the backup may not be erased again yet): empty the database and run `tributary restore` again")]
    UnfinishedRestore,
}

/// The table that marks a restore not yet finished (`crate::backup`).
pub const RESTORE_MARKER: &str = "tributary_restore_pending";

/// Whether the database behind `conn` holds an unfinished restore.
pub fn unfinished_restore(conn: &mut AnyConnection) -> Result<bool, diesel::result::Error> {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let sql = match conn {
        AnyConnection::Sqlite(_) => format!(
            "SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = '{RESTORE_MARKER}'"
        ),
        AnyConnection::Postgresql(_) => format!(
            "SELECT count(*) AS n FROM pg_tables WHERE schemaname = current_schema() AND tablename = '{RESTORE_MARKER}'"
        ),
    };
    let c: Count = diesel::RunQueryDsl::get_result(diesel::sql_query(sql), conn)?;
    Ok(c.n > 0)
}

/// The pool plus what the readiness check needs to know about the backend.
#[derive(Clone)]
pub struct Database {
    pool: r2d2::Pool<Manager>,
    sqlite_path: Option<PathBuf>,
}

/// The part of a SQLite database file each connection reads through a memory map;
/// pages past it are read with `pread` into the connection's page cache.
///
/// Why small: after any commit (a sync, an API key's last use), each connection's
/// next read unmaps its whole map (SQLite's `pagerBeginReadTransaction`), and the
/// kernel then tears down every page it had mapped while holding the process's
/// memory-map lock, so every reader waits. Mapping the whole 2.7 GB file of the
/// search benchmark, one write stalled searches for 100-700 ms (p99 117 ms at
/// 2,000 requests/s with a write a second); mapping 64 MiB, p99 6.2 ms, with or
/// without writes, for 10-15 % less peak throughput (issue 5, `cargo bench --bench
/// fhir_search -- --backend sqlite --ingest-every 1000`).
pub const SQLITE_MMAP_BYTES: u64 = 64 << 20;

/// A connection whose last query succeeded this recently is handed out without the
/// `SELECT 1` check: under load that check would be one more round trip per request,
/// and a connection that just answered is alive. (HikariCP's `aliveBypassWindowMs`
/// is the same idea, with the same 500 ms.)
const ALIVE_BYPASS: Duration = Duration::from_millis(500);

/// What the pool knows about one connection, kept as the connection's diesel
/// instrumentation so that it travels with the connection: when a query last
/// succeeded, and whether the server closed the connection under a query.
struct Liveness {
    last_ok: Instant,
    closed: bool,
}

impl Instrumentation for Liveness {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        if let InstrumentationEvent::FinishQuery { error, .. } = event {
            match error {
                None => self.last_ok = Instant::now(),
                Some(QueryError::DatabaseError(DatabaseErrorKind::ClosedConnection, _)) => {
                    self.closed = true
                }
                Some(QueryError::DatabaseError(_, info))
                    if super::is_unavailable_message(info.message()) =>
                {
                    self.closed = true
                }
                Some(_) => {}
            }
        }
    }
}

fn liveness(conn: &mut AnyConnection) -> Option<&mut Liveness> {
    conn.instrumentation().downcast_mut::<Liveness>()
}

/// Opens connections for the pool; the one place that knows each backend's set-up.
#[derive(Debug)]
pub struct Manager {
    target: Target,
}

#[derive(Debug)]
enum Target {
    /// A `file:` URI opened with `mode=rw`: if the file disappears, connecting fails
    /// instead of silently creating an empty database in its place.
    Sqlite {
        uri: String,
        busy_timeout_ms: u128,
    },
    Postgres {
        url: SecretString,
    },
}

impl ManageConnection for Manager {
    type Connection = AnyConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<AnyConnection, r2d2::Error> {
        let mut conn = self.open()?;
        conn.set_instrumentation(Liveness {
            last_ok: Instant::now(),
            closed: false,
        });
        Ok(conn)
    }

    fn is_valid(&self, conn: &mut AnyConnection) -> Result<(), r2d2::Error> {
        if liveness(conn).is_some_and(|l| !l.closed && l.last_ok.elapsed() < ALIVE_BYPASS) {
            return Ok(());
        }
        conn.batch_execute("SELECT 1")
            .map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut AnyConnection) -> bool {
        std::thread::panicking()
            || liveness(conn).is_some_and(|l| l.closed)
            || <AnyConnection as Connection>::TransactionManager::is_broken_transaction_manager(
                conn,
            )
    }
}

impl Manager {
    fn open(&self) -> Result<AnyConnection, r2d2::Error> {
        match &self.target {
            Target::Sqlite {
                uri,
                busy_timeout_ms,
            } => {
                let mut conn =
                    SqliteConnection::establish(uri).map_err(r2d2::Error::ConnectionError)?;
                // mmap: the first pages of the file (the oldest rows and the
                // indexes' roots) are read in place; see SQLITE_MMAP_BYTES.
                // secure_delete: deleted rows are overwritten with zeros, so the
                // file keeps no bytes of a revoked connection or an erased member.
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = {busy_timeout_ms}; PRAGMA foreign_keys = ON; \
                     PRAGMA mmap_size = {SQLITE_MMAP_BYTES}; \
                     PRAGMA secure_delete = ON;"
                ))
                .map_err(r2d2::Error::QueryError)?;
                Ok(AnyConnection::Sqlite(conn))
            }
            Target::Postgres { url } => PgConnection::establish(url.expose_secret())
                .map(AnyConnection::Postgresql)
                .map_err(r2d2::Error::ConnectionError),
        }
    }
}

/// Logs pool connection failures through tracing (r2d2's default handler would use
/// the `log` crate, which the hub does not route).
#[derive(Debug)]
struct TracingErrorHandler;

impl r2d2::HandleError<r2d2::Error> for TracingErrorHandler {
    fn handle_error(&self, error: r2d2::Error) {
        tracing::warn!(error = %error, "database connection failed");
    }
}

/// Open the configured database: create the SQLite file if needed, build the pool,
/// and apply pending migrations. A database a restore has not finished with is
/// refused before anything is applied to it.
pub fn open(settings: &DatabaseSettings) -> Result<(Database, Vec<String>), DbError> {
    open_checked(settings, true)
}

/// [`open`] for `tributary restore` itself, which finishes what it marked.
pub fn open_restoring(settings: &DatabaseSettings) -> Result<(Database, Vec<String>), DbError> {
    open_checked(settings, false)
}

fn open_checked(
    settings: &DatabaseSettings,
    refuse_unfinished_restore: bool,
) -> Result<(Database, Vec<String>), DbError> {
    let (target, sqlite_path) = match &settings.url {
        DatabaseUrl::Sqlite { path } => {
            create_sqlite(path)?;
            let target = Target::Sqlite {
                uri: sqlite_uri(path),
                busy_timeout_ms: settings.sqlite_busy_timeout.as_millis(),
            };
            (target, Some(path.clone()))
        }
        DatabaseUrl::Postgres { url } => {
            let target = Target::Postgres {
                url: with_connect_timeout(url, settings.connect_timeout),
            };
            (target, None)
        }
    };
    let backend = settings.url.backend_name();
    let pool = r2d2::Pool::builder()
        .max_size(settings.pool_size)
        // No idle minimum: r2d2 would open replacement connections on its own
        // threads, and a process that exits while libpq is connecting on another
        // thread can crash in libpq's exit handlers. Connections are opened on demand
        // (by the thread that waits for them) and then kept.
        .min_idle(Some(0))
        .connection_timeout(settings.connect_timeout)
        .error_handler(Box::new(TracingErrorHandler))
        .build(Manager { target })
        .map_err(|e| DbError::Setup {
            backend,
            reason: e.to_string(),
        })?;
    let db = Database { pool, sqlite_path };
    let applied = {
        let mut conn = db.conn()?;
        if refuse_unfinished_restore && unfinished_restore(&mut conn)? {
            return Err(DbError::UnfinishedRestore);
        }
        run_migrations(&mut conn).map_err(|e| DbError::Migration(e.to_string()))?
    };
    Ok((db, applied))
}

/// Create the SQLite file (and its folder) and switch it to WAL, which persists.
fn create_sqlite(path: &Path) -> Result<(), DbError> {
    let setup = |reason: String| DbError::Setup {
        backend: "sqlite",
        reason,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| setup(format!("cannot create folder {}: {e}", dir.display())))?;
    }
    let mut conn = SqliteConnection::establish(&path.to_string_lossy())
        .map_err(|e| setup(format!("cannot open {}: {e}", path.display())))?;
    conn.batch_execute("PRAGMA journal_mode = WAL;")
        .map_err(|e| setup(format!("cannot enable WAL on {}: {e}", path.display())))?;
    Ok(())
}

/// `file:` URI for a path, escaping the characters a URI gives meaning to.
fn sqlite_uri(path: &Path) -> String {
    let mut escaped = String::new();
    for c in path.to_string_lossy().chars() {
        match c {
            '%' => escaped.push_str("%25"),
            '?' => escaped.push_str("%3f"),
            '#' => escaped.push_str("%23"),
            c => escaped.push(c),
        }
    }
    format!("file:{escaped}?mode=rw")
}

/// libpq waits for a dead host for minutes unless told otherwise.
fn with_connect_timeout(url: &SecretString, timeout: Duration) -> SecretString {
    let url = url.expose_secret();
    if url.contains("connect_timeout=") {
        return SecretString::from(url.to_owned());
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    SecretString::from(format!("{url}{sep}connect_timeout={}", timeout.as_secs()))
}

impl Database {
    /// A connection from the pool, waiting up to the configured connect timeout.
    pub fn conn(&self) -> Result<PooledConn, DbError> {
        Ok(self.pool.get()?)
    }

    /// Ready means: the database answers within `timeout`, its file is where the
    /// configuration says (SQLite), and no migration is pending. The reason given
    /// otherwise is safe to show: no URL, no credentials.
    pub fn check_ready(&self, timeout: Duration) -> Result<(), String> {
        if let Some(path) = &self.sqlite_path {
            if !path.exists() {
                return Err(format!("database file {} is missing", path.display()));
            }
        }
        // A pooled connection the server closed (a restart) fails once and is dropped;
        // try the next, so one check tells whether the database is back, however many
        // dead connections the pool still holds.
        let mut attempts = self.pool.max_size() + 1;
        let mut conn = loop {
            let mut conn = self
                .pool
                .get_timeout(timeout)
                .map_err(|_| "database unreachable".to_owned())?;
            match conn.batch_execute("SELECT 1") {
                Ok(()) => break conn,
                Err(e) if super::is_unavailable(&e) && attempts > 1 => attempts -= 1,
                Err(_) => return Err("database unreachable".to_owned()),
            }
        };
        match pending_migrations(&mut conn) {
            Ok(0) => Ok(()),
            Ok(n) => Err(format!("{n} database migrations pending")),
            Err(_) => Err("cannot read the migration state".to_owned()),
        }
    }

    pub fn backend_name(&self) -> &'static str {
        if self.sqlite_path.is_some() {
            "sqlite"
        } else {
            "postgres"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_uri_escapes_uri_characters() {
        assert_eq!(sqlite_uri(Path::new("data/t.db")), "file:data/t.db?mode=rw");
        assert_eq!(
            sqlite_uri(Path::new("/a?b#c%d")),
            "file:/a%3fb%23c%25d?mode=rw"
        );
    }

    /// `.cargo/config.toml` builds the bundled SQLite; a build that missed it would
    /// re-plan every search (STAT4) and map at most 2 GiB of the file.
    #[test]
    fn sqlite_is_built_as_configured() {
        use diesel::sql_types::Text;
        use diesel::{Connection, QueryableByName, RunQueryDsl};
        #[derive(QueryableByName)]
        struct Opt {
            #[diesel(sql_type = Text)]
            compile_options: String,
        }
        let mut c = SqliteConnection::establish(":memory:").expect("in-memory SQLite");
        let opts: Vec<String> = diesel::sql_query("PRAGMA compile_options")
            .load::<Opt>(&mut c)
            .expect("compile options")
            .into_iter()
            .map(|o| o.compile_options)
            .collect();
        assert!(!opts.iter().any(|o| o == "ENABLE_STAT4"), "{opts:?}");
        assert!(opts.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"), "{opts:?}");
    }

    #[test]
    fn sqlite_connections_map_the_configured_size() {
        use diesel::sql_types::BigInt;
        use diesel::{QueryableByName, RunQueryDsl};
        #[derive(QueryableByName)]
        struct Size {
            #[diesel(sql_type = BigInt)]
            mmap_size: i64,
        }
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("t.db");
        create_sqlite(&path).expect("a SQLite file");
        let manager = Manager {
            target: Target::Sqlite {
                uri: sqlite_uri(&path),
                busy_timeout_ms: 100,
            },
        };
        let mut conn = r2d2::ManageConnection::connect(&manager).expect("a connection");
        let AnyConnection::Sqlite(lite) = &mut conn else {
            panic!("a SQLite connection")
        };
        let size: Size = diesel::sql_query("PRAGMA mmap_size")
            .get_result(lite)
            .expect("mmap_size");
        assert_eq!(size.mmap_size as u64, SQLITE_MMAP_BYTES);
    }

    #[test]
    fn connect_timeout_is_added_once() {
        let t = Duration::from_secs(3);
        let u = with_connect_timeout(&SecretString::from("postgres://h/db"), t);
        assert_eq!(u.expose_secret(), "postgres://h/db?connect_timeout=3");
        let u = with_connect_timeout(&SecretString::from("postgres://h/db?sslmode=disable"), t);
        assert_eq!(
            u.expose_secret(),
            "postgres://h/db?sslmode=disable&connect_timeout=3"
        );
        let u = with_connect_timeout(&SecretString::from("postgres://h/db?connect_timeout=9"), t);
        assert_eq!(u.expose_secret(), "postgres://h/db?connect_timeout=9");
    }
}
