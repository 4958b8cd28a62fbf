//! Webhook delivery end to end, on both backends: events of real changes (members,
//! a connection through the consent page and the sandbox, its backfill, a
//! revocation) reach a receiver that verifies every signature with the Standard
//! Webhooks library from PyPI, also during a secret rotation; a receiver down for a
//! long stretch (refusing connections, answering 500, too slow) gets every event
//! exactly once by `webhook-id` when it comes back; exhausted deliveries are
//! `failed` and replay re-sends them; no body carries health data or tokens; and
//! URLs that reach private addresses are refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::demo::connect_vendor;
use common::*;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

/// Loopback allowed, a compressed schedule of `retries` waits of a second each, and
/// `timeout` seconds for an answer. `[delivery]` comes last: more of its settings
/// may be appended.
fn config(retries: usize, timeout: u64) -> String {
    let schedule = vec!["1"; retries].join(", ");
    format!(
        "[sync]\nbackfill_days = 3\n[delivery]\nallow_hosts = [\"127.0.0.1\"]\nretry_schedule_secs = [{schedule}]\ntimeout_secs = {timeout}\npoll_interval_ms = 100\n"
    )
}

/// The Python receiver, restartable on its port.
struct Receiver {
    port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl Receiver {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut r = Self {
            port,
            dir: tempfile::tempdir().unwrap(),
            child: None,
        };
        r.up();
        r
    }

    fn up(&mut self) {
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/webhooks/receiver.py");
        let child = Command::new("python3")
            .arg(script)
            .arg(self.port.to_string())
            .arg(self.dir.path())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let up = eventually(20, || {
            std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok()
        });
        assert!(up, "the receiver did not start");
    }

