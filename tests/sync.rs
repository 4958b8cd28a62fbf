//! The sync engine: the durable job queue's semantics, claims under concurrency,
//! and backfill, retries and roles end to end against the sandbox over HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use chrono::{Duration, Utc};
use common::demo::{connected_with, context};
use common::*;
use serde_json::{json, Value};
use std::collections::HashSet;
use tributary::store::jobs::{self, Claim, Enqueued, Kind, NewJob, Outcome};

fn job(kind: Kind, key: &str) -> NewJob {
    NewJob {
        kind,
        lock_key: key.to_owned(),
        connection_id: None,
        data_type: None,
        payload: json!({"window": "w"}),
        run_at: Utc::now().naive_utc(),
        max_attempts: 3,
    }
}

fn claim(conn: &mut tributary::db::AnyConnection, worker: &str, lease: Duration) -> Claim {
    jobs::claim(conn, worker, &Kind::ALL, lease).unwrap()
}

fn claimed(c: Claim) -> jobs::Job {
    match c {
        Claim::Job(j) => j,
        other => panic!("expected a job, got {other:?}"),
    }
}

/// The state and last error of a job, read directly.
fn state_of(db: &TestDb, id: &str) -> (String, Option<String>, i32) {
    use diesel::prelude::*;
    use tributary::db::schema::jobs::dsl;
    let mut conn = db.raw_conn();
    dsl::jobs
        .find(id)
        .select((dsl::state, dsl::last_error, dsl::attempts))
        .first(&mut conn)
        .unwrap()
}

/// Job states of the whole queue (done ones too), counted by kind and state.
fn queue(db: &TestDb) -> Vec<(String, String, i64)> {
    use diesel::prelude::*;
    use tributary::db::schema::jobs::dsl;
    let mut conn = db.raw_conn();
    let mut counts: Vec<(String, String, i64)> = dsl::jobs
        .group_by((dsl::kind, dsl::state))
        .select((dsl::kind, dsl::state, diesel::dsl::count_star()))
        .load(&mut conn)
        .unwrap();
    counts.sort();
    counts
}

