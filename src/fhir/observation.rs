//! One Observation: the parts every Observation shares, a single quantity, and
//! blood pressure as a panel with components.

use super::codes::{self, Code, Spec};
use super::element::{self, DEVICE_REF};
use super::identity::{self, IDENTIFIER_SYSTEM};
use super::{Context, NormalizeError, Normalized};
use chrono::{DateTime, FixedOffset};
use fhir_sdk::r4b::codes::ObservationStatus;
use fhir_sdk::r4b::resources::{
    ObservationBuilder, ObservationComponent, ObservationComponentValue, ObservationEffective,
    ObservationValue,
};
use fhir_sdk::r4b::types::Period;
use tributary_connectors::{sample, Sample};

/// What one Observation is, beyond the sample it comes from.
pub(super) struct Head<'a> {
    pub spec: &'static Spec,
    /// The vendor's own code, added as the last coding.
    pub vendor_code: Option<&'a str>,
    pub identifier: String,
}

/// Build an Observation with every shared part set, then let `fill` add the value
/// (or components, or members).
pub(super) fn build(
    ctx: &Context,
    sample: &Sample,
    head: Head<'_>,
    fill: impl FnOnce(ObservationBuilder) -> Result<ObservationBuilder, NormalizeError>,
) -> Result<Normalized, NormalizeError> {
    let metric = sample.metric.id();
    let (effective, start, end) = effective(metric, head.spec, sample.start, sample.end)?;
    let vendor_system = format!("urn:tributary:codesystem:vendor:{}", ctx.vendor);
    let mut code = element::concept(head.spec.codes, Some(head.spec.text))?;
    let mut index = code_index(head.spec.codes);
    if let Some(vendor_code) = head.vendor_code {
        code.coding
            .push(Some(element::coding(&vendor_system, vendor_code)?));
        index.push((vendor_system.clone(), vendor_code.to_owned()));
    }
    let categories = head.spec.category.codings();
    let category = categories
        .iter()
        .map(|c| element::concept(std::slice::from_ref(c), None).map(Some))
        .collect::<Result<Vec<_>, _>>()?;
    let id = identity::observation_id(&ctx.member_id, &head.identifier);
    let mut builder = fhir_sdk::r4b::resources::Observation::builder()
        .id(id.clone())
        .meta(element::meta(&ctx.vendor)?)
        .extension(vec![element::gateway()?])
        .identifier(vec![Some(element::identifier(
            IDENTIFIER_SYSTEM,
            &head.identifier,
        )?)])
        .status(ObservationStatus::Final)
        .category(category)
        .code(code)
        .subject(element::reference(format!("Patient/{}", ctx.member_id))?)
        .effective(effective);
    if let Some(device) = sample.device.as_ref() {
        if let Some(contained) = element::device(&ctx.vendor, device)? {
            builder = builder
                .contained(vec![contained])
                .device(element::reference(DEVICE_REF.to_owned())?);
        }
    }
    let resource = fill(builder)?.build()?;
    Ok(Normalized {
        id,
        identifier: head.identifier,
        codes: index,
        categories: categories.iter().map(|c| c.code.to_owned()).collect(),
        effective_start: start,
        effective_end: end,
        vendor: ctx.vendor.clone(),
        data_type: ctx.data_type.clone(),
        resource,
    })
}

fn code_index(codes: &[Code]) -> Vec<(String, String)> {
    codes
        .iter()
        .map(|c| (c.system.to_owned(), c.code.to_owned()))
        .collect()
}

/// `effectivePeriod` when the sample has an end (required for interval metrics),
/// else `effectiveDateTime`; with the start and end the index keeps.
type Effective = (
    ObservationEffective,
    DateTime<FixedOffset>,
    DateTime<FixedOffset>,
);

fn effective(
    metric: &'static str,
    spec: &Spec,
    start: DateTime<FixedOffset>,
    end: Option<DateTime<FixedOffset>>,
) -> Result<Effective, NormalizeError> {
    match end {
        None if spec.period => Err(NormalizeError::NoEnd { metric }),
        None => Ok((
            ObservationEffective::DateTime(element::date_time(start)?),
            start,
            start,
        )),
        Some(end) if end < start => Err(NormalizeError::EndBeforeStart {
            metric,
            start: start.to_rfc3339(),
            end: end.to_rfc3339(),
        }),
        Some(end) => {
            let period = Period::builder()
                .start(element::date_time(start)?)
                .end(element::date_time(end)?)
                .build()?;
            Ok((ObservationEffective::Period(period), start, end))
        }
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
    ctx: &Context,
    sample: &Sample,
    q: &sample::Quantity,
) -> Result<Normalized, NormalizeError> {
    let spec = codes::spec_of(sample.metric, &q.unit);
    let value = element::quantity(sample.metric.id(), q, spec.unit)?;
    let head = Head {
        spec,
        vendor_code: Some(&sample.vendor_code),
        identifier: identifier_of(ctx, sample, &q.value, &q.unit),
    };
    build(ctx, sample, head, |b| {
        Ok(b.value(ObservationValue::Quantity(value)))
    })
}

/// Blood pressure: the panel carries no value; systolic and diastolic are components.
pub(super) fn blood_pressure(
    ctx: &Context,
    sample: &Sample,
    systolic: &sample::Quantity,
    diastolic: &sample::Quantity,
) -> Result<Normalized, NormalizeError> {
    let spec = codes::spec_of(sample.metric, &systolic.unit);
    let metric = sample.metric.id();
    let component = |code: Code, q: &sample::Quantity| -> Result<_, NormalizeError> {
        let value = element::quantity(metric, q, spec.unit)?;
        Ok(Some(
            ObservationComponent::builder()
                .code(element::concept(&[code], None)?)
                .value(ObservationComponentValue::Quantity(value))
                .build()?,
        ))
    };
    let components = vec![
        component(codes::SYSTOLIC, systolic)?,
        component(codes::DIASTOLIC, diastolic)?,
    ];
    let value = format!("{}/{}", systolic.value, diastolic.value);
    let head = Head {
        spec,
        vendor_code: Some(&sample.vendor_code),
        identifier: identifier_of(ctx, sample, &value, &systolic.unit),
    };
    build(ctx, sample, head, |b| Ok(b.component(components)))
}
