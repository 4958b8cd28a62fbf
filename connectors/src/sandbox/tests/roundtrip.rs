//! The demo connector against the sandbox: its requests are accepted, and what the
//! sandbox answers parses into the samples expected.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::testing::window;
use crate::{Connector, DataType, Demo, Metric, Sample, TimeWindow};

const BASE: &str = "http://127.0.0.1:8080/sandbox";

/// Fetch every page of `data_type` over `window` as the hub would.
fn sync(sb: &Sandbox, token: &str, data_type: &str, window: TimeWindow) -> Vec<Sample> {
    let demo = Demo::new(BASE);
    let dt = DataType::parse(data_type).unwrap();
    let mut samples = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let req = demo.build_request(&dt, window, cursor.as_deref()).unwrap();
        let path = req
            .url
            .strip_prefix(&format!("{BASE}/demo"))
            .unwrap()
            .to_owned();
        let query: Vec<(&str, &str)> = req
            .query
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let res = Req::new(req.method, &path)
            .query(&query)
            .bearer(token)
            .send(sb, t0());
        assert_eq!(res.status, 200, "{}", text(&res));
        let page = demo.parse(&dt, &res.body).unwrap();
        assert_declared(&demo, &dt, &page.samples);
        samples.extend(page.samples);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return samples,
        }
    }
}

#[test]
fn thirty_days_of_sandbox_data_parse_with_the_users_offset() {
    let sb = sandbox();
    let (token, _) = connect(
        &sb,
        &["activity", "heartrate", "body"],
        "sandbox-user-3",
        t0(),
    );
    // 30 whole local days at +05:30.
    let w = window("2026-10-20T00:00:00+05:30", "2026-11-19T00:00:00+05:30");

    let steps = sync(&sb, &token, "steps", w);
    assert_eq!(steps.len(), 30);
    assert!(steps
        .iter()
        .all(|s| s.metric == Metric::StepsDaily && s.quantity().unwrap().unit == "/d"));
    assert!(steps
        .iter()
        .all(|s| s.start.offset().local_minus_utc() == 5 * 3600 + 1800));
    assert!(steps
        .iter()
        .all(|s| s.end == Some(s.start + chrono::Duration::days(1))));

    let hr = sync(&sb, &token, "heart_rate", w);
    assert_eq!(hr.len(), 30 * 64, "two pages of 1000 and one of 0");
    assert!(hr.iter().all(|s| s.metric == Metric::HeartRate
        && s.end.is_none()
        && s.quantity().unwrap().unit == "/min"));
    let ids: std::collections::HashSet<_> = hr.iter().map(|s| s.vendor_record_id.clone()).collect();
    assert_eq!(ids.len(), hr.len(), "record ids are unique");

    let bw = sync(&sb, &token, "body_weight", w);
    assert_eq!(bw.len(), 30);
    let device = bw[0].device.clone().unwrap();
    assert_eq!(
        (device.manufacturer.as_deref(), device.model.as_deref()),
        (Some("Demo"), Some("Demo Scale"))
    );
    assert!(bw.iter().all(|s| s.quantity().unwrap().unit == "kg"
        && s.quantity().unwrap().value.split('.').nth(1).unwrap().len() == 2));
    // Over 30 days some weight ends in 0 and keeps it (`72.50`).
    assert!(
        bw.iter()
            .any(|s| s.quantity().unwrap().value.ends_with('0')),
        "{:?}",
        bw.iter()
            .map(|s| &s.quantity().unwrap().value)
            .collect::<Vec<_>>()
    );
}

#[test]
fn the_connector_manifest_matches_the_sandbox_twin() {
    let demo = Demo::new(BASE);
    let twin = crate::sandbox::twin::find("demo").unwrap();
    for spec in &demo.manifest().data_types {
        let endpoint = twin
            .data_endpoint(&format!("/api/v1/{}", spec.id), &[])
            .unwrap();
        assert_eq!(spec.scopes, [endpoint.scope.unwrap()]);
    }
    let scopes: Vec<&str> = twin.scopes().iter().map(|s| s.name).collect();
    assert_eq!(scopes, ["activity", "heartrate", "body"]);
}
