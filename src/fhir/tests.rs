//! The normaliser against FHIR-MAPPING.md, row by row, on the project's fixture of
//! one sample per metric (`tests/fixtures/every-metric.samples.json`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use serde_json::Value as Json;
use std::collections::HashSet;
use tributary_connectors::{Metric, Value};

const FIXTURE: &str = include_str!("../../tests/fixtures/every-metric.samples.json");
const L: &str = "http://loinc.org";
const SCT: &str = "http://snomed.info/sct";
const LOCAL: &str = "urn:tributary:codesystem:metric";
const VS: &[&str] = &["vital-signs"];
const ACT: &[&str] = &["activity", "PhysicalActivity"];
const LAB: &[&str] = &["laboratory"];
const NO: &[&str] = &[];

/// The mapping table, copied by hand from FHIR-MAPPING.md: metric, the sample's
/// unit (glucose has two rows), codes, UCUM unit, categories, effectivePeriod?
type Row = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
    &'static str,
    &'static [&'static str],
    bool,
);
const MAPPING: &[Row] = &[
    ("heart_rate", "/min", &[(L, "8867-4")], "/min", VS, false),
    (
        "resting_heart_rate_daily",
        "/min",
        &[(L, "40443-4")],
        "/min",
        ACT,
        true,
    ),
    (
        "max_heart_rate24h",
        "/min",
        &[(L, "8873-2")],
        "/min",
        ACT,
        true,
    ),
    ("hrv_sdnn", "ms", &[(L, "80404-7")], "ms", VS, false),
    ("hrv_rmssd", "ms", &[(LOCAL, "hrv-rmssd")], "ms", NO, false),
    ("steps_daily", "/d", &[(L, "41950-7")], "/d", ACT, true),
    ("steps", "{steps}", &[(L, "55423-8")], "{steps}", ACT, true),
    (
        "energy_burned_daily",
        "kcal/d",
        &[(L, "41979-6")],
        "kcal/d",
        ACT,
        true,
    ),
    (
        "active_energy",
        "kcal",
        &[(L, "41981-2")],
        "kcal",
        ACT,
        true,
    ),
    (
        "workout_energy",
        "kcal",
        &[(L, "55424-6")],
        "kcal",
        ACT,
        true,
    ),
    ("distance", "m", &[(LOCAL, "distance")], "m", ACT, true),
    (
        "sleep_duration",
        "min",
        &[(L, "93832-4"), (SCT, "248263006")],
        "min",
        NO,
        true,
    ),
    ("sleep_deep", "min", &[(L, "93831-6")], "min", NO, true),
    ("sleep_light", "min", &[(L, "93830-8")], "min", NO, true),
    ("sleep_rem", "min", &[(L, "93829-0")], "min", NO, true),
    ("body_weight", "kg", &[(L, "29463-7")], "kg", VS, false),
    ("body_height", "cm", &[(L, "8302-2")], "cm", VS, false),
    ("bmi", "kg/m2", &[(L, "39156-5")], "kg/m2", VS, false),
    ("body_fat", "%", &[(L, "41982-0")], "%", NO, false),
    (
        "spo2",
        "%",
        &[(L, "2708-6"), (L, "59408-5")],
        "%",
        VS,
        false,
    ),
    (
        "respiratory_rate",
        "/min",
        &[(L, "9279-1")],
        "/min",
        VS,
        false,
    ),
    (
        "body_temperature",
        "Cel",
        &[(L, "8310-5")],
        "Cel",
        VS,
        false,
    ),
    (
        "skin_temperature_deviation",
        "Cel",
        &[(LOCAL, "skin-temperature-deviation")],
        "Cel",
        NO,
        true,
    ),
    (
        "glucose_cgm",
        "mg/dL",
        &[(L, "99504-3")],
        "mg/dL",
        LAB,
        false,
    ),
    (
        "glucose_cgm",
        "mmol/L",
        &[(L, "105272-9")],
        "mmol/L",
        LAB,
        false,
    ),
    (
        "glucose_meter",
        "mg/dL",
        &[(L, "41653-7")],
        "mg/dL",
        LAB,
        false,
    ),
    (
        "glucose_meter",
        "mmol/L",
        &[(L, "14743-9")],
        "mmol/L",
        LAB,
        false,
    ),
];

fn samples() -> Vec<Sample> {
    serde_json::from_str(FIXTURE).unwrap()
}

fn ctx() -> Context {
    Context::new("acme", "everything", "member-1").unwrap()
}

