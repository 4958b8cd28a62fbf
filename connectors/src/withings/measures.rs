//! `body_measures`: measure groups from `POST /measure action=getmeas`.
//!
//! Policy: one measure group is one moment (`date`, epoch seconds) on one device.
//! Each mapped measure becomes one spot sample at that moment, in the offset of
//! the body's `timezone` (UTC when the payload names none, as bare lists of groups
//! do: their instants are exact, only the member's offset is unknown). Values are
//! `value × 10^unit`, computed on the text. Mapped types (Withings API reference,
//! `meastype` table):
//!
//! | meastype | metric | unit |
//! |---|---|---|
//! | 1 weight (kg) | body weight | `kg` |
//! | 4 height (m) | body height | `cm` (one more power of ten) |
//! | 6 fat ratio (%) | body fat | `%` |
//! | 9 diastolic + 10 systolic (mmHg) | one blood pressure | `mm[Hg]` |
//! | 11 heart pulse (bpm) | heart rate | `/min` |
//! | 54 SpO2 (%) | SpO2 | `%` |
//! | 71 body temperature, 12 temperature (°C) | body temperature | `Cel` |
//!
//! Withings has no BMI meastype, so no BMI sample. Left out and counted: goals
//! (`category` 2), ambiguous groups (`attrib` 1: the scale could not tell who
//! stood on it), skin temperature (73: absolute, not a deviation), body-segment
//! measures, every other type, negative values, a lone half of a blood pressure,
//! and a type repeated within a group (the first counts).
//!
//! `vendor_record_id` is the group's `grpid` (Withings' unique id for the group);
//! meastype 12 appends `:12`, so a group holding both temperature types yields two
//! distinct records.

use super::device::Source;
use super::json::{self, join, Object, Reader, Zoned as _};
use super::{decimal, skip, BODY_MEASURES};
use crate::connector::{Page, ParseError};
use crate::sample::{Device, Metric, Quantity, Sample, Value};
use chrono::{DateTime, FixedOffset};
use chrono_tz::Tz;
use serde_json::value::RawValue;

/// `position` of a measure of the whole body (Withings sends it on scale
/// measures that also come per segment; other positions are one limb or side).
const WHOLE_BODY: i64 = 7;
const SYSTOLIC: i64 = 10;
const DIASTOLIC: i64 = 9;

/// The meastypes a `getmeas` request asks for: the mapped ones.
pub(super) const REQUESTED_TYPES: &str = "1,4,6,9,10,11,12,54,71";

/// What one meastype becomes.
struct Mapping {
    metric: Metric,
    ucum: &'static str,
    /// Added to the measure's `unit` exponent (2 for metres to centimetres).
    shift: i64,
}

fn mapping(meastype: i64) -> Option<Mapping> {
    let (metric, ucum, shift) = match meastype {
        1 => (Metric::BodyWeight, "kg", 0),
        4 => (Metric::BodyHeight, "cm", 2),
        6 => (Metric::BodyFat, "%", 0),
        SYSTOLIC | DIASTOLIC => (Metric::BloodPressure, "mm[Hg]", 0),
        11 => (Metric::HeartRate, "/min", 0),
        54 => (Metric::Spo2, "%", 0),
        12 | 71 => (Metric::BodyTemperature, "Cel", 0),
        _ => return None,
    };
    Some(Mapping {
        metric,
        ucum,
        shift,
    })
}

/// Parse one `getmeas` answer (or its body, or a bare list of groups).
pub(super) fn page(body: &[u8]) -> Result<Page, ParseError> {
    let r = json::reader(BODY_MEASURES);
    let doc = json::open(&r, body, "measuregrps")?;
    let zone = match &doc.body {
        Some(obj) => r.zone(obj, doc.body_path(), "timezone")?,
        None => None,
    }
    .unwrap_or(Tz::UTC);
    let mut page = Page::default();
    for (i, raw) in doc.records.iter().enumerate() {
        group(&r, &mut page, zone, &doc.record_path(i), raw)?;
    }
    page.next_cursor = doc.next_cursor(&r)?;
    Ok(page)
}

/// The facts every sample of a group shares.
struct Group {
    id: String,
    at: DateTime<FixedOffset>,
    device: Option<Device>,
}

/// A mapped measure, in its metric's unit.
struct Measure {
    meastype: i64,
    metric: Metric,
    quantity: Quantity,
}

