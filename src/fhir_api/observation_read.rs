//! `GET /fhir/r4/Observation/{id}`.

use super::outcome::FhirError;
use super::{fhir_text, reader, with_conn};
use crate::db::Database;
use crate::http::auth::Caller;
use crate::http::error::ApiError;
use crate::keys::KeyRing;
use crate::store::observations;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};

pub async fn read(
    caller: Result<Caller, ApiError>,
    db: web::Data<Database>,
    ring: web::Data<KeyRing>,
    id: web::Path<String>,
) -> Result<HttpResponse, FhirError> {
    let caller = reader(caller).await?;
    let id = id.into_inner();
    if id.len() > 64 {
        return Err(FhirError::not_found());
    }
    let resource = with_conn(db, move |conn| {
        Ok(observations::get(conn, &ring, &caller.portal, &id)?)
    })
    .await?;
    Ok(fhir_text(StatusCode::OK, resource.json))
}
