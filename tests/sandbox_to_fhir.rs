//! The whole path a synced page takes, with nothing simulated but the vendor: a
//! member connects to the sandbox's demo vendor through the consent page, the demo
//! connector's requests are sent to the sandbox over HTTP with the member's token,
//! the pages are parsed, normalised and stored (`tributary::ingest`), and the FHIR
//! API serves them: valid (shared validator), only the granted types, one copy when
//! the same pages arrive twice.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod fhir_support;
use chrono::{TimeZone, Utc};
use common::demo::{connected, context};
use common::*;
use fhir_support::*;
use secrecy::ExposeSecret;
use tributary::connect::tokens::TokenContext;
use tributary::store::observations::UpsertReport;
use tributary_connectors::{DataType, TimeWindow};

/// One request of the demo connector for `data_type`, sent to the sandbox.
fn fetch(
    ctx: &TokenContext,
    connection: &str,
    data_type: &str,
    window: TimeWindow,
) -> reqwest::blocking::Response {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let token = rt.block_on(ctx.access_token(connection, false)).unwrap();
    let req = ctx
        .vendors
        .connector("demo")
        .unwrap()
        .build_request(&DataType::parse(data_type).unwrap(), window, None)
        .unwrap();
    reqwest::blocking::Client::new()
        .get(&req.url)
        .query(&req.query)
        .bearer_auth(token.expose_secret())
        .send()
        .unwrap()
}

/// Fetch every page of `data_type` in `window` from the sandbox and ingest it.
fn sync(
    ctx: &TokenContext,
    connection: &str,
    member: &tributary::domain::MemberId,
    data_type: &str,
    window: TimeWindow,
) -> (UpsertReport, usize) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let token = rt.block_on(ctx.access_token(connection, false)).unwrap();
    let connector = ctx.vendors.connector("demo").unwrap();
    let dt = DataType::parse(data_type).unwrap();
    let http = reqwest::blocking::Client::new();
    let mut conn = ctx.db.conn().unwrap();
    let (mut total, mut samples, mut cursor) = (UpsertReport::default(), 0, None::<String>);
    loop {
        let req = connector
            .build_request(&dt, window, cursor.as_deref())
            .unwrap();
        let res = http
            .get(&req.url)
            .query(&req.query)
            .bearer_auth(token.expose_secret())
            .send()
            .unwrap();
        assert_eq!(res.status(), 200, "{}", req.url);
        let page = connector.parse(&dt, &res.bytes().unwrap()).unwrap();
        samples += page.samples.len();
        let r = tributary::ingest::store_samples(
            &mut conn,
            &ctx.ring,
            member,
            "demo",
            data_type,
            &page.samples,
        )
        .unwrap();
        total.inserted += r.inserted;
        total.amended += r.amended;
        total.unchanged += r.unchanged;
        total.refused += r.refused;
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return (total, samples),
        }
    }
}

on_both_backends! {
    fn sandbox_pages_become_valid_fhir_once_and_only_for_granted_types(db: TestDb) {
        let (hub, key) = connected(&db, 3600); // steps and heart_rate granted
        let (ctx, connection) = context(&db, &hub);
        let member = connection.member_id.clone();
        let window = TimeWindow {
            start: Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap(),
            end: Utc.with_ymd_and_hms(2026, 11, 4, 0, 0, 0).unwrap(),
        };

        let (steps, n_steps) = sync(&ctx, &connection.id, &member, "steps", window);
        assert!(n_steps >= 3, "a value per day: {n_steps}");
        assert_eq!(steps, UpsertReport { inserted: n_steps, ..Default::default() });
        let (hr, n_hr) = sync(&ctx, &connection.id, &member, "heart_rate", window);
        assert!(n_hr > 0);
        assert_eq!(hr.inserted, n_hr);
        // Not granted: the vendor refuses it, and so does the store if a page of it
        // arrived anyway (here a weight page built from the sandbox's own data).
        let weight_page = fetch(&ctx, &connection.id, "body_weight", window);
        assert_eq!(weight_page.status(), 403);
        let mut conn = ctx.db.conn().unwrap();
        let sample = tributary_connectors::Sample {
            metric: tributary_connectors::Metric::BodyWeight,
            vendor_code: "body_weight".into(),
            value: tributary_connectors::Value::Quantity(tributary_connectors::Quantity { value: "70.5".into(), unit: "kg".into() }),
            start: chrono::DateTime::parse_from_rfc3339("2026-11-02T07:00:00+01:00").unwrap(),
            end: None,
            device: None,
            vendor_record_id: Some("w-1".into()),
            trend: None,
        };
        let weight = tributary::ingest::store_samples(&mut conn, &ctx.ring, &member, "demo", "body_weight", &[sample]).unwrap();
        assert_eq!((weight.inserted, weight.refused), (0, 1));

        // The same pages again: nothing new.
        let (again, _) = sync(&ctx, &connection.id, &member, "steps", window);
        assert_eq!(again, UpsertReport { unchanged: n_steps, ..Default::default() });

        let api = |path: &str| {
            let res = reqwest::blocking::Client::new()
                .get(hub.url(&format!("/fhir/r4{path}")))
                .bearer_auth(&key)
                .send()
                .unwrap();
            assert_eq!(res.status(), 200, "{path}");
            res.json::<serde_json::Value>().unwrap()
        };
        let m = member.as_str();
        let steps_bundle = api(&format!("/Observation?patient={m}&code=http://loinc.org|41950-7&_count=1000"));
        assert_eq!(entries(&steps_bundle).len(), n_steps);
        let first = &steps_bundle["entry"][0]["resource"];
        assert_eq!(first["valueQuantity"]["code"], "/d");
        assert_eq!(first["meta"]["source"], "urn:tributary:vendor:demo");
        assert!(first["effectivePeriod"]["start"].as_str().unwrap().len() >= 20);
        let hr_bundle = api(&format!("/Observation?patient={m}&code=8867-4&_count=1000"));
        assert_eq!(entries(&hr_bundle).len(), n_hr);
        let weight_bundle = api(&format!("/Observation?patient={m}&code=29463-7"));
        assert!(entries(&weight_bundle).is_empty());
        let patient = api(&format!("/Patient/{m}"));
        assert_eq!(patient["identifier"][0]["value"], "alice");
        validate(&[steps_bundle, hr_bundle, weight_bundle, patient]);
    }
}