fn json(n: &Normalized) -> Json {
    serde_json::from_str(&n.resource).unwrap()
}

fn codings(concept: &Json) -> Vec<(String, String)> {
    concept["coding"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap().to_owned();
            (s("system"), s("code"))
        })
        .collect()
}

fn sample_unit(s: &Sample) -> &str {
    s.quantity().map_or("", |q| q.unit.as_str())
}

#[test]
fn the_fixture_covers_every_metric_and_both_glucose_units() {
    let seen: HashSet<Metric> = samples().iter().map(|s| s.metric).collect();
    assert_eq!(seen.len(), Metric::ALL.len());
    let rows: HashSet<(&str, &str)> = MAPPING.iter().map(|r| (r.0, r.1)).collect();
    for s in samples() {
        let simple = !matches!(s.metric, Metric::Workout | Metric::BloodPressure);
        assert!(
            !simple || rows.contains(&(s.metric.id(), sample_unit(&s))),
            "{s:?}"
        );
    }
}

#[test]
fn every_quantity_metric_has_the_codes_unit_category_and_effective_of_its_row() {
    for s in samples() {
        let Some(row) = MAPPING
            .iter()
            .find(|r| r.0 == s.metric.id() && r.1 == sample_unit(&s))
        else {
            continue;
        };
        let (_, _, codes, ucum, categories, period) = *row;
        let out = normalize(&ctx(), &s).unwrap();
        assert_eq!(out.len(), 1);
        let n = &out[0];
        let o = json(n);
        let mut want: Vec<(String, String)> = codes
            .iter()
            .map(|(sy, c)| ((*sy).to_owned(), (*c).to_owned()))
            .collect();
        want.push((
            "urn:tributary:codesystem:vendor:acme".into(),
            s.vendor_code.clone(),
        ));
        assert_eq!(codings(&o["code"]), want, "{}", s.metric.id());
        assert_eq!(n.codes, want);
        let q = &o["valueQuantity"];
        assert_eq!(q["system"], "http://unitsofmeasure.org");
        assert_eq!(
            (q["code"].as_str(), q["unit"].as_str()),
            (Some(ucum), Some(ucum))
        );
        let value: f64 = s.quantity().unwrap().value.parse().unwrap();
        assert_eq!(q["value"].as_f64(), Some(value));
        check_categories(&o, categories);
        assert_eq!(n.categories, categories);
        check_effective(&o, &s, period);
        check_common(n, &o, &s);
    }
}

fn check_categories(o: &Json, want: &[&str]) {
    let got: Vec<(String, String)> = o["category"]
        .as_array()
        .map(|a| a.iter().flat_map(codings).collect())
        .unwrap_or_default();
    let expected: Vec<(String, String)> = want
        .iter()
        .map(|c| {
            let system = if *c == "PhysicalActivity" {
                "http://hl7.org/fhir/us/physical-activity/CodeSystem/pa-temporary-codes"
            } else {
                "http://terminology.hl7.org/CodeSystem/observation-category"
            };
            (system.to_owned(), (*c).to_owned())
        })
        .collect();
    assert_eq!(got, expected);
}

fn check_effective(o: &Json, s: &Sample, period: bool) {
    let start = s.start.to_rfc3339();
    if period {
        assert_eq!(o["effectivePeriod"]["start"], start.as_str());
        assert_eq!(
            o["effectivePeriod"]["end"],
            s.end.unwrap().to_rfc3339().as_str()
        );
        assert!(o.get("effectiveDateTime").is_none());
    } else {
        assert_eq!(
            o["effectiveDateTime"],
            start.as_str(),
            "offset kept, not UTC"
        );
        assert!(o.get("effectivePeriod").is_none());
    }
}

