//! The mapping table of FHIR-MAPPING.md as data: for each [`Metric`], the codings of
//! `Observation.code`, the UCUM unit, the category and whether `effective[x]` must
//! be a period.
//!
//! Policy: this file is the one place codes and units are written down; the
//! normaliser and the tests read them from here, and the tests compare them with
//! the mapping document row by row. Codes carry no `display`: a wrong display is
//! worse than none, and `code.text` names the metric for people.

use tributary_connectors::Metric;

pub const LOINC: &str = "http://loinc.org";
pub const SNOMED: &str = "http://snomed.info/sct";
pub const UCUM: &str = "http://unitsofmeasure.org";
/// Local codes for rows the mapping marks **U** (no standard code found).
pub const LOCAL: &str = "urn:tributary:codesystem:metric";
pub const CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/observation-category";
pub const PHYSICAL_ACTIVITY: &str =
    "http://hl7.org/fhir/us/physical-activity/CodeSystem/pa-temporary-codes";

/// One coding of `Observation.code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Code {
    pub system: &'static str,
    pub code: &'static str,
}

/// Which `Observation.category` codings a metric gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    /// `vital-signs` (R4 vital-signs profiles).
    VitalSigns,
    /// `activity` and the Physical Activity IG's `PhysicalActivity`.
    Activity,
    /// `laboratory` (CGM IG sensor readings, meter readings).
    Laboratory,
    /// No category: the mapping names none.
    None,
}

impl Category {
    /// The (system, code) pairs of this category.
    pub fn codings(self) -> &'static [Code] {
        const VITAL: [Code; 1] = [cat("vital-signs")];
        const ACTIVITY: [Code; 2] = [
            cat("activity"),
            Code {
                system: PHYSICAL_ACTIVITY,
                code: "PhysicalActivity",
            },
        ];
        const LAB: [Code; 1] = [cat("laboratory")];
        match self {
            Category::VitalSigns => &VITAL,
            Category::Activity => &ACTIVITY,
            Category::Laboratory => &LAB,
            Category::None => &[],
        }
    }
}

/// How one metric becomes an Observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spec {
    /// Standard or local codings, in order; the vendor's coding is added after them.
    pub codes: &'static [Code],
    /// UCUM code of `valueQuantity` (of each component for blood pressure; of the
    /// duration member for a workout).
    pub unit: &'static str,
    pub category: Category,
    /// `effectivePeriod` with start and end is required (daily and interval
    /// measures); otherwise a sample without an end is an `effectiveDateTime`.
    pub period: bool,
    /// `Observation.code.text`.
    pub text: &'static str,
}

const fn loinc(code: &'static str) -> Code {
    Code {
        system: LOINC,
        code,
    }
}

/// A CGM reading's trend, as a component whose value is the vendor's own code.
pub const GLUCOSE_TREND: Code = local("glucose-trend");

const fn local(code: &'static str) -> Code {
    Code {
        system: LOCAL,
        code,
    }
}

const fn cat(code: &'static str) -> Code {
    Code {
        system: CATEGORY,
        code,
    }
}

const fn spec(
    codes: &'static [Code],
    unit: &'static str,
    category: Category,
    period: bool,
    text: &'static str,
) -> Spec {
    Spec {
        codes,
        unit,
        category,
        period,
        text,
    }
}

use Category::{Activity, Laboratory, VitalSigns};
const NONE: Category = Category::None;

/// Workout members (Physical Activity IG activity group).
pub const WORKOUT_DURATION: Spec = spec(
    &[loinc("55411-3")],
    "min",
    Activity,
    true,
    "Exercise duration",
);
pub const WORKOUT_ENERGY: Spec = spec(
    &[loinc("55424-6")],
    "kcal",
    Activity,
    true,
    "Energy burned in workout",
);
pub const WORKOUT_DISTANCE: Spec = spec(
    &[local("distance")],
    "m",
    Activity,
    true,
    "Distance in workout",
);
/// Blood-pressure components.
pub const SYSTOLIC: Code = loinc("8480-6");
pub const DIASTOLIC: Code = loinc("8462-4");

/// The spec of `metric`. Glucose has two rows, chosen by the sample's `unit`
/// (`mmol/L`, else the mg/dL row, whose unit check then names what is expected).
pub fn spec_of(metric: Metric, unit: &str) -> &'static Spec {
    let mmol = unit == "mmol/L";
    match metric {
        Metric::HeartRate => &HEART_RATE,
        Metric::RestingHeartRateDaily => &RESTING_HR,
        Metric::MaxHeartRate24h => &MAX_HR,
        Metric::HrvSdnn => &HRV_SDNN,
        Metric::HrvRmssd => &HRV_RMSSD,
        Metric::StepsDaily => &STEPS_DAILY,
        Metric::Steps => &STEPS,
        Metric::EnergyBurnedDaily => &ENERGY_DAILY,
        Metric::ActiveEnergy => &ACTIVE_ENERGY,
        Metric::WorkoutEnergy => &WORKOUT_ENERGY,
        Metric::Distance => &DISTANCE,
        Metric::Workout => &WORKOUT,
        Metric::SleepDuration => &SLEEP,
        Metric::SleepDeep => &SLEEP_DEEP,
        Metric::SleepLight => &SLEEP_LIGHT,
        Metric::SleepRem => &SLEEP_REM,
        Metric::BodyWeight => &WEIGHT,
        Metric::BodyHeight => &HEIGHT,
        Metric::Bmi => &BMI,
        Metric::BodyFat => &BODY_FAT,
        Metric::BloodPressure => &BLOOD_PRESSURE,
        Metric::Spo2 => &SPO2,
        Metric::RespiratoryRate => &RESP_RATE,
        Metric::BodyTemperature => &BODY_TEMP,
        Metric::SkinTemperatureDeviation => &SKIN_TEMP,
        Metric::GlucoseCgm if mmol => &CGM_MMOL,
        Metric::GlucoseCgm => &CGM_MG,
        Metric::GlucoseMeter if mmol => &METER_MMOL,
        Metric::GlucoseMeter => &METER_MG,
    }
}

