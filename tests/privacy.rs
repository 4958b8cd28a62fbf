//! Consent enforced at every layer, narrowing and revocation that delete, erasure
//! that leaves no trace and a receipt that proves it, and the retention purge; on
//! both backends.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod fhir_support;
use common::*;
use diesel::prelude::*;
use fhir_support::*;
use serde_json::{json, Value};
use tributary::domain::MemberId;

const HR: &str = "8867-4";
const STEPS: &str = "41950-7";

/// Every table of the hub, for the byte scans.
const TABLES: &[&str] = &[
    "key_ring",
    "portals",
    "members",
    "member_keys",
    "api_keys",
    "vendor_apps",
    "audit_events",
    "connect_sessions",
    "oauth_states",
    "connections",
    "connection_tokens",
    "consent_events",
    "observations",
    "observation_codes",
    "exports",
    "export_chunks",
    "jobs",
    "sync_state",
    "rate_buckets",
    "webhook_endpoints",
    "events",
    "webhook_deliveries",
    "fhir_push",
    "fhir_push_rejections",
    "erasure_journal",
];

fn scalar(db: &TestDb, sql: &str) -> i64 {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = db.raw_conn();
    diesel::sql_query(sql).get_result::<N>(&mut conn).unwrap().n
}

fn observations_of(db: &TestDb, data_type: &str) -> i64 {
    scalar(
        db,
        &format!("SELECT COUNT(*) AS n FROM observations WHERE data_type = '{data_type}'"),
    )
}

fn event_kinds(db: &TestDb) -> Vec<String> {
    #[derive(QueryableByName)]
    struct K {
        #[diesel(sql_type = diesel::sql_types::Text)]
        kind: String,
    }
    let mut conn = db.raw_conn();
    diesel::sql_query("SELECT kind FROM events ORDER BY created_at, seq")
        .load::<K>(&mut conn)
        .unwrap()
        .into_iter()
        .map(|k| k.kind)
        .collect()
}

/// Run a bulk `$export` of the portal and return every NDJSON line it wrote.
fn bulk_export_lines(s: &Setup) -> Vec<String> {
    let api = Api::new(&s.hub, Some(&s.key_a));
    let res = api
        .request("POST", "/fhir/r4/$export?_type=Patient,Observation")
        .header("Prefer", "respond-async")
        .send()
        .unwrap();
    assert_eq!(res.status(), 202);
    let status_url = res.headers()["content-location"]
        .to_str()
        .unwrap()
        .to_owned();
    let path = status_url
        .split_once(&s.hub.addr.to_string())
        .unwrap()
        .1
        .to_owned();
    let mut manifest = Value::Null;
    assert!(eventually(30, || {
        let r = api.request("GET", &path).send().unwrap();
        if r.status() == 200 {
            manifest = r.json().unwrap();
            true
        } else {
            false
        }
    }));
    let mut lines = Vec::new();
    for o in manifest["output"].as_array().unwrap() {
        let url = o["url"].as_str().unwrap();
        let file = url.split_once(&s.hub.addr.to_string()).unwrap().1;
        let text = api.request("GET", file).send().unwrap().text().unwrap();
        lines.extend(text.lines().map(str::to_owned));
    }
    lines
}

