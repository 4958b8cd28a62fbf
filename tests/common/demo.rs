//! A hub with a member connected to the sandbox's demo vendor through the real
//! consent page and OAuth flow, and the token context a sync would use.

use super::browser::Browser;
use super::*;
use diesel::prelude::*;
use serde_json::json;
use std::collections::BTreeMap;
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
    connect_vendor(
        hub,
        key,
        user_key,
        "demo",
        &["steps", "heart_rate"],
        sandbox_user,
    );
}

/// Create a member and connect it to `vendor` with `data_types` through the consent
/// page and the sandbox's authorization page (every scope it offers left ticked).
/// Returns the member's browser, still on its consent-page session.
pub fn connect_vendor(
    hub: &Hub,
    key: &str,
    user_key: &str,
    vendor: &str,
    data_types: &[&str],
    sandbox_user: Option<&str>,
) -> Browser {
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
        &format!("/connect/{vendor}/authorize"),
        Some(("data_type", data_types)),
        None,
    );
    let authorize = go
        .location
        .unwrap_or_else(|| panic!("no redirect: {}", go.body));
    let approve = b.get(&authorize);
    let user = sandbox_user.map(|u| [u]);
    let back = b.submit(
        &authorize,
        &approve,
        "authorize",
        user.as_ref().map(|u| ("sandbox_user", &u[..])),
        Some(("decision", "approve")),
    );
    let back = back
        .location
        .unwrap_or_else(|| panic!("not approved: {}", back.body));
    let done = b.get(&back);
    assert_eq!(done.status, 303, "{}", done.body);
    b
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

/// Stored observations per (connection, data type).
pub fn stored_by_connection(db: &TestDb) -> BTreeMap<(String, String), usize> {
    let mut conn = db.raw_conn();
    use tributary::db::schema::{connections, observations};
    let rows: Vec<(String, String)> = observations::table
        .inner_join(connections::table.on(connections::member_id.eq(observations::member_id)))
        .select((connections::id, observations::data_type))
        .load(&mut conn)
        .unwrap();
    let mut out = BTreeMap::new();
    for r in rows {
        *out.entry(r).or_default() += 1;
    }
    out
}

/// What the sandbox serves per connection (all, or `only`) and data type over each
/// data type's synced span, read from its data API with the connection's own token.
pub fn truth_by_connection(
    db: &TestDb,
    sandbox_url: &str,
    only: Option<&str>,
) -> BTreeMap<(String, String), usize> {
    let (pool, ring) = db.open(&test_master_key());
    let settings = SandboxSettings {
        enabled: true,
        url: Some(url::Url::parse(sandbox_url).unwrap()),
        access_token_ttl: Duration::from_secs(3600),
    };
    let vendors = Arc::new(Vendors::new(
        url::Url::parse("http://127.0.0.1:1/").unwrap(),
        &settings,
    ));
    let tokens = TokenContext {
        db: pool.clone(),
        ring,
        vendors,
        http: http_client().unwrap(),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut conn = pool.conn().unwrap();
    let states: Vec<(
        String,
        String,
        chrono::NaiveDateTime,
        Option<chrono::NaiveDateTime>,
    )> = {
        use tributary::db::schema::sync_state::dsl;
        dsl::sync_state
            .select((
                dsl::connection_id,
                dsl::data_type,
                dsl::backfill_from,
                dsl::fetched_until,
            ))
            .load(&mut conn)
            .unwrap()
    };
    let mut out = BTreeMap::new();
    for (connection, data_type, from, until) in states {
        if only.is_some_and(|o| o != connection) {
            continue;
        }
        let token = rt
            .block_on(tokens.access_token(&connection, false))
            .unwrap();
        let token = secrecy::ExposeSecret::expose_secret(&token).to_owned();
        let time = |t: chrono::NaiveDateTime| {
            t.and_utc()
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
        };
        let n = sandbox_records(
            sandbox_url,
            &token,
            &data_type,
            &time(from),
            &time(until.unwrap()),
        );
        out.insert((connection, data_type), n);
    }
    out
}
