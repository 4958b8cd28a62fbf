//! The demo data endpoints: tokens and scopes, the query, paging, determinism.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

fn records(res: &SandboxResponse) -> Vec<Value> {
    assert_eq!(res.status, 200, "{}", text(res));
    json(res)["data"].as_array().unwrap().clone()
}

#[test]
fn a_data_request_needs_a_token_with_the_scope() {
    let sb = sandbox();
    let (token, _) = connect(&sb, &["activity"], "sandbox-user-1", t0());
    let res = Req::new("GET", "/api/v1/steps")
        .query(&[
            ("start", "2026-11-19T00:00:00Z"),
            ("end", "2026-11-20T00:00:00Z"),
        ])
        .send(&sb, t0());
    assert_eq!(res.status, 401);
    assert_eq!(json(&res)["error"], "invalid_token");
    assert_eq!(
        res.header("www-authenticate"),
        Some("Bearer error=\"invalid_token\"")
    );
    assert_eq!(fetch(&sb, "sbx_at_nope", "steps", &[], t0()).status, 401);
    let res = fetch(&sb, &token, "heart_rate", &[], t0());
    assert_eq!(res.status, 403);
    assert_eq!(json(&res)["error"], "insufficient_scope");
    assert_eq!(fetch(&sb, &token, "steps", &[], t0()).status, 200);
    assert_eq!(fetch(&sb, &token, "sleep", &[], t0()).status, 404);
    let post = Req::new("POST", "/api/v1/steps")
        .bearer(&token)
        .send(&sb, t0());
    assert_eq!((post.status, post.header("allow")), (405, Some("GET")));
}

#[test]
fn a_bad_query_is_a_400_naming_the_parameter() {
    let sb = sandbox();
    let (token, _) = connect(
        &sb,
        &["activity", "heartrate", "body"],
        "sandbox-user-1",
        t0(),
    );
    let cases: [(&str, &str); 8] = [
        ("start", "yesterday"),
        ("end", "2026-11-20"),
        ("end", "2026-11-18T00:00:00Z"),
        ("limit", "0"),
        ("limit", "1001"),
        ("limit", "ten"),
        ("cursor", "garbage!"),
        ("cursor", "dDo5OTk5OTk5OTk5"),
    ];
    for (name, value) in cases {
        let res = fetch(&sb, &token, "heart_rate", &[(name, value)], t0());
        assert_eq!(res.status, 400, "{name}={value}");
        assert_eq!(json(&res)["error"], "invalid_request");
        let description = json(&res)["error_description"].as_str().unwrap().to_owned();
        assert!(
            description.starts_with(&format!("{name}: ")),
            "{description}"
        );
    }
    let res = Req::new("GET", "/api/v1/steps")
        .query(&[("end", "2026-11-20T00:00:00Z")])
        .bearer(&token)
        .send(&sb, t0());
    assert_eq!(json(&res)["error_description"], "start: missing");
}

#[test]
fn records_have_the_documented_shape_at_the_users_offset() {
    let sb = sandbox();
    let (token, _) = connect(
        &sb,
        &["activity", "heartrate", "body"],
        "sandbox-user-1",
        t0(),
    );
    // 2026-11-19 00:00Z to 2026-11-20 00:00Z is 01:00 on the 19th to 01:00 on the 20th at +01:00.
    let steps = records(&fetch(&sb, &token, "steps", &[], t0()));
    assert_eq!(steps.len(), 1);
    let s = &steps[0];
    assert_eq!(s["type"], "steps");
    assert_eq!(s["start"], "2026-11-20T00:00:00+01:00");
    assert_eq!(s["end"], "2026-11-21T00:00:00+01:00");
    assert_eq!(s["unit"], "count");
    assert!(s["value"].is_u64());
    assert_eq!(s["device"]["model"], "Demo Band 2");
    assert!(s["device"]["id"].as_str().unwrap().starts_with("band-"));

    let hr = records(&fetch(
        &sb,
        &token,
        "heart_rate",
        &[("limit", "1000")],
        t0(),
    ));
    assert_eq!(hr.len(), 64, "06:00 to 21:45 every 15 minutes");
    assert_eq!(hr[0]["start"], "2026-11-19T06:00:00+01:00");
    assert_eq!(hr[63]["start"], "2026-11-19T21:45:00+01:00");
    assert!(hr.iter().all(|r| r["end"].is_null() && r["unit"] == "/min"));
    assert!(hr
        .iter()
        .all(|r| (50..=150).contains(&r["value"].as_u64().unwrap())));

    let bw = records(&fetch(&sb, &token, "body_weight", &[], t0()));
    assert_eq!(bw.len(), 1);
    assert!(bw[0].get("end").is_none());
    assert_eq!(bw[0]["device"]["model"], "Demo Scale");
    let raw = text(&fetch(&sb, &token, "body_weight", &[], t0()));
    let value = raw
        .split("\"value\":")
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap();
    assert!(
        value.split('.').nth(1).is_some_and(|d| d.len() == 2),
        "two decimals as a JSON number: {value}"
    );
}