on_both_backends! {
    fn every_layer_checks_the_grant_on_its_own(db: TestDb) {
        // Each layer checks the grant itself: the grant is narrowed in the database
        // behind the hub's back (no deletion), and the store, search, read, bulk
        // export and manual sync still serve and take only steps.
        let s = setup(&db);
        let week = week(&s.member);
        assert_eq!(s.upsert(&week).inserted, 14);
        let hr_id = obs_id(&s.member, "demo:hr:2026-11-03T08:00:00+01:00");
        assert_eq!(s.fhir(&s.key_a, &format!("/Observation/{hr_id}")).0, 200);
        // Through the pool: its SQLite connections wait for the hub's writers.
        let mut conn = s.db.conn().unwrap();
        diesel::sql_query("UPDATE connections SET data_types = '[\"steps\"]'").execute(&mut conn).unwrap();
        assert_eq!(observations_of(&db, "heart_rate"), 7, "the rows are still there");

        // Search and read.
        assert!(s.ids(&format!("code={HR}")).is_empty());
        assert_eq!(s.ids(&format!("code={STEPS}")).len(), 7);
        assert_eq!(s.ids("_count=100").len(), 7);
        assert_eq!(s.fhir(&s.key_a, &format!("/Observation/{hr_id}")).0, 404);
        // Bulk export.
        let lines = bulk_export_lines(&s);
        assert!(lines.iter().any(|l| l.contains(STEPS)));
        assert!(!lines.iter().any(|l| l.contains(HR)), "heart rate exported");
        // Member export.
        let export = Api::new(&s.hub, Some(&s.key_a))
            .request("GET", "/v1/members/alice/export?format=ndjson")
            .send()
            .unwrap();
        assert_eq!(export.status(), 200);
        let text = export.text().unwrap();
        // The Consents keep the history (heart rate was granted once); the
        // Observations are the granted ones only.
        let observations: Vec<&str> = text.lines().filter(|l| l.contains("\"resourceType\":\"Observation\"")).collect();
        assert_eq!(observations.len(), 7, "{text}");
        assert!(observations.iter().all(|l| l.contains(STEPS) && !l.contains(HR)), "heart rate in the member export");
        // Store: heart rate is refused, steps amended.
        let report = s.upsert(&[heart_rate(&s.member, "2026-11-09T08:00:00+01:00", 61.0)]);
        assert_eq!((report.inserted, report.refused), (0, 1));
        // Sync: a manual sync queues steps only.
        let api = Api::new(&s.hub, Some(&s.key_a));
        let (st, body) = api.call("POST", "/v1/members/alice/connections/demo/sync", None);
        assert_eq!(st, 202, "{body}");
        assert_eq!(body["data_types"], json!(["steps"]));
    }
}

fn live_hub(db: &TestDb, extra: &str) -> (Hub, String) {
    let config = format!("[sync]\nbackfill_days = 3\nschedule = \"*/1 * * * * *\"\n{extra}");
    let cfg = db.write_config(&config);
    let hub = Hub::start_with(db.path(), &db.env(), &["--config", cfg.to_str().unwrap()]);
    let (_, key) = create_portal(db, "Clinic");
    (hub, key)
}

fn sandbox_calls(hub: &Hub) -> Vec<Value> {
    let v: Value = hub.get("/sandbox/demo/_control/calls").json().unwrap();
    v["calls"].as_array().unwrap().clone()
}

fn fhir_count(hub: &Hub, key: &str, member: &str, code: &str) -> usize {
    let (st, b) = Api::new(hub, Some(key)).call(
        "GET",
        &format!("/fhir/r4/Observation?patient={member}&code={code}&_count=1000"),
        None,
    );
    assert_eq!(st, 200, "{b}");
    b["entry"].as_array().map_or(0, Vec::len)
}

fn backfilled(db: &TestDb) {
    assert!(
        eventually(60, || observations_of(db, "heart_rate") > 0
            && observations_of(db, "steps") > 0),
        "no backfill"
    );
}

