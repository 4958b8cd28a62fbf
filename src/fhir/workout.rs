//! A workout as the Physical Activity IG's activity group: a panel Observation
//! (73985-4, the activity type as its value) whose `hasMember` references one
//! Observation per measure (duration 55411-3, energy 55424-6, distance).
//!
//! Policy: the panel comes first, then its members; all are returned, so the store
//! keeps them together. Members share the panel's time, device and subject, carry
//! the panel's identifier plus a suffix, and have no vendor coding of their own
//! (the vendor code names the workout, which is the panel).

use super::codes::{self, Spec};
use super::element;
use super::normalizer::Normalizer;
use super::observation::{self, Shape};
use super::{NormalizeError, Normalized};
use fhir_sdk::r4b::resources::ObservationValue;
use fhir_sdk::r4b::types::CodeableConcept;
use tributary_connectors::{sample, Sample, Workout};

/// The panel, then its members, appended to `out` (partly, on an error: the
/// caller truncates).
pub(super) fn normalize(
    n: &mut Normalizer<'_>,
    sample: &Sample,
    w: &Workout,
    out: &mut Vec<Normalized>,
) -> Result<(), NormalizeError> {
    let measures = [
        ("duration", &codes::WORKOUT_DURATION, Some(&w.duration)),
        ("energy", &codes::WORKOUT_ENERGY, w.energy.as_ref()),
        ("distance", &codes::WORKOUT_DISTANCE, w.distance.as_ref()),
    ];
    let panel_identifier = observation::identifier_of(n.ctx, sample, &content(w), "min");
    let mut members = Vec::with_capacity(measures.len());
    for (suffix, spec, quantity) in measures {
        if let Some(q) = quantity {
            let identifier = format!("{panel_identifier}-{suffix}");
            members.push(member(n, sample, spec, q, identifier)?);
        }
    }
    let refs = members
        .iter()
        .map(|m| element::reference(format!("Observation/{}", m.id)).map(Some))
        .collect::<Result<Vec<_>, _>>()?;
    let activity = activity(&n.ctx.vendor, &w.activity)?;
    let ctx = n.ctx;
    let t = n.sample_template(sample, "", Shape::Panel)?;
    let panel = observation::finish_typed(ctx, t, sample, panel_identifier, |o| {
        o.value = Some(ObservationValue::CodeableConcept(activity));
        o.has_member = refs;
        Ok(())
    })?;
    out.reserve(members.len() + 1);
    out.push(panel);
    out.extend(members);
    Ok(())
}

fn member(
    n: &mut Normalizer<'_>,
    sample: &Sample,
    spec: &'static Spec,
    q: &sample::Quantity,
    identifier: String,
) -> Result<Normalized, NormalizeError> {
    let ctx = n.ctx;
    let t = n.template(spec, Shape::Quantity, None, sample.device.as_ref(), None)?;
    let value = t.number(sample.metric.id(), q)?;
    t.render(ctx, sample, identifier, &[value])
}

/// The activity type in the vendor's own terms: a coding in the vendor's activity
/// code system, and the same text.
fn activity(vendor: &str, activity: &str) -> Result<CodeableConcept, fhir_sdk::BuilderError> {
    let system = format!("urn:tributary:codesystem:vendor:{vendor}:activity");
    CodeableConcept::builder()
        .coding(vec![Some(element::coding(&system, activity)?)])
        .text(activity.to_owned())
        .build()
}

/// The workout's content, for the identifier when the vendor gives no record id.
fn content(w: &Workout) -> String {
    let text = |q: Option<&sample::Quantity>| {
        q.map(|q| format!("{} {}", q.value, q.unit))
            .unwrap_or_default()
    };
    [
        w.activity.clone(),
        text(Some(&w.duration)),
        text(w.energy.as_ref()),
        text(w.distance.as_ref()),
    ]
    .join("|")
}
