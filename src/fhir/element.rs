//! FHIR data types built from sample parts: codings, quantities, times,
//! references, the contained device, the gateway extension.

use super::codes::{Code, UCUM};
use super::NormalizeError;
use chrono::{DateTime, Datelike, FixedOffset};
use fhir_sdk::r4b::codes::DeviceNameType;
use fhir_sdk::r4b::resources::{Device, DeviceDeviceName, Resource};
use fhir_sdk::r4b::types::{
    CodeableConcept, Coding, Extension, ExtensionValue, Identifier, Meta, Quantity, Reference,
};
use fhir_sdk::time::{OffsetDateTime, UtcOffset};
use fhir_sdk::{BuilderError, Instant};
use tributary_connectors::sample;

/// The extension naming the gateway (the hub) a device's data came through.
pub const GATEWAY_DEVICE: &str =
    "http://hl7.org/fhir/StructureDefinition/observation-gatewayDevice";
/// The hub's device identifier, used in the gateway extension.
pub const HUB_DEVICE_SYSTEM: &str = "urn:tributary:device";
pub const HUB_DEVICE_ID: &str = "tributary-hub";
/// The id of the contained wearable; `Observation.device` is `#device`.
pub const DEVICE_REF: &str = "#device";

pub fn coding(system: &str, code: &str) -> Result<Coding, BuilderError> {
    Coding::builder()
        .system(system.to_owned())
        .code(code.to_owned())
        .build()
}

pub fn concept(codes: &[Code], text: Option<&str>) -> Result<CodeableConcept, BuilderError> {
    let coding = codes
        .iter()
        .map(|c| coding(c.system, c.code).map(Some))
        .collect::<Result<Vec<_>, _>>()?;
    let builder = CodeableConcept::builder().coding(coding);
    match text {
        Some(text) => builder.text(text.to_owned()).build(),
        None => builder.build(),
    }
}

/// A `valueQuantity` in UCUM `ucum` without its value: the template
/// [`checked_number`]'s value goes into.
pub fn quantity_template(ucum: &'static str) -> Result<Quantity, BuilderError> {
    Quantity::builder()
        .unit(ucum.to_owned())
        .system(UCUM.to_owned())
        .code(ucum.to_owned())
        .build()
}

/// The value of `q` as a number, after checking its unit is `ucum`.
pub fn checked_number(
    metric: &'static str,
    q: &sample::Quantity,
    ucum: &'static str,
) -> Result<f64, NormalizeError> {
    if q.unit != ucum {
        return Err(NormalizeError::Unit {
            metric,
            expected: ucum,
            got: q.unit.clone(),
        });
    }
    number(metric, &q.value)
}

/// The decimal text as a number. FHIR decimals are f64 in fhir-sdk, so `72.50`
/// becomes `72.5`; the text itself stays in the identifier hash.
pub fn number(metric: &'static str, text: &str) -> Result<f64, NormalizeError> {
    text.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| NormalizeError::Number {
            metric,
            value: text.to_owned(),
        })
}

pub fn reference(target: String) -> Result<Reference, BuilderError> {
    Reference::builder().reference(target).build()
}

/// A FHIR instant with the source's offset kept (`2026-11-20T07:15:00+01:00`).
pub fn instant(t: DateTime<FixedOffset>) -> Result<Instant, NormalizeError> {
    let bad = || NormalizeError::Time(t.to_rfc3339());
    let offset_secs = t.offset().local_minus_utc();
    if offset_secs % 60 != 0 || !(0..=9999).contains(&t.year()) {
        return Err(bad());
    }
    let nanos = i128::from(t.timestamp()) * 1_000_000_000 + i128::from(t.timestamp_subsec_nanos());
    let utc = OffsetDateTime::from_unix_timestamp_nanos(nanos).map_err(|_| bad())?;
    let offset = UtcOffset::from_whole_seconds(offset_secs).map_err(|_| bad())?;
    Ok(Instant(utc.to_offset(offset)))
}

pub fn date_time(t: DateTime<FixedOffset>) -> Result<fhir_sdk::DateTime, NormalizeError> {
    instant(t).map(fhir_sdk::DateTime::DateTime)
}

pub fn meta(vendor: &str) -> Result<Meta, BuilderError> {
    Meta::builder()
        .source(format!("urn:tributary:vendor:{vendor}"))
        .build()
}

/// An identifier with its system only; the value is set on each clone.
pub fn identifier_system(system: &str) -> Result<Identifier, BuilderError> {
    Identifier::builder().system(system.to_owned()).build()
}

pub fn identifier(system: &str, value: &str) -> Result<Identifier, BuilderError> {
    Identifier::builder()
        .system(system.to_owned())
        .value(value.to_owned())
        .build()
}

/// The hub as the gateway device, by identifier: it is not a resource of its own.
pub fn gateway() -> Result<Extension, BuilderError> {
    let hub = Reference::builder()
        .identifier(identifier(HUB_DEVICE_SYSTEM, HUB_DEVICE_ID)?)
        .display("Tributary hub".to_owned())
        .build()?;
    Extension::builder()
        .url(GATEWAY_DEVICE.to_owned())
        .value(ExtensionValue::Reference(hub))
        .build()
}

/// The wearable as a contained `Device` with id `device`; `None` when the vendor
/// said nothing about it.
pub fn device(vendor: &str, d: &sample::Device) -> Result<Option<Resource>, BuilderError> {
    if d.manufacturer.is_none() && d.model.is_none() && d.vendor_device_id.is_none() {
        return Ok(None);
    }
    let mut builder = Device::builder().id("device".to_owned());
    if let Some(m) = &d.manufacturer {
        builder = builder.manufacturer(m.clone());
    }
    if let Some(model) = &d.model {
        let name = DeviceDeviceName::builder()
            .name(model.clone())
            .r#type(DeviceNameType::ModelName)
            .build()?;
        builder = builder.device_name(vec![Some(name)]);
    }
    if let Some(id) = &d.vendor_device_id {
        let system = format!("urn:tributary:vendor:{vendor}:device");
        builder = builder.identifier(vec![Some(identifier(&system, id)?)]);
    }
    Ok(Some(Resource::Device(builder.build()?)))
}
