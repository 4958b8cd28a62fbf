//! The Withings connector on its own: manifest and requests, the project's
//! fixtures, every real sample of the vendor, malformed input, notifications.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fixtures;
mod malformed;
mod mutations;
mod notifications;
mod real_samples;
mod requests;

use super::*;
use crate::sample::{Device, Metric, Sample, Value};
use crate::testing::dt;

const SANDBOX: &str = "http://127.0.0.1:8080/sandbox";

fn withings() -> Withings {
    Withings::new(&Endpoints::Production)
}

/// A file of the project's own fixtures.
fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/fixtures/withings/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A real payload from the shared samples (`withings/activity.json`, …).
fn real(name: &str) -> Vec<u8> {
    let path =
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/vendor-samples/").to_owned() + name;
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn parse(data_type: &str, body: &[u8]) -> Page {
    withings()
        .parse(&dt(data_type), body)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A sample as one line: metric, vendor code, value with unit, start, end, record id.
fn line(s: &Sample) -> String {
    let value = match &s.value {
        Value::Quantity(q) => format!("{} {}", q.value, q.unit),
        Value::BloodPressure {
            systolic,
            diastolic,
        } => format!("{}/{} {}", systolic.value, diastolic.value, systolic.unit),
        Value::Workout(_) => "workout".to_owned(),
    };
    let end = s
        .end
        .map(|e| format!(" .. {}", e.to_rfc3339()))
        .unwrap_or_default();
    format!(
        "{} {} {} @ {}{end} #{}",
        s.metric.id(),
        s.vendor_code,
        value,
        s.start.to_rfc3339(),
        s.vendor_record_id.as_deref().unwrap_or("-")
    )
}

fn lines(page: &Page) -> Vec<String> {
    page.samples.iter().map(line).collect()
}

/// The skipped records as `path: reason`.
fn skipped(page: &Page) -> Vec<String> {
    page.skipped
        .iter()
        .map(|s| format!("{}: {}", s.path, s.reason))
        .collect()
}

/// The samples of one metric.
fn of(page: &Page, metric: Metric) -> Vec<&Sample> {
    page.samples.iter().filter(|s| s.metric == metric).collect()
}

fn device(manufacturer: Option<&str>, model: Option<&str>, id: Option<&str>) -> Option<Device> {
    Some(Device {
        manufacturer: manufacturer.map(str::to_owned),
        model: model.map(str::to_owned),
        vendor_device_id: id.map(str::to_owned),
    })
}
