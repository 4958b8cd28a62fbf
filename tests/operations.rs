//! Operations (issue 10) end to end, time-compressed (monitor interval 1 s,
//! incident threshold 3 s): a database outage is recorded, opens an incident whose
//! notice reaches a verifying receiver during the outage, resolves after recovery
//! and shows in the SLA report with the downtime and availability computed here;
//! an announced maintenance window is excluded, an unannounced one counts; two
//! instances: one down while the other serves is not downtime, both down is; the
//! status page and the HTML report render in headless Chromium. An instance cut off
//! alone while its peer serves opens no incident. A vendor's outage is recorded per
//! vendor and is not downtime.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::outage::{make_database_unreachable, PgProxy};
use common::receiver::Receiver;
use common::webdriver::Chrome;
use common::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const CONFIG: &str = "[monitor]\ninterval_secs = 1\nincident_after_secs = 3\nupdate_every_secs = 2\n\
[delivery]\nallow_hosts = [\"127.0.0.1\"]\npoll_interval_ms = 100\nretry_schedule_secs = [1, 1, 1, 1, 1]\n";

fn start(db: &TestDb, env: &[(&str, String)]) -> Hub {
    start_with(db, env, "")
}

fn start_with(db: &TestDb, env: &[(&str, String)], more: &str) -> Hub {
    let cfg = db.write_config(&format!("{more}\n{CONFIG}"));
    Hub::start_with(db.path(), env, &["--config", cfg.to_str().unwrap()])
}

