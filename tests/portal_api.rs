//! The portal API on both backends: tenant isolation, scopes, revocation, rate
//! limits, hostile input and the audit chain.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;
use serde_json::json;

/// Every `/v1` route with a placeholder for ids: (method, path, body).
fn routes(member: &str, app: &str) -> Vec<(&'static str, String, Option<serde_json::Value>)> {
    vec![
        ("POST", "/v1/members".into(), Some(json!({"user_key": "x"}))),
        ("GET", format!("/v1/members/{member}"), None),
        ("DELETE", format!("/v1/members/{member}"), None),
        (
            "POST",
            "/v1/vendor-apps".into(),
            Some(json!({"vendor": "demo", "client_id": "c", "client_secret": "s"})),
        ),
        ("GET", "/v1/vendor-apps".into(), None),
        ("GET", format!("/v1/vendor-apps/{app}"), None),
        ("DELETE", format!("/v1/vendor-apps/{app}"), None),
        ("GET", "/v1/audit-events".into(), None),
    ]
}

on_both_backends! {
    fn portals_never_see_each_other(db: TestDb) {
        let (_a, key_a) = create_portal(&db, "A");
        let (_b, key_b) = create_portal(&db, "B");
        let hub = Hub::start(db.path(), &db.env());
        let a = Api::new(&hub, Some(&key_a));
        let b = Api::new(&hub, Some(&key_b));

        let (s, bob) = b.call("POST", "/v1/members", Some(json!({"user_key": "bob"})));
        assert_eq!(s, 201);
        let (s, app) = b.call("POST", "/v1/vendor-apps", Some(json!({
            "vendor": "demo", "client_id": "b-client", "client_secret": "b-secret-value",
            "redirect_uri": "https://portal-b.example/cb", "scopes": ["activity"]
        })));
        assert_eq!(s, 201, "{app}");
        assert!(app.get("client_secret").is_none());
        let app_id = app["id"].as_str().unwrap().to_owned();

        // A asks for B's objects by every route: 404 (or, for lists, nothing of B's).
        for (method, path, body) in routes("bob", &app_id) {
            let (s, v) = a.call(method, &path, body);
            assert!(s < 500, "{method} {path}: {s}");
            assert!(!v.to_string().contains("b-client"), "{method} {path} leaked: {v}");
            assert!(!v.to_string().contains(bob["member_id"].as_str().unwrap()), "{method} {path} leaked: {v}");
            if path.contains("bob") || path.contains(&app_id) {
                assert_eq!(s, 404, "{method} {path}");
            }
        }
        // B's objects are intact after A's attempts.
        assert_eq!(b.call("GET", "/v1/members/bob", None).0, 200);
        assert_eq!(b.call("GET", &format!("/v1/vendor-apps/{app_id}"), None).0, 200);
        // The same User Key in two portals is two members.
        let (_, bob_a) = a.call("POST", "/v1/members", Some(json!({"user_key": "bob"})));
        assert_ne!(bob_a["member_id"], bob["member_id"]);

        // Without a key, or with a bad one, every route is 401.
        for key in [None, Some("trb_not-a-real-key"), Some("garbage")] {
            let anon = Api::new(&hub, key);
            for (method, path, body) in routes("bob", &app_id) {
                let (s, v) = anon.call(method, &path, body);
                assert_eq!(s, 401, "{method} {path} with {key:?}");
                assert_eq!(v["error"], "unauthorized");
            }
        }
    }

    fn scopes_are_enforced_and_revocation_is_immediate(db: TestDb) {
        let (portal, admin_key) = create_portal(&db, "P");
        let out = run(db.path(), &db.env(), &["portal", "key", "create", "--portal", &portal, "--scopes", "data:read"]);
        assert!(out.status.success());
        let created: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let reader_key = created["api_key"].as_str().unwrap().to_owned();
        let reader_id = created["api_key_id"].as_str().unwrap().to_owned();

        let hub = Hub::start(db.path(), &db.env());
        let reader = Api::new(&hub, Some(&reader_key));
        let admin = Api::new(&hub, Some(&admin_key));
        assert_eq!(admin.call("POST", "/v1/members", Some(json!({"user_key": "m"}))).0, 201);
        for (method, path, body) in routes("m", "00000000-0000-0000-0000-000000000000") {
            if path == "/v1/audit-events" {
                continue; // any key of the portal may read its own audit trail
            }
            let (s, v) = reader.call(method, &path, body);
            assert_eq!(s, 403, "{method} {path}");
            assert!(v["message"].as_str().unwrap().contains(':'), "scope not named: {v}");
        }
        // Each refusal is in the audit trail: the key, the route pattern (never the
        // User Key in the path), the missing scope, outcome `denied`.
        let (s, trail) = reader.call("GET", "/v1/audit-events?limit=500", None);
        assert_eq!(s, 200);
        let denied: Vec<_> = trail["data"].as_array().unwrap().iter().filter(|e| e["outcome"] == "denied").collect();
        assert_eq!(denied.len(), routes("m", "x").len() - 1, "{trail}");
        let get_member = denied.iter().find(|e| e["action"] == "GET /v1/members/{user_key}").unwrap();
        assert_eq!(get_member["actor_id"], reader_id.as_str());
        assert_eq!(get_member["target_type"], "scope");
        assert_eq!(get_member["target_id"], "members:write");
        assert!(get_member["request_id"].is_string());
        assert!(!trail.to_string().contains("\"m\""), "a User Key in the audit trail: {trail}");
        assert!(run(db.path(), &db.env(), &["audit", "verify"]).status.success());

        // Listing shows use, never secrets.
        let out = run(db.path(), &db.env(), &["portal", "key", "list", "--portal", &portal]);
        let listed = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(!listed.contains(&reader_key) && !listed.contains(&admin_key));
        let keys: serde_json::Value = serde_json::from_str(&listed).unwrap();
        let reader_row = keys["data"].as_array().unwrap().iter().find(|k| k["id"] == reader_id.as_str()).unwrap();
        assert!(reader_row["last_used_at"].is_string(), "{reader_row}");
        assert!(reader_row["prefix"].as_str().unwrap().starts_with("trb_"));

        let out = run(db.path(), &db.env(), &["portal", "key", "revoke", "--portal", &portal, &reader_id]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(reader.call("GET", "/v1/audit-events", None).0, 401);
        assert_eq!(admin.call("GET", "/v1/members/m", None).0, 200);
    }

    fn the_rate_limit_answers_429_with_retry_after(db: TestDb) {
        let (_p, key) = create_portal(&db, "P");
        let config = db.write_config("[api]\nrate_limit_per_second = 1\nrate_limit_burst = 3\n");
        let hub = Hub::start_with(db.path(), &db.env(), &["--config", config.to_str().unwrap()]);
        let api = Api::new(&hub, Some(&key));
        let statuses: Vec<u16> = (0..5).map(|_| api.call("GET", "/v1/audit-events", None).0).collect();
        assert_eq!(&statuses[..3], &[200, 200, 200]);
        let res = api.request("GET", "/v1/audit-events").send().unwrap();
        assert_eq!(res.status(), 429);
        let retry: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=2).contains(&retry), "{retry}");
        assert_eq!(res.json::<serde_json::Value>().unwrap()["error"], "rate_limited");
        // Another key is not slowed by this one.
        let (_q, other) = create_portal(&db, "Q");
        assert_eq!(Api::new(&hub, Some(&other)).call("GET", "/v1/audit-events", None).0, 200);
    }

    fn a_vendor_app_shows_where_its_vendor_notifies(db: TestDb) {
        let (_, key) = create_portal(&db, "P");
        let hub = Hub::start(db.path(), &db.env());
        let api = Api::new(&hub, Some(&key));
        let mut urls = std::collections::BTreeMap::new();
        for vendor in ["garmin", "oura", "dexcom"] {
            let (s, app) = api.call("POST", "/v1/vendor-apps", Some(json!({
                "vendor": vendor, "client_id": format!("{vendor}-client"), "client_secret": format!("{vendor}-secret")
            })));
            assert_eq!(s, 201, "{app}");
            let id = app["id"].as_str().unwrap();
            let (_, again) = api.call("GET", &format!("/v1/vendor-apps/{id}"), None);
            assert_eq!(again["notification_url"], app["notification_url"]);
            urls.insert(vendor, app["notification_url"].clone());
        }
        let listed = api.call("GET", "/v1/vendor-apps", None).1;
        assert_eq!(listed["data"].as_array().unwrap().len(), 3);
        assert!(listed["data"].as_array().unwrap().iter().all(|a| a.get("notification_url").is_some()));
        // Dexcom notifies of nothing; Oura signs its notifications, so no token.
        assert_eq!(urls["dexcom"], serde_json::Value::Null);
        assert_eq!(urls["oura"], json!(hub.url("/vendor-hooks/oura")));
        // Garmin signs nothing: the URL carries the app's token, and a notification
        // sent to it is accepted (for nobody known here) while one without it is not.
        let garmin = urls["garmin"].as_str().unwrap().to_owned();
        let (base, token) = garmin.split_once("?k=").unwrap();
        assert_eq!(base, hub.url("/vendor-hooks/garmin"));
        assert!(token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit()), "{token}");
        assert!(!garmin.contains("garmin-secret"));
        let client = reqwest::blocking::Client::new();
        let body = json!({"deregistrations": [{"userId": "someone-else"}]});
        let res = client.post(&garmin).json(&body).send().unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.json::<serde_json::Value>().unwrap()["queued"], 0);
        let res = client.post(base).json(&body).send().unwrap();
        assert_eq!(res.status(), 401);
        // The token is checked before the body is read: a body over the 16 MiB
        // limit is refused as unsigned without it, and as too large with it.
        let big = vec![b' '; 17 << 20];
        let res = client.post(base).body(big.clone()).send().unwrap();
        assert_eq!(res.status(), 401);
        let res = client.post(&garmin).body(big).send().unwrap();
        assert_eq!(res.status(), 413);
    }

    fn hostile_input_gets_4xx_and_leaves_data_intact(db: TestDb) {
        let (_p, key) = create_portal(&db, "P");
        let hub = Hub::start(db.path(), &db.env());
        let api = Api::new(&hub, Some(&key));
        let (_, alice) = api.call("POST", "/v1/members", Some(json!({"user_key": "alice"})));
        let raw = |body: Vec<u8>, ctype: &str| {
            let res = api.request("POST", "/v1/members").header("content-type", ctype).body(body).send().unwrap();
            let status = res.status().as_u16();
            let v: serde_json::Value = res.json().unwrap();
            assert!(v["error"].is_string() && v["message"].is_string(), "{v}");
            (status, v)
        };
        let json_ct = "application/json";
        assert_eq!(raw(b"{\"user_key\":".to_vec(), json_ct).0, 400);
        assert_eq!(raw(b"{\"user_key\":\"a\xff\xfe\"}".to_vec(), json_ct).0, 400);
        let deep = format!("{}{}", "[".repeat(20_000), "]".repeat(20_000));
        // Typed parsing stops at the first bracket (a list is not a member): no recursion.
        assert!(matches!(raw(deep.into_bytes(), json_ct).0, 400 | 422));
        let deep_inside = format!("{{\"user_key\":{}{}}}", "[".repeat(20_000), "]".repeat(20_000));
        assert!(matches!(raw(deep_inside.into_bytes(), json_ct).0, 400 | 422));
        let big = format!("{{\"user_key\":\"{}\"}}", "x".repeat(10 * 1024 * 1024));
        assert_eq!(raw(big.into_bytes(), json_ct).0, 413);
        assert_eq!(raw(b"user_key=a".to_vec(), "application/x-www-form-urlencoded").0, 415);
        assert_eq!(raw(br#"{"user_key":"a"}"#.to_vec(), "text/plain").0, 415);
        let (s, v) = raw(br#"{"user_key":"a","admin":true}"#.to_vec(), json_ct);
        assert_eq!(s, 422);
        assert!(v["message"].as_str().unwrap().contains("admin"), "{v}");
        for bad in ["", "x".repeat(129).as_str(), "a\u{0}b", "line\nbreak", "tab\there", "\u{7f}"] {
            let (s, v) = api.call("POST", "/v1/members", Some(json!({"user_key": bad})));
            assert_eq!(s, 422, "{bad:?}");
            assert!(v["message"].as_str().unwrap().contains("user_key"), "{v}");
        }
        assert_eq!(api.call("POST", "/v1/members", Some(json!({"user_key": "é".repeat(128)}))).0, 201);
        let (s, v) = api.call("POST", "/v1/members", Some(json!({"user_key": 42})));
        assert_eq!(s, 422);
        assert!(v["message"].as_str().unwrap().starts_with("user_key"), "{v}");
        assert_eq!(api.call("GET", &format!("/v1/members/{}", "x".repeat(129)), None).0, 422);
        // Bytes that do not decode to UTF-8 stay percent-encoded: a User Key nobody has.
        assert_eq!(api.call("GET", "/v1/members/%FF%FE", None).0, 404);
        assert_eq!(api.call("GET", "/v1/members/a%00b", None).0, 422);
        let (s, v) = api.call("POST", "/v1/vendor-apps", Some(json!({"vendor": "nope", "client_id": "c", "client_secret": "s"})));
        assert_eq!(s, 422);
        assert!(v["message"].as_str().unwrap().contains("demo"), "vendors not listed: {v}");
        for body in [
            json!({"vendor": "demo", "client_id": "", "client_secret": "s"}),
            json!({"vendor": "demo", "client_id": "c", "client_secret": "s", "redirect_uri": "javascript:alert(1)"}),
            json!({"vendor": "demo", "client_id": "c", "client_secret": "s", "scopes": ["a b"]}),
            json!({"vendor": "demo", "client_id": "c"}),
        ] {
            assert_eq!(api.call("POST", "/v1/vendor-apps", Some(body.clone())).0, 422, "{body}");
        }
        assert_eq!(api.call("GET", "/v1/audit-events?limit=0", None).0, 422);
        assert_eq!(api.call("GET", "/v1/audit-events?limit=abc", None).0, 422);
        assert_eq!(api.call("PATCH", "/v1/members", None).0, 405);
        let res = api.request("PUT", "/v1/members/alice").send().unwrap();
        assert_eq!(res.status(), 405);
        assert_eq!(res.headers()["allow"], "GET, DELETE");
        for body in [
            json!({"vendor": "demo", "client_id": "c", "client_secret": "s", "redirect_uri": "https://[::1]/cb"}),
            json!({"vendor": "demo", "client_id": "c", "client_secret": "s", "redirect_uri": "https://portal.example.com/cb#frag"}),
            json!({"vendor": "demo", "client_id": "c", "client_secret": "s", "scopes": ["quote\"d"]}),
        ] {
            assert_eq!(api.call("POST", "/v1/vendor-apps", Some(body.clone())).0, 422, "{body}");
        }

        // Nothing stored was changed, and nothing failed inside.
        let (s, still) = api.call("GET", "/v1/members/alice", None);
        assert_eq!(s, 200);
        assert_eq!(still, alice);
        let metrics = hub.get("/metrics").text().unwrap();
        assert!(!metrics.lines().any(|l| l.starts_with("tributary_http_requests_total") && l.contains("status=\"5")), "{metrics}");
        assert!(run(db.path(), &db.env(), &["audit", "verify"]).status.success());
    }

    fn erasing_a_member_destroys_its_key(db: TestDb) {
        let (_p, key) = create_portal(&db, "P");
        let hub = Hub::start(db.path(), &db.env());
        let api = Api::new(&hub, Some(&key));
        let (_, m) = api.call("POST", "/v1/members", Some(json!({"user_key": "gone"})));
        let (s, receipt) = api.call("DELETE", "/v1/members/gone", None);
        assert_eq!(s, 200);
        assert_eq!(receipt["member_id"], m["member_id"]);
        assert_eq!(api.call("GET", "/v1/members/gone", None).0, 404);
        assert_eq!(api.call("DELETE", "/v1/members/gone", None).0, 404);
        let (pool, _ring) = db.open(&test_master_key());
        use diesel::prelude::*;
        use tributary::db::schema::member_keys;
        let left: i64 = member_keys::table
            .filter(member_keys::member_id.eq(m["member_id"].as_str().unwrap()))
            .count()
            .get_result(&mut *pool.conn().unwrap())
            .unwrap();
        assert_eq!(left, 0);
    }

    fn audit_verify_names_an_altered_or_removed_entry(db: TestDb) {
        let (_p, key) = create_portal(&db, "P");
        let hub = Hub::start(db.path(), &db.env());
        let api = Api::new(&hub, Some(&key));
        for i in 0..4 {
            api.call("POST", "/v1/members", Some(json!({"user_key": format!("m{i}")})));
        }
        let (_, events) = api.call("GET", "/v1/audit-events", None);
        let events = events["data"].as_array().unwrap().clone();
        assert_eq!(events.len(), 6, "portal.create, api_key.create, 4 × member.create");
        assert!(events.iter().all(|e| !e.to_string().contains("\"m1\"")), "a User Key in the audit log");
        assert!(events[2]["request_id"].is_string());

        let verify = || run(db.path(), &db.env(), &["audit", "verify"]);
        let ok = verify();
        assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
        assert!(String::from_utf8_lossy(&ok.stdout).contains("\"verified_entries\": 6"));

        use diesel::prelude::*;
        use tributary::db::schema::audit_events;
        let mut conn = db.raw_conn();
        diesel::update(audit_events::table.find(4i64))
            .set(audit_events::action.eq("member.erase"))
            .execute(&mut conn)
            .unwrap();
        let broken = verify();
        assert_eq!(broken.status.code(), Some(1));
        let err = String::from_utf8_lossy(&broken.stderr);
        assert!(err.contains("entry 4") && err.contains("altered"), "{err}");

        diesel::update(audit_events::table.find(4i64))
            .set(audit_events::action.eq("member.create"))
            .execute(&mut conn)
            .unwrap();
        assert!(verify().status.success());
        diesel::delete(audit_events::table.find(3i64)).execute(&mut conn).unwrap();
        let err = String::from_utf8_lossy(&verify().stderr).into_owned();
        assert!(err.contains("entry 3") && err.contains("missing"), "{err}");
        diesel::delete(audit_events::table.filter(audit_events::seq.ge(3i64))).execute(&mut conn).unwrap();
        let err = String::from_utf8_lossy(&verify().stderr).into_owned();
        assert!(err.contains("entry 3") && err.contains("missing"), "removing the tail must show: {err}");
    }
}
