//! `GET /fhir/r4/Consent/{id}`: one recorded change of a member's grant. Its status
//! and period depend on the changes after it, so the member's history is read.
//! Another portal's Consent answers 404 like one that does not exist.

use super::consent_search::member_consents;
use super::outcome::FhirError;
use super::{fhir_json, reader, with_conn};
use crate::db::Database;
use crate::http::auth::Caller;
use crate::http::error::ApiError;
use crate::store::consent_events;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};

pub async fn read(
    caller: Result<Caller, ApiError>,
    db: web::Data<Database>,
    id: web::Path<String>,
) -> Result<HttpResponse, FhirError> {
    let caller = reader(caller).await?;
    let id = id.into_inner();
    if !crate::fhir::is_fhir_id(&id) {
        return Err(FhirError::not_found());
    }
    let consent = with_conn(db, move |conn| {
        let member = consent_events::member_of(conn, &caller.portal, &id)?;
        member_consents(conn, &caller.portal, &member)?
            .into_iter()
            .find(|c| c.id.as_deref() == Some(id.as_str()))
            .ok_or_else(FhirError::not_found)
    })
    .await?;
    let json =
        serde_json::to_value(&consent).map_err(|e| FhirError::from(ApiError::internal(&e)))?;
    Ok(fhir_json(StatusCode::OK, &json))
}
