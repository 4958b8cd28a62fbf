//! Sample → FHIR R4 normalisation.
//!
//! Policy: every [`Sample`] becomes one Observation (a workout: a panel and its
//! member Observations) exactly as FHIR-MAPPING.md says — codes and units from
//! [`codes`], a deterministic `identifier` and `id` from [`identity`], the vendor's
//! own code as an extra coding, the wearable as a contained `Device`, the hub as the
//! gateway-device extension, `meta.source` naming the vendor, and times with the
//! source's UTC offset (never converted to UTC). A sample that does not fit its row
//! (wrong unit, an interval metric without an end, a value that is not a number) is
//! a [`NormalizeError`], never a guess and never a panic.
//!
//! Resources are typed with fhir-sdk's R4B models, which serialise the same JSON as
//! R4 for the resources emitted here. Write them with [`json`], which keeps whole
//! numbers whole. A [`Normalized`] carries its Observation already written (compact
//! JSON): per sample the normaliser fills the holes of a typed template's
//! serialised form instead of building a typed resource (see `splice`);
//! [`Normalized::observation`] gives the typed resource back.

pub mod codes;
pub mod consent;
mod element;
#[cfg(test)]
mod golden_tests;
pub mod identity;
pub mod json;
pub mod normalize_cmd;
mod normalizer;
mod observation;
mod resources;
mod splice;
#[cfg(test)]
mod tests;
mod workout;

pub use normalizer::Normalizer;
pub use resources::{collection_bundle, patient, user_key_system};

use chrono::{DateTime, FixedOffset};
use fhir_sdk::r4b::resources::Observation;
use thiserror::Error;
use tributary_connectors::Sample;

/// Whom and what a batch of samples is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    /// The vendor id (`demo`, `withings`).
    pub vendor: String,
    /// The data type the samples were fetched as (`heart_rate`).
    pub data_type: String,
    /// The member's id: the Patient's resource id and part of every Observation id.
    pub member_id: String,
}

impl Context {
    /// A context; the member id must be a valid FHIR id (`[A-Za-z0-9.-]{1,64}`).
    pub fn new(vendor: &str, data_type: &str, member_id: &str) -> Result<Self, NormalizeError> {
        if !is_fhir_id(member_id) {
            return Err(NormalizeError::MemberId(member_id.to_owned()));
        }
        Ok(Self {
            vendor: vendor.to_owned(),
            data_type: data_type.to_owned(),
            member_id: member_id.to_owned(),
        })
    }
}

/// A FHIR `id`: 1 to 64 of `A-Z a-z 0-9 - .`.
pub fn is_fhir_id(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

/// One Observation and the index columns the store keeps beside it.
#[derive(Debug, Clone, PartialEq)]
pub struct Normalized {
    /// `Observation.id`: 32 lower-case hex digits (see [`identity`]).
    pub id: String,
    /// The value of the identifier with system [`identity::IDENTIFIER_SYSTEM`].
    pub identifier: String,
    /// (system, code) of every `Observation.code` coding, the vendor's included.
    pub codes: Vec<(String, String)>,
    /// The category codes (`vital-signs`; `activity` and `PhysicalActivity`;
    /// `laboratory`), possibly none.
    pub categories: Vec<String>,
    pub effective_start: DateTime<FixedOffset>,
    /// Equal to `effective_start` for an instant.
    pub effective_end: DateTime<FixedOffset>,
    pub vendor: String,
    pub data_type: String,
    /// The Observation as compact JSON (whole numbers whole; see [`json`]).
    pub resource: String,
}

impl Normalized {
    /// The Observation as a typed fhir-sdk resource.
    pub fn observation(&self) -> Result<Observation, serde_json::Error> {
        serde_json::from_str(&self.resource)
    }
}

/// A sample that cannot become FHIR as the mapping says.
#[derive(Debug, Error)]
pub enum NormalizeError {
    #[error("member id {0:?} is not a FHIR id (1 to 64 of A-Z a-z 0-9 - .)")]
    MemberId(String),
    #[error("{metric}: unit {got:?}, the mapping wants {expected:?}")]
    Unit {
        metric: &'static str,
        expected: &'static str,
        got: String,
    },
    #[error("{metric}: value {value:?} is not a finite decimal number")]
    Number { metric: &'static str, value: String },
    #[error("{metric}: expected {expected}")]
    ValueKind {
        metric: &'static str,
        expected: &'static str,
    },
    #[error("{metric}: an interval measure needs an end time")]
    NoEnd { metric: &'static str },
    #[error("{metric}: end {end} is before start {start}")]
    EndBeforeStart {
        metric: &'static str,
        start: String,
        end: String,
    },
    #[error("time {0} cannot be written as a FHIR instant (year 0000-9999, whole-minute offset)")]
    Time(String),
    #[error("building the FHIR resource: {0}")]
    Build(#[from] fhir_sdk::BuilderError),
    #[error("writing the FHIR resource as JSON")]
    Json,
}

/// The Observation(s) of one sample: one, or for a workout the panel first and
/// then its members. For many samples of one context use a [`Normalizer`] (or
/// [`normalize_all`]): it builds the shared parts once.
pub fn normalize(ctx: &Context, sample: &Sample) -> Result<Vec<Normalized>, NormalizeError> {
    Normalizer::new(ctx).normalize(sample)
}

/// Every sample's Observations, in order; the first failure stops the batch.
pub fn normalize_all(ctx: &Context, samples: &[Sample]) -> Result<Vec<Normalized>, NormalizeError> {
    let mut normalizer = Normalizer::new(ctx);
    let mut out = Vec::with_capacity(samples.len());
    for sample in samples {
        normalizer.normalize_into(sample, &mut out)?;
    }
    Ok(out)
}
