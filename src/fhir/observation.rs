//! One Observation: the template of the parts every Observation of a mapping row,
//! vendor code and device shares, a single quantity, and blood pressure as a panel
//! with components. Templates are typed (fhir-sdk builders); each sample's
//! Observation is written from the template's serialised pieces ([`super::splice`]).

use super::codes::{self, Code, Spec};
use super::element::{self, DEVICE_REF};
use super::identity::{self, IDENTIFIER_SYSTEM};
use super::normalizer::Normalizer;
use super::splice::{Hole, Pieces};
use super::{json, Context, NormalizeError, Normalized};
use chrono::{DateTime, FixedOffset};
use fhir_sdk::r4b::codes::ObservationStatus;
use fhir_sdk::r4b::resources::{
    Observation, ObservationComponent, ObservationComponentValue, ObservationEffective,
    ObservationInner, ObservationValue,
};
use fhir_sdk::r4b::types::{CodeableConcept, Period, Quantity};
use tributary_connectors::{sample, Sample};

/// What a template's Observations carry as their value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    /// One `valueQuantity`.
    Quantity,
    /// No value; systolic and diastolic as components.
    BloodPressure,
    /// A workout panel: a concept value and `hasMember`, set on a typed clone.
    Panel,
}

/// The shared parts: everything but `id`, the identifier's value, `effective[x]`
/// and the value, which [`Template::render`] (or [`finish_typed`]) fills in.
pub(super) struct Template {
    spec: &'static Spec,
    shape: Shape,
    vendor_code: Option<String>,
    device: Option<sample::Device>,
    /// A glucose reading's trend, a component of every Observation of the template.
    trend: Option<String>,
    resource: Observation,
    /// A `valueQuantity` in the row's unit, without its value.
    quantity: Quantity,
    /// `resource` serialised with holes; `None` for a panel, or when a sentinel
    /// could not be found exactly once (then the typed path is taken).
    pieces: Option<Pieces>,
    codes: Vec<(String, String)>,
    categories: Vec<String>,
}

/// Sentinels serialised into a template where each sample's own values go.
const ID_SENTINEL: &str = "\u{1}tributary-id\u{1}";
const IDENTIFIER_SENTINEL: &str = "\u{1}tributary-identifier\u{1}";
const VALUE_SENTINELS: [f64; 2] = [1.234_567_890_123_456_7e-300, 7.654_321_098_765_432e-300];

impl Template {
    pub(super) fn new(
        n: &Normalizer<'_>,
        spec: &'static Spec,
        shape: Shape,
        vendor_code: Option<&str>,
        device: Option<&sample::Device>,
        trend: Option<&str>,
    ) -> Result<Self, NormalizeError> {
        let ctx = n.ctx;
        let mut code = element::concept(spec.codes, Some(spec.text))?;
        let mut index = code_index(spec.codes);
        if let Some(vendor_code) = vendor_code {
            code.coding
                .push(Some(element::coding(&n.vendor_system, vendor_code)?));
            index.push((n.vendor_system.clone(), vendor_code.to_owned()));
        }
        let categories = spec.category.codings();
        let category = categories
            .iter()
            .map(|c| element::concept(std::slice::from_ref(c), None).map(Some))
            .collect::<Result<Vec<_>, _>>()?;
        let mut builder = Observation::builder()
            .meta(element::meta(&ctx.vendor)?)
            .extension(vec![element::gateway()?])
            .identifier(vec![Some(element::identifier_system(IDENTIFIER_SYSTEM)?)])
            .status(ObservationStatus::Final)
            .category(category)
            .code(code)
            .subject(element::reference(format!("Patient/{}", ctx.member_id))?);
        if let Some(device) = device {
            if let Some(contained) = element::device(&ctx.vendor, device)? {
                builder = builder
                    .contained(vec![contained])
                    .device(element::reference(DEVICE_REF.to_owned())?);
            }
        }
        if let Some(trend) = trend.filter(|_| shape == Shape::Quantity) {
            let value = CodeableConcept::builder()
                .coding(vec![Some(element::coding(&n.vendor_system, trend)?)])
                .build()?;
            builder = builder.component(vec![Some(
                ObservationComponent::builder()
                    .code(element::concept(
                        &[codes::GLUCOSE_TREND],
                        Some("Glucose trend"),
                    )?)
                    .value(ObservationComponentValue::CodeableConcept(value))
                    .build()?,
            )]);
        }
        let mut t = Self {
            spec,
            shape,
            vendor_code: vendor_code.map(str::to_owned),
            device: device.cloned(),
            trend: trend.map(str::to_owned),
            resource: builder.build()?,
            quantity: element::quantity_template(spec.unit)?,
            pieces: None,
            codes: index,
            categories: categories.iter().map(|c| c.code.to_owned()).collect(),
        };
        if shape != Shape::Panel {
            t.pieces = t.cut()?;
        }
        Ok(t)
    }