on_both_backends! {
    fn requests_for_the_same_work_coalesce_and_one_job_per_key_runs(db: TestDb) {
        let (pool, _) = db.open(&test_master_key());
        let mut conn = pool.conn().unwrap();
        let first = jobs::enqueue(&mut conn, &job(Kind::Incremental, "k")).unwrap();
        let Enqueued::Added(first_id) = first else { panic!("{first:?}") };
        assert_eq!(jobs::enqueue(&mut conn, &job(Kind::Incremental, "k")).unwrap(), Enqueued::Coalesced);
        // Another kind on the same key is its own job; backfill windows never coalesce.
        assert!(matches!(jobs::enqueue(&mut conn, &job(Kind::Backfill, "k")).unwrap(), Enqueued::Added(_)));
        assert!(matches!(jobs::enqueue(&mut conn, &job(Kind::Backfill, "k")).unwrap(), Enqueued::Added(_)));

        let running = claimed(claim(&mut conn, "w1", Duration::seconds(60)));
        assert_eq!(running.attempt, 1);
        // Three more are queued on "k", but none may run while one does.
        assert!(matches!(claim(&mut conn, "w2", Duration::seconds(60)), Claim::Nothing));
        // Work on another key is not held up.
        jobs::enqueue(&mut conn, &job(Kind::Incremental, "other")).unwrap();
        let other = claimed(claim(&mut conn, "w2", Duration::seconds(60)));
        assert_eq!(other.lock_key, "other");
        assert!(jobs::complete(&mut conn, &other).unwrap());

        // While the first incremental runs, a new request queues (it may see newer data).
        if running.id == first_id {
            assert!(matches!(jobs::enqueue(&mut conn, &job(Kind::Incremental, "k")).unwrap(), Enqueued::Added(_)));
        }
        assert!(jobs::complete(&mut conn, &running).unwrap());
        let mut seen = HashSet::from([running.id.clone()]);
        while let Claim::Job(j) = claim(&mut conn, "w1", Duration::seconds(60)) {
            assert!(seen.insert(j.id.clone()), "claimed twice: {}", j.id);
            assert!(matches!(claim(&mut conn, "w2", Duration::seconds(60)), Claim::Nothing));
            assert!(jobs::complete(&mut conn, &j).unwrap());
        }
        assert_eq!(seen.len(), 4);
        assert_eq!(queue(&db), vec![("backfill".into(), "done".into(), 2), ("incremental".into(), "done".into(), 3)]);
    }

    fn an_expired_lease_is_taken_over_and_the_old_claim_can_change_nothing(db: TestDb) {
        let (pool, _) = db.open(&test_master_key());
        let mut conn = pool.conn().unwrap();
        jobs::enqueue(&mut conn, &job(Kind::Incremental, "k")).unwrap();
        let stalled = claimed(claim(&mut conn, "dead", Duration::milliseconds(50)));
        assert!(matches!(claim(&mut conn, "w2", Duration::seconds(60)), Claim::Nothing));
        std::thread::sleep(std::time::Duration::from_millis(120));
        let taken = claimed(claim(&mut conn, "w2", Duration::seconds(60)));
        assert_eq!((taken.id.as_str(), taken.attempt), (stalled.id.as_str(), 2));
        // The stalled worker wakes up: its claim is fenced off.
        assert!(!jobs::renew(&mut conn, &stalled, Duration::seconds(60)).unwrap());
        assert!(!jobs::complete(&mut conn, &stalled).unwrap());
        assert_eq!(jobs::fail(&mut conn, &stalled, "late", None).unwrap(), Outcome::Lost);
        assert!(jobs::complete(&mut conn, &taken).unwrap());
        assert_eq!(state_of(&db, &taken.id).0, "done");
    }

    fn failures_back_off_then_end_failed_with_the_reason(db: TestDb) {
        let (pool, _) = db.open(&test_master_key());
        let mut conn = pool.conn().unwrap();
        let Enqueued::Added(id) = jobs::enqueue(&mut conn, &job(Kind::Incremental, "k")).unwrap() else { panic!() };
        // A 429 postpones without using an attempt.
        let j = claimed(claim(&mut conn, "w", Duration::seconds(60)));
        let soon = Utc::now().naive_utc() + Duration::milliseconds(30);
        assert_eq!(jobs::postpone(&mut conn, &j, "demo answered 429", soon).unwrap(), Outcome::Retrying(soon));
        assert_eq!(state_of(&db, &id), ("queued".into(), Some("demo answered 429".into()), 0));
        std::thread::sleep(std::time::Duration::from_millis(60));
        for attempt in 1..=3 {
            let j = claimed(claim(&mut conn, "w", Duration::seconds(60)));
            assert_eq!(j.attempt, attempt);
            let retry = Some(Duration::milliseconds(30));
            let outcome = jobs::fail(&mut conn, &j, "demo answered 503", retry).unwrap();
            if attempt < 3 {
                assert!(matches!(outcome, Outcome::Retrying(_)), "{outcome:?}");
                // Not before its time.
                assert!(matches!(claim(&mut conn, "w", Duration::seconds(60)), Claim::Nothing));
                std::thread::sleep(std::time::Duration::from_millis(60));
            } else {
                assert_eq!(outcome, Outcome::Failed);
            }
        }
        assert_eq!(state_of(&db, &id), ("failed".into(), Some("demo answered 503".into()), 3));
        assert!(matches!(claim(&mut conn, "w", Duration::seconds(60)), Claim::Nothing));

        // A job whose workers keep dying ends failed too.
        let mut dying = job(Kind::Incremental, "dies");
        dying.max_attempts = 1;
        jobs::enqueue(&mut conn, &dying).unwrap();
        claimed(claim(&mut conn, "w", Duration::milliseconds(20)));
        std::thread::sleep(std::time::Duration::from_millis(60));
        assert!(matches!(claim(&mut conn, "w", Duration::seconds(60)), Claim::Exhausted { kind: Kind::Incremental, .. }));
    }

    fn concurrent_workers_claim_each_job_exactly_once(db: TestDb) {
        let (pool, _) = db.open(&test_master_key());
        {
            let mut conn = pool.conn().unwrap();
            for i in 0..120 {
                jobs::enqueue(&mut conn, &job(Kind::Backfill, &format!("key-{}", i % 40))).unwrap();
            }
        }
        let claimed: Vec<Vec<String>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|w| {
                    let pool = pool.clone();
                    s.spawn(move || {
                        let mut conn = pool.conn().unwrap();
                        let mut mine = Vec::new();
                        let mut idle = 0;
                        while idle < 20 {
                            match jobs::claim(&mut conn, &format!("w{w}"), &Kind::ALL, Duration::seconds(60)).unwrap() {
                                Claim::Job(j) => {
                                    idle = 0;
                                    mine.push(j.id.clone());
                                    assert!(jobs::complete(&mut conn, &j).unwrap());
                                }
                                _ => {
                                    idle += 1;
                                    std::thread::sleep(std::time::Duration::from_millis(5));
                                }
                            }
                        }
                        mine
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let all: Vec<&String> = claimed.iter().flatten().collect();
        let unique: HashSet<&&String> = all.iter().collect();
        assert_eq!((all.len(), unique.len()), (120, 120));
        assert_eq!(queue(&db), vec![("backfill".into(), "done".into(), 120)]);
    }

    fn a_panicking_job_is_a_failed_attempt_and_the_worker_goes_on(db: TestDb) {
        let (pool, ring) = db.open(&test_master_key());
        let settings = tributary::config::Settings::load_with(&Default::default(), |_| None).unwrap();
        let ctx = tributary::sync::SyncContext {
            db: pool.clone(),
            ring: ring.clone(),
            vendors: std::sync::Arc::new(tributary::vendors::Vendors::new(url::Url::parse("http://127.0.0.1:9/").unwrap(), &settings.sandbox)),
            tokens: tributary::connect::tokens::TokenContext {
                db: pool.clone(),
                ring,
                vendors: std::sync::Arc::new(tributary::vendors::Vendors::new(url::Url::parse("http://127.0.0.1:9/").unwrap(), &settings.sandbox)),
                http: tributary::connect::oauth::http_client().unwrap(),
            },
            http: tributary::connect::oauth::http_client().unwrap(),
            settings: std::sync::Arc::new(settings.sync.clone()),
            limits: std::sync::Arc::new(tributary::sync::limits::VendorLimits::new()),
            metrics: std::sync::Arc::new(tributary::http::metrics::Metrics::new().unwrap()),
            instance: "test".into(),
            db_slots: tributary::sync::db_slots(),
            backup: None,
        };
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let mut conn = pool.conn().unwrap();
        let Enqueued::Added(id) = jobs::enqueue(&mut conn, &job(Kind::Housekeeping, "k")).unwrap() else { panic!() };

        // The job's work panics: the worker records a failed attempt and carries on.
        let first = claimed(claim(&mut conn, "test", Duration::seconds(60)));
        fn buggy() -> Result<tributary::sync::run::Done, tributary::sync::run::JobError> {
            panic!("a bug in one job")
        }
        rt.block_on(tributary::sync::worker::execute_with(&ctx, first, async { buggy() }));
        let (state, reason, attempts) = state_of(&db, &id);
        assert_eq!((state.as_str(), reason.as_deref(), attempts), ("queued", Some("the job panicked"), 1));

        // The same worker, on the same runtime, runs the retry to its end.
        {
            use diesel::prelude::*;
            use tributary::db::schema::jobs::dsl;
            diesel::update(dsl::jobs.find(&id)).set(dsl::run_at.eq(Utc::now().naive_utc())).execute(&mut db.raw_conn()).unwrap();
        }
        let second = claimed(claim(&mut conn, "test", Duration::seconds(60)));
        assert_eq!(second.attempt, 2);
        let (p, j) = (pool.clone(), second.clone());
        rt.block_on(tributary::sync::worker::execute_with(&ctx, second, async move {
            assert!(jobs::complete(&mut p.conn().unwrap(), &j).unwrap());
            Ok(tributary::sync::run::Done::default())
        }));
        assert_eq!(state_of(&db, &id).0, "done");
    }

    fn processes_on_one_database_share_one_quota_and_one_pause(db: TestDb) {
        use tributary::sync::limits::{CallKey, VendorLimits};
        use tributary_connectors::RateLimits;
        let (pool, _) = db.open(&test_master_key());
        // Two processes' limits: nothing in common but the database.
        let (a, b) = (VendorLimits::shared(pool.clone()), VendorLimits::shared(pool.clone()));
        let quota = RateLimits { per_app_per_minute: Some(600), per_user_per_minute: Some(60) };
        let key = |connection| CallKey { vendor: "demo", vendor_app: None, connection };
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(async {
            // One connection: 60 a minute between both processes.
            assert_eq!(a.acquire(&key("c1"), quota).await, Ok(()));
            let started = std::time::Instant::now();
            assert_eq!(b.acquire(&key("c1"), quota).await, Ok(()));
            let waited = started.elapsed();
            assert!(waited >= std::time::Duration::from_millis(950), "b called {waited:?} after a");
            // One app: 600 a minute, whichever connection and process.
            assert_eq!(a.acquire(&key("c2"), quota).await, Ok(()));
            let started = std::time::Instant::now();
            assert_eq!(b.acquire(&key("c3"), quota).await, Ok(()));
            let waited = started.elapsed();
            assert!(waited >= std::time::Duration::from_millis(90), "b called {waited:?} after a");
            // A 429 seen by one process holds the app's calls in the other.
            a.pause(&key("c2"), std::time::Duration::from_secs(30), true);
            let mut refused = None;
            for _ in 0..50 {
                if let Err(wait) = b.acquire(&key("c4"), quota).await {
                    refused = Some(wait);
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            let wait = refused.expect("the pause reached the other process");
            assert!(wait > std::time::Duration::from_secs(20), "{wait:?}");
        });
    }

    fn connecting_backfills_every_granted_type_to_the_sandbox_truth(db: TestDb) {
        let (hub, key) = connected_with(&db, "[sync]\nbackfill_days = 10\nbackfill_window_days = 3\n", &[]);
        let api = Api::new(&hub, Some(&key));
        let sync = wait_until_synced(&api, &["heart_rate", "steps"]);
        for s in sync.as_array().unwrap() {
            assert_eq!(s["state"], "idle", "{s}");
            assert!(s["last_error"].is_null(), "{s}");
            assert!(s["oldest_day_fetched"].as_str().is_some(), "{s}");
        }
        let truth = sandbox_truth(&db, &hub, &sync);
        assert!(truth["heart_rate"] > 500, "{truth:?}");
        assert_eq!(stored(&db), truth);
        // A manual sync re-reads the overlap: nothing is duplicated.
        let (status, body) = api.call("POST", "/v1/members/alice/connections/demo/sync", None);
        assert_eq!(status, 202, "{body}");
        assert_eq!(body["data_types"], json!(["steps", "heart_rate"]));
        assert!(eventually(30, || queue(&db).iter().all(|(_, s, _)| s == "done")), "{:?}", queue(&db));
        let sync = wait_until_synced(&api, &["heart_rate", "steps"]);
        assert_eq!(stored(&db), sandbox_truth(&db, &hub, &sync));
        let metrics = hub.get("/metrics").text().unwrap();
        assert!(metrics.contains("tributary_vendor_calls_total{status=\"200\",vendor=\"demo\"}"), "{metrics}");
        assert!(metrics.contains("tributary_job_runs_total{kind=\"backfill\",outcome=\"done\"}"), "{metrics}");
    }

    fn vendor_faults_are_retried_and_a_revoked_grant_ends_reauth_required(db: TestDb) {
        let config = "[sync]\nbackfill_days = 6\nbackfill_window_days = 2\nretry_base_secs = 1\nretry_max_secs = 2\n";
        let cfg = db.write_config(config);
        let hub = Hub::start_with(db.path(), &db.env(), &["--config", cfg.to_str().unwrap()]);
        let (_, key) = create_portal(&db, "P");
        // The sandbox fails the first data calls: two 500s, a 429 asking for 1 s, a slow answer.
        let faults = reqwest::blocking::Client::new();
        for body in [
            json!({"kind": "server_error", "times": 2}),
            json!({"kind": "rate_limit", "times": 1, "retry_after_secs": 1}),
            json!({"kind": "slow", "times": 1, "delay_ms": 300}),
        ] {
            let r = faults.post(hub.url("/sandbox/demo/_control/faults")).json(&body).send().unwrap();
            assert_eq!(r.status(), 200);
        }
        common::demo::connect_alice(&hub, &key);
        let api = Api::new(&hub, Some(&key));
        let sync = wait_until_synced(&api, &["heart_rate", "steps"]);
        assert_eq!(stored(&db), sandbox_truth(&db, &hub, &sync));
        let metrics = hub.get("/metrics").text().unwrap();
        assert!(metrics.contains("tributary_vendor_calls_total{status=\"500\",vendor=\"demo\"} 2"), "{metrics}");
        assert!(metrics.contains("tributary_vendor_calls_total{status=\"429\",vendor=\"demo\"} 1"), "{metrics}");

        // The member's grant is revoked at the vendor: the next sync ends reauth_required.
        let r = faults.post(hub.url("/sandbox/demo/_control/faults")).json(&json!({"kind": "revoke_tokens"})).send().unwrap();
        assert_eq!(r.status(), 200);
        let before = stored(&db);
        let (status, _) = api.call("POST", "/v1/members/alice/connections/demo/sync", None);
        assert_eq!(status, 202);
        assert!(eventually(30, || {
            let c = &api.call("GET", "/v1/members/alice/connections", None).1["data"][0];
            c["status"] == "reauth_required"
                && c["sync"].as_array().unwrap().iter().any(|s| s["state"] == "reauth_required")
        }), "{}", api.call("GET", "/v1/members/alice/connections", None).1);
        // Nothing stored was lost.
        assert_eq!(stored(&db), before);
        let (status, body) = api.call("POST", "/v1/members/alice/connections/demo/sync", None);
        assert_eq!(status, 409, "{body}");
        assert!(body["message"].as_str().unwrap().contains("reauth_required"), "{body}");
    }

    fn a_grant_revoked_mid_backfill_ends_reauth_required_and_the_others_complete(db: TestDb) {
        let config = "[sync]\nbackfill_days = 8\nbackfill_window_days = 1\nretry_base_secs = 1\nretry_max_secs = 2\n";
        let cfg = db.write_config(config);
        let hub = Hub::start_with(db.path(), &db.env(), &["--config", cfg.to_str().unwrap()]);
        let (_, key) = create_portal(&db, "P");
        let control = reqwest::blocking::Client::new();
        for fault in [
            json!({"kind": "server_error", "times": 3}),
            json!({"kind": "rate_limit", "times": 2, "retry_after_secs": 1}),
            json!({"kind": "slow", "times": 3, "delay_ms": 500}),
        ] {
            assert_eq!(control.post(hub.url("/sandbox/demo/_control/faults")).json(&fault).send().unwrap().status(), 200);
        }
        common::demo::connect_member(&hub, &key, "alice", Some("user-a"));
        common::demo::connect_member(&hub, &key, "bob", Some("user-b"));
        // Bob's grant is revoked at the vendor once his backfill is under way
        // (16 windows at one call a second: it has more than ten seconds to go).
        let bob_calls = || {
            let calls: Value = hub.get("/sandbox/demo/_control/calls").json().unwrap();
            calls["calls"].as_array().unwrap().iter().filter(|c| c["sandbox_user"] == "user-b" && c["status"] == 200 && c["path"] != "/api/v1/subscriptions" && c["path"].as_str().unwrap().starts_with("/api/v1/")).count()
        };
        assert!(eventually(30, || bob_calls() >= 3), "bob's backfill did not start");
        let revoke = json!({"kind": "revoke_tokens", "user": "user-b"});
        assert_eq!(control.post(hub.url("/sandbox/demo/_control/faults")).json(&revoke).send().unwrap().status(), 200);

        let api = Api::new(&hub, Some(&key));
        let connection_of = |member: &str| api.call("GET", &format!("/v1/members/{member}/connections"), None).1["data"][0].clone();
        assert!(eventually(60, || {
            let bob = connection_of("bob");
            bob["status"] == "reauth_required" && bob["sync"].as_array().unwrap().iter().any(|s| s["state"] == "reauth_required")
        }), "{}", connection_of("bob"));
        assert!(eventually(60, || connection_of("alice")["sync"].as_array().unwrap().iter().all(|s| s["state"] == "idle")), "{}", connection_of("alice"));
        assert!(eventually(30, || queue(&db).iter().all(|(_, s, _)| s != "queued" && s != "running")), "{:?}", queue(&db));

        // Alice's data equals the vendor's; bob's partial backfill is kept, once.
        // Alice connected first.
        let ids: Vec<String> = {
            use diesel::prelude::*;
            use tributary::db::schema::connections::dsl;
            dsl::connections.order(dsl::created_at).select(dsl::id).load(&mut db.raw_conn()).unwrap()
        };
        let (alice_id, bob_id) = (ids[0].clone(), ids[1].clone());
        let stored = common::demo::stored_by_connection(&db);
        let truth = common::demo::truth_by_connection(&db, &hub.url(""), Some(&alice_id));
        let alice: std::collections::BTreeMap<_, _> = stored.iter().filter(|((c, _), _)| *c == alice_id).map(|(k, v)| (k.clone(), *v)).collect();
        assert_eq!(alice, truth);
        assert!(stored.keys().any(|(c, _)| *c == bob_id), "bob's first windows are stored: {stored:?}");
        use diesel::prelude::*;
        use tributary::db::schema::observations::dsl;
        let mut conn = db.raw_conn();
        let total: i64 = dsl::observations.count().get_result(&mut conn).unwrap();
        let distinct: i64 = dsl::observations.select(diesel::dsl::count(dsl::identifier_hash).aggregate_distinct()).get_result(&mut conn).unwrap();
        assert_eq!(total, distinct);
    }

    fn the_sandbox_never_sees_more_calls_per_user_than_the_manifest_allows(db: TestDb) {
        // Six one-day windows of two data types: twelve calls for one user at once,
        // against demo's 60 a minute per user.
        let (hub, key) = connected_with(&db, "[sync]\nbackfill_days = 6\nbackfill_window_days = 1\n", &[]);
        let api = Api::new(&hub, Some(&key));
        wait_until_synced(&api, &["heart_rate", "steps"]);
        let calls: Value = hub.get("/sandbox/demo/_control/calls").json().unwrap();
        let mut at: Vec<chrono::DateTime<Utc>> = calls["calls"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["path"].as_str().unwrap().starts_with("/api/v1/"))
            .map(|c| c["at"].as_str().unwrap().parse().unwrap())
            .collect();
        at.sort();
        assert!(at.len() >= 12, "{calls}");
        // Sent at least a 60th of a minute apart, so no minute, however aligned,
        // holds more than 60. The sandbox stamps arrivals, which a loaded machine
        // delays (CI once saw one arrive 117 ms late, so the next looked 0.9 s
        // after it): n calls later is at least n seconds later, less one arrival's
        // delay, allowed up to 250 ms. A burst would be milliseconds apart.
        for i in 0..at.len() {
            for j in i + 1..at.len() {
                let span = at[j] - at[i];
                let floor = Duration::milliseconds(1000 * (j - i) as i64 - 250);
                assert!(span >= floor, "calls {i} and {j} {span} apart: {at:?}");
            }
        }
    }

    fn a_signed_notification_syncs_the_notified_window_within_seconds(db: TestDb) {
        // One day of backfill; the schedule alone would not sync again for 15 minutes.
        let (hub, key) = connected_with(&db, "[sync]\nbackfill_days = 1\n", &[]);
        let api = Api::new(&hub, Some(&key));
        wait_until_synced(&api, &["heart_rate", "steps"]);
        // Connecting subscribed the connection to the vendor's notifications.
        assert!(eventually(10, || queue(&db).contains(&("subscribe".into(), "done".into(), 1))), "{:?}", queue(&db));
        let before = stored(&db);

        // The scale synced late: the vendor tells of steps from five to three days ago.
        let start = (Utc::now() - Duration::days(5)).format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let end = (Utc::now() - Duration::days(3)).format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let pushed = std::time::Instant::now();
        let answer = push(&hub, json!({"user": "sandbox-user-1", "data_types": ["steps"], "start": start, "end": end}));
        assert_eq!(answer["pushes"][0]["status"], 200, "{answer}");
        let steps_before = before.get("steps").copied().unwrap_or(0);
        let arrived = eventually(5, || stored(&db).get("steps").copied().unwrap_or(0) > steps_before);
        let took = pushed.elapsed();
        assert!(arrived, "nothing stored 5 s after the notification: {:?}", stored(&db));
        println!("notification to stored data: {} ms", took.as_millis());

        assert!(eventually(30, || queue(&db).iter().all(|(_, s, _)| s == "done")), "{:?}", queue(&db));
        let sync = wait_until_synced(&api, &["heart_rate", "steps"]);
        let steps = sync.as_array().unwrap().iter().find(|s| s["data_type"] == "steps").unwrap();
        let (tokens, connection) = context(&db, &hub);
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let token = rt.block_on(tokens.access_token(&connection.id, false)).unwrap();
        let token = secrecy::ExposeSecret::expose_secret(&token).to_owned();
        // Everything from the notified start to the newest sync, once each.
        let truth = common::demo::sandbox_records(&hub.url(""), &token, "steps", &start, steps["fetched_until"].as_str().unwrap());
        assert_eq!(stored(&db)["steps"], truth);
        assert_eq!(stored(&db).get("heart_rate"), before.get("heart_rate"), "only the notified type was synced");
        let metrics = hub.get("/metrics").text().unwrap();
        assert!(metrics.contains("tributary_vendor_pushes_total{outcome=\"accepted\",vendor=\"demo\"} 1"), "{metrics}");
    }

    fn forged_stale_and_malformed_notifications_change_nothing(db: TestDb) {
        let (hub, key) = connected_with(&db, "[sync]\nbackfill_days = 1\n", &[]);
        let api = Api::new(&hub, Some(&key));
        wait_until_synced(&api, &["heart_rate", "steps"]);
        assert!(eventually(10, || queue(&db).iter().all(|(_, s, _)| s == "done")), "{:?}", queue(&db));
        let (jobs_before, stored_before) = (queue(&db), stored(&db));

        // Signed with a secret that is not the app's, or an hour ago: refused.
        let forged = push(&hub, json!({"user": "sandbox-user-1", "forge_secret": "guess"}));
        assert_eq!(forged["pushes"][0]["status"], 401, "{forged}");
        let replayed = push(&hub, json!({"user": "sandbox-user-1", "shift_secs": -3600}));
        assert_eq!(replayed["pushes"][0]["status"], 401, "{replayed}");

        let client = reqwest::blocking::Client::new();
        let send = |body: &str, signature: Option<String>| {
            let mut req = client.post(hub.url("/vendor-hooks/demo")).body(body.to_owned());
            if let Some(s) = signature {
                req = req.header("demo-signature", s);
            }
            let r = req.send().unwrap();
            (r.status().as_u16(), r.json::<Value>().unwrap_or(Value::Null))
        };
        // What the vendor signs (the sandbox's built-in client's secret).
        let sign = |body: &str| Some(tributary_connectors::push::sign(b"tributary-sandbox-secret", Utc::now().timestamp(), body.as_bytes()));
        let (status, body) = send("{}", None);
        assert_eq!(status, 401);
        assert!(body["message"].as_str().unwrap().contains("demo-signature header is missing"), "{body}");
        let (status, body) = send("{}", Some("t=1,v1=zz".into()));
        assert_eq!(status, 401);
        assert!(body["message"].as_str().unwrap().contains("not in the vendor's format"), "{body}");
        // Signed, but not a notification: a 400 naming the field.
        let bad = r#"{"notifications": [{"user_id": "sandbox-user-1", "data_type": "sleep", "start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"}]}"#;
        let (status, body) = send(bad, sign(bad));
        assert_eq!(status, 400, "{body}");
        assert!(body["message"].as_str().unwrap().contains("notifications[0].data_type"), "{body}");
        // Signed, for an account nobody here connected: accepted, nothing queued.
        let stranger = r#"{"notifications": [{"user_id": "someone-else", "data_type": "steps", "start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"}]}"#;
        let (status, body) = send(stranger, sign(stranger));
        assert_eq!((status, body), (200, json!({"queued": 0})));
        assert_eq!(client.post(hub.url("/vendor-hooks/nosuchvendor")).body("{}").send().unwrap().status(), 404);
        assert_eq!(client.get(hub.url("/vendor-hooks/demo")).send().unwrap().status(), 405);

        std::thread::sleep(std::time::Duration::from_millis(500));
        assert_eq!(queue(&db), jobs_before);
        assert_eq!(stored(&db), stored_before);
        let metrics = hub.get("/metrics").text().unwrap();
        assert!(metrics.contains("tributary_vendor_pushes_total{outcome=\"bad_signature\",vendor=\"demo\"} 4"), "{metrics}");
        assert!(metrics.contains("tributary_vendor_pushes_total{outcome=\"malformed\",vendor=\"demo\"} 1"), "{metrics}");
        assert!(metrics.contains("tributary_vendor_pushes_total{outcome=\"unknown_member\",vendor=\"demo\"} 1"), "{metrics}");
    }

    fn a_worker_killed_between_the_vendor_answer_and_the_commit_duplicates_nothing(db: TestDb) {
        // One window per data type; a lease short enough to be taken over quickly.
        let sync_cfg = "[sync]\nbackfill_days = 2\nbackfill_window_days = 2\nlease_secs = 5\n";
        let cfg = db.write_config(sync_cfg);
        let api_hub = Hub::start_serving(db.path(), &db.env(), &["--config", cfg.to_str().unwrap()], &["--role", "api"]);
        let (_, key) = create_portal(&db, "P");
        common::demo::connect_alice(&api_hub, &key);
        // The vendor answers every data call after 1.5 s.
        let client = reqwest::blocking::Client::new();
        let fault = json!({"kind": "slow", "times": 1000, "delay_ms": 1500});
        assert_eq!(client.post(api_hub.url("/sandbox/demo/_control/faults")).json(&fault).send().unwrap().status(), 200);
        let worker_cfg = db.write_config(&format!("{sync_cfg}[sandbox]\nurl = \"{}\"\n", api_hub.url("")));
        let worker_args = ["--config", worker_cfg.to_str().unwrap()];
        let mut worker = Hub::start_serving(db.path(), &db.env(), &worker_args, &["--role", "worker"]);

        // As soon as the first data call reaches the vendor, writes to the
        // observations stop (another session holds the lock), so the worker gets the
        // vendor's answers and then waits to commit them.
        assert!(eventually(30, || !data_calls(&api_hub).is_empty()), "no data call");
        let mut lock = db.raw_conn();
        hold_observation_writes(&mut lock, true);
        // Every call made so far has been answered. (On SQLite the lock holds the
        // shared quota buckets too, so the other data type waits before its call.)
        std::thread::sleep(std::time::Duration::from_millis(2500));
        let answered = data_calls(&api_hub);
        assert!(!answered.is_empty() && answered.iter().all(|s| *s == 200), "{answered:?}");
        worker.kill();
        hold_observation_writes(&mut lock, false);
        assert_eq!(stored(&db), Counts::new(), "nothing was committed");
        assert!(queue(&db).iter().any(|(k, s, _)| k == "backfill" && s == "running"), "{:?}", queue(&db));

        // A new worker takes the jobs over when their leases expire.
        client.delete(api_hub.url("/sandbox/demo/_control/faults")).send().unwrap();
        let _worker = Hub::start_serving(db.path(), &db.env(), &worker_args, &["--role", "worker"]);
        let api = Api::new(&api_hub, Some(&key));
        let sync = wait_until_synced(&api, &["heart_rate", "steps"]);
        assert_eq!(stored(&db), sandbox_truth(&db, &api_hub, &sync));
        assert!(eventually(10, || queue(&db).iter().all(|(_, s, _)| s == "done")), "{:?}", queue(&db));
        use diesel::prelude::*;
        use tributary::db::schema::jobs::dsl;
        let attempts: Vec<i32> = dsl::jobs
            .filter(dsl::kind.eq("backfill"))
            .select(dsl::attempts)
            .load(&mut db.raw_conn())
            .unwrap();
        assert!(attempts.contains(&2), "the killed jobs ran again: {attempts:?}");
    }

    fn an_api_process_queues_and_a_worker_process_syncs(db: TestDb) {
        let cfg = db.write_config("[sync]\nbackfill_days = 4\n");
        let api_hub = Hub::start_serving(db.path(), &db.env(), &["--config", cfg.to_str().unwrap()], &["--role", "api"]);
        let (_, key) = create_portal(&db, "P");
        common::demo::connect_alice(&api_hub, &key);
        std::thread::sleep(std::time::Duration::from_secs(2));
        // Nobody works the queue yet.
        assert_eq!(queue(&db), vec![("backfill".into(), "queued".into(), 2), ("subscribe".into(), "queued".into(), 1)]);
        assert_eq!(stored(&db), Counts::new());
        // A worker process on the same database, reaching the vendor (the sandbox)
        // where the API process serves it.
        let worker_cfg = db.write_config(&format!(
            "[sync]\nbackfill_days = 4\n[sandbox]\nurl = \"{}\"\n",
            api_hub.url("")
        ));
        let worker = Hub::start_serving(db.path(), &db.env(), &["--config", worker_cfg.to_str().unwrap()], &["--role", "worker"]);
        assert_eq!(worker.get("/healthz").status(), 200);
        assert_eq!(worker.get("/v1/members").status(), 404, "a worker serves no API");
        let api = Api::new(&api_hub, Some(&key));
        let sync = wait_until_synced(&api, &["heart_rate", "steps"]);
        assert_eq!(stored(&db), sandbox_truth(&db, &api_hub, &sync));
        assert!(worker.logs().contains("\"role\":\"worker\""), "{}", worker.logs());
    }
}

type Counts = std::collections::BTreeMap<String, usize>;

/// The statuses of the sandbox's data calls so far, oldest first.
fn data_calls(hub: &Hub) -> Vec<u64> {
    let calls: Value = hub.get("/sandbox/demo/_control/calls").json().unwrap();
    calls["calls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            c["path"].as_str().unwrap().starts_with("/api/v1/")
                && c["path"] != "/api/v1/subscriptions"
        })
        .map(|c| c["status"].as_u64().unwrap())
        .collect()
}

/// Block (`true`) or allow again (`false`) every write to the observations from
/// other sessions: PostgreSQL locks the table; SQLite takes its one write lock.
fn hold_observation_writes(conn: &mut tributary::db::AnyConnection, hold: bool) {
    use diesel::connection::SimpleConnection;
    let sql = match (&*conn, hold) {
        (tributary::db::AnyConnection::Postgresql(_), true) => {
            "BEGIN; LOCK TABLE observations IN EXCLUSIVE MODE;"
        }
        (tributary::db::AnyConnection::Sqlite(_), true) => "BEGIN IMMEDIATE;",
        (_, false) => "ROLLBACK;",
    };
    match conn {
        tributary::db::AnyConnection::Postgresql(c) => c.batch_execute(sql).unwrap(),
        tributary::db::AnyConnection::Sqlite(c) => c.batch_execute(sql).unwrap(),
    }
}

/// Ask the sandbox to notify its subscribers; its answer (each callback's status).
fn push(hub: &Hub, spec: Value) -> Value {
    let r = reqwest::blocking::Client::new()
        .post(hub.url("/sandbox/demo/_control/push"))
        .json(&spec)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().unwrap()
}

/// Poll the connections API until every listed data type is idle; its `sync` list.
fn wait_until_synced(api: &Api, types: &[&str]) -> Value {
    let mut last = Value::Null;
    let done = eventually(60, || {
        last = api.call("GET", "/v1/members/alice/connections", None).1;
        let sync = &last["data"][0]["sync"];
        let idle: Vec<&str> = sync
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|s| s["state"] == "idle")
                    .filter_map(|s| s["data_type"].as_str())
                    .collect()
            })
            .unwrap_or_default();
        types.iter().all(|t| idle.contains(t))
    });
    assert!(done, "not synced in time: {last}");
    last["data"][0]["sync"].clone()
}

/// Stored observations per data type (current versions).
fn stored(db: &TestDb) -> Counts {
    use diesel::prelude::*;
    use tributary::db::schema::observations::dsl;
    let mut conn = db.raw_conn();
    let rows: Vec<String> = dsl::observations
        .select(dsl::data_type)
        .load(&mut conn)
        .unwrap();
    let mut counts = Counts::new();
    for r in rows {
        *counts.entry(r).or_default() += 1;
    }
    counts
}

/// How many records the sandbox serves for each data type over the synced span
/// (`backfill_from` to `fetched_until`), fetched from its data API directly with
/// the connection's own token: the ground truth.
fn sandbox_truth(db: &TestDb, hub: &Hub, sync: &Value) -> Counts {
    let (tokens, connection) = context(db, hub);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let token = rt
        .block_on(tokens.access_token(&connection.id, false))
        .unwrap();
    let token = secrecy::ExposeSecret::expose_secret(&token).to_owned();
    sync.as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let data_type = s["data_type"].as_str().unwrap().to_owned();
            let (from, until) = (
                s["backfill_from"].as_str().unwrap(),
                s["fetched_until"].as_str().unwrap(),
            );
            let n = common::demo::sandbox_records(&hub.url(""), &token, &data_type, from, until);
            (data_type, n)
        })
        .collect()
}
