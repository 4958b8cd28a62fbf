//! The manifest in production and in the sandbox, and the requests.

use super::*;
use crate::testing::{query, window};

#[test]
fn production_reaches_oura_itself() {
    let oura = Oura::new(&Endpoints::Production);
    let m = oura.manifest();
    assert_eq!((m.vendor, m.display_name), ("oura", "Oura"));
    assert_eq!(
        m.authorize_url,
        "https://cloud.ouraring.com/oauth/authorize"
    );
    assert_eq!(m.token_url, "https://api.ouraring.com/oauth/token");
    assert_eq!(
        m.revoke_url.as_deref(),
        Some("https://api.ouraring.com/oauth/revoke")
    );
    assert_eq!(m.api_base_url, "https://api.ouraring.com");
    let req = oura
        .build_request(
            &dt("sleep"),
            window("2026-08-10T00:00:00Z", "2026-08-11T00:00:00Z"),
            None,
        )
        .unwrap();
    assert_eq!(req.url, "https://api.ouraring.com/v2/usercollection/sleep");
}

#[test]
fn the_sandbox_twin_has_the_same_paths_under_its_base() {
    let oura = Oura::new(&Endpoints::Sandbox {
        base: format!("{BASE}/"),
    });
    let m = oura.manifest();
    assert_eq!(m.authorize_url, format!("{BASE}/oura/oauth/authorize"));
    assert_eq!(m.token_url, format!("{BASE}/oura/oauth/token"));
    assert_eq!(
        m.revoke_url.as_deref(),
        Some(&*format!("{BASE}/oura/oauth/revoke"))
    );
    assert_eq!(m.api_base_url, format!("{BASE}/oura"));
    let w = window("2026-08-10T00:00:00Z", "2026-08-11T00:00:00Z");
    for (id, endpoint) in [
        ("daily_activity", "daily_activity"),
        ("sleep", "sleep"),
        ("heartrate", "heartrate"),
        ("daily_spo2", "daily_spo2"),
        ("temperature", "daily_readiness"),
        ("workout", "workout"),
    ] {
        let req = oura.build_request(&dt(id), w, None).unwrap();
        assert_eq!(
            (req.method, req.url.as_str()),
            ("GET", &*format!("{BASE}/oura/v2/usercollection/{endpoint}"))
        );
        assert!(req.form.is_empty());
    }
}

#[test]
fn the_manifest_names_types_scopes_and_figures() {
    let m = sandbox().manifest().clone();
    let types: Vec<(&str, Vec<String>)> = m
        .data_types
        .iter()
        .map(|d| (d.id.as_str(), d.scopes.clone()))
        .collect();
    let s = |x: &str| vec![x.to_owned(), "personal".to_owned()];
    assert_eq!(
        types,
        [
            ("daily_activity", s("daily")),
            ("sleep", s("daily")),
            ("heartrate", s("heartrate")),
            ("daily_spo2", s("spo2")),
            ("temperature", s("daily")),
            ("workout", s("workout")),
        ]
    );
    for d in &m.data_types {
        assert!(!d.label.is_empty() && !d.description.is_empty());
    }
    assert_eq!(m.scope_separator, " ");
    assert_eq!(
        m.scopes_for([&dt("sleep"), &dt("temperature"), &dt("workout")]),
        ["daily", "personal", "workout"]
    );
    assert_eq!(m.rate_limits.per_user_per_minute, Some(1000));
    assert_eq!(m.rate_limits.per_app_per_minute, None);
    assert_eq!(
        (m.delivery, m.max_history_days, m.notifies),
        (Delivery::Poll, 730, true)
    );
    assert_eq!(m.push_auth, PushAuth::Signature);
    assert_eq!(m.token_style, TokenStyle::Standard);
    assert_eq!(m.client_auth, ClientAuth::RequestBody);
    // Subscriptions are per app, never per connection.
    assert_eq!(sandbox().subscribe_request("https://hub.example/h"), None);
    assert_eq!(
        sandbox().backfill_request(
            &dt("sleep"),
            window("2026-08-10T00:00:00Z", "2026-08-11T00:00:00Z")
        ),
        None
    );
}

#[test]
fn daily_types_ask_for_every_local_day_the_window_touches() {
    let oura = sandbox();
    let w = window("2026-08-10T00:00:00Z", "2026-08-11T00:00:00Z");
    let req = oura.build_request(&dt("daily_activity"), w, None).unwrap();
    assert_eq!(
        query(&req),
        [("start_date", "2026-08-09"), ("end_date", "2026-08-12")]
    );
    // A window in another zone's terms is read in UTC.
    let w = window("2026-03-08T00:00:00-08:00", "2026-03-08T23:30:00-07:00");
    let req = oura
        .build_request(&dt("workout"), w, Some("tok=="))
        .unwrap();
    assert_eq!(
        query(&req),
        [
            ("start_date", "2026-03-07"),
            ("end_date", "2026-03-10"),
            ("next_token", "tok==")
        ]
    );
}

#[test]
fn heart_rate_asks_for_instants_and_pages_by_next_token() {
    let oura = sandbox();
    let w = window("2026-10-25T01:30:00+02:00", "2026-10-25T12:00:00.250Z");
    let req = oura
        .build_request(&dt("heartrate"), w, Some("eyJvIjo0fQ"))
        .unwrap();
    assert_eq!(
        query(&req),
        [
            ("start_datetime", "2026-10-24T23:30:00Z"),
            ("end_datetime", "2026-10-25T12:00:01Z"),
            ("next_token", "eyJvIjo0fQ"),
        ]
    );
}

#[test]
fn unknown_data_types_are_refused() {
    let oura = sandbox();
    let w = window("2026-08-10T00:00:00Z", "2026-08-11T00:00:00Z");
    for id in ["daily_sleep", "daily_readiness", "steps", "session"] {
        assert_eq!(
            oura.build_request(&dt(id), w, None),
            Err(ConnectorError::UnknownDataType {
                vendor: "oura".into(),
                data_type: id.into()
            })
        );
        let e = oura.parse(&dt(id), br#"{"data": []}"#).unwrap_err();
        assert_eq!((e.path.as_str(), e.data_type.as_str()), ("$", id));
    }
}