    /// The template serialised with sentinels and cut at them (see [`splice`]).
    fn cut(&self) -> Result<Option<Pieces>, NormalizeError> {
        let sentinel_time = chrono::DateTime::parse_from_rfc3339("1111-11-11T11:11:11.111+11:11")
            .map_err(|_| NormalizeError::Time("sentinel".to_owned()))?;
        let sentinel_time = element::date_time(sentinel_time)?;
        let mut resource = self.resource.clone();
        resource.id = Some(ID_SENTINEL.to_owned());
        set_identifier(&mut resource, IDENTIFIER_SENTINEL.to_owned());
        resource.effective = Some(ObservationEffective::DateTime(sentinel_time.clone()));
        let values = match self.shape {
            Shape::Quantity => 1,
            Shape::BloodPressure => 2,
            Shape::Panel => 0,
        };
        self.set_values("template", &mut resource, &VALUE_SENTINELS[..values])?;
        let mut needles = vec![
            (format!("\"id\":{}", json_text(ID_SENTINEL)), Hole::Id),
            (
                format!("\"value\":{}", json_text(IDENTIFIER_SENTINEL)),
                Hole::Identifier,
            ),
            (
                format!("\"effectiveDateTime\":{}", json_text(&sentinel_time)),
                Hole::Effective,
            ),
        ];
        for (i, v) in VALUE_SENTINELS.iter().take(values).enumerate() {
            needles.push((format!("\"value\":{}", json_text(v)), Hole::Value(i)));
        }
        let text = json_text(&resource);
        Ok(Pieces::cut(&text, &needles))
    }

    /// Set the value (or the components) of a [`Shape::Quantity`] or
    /// [`Shape::BloodPressure`] Observation to `values`.
    fn set_values(
        &self,
        metric: &'static str,
        o: &mut ObservationInner,
        values: &[f64],
    ) -> Result<(), NormalizeError> {
        let quantity = |value: f64| {
            let mut q = self.quantity.clone();
            q.value = Some(value);
            q
        };
        match (self.shape, values) {
            (Shape::Quantity, [value]) => {
                o.value = Some(ObservationValue::Quantity(quantity(*value)));
            }
            (Shape::BloodPressure, [systolic, diastolic]) => {
                let component = |code: Code, value: f64| -> Result<_, NormalizeError> {
                    Ok(Some(
                        ObservationComponent::builder()
                            .code(element::concept(&[code], None)?)
                            .value(ObservationComponentValue::Quantity(quantity(value)))
                            .build()?,
                    ))
                };
                o.component = vec![
                    component(codes::SYSTOLIC, *systolic)?,
                    component(codes::DIASTOLIC, *diastolic)?,
                ];
            }
            _ => {
                return Err(NormalizeError::ValueKind {
                    metric,
                    expected: "a value for each of the template's quantities",
                })
            }
        }
        Ok(())
    }

    /// Whether this is the template of (`spec`, `shape`, `vendor_code`, `device`).
    pub(super) fn is(
        &self,
        spec: &'static Spec,
        shape: Shape,
        vendor_code: Option<&str>,
        device: Option<&sample::Device>,
        trend: Option<&str>,
    ) -> bool {
        std::ptr::eq(self.spec, spec)
            && self.shape == shape
            && self.vendor_code.as_deref() == vendor_code
            && self.device.as_ref() == device
            && self.trend.as_deref() == trend
    }

