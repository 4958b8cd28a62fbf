//! Each real vendor end to end through its sandbox twin, over real HTTP: a member
//! connects with OAuth (the consent page, the twin's authorization page, the
//! vendor's token dialect), 30 days are backfilled, a notification brings new data,
//! and a revocation ends the connection. Every stored observation is served by the
//! FHIR API and passes the external validator.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::demo::connect_vendor;
use common::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;

const CONFIG: &str = "[sync]\nworkers = 4\nbackfill_days = 30\nbackfill_window_days = 10\n";

fn start(db: &TestDb) -> (Hub, String) {
    start_with(db, CONFIG)
}

fn start_with(db: &TestDb, config: &str) -> (Hub, String) {
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

/// The connection's sync rows once every data type is idle with its backfill done.
fn wait_until_backfilled(api: &Api, vendor: &str, types: &[&str]) -> Value {
    let mut last = Value::Null;
    let done = eventually(120, || {
        last = api.call("GET", "/v1/members/m-1/connections", None).1;
        let Some(c) = last["data"]
            .as_array()
            .and_then(|a| a.iter().find(|c| c["vendor"] == vendor))
        else {
            return false;
        };
        let idle: Vec<&str> = c["sync"]
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
    assert!(done, "{vendor}: not backfilled in time: {last}");
    last
}

/// Stored observations per data type (current versions).
fn stored(db: &TestDb) -> BTreeMap<String, usize> {
    use diesel::prelude::*;
    use tributary::db::schema::observations::dsl;
    let mut conn = db.raw_conn();
    let rows: Vec<String> = dsl::observations
        .select(dsl::data_type)
        .load(&mut conn)
        .unwrap();
    let mut counts = BTreeMap::new();
    for r in rows {
        *counts.entry(r).or_insert(0) += 1;
    }
    counts
}

/// Every observation of the member through the FHIR API, validated externally.
fn served(hub: &Hub, key: &str) -> Vec<Value> {
    let client = reqwest::blocking::Client::new();
    let patient = Api::new(hub, Some(key))
        .call("GET", "/v1/members/m-1", None)
        .1["member_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut url = hub.url(&format!(
        "/fhir/r4/Observation?patient={patient}&_count=1000"
    ));
    let mut all = Vec::new();
    let dir = tempfile::tempdir().unwrap();
    for page in 0.. {
        let bundle: Value = client
            .get(&url)
            .bearer_auth(key)
            .send()
            .unwrap()
            .json()
            .unwrap();
        let file = dir.path().join(format!("page{page}.json"));
        std::fs::write(&file, bundle.to_string()).unwrap();
        let validator = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/tools/fhir-validate");
        let out = std::process::Command::new(validator)
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "fhir-validate: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        for e in bundle["entry"].as_array().cloned().unwrap_or_default() {
            all.push(e["resource"].clone());
        }
        match bundle["link"]
            .as_array()
            .and_then(|l| l.iter().find(|l| l["relation"] == "next"))
            .and_then(|l| l["url"].as_str())
        {
            Some(next) => url = next.to_owned(),
            None => break,
        }
    }
    all
}

fn sandbox_calls(hub: &Hub, vendor: &str) -> Vec<Value> {
    let body: Value = reqwest::blocking::get(hub.url(&format!("/sandbox/{vendor}/_control/calls")))
        .unwrap()
        .json()
        .unwrap();
    body["calls"].as_array().cloned().unwrap_or_default()
}

fn control(hub: &Hub, vendor: &str, what: &str, body: Value) -> Value {
    let client = reqwest::blocking::Client::new();
    let r = client
        .post(hub.url(&format!("/sandbox/{vendor}/_control/{what}")))
        .json(&body)
        .send()
        .unwrap();
    assert!(r.status().is_success(), "{what}: {}", r.status());
    r.json().unwrap()
}

/// Connect, backfill 30 days, push, revoke: what every vendor must do.
fn end_to_end(db: &TestDb, vendor: &str, types: &[&str], pushed: &str) {
    // Garmin's incremental syncs fall due every second: were it polled on schedule,
    // it would be polled within the test.
    let (hub, key) = match vendor {
        "garmin" => start_with(db, &format!("{CONFIG}incremental_interval_secs = 1\n")),
        // Housekeeping every few seconds, renewing subscriptions that lapse within 31
        // days: the twin's, made for 30, are renewed at once.
        "oura" => start_with(
            db,
            &format!("{CONFIG}housekeeping_schedule = \"*/3 * * * * *\"\nrenew_subscriptions_days = 31\n"),
        ),
        _ => start(db),
    };
    let api = Api::new(&hub, Some(&key));
    if vendor == "garmin" {
        // Garmin pushes to the endpoint its developer portal holds for the app.
        let token = tributary::vendors::hook_token(
            "garmin",
            &secrecy::SecretString::from("tributary-sandbox-secret"),
        );
        let url = hub.url(&format!("/vendor-hooks/garmin?k={token}"));
        control(&hub, vendor, "endpoint", json!({ "url": url }));
    }
    connect_vendor(&hub, &key, "m-1", vendor, types, None);
    if vendor == "oura" {
        // Oura verifies the callback with a challenge carrying the app's token.
        let token = tributary::vendors::hook_token(
            "oura",
            &secrecy::SecretString::from("tributary-sandbox-secret"),
        );
        let get = |t: &str| {
            reqwest::blocking::get(hub.url(&format!(
                "/vendor-hooks/oura?verification_token={t}&challenge=c-42"
            )))
            .unwrap()
        };
        let ok = get(&token);
        assert_eq!(ok.status(), 200);
        assert_eq!(ok.json::<Value>().unwrap(), json!({"challenge": "c-42"}));
        assert_eq!(get("not-the-token").status(), 401);
        // The daily housekeeping renews the app's subscriptions before they lapse.
        let renewals = || {
            let calls: Value = hub.get("/sandbox/oura/_control/calls").json().unwrap();
            calls["calls"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|c| {
                    c["method"] == "PUT"
                        && c["path"]
                            .as_str()
                            .unwrap_or_default()
                            .starts_with("/v2/webhook/subscription/renew/")
                        && c["status"] == 200
                })
                .count()
        };
        assert!(
            eventually(60, || renewals() > 0),
            "no subscription was renewed"
        );
    }
    let connections = wait_until_backfilled(&api, vendor, types);
    let counts = eventually(60, || {
        types
            .iter()
            .all(|t| stored(db).get(*t).copied().unwrap_or(0) > 0)
    });
    assert!(
        counts,
        "{vendor}: some data type stored nothing: {:?} {connections}",
        stored(db)
    );

    // Pushed history (Garmin's backfill) arrives after the windows are done: wait
    // until nothing more comes.
    let mut last = stored(db);
    let settled = eventually(60, || {
        std::thread::sleep(std::time::Duration::from_secs(2));
        let now = stored(db);
        std::mem::replace(&mut last, now.clone()) == now
    });
    assert!(settled, "{vendor}: data kept arriving");
    if vendor == "garmin" {
        // Push-first: the scheduler's ticks fetched nothing Garmin did not announce.
        let calls: Value = hub.get("/sandbox/garmin/_control/calls").json().unwrap();
        let fetches: Vec<&Value> = calls["calls"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| {
                let path = c["path"].as_str().unwrap_or_default();
                !path.contains("/backfill/")
                    && !path.ends_with("/user/id")
                    && !path.contains("oauth")
            })
            .collect();
        assert!(fetches.is_empty(), "unannounced fetches: {fetches:?}");
    }

    // Served, valid, within the 30 days backfilled and never in the future.
    let resources = served(&hub, &key);
    assert_eq!(
        resources.len(),
        stored(db).values().sum::<usize>(),
        "{vendor}"
    );
    let now = chrono::Utc::now();
    for r in &resources {
        let start = r["effectiveDateTime"]
            .as_str()
            .or_else(|| r["effectivePeriod"]["start"].as_str())
            .unwrap();
        let start = chrono::DateTime::parse_from_rfc3339(start).unwrap();
        assert!(start <= now, "{vendor}: future data {start}");
        assert!(
            now - start.with_timezone(&chrono::Utc) < chrono::Duration::days(33),
            "{vendor}: {start} is older than the backfill"
        );
        assert_eq!(
            r["meta"]["source"],
            format!("urn:tributary:vendor:{vendor}")
        );
    }

    // Vendors that sign nothing: a notification sent anywhere but the URL the hub
    // gave (its token) is refused and changes nothing.
    if vendor == "withings" || vendor == "garmin" {
        let before = stored(db);
        let client = reqwest::blocking::Client::new();
        for (query, why) in [("", "k parameter is missing"), ("?k=00", "does not match")] {
            let r = client
                .post(hub.url(&format!("/vendor-hooks/{vendor}{query}")))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("userid=sandbox-user-1&appli=1&startdate=1&enddate=2")
                .send()
                .unwrap();
            assert_eq!(r.status(), 401, "{vendor} {query}");
            let text = r.text().unwrap();
            assert!(text.contains(why), "{vendor}: {text}");
        }
        assert_eq!(stored(db), before);
    }

    // A notification of the last two days: accepted, and the data is there soon.
    let before = stored(db).get(pushed).copied().unwrap_or(0);
    let start = (now - chrono::Duration::days(2)).to_rfc3339();
    let sent = control(
        &hub,
        vendor,
        "push",
        json!({"user": "sandbox-user-1", "data_types": [pushed], "start": start}),
    );
    let statuses: Vec<u64> = sent["pushes"]
        .as_array()
        .map(|a| a.iter().filter_map(|p| p["status"].as_u64()).collect())
        .unwrap_or_default();
    assert!(
        !statuses.is_empty() && statuses.iter().all(|s| *s == 200),
        "{vendor}: {sent}"
    );
    let metrics = || {
        reqwest::blocking::get(hub.url("/metrics"))
            .unwrap()
            .text()
            .unwrap()
    };
    let accepted =
        format!("tributary_vendor_pushes_total{{outcome=\"accepted\",vendor=\"{vendor}\"}}");
    assert!(
        eventually(30, || metrics().contains(&accepted)),
        "{vendor}: {}",
        metrics()
    );
    assert!(eventually(30, || stored(db)
        .get(pushed)
        .copied()
        .unwrap_or(0)
        >= before));

    // Revocation: the connection ends, its jobs do nothing more.
    let (status, body) = api.call(
        "DELETE",
        &format!("/v1/members/m-1/connections/{vendor}"),
        None,
    );
    assert!(status == 200 || status == 204, "{vendor}: {status} {body}");
    let after = api.call("GET", "/v1/members/m-1/connections", None).1;
    let c = after["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["vendor"] == vendor)
        .unwrap()
        .clone();
    assert_eq!(c["status"], "revoked", "{after}");
    // The member's data from the vendor is gone at once (one member per test).
    assert!(stored(db).is_empty(), "{vendor}: {:?}", stored(db));
    // The grant is withdrawn at vendors that have a call for it, in their dialect:
    // Oura's access token in the query, Garmin's registration deleted, Withings'
    // signed `action=revoke` naming the account (after a nonce). Dexcom has no
    // such call (see docs/SECURITY.md).
    let withdrawal = match vendor {
        "oura" => Some(("POST", "/oauth/revoke")),
        "withings" => Some(("POST", "/v2/oauth2")),
        "garmin" => Some(("DELETE", "/wellness-api/rest/user/registration")),
        _ => None,
    };
    if let Some((method, path)) = withdrawal {
        assert!(
            eventually(30, || sandbox_calls(&hub, vendor).iter().any(|c| c
                ["method"]
                == method
                && c["path"] == path
                && c["status"]
                    .as_u64()
                    .is_some_and(|s| (200..300).contains(&s))
                && !c["sandbox_user"].is_null())),
            "{vendor}: no withdrawal: {:?}",
            sandbox_calls(&hub, vendor)
        );
    }
    let calls_then = sandbox_calls(&hub, vendor).len();
    std::thread::sleep(std::time::Duration::from_secs(2));
    // The app's own calls (renewing its webhook subscriptions) name no member.
    let data_calls: Vec<Value> = sandbox_calls(&hub, vendor)[calls_then..]
        .iter()
        .filter(|c| !c["sandbox_user"].is_null())
        .cloned()
        .collect();
    assert!(
        data_calls.is_empty(),
        "{vendor}: calls after revocation: {data_calls:?}"
    );
}

on_both_backends! {
    fn withings_connects_backfills_is_notified_and_revoked(db: TestDb) {
        end_to_end(&db, "withings", &["body_measures", "activity", "sleep_summary"], "body_measures");
    }

    fn garmin_connects_backfills_by_push_is_pushed_to_and_revoked(db: TestDb) {
        end_to_end(
            &db,
            "garmin",
            &["dailies", "sleeps", "body_compositions", "pulse_ox", "respiration", "hrv", "blood_pressures", "activities"],
            "dailies",
        );
    }

    fn oura_connects_backfills_is_notified_and_revoked(db: TestDb) {
        end_to_end(
            &db,
            "oura",
            &["daily_activity", "sleep", "heartrate", "daily_spo2", "temperature", "workout"],
            "sleep",
        );
    }

    fn dexcom_connects_backfills_and_is_revoked(db: TestDb) {
        end_to_end_polled(&db, "dexcom", &["egvs"]);
    }
}

/// For a vendor that never pushes: connect, backfill, revoke.
fn end_to_end_polled(db: &TestDb, vendor: &str, types: &[&str]) {
    let (hub, key) = start(db);
    let api = Api::new(&hub, Some(&key));
    connect_vendor(&hub, &key, "m-1", vendor, types, None);
    wait_until_backfilled(&api, vendor, types);
    let counts = stored(db);
    assert!(
        types
            .iter()
            .all(|t| counts.get(*t).copied().unwrap_or(0) > 0),
        "{counts:?}"
    );
    let resources = served(&hub, &key);
    assert_eq!(resources.len(), counts.values().sum::<usize>());
    if vendor == "dexcom" {
        // Each backfill window asked first where the member's readings lie.
        let ranges = sandbox_calls(&hub, vendor)
            .iter()
            .filter(|c| c["path"] == "/v3/users/self/dataRange" && c["status"] == 200)
            .count();
        assert!(ranges >= 3, "{ranges} dataRange calls for 3 windows");
    }
    let (status, _) = api.call(
        "DELETE",
        &format!("/v1/members/m-1/connections/{vendor}"),
        None,
    );
    assert!(status == 200 || status == 204);
}

on_both_backends! {
    fn withings_grants_are_withdrawn_by_account_even_after_erasure(db: TestDb) {
        withings_withdrawal(&db);
    }

    fn a_withings_account_connected_twice_keeps_its_grant_until_both_revoke(db: TestDb) {
        withings_shared_account(&db);
    }
}

/// Withings' revoke ends the account's grant to the app as a whole: while another
/// connection holds the same account through the same app, revoking one must not
/// end the other's grant at Withings. The last revocation withdraws it.
fn withings_shared_account(db: &TestDb) {
    let (hub, key) = start(db);
    let api = Api::new(&hub, Some(&key));
    connect_vendor(
        &hub,
        &key,
        "m-1",
        "withings",
        &["body_measures"],
        Some("shared"),
    );
    connect_vendor(
        &hub,
        &key,
        "m-2",
        "withings",
        &["body_measures"],
        Some("shared"),
    );
    let revoke = |member: &str| {
        let (status, _) = api.call(
            "DELETE",
            &format!("/v1/members/{member}/connections/withings"),
            None,
        );
        assert!(status == 200 || status == 204, "{status}");
    };
    let withdrawals = || {
        sandbox_calls(&hub, "withings")
            .iter()
            .filter(|c| c["path"] == "/v2/oauth2" && c["sandbox_user"] == "shared")
            .count()
    };
    let jobs_done = || {
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        use diesel::RunQueryDsl;
        let mut conn = db.raw_conn();
        diesel::sql_query(
            "SELECT count(*) AS n FROM jobs WHERE kind = 'vendor_revoke' AND state = 'done'",
        )
        .get_result::<N>(&mut conn)
        .unwrap()
        .n
    };
    revoke("m-1");
    assert!(
        eventually(30, || jobs_done() == 1),
        "the first withdrawal job did not end"
    );
    assert_eq!(
        withdrawals(),
        0,
        "m-2's live grant was withdrawn at Withings"
    );
    // m-2's grant still works at Withings: a manual sync goes through and the
    // connection stays active (a dead grant would end in reauth_required).
    let m2 = || {
        let (_, body) = api.call("GET", "/v1/members/m-2/connections", None);
        body["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["vendor"] == "withings")
            .unwrap()
            .clone()
    };
    let before = m2()["last_sync_at"].clone();
    let (status, body) = api.call("POST", "/v1/members/m-2/connections/withings/sync", None);
    assert_eq!(status, 202, "{body}");
    assert!(
        eventually(30, || m2()["last_sync_at"] != before),
        "no sync of m-2 ended: {}",
        m2()
    );
    assert_eq!(m2()["status"], "active", "{}", m2());
    revoke("m-2");
    assert!(
        eventually(30, || withdrawals() == 1),
        "the last revocation did not withdraw the grant: {:?}",
        sandbox_calls(&hub, "withings")
    );
}

/// Withings' revocation names the member's account, not a token. Erasure destroys
/// the member's key in its own transaction, so the job must carry the account id
/// itself; a grant whose id was never kept (connected before the hub kept it)
/// fails, naming why, and the vendor is not called for it.
fn withings_withdrawal(db: &TestDb) {
    #[derive(diesel::QueryableByName)]
    struct JobRow {
        #[diesel(sql_type = diesel::sql_types::Text)]
        state: String,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        last_error: Option<String>,
        #[diesel(sql_type = diesel::sql_types::Text)]
        payload: String,
    }
    use diesel::RunQueryDsl;
    let (hub, key) = start(db);
    let api = Api::new(&hub, Some(&key));
    connect_vendor(
        &hub,
        &key,
        "m-1",
        "withings",
        &["body_measures"],
        Some("wuser-1"),
    );
    connect_vendor(
        &hub,
        &key,
        "m-2",
        "withings",
        &["body_measures"],
        Some("wuser-2"),
    );
    // m-2's connection (the newer) loses its account id, as one made before.
    let (pool, _) = db.open(&test_master_key());
    let mut conn = pool.conn().unwrap();
    let lost = diesel::sql_query(
        "UPDATE connection_tokens SET vendor_user_sealed = NULL WHERE connection_id = \
         (SELECT id FROM connections ORDER BY created_at DESC LIMIT 1)",
    )
    .execute(&mut conn)
    .unwrap();
    assert_eq!(lost, 1);
    drop(conn);

    assert_eq!(api.call("DELETE", "/v1/members/m-1", None).0, 200);
    let (status, _) = api.call("DELETE", "/v1/members/m-2/connections/withings", None);
    assert!(status == 200 || status == 204, "{status}");

    let revoked = |user: &str| {
        sandbox_calls(&hub, "withings").iter().any(|c| {
            c["method"] == "POST" && c["path"] == "/v2/oauth2" && c["sandbox_user"] == user
        })
    };
    assert!(
        eventually(30, || revoked("wuser-1")),
        "no signed revocation for the erased member: {:?}",
        sandbox_calls(&hub, "withings")
    );
    let jobs = || {
        let mut conn = db.raw_conn();
        diesel::sql_query(
            "SELECT state, last_error, payload FROM jobs WHERE kind = 'vendor_revoke' ORDER BY created_at",
        )
        .load::<JobRow>(&mut conn)
        .unwrap()
    };
    assert!(
        eventually(30, || jobs()
            .iter()
            .all(|j| j.state == "done" || j.state == "failed")),
        "{:?}",
        jobs()
            .iter()
            .map(|j| (&j.state, &j.last_error))
            .collect::<Vec<_>>()
    );
    let jobs = jobs();
    assert_eq!(jobs.len(), 2);
    assert_eq!(jobs[0].state, "done");
    assert_eq!(jobs[1].state, "failed");
    let reason = jobs[1].last_error.as_deref().unwrap_or_default();
    assert!(reason.contains("account id"), "{reason}");
    assert!(!reason.contains("wuser"), "{reason}");
    // Neither payload still holds the sealed tokens or account.
    for j in &jobs {
        assert!(!j.payload.contains("access"), "{}", j.payload);
    }
    assert!(!revoked("wuser-2"));
    // The erased member's account id is nowhere in the database.
    assert!(
        raw_database_finds(db, &["jobs", "connection_tokens", "connections"], "wuser-1").is_empty()
    );
}