/// The test config with `peer` in `[monitor] peers`.
fn start_with_peer(db: &TestDb, env: &[(&str, String)], peer: &str) -> Hub {
    let config = CONFIG.replacen(
        "[monitor]\n",
        &format!("[monitor]\npeers = [\"{peer}\"]\n"),
        1,
    );
    let cfg = db.write_config(&config);
    Hub::start_with(db.path(), env, &["--config", cfg.to_str().unwrap()])
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn month() -> String {
    chrono::Utc::now().format("%Y-%m").to_string()
}

fn report(hub: &Hub, key: &str) -> Value {
    let (s, r) =
        Api::new(hub, Some(key)).call("GET", &format!("/v1/status/sla?month={}", month()), None);
    assert_eq!(s, 200, "{r}");
    r
}

fn endpoint(hub: &Hub, key: &str, receiver: &Receiver) {
    let (s, v) = Api::new(hub, Some(key)).call(
        "POST",
        "/v1/webhook-endpoints",
        Some(json!({"url": receiver.url()})),
    );
    assert_eq!(s, 201, "{v}");
    receiver.set_secrets(&[v["secret"].as_str().unwrap()]);
}

fn secs(minutes: &Value) -> f64 {
    minutes.as_f64().unwrap() * 60.0
}

/// Keep the database away for `hold`; the outage as the test saw it.
fn outage(db: &TestDb, hold: Duration, during: impl FnOnce(Instant)) -> Duration {
    let restore = make_database_unreachable(db);
    let cut = Instant::now();
    during(cut);
    std::thread::sleep(hold.saturating_sub(cut.elapsed()));
    restore();
    cut.elapsed()
}

/// The report's figures agree with each other and with an outage of `seen`.
fn assert_figures(r: &Value, seen: Duration) {
    let (scheduled, down) = (secs(&r["scheduled_minutes"]), secs(&r["downtime_minutes"]));
    let seen = seen.as_secs_f64();
    // The first failed round starts within a round after the cut; the first good
    // one within a round and a check timeout after the restore.
    assert!(
        down >= seen - 2.0 && down <= seen + 3.0,
        "downtime {down} s, outage {seen} s: {r:#}"
    );
    let by_hand = 100.0 * (scheduled - down) / scheduled;
    assert!(
        (r["availability_percent"].as_f64().unwrap() - by_hand).abs() < 1e-9,
        "{r:#}"
    );
    let from = chrono::DateTime::parse_from_rfc3339(r["measured_from"].as_str().unwrap()).unwrap();
    let until =
        chrono::DateTime::parse_from_rfc3339(r["measured_until"].as_str().unwrap()).unwrap();
    let measured = (until - from).num_milliseconds() as f64 / 1000.0;
    let excluded = secs(&r["excluded_minutes"]);
    assert!(
        (scheduled + excluded - measured).abs() <= 1.0,
        "{scheduled} + {excluded} vs {measured}"
    );
    let expected = 100.0 * (1.0 - seen / scheduled);
    assert!(
        (r["availability_percent"].as_f64().unwrap() - expected).abs() <= 100.0 * 3.0 / scheduled
    );
    assert_eq!(
        r["target_met"],
        r["availability_percent"].as_f64().unwrap() >= 99.9
    );
}

fn probe(hub: &Hub) -> bool {
    run(
        std::path::Path::new("."),
        &[],
        &["probe", "--url", &hub.url(""), "--timeout", "2"],
    )
    .status
    .success()
}

on_both_backends! {
    fn a_database_outage_is_recorded_notified_resolved_and_reported(db: TestDb) {
        let receiver = Receiver::start();
        let hub = start(&db, &db.env());
        let (_, key) = create_portal(&db, "P");
        endpoint(&hub, &key, &receiver);
        std::thread::sleep(Duration::from_secs(3)); // samples, and the endpoint cached
        assert!(probe(&hub));
        let metrics = hub.get("/metrics").text().unwrap();
        assert!(metrics.contains("tributary_monitor_component_up{component=\"database\"} 1"), "{metrics}");

        let mut opened_after = None;
        let seen = outage(&db, Duration::from_secs(8), |cut| {
            assert!(!probe(&hub), "the probe says down");
            // Notice within a minute of detection (threshold 3 s): here, during the outage.
            assert!(eventually(60, || !receiver.of_type("incident.opened").is_empty()));
            opened_after = Some(cut.elapsed());
            // Still open two seconds (compressed four hours) later: updated.
            assert!(eventually(20, || !receiver.of_type("incident.updated").is_empty()));
        });
        let opened_after = opened_after.unwrap();
        assert!(opened_after < Duration::from_secs(3 + 60), "{opened_after:?}");
        assert!(eventually(30, || !receiver.of_type("incident.resolved").is_empty()), "{}", hub.logs());
        std::thread::sleep(Duration::from_secs(2));
        assert!(probe(&hub));

        let opened = &receiver.of_type("incident.opened")[0];
        let resolved = &receiver.of_type("incident.resolved")[0];
        let updated = &receiver.of_type("incident.updated")[0];
        assert_eq!(updated["data"]["incident"]["id"], opened["data"]["incident"]["id"]);
        assert_eq!(receiver.of_type("incident.resolved").len(), 1);
        assert_eq!(opened["data"]["incident"]["id"], resolved["data"]["incident"]["id"]);
        assert_eq!(opened["data"]["incident"]["severity"], 1);
        assert_eq!(opened["data"]["incident"]["state"], "open");
        assert!(opened["data"]["incident"]["cause"].as_str().unwrap().contains("database"));
        assert_eq!(resolved["data"]["incident"]["state"], "resolved");
        // Notices carry the incident and nothing about any tenant.
        for body in receiver.accepted() {
            let keys: Vec<_> = body["data"].as_object().unwrap().keys().cloned().collect();
            assert_eq!(keys, ["incident"], "{body}");
        }

        let r = report(&hub, &key);
        eprintln!("outage {seen:?}, incident notice after {opened_after:?}, report {r:#}");
        assert_eq!(r["downtime"].as_array().unwrap().len(), 1, "{r:#}");
        assert!(r["downtime"][0]["cause"].as_str().unwrap().contains("database"));
        assert_figures(&r, seen);
        assert_eq!(r["components"]["database"], r["downtime_minutes"]);

        // The CLI reads the same record.
        let out = run(db.path(), &db.env(), &["sla", "report", "--month", &month(), "--format", "json"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let cli: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(cli["downtime"], r["downtime"]);
        let out = run(db.path(), &db.env(), &["sla", "report", "--month", &month()]);
        let table = String::from_utf8(out.stdout).unwrap();
        assert!(table.contains("downtime minutes") && table.contains("database"), "{table}");

        // The incident and its notices are on record once the database is back.
        assert!(eventually(10, || {
            let out = run(db.path(), &db.env(), &["sla", "report", "--month", &month(), "--format", "json"]);
            out.status.success()
        }));
        let status = hub.get("/status").text().unwrap();
        assert!(status.contains("All systems operational"), "{status}");
    }

    fn announced_maintenance_is_excluded_and_unannounced_counts(db: TestDb) {
        let receiver = Receiver::start();
        let hub = start(&db, &db.env());
        let (_, key) = create_portal(&db, "P");
        endpoint(&hub, &key, &receiver);
        std::thread::sleep(Duration::from_secs(2));
        let t = |s: i64| (chrono::Utc::now() + chrono::Duration::seconds(s)).to_rfc3339();
        let schedule = |start: String, end: String| -> Value {
            let out = run(db.path(), &db.env(), &["maintenance", "schedule", "--start", &start, "--end", &end, "--reason", "database upgrade"]);
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            serde_json::from_slice(&out.stdout).unwrap()
        };
        let w = schedule(t(3), t(13));
        assert_eq!(w["announced"], true);
        assert!(eventually(20, || !receiver.of_type("maintenance.scheduled").is_empty()));
        let notice = &receiver.of_type("maintenance.scheduled")[0];
        assert_eq!(notice["data"]["maintenance"]["reason"], "database upgrade");
        std::thread::sleep(Duration::from_secs(4)); // inside the window
        outage(&db, Duration::from_secs(4), |_| {});
        std::thread::sleep(Duration::from_secs(3));
        let r = report(&hub, &key);
        assert_eq!(r["downtime_minutes"], 0.0, "{r:#}");
        assert!(secs(&r["excluded_minutes"]) > 4.0, "{r:#}");
        assert_eq!(r["availability_percent"], 100.0);
        assert_eq!(r["maintenance"][0]["announced"], true);

        // The same outage in a window declared after it began: it counts.
        std::thread::sleep(Duration::from_secs(7)); // past the announced window
        let w = schedule(t(-1), t(9));
        assert_eq!(w["announced"], false);
        let seen = outage(&db, Duration::from_secs(4), |_| {});
        std::thread::sleep(Duration::from_secs(3));
        let r = report(&hub, &key);
        eprintln!("unannounced outage {seen:?}: {r:#}");
        assert_eq!(r["maintenance"][1]["announced"], false);
        assert_eq!(r["maintenance"][1]["excluded_minutes"], 0.0);
        assert_figures(&r, seen);
    }

    fn an_elevated_error_rate_opens_an_incident_and_resolves_it_but_is_not_downtime(db: TestDb) {
        let receiver = Receiver::start();
        let config = CONFIG.replacen(
            "[monitor]\n",
            "[monitor]\nerror_rate_percent = 20\nerror_rate_window_secs = 3\nerror_rate_min_requests = 10\n",
            1,
        );
        let cfg = db.write_config(&format!("[sync]\nbackfill_days = 1\n{config}"));
        let hub = Hub::start_with(db.path(), &db.env(), &["--config", cfg.to_str().unwrap()]);
        let (_, key) = create_portal(&db, "P");
        endpoint(&hub, &key, &receiver);
        common::demo::connect_alice(&hub, &key);
        let id = || {
            #[derive(diesel::QueryableByName)]
            struct Id {
                #[diesel(sql_type = diesel::sql_types::Text)]
                id: String,
            }
            use diesel::RunQueryDsl;
            let mut conn = db.raw_conn();
            diesel::sql_query("SELECT id FROM observations ORDER BY id LIMIT 1").load::<Id>(&mut conn).unwrap().pop().map(|r| r.id)
        };
        assert!(eventually(60, || id().is_some()), "nothing was stored");
        let id = id().unwrap();
        let api = Api::new(&hub, Some(&key));
        let read = |id: &str| api.call("GET", &format!("/fhir/r4/Observation/{id}"), None).0;
        assert_eq!(read(&id), 200);
        // One stored row goes bad (its sealed resource overwritten): reading it is
        // a server error, while the core checks go on passing.
        {
            use diesel::RunQueryDsl;
            let (pool, _) = db.open(&test_master_key());
            let mut conn = pool.conn().unwrap();
            let n = diesel::sql_query(format!("UPDATE observations SET resource_sealed = content_hash WHERE id = '{id}'"))
                .execute(&mut conn)
                .unwrap();
            assert_eq!(n, 1);
        }
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(4) && receiver.of_type("incident.opened").is_empty() {
            assert_eq!(read(&id), 500);
            assert_eq!(api.call("GET", "/v1/members/alice", None).0, 200);
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(eventually(5, || !receiver.of_type("incident.opened").is_empty()), "no incident.opened");
        let opened = &receiver.of_type("incident.opened")[0];
        let incident = &opened["data"]["incident"];
        assert_eq!(incident["title"], "Elevated API error rate", "{opened}");
        assert_eq!(incident["severity"], 2);
        assert!(incident["cause"].as_str().unwrap().contains("server errors"), "{opened}");
        let text = opened.to_string();
        assert!(!text.contains(&id) && !text.contains("alice"), "no tenant data: {text}");
        let metrics = hub.get("/metrics").text().unwrap();
        assert!(metrics.contains("tributary_api_error_rate_percent"), "{metrics}");

        // The failing reads stop; good traffic goes on: once the window holds only
        // good answers the incident resolves.
        let resolved = eventually(15, || {
            for _ in 0..5 {
                assert_eq!(api.call("GET", "/v1/members/alice", None).0, 200);
            }
            !receiver.of_type("incident.resolved").is_empty()
        });
        assert!(resolved, "no incident.resolved: {}", hub.logs());
        let done = &receiver.of_type("incident.resolved")[0]["data"]["incident"];
        assert_eq!(done["id"], incident["id"]);
        assert!(done["message"].as_str().unwrap().contains("error rate"), "{done}");
        // Not downtime: the core checks passed all along.
        let r = report(&hub, &key);
        assert_eq!(r["downtime_minutes"], 0.0, "{r:#}");
    }

    fn a_vendor_outage_is_recorded_per_vendor_and_is_not_downtime(db: TestDb) {
        // Failed syncs retried within a second or two, and a short backfill.
        let sync = "[sync]\nbackfill_days = 1\npoll_interval_ms = 100\nretry_base_secs = 1\nretry_max_secs = 2\nmax_attempts = 100\n";
        let hub = start_with(&db, &db.env(), sync);
        let (_, key) = create_portal(&db, "P");
        common::demo::connect_alice(&hub, &key);
        let api = Api::new(&hub, Some(&key));
        let idle = || {
            let c = api.call("GET", "/v1/members/alice/connections", None).1;
            c["data"][0]["sync"].as_array().is_some_and(|a| !a.is_empty() && a.iter().all(|s| s["state"] == "idle"))
        };
        assert!(eventually(60, idle), "{}", api.call("GET", "/v1/members/alice/connections", None).1);
        let vendor_up = |v: u8| hub.get("/metrics").text().unwrap().contains(&format!("tributary_vendor_up{{vendor=\"demo\"}} {v}"));
        assert!(eventually(10, || vendor_up(1)), "{}", hub.get("/metrics").text().unwrap());
        let sync_now = || assert_eq!(api.call("POST", "/v1/members/alice/connections/demo/sync", None).0, 202);
        // The backfill's calls out of the member's quota (60 a minute): the first
        // calls of the outage go out at once.
        std::thread::sleep(Duration::from_secs(3));

        // The vendor answers every data call with 500 for eight seconds, while syncs
        // keep trying.
        let control = reqwest::blocking::Client::new();
        let faults = hub.url("/sandbox/demo/_control/faults");
        let fault = json!({"kind": "server_error", "times": 100_000});
        assert_eq!(control.post(&faults).json(&fault).send().unwrap().status(), 200);
        let cut = Instant::now();
        let (mut metric_down, mut page_down) = (false, false);
        while cut.elapsed() < Duration::from_secs(8) {
            sync_now();
            std::thread::sleep(Duration::from_millis(500));
            metric_down |= vendor_up(0);
            page_down |= hub.get("/status").text().unwrap().contains(r#"data-vendor="demo">demo: down<"#);
        }
        assert_eq!(control.delete(&faults).send().unwrap().status(), 200);
        let seen = cut.elapsed();
        assert!(metric_down, "tributary_vendor_up never said 0");
        assert!(page_down, "the status page never showed demo down");
        // It answers again: up at the next sync.
        assert!(eventually(30, || { sync_now(); vendor_up(1) }), "{}", hub.logs());
        assert!(eventually(60, idle));
        std::thread::sleep(Duration::from_secs(2));

        let r = report(&hub, &key);
        eprintln!("vendor outage {seen:?}: {r:#}");
        let down = secs(&r["vendors"]["demo"]);
        // Down from the first round after the first failed call, up from the first
        // round after the first answered one (rounds of 1 s; calls paced by the
        // member's quota).
        assert!(down >= seen.as_secs_f64() - 3.5 && down <= seen.as_secs_f64() + 3.0, "demo down {down} s, outage {seen:?}: {r:#}");
        let outages = r["vendor_outages"].as_array().unwrap();
        assert!(!outages.is_empty() && outages.iter().all(|o| o["vendor"] == "demo"), "{r:#}");
        let listed: f64 = outages.iter().map(|o| secs(&o["minutes"])).sum();
        assert!((listed - down).abs() < 1e-6, "{r:#}");
        // Not the hub's downtime.
        assert_eq!(r["downtime_minutes"], 0.0, "{r:#}");
        assert_eq!(r["availability_percent"], 100.0, "{r:#}");
        assert!(r["downtime"].as_array().unwrap().is_empty(), "{r:#}");

        // The status page shows the vendor's current state (its name and up or
        // down, nothing else); the table report lists the outage.
        let page = hub.get("/status").text().unwrap();
        assert!(page.contains(r#"data-vendor="demo">demo: up<"#), "{page}");
        assert!(page.contains("All systems operational"), "{page}");
        assert!(!page.contains("alice") && !page.contains("prt_"), "no tenant data");
        let out = run(db.path(), &db.env(), &["sla", "report", "--month", &month()]);
        let table = String::from_utf8(out.stdout).unwrap();
        assert!(table.contains("Vendor outages (not downtime)") && table.contains(" demo\n"), "{table}");
        let html = run(db.path(), &db.env(), &["sla", "report", "--month", &month(), "--format", "html"]);
        assert!(String::from_utf8(html.stdout).unwrap().contains("<td>demo</td>"));
    }

    fn the_status_page_and_the_html_report_render_in_chromium(db: TestDb) {
        let receiver = Receiver::start();
        // The portal and its endpoint first: the weekly window is announced at the
        // hub's first round with the database.
        let (_, key) = create_portal(&db, "P");
        let weekly = "[maintenance]\ntime_zone = \"Europe/Berlin\"\nweekly = [{ start = \"Sun 22:00\", end = \"Mon 03:00\", reason = \"Weekly patching\" }]\n";
        let hub = start_with(&db, &db.env(), weekly);
        endpoint(&hub, &key, &receiver);
        // An automatic incident whose process died before resolving it, not updated
        // for an hour (update interval here 2 s): a healthy process resolves it.
        let (database, _) = db.open(&test_master_key());
        let old = tributary::store::events::now() - chrono::Duration::hours(1);
        tributary::ops::store::save_incident(&mut database.conn().unwrap(), &tributary::ops::store::Incident {
            id: "inc_orphan".into(), severity: 1, state: "open".into(), title: "Core functions failing".into(),
            cause: "database".into(), message: String::new(), automatic: true, opened_at: old, updated_at: old,
            resolved_at: None, last_notice_at: old,
        }).unwrap();
        assert!(eventually(20, || receiver.of_type("incident.resolved").iter().any(|b| b["data"]["incident"]["id"] == "inc_orphan")));
        std::thread::sleep(Duration::from_secs(1));
        let out = run(db.path(), &db.env(), &["incident", "open", "--severity", "3", "--title", "Slow Withings syncs", "--message", "Syncs lag behind."]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let incident: Value = serde_json::from_slice(&out.stdout).unwrap();
        let id = incident["incident"]["id"].as_str().unwrap().to_owned();
        let start = (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339();
        let end = (chrono::Utc::now() + chrono::Duration::days(2) + chrono::Duration::hours(2)).to_rfc3339();
        let out = run(db.path(), &db.env(), &["maintenance", "schedule", "--start", &start, "--end", &end, "--reason", "Database upgrade"]);
        assert!(out.status.success());
        assert!(eventually(10, || hub.get("/metrics").text().unwrap().contains("tributary_incidents_open 1")));

        let page = hub.get("/status").text().unwrap();
        assert!(page.contains("Slow Withings syncs") && page.contains("Database upgrade"), "{page}");
        assert!(page.contains("Weekly patching"), "{page}");
        assert!(!page.contains("\"P\"") && !page.contains("prt_"), "no tenant data");
        let html = run(db.path(), &db.env(), &["sla", "report", "--month", &month(), "--format", "html"]);
        assert!(html.status.success());
        let file = db.path().join("sla.html");
        std::fs::write(&file, &html.stdout).unwrap();

        // In Chromium while the incident is open (no browser: the rest still runs).
        if let Some(chrome) = Chrome::start() {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
            chrome.goto(&hub.url("/status"));
            assert_eq!(chrome.text("#state"), "All systems operational");
            assert!(chrome.text("#incidents").contains("Slow Withings syncs"));
            chrome.find("#availability-chart rect.day");
            chrome.screenshot(&dir.join(format!("status-page-{}.png", backend(&db))));
            chrome.goto(&format!("file://{}", file.display()));
            assert!(chrome.text("#summary").contains("Availability"));
            chrome.find("#availability-chart rect.day");
            chrome.screenshot(&dir.join(format!("sla-report-{}.png", backend(&db))));
        }
        let out = run(db.path(), &db.env(), &["incident", "update", &id, "--message", "Withings answers slowly."]);
        assert!(out.status.success());
        let out = run(db.path(), &db.env(), &["incident", "resolve", &id]);
        assert!(out.status.success());
        let out = run(db.path(), &db.env(), &["incident", "resolve", &id]);
        assert!(!out.status.success(), "a resolved incident stays resolved");
        // Operators' notices go through the outbox, in order, signed.
        assert!(eventually(20, || receiver.of_type("incident.resolved").len() == 2));
        let mut kinds: Vec<String> = receiver.accepted().iter().map(|b| b["type"].as_str().unwrap().to_owned()).collect();
        kinds.sort();
        // `incident.updated`: the operator's, and the monitor's repeats of the open
        // incident every (compressed) update interval.
        let updates = receiver.of_type("incident.updated").len();
        assert!(updates >= 1);
        let mut expected = vec!["incident.opened", "incident.resolved", "incident.resolved"];
        expected.extend(std::iter::repeat_n("incident.updated", updates));
        expected.extend(["maintenance.scheduled", "maintenance.scheduled"]);
        assert_eq!(kinds, expected);
        let weekly = receiver.of_type("maintenance.scheduled").into_iter().find(|b| b["data"]["maintenance"]["reason"] == "Weekly patching").unwrap();
        let start = chrono::DateTime::parse_from_rfc3339(weekly["data"]["maintenance"]["start"].as_str().unwrap()).unwrap();
        let berlin = start.with_timezone(&chrono_tz::Europe::Berlin);
        assert_eq!(berlin.format("%a %H:%M").to_string(), "Sun 22:00");
        assert!(receiver.of_type("incident.updated").iter().any(|b| b["data"]["incident"]["message"] == "Withings answers slowly."));
    }
}

fn backend(db: &TestDb) -> &'static str {
    match db.backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}

/// Two instances on one PostgreSQL, each through its own proxy, each listing the
/// other in `[monitor] peers`.
#[test]
fn two_instances_one_down_is_not_downtime_both_down_is() {
    let db = TestDb::new(Backend::Postgres);
    let (a, b) = (PgProxy::start(), PgProxy::start());
    let receiver = Receiver::start();
    let env = |p: &PgProxy| {
        vec![
            ("TRIBUTARY_DATABASE_URL", p.url(&db)),
            ("TRIBUTARY_MASTER_KEY", test_master_key()),
        ]
    };
    // B's port is chosen first so that A can name it.
    let b_port = free_port();
    let hub_a = start_with_peer(&db, &env(&a), &format!("http://127.0.0.1:{b_port}"));
    let mut env_b = env(&b);
    env_b.push(("TRIBUTARY_LISTEN", format!("127.0.0.1:{b_port}")));
    let _hub_b = start_with_peer(&db, &env_b, &hub_a.url(""));
    let (_, key) = create_portal(&db, "P");
    endpoint(&hub_a, &key, &receiver);
    std::thread::sleep(Duration::from_secs(3)); // samples, and the endpoint cached by both

    // A alone loses the database for more than twice the incident threshold (3 s):
    // it cannot read B's samples, probes B, finds it serving: no incident.
    a.cut();
    std::thread::sleep(Duration::from_secs(8));
    let metrics = hub_a.get("/metrics").text().unwrap();
    a.restore();
    assert!(
        hub_a
            .logs()
            .contains("this instance is failing; another serves"),
        "{}",
        hub_a.logs()
    );
    let deferred = metrics
        .lines()
        .find_map(|l| l.strip_prefix("tributary_monitor_failing_while_another_serves_total "))
        .unwrap_or_else(|| panic!("{metrics}"));
    assert!(deferred.parse::<u64>().unwrap() >= 2, "{metrics}");
    std::thread::sleep(Duration::from_secs(4));
    assert!(
        receiver.of_type("incident.opened").is_empty(),
        "{:?}",
        receiver.accepted()
    );
    let r = report(&hub_a, &key);
    assert_eq!(r["downtime_minutes"], 0.0, "{r:#}");
    // A's failed rounds were buffered and written when it got the database back.
    let out = run(
        db.path(),
        &db.env(),
        &["sla", "report", "--month", &month(), "--format", "json"],
    );
    assert!(out.status.success());

    // Both lose it: the hub is down, the notice goes out during the outage.
    a.cut();
    b.cut();
    let cut = Instant::now();
    assert!(
        eventually(60, || !receiver.of_type("incident.opened").is_empty()),
        "{}",
        hub_a.logs()
    );
    let opened_after = cut.elapsed();
    std::thread::sleep(Duration::from_secs(8).saturating_sub(cut.elapsed()));
    a.restore();
    b.restore();
    let seen = cut.elapsed();
    assert!(eventually(30, || !receiver
        .of_type("incident.resolved")
        .is_empty()));
    std::thread::sleep(Duration::from_secs(3));
    let opened = &receiver.of_type("incident.opened")[0];
    assert!(opened["data"]["incident"]["cause"]
        .as_str()
        .unwrap()
        .contains("database"));
    let r = report(&hub_a, &key);
    eprintln!("both down {seen:?}, notice after {opened_after:?}: {r:#}");
    assert_figures(&r, seen);
}
