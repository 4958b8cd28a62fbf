//! The token lifecycle against the sandbox: refresh before expiry, rotation (the old
//! refresh token is refused afterwards), one refresh for concurrent callers, a grant
//! revoked at the vendor ending in `reauth_required`, and tokens never in clear in
//! the database.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::browser::Browser;
use common::demo::{connected, context};
use common::*;
use serde_json::json;
use tributary::connect::tokens::{TokenContext, TokenError};
use tributary::store::connections;

fn stored(ctx: &TokenContext, c: &connections::Connection) -> (connections::Tokens, i64) {
    let mut conn = ctx.db.conn().unwrap();
    connections::tokens(&mut conn, &ctx.ring, c)
        .unwrap()
        .unwrap()
}

fn refresh_calls(hub: &Hub) -> usize {
    let v: serde_json::Value = hub.get("/sandbox/demo/_control/calls").json().unwrap();
    v["calls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["grant_type"] == "refresh_token")
        .count()
}

fn expose(s: &secrecy::SecretString) -> String {
    secrecy::ExposeSecret::expose_secret(s).to_owned()
}

on_both_backends! {
    fn refresh_rotates_and_concurrent_callers_share_one_refresh(db: TestDb) {
        let (hub, key) = connected(&db, 3600);
        let (ctx, connection) = context(&db, &hub);
        let rt = tokio::runtime::Runtime::new().unwrap();
        let (before, generation) = stored(&ctx, &connection);
        let old_refresh = expose(before.refresh.as_ref().unwrap());

        // A fresh token is used as it is.
        let token = rt.block_on(ctx.access_token(&connection.id, false)).unwrap();
        assert_eq!(expose(&token), expose(&before.access));
        assert_eq!(refresh_calls(&hub), 0);

        // Two callers that both need a refresh at once: one refresh, one result.
        let (a, b) = rt.block_on(async {
            let (c1, c2) = (ctx.clone(), ctx.clone());
            let (i1, i2) = (connection.id.clone(), connection.id.clone());
            let t1 = tokio::spawn(async move { c1.access_token(&i1, true).await });
            let t2 = tokio::spawn(async move { c2.access_token(&i2, true).await });
            (t1.await.unwrap().unwrap(), t2.await.unwrap().unwrap())
        });
        assert_eq!(expose(&a), expose(&b));
        assert_ne!(expose(&a), expose(&before.access));
        assert_eq!(refresh_calls(&hub), 1, "exactly one refresh reached the vendor");
        let (after, new_generation) = stored(&ctx, &connection);
        assert_eq!(new_generation, generation + 1);
        assert_eq!(expose(&after.access), expose(&a), "the new token was stored before use");
        assert_ne!(expose(after.refresh.as_ref().unwrap()), old_refresh, "rotated");

        // The old refresh token no longer works at the vendor.
        let res = reqwest::blocking::Client::new()
            .post(hub.url("/sandbox/demo/oauth/token"))
            .basic_auth("tributary-sandbox", Some("tributary-sandbox-secret"))
            .form(&[("grant_type", "refresh_token"), ("refresh_token", old_refresh.as_str())])
            .send()
            .unwrap();
        assert_eq!(res.status(), 400);
        assert_eq!(res.json::<serde_json::Value>().unwrap()["error"], "invalid_grant");

        let list = Api::new(&hub, Some(&key)).call("GET", "/v1/members/alice/connections", None).1;
        assert_eq!(list["data"][0]["status"], "active");
    }

    fn a_token_about_to_expire_is_refreshed_first(db: TestDb) {
        // Sandbox tokens live 30 s, inside the one-minute early-refresh margin.
        let (hub, _) = connected(&db, 30);
        let (ctx, connection) = context(&db, &hub);
        let rt = tokio::runtime::Runtime::new().unwrap();
        let (before, _) = stored(&ctx, &connection);
        let token = rt.block_on(ctx.access_token(&connection.id, false)).unwrap();
        assert_ne!(expose(&token), expose(&before.access));
        assert_eq!(refresh_calls(&hub), 1);
    }

    fn a_grant_revoked_at_the_vendor_ends_in_reauth_required(db: TestDb) {
        let (hub, key) = connected(&db, 3600);
        let (ctx, connection) = context(&db, &hub);
        let rt = tokio::runtime::Runtime::new().unwrap();
        let res = reqwest::blocking::Client::new()
            .post(hub.url("/sandbox/demo/_control/faults"))
            .json(&json!({"kind": "revoke_tokens"}))
            .send()
            .unwrap();
        assert_eq!(res.status(), 200);
        let err = rt.block_on(ctx.access_token(&connection.id, true)).unwrap_err();
        assert!(matches!(err, TokenError::ReauthRequired), "{err}");
        let api = Api::new(&hub, Some(&key));
        let list = api.call("GET", "/v1/members/alice/connections", None).1;
        assert_eq!(list["data"][0]["status"], "reauth_required");
        assert!(stored_none(&ctx, &connection), "dead tokens are deleted");

        // The consent page offers to reconnect.
        let url = api.call("POST", "/v1/members/alice/connect-sessions", None).1["url"].as_str().unwrap().to_owned();
        let b = Browser::new();
        b.get(&url);
        let page = b.get(&hub.url("/connect"));
        assert!(page.body.contains("Reconnect Demo Health"), "{}", page.body);
        assert!(page.body.contains("stopped accepting"));
    }

    fn a_grant_is_refreshed_with_the_client_it_was_issued_to(db: TestDb) {
        // alice connected through the sandbox's built-in client; the portal then
        // registers its own app for the vendor. Her tokens belong to the first
        // client: the refresh must use it, or the vendor refuses the grant.
        let (hub, key) = connected(&db, 3600);
        let (ctx, connection) = context(&db, &hub);
        assert_eq!(connection.vendor_app_id, None);
        let api = Api::new(&hub, Some(&key));
        let (s, _) = api.call("POST", "/v1/vendor-apps", Some(json!({
            "vendor": "demo", "client_id": "portal-own-client", "client_secret": "portal-own-secret"
        })));
        assert_eq!(s, 201);
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(ctx.access_token(&connection.id, true)).unwrap();
        assert_eq!(refresh_calls(&hub), 1);
        let list = api.call("GET", "/v1/members/alice/connections", None).1;
        assert_eq!(list["data"][0]["status"], "active");
    }

    fn tokens_are_not_readable_in_the_database(db: TestDb) {
        let (hub, _) = connected(&db, 3600);
        let (ctx, connection) = context(&db, &hub);
        let rt = tokio::runtime::Runtime::new().unwrap();
        let (first, _) = stored(&ctx, &connection);
        rt.block_on(ctx.access_token(&connection.id, true)).unwrap();
        let (second, _) = stored(&ctx, &connection);
        drop(hub);
        let tables = ["connections", "connection_tokens", "oauth_states", "connect_sessions", "consent_events", "audit_events"];
        let mut needles = vec!["sbx_at_".to_owned(), "sbx_rt_".to_owned()];
        for t in [&first.access, first.refresh.as_ref().unwrap(), &second.access, second.refresh.as_ref().unwrap()] {
            let t = expose(t);
            assert!(t.starts_with("sbx_"), "sandbox tokens carry a prefix: {}", &t[..4]);
            needles.push(t);
        }
        for needle in &needles {
            let found = raw_database_finds(&db, &tables, needle);
            assert!(found.is_empty(), "a token in clear in {found:?}");
        }
    }
}

fn stored_none(ctx: &TokenContext, c: &connections::Connection) -> bool {
    let mut conn = ctx.db.conn().unwrap();
    connections::tokens(&mut conn, &ctx.ring, c)
        .unwrap()
        .is_none()
}
