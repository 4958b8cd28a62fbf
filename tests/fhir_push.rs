//! FHIR push end to end, on both backends, into `../shared/tools/fhir-portal` (a
//! strict Medplum FHIR server: invalid resources get 400): every observation of a
//! 30-day sandbox backfill arrives, valid, once (searched by identifier on the
//! portal), also after a resend; an amended value arrives as an update; an entry
//! the server refuses is recorded with its OperationOutcome and not sent again; a
//! server that is down and back gets everything (retried, then `failed` until a
//! resend); the status is visible through `GET /v1/fhir-push`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod fhir_support;

use common::demo::connect_vendor;
use common::*;
use diesel::prelude::*;
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use tributary::domain::{MemberId, PortalId};
use tributary::store::observations::{self, upsert_batch, NewObservation};

/// A compressed retry schedule: five retries a second apart, then `failed`.
const CONFIG: &str = "[delivery]\nallow_hosts = [\"127.0.0.1\"]\nretry_schedule_secs = [1, 1, 1, 1, 1]\ntimeout_secs = 10\npoll_interval_ms = 100\nfhir_push_settle_ms = 300\nfhir_push_batch_size = 40\n";

/// The stand-in portal FHIR server, restartable on its port (its data lives in
/// memory: a restart empties it).
struct Portal {
    port: u16,
    child: Option<Child>,
}

impl Portal {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut p = Self { port, child: None };
        p.up();
        p
    }

    fn up(&mut self) {
        let tool = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/tools/fhir-portal");
        let child = Command::new(tool)
            .arg(self.port.to_string())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let up = eventually(120, || {
            std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok()
        });
        assert!(up, "the FHIR portal did not start");
    }

    fn down(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}/fhir/R4", self.port)
    }

    fn get(&self, path: &str) -> Value {
        reqwest::blocking::get(format!("http://127.0.0.1:{}{path}", self.port))
            .unwrap()
            .json()
            .unwrap()
    }

    /// The portal's Observations with this identifier value.
    fn by_identifier(&self, value: &str) -> Vec<Value> {
        let b = self.get(&format!(
            "/fhir/R4/Observation?identifier=urn:tributary:sid:observation%7C{value}"
        ));
        entries(&b)
    }

    /// How many Bundles the portal received (its log).
    fn requests(&self) -> usize {
        let log = self.get("/_requests");
        log.as_array()
            .unwrap()
            .iter()
            .filter(|r| r["method"] == "POST")
            .count()
    }
}

impl Drop for Portal {
    fn drop(&mut self) {
        self.down();
    }
}

fn entries(bundle: &Value) -> Vec<Value> {
    bundle["entry"]
        .as_array()
        .map(|e| e.iter().map(|x| x["resource"].clone()).collect())
        .unwrap_or_default()
}

fn start(db: &TestDb, extra: &str) -> (Hub, String) {
    let cfg = db.write_config(&format!("{CONFIG}{extra}"));
    let hub = Hub::start_serving(
        db.path(),
        &db.env(),
        &["--config", cfg.to_str().unwrap()],
        &[],
    );
    let (_, key) = create_portal(db, "P");
    (hub, key)
}

/// Point the portal's push at `portal`, with a bearer token.
fn configure(api: &Api, portal: &Portal) {
    let (s, v) = api.call(
        "PUT",
        "/v1/fhir-push",
        Some(json!({"base_url": portal.base(), "auth": {"type": "bearer", "token": "portal-token-1"}})),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["state"], "ok");
    assert!(!v.to_string().contains("portal-token-1"), "{v}");
}

fn status(api: &Api) -> Value {
    let (s, v) = api.call("GET", "/v1/fhir-push", None);
    assert_eq!(s, 200, "{v}");
    v
}

