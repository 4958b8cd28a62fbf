//! `GET /fhir/r4/$export-status/{id}` (202 with `X-Progress` while running, then 200
//! with the manifest) and `DELETE` (cancel and delete the files, 202).

use super::super::outcome::FhirError;
use super::super::{reader, with_conn, BASE};
use crate::db::Database;
use crate::http::auth::Caller;
use crate::http::error::ApiError;
use crate::store::exports;
use crate::store::observations::instant;
use crate::vendors::Vendors;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use fhir_sdk::r4b::codes::IssueType;
use serde_json::json;

/// The id in a status or file URL: 32 hex digits, or nothing matches.
pub fn export_id(raw: &str) -> Result<String, FhirError> {
    if raw.len() == 32 && raw.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(raw.to_owned())
    } else {
        Err(FhirError::not_found())
    }
}

pub async fn poll(
    caller: Result<Caller, ApiError>,
    db: web::Data<Database>,
    vendors: web::Data<Vendors>,
    id: web::Path<String>,
) -> Result<HttpResponse, FhirError> {
    let caller = reader(caller).await?;
    let id = export_id(&id)?;
    let (export, files) = with_conn(db, move |conn| {
        let export = exports::get(conn, &caller.portal, &id)?;
        let files = if export.status == exports::DONE {
            exports::files(conn, &export.id)?
        } else {
            Vec::new()
        };
        Ok((export, files))
    })
    .await?;
    match export.status.as_str() {
        exports::RUNNING => Ok(HttpResponse::Accepted()
            .insert_header(("X-Progress", export.progress.clone()))
            .insert_header(("Retry-After", "1"))
            .finish()),
        exports::DONE => {
            let output: Vec<_> = files
                .iter()
                .map(|(t, _, count)| {
                    json!({
                        "type": t,
                        "url": vendors.public(&format!("{BASE}/$export-file/{}/{t}.ndjson", export.id)),
                        "count": count,
                    })
                })
                .collect();
            Ok(HttpResponse::Ok().json(json!({
                "transactionTime": instant(export.transaction_time),
                "request": export.request,
                "requiresAccessToken": true,
                "output": output,
                "error": [],
            })))
        }
        _ => Err(FhirError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            IssueType::Exception,
            "the export failed; the request id identifies it in the hub's log",
        )),
    }
}

pub async fn cancel(
    caller: Result<Caller, ApiError>,
    db: web::Data<Database>,
    id: web::Path<String>,
) -> Result<HttpResponse, FhirError> {
    let caller = reader(caller).await?;
    let id = export_id(&id)?;
    with_conn(db, move |conn| {
        Ok(exports::delete(conn, &caller.portal, &id)?)
    })
    .await?;
    Ok(HttpResponse::Accepted().finish())
}
