//! One `GET /v3/users/self/egvs` body into [`Sample`]s.
//!
//! Policy: `records` is required, and so is each record's `recordId`, `systemTime`,
//! `displayTime` and `unit`; a record with a `null` value or an unknown unit is
//! skipped and counted. The optional fields (`trend`, `transmitterId`,
//! `transmitterGeneration`, `displayDevice`, `status`) only add detail. A `status`
//! of `high` or `low` marks a value at the sensor's limit (it read above or below
//! it); the value is kept as Dexcom sent it, since a sample has no comparator.

use super::glucose::{self, Reading};
use super::time::{display_offset, parse_stamp, plausible, Stamp};
use super::{EGVS, VENDOR};
use crate::connector::{Page, ParseError, Skipped};
use crate::raw::{join, Object, Reader};
use crate::sample::{Metric, Quantity, Sample, Value};
use serde_json::value::RawValue;

const READER: Reader = Reader::new(VENDOR, EGVS);

/// The vendor's name for the metric (its `recordType`).
const VENDOR_CODE: &str = "egv";

/// Parse a whole response body.
pub(super) fn page(body: &[u8]) -> Result<Page, ParseError> {
    let r = READER;
    let root = r.object(r.root(body)?, "$")?;
    // `egv` per the docs; a body of another record type is not an answer to egvs.
    if let Some(kind) = r.string(&root, "", "recordType")? {
        if kind != "egv" && kind != "egvs" {
            return Err(r.err("recordType", "not an EGV response"));
        }
    }
    let Some(records) = root.get("records") else {
        return Err(r.err("records", "missing"));
    };
    let mut page = Page::default();
    for (i, raw) in r.array(records, "records")?.into_iter().enumerate() {
        let path = format!("records[{i}]");
        match record(&path, raw)? {
            Ok(sample) => page.samples.push(sample),
            Err(reason) => page.skipped.push(Skipped { path, reason }),
        }
    }
    Ok(page)
}

/// One record: a sample, a reason to skip it, or a fault.
fn record(path: &str, raw: &RawValue) -> Result<Result<Sample, &'static str>, ParseError> {
    let r = READER;
    let obj = r.object(raw, path)?;
    let id = r.nonempty_string(&obj, path, "recordId")?;
    let system = stamp(&obj, path, "systemTime")?;
    let display = stamp(&obj, path, "displayTime")?;
    let start = system
        .instant()
        .map(|t| t.with_timezone(&display_offset(display.clock, t)))
        .filter(|t| plausible(*t))
        .ok_or_else(|| r.err(join(path, "systemTime"), "out of range"))?;
    let device = glucose::device(
        r.string(&obj, path, "transmitterId")?,
        r.string(&obj, path, "transmitterGeneration")?.as_deref(),
        r.string(&obj, path, "displayDevice")?.as_deref(),
    );
    let unit = r.nonempty_string(&obj, path, "unit")?;
    let trend = r.string(&obj, path, "trend")?;
    let status = r.string(&obj, path, "status")?;
    let ucum = match glucose::ucum_unit(&unit) {
        Ok(ucum) => ucum,
        Err(reason) => return Ok(Err(reason)),
    };
    let value = match glucose::value(obj.get("value").copied(), ucum) {
        Ok(Reading::Value(v)) => v,
        // A reading beyond the sensor's range may come without a number.
        Ok(Reading::Skip(glucose::NO_VALUE))
            if matches!(status.as_deref(), Some("high" | "low")) =>
        {
            return Ok(Err("beyond the sensor's range, no glucose value"))
        }
        Ok(Reading::Skip(reason)) => return Ok(Err(reason)),
        Err(problem) => return Err(r.err(join(path, "value"), problem)),
    };
    Ok(Ok(Sample {
        metric: Metric::GlucoseCgm,
        vendor_code: VENDOR_CODE.to_owned(),
        value: Value::Quantity(Quantity {
            value,
            unit: ucum.to_owned(),
        }),
        start,
        end: None,
        device: Some(device),
        vendor_record_id: Some(id),
        trend: trend.as_deref().and_then(glucose::v3_trend),
    }))
}

fn stamp(obj: &Object<'_>, path: &str, key: &str) -> Result<Stamp, ParseError> {
    let text = READER.nonempty_string(obj, path, key)?;
    parse_stamp(&text).ok_or_else(|| READER.err(join(path, key), "not an ISO 8601 date-time"))
}
