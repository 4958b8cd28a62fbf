//! `tributary serve`: health, readiness, metrics, logs and shutdown, on both backends.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::outage::make_database_unreachable;
use common::*;
use diesel::connection::SimpleConnection;

/// Environment for a backend; SQLite gets nothing at all, as on a fresh machine.
fn serve_env(db: &TestDb) -> Vec<(&'static str, String)> {
    match db.backend {
        Backend::Sqlite => vec![],
        Backend::Postgres => vec![("TRIBUTARY_DATABASE_URL", db.url().to_owned())],
    }
}

fn metric(text: &str, route: &str, status: u16) -> u64 {
    let needle = format!(
        "tributary_http_requests_total{{method=\"GET\",route=\"{route}\",status=\"{status}\"}} "
    );
    text.lines()
        .find_map(|l| l.strip_prefix(&needle))
        .map_or(0, |v| v.trim().parse().unwrap())
}

on_both_backends! {
    fn serves_health_readiness_and_metrics_with_no_config(db: TestDb) {
        let hub = Hub::start(db.path(), &serve_env(&db));
        assert_eq!(hub.get("/healthz").status(), 200);
        assert_eq!(hub.get("/healthz").status(), 200);
        for path in ["/healthz", "/metrics", "/v1/members", "/nowhere"] {
            let res = hub.get(path);
            let h = res.headers();
            assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
            assert_eq!(h["cache-control"], "no-store", "{path}");
            assert_eq!(h["content-security-policy"], "frame-ancestors 'none'", "{path}");
            assert!(h.get("strict-transport-security").is_none(), "HSTS over plain HTTP: {path}");
        }
        let ready = hub.get("/readyz");
        assert_eq!(ready.status(), 200);
        assert_eq!(ready.json::<serde_json::Value>().unwrap()["status"], "ready");

        let text = hub.get("/metrics").text().unwrap();
        assert_eq!(metric(&text, "/healthz", 200), 3, "{text}");
        assert_eq!(metric(&text, "/readyz", 200), 1, "{text}");
        assert!(text.contains("tributary_http_request_duration_seconds_bucket"));

        // The embedded default: files appear in data/ of the working directory.
        assert!(db.path().join("data/dev-master.key").exists());
        if db.backend == Backend::Sqlite {
            assert!(db.path().join("data/tributary.db").exists());
        }
        assert!(hub.logs().contains("DEVELOPMENT MASTER KEY"), "no loud warning");
    }

    fn readyz_follows_the_database_without_restart(db: TestDb) {
        let hub = Hub::start(db.path(), &serve_env(&db));
        assert_eq!(hub.get("/readyz").status(), 200);

        let restore = make_database_unreachable(&db);
        let down = hub.get("/readyz");
        assert_eq!(down.status(), 503);
        let body: serde_json::Value = down.json().unwrap();
        assert_eq!(body["error"], "unavailable");
        assert!(body["message"].as_str().unwrap().contains("database"), "{body}");
        assert_eq!(hub.get("/healthz").status(), 200, "liveness does not depend on the database");
        // The API says the database is unavailable, never the driver's words (hosts, users).
        let res = reqwest::blocking::Client::new()
            .get(hub.url("/v1/members/someone"))
            .bearer_auth("trb_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
            .send()
            .unwrap();
        let status = res.status().as_u16();
        let text = res.text().unwrap();
        assert!(status == 401 || status == 503, "{status} {text}");
        if status == 503 {
            assert!(text.contains("database unavailable"), "{text}");
        }
        for leak in ["127.0.0.1", "5432", "tributary_test_", "postgres", "connection to server"] {
            assert!(!text.contains(leak), "driver detail `{leak}` in a response: {text}");
        }

        restore();
        assert!(eventually(20, || hub.get("/readyz").status() == 200), "readyz did not recover");
        assert_eq!(metric(&hub.get("/metrics").text().unwrap(), "/readyz", 503), 1, "{}", hub.logs());
    }

    fn logs_carry_route_patterns_and_request_ids_never_paths_or_queries(db: TestDb) {
        let hub = Hub::start(db.path(), &serve_env(&db));
        let marker = "PATIENT-4711-MARKER";
        let res = reqwest::blocking::Client::new()
            .get(hub.url(&format!("/v1/members/{marker}?token={marker}")))
            .header("x-request-id", "trace-abc-123")
            .header("authorization", format!("Bearer {marker}"))
            .send()
            .unwrap();
        assert_eq!(res.status(), 401);
        assert_eq!(res.headers()["x-request-id"], "trace-abc-123");
        let body: serde_json::Value = res.json().unwrap();
        assert_eq!(body["error"], "unauthorized");
        let res = reqwest::blocking::Client::new()
            .get(hub.url(&format!("/no/such/{marker}")))
            .send()
            .unwrap();
        assert_eq!(res.status(), 404);
        assert_eq!(res.json::<serde_json::Value>().unwrap()["error"], "not_found");

        // A made-up request id gets replaced, not echoed.
        let res = reqwest::blocking::Client::new()
            .get(hub.url("/healthz"))
            .header("x-request-id", "bad id\twith spaces")
            .send()
            .unwrap();
        let id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");

        assert!(eventually(5, || hub.logs().contains("trace-abc-123")));
        let logs = hub.logs();
        assert!(!logs.contains(marker), "a path, query or header reached the log:\n{logs}");
        let metrics = hub.get("/metrics").text().unwrap();
        assert!(!metrics.contains(marker));
        assert!(metrics.contains("route=\"unmatched\""));
        assert!(metrics.contains("route=\"/v1/members/{user_key}\""), "{metrics}");
        for line in logs.lines() {
            serde_json::from_str::<serde_json::Value>(line)
                .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
        }
    }

    fn sigterm_stops_gracefully(db: TestDb) {
        let hub = Hub::start(db.path(), &serve_env(&db));
        assert_eq!(hub.get("/healthz").status(), 200);
        let status = hub.terminate();
        assert!(status.success(), "exit status {status:?}");
    }

    fn a_second_start_reuses_the_database_and_key(db: TestDb) {
        let first = Hub::start(db.path(), &serve_env(&db));
        assert_eq!(first.get("/readyz").status(), 200);
        assert!(first.terminate().success());
        let second = Hub::start(db.path(), &serve_env(&db));
        assert_eq!(second.get("/readyz").status(), 200);
        assert!(!second.logs().contains("applied migrations"), "migrations ran twice");
    }
}

/// Graceful shutdown is the HTTP server's, the same on both backends; what differs is
/// only how to keep a request in flight. PostgreSQL can be made to stall (readiness
/// then waits its full timeout for a connection); a SQLite reader in WAL mode never
/// waits for anything, so this test runs on PostgreSQL only.
#[test]
fn in_flight_requests_finish_after_sigterm() {
    let db = TestDb::new(Backend::Postgres);
    let hub = Hub::start(db.path(), &serve_env(&db));
    assert_eq!(hub.get("/readyz").status(), 200);
    // Past the pool's alive-bypass window, so that the readiness check's checkout
    // tests its connection, finds it closed and waits for a new one.
    std::thread::sleep(std::time::Duration::from_millis(600));
    let _restore = make_database_unreachable(&db);
    let url = hub.url("/readyz");
    let started = std::time::Instant::now();
    let in_flight = std::thread::spawn(move || {
        reqwest::blocking::Client::new()
            .get(url)
            .timeout(std::time::Duration::from_secs(30))
            .send()
            .map(|r| r.status().as_u16())
    });
    std::thread::sleep(std::time::Duration::from_millis(500));
    let status = hub.terminate();
    let answered = in_flight.join().unwrap();
    assert_eq!(
        answered.ok(),
        Some(503),
        "the in-flight request was cut off"
    );
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(1),
        "it was not in flight"
    );
    assert!(status.success(), "{status:?}");
}

