//! One Observation: the template of the parts every Observation of a mapping row,
//! vendor code and device shares, a single quantity, and blood pressure as a panel
//! with components.

use super::codes::{self, Code, Spec};
use super::element::{self, DEVICE_REF};
use super::identity::{self, IDENTIFIER_SYSTEM};
use super::normalizer::Normalizer;
use super::{Context, NormalizeError, Normalized};
use chrono::{DateTime, FixedOffset};
use fhir_sdk::r4b::codes::ObservationStatus;
use fhir_sdk::r4b::resources::{
    Observation, ObservationComponent, ObservationComponentValue, ObservationEffective,
    ObservationInner, ObservationValue,
};
use fhir_sdk::r4b::types::{Period, Quantity};
use tributary_connectors::{sample, Sample};

/// The shared parts: everything but `id`, the identifier's value, `effective[x]`
/// and the value, which [`finish`] sets on a clone.
pub(super) struct Template {
    spec: &'static Spec,
    vendor_code: Option<String>,
    device: Option<sample::Device>,
    resource: Observation,
    /// A `valueQuantity` in the row's unit, without its value.
    quantity: Quantity,
    codes: Vec<(String, String)>,
    categories: Vec<String>,
}

impl Template {
    pub(super) fn new(
        n: &Normalizer<'_>,
        spec: &'static Spec,
        vendor_code: Option<&str>,
        device: Option<&sample::Device>,
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
        Ok(Self {
            spec,
            vendor_code: vendor_code.map(str::to_owned),
            device: device.cloned(),
            resource: builder.build()?,
            quantity: element::quantity_template(spec.unit)?,
            codes: index,
            categories: categories.iter().map(|c| c.code.to_owned()).collect(),
        })
    }

    /// Whether this is the template of (`spec`, `vendor_code`, `device`).
    pub(super) fn is(
        &self,
        spec: &'static Spec,
        vendor_code: Option<&str>,
        device: Option<&sample::Device>,
    ) -> bool {
        std::ptr::eq(self.spec, spec)
            && self.vendor_code.as_deref() == vendor_code
            && self.device.as_ref() == device
    }

    /// The row's `valueQuantity` with the sample's value, after checking its unit.
    pub(super) fn quantity(
        &self,
        metric: &'static str,
        q: &sample::Quantity,
    ) -> Result<Quantity, NormalizeError> {
        let value = element::checked_number(metric, q, self.spec.unit)?;
        let mut quantity = self.quantity.clone();
        quantity.value = Some(value);
        Ok(quantity)
    }
}

/// A clone of the template with the sample's `id`, identifier and `effective[x]`;
/// `fill` adds the value (or components, or members).
pub(super) fn finish(
    ctx: &Context,
    t: &Template,
    sample: &Sample,
    identifier: String,
    fill: impl FnOnce(&mut ObservationInner),
) -> Result<Normalized, NormalizeError> {
    let metric = sample.metric.id();
    let (effective, start, end) = effective(metric, t.spec, sample.start, sample.end)?;
    let id = identity::observation_id(&ctx.member_id, &identifier);
    let mut resource = t.resource.clone();
    resource.id = Some(id.clone());
    if let Some(Some(slot)) = resource.identifier.first_mut() {
        slot.value = Some(identifier.clone());
    }
    resource.effective = Some(effective);
    fill(&mut resource);
    Ok(Normalized {
        id,
        identifier,
        codes: t.codes.clone(),
        categories: t.categories.clone(),
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
    n: &mut Normalizer<'_>,
    sample: &Sample,
    q: &sample::Quantity,
) -> Result<Normalized, NormalizeError> {
    let ctx = n.ctx;
    let spec = codes::spec_of(sample.metric, &q.unit);
    let t = n.template(spec, Some(&sample.vendor_code), sample.device.as_ref())?;
    let value = t.quantity(sample.metric.id(), q)?;
    let identifier = identifier_of(ctx, sample, &q.value, &q.unit);
    finish(ctx, t, sample, identifier, |o| {
        o.value = Some(ObservationValue::Quantity(value));
    })
}

/// Blood pressure: the panel carries no value; systolic and diastolic are components.
pub(super) fn blood_pressure(
    n: &mut Normalizer<'_>,
    sample: &Sample,
    systolic: &sample::Quantity,
    diastolic: &sample::Quantity,
) -> Result<Normalized, NormalizeError> {
    let ctx = n.ctx;
    let spec = codes::spec_of(sample.metric, &systolic.unit);
    let t = n.template(spec, Some(&sample.vendor_code), sample.device.as_ref())?;
    let metric = sample.metric.id();
    let component = |code: Code, q: &sample::Quantity| -> Result<_, NormalizeError> {
        Ok(Some(
            ObservationComponent::builder()
                .code(element::concept(&[code], None)?)
                .value(ObservationComponentValue::Quantity(t.quantity(metric, q)?))
                .build()?,
        ))
    };
    let components = vec![
        component(codes::SYSTOLIC, systolic)?,
        component(codes::DIASTOLIC, diastolic)?,
    ];
    let value = format!("{}/{}", systolic.value, diastolic.value);
    let identifier = identifier_of(ctx, sample, &value, &systolic.unit);
    finish(ctx, t, sample, identifier, |o| o.component = components)
}