fn check_common(n: &Normalized, o: &Json, s: &Sample) {
    assert_eq!(o["resourceType"], "Observation");
    assert_eq!(o["status"], "final");
    assert_eq!(o["id"], n.id.as_str());
    assert_eq!(n.id.len(), 32);
    assert!(n
        .id
        .bytes()
        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    assert_eq!(n.id, identity::observation_id("member-1", &n.identifier));
    assert_eq!(o["subject"]["reference"], "Patient/member-1");
    assert_eq!(o["meta"]["source"], "urn:tributary:vendor:acme");
    assert_eq!(
        o["identifier"][0]["system"],
        "urn:tributary:sid:observation"
    );
    assert_eq!(o["identifier"][0]["value"], n.identifier.as_str());
    let ext = &o["extension"][0];
    assert_eq!(
        ext["url"],
        "http://hl7.org/fhir/StructureDefinition/observation-gatewayDevice"
    );
    assert_eq!(ext["valueReference"]["display"], "Tributary hub");
    match &s.device {
        Some(d) => {
            assert_eq!(o["device"]["reference"], "#device");
            let dev = &o["contained"][0];
            assert_eq!(dev["resourceType"], "Device");
            assert_eq!(dev["id"], "device");
            assert_eq!(dev["manufacturer"], d.manufacturer.as_deref().unwrap());
            assert_eq!(dev["deviceName"][0]["name"], d.model.as_deref().unwrap());
            assert_eq!(dev["deviceName"][0]["type"], "model-name");
            assert_eq!(
                dev["identifier"][0]["value"],
                d.vendor_device_id.as_deref().unwrap()
            );
        }
        None => assert!(o.get("device").is_none() && o.get("contained").is_none()),
    }
    assert_eq!(
        (n.vendor.as_str(), n.data_type.as_str()),
        ("acme", "everything")
    );
    assert_eq!(n.effective_start, s.start);
    assert_eq!(n.effective_end, s.end.unwrap_or(s.start));
}

fn only(metric: Metric) -> Sample {
    samples().into_iter().find(|s| s.metric == metric).unwrap()
}

#[test]
fn blood_pressure_is_a_panel_with_components_and_no_value() {
    let s = only(Metric::BloodPressure);
    let out = normalize(&ctx(), &s).unwrap();
    let o = json(&out[0]);
    assert_eq!(codings(&o["code"])[0], (L.to_owned(), "85354-9".to_owned()));
    assert!(o.get("valueQuantity").is_none());
    check_categories(&o, VS);
    check_effective(&o, &s, false);
    let comps = o["component"].as_array().unwrap();
    let got: Vec<_> = comps
        .iter()
        .map(|c| {
            let q = &c["valueQuantity"];
            (
                codings(&c["code"]),
                q["value"].as_f64().unwrap(),
                q["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let code = |c: &str| vec![(L.to_owned(), c.to_owned())];
    assert_eq!(
        got,
        [
            (code("8480-6"), 121.0, "mm[Hg]".to_owned()),
            (code("8462-4"), 79.0, "mm[Hg]".to_owned())
        ]
    );
    check_common(&out[0], &o, &s);
}

#[test]
fn a_workout_is_an_activity_group_panel_with_its_members() {
    let s = only(Metric::Workout);
    let out = normalize(&ctx(), &s).unwrap();
    assert_eq!(out.len(), 4);
    let panel = json(&out[0]);
    assert_eq!(
        codings(&panel["code"])[0],
        (L.to_owned(), "73985-4".to_owned())
    );
    assert_eq!(panel["valueCodeableConcept"]["text"], "running");
    assert_eq!(
        panel["valueCodeableConcept"]["coding"][0]["system"],
        "urn:tributary:codesystem:vendor:acme:activity"
    );
    check_categories(&panel, ACT);
    check_effective(&panel, &s, true);
    check_common(&out[0], &panel, &s);
    let refs: Vec<String> = panel["hasMember"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["reference"].as_str().unwrap().to_owned())
        .collect();
    let want = [
        ("55411-3", L, "min", 45.0, "duration"),
        ("55424-6", L, "kcal", 320.0, "energy"),
        ("distance", LOCAL, "m", 7012.5, "distance"),
    ];
    for (i, (code, system, unit, value, suffix)) in want.into_iter().enumerate() {
        let m = &out[i + 1];
        let o = json(m);
        assert_eq!(refs[i], format!("Observation/{}", m.id));
        assert_eq!(codings(&o["code"]), [(system.to_owned(), code.to_owned())]);
        assert_eq!(o["valueQuantity"]["code"], unit);
        assert_eq!(o["valueQuantity"]["value"].as_f64(), Some(value));
        assert_eq!(m.identifier, format!("{}-{suffix}", out[0].identifier));
        check_categories(&o, ACT);
        check_effective(&o, &s, true);
        check_common(m, &o, &s);
    }
}

#[test]
fn identity_is_deterministic_and_follows_the_record_id_or_the_content() {
    let all = normalize_all(&ctx(), &samples()).unwrap();
    let again = normalize_all(&ctx(), &samples()).unwrap();
    assert_eq!(all, again);
    let ids: HashSet<&str> = all.iter().map(|n| n.id.as_str()).collect();
    assert_eq!(ids.len(), all.len(), "ids are unique");
    let mut s = only(Metric::HeartRate);
    let first = normalize(&ctx(), &s).unwrap().remove(0);
    // With a record id, a corrected value keeps the identifier.
    s.value = Value::Quantity(tributary_connectors::Quantity {
        value: "62".into(),
        unit: "/min".into(),
    });
    assert_eq!(
        normalize(&ctx(), &s).unwrap()[0].identifier,
        first.identifier
    );
    // Without one, the content decides.
    s.vendor_record_id = None;
    let a = normalize(&ctx(), &s).unwrap().remove(0);
    assert_ne!(a.identifier, first.identifier);
    assert_eq!(normalize(&ctx(), &s).unwrap()[0].identifier, a.identifier);
    s.start += chrono::Duration::minutes(1);
    assert_ne!(normalize(&ctx(), &s).unwrap()[0].identifier, a.identifier);
    // Another member: same identifier, another id.
    let other = Context::new("acme", "everything", "member-2").unwrap();
    let b = normalize(&other, &s).unwrap().remove(0);
    let c = normalize(&ctx(), &s).unwrap().remove(0);
    assert_eq!(b.identifier, c.identifier);
    assert_ne!(b.id, c.id);
}

#[test]
fn samples_that_do_not_fit_their_row_are_errors() {
    let mut s = only(Metric::BodyWeight);
    s.value = Value::Quantity(tributary_connectors::Quantity {
        value: "160".into(),
        unit: "[lb_av]".into(),
    });
    assert!(matches!(
        normalize(&ctx(), &s),
        Err(NormalizeError::Unit { expected: "kg", .. })
    ));
    s.value = Value::Quantity(tributary_connectors::Quantity {
        value: "NaN".into(),
        unit: "kg".into(),
    });
    assert!(matches!(
        normalize(&ctx(), &s),
        Err(NormalizeError::Number { .. })
    ));
    let mut steps = only(Metric::StepsDaily);
    steps.end = None;
    assert!(matches!(
        normalize(&ctx(), &steps),
        Err(NormalizeError::NoEnd { .. })
    ));
    steps.end = Some(steps.start - chrono::Duration::hours(1));
    assert!(matches!(
        normalize(&ctx(), &steps),
        Err(NormalizeError::EndBeforeStart { .. })
    ));
    let mut bp = only(Metric::BloodPressure);
    bp.metric = Metric::HeartRate;
    assert!(matches!(
        normalize(&ctx(), &bp),
        Err(NormalizeError::ValueKind { .. })
    ));
    let mut odd = only(Metric::HeartRate);
    // An offset with seconds cannot be a FHIR instant.
    odd.start = odd
        .start
        .with_timezone(&chrono::FixedOffset::east_opt(3630).unwrap());
    assert!(matches!(
        normalize(&ctx(), &odd),
        Err(NormalizeError::Time(_))
    ));
    assert!(matches!(
        Context::new("acme", "x", "a/b"),
        Err(NormalizeError::MemberId(_))
    ));
}

#[test]
fn patient_and_bundle() {
    let p = patient("member-1", "portal-9", "uk-42").unwrap();
    let o: Json = serde_json::from_slice(&json::to_vec(&p).unwrap()).unwrap();
    assert_eq!(
        o,
        serde_json::json!({
            "resourceType": "Patient", "id": "member-1",
            "identifier": [{"system": "urn:tributary:portal:portal-9:user-key", "value": "uk-42"}]
        })
    );
    let all = normalize_all(&ctx(), &samples()).unwrap();
    let n = all.len();
    let bundle = collection_bundle(
        all.into_iter()
            .map(|n| fhir_sdk::r4b::resources::Resource::Observation(n.observation().unwrap())),
    )
    .unwrap();
    let b: Json = serde_json::from_slice(&json::to_vec(&bundle).unwrap()).unwrap();
    assert_eq!(b["type"], "collection");
    assert_eq!(b["entry"].as_array().unwrap().len(), n);
    // Whole numbers stay whole; a decimal keeps its digits (but not trailing zeros).
    let text = String::from_utf8(json::to_vec(&bundle).unwrap()).unwrap();
    assert!(
        text.contains(r#""value":8000,"#) && text.contains(r#""value":72.5,"#),
        "{text}"
    );
}
