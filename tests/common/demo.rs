//! A hub with a member connected to the sandbox's demo vendor through the real
//! consent page and OAuth flow, and the token context a sync would use.

use super::browser::Browser;
use super::*;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tributary::config::SandboxSettings;
use tributary::connect::oauth::http_client;
use tributary::connect::tokens::TokenContext;
use tributary::store::connections;
use tributary::vendors::Vendors;

/// A hub serving the API only (no sync workers, so nothing else uses the tokens;
/// sandbox tokens living `ttl` seconds) with alice connected to demo.
pub fn connected(db: &TestDb, ttl: u64) -> (Hub, String) {
    let cfg = db.write_config(&format!("[sandbox]\naccess_token_ttl_secs = {ttl}\n"));
    let hub = Hub::start_serving(
        db.path(),
        &db.env(),
        &["--config", cfg.to_str().unwrap()],
        &["--role", "api"],
    );
    let (_, key) = create_portal(db, "P");
    connect_alice(&hub, &key);
    (hub, key)
}

/// A hub with workers (`serve` with `serve_args`) and the given config, with alice
/// connected to demo (steps and heart_rate).
pub fn connected_with(db: &TestDb, config: &str, serve_args: &[&str]) -> (Hub, String) {
    let cfg = db.write_config(config);
    let hub = Hub::start_serving(
        db.path(),
        &db.env(),
        &["--config", cfg.to_str().unwrap()],
        serve_args,
    );
    let (_, key) = create_portal(db, "P");
    connect_alice(&hub, &key);
    (hub, key)
}

/// Create alice and connect her to demo (steps and heart_rate) through the consent
/// page and the sandbox's authorization page.
pub fn connect_alice(hub: &Hub, key: &str) {
    connect_member(hub, key, "alice", None);
}

/// Create a member and connect it to demo (steps and heart_rate) as `sandbox_user`
/// (the sandbox's default user when `None`): the consent page, then the sandbox's
/// authorization page.
pub fn connect_member(hub: &Hub, key: &str, user_key: &str, sandbox_user: Option<&str>) {
    let api = Api::new(hub, Some(key));
    assert_eq!(
        api.call("POST", "/v1/members", Some(json!({"user_key": user_key})))
            .0,
        201
    );
    let url = api
        .call(
            "POST",
            &format!("/v1/members/{user_key}/connect-sessions"),
            None,
        )
        .1["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let b = Browser::new();
    assert_eq!(b.get(&url).status, 303);
    let page = b.get(&hub.url("/connect"));
    let go = b.submit(
        &hub.url("/connect"),
        &page,
        "/connect/demo/authorize",
        Some(("data_type", &["steps", "heart_rate"])),
        None,
    );
    let authorize = go.location.unwrap();
    let approve = b.get(&authorize);
    let user = sandbox_user.map(|u| [u]);
    let back = b.submit(
        &authorize,
        &approve,
        "authorize",
        user.as_ref().map(|u| ("sandbox_user", &u[..])),
        Some(("decision", "approve")),
    );
    let done = b.get(&back.location.unwrap());
    assert_eq!(done.status, 303, "{}", done.body);
}

pub fn context(db: &TestDb, hub: &Hub) -> (TokenContext, connections::Connection) {
    let (pool, ring) = db.open(&test_master_key());
    let settings = SandboxSettings {
        enabled: true,
        url: None,
        access_token_ttl: Duration::from_secs(3600),
    };
    let vendors = Arc::new(Vendors::new(
        url::Url::parse(&hub.url("/")).unwrap(),
        &settings,
    ));
    let mut conn = pool.conn().unwrap();
    let id: String = {
        use diesel::prelude::*;
        use tributary::db::schema::connections::dsl;
        dsl::connections.select(dsl::id).first(&mut conn).unwrap()
    };
    let connection = connections::get(&mut conn, &id).unwrap();
    (
        TokenContext {
            db: pool,
            ring,
            vendors,
            http: http_client().unwrap(),
        },
        connection,
    )
}

/// How many records the sandbox's demo API serves for `data_type` with start in
/// `[from, until)` (RFC 3339), read page by page with `token`: a sync's ground truth.
/// `base` is where the sandbox is served (`…/sandbox` is appended).
pub fn sandbox_records(base: &str, token: &str, data_type: &str, from: &str, until: &str) -> usize {
    let client = reqwest::blocking::Client::new();
    let mut cursor: Option<String> = None;
    let mut n = 0;
    loop {
        let mut q = vec![
            ("start", from.to_owned()),
            ("end", until.to_owned()),
            ("limit", "1000".to_owned()),
        ];
        if let Some(c) = &cursor {
            q.push(("cursor", c.clone()));
        }
        let page: serde_json::Value = client
            .get(format!(
                "{}/sandbox/demo/api/v1/{data_type}",
                base.trim_end_matches('/')
            ))
            .query(&q)
            .bearer_auth(token)
            .send()
            .unwrap()
            .json()
            .unwrap();
        n += page["data"].as_array().unwrap().len();
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return n,
        }
    }
}