on_both_backends! {
    fn narrowing_and_revoking_delete_the_data_and_withdraw_the_grant(db: TestDb) {
        let (hub, key) = live_hub(&db, "");
        common::demo::connect_member(&hub, &key, "alice", None);
        backfilled(&db);
        let api = Api::new(&hub, Some(&key));
        let member = api.call("GET", "/v1/members/alice", None).1["member_id"].as_str().unwrap().to_owned();
        assert!(fhir_count(&hub, &key, &member, HR) > 0);

        // Widening through the API is refused, naming the type.
        let (st, body) = api.call("PATCH", "/v1/members/alice/connections/demo", Some(json!({"data_types": ["steps", "body_weight"]})));
        assert_eq!(st, 422, "{body}");
        assert!(body.to_string().contains("body_weight"), "{body}");
        let hr_events = || scalar(&db, "SELECT COUNT(*) AS n FROM events WHERE kind = 'data.available' AND data LIKE '%heart_rate%'");
        // Narrowing: heart rate goes from the database and the API at once.
        let (st, body) = api.call("PATCH", "/v1/members/alice/connections/demo", Some(json!({"data_types": ["steps"]})));
        assert_eq!(st, 200, "{body}");
        assert_eq!(body["data_types"], json!(["steps"]));
        assert!(body["sync"].as_array().unwrap().iter().all(|s| s["data_type"] == "steps"), "{body}");
        assert_eq!(observations_of(&db, "heart_rate"), 0);
        assert!(observations_of(&db, "steps") > 0);
        assert_eq!(fhir_count(&hub, &key, &member, HR), 0);
        assert!(fhir_count(&hub, &key, &member, STEPS) > 0);
        assert_eq!(scalar(&db, "SELECT COUNT(*) AS n FROM observation_codes WHERE code = '8867-4'"), 0);
        assert_eq!(scalar(&db, "SELECT COUNT(*) AS n FROM jobs WHERE data_type = 'heart_rate' AND state = 'queued'"), 0);
        // Sync goes on without heart rate, and webhooks announce steps only.
        let announced = hr_events();
        api.call("POST", "/v1/members/alice/connections/demo/sync", None);
        std::thread::sleep(std::time::Duration::from_secs(3));
        assert_eq!(hr_events(), announced, "heart rate announced after narrowing");
        assert_eq!(observations_of(&db, "heart_rate"), 0, "heart rate synced again");
        assert!(event_kinds(&db).iter().any(|k| k == "connection.updated"));

        // Revoking: everything of the connection goes, and the vendor is told.
        let (st, body) = api.call("DELETE", "/v1/members/alice/connections/demo", None);
        assert_eq!(st, 200, "{body}");
        assert_eq!(body["status"], "revoked");
        assert_eq!(scalar(&db, "SELECT COUNT(*) AS n FROM observations"), 0);
        assert_eq!(scalar(&db, "SELECT COUNT(*) AS n FROM observation_codes"), 0);
        assert_eq!(scalar(&db, "SELECT COUNT(*) AS n FROM connection_tokens"), 0);
        assert_eq!(scalar(&db, "SELECT COUNT(*) AS n FROM sync_state"), 0);
        assert_eq!(fhir_count(&hub, &key, &member, STEPS), 0);
        assert!(eventually(30, || sandbox_calls(&hub).iter().any(|c| c["path"] == "/oauth/revoke" && c["status"] == 200)));
        assert!(eventually(10, || scalar(&db, "SELECT COUNT(*) AS n FROM jobs WHERE kind = 'vendor_revoke' AND state = 'done' AND payload = '{}'") == 1),
            "the revoke job ends and forgets its tokens");
        assert!(event_kinds(&db).iter().any(|k| k == "connection.revoked"));
        // The grant is dead at the vendor too: its token no longer reads data.
        let audit = api.call("GET", "/v1/audit-events?limit=500", None).1;
        let actions: Vec<&str> = audit["data"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert!(actions.contains(&"connection.narrow") && actions.contains(&"connection.revoke"), "{actions:?}");
    }

    fn a_vendor_that_is_down_does_not_hold_up_revocation_and_is_called_again(db: TestDb) {
        let (hub, key) = live_hub(&db, "retry_base_secs = 1\nretry_max_secs = 1\n");
        common::demo::connect_member(&hub, &key, "alice", None);
        backfilled(&db);
        // The vendor's token endpoints (revocation among them) fail for a while.
        let faults = reqwest::blocking::Client::new();
        let r = faults.post(hub.url("/sandbox/demo/_control/faults"))
            .json(&json!({"kind": "server_error", "endpoint": "token", "times": 3}))
            .send().unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().unwrap());
        let api = Api::new(&hub, Some(&key));
        assert_eq!(api.call("DELETE", "/v1/members/alice/connections/demo", None).0, 200);
        assert_eq!(scalar(&db, "SELECT COUNT(*) AS n FROM observations"), 0, "deleted without waiting");
        assert!(eventually(60, || sandbox_calls(&hub).iter().any(|c| c["path"] == "/oauth/revoke" && c["status"] == 200)),
            "{:?}", sandbox_calls(&hub));
        let failed = sandbox_calls(&hub).iter().filter(|c| c["path"] == "/oauth/revoke" && c["status"] == 500).count();
        assert!(failed >= 1, "the revocation was tried while the vendor failed");
    }
}

