//! Schemathesis (PyPI), an implementation no one here wrote, fuzzes the live API from
//! its own `/openapi.json`: every phase (examples, coverage, fuzzing, stateful), every
//! check (no 5xx, status codes, content types, headers and bodies as documented,
//! valid data accepted, invalid data rejected, `Allow` on 405, auth not ignored, …).
//! Then each operation that takes input is fuzzed alone with 200 cases, and the
//! requests it made are counted from the HAR report.
//!
//! `.ci/run` installs Schemathesis; on a machine without it the test is skipped with
//! a note, except in CI, where it fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;
use std::path::Path;
use std::process::{Command, Stdio};

const CASES: usize = 200;

fn st_available() -> bool {
    let found = Command::new("st")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "schemathesis (`st`) is missing; .ci/run installs it"
        );
        eprintln!("note: schemathesis is missing, fuzzing skipped (pip install schemathesis)");
    }
    found
}

/// Run `st run` against the hub; panics with its report unless it passes. Returns
/// how many requests the run made, from its HAR report.
fn st_run(hub: &Hub, key: &str, dir: &Path, name: &str, extra: &[&str]) -> usize {
    let har = dir.join(format!("{name}.har"));
    let out = Command::new("st")
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .args(["run", &hub.url("/openapi.json")])
        .args(["-H", &format!("Authorization: Bearer {key}")])
        .args([
            "--max-examples",
            &CASES.to_string(),
            "--checks",
            "all",
            "--seed",
            "20261123",
        ])
        .args(["--generation-database", "none", "--report", "har"])
        .args(["--report-har-path", har.to_str().unwrap()])
        .args(extra)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis {name} found problems:\n{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let har: serde_json::Value = serde_json::from_slice(&std::fs::read(&har).unwrap()).unwrap();
    har["log"]["entries"].as_array().unwrap().len()
}

on_both_backends! {
    fn schemathesis_finds_no_5xx_and_no_response_off_the_document(db: TestDb) {
        if !st_available() {
            return;
        }
        // The fuzzer's thousands of requests must not be slowed by the API's own limit.
        let config = db.write_config("[api]\nrate_limit_per_second = 100000\nrate_limit_burst = 100000");
        let hub = Hub::start_with(db.path(), &db.env(), &["--config", config.to_str().unwrap()]);
        let (_, key) = create_portal(&db, "fuzzed");

        st_run(&hub, &key, db.path(), "all-phases", &[]);

        let doc: serde_json::Value = hub.get("/openapi.json").json().unwrap();
        let mut fuzzed = 0;
        for (_, item) in doc["paths"].as_object().unwrap() {
            for (_, op) in item.as_object().unwrap() {
                let takes_input = op.get("requestBody").is_some()
                    || op["parameters"].as_array().is_some_and(|p| !p.is_empty());
                if !takes_input {
                    continue;
                }
                let id = op["operationId"].as_str().unwrap();
                let requests = st_run(&hub, &key, db.path(), id,
                    &["--phases", "fuzzing", "--include-operation-id", id]);
                assert!(requests >= CASES, "{id}: only {requests} fuzzed requests");
                fuzzed += 1;
            }
        }
        assert!(fuzzed >= 7, "only {fuzzed} operations take input");

        // The hub survived all of it and logged no internal error.
        assert_eq!(hub.get("/healthz").status(), 200);
        assert!(!hub.logs().contains("internal error"), "{}", hub.logs());
    }
}
