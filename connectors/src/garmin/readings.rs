//! Spot readings: body composition, blood pressure, and the SpO2 and respiration
//! readings a summary lists by their time from its start.
//!
//! Policy: each reading is one sample at its own time, in the record's offset. A
//! reading of zero is no reading (a scale or sensor that measured nothing) and is
//! noted as skipped. Readings listed by time offset get the record id
//! `{summaryId}:{seconds from start}`, unique per reading.

use super::decimal;
use super::read::{after, number_at, offset_map, Num, Out, Quant, Rec};
use crate::connector::ParseError;
use crate::sample::{Metric, Quantity, Sample, Value};
use chrono::{DateTime, FixedOffset};

/// A reading's value at `key`, or `None` (absent, or noted as skipped).
fn reading(rec: &Rec<'_>, key: &str, out: &mut Out) -> Result<Option<String>, ParseError> {
    match rec.number(key, out)? {
        Num::Value(v) if decimal::is_zero(&v) => {
            out.skip(rec.at(key), "zero value");
            Ok(None)
        }
        Num::Value(v) => Ok(Some(v)),
        Num::Absent | Num::Skipped => Ok(None),
    }
}

pub(super) fn body_composition(rec: &Rec<'_>, out: &mut Out) -> Result<(), ParseError> {
    let at = rec.time("measurementTimeInSeconds", "measurementTimeOffsetInSeconds")?;
    let id = rec.summary_id()?;
    let spot = |metric, vendor_code, value, unit| {
        Quant {
            metric,
            vendor_code,
            value,
            unit,
            start: at,
            end: None,
            record_id: id.clone(),
        }
        .sample()
    };
    if let Some(grams) = reading(rec, "weightInGrams", out)? {
        // Grams to kilograms: the decimal point moves three places, exactly.
        let kg = decimal::shift_left(&grams, 3);
        out.samples
            .push(spot(Metric::BodyWeight, "weightInGrams", kg, "kg"));
    }
    if let Some(bmi) = reading(rec, "bodyMassIndex", out)? {
        out.samples
            .push(spot(Metric::Bmi, "bodyMassIndex", bmi, "kg/m2"));
    }
    if let Some(fat) = reading(rec, "bodyFatInPercent", out)? {
        out.samples
            .push(spot(Metric::BodyFat, "bodyFatInPercent", fat, "%"));
    }
    Ok(())
}

pub(super) fn blood_pressure(rec: &Rec<'_>, out: &mut Out) -> Result<(), ParseError> {
    let at = rec.time("measurementTimeInSeconds", "measurementTimeOffsetInSeconds")?;
    let id = rec.summary_id()?;
    let systolic = reading(rec, "systolic", out)?;
    let diastolic = reading(rec, "diastolic", out)?;
    match (systolic, diastolic) {
        (Some(systolic), Some(diastolic)) => {
            let mmhg = |value| Quantity {
                value,
                unit: "mm[Hg]".to_owned(),
            };
            out.samples.push(Sample {
                metric: Metric::BloodPressure,
                vendor_code: "systolic/diastolic".to_owned(),
                value: Value::BloodPressure {
                    systolic: mmhg(systolic),
                    diastolic: mmhg(diastolic),
                },
                start: at,
                end: None,
                device: None,
                vendor_record_id: id.clone(),
                trend: None,
            });
        }
        (None, None) => {}
        // One half alone is no blood pressure (the other half, if it was there,
        // is already noted).
        _ if rec.has("systolic") && rec.has("diastolic") => {}
        _ => out.skip(rec.path.clone(), "systolic or diastolic missing"),
    }
    if let Some(pulse) = reading(rec, "pulse", out)? {
        let sample = Quant {
            metric: Metric::HeartRate,
            vendor_code: "pulse",
            value: pulse,
            unit: "/min",
            start: at,
            end: None,
            record_id: id,
        };
        out.samples.push(sample.sample());
    }
    Ok(())
}

pub(super) fn pulse_ox(rec: &Rec<'_>, out: &mut Out) -> Result<(), ParseError> {
    by_offset(rec, out, "timeOffsetSpo2Values", Metric::Spo2, "%")
}

pub(super) fn respiration(rec: &Rec<'_>, out: &mut Out) -> Result<(), ParseError> {
    by_offset(
        rec,
        out,
        "timeOffsetEpochToBreaths",
        Metric::RespiratoryRate,
        "/min",
    )
}

/// One sample per entry of the `{"<seconds from start>": value}` object at `key`.
fn by_offset(
    rec: &Rec<'_>,
    out: &mut Out,
    key: &'static str,
    metric: Metric,
    unit: &str,
) -> Result<(), ParseError> {
    let start = rec.time("startTimeInSeconds", "startTimeOffsetInSeconds")?;
    let id = rec.summary_id()?;
    for (secs, raw) in offset_map(rec, key)? {
        let path = format!("{}.{secs}", rec.at(key));
        let value = match number_at(rec.ctx, path.clone(), raw, out)? {
            Num::Value(v) if decimal::is_zero(&v) => {
                out.skip(path, "zero value");
                continue;
            }
            Num::Value(v) => v,
            Num::Absent | Num::Skipped => continue,
        };
        let at: DateTime<FixedOffset> =
            after(start, secs).ok_or_else(|| rec.ctx.err(path, "out of range"))?;
        let sample = Quant {
            metric,
            vendor_code: key,
            value,
            unit,
            start: at,
            end: None,
            record_id: id.as_ref().map(|id| format!("{id}:{secs}")),
        };
        out.samples.push(sample.sample());
    }
    Ok(())
}
