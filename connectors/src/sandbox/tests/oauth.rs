//! The OAuth flow: authorize page, decision, code exchange with PKCE, refresh
//! rotation, revocation, client authentication.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

fn page(query: &[(&str, String)]) -> SandboxResponse {
    let q: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Req::new("GET", "/oauth/authorize")
        .query(&q)
        .send(&sandbox(), t0())
}

#[test]
fn the_authorize_page_offers_every_requested_scope_and_escapes_what_it_echoes() {
    let mut query = authorize_params("activity body");
    query[1].1 = "<script>alert(1)</script>".to_owned();
    let res = page(&query);
    assert_eq!(res.status, 200, "{}", text(&res));
    assert_eq!(res.header("content-type"), Some("text/html; charset=utf-8"));
    let csp = res.header("content-security-policy").unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));
    let html = text(&res);
    assert!(html.contains("<title>Demo Health — authorize</title>"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!html.contains("<script"));
    assert!(html.contains("<form method=\"post\" action=\"authorize\">"));
    for id in [
        "sandbox-user",
        "scope-activity",
        "scope-body",
        "approve",
        "deny",
    ] {
        assert!(html.contains(&format!("id=\"{id}\"")), "{id}");
    }
    assert!(!html.contains("scope-heartrate"));
    assert!(html.contains("value=\"sandbox-user-1\""));
    assert!(html.contains("<label for=\"sandbox-user\">Sandbox user</label>"));
    assert!(html
        .contains("name=\"code_challenge\" value=\"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM\""));
    assert!(html.contains("<button type=\"submit\" id=\"approve\" name=\"decision\" value=\"approve\">Approve</button>"));
}

#[test]
fn a_bad_authorization_request_is_a_page_naming_the_parameter_never_a_redirect() {
    let cases: [(&str, Option<&str>); 12] = [
        ("response_type", Some("token")),
        ("client_id", None),
        ("redirect_uri", Some("/relative/cb")),
        ("redirect_uri", Some("javascript:alert(1)")),
        ("redirect_uri", Some("https://app.example/cb#frag")),
        ("scope", Some("activity everything")),
        ("scope", Some("")),
        ("state", None),
        ("code_challenge", None),
        ("code_challenge", Some("too-short")),
        ("code_challenge", Some(&"a+b/".repeat(11))),
        ("code_challenge_method", Some("plain")),
    ];
    for (name, value) in cases {
        let mut query = authorize_params(ALL_SCOPES);
        match value {
            Some(v) => query
                .iter_mut()
                .filter(|(k, _)| *k == name)
                .for_each(|p| p.1 = v.to_owned()),
            None => query.retain(|(k, _)| *k != name),
        }
        let res = page(&query);
        assert_eq!(res.status, 400, "{name}={value:?}");
        assert!(res.header("location").is_none());
        assert!(
            text(&res).contains(&format!("<code>{name}</code>")),
            "{name}: {}",
            text(&res)
        );
    }
    // A repeated parameter is refused too.
    let mut query = authorize_params(ALL_SCOPES);
    query.push(("state", "other".to_owned()));
    assert_eq!(page(&query).status, 400);
}

#[test]
fn approving_with_a_scope_unticked_grants_the_others_to_the_chosen_user() {
    let sb = sandbox();
    let res = decide(
        &sb,
        ALL_SCOPES,
        &["activity", "body"],
        "sandbox-user-3",
        "approve",
        t0(),
    );
    assert_eq!(res.status, 302, "{}", text(&res));
    let location = res.header("location").unwrap();
    assert!(
        location.starts_with(&format!("{REDIRECT}?code=")),
        "{location}"
    );
    let params = location_params(&res);
    assert_eq!(param(&params, "state").as_deref(), Some("st4te"));
    let code = param(&params, "code").unwrap();
    assert!(
        code.len() >= 43
            && code
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    );

    let res = exchange(&sb, &code, VERIFIER, t0());
    assert_eq!(res.status, 200, "{}", text(&res));
    assert_eq!(res.header("cache-control"), Some("no-store"));
    let v = json(&res);
    assert!(v["access_token"].as_str().unwrap().starts_with("sbx_at_"));
    assert!(v["refresh_token"].as_str().unwrap().starts_with("sbx_rt_"));
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["expires_in"], 3600);
    assert_eq!(v["scope"], "activity body");
    assert_eq!(v["user_id"], "sandbox-user-3");
}