    /// The value of `q` in the row's unit, after checking the unit.
    pub(super) fn number(
        &self,
        metric: &'static str,
        q: &sample::Quantity,
    ) -> Result<f64, NormalizeError> {
        element::checked_number(metric, q, self.spec.unit)
    }

    /// The Observation of `sample` with `values` (one per quantity of the shape).
    pub(super) fn render(
        &self,
        ctx: &Context,
        sample: &Sample,
        identifier: String,
        values: &[f64],
    ) -> Result<Normalized, NormalizeError> {
        let Some(pieces) = &self.pieces else {
            return finish_typed(ctx, self, sample, identifier, |o| {
                self.set_values(sample.metric.id(), o, values)
            });
        };
        let metric = sample.metric.id();
        let (effective, start, end) = effective(metric, self.spec, sample.start, sample.end)?;
        let id = identity::observation_id(&ctx.member_id, &identifier);
        let mut out = Vec::with_capacity(pieces.literal_len() + 192);
        pieces.render(&mut out, |hole, out| -> Result<(), NormalizeError> {
            match hole {
                Hole::Id => {
                    out.extend_from_slice(b"\"id\":");
                    write_json(out, &id)
                }
                Hole::Identifier => {
                    out.extend_from_slice(b"\"value\":");
                    write_json(out, &identifier)
                }
                Hole::Effective => match &effective {
                    Effective::Instant(at) => {
                        out.extend_from_slice(b"\"effectiveDateTime\":");
                        write_json(out, at)
                    }
                    Effective::Period(from, to) => {
                        out.extend_from_slice(b"\"effectivePeriod\":{\"start\":");
                        write_json(out, from)?;
                        out.extend_from_slice(b",\"end\":");
                        write_json(out, to)?;
                        out.push(b'}');
                        Ok(())
                    }
                },
                Hole::Value(i) => {
                    out.extend_from_slice(b"\"value\":");
                    let value = values.get(i).ok_or(NormalizeError::ValueKind {
                        metric,
                        expected: "a value for each of the template's quantities",
                    })?;
                    write_json(out, value)
                }
            }
        })?;
        let resource = String::from_utf8(out).map_err(|_| NormalizeError::Json)?;
        Ok(self.normalized(ctx, id, identifier, start, end, resource))
    }

    fn normalized(
        &self,
        ctx: &Context,
        id: String,
        identifier: String,
        effective_start: DateTime<FixedOffset>,
        effective_end: DateTime<FixedOffset>,
        resource: String,
    ) -> Normalized {
        Normalized {
            id,
            identifier,
            codes: self.codes.clone(),
            categories: self.categories.clone(),
            effective_start,
            effective_end,
            vendor: ctx.vendor.clone(),
            data_type: ctx.data_type.clone(),
            resource,
        }
    }
}

/// Compact JSON of `value` (whole numbers whole) appended to `out`.
fn write_json<T: serde::Serialize + ?Sized>(
    out: &mut Vec<u8>,
    value: &T,
) -> Result<(), NormalizeError> {
    json::to_writer(out, value).map_err(|_| NormalizeError::Json)
}

/// Compact JSON of `value` as text (empty if it cannot be written, which makes
/// its needle fail to match and the template take the typed path).
fn json_text<T: serde::Serialize + ?Sized>(value: &T) -> String {
    String::from_utf8(json::to_vec(value).unwrap_or_default()).unwrap_or_default()
}

fn set_identifier(resource: &mut Observation, value: String) {
    if let Some(Some(slot)) = resource.identifier.first_mut() {
        slot.value = Some(value);
    }
}

/// A clone of the typed template with the sample's `id`, identifier and
/// `effective[x]`; `fill` adds the value (or components, or members). For panels,
/// and for templates whose sentinels could not be placed.
pub(super) fn finish_typed(
    ctx: &Context,
    t: &Template,
    sample: &Sample,
    identifier: String,
    fill: impl FnOnce(&mut ObservationInner) -> Result<(), NormalizeError>,
) -> Result<Normalized, NormalizeError> {
    let metric = sample.metric.id();
    let (effective, start, end) = effective(metric, t.spec, sample.start, sample.end)?;
    let id = identity::observation_id(&ctx.member_id, &identifier);
    let mut resource = t.resource.clone();
    resource.id = Some(id.clone());
    set_identifier(&mut resource, identifier.clone());
    resource.effective = Some(effective.typed()?);
    fill(&mut resource)?;
    let bytes = json::to_vec(&resource).map_err(|_| NormalizeError::Json)?;
    let resource = String::from_utf8(bytes).map_err(|_| NormalizeError::Json)?;
    Ok(t.normalized(ctx, id, identifier, start, end, resource))
}

