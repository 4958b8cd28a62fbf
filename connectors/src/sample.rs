//! The vendor-neutral measurement model.
//!
//! A [`Sample`] is what every connector's parser produces and what the hub's FHIR
//! normaliser consumes. Times keep the source's UTC offset (`DateTime<FixedOffset>`),
//! so a measurement taken at 23:30 local time never moves to another day.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use std::fmt;

/// What was measured, independent of the vendor that measured it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    HeartRate,
    StepsDaily,
    BodyWeight,
}

/// A data type as a portal and a member see it: the unit of consent and of sync.
/// Vendors expose data types; each data type yields one or more [`Metric`]s.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DataType(String);

impl DataType {
    /// A data type id is lower-case ASCII letters, digits and `_`, 1 to 64 long.
    pub fn parse(s: &str) -> Option<Self> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        ok.then(|| Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A number with its UCUM unit. The value is kept as the decimal text the vendor
/// sent, so precision survives to the FHIR output (`72.50` stays `72.50`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quantity {
    pub value: String,
    pub unit: String,
}

/// The device that took a measurement, as far as the vendor tells.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Device {
    pub manufacturer: Option<String>,
    pub model: Option<String>,
    pub vendor_device_id: Option<String>,
}

/// One measurement from one vendor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub metric: Metric,
    pub quantity: Quantity,
    pub start: DateTime<FixedOffset>,
    /// End of the interval for interval metrics (steps per day); `None` for a spot value.
    pub end: Option<DateTime<FixedOffset>>,
    pub device: Option<Device>,
    /// The vendor's own id for the record, when it has one.
    pub vendor_record_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_type_ids_are_restricted() {
        assert!(DataType::parse("heart_rate").is_some());
        assert!(DataType::parse("").is_none());
        assert!(DataType::parse("Heart Rate").is_none());
        assert!(DataType::parse(&"a".repeat(65)).is_none());
    }
}