/// Every stored observation of the portal: (id, identifier value, served JSON).
fn stored(db: &TestDb) -> Vec<(String, String, Value)> {
    let (pool, ring) = db.open(&test_master_key());
    let mut conn = pool.conn().unwrap();
    let portal: String = tributary::db::schema::portals::table
        .select(tributary::db::schema::portals::id)
        .first(&mut conn)
        .unwrap();
    let portal = PortalId::parse(&portal).unwrap();
    let page =
        observations::changed_after(&mut conn, &ring, &portal, (0, ""), i64::MAX, 100_000).unwrap();
    page.into_iter()
        .filter_map(|c| {
            let json: Value = serde_json::from_str(&c.served?.json).unwrap();
            let ident = json["identifier"][0]["value"].as_str().unwrap().to_owned();
            Some((c.id, ident, json))
        })
        .collect()
}

/// Wait until the push has caught up with a store that stopped growing.
fn caught_up(db: &TestDb, api: &Api, secs: u64) -> usize {
    let mut last = usize::MAX;
    let ok = eventually(secs, || {
        let mut conn = db.raw_conn();
        use tributary::db::schema::sync_state as ss;
        let states: Vec<String> = ss::table.select(ss::state).load(&mut conn).unwrap();
        if states.is_empty() || states.iter().any(|s| s == "backfilling") {
            std::thread::sleep(std::time::Duration::from_millis(300));
            return false;
        }
        let n = stored(db).len();
        let s = status(api);
        let done = n == last && n > 0 && s["pending"] == 0 && s["state"] == "ok";
        last = n;
        if !done {
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
        done
    });
    assert!(ok, "the push did not catch up: {}", status(api));
    last
}

/// A stored observation again with another value (or extra content), as a sync
/// would store an amended one.
fn changed(
    db: &TestDb,
    id: &str,
    json: &Value,
    edit: impl FnOnce(&mut Value),
) -> (MemberId, NewObservation) {
    let mut conn = db.raw_conn();
    use tributary::db::schema::observations as o;
    let (member, vendor, data_type): (String, String, String) = o::table
        .find(id)
        .select((o::member_id, o::vendor, o::data_type))
        .first(&mut conn)
        .unwrap();
    let mut r = json.clone();
    let obj = r.as_object_mut().unwrap();
    obj.remove("id");
    obj["meta"]
        .as_object_mut()
        .unwrap()
        .retain(|k, _| k == "source");
    obj["status"] = json!("final");
    edit(&mut r);
    let (start, end) = match (&r["effectiveDateTime"], &r["effectivePeriod"]) {
        (Value::String(t), _) => (t.clone(), t.clone()),
        (_, p) => (
            p["start"].as_str().unwrap().to_owned(),
            p["end"].as_str().unwrap().to_owned(),
        ),
    };
    let codes = r["code"]["coding"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["system"].as_str().unwrap().to_owned(),
                c["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let categories = r["category"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["coding"][0]["code"].as_str().unwrap().to_owned())
        .collect();
    let obs = NewObservation {
        id: id.to_owned(),
        identifier: r["identifier"][0]["value"].as_str().unwrap().to_owned(),
        codes,
        categories,
        effective_start: fhir_support::at(&start),
        effective_end: fhir_support::at(&end),
        vendor,
        data_type,
        resource: serde_json::value::to_raw_value(&r).unwrap(),
    };
    (MemberId::parse(&member).unwrap(), obs)
}

fn upsert(db: &TestDb, member: &MemberId, batch: &[NewObservation]) {
    let (pool, ring) = db.open(&test_master_key());
    let mut conn = pool.conn().unwrap();
    upsert_batch(&mut conn, &ring, member, batch).unwrap();
}

/// The OAuth 2 gate (`tests/fixtures/fhir_push/oauth_gate.py`) in front of a portal:
/// a client-credentials token endpoint, and the portal's base only with its token.
struct Gate {
    port: u16,
    child: Child,
}

impl Gate {
    fn start(portal: &Portal) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fhir_push/oauth_gate.py");
        let child = Command::new("python3")
            .arg(script)
            .args([
                port.to_string(),
                portal.base(),
                "tributary-client".into(),
                "gate-secret".into(),
            ])
            .spawn()
            .unwrap();
        assert!(eventually(20, || std::net::TcpStream::connect((
            "127.0.0.1",
            port
        ))
        .is_ok()));
        Self { port, child }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn stats(&self) -> Value {
        reqwest::blocking::get(self.url("/_stats"))
            .unwrap()
            .json()
            .unwrap()
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

on_both_backends! {
    fn a_backfill_arrives_once_and_amended_values_as_updates(db: TestDb) {
        let portal = Portal::start();
        let (hub, key) = start(&db, "[sync]\nbackfill_days = 30\n");
        let api = Api::new(&hub, Some(&key));
        configure(&api, &portal);
        connect_vendor(&hub, &key, "alice", "demo", &["steps", "body_weight"], None);
        let n = caught_up(&db, &api, 180);
        let s = status(&api);
        assert_eq!(s["pushed"], n as i64, "{s}");
        assert_eq!(s["rejected"], 0, "{s}");
        assert!(s["last_success_at"].is_string(), "{s}");
        assert_eq!(s["auth_type"], "bearer");

        // Every observation is on the portal exactly once, valid (the portal
        // validates every resource), about alice's Patient.
        let obs = stored(&db);
        assert!(obs.len() >= 55, "a 30-day backfill: {}", obs.len());
        let patients = entries(&portal.get("/fhir/R4/Patient"));
        assert_eq!(patients.len(), 1, "{patients:?}");
        assert_eq!(patients[0]["identifier"][0]["value"], "alice");
        let patient_ref = format!("Patient/{}", patients[0]["id"].as_str().unwrap());
        let mut sample = Vec::new();
        for (_, ident, _) in &obs {
            let found = portal.by_identifier(ident);
            assert_eq!(found.len(), 1, "{ident}: {found:?}");
            assert_eq!(found[0]["subject"]["reference"], patient_ref.as_str());
            sample.push(found[0].clone());
        }
        let dir = tempfile::tempdir().unwrap();
        let files: Vec<_> = sample.iter().enumerate().map(|(i, r)| {
            let file = dir.path().join(format!("pushed-{i}.json"));
            std::fs::write(&file, serde_json::to_vec(r).unwrap()).unwrap();
            file
        }).collect();
        let checked = Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/tools/fhir-validate"))
            .args(&files)
            .output()
            .unwrap();
        assert!(checked.status.success(), "{}", String::from_utf8_lossy(&checked.stdout));

        // Resend: everything goes again, nothing is duplicated.
        let (st, r) = api.call("POST", "/v1/fhir-push/resend", Some(json!({})));
        assert_eq!(st, 202, "{r}");
        assert_eq!(r["pending"], n as i64);
        assert!(eventually(120, || status(&api)["pushed"] == 2 * n as i64), "{}", status(&api));
        let all = entries(&portal.get("/fhir/R4/Observation?_count=1000"));
        assert_eq!(all.len(), n, "one resource per observation after a resend");
        for (_, ident, _) in &obs {
            assert_eq!(portal.by_identifier(ident).len(), 1, "{ident}");
        }

        // An amended value arrives as an update of the same resource.
        let (id, ident, json) = obs.iter().find(|(_, _, j)| j["valueQuantity"]["value"].is_number()).unwrap();
        let before = portal.by_identifier(ident)[0].clone();
        let old = json["valueQuantity"]["value"].as_f64().unwrap();
        let (member, amended) = changed(&db, id, json, |r| r["valueQuantity"]["value"] = json!(old + 7.0));
        upsert(&db, &member, &[amended]);
        let arrived = eventually(60, || {
            let found = portal.by_identifier(ident);
            found.len() == 1 && found[0]["valueQuantity"]["value"].as_f64() == Some(old + 7.0)
        });
        assert!(arrived, "{:?} / {}", portal.by_identifier(ident), status(&api));
        let after = portal.by_identifier(ident)[0].clone();
        assert_eq!(after["id"], before["id"], "updated in place");
        assert_eq!(after["status"], "amended");
        assert_ne!(after["meta"]["versionId"], before["meta"]["versionId"]);
        // The only refusals were of Bundles over Medplum's 8 entries for a
        // transaction with conditional entries (split, then sent in halves).
        let log = portal.get("/_requests");
        let refused = log.as_array().unwrap().iter().filter(|r| r["status"] != 200).count();
        assert!(log.as_array().unwrap().iter().all(|r| r["status"] == 200 || r["status"] == 400));
        assert!(refused < 10, "{refused} refusals");
        assert_eq!(status(&api)["rejected"], 0);

        // Counted in the metrics; no token, identifier or value in the logs.
        let metrics = hub.get("/metrics").text().unwrap();
        assert!(metrics.contains("tributary_fhir_push_total{outcome=\"pushed\"}"), "{metrics}");
        let logs = hub.logs();
        assert!(!logs.contains("portal-token-1"));
        assert!(!logs.contains(ident.as_str()));
        assert!(!logs.contains("valueQuantity"));
    }

    fn refusals_are_recorded_and_outages_retried(db: TestDb) {
        let mut portal = Portal::start();
        let (hub, key) = start(&db, "[sync]\nbackfill_days = 3\n");
        let api = Api::new(&hub, Some(&key));
        configure(&api, &portal);
        connect_vendor(&hub, &key, "alice", "demo", &["steps", "body_weight"], None);
        let n = caught_up(&db, &api, 120);
        let obs = stored(&db);

        // One observation the strict server refuses (a property R4 does not have),
        // beside good ones: the good ones arrive, the bad one is recorded once.
        let (id, _, json) = &obs[0];
        let (member, mut bad) = changed(&db, id, json, |r| {
            r["identifier"][0]["value"] = json!("refused-1");
            r["notAnElement"] = json!(true);
        });
        bad.id = fhir_support::obs_id(member.as_str(), "refused-1");
        bad.identifier = "refused-1".into();
        let good: Vec<NewObservation> = (1..=3)
            .map(|h| fhir_support::weight(member.as_str(), &format!("2026-01-0{h}T08:00:00+01:00"), 60.0 + h as f64))
            .collect();
        let good_idents: Vec<String> = good.iter().map(|o| o.identifier.clone()).collect();
        let mut batch = good;
        batch.insert(1, bad);
        upsert(&db, &member, &batch);
        assert!(eventually(60, || status(&api)["rejected"] == 1), "{}", status(&api));
        let s = status(&api);
        assert_eq!(s["pushed"], n as i64 + 3, "{s}");
        assert_eq!(s["state"], "ok", "{s}");
        let rejection = &s["recent_rejections"][0];
        assert_eq!(rejection["observation_id"], fhir_support::obs_id(member.as_str(), "refused-1").as_str());
        assert_eq!(rejection["status"], 400);
        assert_eq!(rejection["outcome"]["resourceType"], "OperationOutcome", "{s}");
        for ident in &good_idents {
            let ident: String = url::form_urlencoded::byte_serialize(ident.as_bytes()).collect();
            assert_eq!(portal.by_identifier(&ident).len(), 1, "{ident}");
        }
        assert!(portal.by_identifier("refused-1").is_empty());
        // Not sent again: the portal hears nothing more.
        let heard = portal.requests();
        std::thread::sleep(std::time::Duration::from_secs(3));
        assert_eq!(portal.requests(), heard);
        assert_eq!(status(&api)["pending"], 0);

        // Down, then back within the retry schedule: retried, then everything arrives.
        portal.down();
        let more: Vec<NewObservation> = (1..=4)
            .map(|h| fhir_support::weight(member.as_str(), &format!("2026-02-0{h}T08:00:00+01:00"), 70.0 + h as f64))
            .collect();
        let more_idents: Vec<String> = more.iter().map(|o| url::form_urlencoded::byte_serialize(o.identifier.as_bytes()).collect()).collect();
        upsert(&db, &member, &more);
        assert!(eventually(30, || status(&api)["state"] == "retrying"), "{}", status(&api));
        let s = status(&api);
        assert_eq!(s["last_error"], "connection failed", "{s}");
        assert!(s["pending"].as_i64().unwrap() >= 4, "{s}");
        portal.up();
        assert!(eventually(60, || status(&api)["pending"] == 0 && status(&api)["state"] == "ok"), "{}", status(&api));
        for ident in &more_idents {
            assert_eq!(portal.by_identifier(ident).len(), 1, "{ident}");
        }

        // Down past the schedule: `failed`, and it stays so until a resend, which
        // sends everything (the restarted portal is empty).
        portal.down();
        let (id, _, json) = &obs[1];
        let (_, amended) = changed(&db, id, json, |r| r["valueQuantity"]["value"] = json!(12345));
        upsert(&db, &member, &[amended]);
        assert!(eventually(60, || status(&api)["state"] == "failed"), "{}", status(&api));
        portal.up();
        std::thread::sleep(std::time::Duration::from_secs(2));
        assert_eq!(status(&api)["state"], "failed");
        assert_eq!(portal.requests(), 0, "nothing is sent while failed");
        let (st, r) = api.call("POST", "/v1/fhir-push/resend", Some(json!({})));
        assert_eq!(st, 202, "{r}");
        assert!(eventually(60, || status(&api)["pending"] == 0 && status(&api)["state"] == "ok"), "{}", status(&api));
        let all = entries(&portal.get("/fhir/R4/Observation?_count=1000"));
        // Every stored observation but the refused one.
        assert_eq!(all.len(), stored(&db).len() - 1);
        assert_eq!(status(&api)["rejected"], 2, "refused again by the new server");

        // Another portal's key sees no configuration; delete removes it.
        let (_, other) = create_portal(&db, "Q");
        let other_api = Api::new(&hub, Some(&other));
        assert_eq!(other_api.call("GET", "/v1/fhir-push", None).0, 404);
        assert_eq!(api.call("DELETE", "/v1/fhir-push", None).0, 204);
        assert_eq!(api.call("GET", "/v1/fhir-push", None).0, 404);
    }

    fn push_urls_follow_the_webhook_policy(db: TestDb) {
        let hub = Hub::start(db.path(), &db.env());
        let (_, key) = create_portal(&db, "P");
        let api = Api::new(&hub, Some(&key));
        for url in ["http://127.0.0.1:9/fhir", "https://10.0.0.1/fhir", "https://169.254.169.254/fhir", "https://localhost/fhir"] {
            let (s, v) = api.call("PUT", "/v1/fhir-push", Some(json!({"base_url": url, "auth": {"type": "bearer", "token": "t"}})));
            assert_eq!(s, 422, "{url}: {v}");
        }
        let (s, v) = api.call("PUT", "/v1/fhir-push", Some(json!({"base_url": "https://fhir.portal.example.com/fhir", "auth": {"type": "client_credentials", "token_url": "https://10.1.2.3/token", "client_id": "c", "client_secret": "s"}})));
        assert_eq!(s, 422, "{v}");
        assert!(v["message"].as_str().unwrap().contains("auth.token_url"), "{v}");
        let (s, v) = api.call("PUT", "/v1/fhir-push", Some(json!({"base_url": "https://fhir.portal.example.com/fhir", "auth": {"type": "client_credentials", "token_url": "https://auth.portal.example.com/token", "client_id": "c", "client_secret": "very-secret", "scope": "system/*.write"}})));
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["auth_type"], "client_credentials");
        assert_eq!(v["client_id"], "c");
        assert!(!v.to_string().contains("very-secret"));
        let text = raw_database_finds(&db, &["fhir_push"], "very-secret");
        assert!(text.is_empty(), "{text:?}");
    }

    fn client_credentials_are_fetched_cached_and_renewed_on_401(db: TestDb) {
        let portal = Portal::start();
        let gate = Gate::start(&portal);
        let (hub, key) = start(&db, "[sync]\nbackfill_days = 3\n");
        let api = Api::new(&hub, Some(&key));
        let (s, v) = api.call("PUT", "/v1/fhir-push", Some(json!({
            "base_url": gate.url("/fhir/R4"),
            "auth": {"type": "client_credentials", "token_url": gate.url("/token"),
                     "client_id": "tributary-client", "client_secret": "gate-secret", "scope": "system/*.write"},
        })));
        assert_eq!(s, 200, "{v}");
        assert!(!v.to_string().contains("gate-secret"));
        connect_vendor(&hub, &key, "alice", "demo", &["steps", "body_weight"], None);
        let n = caught_up(&db, &api, 120);
        assert_eq!(status(&api)["pushed"], n as i64);
        // One token for every Bundle so far.
        assert_eq!(gate.stats()["issued"], 1, "{}", gate.stats());
        assert_eq!(gate.stats()["bad_client"], 0);

        // The server stops taking the token: one 401, one new token, pushed.
        reqwest::blocking::Client::new().post(gate.url("/_revoke")).send().unwrap();
        let (id, _, json) = &stored(&db)[0];
        let (member, amended) = changed(&db, id, json, |r| r["valueQuantity"]["value"] = json!(4242));
        upsert(&db, &member, &[amended]);
        assert!(eventually(60, || status(&api)["pushed"] == n as i64 + 1), "{}", status(&api));
        let stats = gate.stats();
        assert_eq!(stats["issued"], 2, "{stats}");
        assert_eq!(stats["unauthorized"], 1, "{stats}");
        assert_eq!(status(&api)["state"], "ok");
    }
}

on_both_backends! {
    fn only_granted_data_types_are_pushed(db: TestDb) {
        // The grant is narrowed in the database behind the hub's back (no deletion):
        // the pusher checks the grant itself and sends steps only.
        let portal = Portal::start();
        let (hub, key) = start(&db, "");
        let api = Api::new(&hub, Some(&key));
        let (s, m) = api.call("POST", "/v1/members", Some(json!({"user_key": "alice"})));
        assert_eq!(s, 201, "{m}");
        let member = m["member_id"].as_str().unwrap().to_owned();
        let portal_id: String = tributary::db::schema::portals::table
            .select(tributary::db::schema::portals::id)
            .first(&mut db.raw_conn())
            .unwrap();
        let (pool, ring) = db.open(&test_master_key());
        fhir_support::connect_demo(&pool, &ring, &portal_id, &member, &["steps", "heart_rate"]);
        upsert(&db, &MemberId::parse(&member).unwrap(), &fhir_support::week(&member));
        // Through the pool: its SQLite connections wait for the hub's writers.
        diesel::sql_query("UPDATE connections SET data_types = '[\"steps\"]'")
            .execute(&mut pool.conn().unwrap())
            .unwrap();
        configure(&api, &portal);
        assert!(eventually(60, || status(&api)["pushed"] == 7), "{}", status(&api));
        std::thread::sleep(std::time::Duration::from_secs(2));
        let s = status(&api);
        assert_eq!((s["pushed"].as_i64(), s["pending"].as_i64()), (Some(7), Some(0)), "{s}");
        let count = |code: &str| entries(&portal.get(&format!("/fhir/R4/Observation?code={code}&_count=100"))).len();
        assert_eq!(count("41950-7"), 7);
        assert_eq!(count("8867-4"), 0, "heart rate pushed without a grant");
    }
}
