//! Embedded migrations, one folder per backend, applied at start and by `migrate`.

use super::AnyConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Apply every pending migration; returns the versions applied, oldest first.
pub fn run_migrations(conn: &mut AnyConnection) -> Result<Vec<String>, BoxError> {
    let applied = match conn {
        AnyConnection::Sqlite(c) => c.run_pending_migrations(SQLITE)?,
        AnyConnection::Postgresql(c) => c.run_pending_migrations(POSTGRES)?,
    };
    Ok(applied.into_iter().map(|v| v.to_string()).collect())
}

/// How many embedded migrations the database has not applied yet.
pub fn pending_migrations(conn: &mut AnyConnection) -> Result<usize, BoxError> {
    Ok(match conn {
        AnyConnection::Sqlite(c) => c.pending_migrations(SQLITE)?.len(),
        AnyConnection::Postgresql(c) => c.pending_migrations(POSTGRES)?.len(),
    })
}
