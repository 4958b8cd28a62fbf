//! The connect flow over real HTTP against the sandbox: one-time links, the consent
//! page, OAuth with PKCE, the callback, data-type choices, disconnect, and every
//! failure ending on its page with nothing stored.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::browser::{Browser, Page};
use common::*;
use diesel::prelude::*;
use serde_json::json;

/// A hub with a portal and one member: `(hub, api key, db)`.
fn setup(db: &TestDb, config: &str) -> (Hub, String) {
    let (_, key) = create_portal(db, "Example Clinic");
    let cfg = db.write_config(config);
    let hub = Hub::start_with(db.path(), &db.env(), &["--config", cfg.to_str().unwrap()]);
    let api = Api::new(&hub, Some(&key));
    assert_eq!(
        api.call("POST", "/v1/members", Some(json!({"user_key": "alice"})))
            .0,
        201
    );
    (hub, key)
}

fn link(hub: &Hub, key: &str, body: Option<serde_json::Value>) -> String {
    let (s, v) = Api::new(hub, Some(key)).call("POST", "/v1/members/alice/connect-sessions", body);
    assert_eq!(s, 201, "{v}");
    v["url"].as_str().unwrap().to_owned()
}

/// Open the link: a 303 to /connect with the page cookie, then the page.
fn open(browser: &Browser, hub: &Hub, url: &str) -> Page {
    let first = browser.get(url);
    assert_eq!(first.status, 303, "{}", first.body);
    assert_eq!(first.location.as_deref(), Some("/connect"));
    let set_cookie = first.headers["set-cookie"].to_str().unwrap();
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"),
        "{set_cookie}"
    );
    let page = browser.get(&hub.url("/connect"));
    assert_eq!(page.status, 200, "{}", page.body);
    page
}

/// Tick exactly `types` for `vendor` and press Connect: the 303 to the vendor.
fn start(browser: &Browser, hub: &Hub, page: &Page, vendor: &str, types: &[&str]) -> String {
    let res = browser.submit(
        &hub.url("/connect"),
        page,
        &format!("/connect/{vendor}/"),
        Some(("data_type", types)),
        None,
    );
    assert_eq!(res.status, 303, "{}", res.body);
    res.location.unwrap()
}

/// At the sandbox's page: press `decision`, with only `scopes` ticked when given.
/// Returns the callback URL the sandbox redirects to.
fn decide(
    browser: &Browser,
    authorize_url: &str,
    decision: &str,
    scopes: Option<&[&str]>,
) -> String {
    let page = browser.get(authorize_url);
    assert_eq!(page.status, 200, "{}", page.body);
    let res = browser.submit(
        authorize_url,
        &page,
        "authorize",
        scopes.map(|s| ("scope", s)),
        Some(("decision", decision)),
    );
    assert_eq!(res.status, 302, "{}", res.body);
    res.location.unwrap()
}

fn connections(hub: &Hub, key: &str) -> serde_json::Value {
    let (s, v) = Api::new(hub, Some(key)).call("GET", "/v1/members/alice/connections", None);
    assert_eq!(s, 200);
    v["data"].clone()
}

fn count(db: &TestDb, table: &str) -> i64 {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = db.raw_conn();
    diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}"))
        .get_result::<N>(&mut conn)
        .unwrap()
        .n
}

fn sandbox_calls(hub: &Hub) -> Vec<serde_json::Value> {
    let v: serde_json::Value = hub.get("/sandbox/demo/_control/calls").json().unwrap();
    v["calls"].as_array().unwrap().clone()
}