on_both_backends! {
    fn erasure_leaves_no_trace_and_its_receipt_verifies(db: TestDb) {
        let (hub, key) = live_hub(&db, "");
        let user_key = "erase-me-7f3a9c";
        let sandbox_user = "sbx-user-93kd2q";
        common::demo::connect_member(&hub, &key, user_key, Some(sandbox_user));
        common::demo::connect_member(&hub, &key, "bob-stays", None);
        backfilled(&db);
        let api = Api::new(&hub, Some(&key));
        let member = api.call("GET", &format!("/v1/members/{user_key}"), None).1["member_id"].as_str().unwrap().to_owned();
        let bob = api.call("GET", "/v1/members/bob-stays", None).1["member_id"].as_str().unwrap().to_owned();
        assert!(eventually(60, || fhir_count(&hub, &key, &bob, STEPS) > 0 && fhir_count(&hub, &key, &member, STEPS) > 0));
        // The member's tokens, as the hub holds them.
        let (pool, ring) = db.open(&test_master_key());
        let mut conn = pool.conn().unwrap();
        let connection = tributary::store::connections::find(&mut conn, &MemberId::parse(&member).unwrap(), "demo").unwrap().unwrap();
        let (tokens, _) = tributary::store::connections::tokens(&mut conn, &ring, &connection).unwrap().unwrap();
        drop(conn);
        use secrecy::ExposeSecret;
        let access = tokens.access.expose_secret().to_owned();
        let refresh = tokens.refresh.as_ref().unwrap().expose_secret().to_owned();
        let before = scalar(&db, &format!("SELECT COUNT(*) AS n FROM observations WHERE member_id = '{member}'"));
        assert!(before > 0);
        let public_key = api.call("GET", "/v1/receipts/public-key", None).1["public_key"].as_str().unwrap().to_owned();

        let (st, receipt) = api.call("DELETE", &format!("/v1/members/{user_key}"), None);
        assert_eq!(st, 200, "{receipt}");
        assert_eq!(receipt["member_id"], member.as_str());
        assert_eq!(receipt["data_key_destroyed"], true);
        assert_eq!(receipt["public_key"], public_key.as_str());
        assert_eq!(receipt["vendor_revocations_queued"], 1);
        let counts = &receipt["counts"];
        assert_eq!(counts["observations"].as_i64(), Some(before), "{receipt}");
        assert_eq!((counts["connections"].as_i64(), counts["tokens"].as_i64(), counts["data_keys"].as_i64()), (Some(1), Some(1), Some(1)), "{receipt}");
        assert!(!receipt.to_string().contains(user_key), "the User Key in the receipt");

        // Gone from every API.
        assert_eq!(api.call("GET", &format!("/v1/members/{user_key}"), None).0, 404);
        assert_eq!(api.call("GET", &format!("/fhir/r4/Patient/{member}"), None).0, 404);
        assert_eq!(fhir_count(&hub, &key, &member, STEPS), 0);
        assert!(fhir_count(&hub, &key, &bob, STEPS) > 0, "bob keeps his data");
        // The grant is withdrawn at the vendor, then the job forgets the tokens.
        assert!(eventually(30, || scalar(&db, "SELECT COUNT(*) AS n FROM jobs WHERE kind = 'vendor_revoke' AND state = 'done' AND payload = '{}'") == 1));
        assert!(sandbox_calls(&hub).iter().any(|c| c["path"] == "/oauth/revoke" && c["sandbox_user"] == sandbox_user));

        // The receipt verifies, pretty-printed too; tampered, it does not.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("receipt.json");
        std::fs::write(&file, serde_json::to_string_pretty(&receipt).unwrap()).unwrap();
        let out = run(db.path(), &db.env(), &["receipt", "verify", file.to_str().unwrap()]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let out = run(db.path(), &db.env(), &["receipt", "verify", file.to_str().unwrap(), "--public-key", &public_key]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let mut tampered = receipt.clone();
        tampered["counts"]["observations"] = json!(before - 1);
        std::fs::write(&file, tampered.to_string()).unwrap();
        let out = run(db.path(), &db.env(), &["receipt", "verify", file.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&out.stderr).contains("does not match"), "{}", String::from_utf8_lossy(&out.stderr));
        // Signed by another key (another master key derives another one).
        std::fs::write(&file, receipt.to_string()).unwrap();
        let mut other_env = db.env();
        other_env.retain(|(k, _)| *k != "TRIBUTARY_MASTER_KEY");
        other_env.push(("TRIBUTARY_MASTER_KEY", other_master_key()));
        let out = run(db.path(), &other_env, &["receipt", "verify", file.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&out.stderr).contains("another key"), "{}", String::from_utf8_lossy(&out.stderr));

        // The journal: in the database and in the file, the receipt and nothing else.
        let journal = std::fs::read_to_string(db.path().join("data/erasure-journal.jsonl")).unwrap();
        assert_eq!(journal.lines().count(), 1);
        assert_eq!(serde_json::from_str::<Value>(journal.trim()).unwrap(), receipt);
        assert_eq!(scalar(&db, "SELECT COUNT(*) AS n FROM erasure_journal"), 1);

        // No byte of the member's identifiers or tokens anywhere in the database.
        hub.terminate();
        for needle in [user_key, sandbox_user, access.as_str(), refresh.as_str()] {
            let found = raw_database_finds(&db, TABLES, needle);
            assert!(found.is_empty(), "found a secret of the erased member in {found:?}");
        }
        for table in ["members", "member_keys", "connections", "connection_tokens", "consent_events", "observations", "observation_codes", "connect_sessions", "oauth_states"] {
            let n = scalar(&db, &format!("SELECT COUNT(*) AS n FROM {table} WHERE {} = '{member}'",
                if table == "members" { "id" } else { "member_id" }));
            assert_eq!(n, 0, "{table}");
        }
        for table in ["sync_state", "jobs"] {
            let n = scalar(&db, &format!("SELECT COUNT(*) AS n FROM {table} WHERE connection_id = '{}'", connection.id));
            assert_eq!(n, 0, "{table}");
        }
        assert_eq!(scalar(&db, &format!("SELECT COUNT(*) AS n FROM events WHERE member_id = '{member}' AND kind <> 'member.erased'")), 0);
    }
}

on_both_backends! {
    fn the_retention_purge_deletes_old_observations_once_and_audits_it(db: TestDb) {
        let cfg = db.write_config("[retention]\nmax_age_days = 10\n[sync]\nhousekeeping_schedule = \"*/1 * * * * *\"\n");
        let (portal, key) = create_portal(&db, "A");
        let hub = Hub::start_with(db.path(), &db.env(), &["--config", cfg.to_str().unwrap()]);
        let (st, m) = Api::new(&hub, Some(&key)).call("POST", "/v1/members", Some(json!({"user_key": "alice"})));
        assert_eq!(st, 201);
        let member = m["member_id"].as_str().unwrap().to_owned();
        let (pool, ring) = db.open(&test_master_key());
        connect_demo(&pool, &ring, &portal, &member, &["steps", "heart_rate"]);
        let recent = (chrono::Utc::now() - chrono::Duration::days(1)).format("%Y-%m-%dT08:00:00+00:00").to_string();
        let mut batch = week(&member);
        batch.push(heart_rate(&member, &recent, 60.0));
        let mut conn = pool.conn().unwrap();
        let report = tributary::store::observations::upsert_batch(&mut conn, &ring, &MemberId::parse(&member).unwrap(), &batch).unwrap();
        assert_eq!(report.inserted, 15);
        // The week of 2026-11-01 is older than 10 days; yesterday's reading is not.
        assert!(eventually(20, || scalar(&db, "SELECT COUNT(*) AS n FROM observations") == 1));
        let audit = || scalar(&db, "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'retention.purge'");
        assert!(eventually(10, || audit() == 1));
        assert_eq!(scalar(&db, "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'retention.purge' AND target_id = '14' AND actor_type = 'hub'"), 1);
        // Later runs find nothing and audit nothing.
        std::thread::sleep(std::time::Duration::from_secs(3));
        assert_eq!(audit(), 1);
        assert_eq!(scalar(&db, "SELECT COUNT(*) AS n FROM observations"), 1);
    }
}

on_both_backends! {
    fn an_erasure_survives_a_restore_of_an_older_backup(db: TestDb) {
        use tributary::crypto::{open, Aad};
        let (hub, key) = live_hub(&db, "");
        common::demo::connect_member(&hub, &key, "alice", None);
        common::demo::connect_member(&hub, &key, "bob", None);
        common::demo::connect_member(&hub, &key, "carol", None);
        backfilled(&db);
        let api = Api::new(&hub, Some(&key));
        let alice = api.call("GET", "/v1/members/alice", None).1["member_id"].as_str().unwrap().to_owned();
        let carol = api.call("GET", "/v1/members/carol", None).1["member_id"].as_str().unwrap().to_owned();
        let bob = api.call("GET", "/v1/members/bob", None).1["member_id"].as_str().unwrap().to_owned();
        assert!(eventually(60, || [&alice, &bob, &carol].iter().all(|m| fhir_count(&hub, &key, m, STEPS) > 0)));
        // One of alice's sealed observations, as the backup will hold it; it opens now.
        #[derive(QueryableByName)]
        struct Sealed {
            #[diesel(sql_type = diesel::sql_types::Text)]
            id: String,
            #[diesel(sql_type = diesel::sql_types::Binary)]
            resource_sealed: Vec<u8>,
        }
        let sealed: Sealed = diesel::sql_query(format!("SELECT id, resource_sealed FROM observations WHERE member_id = '{alice}' LIMIT 1"))
            .get_result(&mut db.raw_conn()).unwrap();
        let aad = Aad::new("observations", &sealed.id, Some(&alice));
        {
            let (pool, ring) = db.open(&test_master_key());
            let k = tributary::keys::member_key(&mut pool.conn().unwrap(), &ring, &alice).unwrap();
            assert!(open(&k, &aad, &sealed.resource_sealed).is_ok(), "opens before the erasure");
        }

        let file = db.path().join("before-erasure.trb");
        let out = run(db.path(), &db.env(), &["backup", "--out", file.to_str().unwrap()]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let (st, receipt) = api.call("DELETE", "/v1/members/alice", None);
        assert_eq!(st, 200, "{receipt}");
        // Carol narrows to steps, then revokes, after the backup too.
        let (st, _) = api.call("PATCH", "/v1/members/carol/connections/demo", Some(json!({"data_types": ["steps"]})));
        assert_eq!(st, 200);
        assert_eq!(api.call("DELETE", "/v1/members/carol/connections/demo", None).0, 200);
        hub.terminate();

        // Disaster: a fresh database, the backup from before the erasure, and the
        // journal file that outlived the old database.
        let fresh = TestDb::new(db.backend);
        let journal = db.path().join("data/erasure-journal.jsonl");
        let out = run(fresh.path(), &fresh.env(), &["restore", file.to_str().unwrap(), "--journal", journal.to_str().unwrap()]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(summary["erasures_reapplied"], 1, "{summary}");

        let restored = Hub::start_serving(fresh.path(), &fresh.env(), &[], &["--role", "api"]);
        let api = Api::new(&restored, Some(&key));
        for path in [
            "/v1/members/alice".to_owned(),
            "/v1/members/alice/connections".to_owned(),
            "/v1/members/alice/export".to_owned(),
            format!("/fhir/r4/Patient/{alice}"),
            format!("/fhir/r4/Observation/{}", sealed.id),
        ] {
            assert_eq!(api.call("GET", &path, None).0, 404, "{path}");
        }
        assert_eq!(fhir_count(&restored, &key, &alice, STEPS), 0);
        let (_, consents) = api.call("GET", &format!("/fhir/r4/Consent?patient={alice}"), None);
        assert!(consents.get("entry").is_none(), "{consents}");
        // Bob is back (the round trip of identical answers is tests/backup.rs).
        assert_eq!(api.call("GET", "/v1/members/bob", None).0, 200);
        assert!(fhir_count(&restored, &key, &bob, STEPS) > 0, "bob's data restored");
        // Carol's revocation after the backup holds after the restore.
        let (_, conns) = api.call("GET", "/v1/members/carol/connections", None);
        assert_eq!(conns["data"][0]["status"], "revoked", "{conns}");
        assert_eq!(fhir_count(&restored, &key, &carol, STEPS), 0);
        assert_eq!(scalar(&fresh, &format!("SELECT COUNT(*) AS n FROM observations WHERE member_id = '{carol}'")), 0);
        assert_eq!(scalar(&fresh, "SELECT COUNT(*) AS n FROM connection_tokens c JOIN connections k ON k.id = c.connection_id WHERE k.status = 'revoked'"), 0);
        // The sealed row from the backup opens with no key the restored hub holds.
        let (pool, ring) = fresh.open(&test_master_key());
        let mut conn = pool.conn().unwrap();
        assert!(tributary::keys::member_key(&mut conn, &ring, &alice).is_err(), "alice's data key came back");
        #[derive(QueryableByName)]
        struct Member {
            #[diesel(sql_type = diesel::sql_types::Text)]
            member_id: String,
        }
        let left: Vec<Member> = diesel::sql_query("SELECT member_id FROM member_keys").load(&mut fresh.raw_conn()).unwrap();
        assert!(!left.is_empty());
        for m in left {
            let k = tributary::keys::member_key(&mut conn, &ring, &m.member_id).unwrap();
            assert!(open(&k, &aad, &sealed.resource_sealed).is_err());
        }
        assert_eq!(scalar(&fresh, &format!("SELECT COUNT(*) AS n FROM observations WHERE member_id = '{alice}'")), 0);
    }
}

fn control(hub: &Hub, vendor: &str, what: &str, body: Value) -> Value {
    let r = reqwest::blocking::Client::new()
        .post(hub.url(&format!("/sandbox/{vendor}/_control/{what}")))
        .json(&body)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().unwrap()
}

on_both_backends! {
    fn a_vendors_permission_change_and_deregistration_delete_like_the_member_would(db: TestDb) {
        let (hub, key) = live_hub(&db, "");
        let token = tributary::vendors::hook_token("garmin", &secrecy::SecretString::from("tributary-sandbox-secret"));
        control(&hub, "garmin", "endpoint", json!({"url": hub.url(&format!("/vendor-hooks/garmin?k={token}"))}));
        common::demo::connect_vendor(&hub, &key, "m-1", "garmin", &["dailies", "activities"], None);
        assert!(eventually(60, || observations_of(&db, "dailies") > 0 && observations_of(&db, "activities") > 0));
        let api = Api::new(&hub, Some(&key));
        let connection = || api.call("GET", "/v1/members/m-1/connections", None).1["data"][0].clone();

        // The member withdrew the activity permission at Garmin.
        let sent = control(&hub, "garmin", "push", json!({"user": "sandbox-user-1", "event": "permissions", "permissions": ["HEALTH_EXPORT"]}));
        assert!(!sent["pushes"].as_array().unwrap().is_empty(), "{sent}");
        assert!(eventually(20, || connection()["data_types"] == json!(["dailies"])), "{}", connection());
        assert_eq!(observations_of(&db, "activities"), 0);
        assert!(observations_of(&db, "dailies") > 0);

        // Then deregistered at Garmin: everything goes, and the hub does not call
        // Garmin back to withdraw what Garmin already ended.
        control(&hub, "garmin", "push", json!({"user": "sandbox-user-1", "event": "deregistration"}));
        assert!(eventually(20, || connection()["status"] == "revoked"), "{}", connection());
        assert_eq!(scalar(&db, "SELECT COUNT(*) AS n FROM observations"), 0);
        assert_eq!(scalar(&db, "SELECT COUNT(*) AS n FROM connection_tokens"), 0);
        std::thread::sleep(std::time::Duration::from_secs(2));
        assert_eq!(scalar(&db, "SELECT COUNT(*) AS n FROM jobs WHERE kind = 'vendor_revoke'"), 0);
        let calls: Value = hub.get("/sandbox/garmin/_control/calls").json().unwrap();
        assert!(!calls["calls"].as_array().unwrap().iter().any(|c| c["method"] == "DELETE"), "{calls}");
        let kinds = event_kinds(&db);
        assert!(kinds.iter().any(|k| k == "connection.updated") && kinds.iter().any(|k| k == "connection.revoked"), "{kinds:?}");
    }
}
