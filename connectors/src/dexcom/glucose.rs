//! What the Web API and Share have in common: glucose values and units, trend
//! names, and the device a reading came from.
//!
//! Policy: a value keeps the decimal text Dexcom sent, in the unit Dexcom sent
//! (`mg/dL` and `mmol/L` are UCUM codes already; nothing is converted). A reading
//! without a value, in an unknown unit, or outside what a glucose sensor can report
//! in its unit (a sign of a mislabelled unit) is skipped, not guessed at.

use crate::sample::Device;
use serde_json::value::RawValue;

/// The manufacturer named on every device.
pub(super) const MANUFACTURER: &str = "Dexcom";

/// The trend names of the Web API v3 (egvs `trend` enum), in Share's numbering:
/// Share's `Trend` 0–9 are these, in this order.
pub(super) const TRENDS: [&str; 10] = [
    "none",
    "doubleUp",
    "singleUp",
    "fortyFiveUp",
    "flat",
    "fortyFiveDown",
    "singleDown",
    "doubleDown",
    "notComputable",
    "rateOutOfRange",
];

/// v3 documents one trend name more than Share numbers.
pub(super) const UNKNOWN_TREND: &str = "unknown";

/// A glucose unit the output can carry: the UCUM code.
pub(super) fn ucum_unit(unit: &str) -> Result<&'static str, &'static str> {
    match unit {
        "mg/dL" => Ok("mg/dL"),
        "mmol/L" => Ok("mmol/L"),
        "unknown" => Err("glucose unit unknown"),
        _ => Err("unsupported glucose unit"),
    }
}

/// The skip reason of a reading sent without a value.
pub(super) const NO_VALUE: &str = "no glucose value";

/// What a value field holds.
pub(super) enum Reading {
    Value(String),
    /// Left out, with the reason counted.
    Skip(&'static str),
}

/// The value text of `raw` (a JSON number or `null`) in `unit` (a UCUM code from
/// [`ucum_unit`]); `Err` with a problem when it is not a plain number.
pub(super) fn value(raw: Option<&RawValue>, unit: &str) -> Result<Reading, &'static str> {
    let Some(raw) = raw.filter(|r| r.get() != "null") else {
        return Ok(Reading::Skip(NO_VALUE));
    };
    let text = raw.get();
    if !text.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
        return Err("not a number");
    }
    if text.contains(['e', 'E']) {
        return Err("not a plain decimal (has an exponent)");
    }
    // Only a plausibility bound, so a float is precise enough: 1000 mg/dL is far
    // beyond any sensor (Dexcom reports 40–400), 55.5 mmol/L is the same in mmol/L.
    let limit = if unit == "mmol/L" { 55.5 } else { 1000.0 };
    match text.parse::<f64>() {
        Ok(v) if v > 0.0 && v <= limit => Ok(Reading::Value(text.to_owned())),
        Ok(_) => Ok(Reading::Skip("glucose value implausible for its unit")),
        Err(_) => Err("not a number"),
    }
}

/// The v3 trend name as sent, when it is one Dexcom documents; an unknown name is
/// dropped (the reading stays).
pub(super) fn v3_trend(name: &str) -> Option<String> {
    (TRENDS.contains(&name) || name == UNKNOWN_TREND).then(|| name.to_owned())
}

/// A Share trend: its number (0–9) or its name (`Flat`), as the v3 name.
pub(super) fn share_trend_number(n: u64) -> Option<String> {
    usize::try_from(n)
        .ok()
        .and_then(|i| TRENDS.get(i))
        .map(|t| (*t).to_owned())
}

pub(super) fn share_trend_name(name: &str) -> Option<String> {
    TRENDS
        .iter()
        .find(|t| t.eq_ignore_ascii_case(name))
        .map(|t| (*t).to_owned())
}

/// The device of a reading: Dexcom, the sensor generation and the display device
/// as the model (`G7, iOS app`), the transmitter id (Dexcom may send a hash of it).
pub(super) fn device(
    transmitter_id: Option<String>,
    generation: Option<&str>,
    display: Option<&str>,
) -> Device {
    let generation = generation.and_then(|g| match g {
        "unknown" | "" => None,
        "g4" => Some("G4".to_owned()),
        "g5" => Some("G5".to_owned()),
        "g6" => Some("G6".to_owned()),
        "g6+" => Some("G6+".to_owned()),
        "g7" => Some("G7".to_owned()),
        "dexcomPro" => Some("Dexcom Pro".to_owned()),
        other => Some(other.to_owned()),
    });
    let display = display.and_then(|d| match d {
        "unknown" | "" => None,
        "iOS" => Some("iOS app".to_owned()),
        "android" => Some("Android app".to_owned()),
        other => Some(other.to_owned()),
    });
    let model = match (generation, display) {
        (Some(g), Some(d)) => Some(format!("{g}, {d}")),
        (g, d) => g.or(d),
    };
    Device {
        manufacturer: Some(MANUFACTURER.to_owned()),
        model,
        vendor_device_id: transmitter_id.filter(|id| !id.is_empty()),
    }
}
