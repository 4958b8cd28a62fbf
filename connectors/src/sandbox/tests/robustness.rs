//! The call record, and that no input makes the sandbox panic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::sandbox::person::{readings, Kind};
use crate::sandbox::MAX_CALLS;

#[test]
fn the_call_record_names_endpoints_and_users_but_no_secret() {
    let sb = sandbox();
    let code = code_for(&sb, &["activity"], "sandbox-user-1", t0());
    let v = json(&exchange(&sb, &code, VERIFIER, t0()));
    let (access, refresh_token) = (
        v["access_token"].as_str().unwrap(),
        v["refresh_token"].as_str().unwrap(),
    );
    fetch(&sb, access, "steps", &[], t0());
    refresh(&sb, refresh_token, t0());
    Req::new("POST", "/_control/faults")
        .body(br#"{"kind":"slow"}"#)
        .send(&sb, t0());

    let calls = sb.calls();
    let summary: Vec<(&str, &str, Option<&str>, u16)> = calls
        .iter()
        .map(|c| {
            (
                c.method.as_str(),
                c.path.as_str(),
                c.grant_type.as_deref(),
                c.status,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("POST", "/oauth/authorize", None, 302),
            ("POST", "/oauth/token", Some("authorization_code"), 200),
            ("GET", "/api/v1/steps", None, 200),
            ("POST", "/oauth/token", Some("refresh_token"), 200),
        ]
    );
    assert!(calls.iter().all(|c| c.vendor == "demo" && c.at == t0()));
    assert!(calls
        .iter()
        .all(|c| c.sandbox_user.as_deref() == Some("sandbox-user-1")));

    let listed = text(&Req::new("GET", "/_control/calls").send(&sb, t0()));
    let parsed: Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(parsed["calls"].as_array().unwrap().len(), 4);
    assert_eq!(parsed["calls"][1]["grant_type"], "authorization_code");
    for secret in [
        code.as_str(),
        access,
        refresh_token,
        VERIFIER,
        CHALLENGE,
        CLIENT.1,
        "sbx_",
    ] {
        assert!(!listed.contains(secret), "{secret} in the call record");
    }
    assert_eq!(
        Req::new("DELETE", "/_control/calls").send(&sb, t0()).status,
        200
    );
    assert!(sb.calls().is_empty());
}

#[test]
fn the_call_record_keeps_the_latest_calls() {
    let sb = sandbox();
    for i in 0..=MAX_CALLS {
        Req::new("GET", &format!("/nowhere/{i}")).send(&sb, t0());
    }
    let calls = sb.calls();
    assert_eq!(calls.len(), MAX_CALLS);
    assert_eq!(calls[0].path, "/nowhere/1");
    assert_eq!(calls[0].status, 404);
}

#[test]
fn unknown_vendors_and_paths_are_404_json() {
    let sb = sandbox();
    assert_eq!(sb.vendors().first(), Some(&"demo"));
    let req = SandboxRequest {
        method: "GET",
        path: "/oauth/authorize",
        query: Vec::new(),
        headers: Vec::new(),
        body: b"",
    };
    let res = sb.handle_at("withings", &req, t0());
    assert_eq!(
        (res.status, json(&res)["error"].clone()),
        (404, "not_found".into())
    );
    let res = Req::new("GET", "/api/v2/steps").send(&sb, t0());
    assert_eq!(res.status, 404);
    assert_eq!(res.header("content-type"), Some("application/json"));
    assert_eq!(
        Req::new("GET", "/_control/nothing").send(&sb, t0()).status,
        404
    );
    let res = Req::new("PUT", "/oauth/token").send(&sb, t0());
    assert_eq!((res.status, res.header("allow")), (405, Some("POST")));
}

#[test]
fn garbage_never_panics_and_bad_bodies_are_400() {
    let sb = sandbox();
    let (token, _) = connect(&sb, &["activity"], "sandbox-user-1", t0());
    let bodies: [&[u8]; 9] = [
        b"",
        b"\xff\xfe\x00",
        b"%",
        b"a=%zz",
        b"grant_type=%C3%28",
        b"&&&===&",
        b"{\"kind\":",
        b"code=\x00&grant_type=authorization_code",
        &[b'a'; 10_000],
    ];
    let paths = [
        "/oauth/authorize",
        "/oauth/token",
        "/oauth/revoke",
        "/api/v1/steps",
        "/_control/faults",
        "",
        "/",
        "//",
        "/api/v1/",
        "/api/v1/steps/../x",
    ];
    let headers = [
        ("authorization", "Basic !!!"),
        ("authorization", "Basic Og=="),
        ("authorization", "Bearer"),
        ("authorization", &format!("Bearer {token}")),
        ("x-sandbox-fault", "\u{0}"),
        ("content-type", "text/plain"),
    ];
    let odd_times = [t0(), DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC];
    for method in ["GET", "POST", "DELETE", "get", "BREW"] {
        for path in paths {
            for body in bodies {
                for (name, value) in &headers {
                    for now in odd_times {
                        let res = Req::new(method, path)
                            .query(&[("start", "\u{feff}"), ("limit", "-1"), ("cursor", "%")])
                            .header(name, value)
                            .body(body)
                            .send(&sb, now);
                        assert!((200..600).contains(&res.status));
                    }
                }
            }
        }
    }
    for body in [&b"\xff"[..], b"a=%zz", b"a=%4"] {
        for path in [
            "/oauth/authorize",
            "/oauth/token",
            "/oauth/revoke",
            "/_control/faults",
        ] {
            let res = Req::new("POST", path)
                .basic(CLIENT)
                .body(body)
                .send(&sb, t0());
            assert_eq!(res.status, 400, "{path} {body:?}");
        }
    }
}

#[test]
fn extreme_windows_and_clocks_are_answered() {
    let sb = sandbox();
    let (token, _) = connect(&sb, &["heartrate"], "sandbox-user-5", t0());
    for (start, end) in [
        ("0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"),
        ("9999-12-31T00:00:00-12:00", "9999-12-31T23:59:59+14:00"),
        ("0001-01-01T00:00:00+14:00", "0001-01-02T00:00:00Z"),
    ] {
        let query = [("start", start), ("end", end), ("limit", "1000")];
        let res = fetch(&sb, &token, "heart_rate", &query, t0());
        assert!(
            res.status == 200 || res.status == 400,
            "{start} {end}: {}",
            text(&res)
        );
    }
    // The generator itself, at the ends of time.
    let (min, max) = (DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC);
    for kind in [Kind::Steps, Kind::HeartRate, Kind::BodyWeight] {
        for user in ["sandbox-user-2", "sandbox-user-5"] {
            assert_eq!(readings(user, kind, min, max, max).take(5).count(), 5);
            let end_of_time = max - secs(86_400 * 2);
            assert!(readings(user, kind, end_of_time, max, max).count() <= 3 * 64);
            assert_eq!(readings(user, kind, min, max, min).count(), 0);
        }
    }
}

#[test]
fn a_poisoned_lock_is_recovered() {
    let sb = sandbox();
    let (token, _) = connect(&sb, &["activity"], "sandbox-user-1", t0());
    let _ = std::thread::scope(|s| {
        s.spawn(|| {
            let _guard = sb.state.lock();
            panic!("poison the sandbox lock");
        })
        .join()
    });
    assert!(sb.state.is_poisoned());
    assert_eq!(fetch(&sb, &token, "steps", &[], t0()).status, 200);
}
