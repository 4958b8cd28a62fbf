//! PostgreSQL: `pg_dump` and `pg_restore` as child processes.
//!
//! One `pg_dump` runs in one repeatable-read transaction, so its archive is a
//! consistent snapshot while the hub goes on writing. The URL's password is never
//! put on the child's command line (other local users can read that): it travels
//! in `PGPASSWORD`. `pg_restore` runs `--single-transaction`, so a restore that
//! fails half way leaves the database as it was. What the tools print on failure
//! is cut to their `error:` lines (a failed COPY's context could quote row data).

use super::BackupError;
use secrecy::{ExposeSecret, SecretString};
use std::io::Read;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// Connection details for the tools: a URL without its password, and the password.
struct Target {
    url: String,
    password: Option<SecretString>,
}

fn target(url: &SecretString) -> Result<Target, BackupError> {
    let mut parsed = url::Url::parse(url.expose_secret())
        .map_err(|_| BackupError::Db("the PostgreSQL URL does not parse".into()))?;
    let password = parsed.password().map(|p| {
        let decoded = percent_decode(p);
        SecretString::from(decoded)
    });
    let _ = parsed.set_password(None);
    Ok(Target {
        url: parsed.to_string(),
        password,
    })
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("p={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// The database's name and server, for messages (no user, no password).
pub fn describe(url: &SecretString) -> String {
    match url::Url::parse(url.expose_secret()) {
        Ok(u) => format!(
            "PostgreSQL database {} on {}:{}",
            u.path().trim_start_matches('/'),
            u.host_str().unwrap_or("?"),
            u.port().unwrap_or(5432)
        ),
        Err(_) => "the configured PostgreSQL database".into(),
    }
}

fn command(tool: &str, t: &Target) -> Command {
    let mut cmd = Command::new(tool);
    cmd.env_remove("PGPASSWORD");
    if let Some(p) = &t.password {
        cmd.env("PGPASSWORD", p.expose_secret());
    }
    cmd
}

/// Collect a child's stderr on a thread (so it never blocks on a full pipe) and
/// keep its `error:` lines.
fn errors_of(child: &mut Child) -> std::thread::JoinHandle<String> {
    let stderr = child.stderr.take();
    std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut s) = stderr {
            let _ = s.read_to_string(&mut text);
        }
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| l.contains("error:") || l.contains("FATAL:"))
            .take(3)
            .collect();
        let mut out = lines.join("; ");
        out.truncate(400);
        out
    })
}

/// A running `pg_dump`; read the archive from `stdout`, then [`Dump::finish`].
pub struct Dump {
    child: Child,
    pub stdout: ChildStdout,
    errors: std::thread::JoinHandle<String>,
}

pub fn dump(url: &SecretString) -> Result<Dump, BackupError> {
    let t = target(url)?;
    let mut child = command("pg_dump", &t)
        .args([
            "--format=custom",
            "--no-owner",
            "--no-privileges",
            "--dbname",
        ])
        .arg(&t.url)
        // A dump taken during a restore must not carry its marker.
        .arg(format!("--exclude-table={}", super::MARKER))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| BackupError::Tool(format!("cannot run pg_dump: {e}")))?;
    let errors = errors_of(&mut child);
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| BackupError::Tool("pg_dump has no output".into()))?;
    Ok(Dump {
        child,
        stdout,
        errors,
    })
}

impl Dump {
    pub fn finish(mut self) -> Result<(), BackupError> {
        let status = self
            .child
            .wait()
            .map_err(|e| BackupError::Tool(format!("pg_dump: {e}")))?;
        let errors = self.errors.join().unwrap_or_default();
        if status.success() {
            Ok(())
        } else {
            Err(BackupError::Tool(format!(
                "pg_dump failed ({status}): {errors}"
            )))
        }
    }
}

/// `Some(reason)` when the database has tables in its public schema.
pub fn not_empty(url: &SecretString) -> Result<Option<String>, BackupError> {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = diesel::PgConnection::establish(url.expose_secret())
        .map_err(|e| BackupError::Db(format!("cannot connect to {}: {e}", describe(url))))?;
    let c: Count = diesel::sql_query(format!(
        "SELECT count(*) AS n FROM pg_tables WHERE schemaname = current_schema() AND tablename <> '{}'",
        super::MARKER
    ))
    .get_result(&mut conn)
    .map_err(|e| BackupError::Db(e.to_string()))?;
    Ok((c.n > 0).then(|| format!("it has {} tables", c.n)))
}

/// Remove the restore marker after `pg_restore` rolled back (best effort: left,
/// it only makes the hub refuse the empty database until a restore finishes).
pub fn unmark(url: &SecretString) {
    use diesel::prelude::*;
    if let Ok(mut conn) = diesel::PgConnection::establish(url.expose_secret()) {
        let _ =
            diesel::sql_query(format!("DROP TABLE IF EXISTS {}", super::MARKER)).execute(&mut conn);
    }
}

/// A running `pg_restore` reading the archive from `stdin`.
pub struct Restore {
    child: Child,
    pub stdin: Option<ChildStdin>,
    errors: std::thread::JoinHandle<String>,
}

pub fn restore(url: &SecretString) -> Result<Restore, BackupError> {
    // Marked unfinished before any data goes in (see `super::MARKER`).
    {
        use diesel::prelude::*;
        let mut conn = diesel::PgConnection::establish(url.expose_secret())
            .map_err(|e| BackupError::Db(format!("cannot connect to {}: {e}", describe(url))))?;
        diesel::sql_query(format!(
            "CREATE TABLE IF NOT EXISTS {} (started_at TEXT NOT NULL)",
            super::MARKER
        ))
        .execute(&mut conn)
        .map_err(|e| BackupError::Db(format!("cannot mark the restore: {e}")))?;
    }
    let t = target(url)?;
    let mut child = command("pg_restore", &t)
        .args([
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            "--dbname",
        ])
        .arg(&t.url)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| BackupError::Tool(format!("cannot run pg_restore: {e}")))?;
    let errors = errors_of(&mut child);
    let stdin = child.stdin.take();
    Ok(Restore {
        child,
        stdin,
        errors,
    })
}

impl Restore {
    /// Stop a restore whose input turned out bad: its transaction rolls back.
    pub fn abort(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn finish(mut self) -> Result<(), BackupError> {
        drop(self.stdin.take());
        let status = self
            .child
            .wait()
            .map_err(|e| BackupError::Tool(format!("pg_restore: {e}")))?;
        let errors = self.errors.join().unwrap_or_default();
        if status.success() {
            Ok(())
        } else {
            Err(BackupError::Tool(format!(
                "pg_restore failed ({status}): {errors}"
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_password_leaves_the_url() {
        let t = target(&SecretString::from("postgres://u:p%40ss@h:5/db?x=1")).unwrap();
        assert_eq!(t.url, "postgres://u@h:5/db?x=1");
        assert_eq!(t.password.unwrap().expose_secret(), "p@ss");
        let d = describe(&SecretString::from("postgres://u:secret@h/db"));
        assert_eq!(d, "PostgreSQL database db on h:5432");
    }
}
