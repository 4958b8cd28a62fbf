//! The Patient a member is, and the collection Bundle that carries resources out.
//!
//! Policy: a Patient holds the member id and the portal's User Key, nothing else:
//! no names, contact details or demographics are invented.

use super::element;
use super::NormalizeError;
use fhir_sdk::r4b::codes::BundleType;
use fhir_sdk::r4b::resources::{Bundle, BundleEntry, Patient, Resource};

/// The identifier system of a portal's User Keys.
pub fn user_key_system(portal_id: &str) -> String {
    format!("urn:tributary:portal:{portal_id}:user-key")
}

/// The member as a Patient: id = member id, identifier = the portal's User Key.
pub fn patient(
    member_id: &str,
    portal_id: &str,
    user_key: &str,
) -> Result<Patient, NormalizeError> {
    if !super::is_fhir_id(member_id) {
        return Err(NormalizeError::MemberId(member_id.to_owned()));
    }
    let identifier = element::identifier(&user_key_system(portal_id), user_key)?;
    Ok(Patient::builder()
        .id(member_id.to_owned())
        .identifier(vec![Some(identifier)])
        .build()?)
}

/// A Bundle of type `collection` holding `resources` in order.
pub fn collection_bundle(
    resources: impl IntoIterator<Item = Resource>,
) -> Result<Bundle, NormalizeError> {
    let entry = resources
        .into_iter()
        .map(|r| BundleEntry::builder().resource(r).build().map(Some))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Bundle::builder()
        .r#type(BundleType::Collection)
        .entry(entry)
        .build()?)
}
