//! The Oura connector on its own: manifest and requests, the project's fixtures,
//! every Oura sample in `shared/vendor-samples`, malformed and mutated payloads,
//! and webhooks.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fixtures;
mod manifest;
mod robustness;
mod samples;
mod webhooks;

use super::*;
use crate::sample::{Metric, Sample, Value};
use crate::testing::dt;

const BASE: &str = "http://127.0.0.1:8080/sandbox";

fn sandbox() -> Oura {
    Oura::new(&Endpoints::Sandbox {
        base: BASE.to_owned(),
    })
}

/// Every data type id the connector serves.
fn type_ids() -> Vec<&'static str> {
    TYPES.iter().map(|t| t.id).collect()
}

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/fixtures/oura/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn parse(data_type: &str, body: &[u8]) -> Page {
    sandbox()
        .parse(&dt(data_type), body)
        .unwrap_or_else(|e| panic!("{data_type}: {e}"))
}

/// `(metric, value, unit, start, end)` of a quantity sample, times as RFC 3339.
fn row(s: &Sample) -> (Metric, String, String, String, Option<String>) {
    let q = s
        .quantity()
        .unwrap_or_else(|| panic!("{s:?} is no quantity"));
    (
        s.metric,
        q.value.clone(),
        q.unit.clone(),
        s.start.to_rfc3339(),
        s.end.map(|e| e.to_rfc3339()),
    )
}

fn rows(page: &Page) -> Vec<(Metric, String, String, String, Option<String>)> {
    page.samples.iter().map(row).collect()
}

/// Shorthand for an expected row.
fn r(
    metric: Metric,
    value: &str,
    unit: &str,
    start: &str,
    end: Option<&str>,
) -> (Metric, String, String, String, Option<String>) {
    (
        metric,
        value.to_owned(),
        unit.to_owned(),
        start.to_owned(),
        end.map(str::to_owned),
    )
}

fn skipped(page: &Page) -> Vec<(&str, &str)> {
    page.skipped
        .iter()
        .map(|s| (s.path.as_str(), s.reason))
        .collect()
}

fn workout_of(s: &Sample) -> &crate::Workout {
    match &s.value {
        Value::Workout(w) => w,
        other => panic!("{other:?} is no workout"),
    }
}