#[test]
fn each_numbered_user_has_their_own_offset() {
    let sb = sandbox();
    for (user, offset) in [
        ("sandbox-user-1", "+01:00"),
        ("sandbox-user-2", "-05:00"),
        ("sandbox-user-3", "+05:30"),
        ("sandbox-user-4", "+00:00"),
        ("sandbox-user-5", "+09:00"),
        ("sandbox-user-6", "+01:00"),
    ] {
        let (token, _) = connect(&sb, &["body"], user, t0());
        let bw = records(&fetch(&sb, &token, "body_weight", &[], t0()));
        assert_eq!(bw.len(), 1, "{user}");
        assert!(
            bw[0]["start"].as_str().unwrap().ends_with(offset),
            "{user}: {}",
            bw[0]["start"]
        );
    }
}

#[test]
fn pages_follow_the_cursor_to_the_end_without_gaps() {
    let sb = sandbox();
    let (token, _) = connect(&sb, &["heartrate"], "sandbox-user-3", t0());
    let window = [
        ("start", "2026-11-15T00:00:00Z"),
        ("end", "2026-11-18T00:00:00Z"),
    ];
    let all = records(&fetch(
        &sb,
        &token,
        "heart_rate",
        &[window[0], window[1], ("limit", "1000")],
        t0(),
    ));
    assert_eq!(all.len(), 3 * 64);
    let mut paged = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..50 {
        let mut query = vec![window[0], window[1], ("limit", "25")];
        if let Some(c) = &cursor {
            query.push(("cursor", c.as_str()));
        }
        let res = fetch(&sb, &token, "heart_rate", &query, t0());
        paged.extend(records(&res));
        cursor = json(&res)["next_cursor"].as_str().map(str::to_owned);
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(paged, all);
    let default_page = records(&fetch(
        &sb,
        &token,
        "heart_rate",
        &[window[0], window[1]],
        t0(),
    ));
    assert_eq!(default_page.len(), 100);
}

#[test]
fn data_is_deterministic_per_user_and_day_and_never_after_now() {
    let a = sandbox();
    let b = Sandbox::new(SandboxConfig {
        access_token_ttl_secs: 86_400 * 365,
        ..SandboxConfig::default()
    });
    let (ta, _) = connect(&a, &["activity", "heartrate"], "sandbox-user-1", t0());
    let (tb, _) = connect(&b, &["activity", "heartrate"], "sandbox-user-1", t0());
    let (tc, _) = connect(&b, &["activity", "heartrate"], "sandbox-user-6", t0());
    let later = t0() + secs(86_400 * 30);
    let one = fetch(&a, &ta, "heart_rate", &[], t0());
    assert!(one.status == 200 && one.body == fetch(&b, &tb, "heart_rate", &[], later).body);
    // Same offset (+01:00), different person.
    let other = fetch(&b, &tc, "heart_rate", &[], t0());
    assert!(other.status == 200 && one.body != other.body);

    // Today at 12:00Z (13:00 at +01:00): readings up to 13:00, no step count yet.
    let today = [
        ("start", "2026-11-21T23:00:00Z"),
        ("end", "2026-11-23T23:00:00Z"),
    ];
    let hr = records(&fetch(&b, &tb, "heart_rate", &today, t0()));
    assert_eq!(hr.len(), 29, "06:00 to 13:00 inclusive");
    assert_eq!(hr.last().unwrap()["start"], "2026-11-22T13:00:00+01:00");
    assert!(records(&fetch(&b, &tb, "steps", &today, t0())).is_empty());
    let tomorrow = t0() + secs(12 * 3600);
    assert_eq!(records(&fetch(&b, &tb, "steps", &today, tomorrow)).len(), 1);
}
