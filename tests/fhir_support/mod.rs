//! Fixtures for `tests/fhir_api.rs`: Observation JSON as the normaliser makes it
//! (heart rate, daily steps, body weight), a connected member, the validator.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use crate::common::*;
use chrono::{DateTime, FixedOffset};
use serde_json::{json, Value};
use tributary::domain::{MemberId, PortalId};
use tributary::store::connections;
use tributary::store::observations::{upsert_batch, NewObservation, UpsertReport};

pub const LOINC: &str = "http://loinc.org";
pub const CAT: &str = "http://terminology.hl7.org/CodeSystem/observation-category";

pub fn at(s: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(s).unwrap()
}

/// An observation id as the normaliser makes them: of the member and the identifier.
pub fn obs_id(member: &str, ident: &str) -> String {
    hex_id(&format!("{member}\n{ident}"))
}

pub fn hex_id(s: &str) -> String {
    use sha2::Digest;
    hex(&sha2::Sha256::digest(s.as_bytes())[..16])
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub fn base(member: &str, ident: &str, code: &str, display: &str, cats: Value) -> Value {
    json!({
        "resourceType": "Observation",
        "identifier": [{"system": "urn:tributary:sid:observation", "value": ident}],
        "status": "final",
        "category": cats,
        "code": {"coding": [{"system": LOINC, "code": code, "display": display},
                            {"system": "urn:tributary:codesystem:vendor:demo", "code": display}]},
        "subject": {"reference": format!("Patient/{member}")},
        "meta": {"source": "urn:tributary:vendor:demo"},
    })
}

/// A heart-rate spot reading (vital signs).
pub fn heart_rate(member: &str, when: &str, bpm: f64) -> NewObservation {
    let ident = format!("demo:hr:{when}");
    let mut r = base(
        member,
        &ident,
        "8867-4",
        "heart_rate",
        json!([{"coding": [{"system": CAT, "code": "vital-signs"}]}]),
    );
    r["effectiveDateTime"] = json!(when);
    r["valueQuantity"] = json!({"value": bpm, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"});
    new_obs(
        member,
        ident,
        "8867-4",
        "heart_rate",
        vec!["vital-signs"],
        at(when),
        at(when),
        r,
    )
}

/// Daily steps (Physical Activity IG: both categories, effectivePeriod).
pub fn steps(member: &str, day: &str, n: u32) -> NewObservation {
    let ident = format!("demo:steps:{day}");
    let (start, end) = (
        format!("{day}T00:00:00+01:00"),
        format!("{day}T23:59:59+01:00"),
    );
    let mut r = base(
        member,
        &ident,
        "41950-7",
        "steps",
        json!([
            {"coding": [{"system": CAT, "code": "activity"}]},
            {"coding": [{"system": "http://hl7.org/fhir/us/physical-activity/CodeSystem/pa-temporary-codes", "code": "PhysicalActivity"}]}
        ]),
    );
    r["effectivePeriod"] = json!({"start": start, "end": end});
    r["valueQuantity"] =
        json!({"value": n, "unit": "/d", "system": "http://unitsofmeasure.org", "code": "/d"});
    new_obs(
        member,
        ident,
        "41950-7",
        "steps",
        vec!["activity", "PhysicalActivity"],
        at(&start),
        at(&end),
        r,
    )
}

pub fn weight(member: &str, when: &str, kg: f64) -> NewObservation {
    let ident = format!("demo:weight:{when}");
    let mut r = base(
        member,
        &ident,
        "29463-7",
        "weight",
        json!([{"coding": [{"system": CAT, "code": "vital-signs"}]}]),
    );
    r["effectiveDateTime"] = json!(when);
    r["valueQuantity"] =
        json!({"value": kg, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"});
    new_obs(
        member,
        ident,
        "29463-7",
        "body_weight",
        vec!["vital-signs"],
        at(when),
        at(when),
        r,
    )
}

#[allow(clippy::too_many_arguments)] // a fixture builder: each argument is one field
pub fn new_obs(
    member: &str,
    ident: String,
    code: &str,
    data_type: &str,
    cats: Vec<&str>,
    start: DateTime<FixedOffset>,
    end: DateTime<FixedOffset>,
    resource: Value,
) -> NewObservation {
    NewObservation {
        id: obs_id(member, &ident),
        identifier: ident,
        codes: vec![
            (LOINC.into(), code.into()),
            (
                "urn:tributary:codesystem:vendor:demo".into(),
                data_type.into(),
            ),
        ],
        categories: cats.into_iter().map(str::to_owned).collect(),
        effective_start: start,
        effective_end: end,
        vendor: "demo".into(),
        data_type: data_type.into(),
        resource: serde_json::value::to_raw_value(&resource).unwrap(),
    }
}

/// Check FHIR documents with the shared validator; panics with its output.
pub fn validate(docs: &[Value]) {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (i, d) in docs.iter().enumerate() {
        let p = dir.path().join(format!("doc{i}.json"));
        std::fs::write(&p, d.to_string()).unwrap();
        files.push(p);
    }
    validate_files(&files);
}

pub fn validate_files(files: &[std::path::PathBuf]) {
    let tool = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/tools/fhir-validate");
    let out = std::process::Command::new(tool)
        .args(files)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "fhir-validate: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

pub struct Setup {
    pub hub: Hub,
    pub portal_a: String,
    pub key_a: String,
    pub key_b: String,
    pub member: String,
    pub db: tributary::db::Database,
    pub ring: std::sync::Arc<tributary::keys::KeyRing>,
}

/// Portals A and B; A's member `alice` connected to demo with steps and heart rate
/// granted (not body weight).
pub fn setup(db: &TestDb) -> Setup {
    let (portal_a, key_a) = create_portal(db, "A");
    let (_, key_b) = create_portal(db, "B");
    let hub = Hub::start(db.path(), &db.env());
    let (s, m) = Api::new(&hub, Some(&key_a)).call(
        "POST",
        "/v1/members",
        Some(json!({"user_key": "alice"})),
    );
    assert_eq!(s, 201, "{m}");
    let member = m["member_id"].as_str().unwrap().to_owned();
    let (pool, ring) = db.open(&test_master_key());
    connect_demo(&pool, &ring, &portal_a, &member, &["steps", "heart_rate"]);
    Setup {
        hub,
        portal_a,
        key_a,
        key_b,
        member,
        db: pool,
        ring,
    }
}

/// Connect `member` of `portal` to the demo vendor with `granted` data types.
pub fn connect_demo(
    db: &tributary::db::Database,
    ring: &tributary::keys::KeyRing,
    portal: &str,
    member: &str,
    granted: &[&str],
) {
    let granted: Vec<String> = granted.iter().map(|t| (*t).to_owned()).collect();
    let mut conn = db.conn().unwrap();
    connections::connect(
        &mut conn,
        ring,
        &PortalId::parse(portal).unwrap(),
        &MemberId::parse(member).unwrap(),
        &connections::Grant {
            vendor: "demo",
            data_types: &granted,
            scopes: &[],
            not_granted: &[],
            vendor_app_id: None,
            vendor_user: None,
            keep_vendor_user: false,
        },
        &connections::Tokens {
            access: "a".to_owned().into(),
            refresh: None,
            access_expires_at: None,
        },
        connections::Channel::Hub,
    )
    .unwrap();
}

impl Setup {
    pub fn upsert(&self, batch: &[NewObservation]) -> UpsertReport {
        self.upsert_for(&self.member, batch)
    }

    pub fn upsert_for(&self, member: &str, batch: &[NewObservation]) -> UpsertReport {
        let mut conn = self.db.conn().unwrap();
        upsert_batch(
            &mut conn,
            &self.ring,
            &MemberId::parse(member).unwrap(),
            batch,
        )
        .unwrap()
    }

    pub fn fhir(&self, key: &str, path: &str) -> (u16, Value) {
        let res = Api::new(&self.hub, Some(key))
            .request("GET", &format!("/fhir/r4{path}"))
            .send()
            .unwrap();
        let status = res.status().as_u16();
        let ct = res.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(ct.starts_with("application/fhir+json"), "{path}: {ct}");
        (status, res.json().unwrap())
    }

    /// Search, validate the Bundle, and return the resources' ids in order.
    pub fn ids(&self, query: &str) -> Vec<String> {
        let (s, b) = self.fhir(
            &self.key_a,
            &format!("/Observation?patient={}&{query}", self.member),
        );
        assert_eq!(s, 200, "{query}: {b}");
        validate(std::slice::from_ref(&b));
        entries(&b)
    }
}

/// The ids of a searchset's entries (FHIR leaves `entry` out of an empty Bundle).
pub fn entries(b: &Value) -> Vec<String> {
    b["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            assert_eq!(e["search"]["mode"], "match");
            assert!(e["fullUrl"]
                .as_str()
                .unwrap()
                .ends_with(e["resource"]["id"].as_str().unwrap()));
            e["resource"]["id"].as_str().unwrap().to_owned()
        })
        .collect()
}

pub fn week(member: &str) -> Vec<NewObservation> {
    let mut v = Vec::new();
    for d in 1..=7 {
        let day = format!("2026-11-{d:02}");
        v.push(steps(member, &day, 1000 * d));
        v.push(heart_rate(
            member,
            &format!("{day}T08:00:00+01:00"),
            60.0 + f64::from(d),
        ));
    }
    v.push(weight(member, "2026-11-03T07:00:00+01:00", 70.5));
    v
}