fn code_index(codes: &[Code]) -> Vec<(String, String)> {
    codes
        .iter()
        .map(|c| (c.system.to_owned(), c.code.to_owned()))
        .collect()
}

/// `effective[x]`: an instant, or a period when the sample has an end (required
/// for interval metrics); the times are valid FHIR instants.
enum Effective {
    Instant(fhir_sdk::DateTime),
    Period(fhir_sdk::DateTime, fhir_sdk::DateTime),
}

impl Effective {
    fn typed(self) -> Result<ObservationEffective, NormalizeError> {
        Ok(match self {
            Self::Instant(at) => ObservationEffective::DateTime(at),
            Self::Period(start, end) => {
                ObservationEffective::Period(Period::builder().start(start).end(end).build()?)
            }
        })
    }
}

/// The sample's `effective[x]` with the start and end the index keeps.
fn effective(
    metric: &'static str,
    spec: &Spec,
    start: DateTime<FixedOffset>,
    end: Option<DateTime<FixedOffset>>,
) -> Result<(Effective, DateTime<FixedOffset>, DateTime<FixedOffset>), NormalizeError> {
    match end {
        None if spec.period => Err(NormalizeError::NoEnd { metric }),
        None => Ok((Effective::Instant(element::date_time(start)?), start, start)),
        Some(end) if end < start => Err(NormalizeError::EndBeforeStart {
            metric,
            start: start.to_rfc3339(),
            end: end.to_rfc3339(),
        }),
        Some(end) => Ok((
            Effective::Period(element::date_time(start)?, element::date_time(end)?),
            start,
            end,
        )),
    }
}

/// The identifier value of a sample: from its vendor record id, or from its content.
pub(super) fn identifier_of(ctx: &Context, sample: &Sample, value: &str, unit: &str) -> String {
    let metric = sample.metric.id();
    match sample.vendor_record_id.as_deref() {
        Some(record) => identity::digest(&["record", &ctx.vendor, metric, record]),
        None => {
            let device = sample
                .device
                .as_ref()
                .and_then(|d| d.vendor_device_id.as_deref())
                .unwrap_or("");
            let start = sample.start.to_rfc3339();
            let end = sample.end.map(|e| e.to_rfc3339()).unwrap_or_default();
            identity::digest(&[
                "content",
                &ctx.vendor,
                device,
                metric,
                &start,
                &end,
                value,
                unit,
            ])
        }
    }
}

/// A metric with one quantity as `valueQuantity`.
pub(super) fn single(
    n: &mut Normalizer<'_>,
    sample: &Sample,
    q: &sample::Quantity,
) -> Result<Normalized, NormalizeError> {
    let ctx = n.ctx;
    let t = n.sample_template(sample, &q.unit, Shape::Quantity)?;
    let value = t.number(sample.metric.id(), q)?;
    let identifier = identifier_of(ctx, sample, &q.value, &q.unit);
    t.render(ctx, sample, identifier, &[value])
}

/// Blood pressure: the panel carries no value; systolic and diastolic are components.
pub(super) fn blood_pressure(
    n: &mut Normalizer<'_>,
    sample: &Sample,
    systolic: &sample::Quantity,
    diastolic: &sample::Quantity,
) -> Result<Normalized, NormalizeError> {
    let ctx = n.ctx;
    let t = n.sample_template(sample, &systolic.unit, Shape::BloodPressure)?;
    let metric = sample.metric.id();
    let values = [t.number(metric, systolic)?, t.number(metric, diastolic)?];
    let value = format!("{}/{}", systolic.value, diastolic.value);
    let identifier = identifier_of(ctx, sample, &value, &systolic.unit);
    t.render(ctx, sample, identifier, &values)
}