on_both_backends! {
    fn a_member_connects_with_the_types_ticked_and_disconnects(db: TestDb) {
        let (hub, key) = setup(&db, "");
        let browser = Browser::new();
        let url = link(&hub, &key, Some(json!({"return_url": "https://portal.example.com/done"})));
        assert!(url.starts_with(&hub.url("/connect/")), "{url}");
        let token = url.rsplit('/').next().unwrap();
        assert!(token.len() >= 43, "a link token of at least 256 bits, base64url");

        let page = open(&browser, &hub, &url);
        let csp = page.headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'none'") && !csp.contains("script-src"), "{csp}");
        assert!(csp.contains("form-action 'self'"), "{csp}");
        assert!(page.body.contains("Example Clinic"));
        assert!(page.body.contains("Demo Health"));
        assert!(page.body.contains("<label for=\"dt-demo-steps\">"), "checkboxes have labels");
        assert!(page.body.contains("href=\"https://portal.example.com/done\""));

        let authorize = start(&browser, &hub, &page, "demo", &["steps", "body_weight"]);
        assert!(authorize.starts_with(&hub.url("/sandbox/demo/oauth/authorize?")), "{authorize}");
        let q: std::collections::HashMap<String, String> = url::Url::parse(&authorize).unwrap().query_pairs().into_owned().collect();
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["redirect_uri"], hub.url("/oauth/demo/callback"));
        assert!(q["state"].len() >= 43);
        let scopes: Vec<&str> = q["scope"].split(' ').collect();
        assert_eq!(scopes, ["activity", "body"], "only the ticked types' scopes are asked for");

        let callback = decide(&browser, &authorize, "approve", None);
        assert!(callback.starts_with(&hub.url("/oauth/demo/callback?")), "{callback}");
        let done = browser.get(&callback);
        assert_eq!(done.status, 303, "{}", done.body);
        let (_, page) = browser.follow(&hub.url("/"), &done);
        assert_eq!(page.status, 200);
        assert!(page.body.contains("Connected to Demo Health"), "{}", page.body);
        assert!(page.body.contains("id=\"disconnect-demo\""));

        let list = connections(&hub, &key);
        assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
        assert_eq!(list[0]["vendor"], "demo");
        assert_eq!(list[0]["status"], "active");
        assert_eq!(list[0]["data_types"], json!(["steps", "body_weight"]));
        assert_eq!(list[0]["scopes"], json!(["activity", "body"]));
        let member = Api::new(&hub, Some(&key)).call("GET", "/v1/members/alice", None).1;
        assert_eq!(member["connections"][0]["status"], "active");
        assert!(sandbox_calls(&hub).iter().any(|c| c["path"] == "/oauth/token" && c["status"] == 200));
        assert_eq!(count(&db, "connection_tokens"), 1);
        assert_eq!(count(&db, "oauth_states"), 0, "the state was used up");

        // The link worked once.
        let again = Browser::new().get(&url);
        assert_eq!(again.status, 410, "{}", again.body);

        // Narrow to steps only: no new authorization needed.
        let res = browser.submit(&hub.url("/connect"), &page, "/connect/demo/update", Some(("data_type", &["steps"])), None);
        assert_eq!(res.status, 303, "{}", res.body);
        assert_eq!(connections(&hub, &key)[0]["data_types"], json!(["steps"]));
        // Widening to heart rate needs a scope not granted: back to the vendor.
        let (_, page) = browser.follow(&hub.url("/"), &res);
        let res = browser.submit(&hub.url("/connect"), &page, "/connect/demo/update", Some(("data_type", &["steps", "heart_rate"])), None);
        assert_eq!(res.status, 303);
        assert!(res.location.unwrap().contains("/sandbox/demo/oauth/authorize?"));

        // Disconnect: tokens gone, shown as disconnected, and the grant withdrawn at
        // the vendor by a worker's job.
        let page = browser.get(&hub.url("/connect"));
        let res = browser.submit(&hub.url("/connect"), &page, "/connect/demo/disconnect", None, None);
        assert_eq!(res.status, 303, "{}", res.body);
        let (_, page) = browser.follow(&hub.url("/"), &res);
        assert!(page.body.contains("Disconnected from Demo Health"));
        assert_eq!(connections(&hub, &key)[0]["status"], "revoked");
        assert_eq!(count(&db, "connection_tokens"), 0);
        assert!(eventually(30, || sandbox_calls(&hub).iter().any(|c| c["path"] == "/oauth/revoke")));

        // Member actions are audited as the page session, with no User Key.
        let audit = Api::new(&hub, Some(&key)).call("GET", "/v1/audit-events?limit=500", None).1;
        let actions: Vec<&str> = audit["data"].as_array().unwrap().iter()
            .filter(|e| e["actor_type"] == "member_session")
            .map(|e| e["action"].as_str().unwrap()).collect();
        assert_eq!(actions, ["connection.create", "connection.update", "connection.revoke"]);
        assert!(!hub.logs().contains("alice"), "a User Key in the log");
        assert!(!hub.logs().contains(token), "the link token in the log");
    }

    fn fewer_scopes_granted_enable_fewer_types(db: TestDb) {
        let (hub, key) = setup(&db, "");
        let browser = Browser::new();
        let page = open(&browser, &hub, &link(&hub, &key, None));
        let authorize = start(&browser, &hub, &page, "demo", &["steps", "heart_rate", "body_weight"]);
        let callback = decide(&browser, &authorize, "approve", Some(&["activity", "heartrate"]));
        let done = browser.get(&callback);
        let (_, page) = browser.follow(&hub.url("/"), &done);
        let list = connections(&hub, &key);
        assert_eq!(list[0]["data_types"], json!(["steps", "heart_rate"]));
        assert_eq!(list[0]["not_granted"], json!(["body_weight"]));
        assert!(page.body.contains("id=\"not-granted-demo\""), "{}", page.body);
        assert!(page.body.contains("Body weight"));
    }

    fn every_failure_ends_on_its_page_and_stores_nothing(db: TestDb) {
        let (hub, key) = setup(&db, "[connect]\nlink_ttl_secs = 2\n");
        let nothing_stored = || {
            assert_eq!(count(&db, "connections"), 0);
            assert_eq!(count(&db, "connection_tokens"), 0);
            assert_eq!(count(&db, "consent_events"), 0);
        };

        // Deny at the vendor.
        let browser = Browser::new();
        let page = open(&browser, &hub, &link(&hub, &key, None));
        let authorize = start(&browser, &hub, &page, "demo", &["steps"]);
        let callback = decide(&browser, &authorize, "deny", None);
        assert!(callback.contains("error=access_denied"));
        let res = browser.get(&callback);
        assert_eq!(res.status, 200);
        assert!(res.body.contains("You declined at Demo Health"), "{}", res.body);
        nothing_stored();

        // A replayed state: the callback URL of a denied attempt, again.
        let res = browser.get(&callback);
        assert_eq!(res.status, 400, "{}", res.body);
        // A forged state.
        let res = browser.get(&hub.url("/oauth/demo/callback?code=x&state=forged-state-value"));
        assert_eq!(res.status, 400);
        nothing_stored();

        // A wrong PKCE verifier: the challenge is swapped on the way to the vendor,
        // so the hub's verifier no longer matches and the sandbox refuses the code.
        let page = browser.get(&hub.url("/connect"));
        let authorize = start(&browser, &hub, &page, "demo", &["steps"]);
        let mut tampered = url::Url::parse(&authorize).unwrap();
        let pairs: Vec<(String, String)> = tampered.query_pairs().into_owned().map(|(k, v)| {
            if k == "code_challenge" { (k, "A".repeat(43)) } else { (k, v) }
        }).collect();
        tampered.query_pairs_mut().clear().extend_pairs(pairs);
        let callback = decide(&browser, tampered.as_str(), "approve", None);
        let res = browser.get(&callback);
        assert_eq!(res.status, 502, "{}", res.body);
        assert!(res.body.contains("did not accept"), "{}", res.body);
        assert!(sandbox_calls(&hub).iter().any(|c| c["path"] == "/oauth/token" && c["status"] == 400));
        nothing_stored();

        // The vendor down: its token endpoint answers 500 once.
        let fault = reqwest::blocking::Client::new()
            .post(hub.url("/sandbox/demo/_control/faults"))
            .json(&json!({"kind": "server_error", "endpoint": "token", "times": 1}))
            .send().unwrap();
        assert!(fault.status().is_success());
        let page = browser.get(&hub.url("/connect"));
        let authorize = start(&browser, &hub, &page, "demo", &["steps"]);
        let callback = decide(&browser, &authorize, "approve", None);
        let res = browser.get(&callback);
        assert_eq!(res.status, 503, "{}", res.body);
        assert!(res.body.contains("could not be reached"), "{}", res.body);
        nothing_stored();

        // A form without the page's CSRF token changes nothing.
        let res = browser.post(&hub.url("/connect/demo/authorize"), &[("data_type".into(), "steps".into()), ("csrf".into(), "x".into())]);
        assert_eq!(res.status, 403);
        assert_eq!(count(&db, "oauth_states"), 0, "every state was used up, none added");

        // Without the page cookie: the page is closed.
        assert_eq!(Browser::new().get(&hub.url("/connect")).status, 403);
        // An unknown link, a used link, an expired link.
        assert_eq!(Browser::new().get(&hub.url("/connect/not-a-real-token")).status, 404);
        let url = link(&hub, &key, None);
        std::thread::sleep(std::time::Duration::from_millis(2500));
        let res = Browser::new().get(&url);
        assert_eq!(res.status, 410, "{}", res.body);
        assert!(res.body.contains("expired"));
        nothing_stored();
    }

    fn connect_sessions_are_per_portal_and_strict(db: TestDb) {
        let (hub, key) = setup(&db, "");
        let (_, other) = create_portal(&db, "Other");
        let b = Api::new(&hub, Some(&other));
        assert_eq!(b.call("POST", "/v1/members/alice/connect-sessions", None).0, 404);
        assert_eq!(b.call("GET", "/v1/members/alice/connections", None).0, 404);
        assert_eq!(b.call("DELETE", "/v1/members/alice/connections/demo", None).0, 404);
        let a = Api::new(&hub, Some(&key));
        for body in [
            json!({"vendors": ["fitbit"]}),
            json!({"data_types": ["Heart Rate"]}),
            json!({"return_url": "javascript:alert(1)"}),
            json!({"unknown": 1}),
        ] {
            let (s, v) = a.call("POST", "/v1/members/alice/connect-sessions", Some(body.clone()));
            assert_eq!(s, 422, "{body}: {v}");
        }
        assert_eq!(a.call("DELETE", "/v1/members/alice/connections/demo", None).0, 404);
        // No body, `{}` and `null` all mean "offer everything".
        for body in [None, Some(json!({})), Some(json!(null))] {
            let (s, v) = a.call("POST", "/v1/members/alice/connect-sessions", body.clone());
            assert_eq!(s, 201, "{body:?}: {v}");
        }

        // The offer limits what the page shows.
        let url = link(&hub, &key, Some(json!({"data_types": ["steps"]})));
        let page = open(&Browser::new(), &hub, &url);
        assert!(page.body.contains("dt-demo-steps"));
        assert!(!page.body.contains("dt-demo-heart_rate"));
        let res = Browser::new().get(&hub.url("/connect/demo/authorize"));
        assert_eq!(res.status, 405);
    }

    fn erasing_a_member_deletes_its_connections_and_tokens(db: TestDb) {
        let (hub, key) = setup(&db, "");
        let browser = Browser::new();
        let page = open(&browser, &hub, &link(&hub, &key, None));
        let authorize = start(&browser, &hub, &page, "demo", &["steps"]);
        let done = browser.get(&decide(&browser, &authorize, "approve", None));
        assert_eq!(done.status, 303);
        assert_eq!(count(&db, "connection_tokens"), 1);
        assert_eq!(Api::new(&hub, Some(&key)).call("DELETE", "/v1/members/alice", None).0, 200);
        for table in ["connections", "connection_tokens", "connect_sessions", "consent_events", "oauth_states"] {
            assert_eq!(count(&db, table), 0, "{table}");
        }
        assert_eq!(browser.get(&hub.url("/connect")).status, 403, "the page died with the member");
    }
}
