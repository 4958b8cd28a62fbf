//! The Garmin connector's tests: its manifest and requests, its own fixtures, the
//! real push bodies in shared/vendor-samples/garmin, notifications, and payloads
//! of every wrong shape.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fixtures;
mod fuzz;
mod push;
mod requests;
mod robustness;
mod samples;

use super::*;
use crate::connector::Skipped;
use crate::sample::{Sample, Value};
use crate::testing::dt;

/// The project's own Garmin fixtures.
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/garmin");
/// The real Garmin push bodies (RADAR-base's tests), beside the checkout.
const SAMPLES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/vendor-samples/garmin"
);

fn garmin() -> Garmin {
    Garmin::new(&Endpoints::Production)
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{FIXTURES}/{name}")).unwrap()
}

fn sample_file(name: &str) -> Vec<u8> {
    std::fs::read(format!("{SAMPLES}/{name}")).unwrap()
}

fn parse(data_type: &str, body: &[u8]) -> Page {
    garmin()
        .parse(&dt(data_type), body)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// One line per sample, to compare with hand-checked expectations:
/// `metric value unit start..end #record [device]`.
fn show(s: &Sample) -> String {
    let value = match &s.value {
        Value::Quantity(q) => format!("{} {}", q.value, q.unit),
        Value::BloodPressure {
            systolic,
            diastolic,
        } => format!("{}/{} {}", systolic.value, diastolic.value, systolic.unit),
        Value::Workout(w) => {
            let part = |q: &Option<crate::sample::Quantity>| {
                q.as_ref()
                    .map_or("-".to_owned(), |q| format!("{} {}", q.value, q.unit))
            };
            format!(
                "{} {} {} {} {}",
                w.activity,
                w.duration.value,
                w.duration.unit,
                part(&w.energy),
                part(&w.distance)
            )
        }
    };
    let end = s.end.map(|e| e.to_rfc3339()).unwrap_or_default();
    let mut line = format!(
        "{} {value} {}..{end} #{}",
        s.metric.id(),
        s.start.to_rfc3339(),
        s.vendor_record_id.as_deref().unwrap_or("-")
    );
    if let Some(d) = &s.device {
        line.push_str(&format!(
            " [{}/{}]",
            d.manufacturer.as_deref().unwrap_or("-"),
            d.model.as_deref().unwrap_or("-")
        ));
    }
    line
}

fn lines(page: &Page) -> Vec<String> {
    page.samples.iter().map(show).collect()
}

fn skipped(page: &Page) -> Vec<(&str, &str)> {
    page.skipped
        .iter()
        .map(|Skipped { path, reason }| (path.as_str(), *reason))
        .collect()
}