/// The pool hands out a connection that answered in the last half second without
/// checking it first. One the server has closed since then fails its one query, is
/// dropped, and the next checkout gets a live connection; one idle for longer is
/// checked on checkout and never handed out dead.
#[test]
fn a_connection_the_server_closed_is_replaced() {
    use diesel::sql_types::Integer;
    use diesel::RunQueryDsl;
    use std::time::Duration;
    #[derive(diesel::QueryableByName)]
    struct Pid {
        #[diesel(sql_type = Integer)]
        pid: i32,
    }
    let db = TestDb::new(Backend::Postgres);
    let mut settings = db.settings(&test_master_key());
    settings.database.pool_size = 1;
    let (pool, _) = tributary::db::open(&settings.database).unwrap();
    let pid = |conn: &mut tributary::db::AnyConnection| {
        diesel::sql_query("SELECT pg_backend_pid() AS pid")
            .get_result::<Pid>(conn)
            .map(|p| p.pid)
    };
    let terminate = |pid: i32| {
        admin_conn()
            .batch_execute(&format!("SELECT pg_terminate_backend({pid})"))
            .unwrap();
        std::thread::sleep(Duration::from_millis(50));
    };

    // Within the bypass window: one failure, then a new connection.
    let first = pid(&mut pool.conn().unwrap()).unwrap();
    terminate(first);
    assert!(
        pid(&mut pool.conn().unwrap()).is_err(),
        "the closed connection was reused"
    );
    let second = pid(&mut pool.conn().unwrap()).expect("a fresh connection");
    assert_ne!(first, second);

    // Idle past the window: checked on checkout, so no failure at all.
    terminate(second);
    std::thread::sleep(Duration::from_millis(600));
    let third = pid(&mut pool.conn().unwrap()).expect("checked and replaced on checkout");
    assert_ne!(second, third);
}
