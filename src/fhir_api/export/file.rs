//! `GET /fhir/r4/$export-file/{id}/{Type}.ndjson`: one export file, streamed chunk by
//! chunk (each opened only when the client is ready for it).

use super::super::outcome::FhirError;
use super::super::{reader, with_conn};
use super::status::export_id;
use super::{NDJSON, TYPES};
use crate::db::Database;
use crate::http::auth::Caller;
use crate::http::error::ApiError;
use crate::keys::KeyRing;
use crate::store::exports;
use actix_web::web::Bytes;
use actix_web::{web, HttpResponse};
use std::sync::Arc;

pub async fn download(
    caller: Result<Caller, ApiError>,
    db: web::Data<Database>,
    ring: web::Data<KeyRing>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, FhirError> {
    let caller = reader(caller).await?;
    let (id, file) = path.into_inner();
    let id = export_id(&id)?;
    let resource_type = file
        .strip_suffix(".ndjson")
        .and_then(|t| TYPES.iter().find(|x| **x == t))
        .ok_or_else(FhirError::not_found)?;
    let keys = ring.clone().into_inner();
    let export_id = id.clone();
    let key = with_conn(db.clone(), move |conn| {
        let export = exports::get(conn, &caller.portal, &export_id)?;
        if export.status != exports::DONE {
            return Err(FhirError::not_found());
        }
        Ok(exports::key(conn, &keys, &export.id)?)
    })
    .await?;
    let key = Arc::new(key);
    let stream = futures_util::stream::unfold(Some(0_i32), move |seq| {
        let (db, key, id) = (db.clone(), key.clone(), id.clone());
        async move {
            let seq = seq?;
            let chunk = web::block(move || {
                let mut conn = db.conn().map_err(|e| ApiError::database_unavailable(&e))?;
                exports::chunk(&mut conn, &key, &id, resource_type, seq).map_err(ApiError::from)
            })
            .await
            .map_err(ApiError::from)
            .and_then(|r| r);
            match chunk {
                Ok(Some(bytes)) => Some((Ok(Bytes::from(bytes)), Some(seq + 1))),
                Ok(None) => None,
                Err(e) => Some((Err(actix_web::Error::from(e)), None)),
            }
        }
    });
    Ok(HttpResponse::Ok().content_type(NDJSON).streaming(stream))
}
