//! Injected faults, set through `/_control/faults` or the `x-sandbox-fault` header.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

fn set(sb: &Sandbox, fault: &Value) -> SandboxResponse {
    Req::new("POST", "/_control/faults")
        .body(fault.to_string().as_bytes())
        .send(sb, t0())
}

#[test]
fn rate_limit_answers_429_with_retry_after_for_that_user_only() {
    let sb = sandbox();
    let (alice, _) = connect(&sb, &["activity"], "sandbox-user-1", t0());
    let (bob, _) = connect(&sb, &["activity"], "sandbox-user-2", t0());
    let res = set(
        &sb,
        &serde_json::json!({"user": "sandbox-user-1", "kind": "rate_limit", "times": 2, "retry_after_secs": 7}),
    );
    assert_eq!(res.status, 200, "{}", text(&res));
    assert_eq!(fetch(&sb, &bob, "steps", &[], t0()).status, 200);
    for _ in 0..2 {
        let res = fetch(&sb, &alice, "steps", &[], t0());
        assert_eq!(res.status, 429);
        assert_eq!(res.header("retry-after"), Some("7"));
        assert_eq!(json(&res)["error"], "rate_limited");
    }
    assert_eq!(fetch(&sb, &alice, "steps", &[], t0()).status, 200);
}

#[test]
fn server_error_and_slow_apply_to_the_next_requests_of_anyone() {
    let sb = sandbox();
    let (token, _) = connect(&sb, &["activity"], "sandbox-user-1", t0());
    set(&sb, &serde_json::json!({"kind": "server_error"}));
    set(&sb, &serde_json::json!({"kind": "slow", "delay_ms": 1500}));
    assert_eq!(fetch(&sb, &token, "steps", &[], t0()).status, 500);
    let slow = fetch(&sb, &token, "steps", &[], t0());
    assert_eq!(slow.status, 200);
    assert_eq!(slow.delay, Some(std::time::Duration::from_millis(1500)));
    let normal = fetch(&sb, &token, "steps", &[], t0());
    assert_eq!((normal.status, normal.delay), (200, None));
    assert_eq!(slow.body, normal.body);
}

#[test]
fn a_token_endpoint_fault_fails_the_exchange_without_using_up_the_code() {
    let sb = sandbox();
    let code = code_for(&sb, &["activity"], "sandbox-user-1", t0());
    set(
        &sb,
        &serde_json::json!({"kind": "server_error", "endpoint": "token"}),
    );
    assert_eq!(exchange(&sb, &code, VERIFIER, t0()).status, 500);
    assert_eq!(exchange(&sb, &code, VERIFIER, t0()).status, 200);
}

#[test]
fn the_fault_header_acts_on_one_request() {
    let sb = sandbox();
    let (token, _) = connect(&sb, &["activity"], "sandbox-user-1", t0());
    let with = |value: &str| {
        Req::new("GET", "/api/v1/steps")
            .query(&[
                ("start", "2026-11-19T00:00:00Z"),
                ("end", "2026-11-20T00:00:00Z"),
            ])
            .bearer(&token)
            .header("x-sandbox-fault", value)
            .send(&sb, t0())
    };
    assert_eq!(with("rate_limit").status, 429);
    assert!(with("rate_limit").header("retry-after").is_some());
    assert_eq!(with("server_error").status, 500);
    assert!(with("slow").delay.is_some());
    assert_eq!(with("explode").status, 400);
    assert_eq!(fetch(&sb, &token, "steps", &[], t0()).status, 200);
}

#[test]
fn expire_and_revoke_act_at_once_on_the_users_tokens() {
    let sb = sandbox();
    let (alice, alice_refresh) = connect(&sb, &["activity"], "sandbox-user-1", t0());
    let (bob, bob_refresh) = connect(&sb, &["activity"], "sandbox-user-2", t0());
    set(
        &sb,
        &serde_json::json!({"user": "sandbox-user-1", "kind": "expire_tokens"}),
    );
    let res = fetch(&sb, &alice, "steps", &[], t0());
    assert_eq!(
        (res.status, json(&res)["error_description"].clone()),
        (401, "expired".into())
    );
    assert_eq!(fetch(&sb, &bob, "steps", &[], t0()).status, 200);
    // An expired access token leaves the refresh token working.
    assert_eq!(refresh(&sb, &alice_refresh, t0()).status, 200);

    set(
        &sb,
        &serde_json::json!({"kind": "revoke_tokens", "user": null}),
    );
    assert_eq!(fetch(&sb, &bob, "steps", &[], t0()).status, 401);
    assert_eq!(
        json(&refresh(&sb, &bob_refresh, t0()))["error"],
        "invalid_grant"
    );
}

#[test]
fn faults_can_be_listed_and_cleared_and_bad_ones_are_refused() {
    let sb = sandbox();
    let (token, _) = connect(&sb, &["activity"], "sandbox-user-1", t0());
    set(
        &sb,
        &serde_json::json!({"kind": "server_error", "times": 5}),
    );
    let list = Req::new("GET", "/_control/faults").send(&sb, t0());
    assert_eq!(json(&list)["faults"][0]["remaining"], 5);
    let cleared = Req::new("DELETE", "/_control/faults").send(&sb, t0());
    assert_eq!(cleared.status, 200);
    assert_eq!(fetch(&sb, &token, "steps", &[], t0()).status, 200);
    for bad in [
        "not json".to_owned(),
        serde_json::json!({"kind": "meteor"}).to_string(),
        serde_json::json!({"user": "x"}).to_string(),
        serde_json::json!({"kind": "slow", "dealy_ms": 5}).to_string(),
        serde_json::json!({"kind": "slow", "times": 0}).to_string(),
        serde_json::json!({"kind": "slow", "delay_ms": 3_600_000}).to_string(),
    ] {
        let res = Req::new("POST", "/_control/faults")
            .body(bad.as_bytes())
            .send(&sb, t0());
        assert_eq!(res.status, 400, "{bad}");
        assert_eq!(json(&res)["error"], "invalid_request");
    }
}
