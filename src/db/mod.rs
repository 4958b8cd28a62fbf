//! Storage: one diesel [`MultiConnection`](diesel::MultiConnection) over SQLite and
//! PostgreSQL, an r2d2 pool, embedded migrations, and the readiness check.
//!
//! Policy: every query is written once against [`schema`] and runs on both backends.
//! What differs between them (connection set-up, pragmas, migrations, URL handling)
//! lives in this module and nowhere else. Database calls block, so the HTTP layer
//! runs them on the blocking thread pool.

pub mod bulk;
mod migrate;
mod pool;
pub mod schema;

pub use migrate::{pending_migrations, run_migrations};
pub use pool::{
    open, open_restoring, unfinished_restore, Database, DbError, PooledConn, RESTORE_MARKER,
};

/// One SQLite writer of this process at a time (see
/// [`AnyConnection::write_transaction`]); parking_lot's mutex hands over fairly
/// under contention, which std's does not promise.
static SQLITE_WRITERS: parking_lot::Mutex<()> = parking_lot::Mutex::new(());

/// A connection to whichever backend the configuration names.
#[derive(diesel::MultiConnection)]
pub enum AnyConnection {
    Postgresql(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

impl AnyConnection {
    pub fn backend_name(&self) -> &'static str {
        match self {
            Self::Postgresql(_) => "postgres",
            Self::Sqlite(_) => "sqlite",
        }
    }

    /// A transaction that will write. On SQLite it begins with `BEGIN IMMEDIATE`, so
    /// it takes the write lock at the start (a plain, deferred transaction that reads
    /// first fails with "database is locked" when it upgrades while another writer
    /// holds the lock), and the writers of this process queue on an eventually fair
    /// in-process lock first: SQLite's busy handler only polls, and under a steady
    /// stream of writes one writer can lose every poll until `busy_timeout`.
    /// On PostgreSQL, and when already inside a transaction, it is `transaction`.
    /// Inside one, never open a write transaction on a second SQLite connection: the
    /// in-process lock is not re-entrant, so that would wait for itself.
    pub fn write_transaction<T, E, F>(&mut self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut Self) -> Result<T, E>,
        E: From<diesel::result::Error>,
    {
        use diesel::connection::{AnsiTransactionManager, TransactionManager};
        use diesel::Connection;
        let Self::Sqlite(inner) = self else {
            return self.transaction(f);
        };
        let depth =
            AnsiTransactionManager::transaction_manager_status_mut(inner).transaction_depth()?;
        if depth.is_some() {
            return self.transaction(f);
        }
        let _writer = SQLITE_WRITERS.lock();
        AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")?;
        // From here on as diesel's own `transaction`: commit on Ok, roll back on Err.
        match f(self) {
            Ok(value) => {
                <Self as TransactionManager<Self>>::commit_transaction(self)?;
                Ok(value)
            }
            Err(error) => match <Self as TransactionManager<Self>>::rollback_transaction(self) {
                Ok(()) | Err(diesel::result::Error::BrokenTransactionManager) => Err(error),
                Err(rollback) => Err(rollback.into()),
            },
        }
    }
}

/// Is this error a unique-constraint violation (the row already exists)?
/// The database cannot be used through this connection any more: the server closed
/// it (PostgreSQL), or the file is gone or failing under it (SQLite's "disk I/O
/// error", "unable to open database file"). The pool drops such a connection, and
/// the API answers 503, as for any outage.
pub fn is_unavailable(err: &diesel::result::Error) -> bool {
    match err {
        diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::ClosedConnection,
            _,
        ) => true,
        diesel::result::Error::DatabaseError(_, info) => is_unavailable_message(info.message()),
        _ => false,
    }
}

/// SQLite's messages for SQLITE_IOERR and SQLITE_CANTOPEN.
pub(crate) fn is_unavailable_message(message: &str) -> bool {
    message.starts_with("disk I/O error") || message.starts_with("unable to open database file")
}

pub fn is_unique_violation(err: &diesel::result::Error) -> bool {
    matches!(
        err,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}