#[test]
fn a_redirect_uri_with_a_query_keeps_it_and_deny_sends_access_denied() {
    let sb = sandbox();
    let mut pairs: Vec<(&str, String)> = authorize_params(ALL_SCOPES)
        .into_iter()
        .map(|(k, v)| (if k == "scope" { "requested_scope" } else { k }, v))
        .collect();
    pairs[2].1 = "https://app.example/cb?tenant=a%20b".to_owned();
    pairs.push(("decision", "deny".to_owned()));
    let borrowed: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let res = Req::new("POST", "/oauth/authorize")
        .form(&borrowed)
        .send(&sb, t0());
    assert_eq!(res.status, 302, "{}", text(&res));
    assert_eq!(
        res.header("location"),
        Some("https://app.example/cb?tenant=a%20b&error=access_denied&state=st4te")
    );
    assert!(sb.lock().codes.is_empty(), "no code for a denial");
}

#[test]
fn a_decision_other_than_approve_or_deny_or_a_bad_user_is_refused() {
    let sb = sandbox();
    let res = decide(
        &sb,
        ALL_SCOPES,
        &["activity"],
        "sandbox-user-1",
        "maybe",
        t0(),
    );
    assert_eq!(res.status, 400);
    assert!(text(&res).contains("<code>decision</code>"));
    let res = decide(&sb, ALL_SCOPES, &[], "sandbox-user-1", "approve", t0());
    assert_eq!(res.status, 400, "approving nothing");
    assert!(text(&res).contains("<code>scope</code>"));
    let res = decide(
        &sb,
        "activity",
        &["body"],
        "sandbox-user-1",
        "approve",
        t0(),
    );
    assert_eq!(
        res.status, 400,
        "a scope that was not requested is not granted"
    );
    let res = decide(&sb, ALL_SCOPES, &["activity"], "<b>x</b>", "approve", t0());
    assert_eq!(res.status, 400);
    assert!(text(&res).contains("<code>sandbox_user</code>"));
    assert!(!text(&res).contains("<b>"));
}

#[test]
fn the_code_needs_the_right_verifier_redirect_uri_and_client() {
    let sb = sandbox();
    let code = code_for(&sb, &["activity"], "sandbox-user-1", t0());
    let wrong = "x".repeat(43);
    for res in [
        exchange(&sb, &code, &wrong, t0()),
        Req::new("POST", "/oauth/token")
            .basic(CLIENT)
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", "https://hub.example/other"),
                ("code_verifier", VERIFIER),
            ])
            .send(&sb, t0()),
        Req::new("POST", "/oauth/token")
            .basic(("another-app", "secret"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
            ])
            .send(&sb, t0()),
        exchange(&sb, "no-such-code", VERIFIER, t0()),
    ] {
        assert_eq!(res.status, 400, "{}", text(&res));
        assert_eq!(json(&res)["error"], "invalid_grant");
    }
    // Failed attempts do not use the code up.
    assert_eq!(exchange(&sb, &code, VERIFIER, t0()).status, 200);
}

#[test]
fn a_code_expires_and_works_only_once_and_reuse_revokes_its_tokens() {
    let sb = sandbox();
    let late = code_for(&sb, &["activity"], "sandbox-user-1", t0());
    let res = exchange(&sb, &late, VERIFIER, t0() + secs(600));
    assert_eq!(json(&res)["error"], "invalid_grant");
    assert!(json(&res)["error_description"]
        .as_str()
        .unwrap()
        .contains("expired"));

    let code = code_for(&sb, &["activity"], "sandbox-user-1", t0());
    let v = json(&exchange(&sb, &code, VERIFIER, t0()));
    let access = v["access_token"].as_str().unwrap();
    let refresh_token = v["refresh_token"].as_str().unwrap();
    assert_eq!(fetch(&sb, access, "steps", &[], t0()).status, 200);
    let again = exchange(&sb, &code, VERIFIER, t0());
    assert_eq!(again.status, 400);
    assert_eq!(json(&again)["error"], "invalid_grant");
    assert_eq!(fetch(&sb, access, "steps", &[], t0()).status, 401);
    assert_eq!(
        json(&refresh(&sb, refresh_token, t0()))["error"],
        "invalid_grant"
    );
}

