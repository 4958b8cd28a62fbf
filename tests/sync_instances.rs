//! Several instances on one PostgreSQL: an API process, three worker processes and
//! the sandbox apart; the vendor fails, answers slowly and rate-limits; one worker is
//! killed with SIGKILL mid-run and replaced. At the end every record the sandbox
//! serves is stored exactly once and no job is pending, running or failed.
//!
//! A shortened run (20 members × 20 days × 2 data types, 2-day windows) so that it
//! fits in CI; the same code path runs at any size.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::demo::connect_member;
use common::*;
use diesel::prelude::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

const MEMBERS: usize = 20;

/// `tributary sandbox` on a free port; its base URL.
fn start_sandbox(dir: &std::path::Path) -> (Child, String) {
    let mut child = tributary(dir, &[])
        .args(["sandbox", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str::<Value>(&line) {
                if v["message"] == "sandbox listening" {
                    let _ = tx.send(v["addr"].as_str().unwrap_or_default().to_owned());
                }
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the sandbox did not start");
    (child, format!("http://{addr}"))
}

/// Jobs by state: of every kind, or of `kind`.
fn counts(db: &TestDb) -> BTreeMap<String, i64> {
    counts_of(db, None)
}

fn counts_of(db: &TestDb, kind: Option<&str>) -> BTreeMap<String, i64> {
    let mut conn = db.raw_conn();
    use tributary::db::schema::jobs::dsl;
    // Every kind matches `%`.
    let rows: Vec<(String, i64)> = dsl::jobs
        .filter(dsl::kind.like(kind.unwrap_or("%")))
        .group_by(dsl::state)
        .select((dsl::state, diesel::dsl::count_star()))
        .load(&mut conn)
        .unwrap();
    rows.into_iter().collect()
}

#[test]
fn three_workers_and_an_api_share_one_postgresql_and_survive_a_sigkill() {
    let db = TestDb::new(Backend::Postgres);
    let (mut sandbox, sandbox_url) = start_sandbox(db.path());
    let cfg = db.write_config(&format!(
        "[sandbox]\nurl = \"{sandbox_url}\"\n\
         [sync]\nbackfill_days = 20\nbackfill_window_days = 2\nlease_secs = 5\n\
         retry_base_secs = 1\nretry_max_secs = 2\npoll_interval_ms = 200\nworkers = 2\n"
    ));
    let cfg = cfg.to_str().unwrap();
    let api_hub = Hub::start_serving(db.path(), &db.env(), &["--config", cfg], &["--role", "api"]);
    let (_, key) = create_portal(&db, "P");
    for m in 0..MEMBERS {
        connect_member(
            &api_hub,
            &key,
            &format!("m{m:02}"),
            Some(&format!("user-{m:02}")),
        );
    }
    let planned = counts_of(&db, Some("backfill"));
    assert_eq!(
        planned.get("queued"),
        Some(&(MEMBERS as i64 * 2)),
        "{planned:?}"
    );

    // The vendor misbehaves: 500s, 429s with Retry-After, slow answers (during which
    // a worker is killed with its call in flight).
    let control = reqwest::blocking::Client::new();
    for fault in [
        json!({"kind": "server_error", "times": 15}),
        json!({"kind": "rate_limit", "times": 5, "retry_after_secs": 1}),
        json!({"kind": "slow", "times": 12, "delay_ms": 1500}),
    ] {
        let r = control
            .post(format!("{sandbox_url}/sandbox/demo/_control/faults"))
            .json(&fault)
            .send()
            .unwrap();
        assert_eq!(r.status(), 200);
    }

    let worker = |db: &TestDb| {
        Hub::start_serving(
            db.path(),
            &db.env(),
            &["--config", cfg],
            &["--role", "worker"],
        )
    };
    let mut workers = vec![worker(&db), worker(&db), worker(&db)];
    // Kill one while work is in flight, then start a replacement.
    assert!(
        eventually(60, || counts(&db).get("done").copied().unwrap_or(0) >= 30),
        "{:?}",
        counts(&db)
    );
    workers[0].kill();
    let replacement = worker(&db);

    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let c = counts(&db);
        if !c.contains_key("queued") && !c.contains_key("running") {
            break;
        }
        assert!(Instant::now() < deadline, "jobs left: {c:?}");
        std::thread::sleep(Duration::from_millis(300));
    }
    let c = counts(&db);
    assert_eq!(c.get("failed"), None, "{c:?}");
    // 20 members × 2 types × 10 windows, each done once (retries reuse the job).
    let backfills = counts_of(&db, Some("backfill"));
    assert_eq!(
        backfills.get("done"),
        Some(&(MEMBERS as i64 * 2 * 10)),
        "{backfills:?}"
    );
    // Each connection subscribed to the vendor's notifications once.
    let subscribed = counts_of(&db, Some("subscribe"));
    assert_eq!(
        subscribed.get("done"),
        Some(&(MEMBERS as i64)),
        "{subscribed:?}"
    );
    // The killed worker's job was taken over: some job needed more than one claim.
    let mut conn = db.raw_conn();
    let reclaimed: i64 = {
        use tributary::db::schema::jobs::dsl;
        dsl::jobs
            .filter(dsl::attempts.gt(1))
            .count()
            .get_result(&mut conn)
            .unwrap()
    };
    assert!(reclaimed > 0, "no job was ever retried or taken over");

    // Four processes shared each member's quota (60 calls a minute). At the vendor,
    // no minute holds more than 60 calls of a member, and calls are spaced about a
    // second apart: per-process limits alone would let two processes call for the
    // same member at the same instant. (The spacing is taken before the request is
    // sent, so a loaded machine delays some calls more than others: the check
    // allows for half a second of that.)
    // (Read before the test's own calls for the ground truth below.)
    let calls: Value = control
        .get(format!("{sandbox_url}/sandbox/demo/_control/calls"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let mut by_user: BTreeMap<String, Vec<chrono::DateTime<chrono::Utc>>> = BTreeMap::new();
    for call in calls["calls"].as_array().unwrap() {
        if call["path"].as_str().unwrap().starts_with("/api/v1/") {
            let Some(user) = call["sandbox_user"].as_str() else {
                continue;
            };
            by_user
                .entry(user.to_owned())
                .or_default()
                .push(call["at"].as_str().unwrap().parse().unwrap());
        }
    }
    assert_eq!(by_user.len(), MEMBERS);
    let mut gaps = Vec::new();
    for (user, mut at) in by_user {
        at.sort();
        for (i, first) in at.iter().enumerate() {
            let in_minute = at[i..]
                .iter()
                .take_while(|t| **t - *first < chrono::Duration::seconds(60))
                .count();
            assert!(in_minute <= 60, "{user}: {in_minute} calls in a minute");
        }
        gaps.extend(at.windows(2).map(|p| (p[1] - p[0], user.clone())));
    }
    gaps.sort();

    let close = gaps
        .iter()
        .filter(|(g, _)| *g < chrono::Duration::milliseconds(995))
        .count();
    println!(
        "calls per member spaced at least {:?}; {close} of {} gaps under 995 ms",
        gaps[0].0,
        gaps.len()
    );
    assert!(
        gaps[0].0 >= chrono::Duration::milliseconds(500),
        "{}: calls {} apart",
        gaps[0].1,
        gaps[0].0
    );

    // Exactly once: no identifier twice, and every record the sandbox serves is there.
    let (total, distinct): (i64, i64) = {
        use tributary::db::schema::observations::dsl;
        let total = dsl::observations.count().get_result(&mut conn).unwrap();
        let distinct = dsl::observations
            .select(diesel::dsl::count(dsl::identifier_hash).aggregate_distinct())
            .get_result(&mut conn)
            .unwrap();
        (total, distinct)
    };
    assert_eq!(total, distinct);
    let truth = common::demo::truth_by_connection(&db, &sandbox_url, None);
    let stored = common::demo::stored_by_connection(&db);
    assert_eq!(stored, truth);
    assert_eq!(truth.len(), MEMBERS * 2);
    assert!(truth.values().all(|n| *n > 0), "{truth:?}");

    drop(replacement);
    drop(workers);
    let _ = sandbox.kill();
    let _ = sandbox.wait();
}
