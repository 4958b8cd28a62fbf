//! The per-batch normaliser: a small cache of Observation templates.
//!
//! Everything of an Observation but its `id`, identifier value, `effective[x]` and
//! value depends only on the context, the mapping row, the vendor code and the
//! device. A [`Normalizer`] builds that part once per distinct (row, vendor code,
//! device) with fhir-sdk's builders, serialises it once with holes
//! ([`super::splice`]), and for each sample writes the pieces with the sample's
//! values in the holes; the output is the same, byte for byte, as building each
//! typed Observation afresh and serialising it (`golden_tests` pins it).

use super::codes::{self, Spec};
use super::observation::{self, Shape, Template};
use super::{Context, NormalizeError, Normalized};
use tributary_connectors::{sample, Metric, Sample, Value};

/// Templates kept at most; a batch with more distinct (row, vendor code, device)
/// combinations starts over, so memory stays bounded.
const MAX_TEMPLATES: usize = 64;

/// Normalises the samples of one [`Context`]; reuse it for a whole batch.
pub struct Normalizer<'c> {
    pub(super) ctx: &'c Context,
    /// `urn:tributary:codesystem:vendor:{vendor}`.
    pub(super) vendor_system: String,
    templates: Vec<Template>,
    /// The template the last lookup found: consecutive samples usually share one.
    last: usize,
}

impl<'c> Normalizer<'c> {
    pub fn new(ctx: &'c Context) -> Self {
        Self {
            ctx,
            vendor_system: format!("urn:tributary:codesystem:vendor:{}", ctx.vendor),
            templates: Vec::new(),
            last: 0,
        }
    }

    /// The Observation(s) of one sample: one, or for a workout the panel first and
    /// then its members.
    pub fn normalize(&mut self, sample: &Sample) -> Result<Vec<Normalized>, NormalizeError> {
        let mut out = Vec::with_capacity(1);
        self.normalize_into(sample, &mut out)?;
        Ok(out)
    }

    /// [`Normalizer::normalize`], appending to `out`; on an error `out` is unchanged.
    pub fn normalize_into(
        &mut self,
        sample: &Sample,
        out: &mut Vec<Normalized>,
    ) -> Result<(), NormalizeError> {
        let len = out.len();
        let result = self.dispatch(sample, out);
        if result.is_err() {
            out.truncate(len);
        }
        result
    }

    fn dispatch(
        &mut self,
        sample: &Sample,
        out: &mut Vec<Normalized>,
    ) -> Result<(), NormalizeError> {
        match (&sample.value, sample.metric) {
            (Value::Workout(w), Metric::Workout) => super::workout::normalize(self, sample, w, out),
            (
                Value::BloodPressure {
                    systolic,
                    diastolic,
                },
                Metric::BloodPressure,
            ) => {
                out.push(observation::blood_pressure(
                    self, sample, systolic, diastolic,
                )?);
                Ok(())
            }
            (Value::Quantity(q), m) if !matches!(m, Metric::Workout | Metric::BloodPressure) => {
                out.push(observation::single(self, sample, q)?);
                Ok(())
            }
            (_, metric) => Err(NormalizeError::ValueKind {
                metric: metric.id(),
                expected: match metric {
                    Metric::Workout => "a workout",
                    Metric::BloodPressure => "a systolic and diastolic pair",
                    _ => "a single quantity",
                },
            }),
        }
    }

    /// The template of a sample's own Observation: its metric's spec for `unit`, its
    /// vendor code and its device.
    pub(super) fn sample_template(
        &mut self,
        sample: &Sample,
        unit: &str,
        shape: Shape,
    ) -> Result<&Template, NormalizeError> {
        let spec = codes::spec_of(sample.metric, unit);
        let trend = matches!(sample.metric, Metric::GlucoseCgm | Metric::GlucoseMeter)
            .then_some(sample.trend.as_deref())
            .flatten();
        self.template(
            spec,
            shape,
            Some(&sample.vendor_code),
            sample.device.as_ref(),
            trend,
        )
    }

    /// The template of (`spec`, `shape`, `vendor_code`, `device`), built on first use.
    pub(super) fn template(
        &mut self,
        spec: &'static Spec,
        shape: Shape,
        vendor_code: Option<&str>,
        device: Option<&sample::Device>,
        trend: Option<&str>,
    ) -> Result<&Template, NormalizeError> {
        let hit = |t: &Template| t.is(spec, shape, vendor_code, device, trend);
        let index = match self.templates.get(self.last) {
            Some(t) if hit(t) => self.last,
            _ => match self.templates.iter().position(hit) {
                Some(i) => i,
                None => {
                    if self.templates.len() >= MAX_TEMPLATES {
                        self.templates.clear();
                    }
                    let t = Template::new(self, spec, shape, vendor_code, device, trend)?;
                    self.templates.push(t);
                    self.templates.len() - 1
                }
            },
        };
        self.last = index;
        Ok(&self.templates[index])
    }
}