    fn down(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn set_secrets(&self, secrets: &[&str]) {
        std::fs::write(self.file("secrets.json"), json!(secrets).to_string()).unwrap();
    }

    fn set_mode(&self, mode: &str) {
        std::fs::write(self.file("mode"), mode).unwrap();
    }

    /// Every request received, in order.
    fn log(&self) -> Vec<Value> {
        std::fs::read_to_string(self.file("log.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// The accepted (2xx) requests' bodies by webhook-id.
    fn accepted(&self) -> BTreeMap<String, Vec<Value>> {
        let mut by_id: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for line in self.log() {
            if line["status"] == 200 {
                let body: Value = serde_json::from_str(line["body"].as_str().unwrap()).unwrap();
                by_id
                    .entry(line["id"].as_str().unwrap().to_owned())
                    .or_default()
                    .push(body);
            }
        }
        by_id
    }

    fn types(&self) -> Vec<String> {
        self.accepted()
            .values()
            .map(|b| b[0]["type"].as_str().unwrap().to_owned())
            .collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.down();
    }
}

fn start(db: &TestDb, config: &str) -> (Hub, String) {
    let cfg = db.write_config(config);
    let hub = Hub::start_serving(
        db.path(),
        &db.env(),
        &["--config", cfg.to_str().unwrap()],
        &[],
    );
    let (_, key) = create_portal(db, "P");
    (hub, key)
}

fn endpoint(api: &Api, url: &str, events: Option<Value>) -> (String, String) {
    let mut body = json!({ "url": url });
    if let Some(e) = events {
        body["events"] = e;
    }
    let (s, v) = api.call("POST", "/v1/webhook-endpoints", Some(body));
    assert_eq!(s, 201, "{v}");
    let secret = v["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    (v["id"].as_str().unwrap().to_owned(), secret)
}

/// No webhook body holds anything but ids, vendor, types, states, time ranges and
/// counts: the keys are from a fixed list at every level, data types are type ids,
/// no string looks like a token or a unit, and no number but a count or a sequence
/// appears.
fn assert_free_of_phi(bodies: &[Value]) {
    assert!(!bodies.is_empty());
    let allowed: BTreeSet<&str> = [
        "user_key",
        "vendor",
        "status",
        "change",
        "data_types",
        "channel",
        "period",
        "count",
        "receipt_id",
    ]
    .into();
    for b in bodies {
        let text = b.to_string();
        for needle in [
            "sbx_",
            "valueQuantity",
            "unit",
            "mg/dL",
            "kg",
            "/min",
            "Observation",
            "whsec_",
            "token",
            "secret",
        ] {
            assert!(!text.contains(needle), "{needle} in a webhook: {text}");
        }
        let keys: BTreeSet<&str> = b.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            ["data", "id", "sequence", "timestamp", "type"].into(),
            "{text}"
        );
        for (k, v) in b["data"].as_object().unwrap() {
            assert!(
                allowed.contains(k.as_str()),
                "data.{k} in a webhook: {text}"
            );
            match (k.as_str(), v) {
                ("count", v) => assert!(v.is_u64(), "{text}"),
                ("period", Value::Object(p)) => {
                    for (pk, pv) in p {
                        assert!(pk == "start" || pk == "end", "{text}");
                        let t = pv.as_str().unwrap();
                        assert!(chrono::DateTime::parse_from_rfc3339(t).is_ok(), "{text}");
                    }
                }
                ("data_types", Value::Array(types)) => {
                    for t in types {
                        let t = t.as_str().unwrap();
                        assert!(
                            t.bytes().all(|c| c.is_ascii_lowercase() || c == b'_'),
                            "{text}"
                        );
                    }
                }
                (_, v) => assert!(v.is_string() || v.is_null(), "data.{k}: {text}"),
            }
        }
    }
}

/// Every body the receiver got, accepted or not.
fn every_body(receiver: &Receiver) -> Vec<Value> {
    receiver
        .log()
        .iter()
        .map(|l| serde_json::from_str(l["body"].as_str().unwrap()).unwrap())
        .collect()
}

on_both_backends! {
    fn events_of_real_changes_arrive_signed_and_free_of_phi(db: TestDb) {
        let receiver = Receiver::start();
        let (hub, key) = start(&db, &config(8, 5));
        let api = Api::new(&hub, Some(&key));
        let (id, secret) = endpoint(&api, &receiver.url(), None);
        receiver.set_secrets(&[&secret]);
        // Listed without its secret.
        let listed = api.call("GET", "/v1/webhook-endpoints", None).1;
        assert_eq!(listed["data"][0]["id"], id.as_str());
        assert!(!listed.to_string().contains(&secret));

        connect_vendor(&hub, &key, "alice", "demo", &["steps", "heart_rate"], None);
        let wanted = ["member.created", "connection.created", "data.available", "backfill.completed"];
        let all_there = eventually(60, || {
            let types = receiver.types();
            wanted.iter().all(|w| types.iter().any(|t| t == w))
                && types.iter().filter(|t| *t == "backfill.completed").count() == 2
        });
        assert!(all_there, "{:?}", receiver.types());
        assert_eq!(api.call("DELETE", "/v1/members/alice/connections/demo", None).0, 200);
        assert!(eventually(30, || receiver.types().iter().any(|t| t == "connection.revoked")));

        // Every request verified with the library, and each event arrived once.
        let log = receiver.log();
        assert!(log.iter().all(|l| l["verified_with"] == json!([0]) && l["status"] == 200), "{log:?}");
        let accepted = receiver.accepted();
        assert!(accepted.values().all(|v| v.len() == 1));
        let bodies: Vec<Value> = accepted.values().map(|v| v[0].clone()).collect();

        // alice's events are numbered 1, 2, … with no gap, in the order they happened.
        let mut alice: Vec<&Value> = bodies.iter().filter(|b| b["data"]["user_key"] == "alice").collect();
        alice.sort_by_key(|b| b["sequence"].as_i64().unwrap());
        let seqs: Vec<i64> = alice.iter().map(|b| b["sequence"].as_i64().unwrap()).collect();
        assert_eq!(seqs, (1..=alice.len() as i64).collect::<Vec<_>>());
        assert_eq!(alice[0]["type"], "member.created");
        assert_eq!(alice[1]["type"], "connection.created");
        assert_eq!(alice.last().unwrap()["type"], "connection.revoked");
        let data = bodies.iter().find(|b| b["type"] == "data.available").unwrap();
        assert_eq!(data["data"]["vendor"], "demo");
        assert!(data["data"]["count"].as_u64().unwrap() > 0);
        assert!(data["data"]["period"]["start"].as_str().unwrap() < data["data"]["period"]["end"].as_str().unwrap());

        // The delivery log shows each as delivered, with the receiver's status.
        let rows = || api.call("GET", "/v1/webhook-deliveries?limit=500", None).1["data"].as_array().unwrap().clone();
        assert!(eventually(30, || rows().iter().all(|d| d["status"] == "delivered")), "{:?}", rows());
        let rows = rows();
        assert_eq!(rows.len(), receiver.accepted().len());
        assert!(rows.iter().all(|d| d["attempts"] == 1 && d["last_response_status"] == 200), "{rows:?}");
        let filtered = api.call("GET", "/v1/webhook-deliveries?status=failed", None).1;
        assert_eq!(filtered["data"], json!([]));

        // Rotation: for an hour both secrets sign; the library verifies each alone.
        let (s, rotated) = api.call("POST", &format!("/v1/webhook-endpoints/{id}/rotate-secret"), Some(json!({"overlap_seconds": 3600})));
        assert_eq!(s, 200, "{rotated}");
        let new_secret = rotated["secret"].as_str().unwrap().to_owned();
        assert_ne!(new_secret, secret);
        assert!(rotated["previous_secret_until"].is_string());
        receiver.set_secrets(&[&secret, &new_secret]);
        assert_eq!(api.call("POST", "/v1/members", Some(json!({"user_key": "bob"}))).0, 201);
        assert!(eventually(30, || receiver.log().iter().any(|l| l["body"].as_str().unwrap().contains("\"bob\""))));
        let bob = receiver.log().into_iter().find(|l| l["body"].as_str().unwrap().contains("\"bob\"")).unwrap();
        assert_eq!(bob["verified_with"], json!([0, 1]), "{bob}");
        assert_eq!(bob["signatures"].as_str().unwrap().split(' ').count(), 2);
        // Without overlap only the new secret signs.
        let (_, again) = api.call("POST", &format!("/v1/webhook-endpoints/{id}/rotate-secret"), Some(json!({"overlap_seconds": 0})));
        let newest = again["secret"].as_str().unwrap().to_owned();
        receiver.set_secrets(&[&new_secret, &newest]);
        assert_eq!(api.call("POST", "/v1/members", Some(json!({"user_key": "carol"}))).0, 201);
        assert!(eventually(30, || receiver.log().iter().any(|l| l["body"].as_str().unwrap().contains("\"carol\""))));
        let carol = receiver.log().into_iter().find(|l| l["body"].as_str().unwrap().contains("\"carol\"")).unwrap();
        assert_eq!(carol["verified_with"], json!([1]), "{carol}");

        // Erasing alice: her earlier events leave the log, and member.erased names her.
        receiver.set_secrets(&[&newest]);
        assert_eq!(api.call("DELETE", "/v1/members/alice", None).0, 200);
        let erased = || receiver.accepted().into_values().flatten().find(|b| b["type"] == "member.erased");
        assert!(eventually(30, || erased().is_some()));
        assert_eq!(erased().unwrap()["data"]["user_key"], "alice");
        let rows = api.call("GET", "/v1/webhook-deliveries?limit=500", None).1;
        let types: Vec<&str> = rows["data"].as_array().unwrap().iter().map(|d| d["event_type"].as_str().unwrap()).collect();
        assert_eq!(types.iter().filter(|t| **t == "member.created").count(), 2, "bob's and carol's: {types:?}");
        assert!(!types.contains(&"data.available"), "{types:?}");
        assert_free_of_phi(&every_body(&receiver));
    }

    fn a_receiver_down_for_a_long_stretch_gets_every_event_exactly_once(db: TestDb) {
        let mut receiver = Receiver::start();
        // Twenty retries a second apart: the outage below is shorter, the last
        // stretch (nobody listening) longer.
        let (hub, key) = start(&db, &config(20, 1));
        let api = Api::new(&hub, Some(&key));
        let (endpoint_id, secret) = endpoint(&api, &receiver.url(), Some(json!(["member.created"])));
        receiver.set_secrets(&[&secret]);

        // Down: connections refused, then 500s, then answers too slow for the timeout.
        receiver.down();
        for i in 0..10 {
            assert_eq!(api.call("POST", "/v1/members", Some(json!({"user_key": format!("m-{i}")}))).0, 201);
        }
        std::thread::sleep(Duration::from_secs(2));
        receiver.set_mode("500");
        receiver.up();
        for i in 10..20 {
            assert_eq!(api.call("POST", "/v1/members", Some(json!({"user_key": format!("m-{i}")}))).0, 201);
        }
        std::thread::sleep(Duration::from_secs(2));
        receiver.set_mode("slow:1.5");
        std::thread::sleep(Duration::from_secs(2));
        let pending = api.call("GET", "/v1/webhook-deliveries?status=pending&limit=500", None).1;
        assert_eq!(pending["data"].as_array().unwrap().len(), 20, "{pending}");
        let failed_attempt = &pending["data"][0];
        assert!(failed_attempt["attempts"].as_i64().unwrap() >= 1);
        assert!(failed_attempt["last_error"].is_string());

        // Back: every event arrives, each webhook-id accepted exactly once.
        receiver.set_mode("ok");
        assert!(eventually(60, || receiver.accepted().len() == 20), "{}", receiver.accepted().len());
        std::thread::sleep(Duration::from_secs(2));
        let accepted = receiver.accepted();
        assert_eq!(accepted.len(), 20);
        assert!(accepted.values().all(|v| v.len() == 1), "an event accepted twice");
        let keys: BTreeSet<String> = accepted.values().map(|v| v[0]["data"]["user_key"].as_str().unwrap().to_owned()).collect();
        assert_eq!(keys, (0..20).map(|i| format!("m-{i}")).collect());
        // The same event kept its webhook-id on every attempt.
        let attempts_per_id = receiver.log().iter().fold(BTreeMap::<String, usize>::new(), |mut m, l| {
            *m.entry(l["id"].as_str().unwrap().to_owned()).or_default() += 1;
            m
        });
        assert_eq!(attempts_per_id.len(), 20);
        assert!(attempts_per_id.values().any(|n| *n > 1), "the 500s and slow answers were attempts too");

        // Down for longer than the schedule: failed, then replayed.
        receiver.down();
        let before = chrono::Utc::now() - chrono::Duration::seconds(1);
        for i in 20..23 {
            assert_eq!(api.call("POST", "/v1/members", Some(json!({"user_key": format!("m-{i}")}))).0, 201);
        }
        let failed = || api.call("GET", "/v1/webhook-deliveries?status=failed", None).1["data"].as_array().unwrap().len();
        assert!(eventually(60, || failed() == 3), "{}", failed());
        let one = api.call("GET", "/v1/webhook-deliveries?status=failed", None).1["data"][0].clone();
        assert_eq!(one["attempts"], 21);
        assert_eq!(one["last_response_status"], Value::Null);
        assert_eq!(one["last_error"], "connection failed");
        receiver.up();
        let (s, replayed) = api.call("POST", "/v1/webhook-deliveries/replay", Some(json!({"since": before.to_rfc3339(), "endpoint_id": endpoint_id})));
        assert_eq!(s, 202, "{replayed}");
        assert_eq!(replayed["queued"], 3);
        assert!(eventually(30, || receiver.accepted().len() == 23));
        // The delivery log pages through rows that share a creation time (a replay
        // queues its rows at one instant) without skipping or repeating any.
        let all = api.call("GET", "/v1/webhook-deliveries?limit=500", None).1["data"].as_array().unwrap().len();
        let (mut seen, mut cursor) = (BTreeSet::new(), None::<String>);
        loop {
            let path = match &cursor {
                None => "/v1/webhook-deliveries?limit=2".to_owned(),
                Some(c) => format!("/v1/webhook-deliveries?limit=2&cursor={c}"),
            };
            let page = api.call("GET", &path, None).1;
            for d in page["data"].as_array().unwrap() {
                assert!(seen.insert(d["id"].as_str().unwrap().to_owned()), "{d} twice");
            }
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        assert_eq!(seen.len(), all);
        // Retrying one failed delivery sends its event again, under the same id.
        let (s, retried) = api.call("POST", &format!("/v1/webhook-deliveries/{}/retry", one["id"].as_str().unwrap()), None);
        assert_eq!(s, 202, "{retried}");
        assert!(eventually(30, || receiver.accepted().get(one["event_id"].as_str().unwrap()).is_some_and(|v| v.len() == 2)));
        assert_eq!(receiver.accepted().len(), 23);
        assert_free_of_phi(&every_body(&receiver));
    }

    fn a_backlog_is_paced_per_endpoint(db: TestDb) {
        let receiver = Receiver::start();
        let (hub, key) = start(&db, &format!("{}per_endpoint_per_second = 5\n", config(8, 5)));
        let api = Api::new(&hub, Some(&key));
        // A disabled endpoint gets nothing queued; once enabled, a replay queues
        // all twenty at once.
        let (id, secret) = endpoint(&api, &receiver.url(), None);
        receiver.set_secrets(&[&secret]);
        let (s, v) = api.call("POST", &format!("/v1/webhook-endpoints/{id}/disable"), None);
        assert_eq!((s, v["enabled"].clone()), (200, json!(false)));
        let since = chrono::Utc::now() - chrono::Duration::seconds(1);
        for i in 0..20 {
            assert_eq!(api.call("POST", "/v1/members", Some(json!({"user_key": format!("p-{i}")}))).0, 201);
        }
        std::thread::sleep(Duration::from_secs(1));
        assert!(receiver.log().is_empty());
        assert_eq!(api.call("GET", "/v1/webhook-deliveries", None).1["data"], json!([]));
        assert_eq!(api.call("POST", &format!("/v1/webhook-endpoints/{id}/enable"), None).0, 200);
        let (s, r) = api.call("POST", "/v1/webhook-deliveries/replay", Some(json!({"since": since.to_rfc3339(), "endpoint_id": id})));
        assert_eq!((s, r["queued"].clone()), (202, json!(20)), "{r}");
        assert!(eventually(60, || receiver.accepted().len() == 20));
        let times: Vec<f64> = receiver.log().iter().map(|l| l["at"].as_f64().unwrap()).collect();
        let spread = times.iter().cloned().fold(f64::MIN, f64::max) - times.iter().cloned().fold(f64::MAX, f64::min);
        // Five a second with a burst of five: the last of twenty comes at least three
        // seconds after the first.
        assert!(spread >= 2.8, "twenty deliveries within {spread:.2} s at five a second");
    }

    fn two_processes_share_the_outbox_and_send_each_event_once(db: TestDb) {
        let receiver = Receiver::start();
        let (hub, key) = start(&db, &config(8, 5));
        let cfg = db.write_config(&config(8, 5));
        let second = Hub::start_serving(db.path(), &db.env(), &["--config", cfg.to_str().unwrap()], &["--role", "worker"]);
        let api = Api::new(&hub, Some(&key));
        let (_, secret) = endpoint(&api, &receiver.url(), Some(json!(["member.created"])));
        receiver.set_secrets(&[&secret]);
        for i in 0..100 {
            assert_eq!(api.call("POST", "/v1/members", Some(json!({"user_key": format!("s-{i}")}))).0, 201);
        }
        assert!(eventually(60, || receiver.accepted().len() == 100), "{}", receiver.accepted().len());
        std::thread::sleep(Duration::from_secs(2));
        // No claim was taken twice: one request per event, all verified.
        let log = receiver.log();
        assert_eq!(log.len(), 100);
        assert!(log.iter().all(|l| l["verified_with"] == json!([0])));
        // Each member's first event is number 1.
        assert!(receiver.accepted().values().all(|b| b[0]["sequence"] == 1));
        // The two processes' attempts add up to one per event.
        let delivered = |h: &Hub| -> u64 {
            let text = h.get("/metrics").text().unwrap();
            text.lines()
                .find(|l| l.starts_with("tributary_webhook_attempts_total{outcome=\"delivered\"}"))
                .map_or(0, |l| l.rsplit(' ').next().unwrap().parse().unwrap())
        };
        let (a, b) = (delivered(&hub), delivered(&second));
        assert_eq!(a + b, 100, "{a} + {b}");
        eprintln!("deliveries by process: {a} and {b}");
    }

    fn a_slow_receiver_does_not_hold_up_another(db: TestDb) {
        let (slow, fast) = (Receiver::start(), Receiver::start());
        // Four slots, so at most one delivery per endpoint in flight.
        let (hub, key) = start(&db, &format!("{}concurrency = 4\n", config(8, 5)));
        let api = Api::new(&hub, Some(&key));
        for r in [&slow, &fast] {
            let (_, secret) = endpoint(&api, &r.url(), Some(json!(["member.created"])));
            r.set_secrets(&[&secret]);
        }
        // Each of its answers takes 4 s: without the cap, its deliveries would take
        // every slot and the other receiver would wait seconds for each of its own.
        slow.set_mode("slow:4");
        for i in 0..12 {
            assert_eq!(api.call("POST", "/v1/members", Some(json!({"user_key": format!("f-{i}")}))).0, 201);
        }
        assert!(eventually(5, || fast.accepted().len() == 12), "{}", fast.accepted().len());
        // Meanwhile the slow one took its deliveries one at a time.
        assert!(slow.log().len() < 12, "{}", slow.log().len());
    }

    fn urls_that_reach_private_addresses_are_refused(db: TestDb) {
        let receiver = Receiver::start();
        // 127.0.0.1 (the receiver) is allowed; the URLs below are not.
        let (hub, key) = start(&db, &config(8, 5));
        let api = Api::new(&hub, Some(&key));
        for (url, why) in [
            ("http://example.com/hook", "must be https"),
            ("https://10.0.0.1/hook", "10.0.0.1 is not a public address"),
            ("https://169.254.169.254/latest/meta-data", "169.254.169.254 is not a public address"),
            ("https://[::1]/hook", "::1 is not a public address"),
            ("https://192.168.1.20:8443/hook", "192.168.1.20 is not a public address"),
            ("https://localhost/hook", "resolves to"),
            ("https://user:pw@example.com/hook", "credentials"),
            // Numeric forms of a private address, and one behind IPv4-mapped IPv6.
            ("https://167772161/hook", "10.0.0.1 is not a public address"),
            ("https://0x0a.0.0.1/hook", "10.0.0.1 is not a public address"),
            ("https://012.0.0.1/hook", "10.0.0.1 is not a public address"),
            ("https://[::ffff:10.0.0.1]/hook", "is not a public address"),
        ] {
            let (s, v) = api.call("POST", "/v1/webhook-endpoints", Some(json!({"url": url})));
            assert_eq!(s, 422, "{url}: {v}");
            assert!(v["message"].as_str().unwrap().contains(why), "{url}: {v}");
        }
        let (s, v) = api.call("POST", "/v1/webhook-endpoints", Some(json!({"url": receiver.url(), "events": ["no.such"]})));
        assert_eq!(s, 422, "{v}");
        assert_eq!(api.call("GET", "/v1/webhook-endpoints", None).1["data"], json!([]));

        // An allowed receiver that redirects to the metadata address: not followed.
        let (_, secret) = endpoint(&api, &receiver.url(), None);
        receiver.set_secrets(&[&secret]);
        receiver.set_mode("redirect:http://169.254.169.254/latest/meta-data");
        assert_eq!(api.call("POST", "/v1/members", Some(json!({"user_key": "dave"}))).0, 201);
        let row = || api.call("GET", "/v1/webhook-deliveries", None).1["data"][0].clone();
        assert!(eventually(30, || row()["attempts"].as_i64().unwrap_or(0) >= 1), "{}", row());
        let d = row();
        assert_eq!(d["last_response_status"], 302);
        assert_eq!(d["last_error"], "HTTP 302: redirects are not followed");
        assert!(receiver.log().iter().all(|l| l["status"] == 302));
        assert_free_of_phi(&every_body(&receiver));
    }
}

/// Without an allowlist, even loopback is refused, and the hub's config names the
/// setting that allows it.
#[test]
fn the_allowlist_is_named_when_loopback_is_refused() {
    let db = TestDb::new(common::Backend::Sqlite);
    let (hub, key) = start(&db, "[delivery]\nretry_schedule_secs = [1]\n");
    let api = Api::new(&hub, Some(&key));
    for url in ["http://127.0.0.1:9/hook", "https://127.0.0.1:9/hook"] {
        let (s, v) = api.call("POST", "/v1/webhook-endpoints", Some(json!({"url": url})));
        assert_eq!(s, 422, "{url}: {v}");
        assert!(
            v["message"]
                .as_str()
                .unwrap()
                .contains("delivery.allow_hosts"),
            "{v}"
        );
    }
}
