//! `GET|POST /fhir/r4/$export` and `/fhir/r4/Patient/$export`: start an export.
//! Needs `Prefer: respond-async`; takes `_type`, `_since`, `_outputFormat` (query
//! string). Answers 202 with the status URL in `Content-Location`.

use super::super::outcome::FhirError;
use super::super::{reader, with_conn, BASE};
use super::{job, TYPES};
use crate::db::Database;
use crate::http::auth::Caller;
use crate::http::error::ApiError;
use crate::keys::KeyRing;
use crate::store::exports;
use crate::vendors::Vendors;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use std::sync::Arc;

struct Request {
    types: Vec<String>,
    since: Option<i64>,
}

fn respond_async(req: &HttpRequest) -> bool {
    req.headers()
        .get_all("prefer")
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split([',', ';']).any(|p| p.trim() == "respond-async"))
}

fn parse(query: &str) -> Result<Request, FhirError> {
    let mut out = Request {
        types: TYPES.iter().map(|t| (*t).to_owned()).collect(),
        since: None,
    };
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        match name.as_ref() {
            "_type" => {
                let types: Vec<String> = value.split(',').map(|t| t.trim().to_owned()).collect();
                if types.iter().any(|t| !TYPES.contains(&t.as_str())) {
                    return Err(FhirError::invalid(format!(
                        "parameter `_type`: supported types are {}",
                        TYPES.join(", ")
                    )));
                }
                out.types = types;
            }
            "_since" => {
                let t = chrono::DateTime::parse_from_rfc3339(&value).map_err(|_| {
                    FhirError::invalid("parameter `_since`: an instant with an offset")
                })?;
                out.since = Some(t.timestamp_micros());
            }
            "_outputFormat" => {
                if !["application/fhir+ndjson", "application/ndjson", "ndjson"]
                    .contains(&value.as_ref())
                {
                    return Err(FhirError::invalid(
                        "parameter `_outputFormat`: only application/fhir+ndjson",
                    ));
                }
            }
            other => {
                return Err(FhirError::invalid(format!(
                    "unknown export parameter `{}`; supported: _type, _since, _outputFormat",
                    other.chars().take(64).collect::<String>()
                )))
            }
        }
    }
    Ok(out)
}

async fn start(
    caller: Result<Caller, ApiError>,
    req: HttpRequest,
    db: web::Data<Database>,
    ring: web::Data<KeyRing>,
    vendors: web::Data<Vendors>,
) -> Result<HttpResponse, FhirError> {
    let caller = reader(caller).await?;
    if !respond_async(&req) {
        return Err(FhirError::invalid(
            "header `Prefer`: a Bulk Data export needs Prefer: respond-async",
        ));
    }
    let parsed = parse(req.query_string())?;
    let request_url = vendors.public(&req.uri().to_string());
    let (pool, keys) = (db.clone(), ring.clone().into_inner());
    let export = with_conn(db, move |conn| {
        Ok(exports::create(
            conn,
            &ring,
            &caller.portal,
            &request_url,
            &parsed.types,
            parsed.since,
        )?)
    })
    .await?;
    job::spawn(pool.get_ref().clone(), Arc::clone(&keys), export.clone());
    let status = vendors.public(&format!("{BASE}/$export-status/{}", export.id));
    Ok(HttpResponse::Accepted()
        .insert_header((header::CONTENT_LOCATION, status))
        .finish())
}

pub async fn system(
    caller: Result<Caller, ApiError>,
    req: HttpRequest,
    db: web::Data<Database>,
    ring: web::Data<KeyRing>,
    vendors: web::Data<Vendors>,
) -> Result<HttpResponse, FhirError> {
    start(caller, req, db, ring, vendors).await
}

pub async fn patients(
    caller: Result<Caller, ApiError>,
    req: HttpRequest,
    db: web::Data<Database>,
    ring: web::Data<KeyRing>,
    vendors: web::Data<Vendors>,
) -> Result<HttpResponse, FhirError> {
    start(caller, req, db, ring, vendors).await
}
