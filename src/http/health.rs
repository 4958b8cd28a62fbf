//! Liveness and readiness.

use super::error::ApiError;
use crate::db::Database;
use actix_web::{web, HttpResponse};
use std::time::Duration;

/// How long readiness waits for a database connection before answering 503.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// `GET /healthz`: the process is up and serving.
#[utoipa::path(get, operation_id = "healthz", path = "/healthz", tag = "operations", security(()),
    responses((status = 200, description = "The process serves", body = crate::api::openapi::Status)))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

/// `GET /readyz`: the database answers and its migrations are current. Checked on
/// every call, so it turns back to 200 as soon as the database returns.
#[utoipa::path(get, operation_id = "readyz", path = "/readyz", tag = "operations", security(()),
    responses(
        (status = 200, description = "Ready", body = crate::api::openapi::Status),
        (status = 503, description = "Not ready; the message says why", body = crate::api::openapi::ErrorBody),
    ))]
pub async fn readyz(db: web::Data<Database>) -> Result<HttpResponse, ApiError> {
    let db = db.into_inner();
    web::block(move || db.check_ready(READY_TIMEOUT))
        .await
        .map_err(|e| ApiError::internal(&e))?
        .map_err(ApiError::Unavailable)?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"status": "ready"})))
}
