//! Bad configuration stops the binary before it binds or creates anything, with a
//! message that names the problem and no secret in it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;

fn fails(dir: &std::path::Path, env: &[(&str, String)], args: &[&str], expect: &[&str]) -> String {
    let out = run(dir, env, args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    for e in expect {
        assert!(stderr.contains(e), "`{e}` not in: {stderr}");
    }
    assert!(
        !dir.join("data").exists(),
        "created data/ despite bad config"
    );
    stderr
}

#[test]
fn unknown_key_in_the_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.toml"),
        "[server]\nlisten = \"127.0.0.1:0\"\nworkers = 4\n",
    )
    .unwrap();
    fails(
        dir.path(),
        &[],
        &["--config", "bad.toml", "serve"],
        &["bad.toml", "workers"],
    );
}

#[test]
fn the_default_config_file_is_read_when_present() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("config")).unwrap();
    std::fs::write(dir.path().join("config/tributary.toml"), "[sever]\n").unwrap();
    fails(
        dir.path(),
        &[],
        &["serve"],
        &["config/tributary.toml", "sever"],
    );
}

#[test]
fn sync_schedules_are_checked_at_start() {
    let dir = tempfile::tempdir().unwrap();
    for (text, expect) in [
        (
            "[sync]\nschedule = \"every minute\"\n",
            vec!["sync.schedule", "every minute", "six fields"],
        ),
        (
            "[sync]\nhousekeeping_schedule = \"0 3 * * *\"\n",
            vec!["sync.housekeeping_schedule", "six fields"],
        ),
        ("[sync]\nworkers = 0\n", vec!["sync.workers", "at least 1"]),
        (
            "[sync]\nretry_base_secs = 60\nretry_max_secs = 10\n",
            vec!["sync.retry_base_secs"],
        ),
    ] {
        std::fs::write(dir.path().join("sync.toml"), text).unwrap();
        fails(
            dir.path(),
            &[],
            &["--config", "sync.toml", "serve"],
            &expect,
        );
    }
}

#[test]
fn a_missing_config_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    fails(
        dir.path(),
        &[],
        &["--config", "nope.toml", "serve"],
        &["nope.toml"],
    );
}

#[test]
fn malformed_database_urls_are_named_without_echo() {
    let dir = tempfile::tempdir().unwrap();
    for (url, expect) in [
        ("mysql://root:hunter2@db/x", "mysql"),
        ("data.db", "not a database URL"),
        ("postgres://user:hunter2@", "host"),
    ] {
        let env = [("TRIBUTARY_DATABASE_URL", url.to_owned())];
        let err = fails(
            dir.path(),
            &env,
            &["serve"],
            &["database.url", "TRIBUTARY_DATABASE_URL", expect],
        );
        assert!(!err.contains("hunter2"), "{err}");
    }
    fails(
        dir.path(),
        &[],
        &["--database-url", "redis://x", "migrate"],
        &["--database-url", "redis"],
    );
}

#[test]
fn malformed_listen_address_is_named() {
    let dir = tempfile::tempdir().unwrap();
    fails(
        dir.path(),
        &[("TRIBUTARY_LISTEN", "localhost".into())],
        &["serve"],
        &["server.listen", "TRIBUTARY_LISTEN", "localhost"],
    );
    std::fs::write(
        dir.path().join("c.toml"),
        "[server]\nlisten = \"1.2.3.4\"\n",
    )
    .unwrap();
    fails(
        dir.path(),
        &[],
        &["--config", "c.toml", "serve"],
        &["server.listen", "c.toml"],
    );
}

#[test]
fn master_key_of_the_wrong_length_is_named_without_echo() {
    use base64::Engine;
    let dir = tempfile::tempdir().unwrap();
    let short = base64::engine::general_purpose::STANDARD.encode([9u8; 16]);
    let err = fails(
        dir.path(),
        &[("TRIBUTARY_MASTER_KEY", short.clone())],
        &["serve"],
        &["TRIBUTARY_MASTER_KEY", "16 bytes", "32"],
    );
    assert!(!err.contains(&short));
    let err = fails(
        dir.path(),
        &[("TRIBUTARY_MASTER_KEY", "not base64!".into())],
        &["keys", "rotate"],
        &["TRIBUTARY_MASTER_KEY", "base64"],
    );
    assert!(!err.contains("not base64!"));
}

#[test]
fn bad_values_in_the_file_are_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("c.toml"), "[log]\nformat = \"xml\"\n").unwrap();
    fails(
        dir.path(),
        &[],
        &["--config", "c.toml", "serve"],
        &["log.format", "xml"],
    );
    std::fs::write(
        dir.path().join("c.toml"),
        "[database]\npool_size = \"ten\"\n",
    )
    .unwrap();
    fails(
        dir.path(),
        &[],
        &["--config", "c.toml", "serve"],
        &["pool_size"],
    );
}

#[test]
fn the_shipped_config_file_is_valid_and_complete() {
    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/tributary.toml");
    let text = std::fs::read_to_string(&shipped).unwrap();
    let overrides = tributary::config::Overrides {
        config_file: Some(shipped),
        database_url: None,
    };
    let settings = tributary::config::Settings::load_with(&overrides, |_| None).unwrap();
    assert_eq!(settings.listen.to_string(), "127.0.0.1:8080");
    // Every key is listed, each with a comment above it.
    for key in [
        "listen",
        "shutdown_timeout_secs",
        "url",
        "pool_size",
        "connect_timeout_secs",
        "sqlite_busy_timeout_ms",
        "master_key_file",
        "dev_key_file",
        "level",
        "format",
        "workers",
        "incremental_interval_secs",
        "backfill_days",
        "backfill_window_days",
        "overlap_hours",
        "lease_secs",
        "poll_interval_ms",
        "max_attempts",
        "retry_base_secs",
        "schedule",
        "housekeeping_schedule",
        "keep_done_days",
    ] {
        let line = text
            .lines()
            .position(|l| l.starts_with(&format!("{key} =")))
            .unwrap_or_else(|| panic!("{key} missing from config/tributary.toml"));
        assert!(
            text.lines().nth(line - 1).unwrap().starts_with('#'),
            "{key} has no comment"
        );
    }
}

on_both_backends! {
    fn migrate_applies_once_and_reports(db: TestDb) {
        let env = [("TRIBUTARY_DATABASE_URL", db.url().to_owned())];
        let out = run(db.path(), &env, &["migrate"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let backend = if db.backend == Backend::Sqlite { "sqlite" } else { "postgres" };
        assert_eq!(v["backend"], backend);
        assert!(!v["applied"].as_array().unwrap().is_empty());
        let again = run(db.path(), &env, &["migrate"]);
        let again: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
        assert!(again["applied"].as_array().unwrap().is_empty());
    }
}
