//! The FHIR R4 (4.0.1) API under `/fhir/r4`: CapabilityStatement, Patient and
//! Observation read, Observation search, Consent read and search (the consent
//! history), and Bulk Data export.
//!
//! Policy:
//! - Every route but `metadata` needs a portal API key with scope `data:read`; a
//!   refusal is an OperationOutcome with the portal API's status (401/403), and is
//!   audited as the portal API audits it. Another portal's ids answer 404 exactly
//!   like ids that do not exist.
//! - Responses are `application/fhir+json` (NDJSON files `application/fhir+ndjson`);
//!   every error is an OperationOutcome whose diagnostics name the parameter at
//!   fault, never a value (it may be PHI) or a cause from inside the hub.
//! - These routes are not in `/openapi.json` (and not in [`crate::api::ROUTES`]): a
//!   FHIR server describes itself with its CapabilityStatement, and FHIR's search
//!   grammar (prefixes, modifiers, repeated parameters) is not OpenAPI's. They are
//!   listed in [`ROUTES`] for tests.
//! - One file per action; database work runs on the blocking pool.

mod capability;
mod consent_read;
pub mod consent_search;
pub mod export;
mod observation_read;
mod observation_search;
pub mod outcome;
mod params;
mod patient_read;

pub use patient_read::patient as patient_resource;

use crate::db::{AnyConnection, Database};
use crate::http::auth::Caller;
use crate::http::error::ApiError;
use crate::store::api_keys::Scope;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use fhir_sdk::r4b::codes::IssueType;
use outcome::{FhirError, FHIR_JSON};

/// Where the FHIR API is served.
pub const BASE: &str = "/fhir/r4";

/// Every `(method, path)` of the FHIR API.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/fhir/r4/metadata"),
    ("GET", "/fhir/r4/Patient/$export"),
    ("POST", "/fhir/r4/Patient/$export"),
    ("GET", "/fhir/r4/Patient/{id}"),
    ("GET", "/fhir/r4/Observation"),
    ("GET", "/fhir/r4/Observation/{id}"),
    ("GET", "/fhir/r4/Consent"),
    ("GET", "/fhir/r4/Consent/{id}"),
    ("GET", "/fhir/r4/$export"),
    ("POST", "/fhir/r4/$export"),
    ("GET", "/fhir/r4/$export-status/{id}"),
    ("DELETE", "/fhir/r4/$export-status/{id}"),
    ("GET", "/fhir/r4/$export-file/{id}/{file}"),
];

fn not_allowed(
    allow: &'static [&'static str],
) -> impl Fn() -> std::future::Ready<Result<HttpResponse, FhirError>> + Clone {
    move || std::future::ready(Err(FhirError::from(ApiError::MethodNotAllowed { allow })))
}

/// Register the FHIR routes. Registered before the portal API; the scope's own
/// fallback answers unknown FHIR paths with an OperationOutcome.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope(BASE)
            .service(
                web::resource("/metadata")
                    .route(web::get().to(capability::metadata))
                    .default_service(web::to(not_allowed(&["get"]))),
            )
            .service(
                web::resource("/Patient/$export")
                    .route(web::get().to(export::kickoff::patients))
                    .route(web::post().to(export::kickoff::patients))
                    .default_service(web::to(not_allowed(&["get", "post"]))),
            )
            .service(
                web::resource("/Patient/{id}")
                    .route(web::get().to(patient_read::read))
                    .default_service(web::to(not_allowed(&["get"]))),
            )
            .service(
                web::resource("/Observation")
                    .route(web::get().to(observation_search::search))
                    .default_service(web::to(not_allowed(&["get"]))),
            )
            .service(
                web::resource("/Observation/{id}")
                    .route(web::get().to(observation_read::read))
                    .default_service(web::to(not_allowed(&["get"]))),
            )
            .service(
                web::resource("/Consent")
                    .route(web::get().to(consent_search::search))
                    .default_service(web::to(not_allowed(&["get"]))),
            )
            .service(
                web::resource("/Consent/{id}")
                    .route(web::get().to(consent_read::read))
                    .default_service(web::to(not_allowed(&["get"]))),
            )
            .service(
                web::resource("/$export")
                    .route(web::get().to(export::kickoff::system))
                    .route(web::post().to(export::kickoff::system))
                    .default_service(web::to(not_allowed(&["get", "post"]))),
            )
            .service(
                web::resource("/$export-status/{id}")
                    .route(web::get().to(export::status::poll))
                    .route(web::delete().to(export::status::cancel))
                    .default_service(web::to(not_allowed(&["get", "delete"]))),
            )
            .service(
                web::resource("/$export-file/{id}/{file}")
                    .route(web::get().to(export::file::download))
                    .default_service(web::to(not_allowed(&["get"]))),
            )
            .default_service(web::to(|| async {
                Err::<HttpResponse, _>(FhirError::new(
                    StatusCode::NOT_FOUND,
                    IssueType::NotSupported,
                    "this FHIR server has no such resource type or operation; see /fhir/r4/metadata",
                ))
            })),
    );
}

/// The authenticated caller, allowed to read data.
pub async fn reader(caller: Result<Caller, ApiError>) -> Result<Caller, FhirError> {
    let caller = caller?;
    caller.require(Scope::DataRead).await?;
    Ok(caller)
}

/// Run `f` with a pooled connection on the blocking thread pool.
pub async fn with_conn<T, F>(db: web::Data<Database>, f: F) -> Result<T, FhirError>
where
    T: Send + 'static,
    F: FnOnce(&mut AnyConnection) -> Result<T, FhirError> + Send + 'static,
{
    web::block(move || {
        let mut conn = db
            .conn()
            .map_err(|e| FhirError::from(ApiError::database_unavailable(&e)))?;
        f(&mut conn)
    })
    .await?
}

/// A FHIR JSON response.
pub fn fhir_json(status: StatusCode, body: &serde_json::Value) -> HttpResponse {
    fhir_text(status, body.to_string())
}

/// A FHIR resource already written as JSON text.
pub fn fhir_text(status: StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type(FHIR_JSON)
        .body(body)
}
