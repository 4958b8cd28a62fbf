//! Subscriptions and notifications.

use super::*;
use crate::{Connector, Demo};

fn subscribe(sb: &Sandbox, token: &str, callback: &str) -> SandboxResponse {
    Req::new("POST", "/api/v1/subscriptions")
        .bearer(token)
        .form(&[("callback_url", callback)])
        .send(sb, t0())
}

fn push(sb: &Sandbox, body: &str) -> SandboxResponse {
    Req::new("POST", "/_control/push")
        .body(body.as_bytes())
        .send(sb, t0())
}

#[test]
fn a_subscribed_user_is_notified_signed_with_the_clients_secret() {
    let sb = sandbox();
    let (access, _) = connect(&sb, &["activity", "body"], "alice", t0());
    let res = subscribe(&sb, &access, "http://127.0.0.1:9/vendor-hooks/demo");
    assert_eq!(res.status, 201, "{}", text(&res));
    // The same subscription again is still one.
    assert_eq!(
        subscribe(&sb, &access, "http://127.0.0.1:9/vendor-hooks/demo").status,
        201
    );

    let res = push(&sb, r#"{"user": "alice", "data_types": ["steps"]}"#);
    assert_eq!(res.status, 200, "{}", text(&res));
    assert_eq!(res.outbound.len(), 1);
    let out = &res.outbound[0];
    assert_eq!(out.url, "http://127.0.0.1:9/vendor-hooks/demo");

    // The hub's side of the scheme accepts it with the client's secret only.
    let demo = Demo::new("http://127.0.0.1:9/sandbox");
    assert_eq!(
        demo.verify_push(&out.headers, &out.body, CLIENT.1.as_bytes(), t0()),
        Ok(())
    );
    assert!(demo
        .verify_push(&out.headers, &out.body, b"other", t0())
        .is_err());
    let notices = demo.parse_push(&out.body).unwrap();
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].vendor_user, "alice");
    let crate::PushEvent::NewData { data_type, window } = &notices[0].event else {
        panic!("not new data: {:?}", notices[0].event);
    };
    assert_eq!(data_type.as_str(), "steps");
    let window = window.unwrap();
    assert_eq!((window.start, window.end), (t0() - secs(86_400), t0()));

    // Nobody else's subscription is notified.
    assert!(push(&sb, r#"{"user": "bob"}"#).outbound.is_empty());
}

#[test]
fn a_revoked_grant_ends_its_notifications() {
    let sb = sandbox();
    let (access, refresh_token) = connect(&sb, &["activity"], "alice", t0());
    assert_eq!(
        subscribe(&sb, &access, "https://hub.example/hooks").status,
        201
    );
    assert_eq!(push(&sb, r#"{"user": "alice"}"#).outbound.len(), 1);
    let res = Req::new("POST", "/oauth/revoke")
        .basic(CLIENT)
        .form(&[("token", &refresh_token)])
        .send(&sb, t0());
    assert_eq!(res.status, 200);
    assert!(push(&sb, r#"{"user": "alice"}"#).outbound.is_empty());
}

#[test]
fn bad_subscriptions_and_pushes_are_refused_by_name() {
    let sb = sandbox();
    let (access, _) = connect(&sb, &["activity"], "alice", t0());
    let res = Req::new("POST", "/api/v1/subscriptions")
        .form(&[("callback_url", "https://hub.example/h")])
        .send(&sb, t0());
    assert_eq!(res.status, 401);
    for (callback, problem) in [("", "callback_url: missing"), ("ftp://x/h", "callback_url")] {
        let form: &[(&str, &str)] = if callback.is_empty() {
            &[]
        } else {
            &[("callback_url", callback)]
        };
        let res = Req::new("POST", "/api/v1/subscriptions")
            .bearer(&access)
            .form(form)
            .send(&sb, t0());
        assert_eq!(res.status, 400, "{callback}");
        assert!(text(&res).contains(problem), "{}", text(&res));
    }
    let res = push(&sb, r#"{"user": "alice", "data_types": ["sleep"]}"#);
    assert_eq!(res.status, 400);
    assert!(text(&res).contains("data_types"), "{}", text(&res));
    let res = push(&sb, r#"{"usr": "alice"}"#);
    assert_eq!(res.status, 400);
}

#[test]
fn a_forged_or_replayed_push_does_not_verify() {
    let sb = sandbox();
    let (access, _) = connect(&sb, &["activity"], "alice", t0());
    subscribe(&sb, &access, "https://hub.example/h");
    let demo = Demo::new("http://127.0.0.1:9/sandbox");
    let forged = push(&sb, r#"{"user": "alice", "forge_secret": "guess"}"#);
    let out = &forged.outbound[0];
    let verdict = demo.verify_push(&out.headers, &out.body, CLIENT.1.as_bytes(), t0());
    assert_eq!(verdict, Err(crate::PushError::Mismatch));
    let replayed = push(&sb, r#"{"user": "alice", "shift_secs": -3600}"#);
    let out = &replayed.outbound[0];
    let verdict = demo.verify_push(&out.headers, &out.body, CLIENT.1.as_bytes(), t0());
    assert_eq!(verdict, Err(crate::PushError::Stale));
}