#[test]
fn refresh_rotates_the_refresh_token_and_the_old_access_token_lives_until_expiry() {
    let sb = sandbox();
    let (access, old_refresh) = connect(&sb, &["activity", "heartrate"], "sandbox-user-2", t0());
    let res = refresh(&sb, &old_refresh, t0() + secs(60));
    assert_eq!(res.status, 200, "{}", text(&res));
    let v = json(&res);
    let new_access = v["access_token"].as_str().unwrap();
    let new_refresh = v["refresh_token"].as_str().unwrap();
    assert_ne!(new_access, access);
    assert_ne!(new_refresh, old_refresh);
    assert_eq!(v["scope"], "activity heartrate");
    assert_eq!(v["user_id"], "sandbox-user-2");

    let res = refresh(&sb, &old_refresh, t0() + secs(61));
    assert_eq!(res.status, 400);
    assert_eq!(json(&res)["error"], "invalid_grant");
    // Both access tokens work; the old one until its own expiry.
    assert_eq!(
        fetch(&sb, &access, "steps", &[], t0() + secs(3599)).status,
        200
    );
    assert_eq!(
        fetch(&sb, new_access, "steps", &[], t0() + secs(3599)).status,
        200
    );
    let expired = fetch(&sb, &access, "steps", &[], t0() + secs(3600));
    assert_eq!(expired.status, 401);
    assert_eq!(json(&expired)["error"], "invalid_token");
    assert_eq!(json(&expired)["error_description"], "expired");
    assert!(expired
        .header("www-authenticate")
        .unwrap()
        .starts_with("Bearer error=\"invalid_token\""));
    assert_eq!(
        fetch(&sb, new_access, "steps", &[], t0() + secs(3600)).status,
        200
    );
    // The new refresh token still works after the access token expired.
    assert_eq!(refresh(&sb, new_refresh, t0() + secs(7200)).status, 200);
}

#[test]
fn revoking_either_token_ends_the_whole_grant_and_always_answers_200() {
    let sb = sandbox();
    let (access, refresh_token) = connect(&sb, &["activity"], "sandbox-user-1", t0());
    let (other_access, _) = connect(&sb, &["activity"], "sandbox-user-4", t0());
    let revoke = |token: &str, client: (&str, &str)| {
        Req::new("POST", "/oauth/revoke")
            .basic(client)
            .form(&[("token", token)])
            .send(&sb, t0())
    };
    // Another client cannot revoke it, and is not told.
    assert_eq!(revoke(&refresh_token, ("someone-else", "x")).status, 200);
    assert_eq!(fetch(&sb, &access, "steps", &[], t0()).status, 200);

    assert_eq!(revoke(&refresh_token, CLIENT).status, 200);
    assert_eq!(fetch(&sb, &access, "steps", &[], t0()).status, 401);
    assert_eq!(
        json(&refresh(&sb, &refresh_token, t0()))["error"],
        "invalid_grant"
    );
    assert_eq!(fetch(&sb, &other_access, "steps", &[], t0()).status, 200);
    assert_eq!(revoke(&access, CLIENT).status, 200);
    assert_eq!(revoke("sbx_at_unknown", CLIENT).status, 200);
    let no_client = Req::new("POST", "/oauth/revoke")
        .form(&[("token", "x")])
        .send(&sb, t0());
    assert_eq!(no_client.status, 401);
}

#[test]
fn clients_authenticate_by_basic_or_form_and_bad_requests_name_what_is_wrong() {
    let sb = sandbox();
    let code = code_for(&sb, &["activity"], "sandbox-user-1", t0());
    let base = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    let res = Req::new("POST", "/oauth/token").form(&base).send(&sb, t0());
    assert_eq!(res.status, 401);
    assert_eq!(json(&res)["error"], "invalid_client");
    let mut with_id = base.to_vec();
    with_id.push(("client_id", CLIENT.0));
    let res = Req::new("POST", "/oauth/token")
        .form(&with_id)
        .send(&sb, t0());
    assert_eq!(res.status, 401, "a secret is needed too");
    let res = Req::new("POST", "/oauth/token")
        .basic(("", "x"))
        .form(&base)
        .send(&sb, t0());
    assert_eq!(res.status, 401);

    let res = Req::new("POST", "/oauth/token")
        .basic(CLIENT)
        .form(&[("grant_type", "password")])
        .send(&sb, t0());
    assert_eq!(
        (res.status, json(&res)["error"].clone()),
        (400, "unsupported_grant_type".into())
    );
    let res = Req::new("POST", "/oauth/token")
        .basic(CLIENT)
        .form(&base[..3])
        .send(&sb, t0());
    assert_eq!(json(&res)["error"], "invalid_request");
    assert!(json(&res)["error_description"]
        .as_str()
        .unwrap()
        .contains("code_verifier"));

    with_id.push(("client_secret", CLIENT.1));
    let res = Req::new("POST", "/oauth/token")
        .form(&with_id)
        .send(&sb, t0());
    assert_eq!(res.status, 200, "form credentials: {}", text(&res));
}
