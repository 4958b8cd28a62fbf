//! The manifest, the pull and backfill requests, and the pull chunks.

use super::*;
use crate::testing::{query, window};
use chrono::Utc;

const BASE: &str = "http://127.0.0.1:8080/sandbox";

#[test]
fn the_production_manifest_names_garmins_endpoints_and_terms() {
    let g = garmin();
    let m = g.manifest();
    assert_eq!((m.vendor, m.display_name), ("garmin", "Garmin Connect"));
    assert_eq!(m.authorize_url, "https://connect.garmin.com/oauth2Confirm");
    assert_eq!(
        m.token_url,
        "https://diauth.garmin.com/di-oauth2-service/oauth/token"
    );
    assert_eq!(m.revoke_url, None);
    assert_eq!(m.api_base_url, "https://apis.garmin.com/wellness-api/rest");
    assert_eq!(m.delivery, Delivery::Push);
    assert!(m.notifies);
    assert_eq!(m.push_auth, PushAuth::CallbackToken);
    assert_eq!(m.token_style, TokenStyle::Standard);
    assert_eq!(m.client_auth, ClientAuth::RequestBody);
    assert_eq!(m.max_history_days, 30);
    assert_eq!(m.rate_limits.per_app_per_minute, Some(100));
    assert_eq!(m.rate_limits.per_user_per_minute, None);
    let ids: Vec<&str> = m.data_types.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "dailies",
            "sleeps",
            "body_compositions",
            "pulse_ox",
            "respiration",
            "hrv",
            "blood_pressures",
            "activities"
        ]
    );
    for d in &m.data_types {
        // Garmin has no OAuth scopes: every type is covered by any grant.
        assert!(d.scopes.is_empty(), "{}", d.id);
        assert!(!d.label.is_empty() && !d.description.is_empty());
    }
    assert_eq!(m.covered_by(&[]).len(), 8);
    assert!(m.scopes_for(m.data_types.iter().map(|d| &d.id)).is_empty());
}

#[test]
fn the_sandbox_manifest_keeps_garmins_paths_under_the_sandbox() {
    let g = Garmin::new(&Endpoints::Sandbox {
        base: format!("{BASE}/"),
    });
    let m = g.manifest();
    assert_eq!(m.authorize_url, format!("{BASE}/garmin/oauth/authorize"));
    assert_eq!(m.token_url, format!("{BASE}/garmin/oauth/token"));
    assert_eq!(m.revoke_url, None);
    assert_eq!(m.api_base_url, format!("{BASE}/garmin/wellness-api/rest"));
    let req = g
        .build_request(
            &dt("body_compositions"),
            window("2026-11-20T00:00:00Z", "2026-11-20T06:00:00Z"),
            None,
        )
        .unwrap();
    assert_eq!(
        req.url,
        format!("{BASE}/garmin/wellness-api/rest/bodyComps")
    );
}

#[test]
fn a_pull_asks_for_one_day_of_uploads_at_a_time() {
    let g = garmin();
    let w = window("2026-11-18T00:00:00+01:00", "2026-11-20T12:00:00.5+01:00");
    let first = g.build_request(&dt("dailies"), w, None).unwrap();
    assert_eq!(first.method, "GET");
    assert_eq!(
        first.url,
        "https://apis.garmin.com/wellness-api/rest/dailies"
    );
    assert!(first.form.is_empty());
    // 2026-11-17T23:00:00Z and a day later.
    assert_eq!(
        query(&first),
        [
            ("uploadStartTimeInSeconds", "1794956400"),
            ("uploadEndTimeInSeconds", "1795042800")
        ]
    );
    // The window is walked by cursor: each chunk starts where the last ended, and
    // the last one ends at the window's end, rounded up to the whole second.
    let mut cursor = g.next_cursor(w, None);
    let mut chunks = vec![];
    while let Some(c) = cursor.clone() {
        let req = g.build_request(&dt("dailies"), w, Some(&c)).unwrap();
        chunks.push((req.query[0].1.clone(), req.query[1].1.clone()));
        cursor = g.next_cursor(w, Some(&c));
    }
    assert_eq!(
        chunks,
        [
            ("1795042800".to_owned(), "1795129200".to_owned()),
            ("1795129200".to_owned(), "1795172401".to_owned()),
        ]
    );
    // A window of a day or less is one pull; a cursor that is not ours counts as none.
    let short = window("2026-11-20T00:00:00Z", "2026-11-20T01:00:00Z");
    assert_eq!(g.next_cursor(short, None), None);
    let odd = g.build_request(&dt("hrv"), short, Some("abc")).unwrap();
    assert_eq!(
        query(&odd),
        [
            ("uploadStartTimeInSeconds", "1795132800"),
            ("uploadEndTimeInSeconds", "1795136400")
        ]
    );
}

#[test]
fn every_data_type_pulls_and_backfills_from_its_summary_path() {
    let g = garmin();
    let w = window("2026-10-21T00:00:00Z", "2026-11-20T00:00:00Z");
    for (id, path) in [
        ("dailies", "dailies"),
        ("sleeps", "sleeps"),
        ("body_compositions", "bodyComps"),
        ("pulse_ox", "pulseOx"),
        ("respiration", "respiration"),
        ("hrv", "hrv"),
        ("blood_pressures", "bloodPressures"),
        ("activities", "activities"),
    ] {
        let pull = g.build_request(&dt(id), w, None).unwrap();
        assert_eq!(pull.url, format!("{API_BASE}/{path}"));
        let backfill = g.backfill_request(&dt(id), w).unwrap();
        assert_eq!(backfill.method, "GET");
        assert_eq!(backfill.url, format!("{API_BASE}/backfill/{path}"));
        assert_eq!(
            query(&backfill),
            [
                ("summaryStartTimeInSeconds", "1792540800"),
                ("summaryEndTimeInSeconds", "1795132800")
            ]
        );
    }
    assert_eq!(
        g.build_request(&dt("epochs"), w, None),
        Err(ConnectorError::UnknownDataType {
            vendor: "garmin".into(),
            data_type: "epochs".into()
        })
    );
    assert_eq!(g.backfill_request(&dt("epochs"), w), None);
    assert!(g.parse(&dt("epochs"), b"[]").is_err());
}

#[test]
fn garmin_needs_no_subscription_and_signs_nothing() {
    let g = garmin();
    assert_eq!(
        g.subscribe_request("https://hub.example/vendor-hooks/garmin"),
        None
    );
    let now = Utc::now();
    assert_eq!(g.verify_push(&[], b"{}", b"secret", now), Ok(()));
}

#[test]
fn permissions_map_to_the_data_types_they_share() {
    let all: Vec<DataType> = garmin()
        .manifest()
        .data_types
        .iter()
        .map(|d| d.id.clone())
        .collect();
    assert_eq!(
        data_types_for_permissions(&["HEALTH_EXPORT", "ACTIVITY_EXPORT"]),
        all
    );
    assert_eq!(
        data_types_for_permissions(&["ACTIVITY_EXPORT", "WORKOUT_IMPORT"]),
        [dt("activities")]
    );
    assert_eq!(data_types_for_permissions(&["HEALTH_EXPORT"]).len(), 7);
    assert!(data_types_for_permissions(&["HISTORICAL_DATA_EXPORT", "health_export"]).is_empty());
    assert!(data_types_for_permissions::<&str>(&[]).is_empty());
}
