//! The vendor-neutral measurement model.
//!
//! A [`Sample`] is what every connector's parser produces and what the hub's FHIR
//! normaliser consumes. Times keep the source's UTC offset (`DateTime<FixedOffset>`),
//! so a measurement taken at 23:30 local time never moves to another day.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use std::fmt;

/// What was measured, independent of the vendor that measured it: one variant per
/// row of the project's FHIR mapping (FHIR-MAPPING.md). The unit a connector must
/// deliver for each is that mapping's UCUM unit; the hub checks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// A spot or sampled heart rate, `/min`.
    HeartRate,
    /// Resting heart rate of one day, `/min`.
    RestingHeartRateDaily,
    /// Maximum heart rate over 24 hours, `/min`.
    MaxHeartRate24h,
    /// Heart-rate variability as SDNN, `ms`.
    HrvSdnn,
    /// Heart-rate variability as RMSSD, `ms`.
    HrvRmssd,
    /// Steps of one day, `/d`.
    StepsDaily,
    /// Steps over any interval, `{steps}`.
    Steps,
    /// Energy burned in one day, `kcal/d`.
    EnergyBurnedDaily,
    /// Active energy over any interval, `kcal`.
    ActiveEnergy,
    /// Energy burned in one workout, `kcal`.
    WorkoutEnergy,
    /// Distance covered, `m`.
    Distance,
    /// A workout session: [`Value::Workout`].
    Workout,
    /// Total sleep, `min`.
    SleepDuration,
    SleepDeep,
    SleepLight,
    SleepRem,
    /// `kg`.
    BodyWeight,
    /// `cm`.
    BodyHeight,
    /// `kg/m2`.
    Bmi,
    /// `%`.
    BodyFat,
    /// [`Value::BloodPressure`], `mm[Hg]`.
    BloodPressure,
    /// Oxygen saturation, `%`.
    Spo2,
    /// `/min`.
    RespiratoryRate,
    /// `Cel`.
    BodyTemperature,
    /// Skin or wrist temperature deviation from the member's baseline, `Cel`.
    SkinTemperatureDeviation,
    /// A continuous glucose monitor reading, `mg/dL` or `mmol/L`.
    GlucoseCgm,
    /// A glucose meter (finger-stick) reading, `mg/dL` or `mmol/L`.
    GlucoseMeter,
}

impl Metric {
    /// Every metric, in the order of the mapping table.
    pub const ALL: [Metric; 27] = [
        Metric::HeartRate,
        Metric::RestingHeartRateDaily,
        Metric::MaxHeartRate24h,
        Metric::HrvSdnn,
        Metric::HrvRmssd,
        Metric::StepsDaily,
        Metric::Steps,
        Metric::EnergyBurnedDaily,
        Metric::ActiveEnergy,
        Metric::WorkoutEnergy,
        Metric::Distance,
        Metric::Workout,
        Metric::SleepDuration,
        Metric::SleepDeep,
        Metric::SleepLight,
        Metric::SleepRem,
        Metric::BodyWeight,
        Metric::BodyHeight,
        Metric::Bmi,
        Metric::BodyFat,
        Metric::BloodPressure,
        Metric::Spo2,
        Metric::RespiratoryRate,
        Metric::BodyTemperature,
        Metric::SkinTemperatureDeviation,
        Metric::GlucoseCgm,
        Metric::GlucoseMeter,
    ];

    /// The stable snake_case id (as serialised), e.g. `steps_daily`.
    pub fn id(self) -> &'static str {
        match self {
            Metric::HeartRate => "heart_rate",
            Metric::RestingHeartRateDaily => "resting_heart_rate_daily",
            Metric::MaxHeartRate24h => "max_heart_rate24h",
            Metric::HrvSdnn => "hrv_sdnn",
            Metric::HrvRmssd => "hrv_rmssd",
            Metric::StepsDaily => "steps_daily",
            Metric::Steps => "steps",
            Metric::EnergyBurnedDaily => "energy_burned_daily",
            Metric::ActiveEnergy => "active_energy",
            Metric::WorkoutEnergy => "workout_energy",
            Metric::Distance => "distance",
            Metric::Workout => "workout",
            Metric::SleepDuration => "sleep_duration",
            Metric::SleepDeep => "sleep_deep",
            Metric::SleepLight => "sleep_light",
            Metric::SleepRem => "sleep_rem",
            Metric::BodyWeight => "body_weight",
            Metric::BodyHeight => "body_height",
            Metric::Bmi => "bmi",
            Metric::BodyFat => "body_fat",
            Metric::BloodPressure => "blood_pressure",
            Metric::Spo2 => "spo2",
            Metric::RespiratoryRate => "respiratory_rate",
            Metric::BodyTemperature => "body_temperature",
            Metric::SkinTemperatureDeviation => "skin_temperature_deviation",
            Metric::GlucoseCgm => "glucose_cgm",
            Metric::GlucoseMeter => "glucose_meter",
        }
    }
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

/// What a sample measured: one number, a blood-pressure pair, or a workout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Value {
    Quantity(Quantity),
    BloodPressure {
        systolic: Quantity,
        diastolic: Quantity,
    },
    Workout(Workout),
}

/// One workout session as the vendor reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workout {
    /// The activity type as the vendor names or codes it (`running`, `1`, `Yoga`).
    pub activity: String,
    /// Active duration, in `min`.
    pub duration: Quantity,
    /// Energy burned, in `kcal`.
    pub energy: Option<Quantity>,
    /// Distance covered, in `m`.
    pub distance: Option<Quantity>,
}

/// One measurement from one vendor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub metric: Metric,
    /// The vendor's own name for the metric (`heart_rate`, `meastype:1`), kept as a
    /// second coding in the FHIR output.
    pub vendor_code: String,
    pub value: Value,
    pub start: DateTime<FixedOffset>,
    /// End of the interval for interval metrics (steps per day); `None` for a spot value.
    pub end: Option<DateTime<FixedOffset>>,
    pub device: Option<Device>,
    /// The vendor's own id for the record, when it has one.
    pub vendor_record_id: Option<String>,
    /// For glucose readings: the trend the sensor reported, as the vendor names it
    /// (`flat`, `singleUp`, `4`); `None` otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trend: Option<String>,
}

impl Sample {
    /// The single quantity, when the value is one.
    pub fn quantity(&self) -> Option<&Quantity> {
        match &self.value {
            Value::Quantity(q) => Some(q),
            _ => None,
        }
    }
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

    #[test]
    fn metric_ids_are_their_serde_names_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for m in Metric::ALL {
            let json = serde_json::to_string(&m).unwrap();
            assert_eq!(json, format!("\"{}\"", m.id()));
            assert!(seen.insert(m.id()));
        }
    }
}
