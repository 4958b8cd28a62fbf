//! The Dexcom connector on its own: manifest, requests and the 30-day split, then
//! (in the submodules) every fixture, the real Share sample, time rules, and every
//! way a payload can be wrong.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod egvs;
mod meta;
mod robust;
mod share;
mod time;

use super::*;
pub(super) use crate::testing::{dt, query, utc, window};

const BASE: &str = "http://127.0.0.1:8080/sandbox";

pub(super) fn dexcom() -> Dexcom {
    Dexcom::new(&Endpoints::Production)
}

/// A fixture of ours, from `connectors/fixtures/dexcom/`.
pub(super) fn fixture(name: &str) -> Vec<u8> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/dexcom/");
    std::fs::read(format!("{dir}{name}")).unwrap()
}

#[test]
fn the_manifest_names_dexcoms_real_endpoints_and_figures() {
    let m = dexcom().manifest().clone();
    assert_eq!((m.vendor, m.display_name), ("dexcom", "Dexcom"));
    assert_eq!(m.authorize_url, "https://api.dexcom.com/v2/oauth2/login");
    assert_eq!(m.token_url, "https://api.dexcom.com/v2/oauth2/token");
    assert_eq!(m.revoke_url, None);
    assert_eq!(m.api_base_url, "https://api.dexcom.com");
    assert_eq!(m.scope_separator, " ");
    let types: Vec<(&str, Vec<String>)> = m
        .data_types
        .iter()
        .map(|d| (d.id.as_str(), d.scopes.clone()))
        .collect();
    assert_eq!(types, [("egvs", vec!["offline_access".to_owned()])]);
    assert!(!m.data_types[0].label.is_empty() && !m.data_types[0].description.is_empty());
    // Share readings are parse-only: never offered for consent.
    assert!(m.data_type(SHARE_GLUCOSE).is_none());
    assert_eq!(m.rate_limits.per_app_per_minute, Some(1000));
    assert_eq!(m.rate_limits.per_user_per_minute, None);
    assert_eq!((m.delivery, m.notifies), (Delivery::Poll, false));
    assert_eq!(m.max_history_days, 90);
    assert_eq!(m.token_style, TokenStyle::Standard);
    assert_eq!(m.client_auth, ClientAuth::RequestBody);
}

#[test]
fn the_sandbox_serves_the_same_paths_under_the_vendor() {
    let d = Dexcom::new(&Endpoints::Sandbox {
        base: format!("{BASE}/"),
    });
    let m = d.manifest();
    assert_eq!(m.authorize_url, format!("{BASE}/dexcom/oauth/authorize"));
    assert_eq!(m.token_url, format!("{BASE}/dexcom/oauth/token"));
    assert_eq!(m.revoke_url, None);
    let w = window("2025-11-01T00:00:00Z", "2025-11-02T00:00:00Z");
    let req = d.build_request(&dt("egvs"), w, None).unwrap();
    assert_eq!(req.url, format!("{BASE}/dexcom/v3/users/self/egvs"));
    assert_eq!(
        d.data_range_request().url,
        format!("{BASE}/dexcom/v3/users/self/dataRange")
    );
    assert_eq!(
        d.devices_request().url,
        format!("{BASE}/dexcom/v3/users/self/devices")
    );
}

#[test]
fn a_request_asks_for_the_window_in_utc_without_an_offset() {
    let d = dexcom();
    // Sub-seconds widen the window to whole seconds: nothing is missed.
    let w = TimeWindow {
        start: utc("2025-11-01T23:30:00.700-04:00"),
        end: utc("2025-11-02T23:30:00.250-05:00"),
    };
    let req = d.build_request(&dt("egvs"), w, None).unwrap();
    assert_eq!(
        (req.method, req.url.as_str()),
        ("GET", "https://api.dexcom.com/v3/users/self/egvs")
    );
    assert_eq!(
        query(&req),
        [
            ("startDate", "2025-11-02T03:30:00"),
            ("endDate", "2025-11-03T04:30:01"),
        ]
    );
    assert!(req.form.is_empty());
    assert_eq!(d.next_cursor(w, None), None);
    for other in ["share_glucose", "devices", "steps"] {
        assert_eq!(
            d.build_request(&dt(other), w, None),
            Err(ConnectorError::UnknownDataType {
                vendor: "dexcom".into(),
                data_type: other.into()
            })
        );
    }
    let (range, devices) = (d.data_range_request(), d.devices_request());
    assert_eq!(range.url, "https://api.dexcom.com/v3/users/self/dataRange");
    assert_eq!(devices.url, "https://api.dexcom.com/v3/users/self/devices");
    assert!(range.query.is_empty() && devices.query.is_empty());
}

#[test]
fn a_window_over_30_days_is_walked_in_sub_windows_by_the_cursor() {
    let d = dexcom();
    let w = window("2025-01-01T00:00:00Z", "2025-03-12T12:00:00Z");
    let mut cursor: Option<String> = None;
    let mut asked = Vec::new();
    loop {
        let req = d.build_request(&dt("egvs"), w, cursor.as_deref()).unwrap();
        let q = query(&req);
        asked.push((q[0].1.to_owned(), q[1].1.to_owned()));
        // The page itself never knows: Dexcom does not page.
        let page = d.parse(&dt("egvs"), &fixture("egvs_empty.json")).unwrap();
        assert_eq!(page.next_cursor, None);
        match d.next_cursor(w, cursor.as_deref()) {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let expected = [
        ("2025-01-01T00:00:00", "2025-01-31T00:00:00"),
        ("2025-01-31T00:00:00", "2025-03-02T00:00:00"),
        ("2025-03-02T00:00:00", "2025-03-12T12:00:00"),
    ];
    let asked: Vec<(&str, &str)> = asked
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    assert_eq!(asked, expected);
    // Exactly 30 days is one request.
    let thirty = window("2025-01-01T00:00:00Z", "2025-01-31T00:00:00Z");
    assert_eq!(d.next_cursor(thirty, None), None);
}

#[test]
fn a_cursor_that_is_not_an_instant_in_the_window_refetches_from_its_start() {
    let d = dexcom();
    let w = window("2025-01-01T00:00:00Z", "2025-01-10T00:00:00Z");
    for bad in ["", "abc", "2024-12-01T00:00:00Z", "2025-02-01T00:00:00Z"] {
        let req = d.build_request(&dt("egvs"), w, Some(bad)).unwrap();
        assert_eq!(
            query(&req)[0],
            ("startDate", "2025-01-01T00:00:00"),
            "{bad:?}"
        );
    }
    let req = d
        .build_request(&dt("egvs"), w, Some("2025-01-05T06:00:00.900+01:00"))
        .unwrap();
    assert_eq!(
        query(&req),
        [
            ("startDate", "2025-01-05T05:00:00"),
            ("endDate", "2025-01-10T00:00:00")
        ]
    );
}
