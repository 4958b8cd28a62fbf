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
pub use pool::{open, Database, DbError, PooledConn};

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
}

/// Is this error a unique-constraint violation (the row already exists)?
pub fn is_unique_violation(err: &diesel::result::Error) -> bool {
    matches!(
        err,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}