/// Every spec a metric's observations may take: both glucose rows (the unit
/// chooses one per sample), a workout's panel and its members; one otherwise. What
/// a grant of the metric covers (a Consent's `provision.code`).
pub fn specs_covering(metric: Metric) -> Vec<&'static Spec> {
    match metric {
        Metric::GlucoseCgm => vec![&CGM_MG, &CGM_MMOL],
        Metric::GlucoseMeter => vec![&METER_MG, &METER_MMOL],
        Metric::Workout => vec![
            &WORKOUT,
            &WORKOUT_DURATION,
            &WORKOUT_ENERGY,
            &WORKOUT_DISTANCE,
        ],
        other => vec![spec_of(other, "")],
    }
}

const HEART_RATE: Spec = spec(&[loinc("8867-4")], "/min", VitalSigns, false, "Heart rate");
const RESTING_HR: Spec = spec(
    &[loinc("40443-4")],
    "/min",
    Activity,
    true,
    "Resting heart rate",
);
const MAX_HR: Spec = spec(
    &[loinc("8873-2")],
    "/min",
    Activity,
    true,
    "Maximum heart rate, 24 hours",
);
const HRV_SDNN: Spec = spec(
    &[loinc("80404-7")],
    "ms",
    VitalSigns,
    false,
    "Heart rate variability (SDNN)",
);
const HRV_RMSSD: Spec = spec(
    &[local("hrv-rmssd")],
    "ms",
    NONE,
    false,
    "Heart rate variability (RMSSD)",
);
const STEPS_DAILY: Spec = spec(&[loinc("41950-7")], "/d", Activity, true, "Steps per day");
const STEPS: Spec = spec(&[loinc("55423-8")], "{steps}", Activity, true, "Steps");
const ENERGY_DAILY: Spec = spec(
    &[loinc("41979-6")],
    "kcal/d",
    Activity,
    true,
    "Energy burned per day",
);
const ACTIVE_ENERGY: Spec = spec(
    &[loinc("41981-2")],
    "kcal",
    Activity,
    true,
    "Active energy burned",
);
const DISTANCE: Spec = spec(&[local("distance")], "m", Activity, false, "Distance");
const WORKOUT: Spec = spec(
    &[loinc("73985-4")],
    "min",
    Activity,
    true,
    "Exercise activity",
);
const SLEEP: Spec = spec(
    &[
        loinc("93832-4"),
        Code {
            system: SNOMED,
            code: "248263006",
        },
    ],
    "min",
    NONE,
    true,
    "Sleep duration",
);
const SLEEP_DEEP: Spec = spec(
    &[loinc("93831-6")],
    "min",
    NONE,
    true,
    "Deep sleep duration",
);
const SLEEP_LIGHT: Spec = spec(
    &[loinc("93830-8")],
    "min",
    NONE,
    true,
    "Light sleep duration",
);
const SLEEP_REM: Spec = spec(&[loinc("93829-0")], "min", NONE, true, "REM sleep duration");
const WEIGHT: Spec = spec(&[loinc("29463-7")], "kg", VitalSigns, false, "Body weight");
const HEIGHT: Spec = spec(&[loinc("8302-2")], "cm", VitalSigns, false, "Body height");
const BMI: Spec = spec(
    &[loinc("39156-5")],
    "kg/m2",
    VitalSigns,
    false,
    "Body mass index",
);
const BODY_FAT: Spec = spec(&[loinc("41982-0")], "%", NONE, false, "Body fat");
const BLOOD_PRESSURE: Spec = spec(
    &[loinc("85354-9")],
    "mm[Hg]",
    VitalSigns,
    false,
    "Blood pressure",
);
const SPO2: Spec = spec(
    &[loinc("2708-6"), loinc("59408-5")],
    "%",
    VitalSigns,
    false,
    "Oxygen saturation",
);
const RESP_RATE: Spec = spec(
    &[loinc("9279-1")],
    "/min",
    VitalSigns,
    false,
    "Respiratory rate",
);
const BODY_TEMP: Spec = spec(
    &[loinc("8310-5")],
    "Cel",
    VitalSigns,
    false,
    "Body temperature",
);
const SKIN_TEMP: Spec = spec(
    &[local("skin-temperature-deviation")],
    "Cel",
    NONE,
    false,
    "Skin temperature deviation",
);
const CGM_MG: Spec = spec(
    &[loinc("99504-3")],
    "mg/dL",
    Laboratory,
    false,
    "Glucose (CGM)",
);
const CGM_MMOL: Spec = spec(
    &[loinc("105272-9")],
    "mmol/L",
    Laboratory,
    false,
    "Glucose (CGM)",
);
const METER_MG: Spec = spec(
    &[loinc("41653-7")],
    "mg/dL",
    Laboratory,
    false,
    "Glucose (meter)",
);
const METER_MMOL: Spec = spec(
    &[loinc("14743-9")],
    "mmol/L",
    Laboratory,
    false,
    "Glucose (meter)",
);