fn group(
    r: &Reader,
    page: &mut Page,
    zone: Tz,
    path: &str,
    raw: &RawValue,
) -> Result<(), ParseError> {
    let obj = r.object(raw, path)?;
    match r.required_integer(&obj, path, "category")? {
        1 => {}
        2 => {
            skip::record(page, path.to_owned(), skip::GOAL);
            return Ok(());
        }
        _ => {
            skip::record(page, path.to_owned(), skip::UNKNOWN_CATEGORY);
            return Ok(());
        }
    }
    if r.integer(&obj, path, "attrib")? == Some(1) {
        skip::record(page, path.to_owned(), skip::AMBIGUOUS);
        return Ok(());
    }
    let id = r
        .integer_text(&obj, path, "grpid")?
        .ok_or_else(|| r.err(join(path, "grpid"), "missing"))?
        .to_owned();
    let at = r.instant(&obj, path, "date", zone)?;
    let group = Group {
        id,
        at,
        device: Source::read(r, &obj, path)?.device(),
    };
    let measures = r.array(r.required(&obj, path, "measures")?, &join(path, "measures"))?;
    let mut seen: Vec<i64> = Vec::new();
    let (mut systolic, mut diastolic) = (None, None);
    for (j, raw) in measures.iter().enumerate() {
        let path = format!("{path}.measures[{j}]");
        let Some(m) = measure(r, page, &mut seen, &path, raw)? else {
            continue;
        };
        match m.meastype {
            SYSTOLIC => systolic = Some((m.quantity, path)),
            DIASTOLIC => diastolic = Some((m.quantity, path)),
            _ => page.samples.push(spot(&group, m)),
        }
    }
    match (systolic, diastolic) {
        (Some((systolic, _)), Some((diastolic, _))) => page
            .samples
            .push(blood_pressure(&group, systolic, diastolic)),
        (Some((_, path)), None) | (None, Some((_, path))) => {
            skip::record(page, path, skip::HALF_BLOOD_PRESSURE)
        }
        (None, None) => {}
    }
    Ok(())
}

/// One measure of a group: its meastype and value in the metric's unit, or `None`
/// when it is left out (and recorded as skipped).
fn measure(
    r: &Reader,
    page: &mut Page,
    seen: &mut Vec<i64>,
    path: &str,
    raw: &RawValue,
) -> Result<Option<Measure>, ParseError> {
    let m: Object<'_> = r.object(raw, path)?;
    let meastype = r.required_integer(&m, path, "type")?;
    let value = r
        .integer_text(&m, path, "value")?
        .ok_or_else(|| r.err(join(path, "value"), "missing"))?;
    let unit = r.required_integer(&m, path, "unit")?;
    let position = r.integer(&m, path, "position")?;
    let Some(mapping) = mapping(meastype) else {
        let reason = if meastype == 73 {
            skip::SKIN_TEMPERATURE
        } else {
            skip::UNMAPPED_TYPE
        };
        skip::record(page, path.to_owned(), reason);
        return Ok(None);
    };
    let reason = if position.is_some_and(|p| p != WHOLE_BODY) {
        Some(skip::SEGMENT)
    } else if seen.contains(&meastype) {
        Some(skip::REPEATED_TYPE)
    } else if decimal::is_negative(value) {
        Some(skip::NEGATIVE)
    } else {
        None
    };
    if let Some(reason) = reason {
        skip::record(page, path.to_owned(), reason);
        return Ok(None);
    }
    seen.push(meastype);
    let text = unit
        .checked_add(mapping.shift)
        .and_then(|exp| decimal::scale(value, exp))
        .ok_or_else(|| r.err(join(path, "unit"), "an exponent out of range"))?;
    Ok(Some(Measure {
        meastype,
        metric: mapping.metric,
        quantity: Quantity {
            value: text,
            unit: mapping.ucum.to_owned(),
        },
    }))
}

fn spot(group: &Group, m: Measure) -> Sample {
    let id = if m.meastype == 12 {
        format!("{}:12", group.id)
    } else {
        group.id.clone()
    };
    Sample {
        metric: m.metric,
        vendor_code: format!("meastype:{}", m.meastype),
        value: Value::Quantity(m.quantity),
        start: group.at,
        end: None,
        device: group.device.clone(),
        vendor_record_id: Some(id),
        trend: None,
    }
}

fn blood_pressure(group: &Group, systolic: Quantity, diastolic: Quantity) -> Sample {
    Sample {
        metric: Metric::BloodPressure,
        vendor_code: "meastype:9,10".to_owned(),
        value: Value::BloodPressure {
            systolic,
            diastolic,
        },
        start: group.at,
        end: None,
        device: group.device.clone(),
        vendor_record_id: Some(group.id.clone()),
        trend: None,
    }
}
