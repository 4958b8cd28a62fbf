//! `GET /fhir/r4/Patient/{id}`: a member as a Patient. The id is the member id; the
//! only identifier is the portal's User Key (system per portal). No names or
//! contact details exist, so none are served.

use super::outcome::FhirError;
use super::{fhir_json, reader, with_conn};
use crate::db::Database;
use crate::domain::{MemberId, PortalId};
use crate::http::auth::Caller;
use crate::http::error::ApiError;
use crate::keys::KeyRing;
use crate::store::members::Member;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use fhir_sdk::r4b::resources::Patient;
use fhir_sdk::r4b::types::Identifier;

/// The identifier system of a portal's User Keys.
pub fn user_key_system(portal: &PortalId) -> String {
    format!("urn:tributary:portal:{portal}:user-key")
}

/// The Patient resource of a member.
pub fn patient(member: &Member) -> Result<serde_json::Value, FhirError> {
    let internal = |e: &dyn std::fmt::Display| FhirError::from(ApiError::internal(e));
    let identifier = Identifier::builder()
        .system(user_key_system(&member.portal_id))
        .value(member.user_key.expose().to_owned())
        .build()
        .map_err(|e| internal(&e))?;
    let patient = Patient::builder()
        .id(member.id.to_string())
        .identifier(vec![Some(identifier)])
        .build()
        .map_err(|e| internal(&e))?;
    serde_json::to_value(&patient).map_err(|e| internal(&e))
}

/// The member of `portal` with this id; 404 for another portal's or none.
pub fn member_of(
    conn: &mut crate::db::AnyConnection,
    ring: &KeyRing,
    portal: &PortalId,
    id: &str,
) -> Result<Member, FhirError> {
    let id = MemberId::parse(id).ok_or_else(FhirError::not_found)?;
    match crate::store::members::get(conn, ring, &id) {
        Ok(m) if &m.portal_id == portal => Ok(m),
        Ok(_) | Err(crate::store::StoreError::NotFound) => Err(FhirError::not_found()),
        Err(e) => Err(e.into()),
    }
}

pub async fn read(
    caller: Result<Caller, ApiError>,
    db: web::Data<Database>,
    ring: web::Data<KeyRing>,
    id: web::Path<String>,
) -> Result<HttpResponse, FhirError> {
    let caller = reader(caller).await?;
    let member = with_conn(db, move |conn| member_of(conn, &ring, &caller.portal, &id)).await?;
    Ok(fhir_json(StatusCode::OK, &patient(&member)?))
}
