//! The four real vendors' connectors through `tributary normalize`, on every real
//! payload of theirs in `../shared/vendor-samples/` and on the project's own
//! fixtures (`connectors/fixtures/`): each output is checked by the external FHIR
//! validator, its observation count is pinned, and specific values are checked by
//! hand against the payloads and their `EXPECTED.md` (weights, blood pressures,
//! step counts, times with the source's UTC offset).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use serde_json::Value;
use std::path::{Path, PathBuf};

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/vendor-samples")
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("connectors/fixtures")
}

fn validator() -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/tools/fhir-validate");
    assert!(
        path.is_file(),
        "the FHIR validator is missing at {}",
        path.display()
    );
    path
}

/// Normalise `file`, validate the Bundle externally, and return it with stderr.
fn normalize(vendor: &str, data_type: &str, file: &Path) -> (Value, String) {
    assert!(file.is_file(), "missing input {}", file.display());
    let dir = tempfile::tempdir().unwrap();
    let out = common::run(
        dir.path(),
        &[],
        &[
            "normalize",
            "--vendor",
            vendor,
            "--data-type",
            data_type,
            "--patient",
            "m-1",
            file.to_str().unwrap(),
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "{vendor} {data_type} {}: {err}",
        file.display()
    );
    let bundle = dir.path().join("out.json");
    std::fs::write(&bundle, &out.stdout).unwrap();
    let checked = std::process::Command::new(validator())
        .arg(&bundle)
        .output()
        .unwrap();
    assert!(
        checked.status.success(),
        "fhir-validate rejected {vendor} {data_type} {}:\n{}{}",
        file.display(),
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
    (serde_json::from_slice(&out.stdout).unwrap(), err)
}

/// One line per observation: `code value unit @ start`, blood pressure as
/// `85354-9 sys/dia mm[Hg] @ start`.
fn facts(bundle: &Value) -> Vec<String> {
    let entries = bundle["entry"].as_array().cloned().unwrap_or_default();
    entries
        .iter()
        .map(|e| {
            let r = &e["resource"];
            let code = r["code"]["coding"][0]["code"].as_str().unwrap_or("?");
            let start = r["effectiveDateTime"]
                .as_str()
                .or_else(|| r["effectivePeriod"]["start"].as_str())
                .unwrap_or("?");
            let q = &r["valueQuantity"];
            if let Some(components) = r["component"].as_array().filter(|_| !q.is_object()) {
                let v: Vec<String> = components
                    .iter()
                    .map(|c| c["valueQuantity"]["value"].to_string())
                    .collect();
                let unit = components[0]["valueQuantity"]["code"]
                    .as_str()
                    .unwrap_or("?");
                format!("{code} {} {unit} @ {start}", v.join("/"))
            } else if q.is_object() {
                let unit = q["code"].as_str().unwrap_or("?");
                format!("{code} {} {unit} @ {start}", q["value"])
            } else {
                format!("{code} @ {start}")
            }
        })
        .collect()
}

/// (vendor, data type, real sample, observations, facts that must be among them)
const REAL: &[(&str, &str, &str, usize, &[&str])] = &[
    // Shimmer's Withings expectations (withings-legacy/EXPECTED.md), with the zone's offset.
    (
        "withings",
        "body_measures",
        "withings-legacy/withings-body-measures.json",
        8,
        &[
            "29463-7 74.126 kg @ 2015-05-30T23:06:23-07:00",
            "29463-7 74.128 kg @ 2015-04-20T10:13:56-07:00",
            "85354-9 104/68 mm[Hg] @ 2015-05-30T23:06:23-07:00",
            "8867-4 41 /min @ 2015-05-30T23:06:23-07:00",
            "8867-4 47 /min @ 2015-02-26T13:57:17-08:00",
            "8302-2 193 cm @ 2015-02-23T11:24:49-08:00",
            "8310-5 37 Cel @ 2015-02-23T11:24:49-08:00",
        ],
    ),
    // A goal only: nothing.
    (
        "withings",
        "body_measures",
        "withings-legacy/withings-body-measures-only-goal.json",
        0,
        &[],
    ),
    (
        "withings",
        "body_measures",
        "withings/get_meas.json",
        16,
        &[
            "29463-7 70 kg @ 2019-08-01T12:00:00Z",
            "8302-2 200 cm @ 2019-08-01T12:00:00Z",
        ],
    ),
    (
        "withings",
        "body_measures",
        "withings/get_meas_1.json",
        8,
        &["29463-7 70 kg @ 2021-04-16T20:30:55Z"],
    ),
    (
        "withings",
        "body_measures",
        "withings/measurements.json",
        16,
        &["29463-7 70 kg @ 2019-08-01T12:00:00Z"],
    ),
    (
        "withings",
        "body_measures",
        "withings/measurements_1.json",
        8,
        &["29463-7 70 kg @ 2021-04-16T20:30:55Z"],
    ),
    // Europe/Amsterdam in September: +02:00.
    (
        "withings",
        "body_measures",
        "withings-aiowithings/measurement.json",
        2,
        &["29463-7 118.003 kg @ 2023-09-02T12:39:11+02:00"],
    ),
    (
        "withings",
        "body_measures",
        "withings-aiowithings/measurement_list_2.json",
        39,
        &[
            "29463-7 95.817 kg @ 2023-12-25T17:04:23Z",
            "8867-4 120 /min @ 2023-12-25T17:04:23Z",
        ],
    ),
    (
        "withings",
        "body_measures",
        "withings-aiowithings/measurement_positions.json",
        4,
        &[
            "29463-7 95.854 kg @ 2024-01-09T03:08:39Z",
            "41982-0 19.467 % @ 2024-01-09T03:08:39Z",
        ],
    ),
    (
        "withings",
        "activity",
        "withings/activity.json",
        56,
        &[
            "41950-7 1892 /d @ 2023-10-08T00:00:00+02:00",
            "distance 1607.93 m @ 2023-10-08T00:00:00+02:00",
            "41981-2 204.796 kcal @ 2023-10-08T00:00:00+02:00",
            "41979-6 2454.481 kcal/d @ 2023-10-08T00:00:00+02:00",
        ],
    ),
    (
        "withings",
        "activity",
        "withings-aiowithings/activity.json",
        8,
        &["41950-7 1209 /d @ 2023-10-20T00:00:00+02:00"],
    ),
    // Shimmer's four days; February is PST (-08:00), June PDT (-07:00).
    (
        "withings",
        "activity",
        "withings-legacy/withings-activity-measures.json",
        12,
        &[
            "41950-7 2934 /d @ 2015-06-18T00:00:00-07:00",
            "41950-7 2600 /d @ 2015-06-19T00:00:00-07:00",
            "41950-7 5458 /d @ 2015-06-20T00:00:00-07:00",
            "41950-7 1798 /d @ 2015-02-21T00:00:00-08:00",
            "41981-2 139 kcal @ 2015-06-18T00:00:00-07:00",
        ],
    ),
    (
        "withings",
        "sleep_summary",
        "withings/sleep_summaries.json",
        25,
        &[
            "93832-4 448 min @ 2021-04-16T22:30:55+02:00",
            "93831-6 120 min @ 2021-04-16T22:30:55+02:00",
            "93829-0 114 min @ 2021-04-16T22:30:55+02:00",
            "8867-4 85 /min @ 2021-04-16T22:30:55+02:00",
        ],
    ),
    (
        "withings",
        "sleep_summary",
        "withings-legacy/withings-sleep-summary.json",
        6,
        &[
            "93832-4 186 min @ 2017-09-02T00:15:00+01:00",
            "93832-4 495 min @ 2017-09-03T23:19:00+01:00",
        ],
    ),
    (
        "oura",
        "daily_activity",
        "oura-v2-synthetic/daily_activity.json",
        6,
        &[
            "41950-7 8342 /d @ 2026-08-10T00:00:00Z",
            "41979-6 2510 kcal/d @ 2026-08-10T00:00:00Z",
        ],
    ),
    (
        "oura",
        "sleep",
        "oura-v2-synthetic/sleep_page1.json",
        6,
        &[
            "93832-4 450 min @ 2026-08-09T23:14:02-07:00",
            "hrv-rmssd 42 ms @ 2026-08-09T23:14:02-07:00",
        ],
    ),
    (
        "oura",
        "sleep",
        "oura-v2-synthetic/sleep_page2.json",
        6,
        &["93832-4 405 min @ 2026-08-10T23:40:15-07:00"],
    ),
    (
        "oura",
        "heartrate",
        "oura-v2-synthetic/heartrate.json",
        7,
        &["8867-4 48 /min @ 2026-08-10T02:00:00-07:00"],
    ),
    (
        "oura",
        "daily_spo2",
        "oura-v2-synthetic/daily_spo2.json",
        2,
        &["2708-6 97.2 % @ 2026-08-10T00:00:00Z"],
    ),
    (
        "oura",
        "temperature",
        "oura-v2-synthetic/daily_readiness.json",
        2,
        &["skin-temperature-deviation -0.1 Cel @ 2026-08-10T00:00:00Z"],
    ),
    (
        "oura",
        "workout",
        "oura-v2-synthetic/workout.json",
        7,
        &["55411-3 69 min @ 2026-08-10T17:02:00-07:00"],
    ),
    // Garmin push bodies (RADAR-PushEndpoint): offsets from startTimeOffsetInSeconds.
    (
        "garmin",
        "dailies",
        "garmin/dailies.json",
        9,
        &[
            "41950-7 4210 /d @ 2016-01-11T00:00:00+01:00",
            "41950-7 3305 /d @ 2016-01-12T00:00:00+01:00",
            "8873-2 112 /min @ 2016-01-11T00:00:00+01:00",
        ],
    ),
    (
        "garmin",
        "sleeps",
        "garmin/sleeps.json",
        6,
        &["93831-6 187.18 min @ 2016-01-10T11:53:01+02:00"],
    ),
    (
        "garmin",
        "body_compositions",
        "garmin/body-comps.json",
        6,
        &[
            "29463-7 75.45 kg @ 2015-08-16T16:05:30Z",
            "39156-5 23.2 kg/m2 @ 2015-08-16T16:05:30Z",
            "41982-0 17.1 % @ 2015-08-16T16:05:30Z",
        ],
    ),
    (
        "garmin",
        "pulse_ox",
        "garmin/pulse-ox.json",
        1,
        &["2708-6 93 % @ 2019-10-29T15:29:00+01:00"],
    ),
    (
        "garmin",
        "respiration",
        "garmin/respiration.json",
        11,
        &["9279-1 14.63 /min @ 2019-09-10T22:15:00-05:00"],
    ),
    (
        "garmin",
        "hrv",
        "garmin/hrv.json",
        1,
        &["hrv-rmssd 44 ms @ 2022-05-31T00:46:44-05:00"],
    ),
    (
        "garmin",
        "blood_pressures",
        "garmin/blood-pressure.json",
        2,
        &[
            "85354-9 120/110 mm[Hg] @ 2022-09-21T11:00:00-05:00",
            "8867-4 82 /min @ 2022-09-21T11:00:00-05:00",
        ],
    ),
    (
        "garmin",
        "activities",
        "garmin/activities.json",
        8,
        &["55411-3 193 min @ 2016-01-11T00:00:00Z"],
    ),
    // Dexcom Share: ST 03:13:43Z shown 4 h behind.
    (
        "dexcom",
        "share_glucose",
        "dexcom-share/data.json",
        1,
        &["99504-3 110 mg/dL @ 2020-04-17T23:13:43-04:00"],
    ),
];

#[test]
fn every_real_vendor_sample_normalises_to_valid_fhir_with_its_values() {
    for (vendor, data_type, file, count, expected) in REAL {
        let (bundle, _) = normalize(vendor, data_type, &samples().join(file));
        let got = facts(&bundle);
        assert_eq!(got.len(), *count, "{file}: {got:#?}");
        for fact in *expected {
            assert!(
                got.iter().any(|g| g == fact),
                "{file}: {fact:?} not in {got:#?}"
            );
        }
    }
}

/// (vendor, data type, project fixture)
const OWN: &[(&str, &str, &str)] = &[
    ("withings", "body-measures", "withings/getmeas_page1.json"),
    ("withings", "body-measures", "withings/getmeas_page2.json"),
    ("withings", "activity", "withings/getactivity.json"),
    ("withings", "sleep-summary", "withings/getsummary.json"),
    ("oura", "daily-activity", "oura/daily_activity.json"),
    ("oura", "sleep", "oura/sleep.json"),
    ("oura", "heartrate", "oura/heartrate_page1.json"),
    ("oura", "heartrate", "oura/heartrate_page2.json"),
    ("oura", "daily-spo2", "oura/daily_spo2.json"),
    ("oura", "temperature", "oura/daily_readiness.json"),
    ("oura", "workout", "oura/workout.json"),
    ("garmin", "dailies", "garmin/dailies-pull.json"),
    ("garmin", "sleeps", "garmin/sleeps-pull.json"),
    ("garmin", "body-compositions", "garmin/body-comps-push.json"),
    ("garmin", "pulse-ox", "garmin/pulse-ox-pull.json"),
    ("garmin", "respiration", "garmin/respiration-pull.json"),
    ("garmin", "hrv", "garmin/hrv-pull.json"),
    (
        "garmin",
        "blood-pressures",
        "garmin/blood-pressures-pull.json",
    ),
    ("garmin", "activities", "garmin/activities-pull.json"),
    ("dexcom", "egvs", "dexcom/egvs_mgdl_receiver_dst.json"),
    ("dexcom", "egvs", "dexcom/egvs_mmol_ios_dst.json"),
    ("dexcom", "egvs", "dexcom/egvs_split_1.json"),
];

#[test]
fn every_data_type_of_every_vendor_normalises_to_valid_fhir() {
    let mut seen: Vec<(&str, String)> = Vec::new();
    for (vendor, data_type, file) in OWN {
        let (bundle, _) = normalize(vendor, data_type, &fixtures().join(file));
        assert!(!facts(&bundle).is_empty(), "{file}: no observation");
        seen.push((vendor, data_type.replace('-', "_")));
    }
    // Every data type each manifest offers is covered above.
    let endpoints = tributary_connectors::Endpoints::Production;
    for vendor in ["withings", "oura", "garmin", "dexcom"] {
        let connector = tributary_connectors::registry::connector(vendor, &endpoints).unwrap();
        for spec in &connector.manifest().data_types {
            assert!(
                seen.iter()
                    .any(|(v, d)| *v == vendor && d == spec.id.as_str()),
                "{vendor} {} has no fixture here",
                spec.id
            );
        }
    }
}

#[test]
fn units_across_a_clock_change_and_skipped_records_are_reported() {
    // Dexcom: the display clock moves from -04:00 to -05:00 in the night of
    // 2 November 2025 (New York); readings without a value are counted, not stored.
    let (bundle, err) = normalize(
        "dexcom",
        "egvs",
        &fixtures().join("dexcom/egvs_mgdl_receiver_dst.json"),
    );
    let got = facts(&bundle);
    assert!(got.iter().any(|f| f.ends_with("-04:00")), "{got:#?}");
    assert!(got.iter().any(|f| f.ends_with("-05:00")), "{got:#?}");
    assert!(
        err.contains("skipped 1 record(s): no glucose value"),
        "{err}"
    );
    // Each reading carries the sensor's trend as a component with Dexcom's own code.
    let first = &bundle["entry"][0]["resource"];
    assert_eq!(
        first["component"][0]["code"]["coding"][0]["code"],
        "glucose-trend"
    );
    assert_eq!(
        first["component"][0]["valueCodeableConcept"]["coding"][0]["system"],
        "urn:tributary:codesystem:vendor:dexcom"
    );
    let (share, _) = normalize(
        "dexcom",
        "share-glucose",
        &samples().join("dexcom-share/data.json"),
    );
    assert_eq!(
        share["entry"][0]["resource"]["component"][0]["valueCodeableConcept"]["coding"][0]["code"],
        "flat"
    );
    // Withings goals are left out and said so.
    let (_, err) = normalize(
        "withings",
        "body-measures",
        &samples().join("withings-legacy/withings-body-measures-only-goal.json"),
    );
    assert!(err.contains("a goal, not a measurement"), "{err}");
}

#[test]
fn a_payload_of_another_shape_is_refused_with_the_field_path() {
    let dir = tempfile::tempdir().unwrap();
    // A `sleep get` (segments) answer given as a sleep summary.
    let file = samples().join("withings-aiowithings/sleep_no_datafields.json");
    let out = common::run(
        dir.path(),
        &[],
        &[
            "normalize",
            "--vendor",
            "withings",
            "--data-type",
            "sleep-summary",
            file.to_str().unwrap(),
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("body.series[0].timezone: missing"), "{err}");
    assert!(!err.contains("panicked"));
    for (vendor, data_type) in [("oura", "sleep"), ("garmin", "dailies"), ("dexcom", "egvs")] {
        let input = dir.path().join("bad.json");
        std::fs::write(&input, br#"{"data": 7, "records": "x"}"#).unwrap();
        let out = common::run(
            dir.path(),
            &[],
            &[
                "normalize",
                "--vendor",
                vendor,
                "--data-type",
                data_type,
                input.to_str().unwrap(),
            ],
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{vendor}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{vendor}: {err}");
        assert!(!err.contains("panicked"), "{vendor}: {err}");
    }
}
