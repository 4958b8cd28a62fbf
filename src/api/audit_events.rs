//! `GET /v1/audit-events?after=SEQ&limit=N`: the portal's own audit entries.

use super::openapi::AuthErrors;
use super::with_conn;
use crate::db::Database;
use crate::http::auth::Caller;
use crate::http::error::ApiError;
use crate::store::audit;
use crate::store::audit::Event;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A page of audit entries.
#[derive(Serialize, ToSchema)]
pub struct AuditPage {
    data: Vec<Event>,
    /// Pass as `after` for the next page; null on the last page.
    next_after: Option<i64>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct Page {
    /// Entries after this sequence number (exclusive); 0 from the start.
    #[serde(default)]
    #[param(minimum = 0)]
    after: i64,
    /// Entries per page, 1 to 500.
    #[serde(default = "default_limit")]
    #[param(minimum = 1, maximum = 500)]
    limit: i64,
}

fn default_limit() -> i64 {
    100
}

/// The portal's audit trail, oldest first. Any valid key of the portal may read it.
#[utoipa::path(get, operation_id = "list_audit_events", path = "/v1/audit-events", tag = "audit", params(Page), security(("api_key" = [])),
    responses((status = 200, description = "A page of entries", body = AuditPage),
        (status = 422, description = "A query parameter breaks its rule", body = super::openapi::ErrorBody), AuthErrors))]
pub async fn list(
    caller: Caller,
    page: web::Query<Page>,
    db: web::Data<Database>,
) -> Result<HttpResponse, ApiError> {
    let page = page.into_inner();
    if !(1..=500).contains(&page.limit) {
        return Err(ApiError::Validation(
            "limit must be between 1 and 500".into(),
        ));
    }
    if page.after < 0 {
        return Err(ApiError::Validation("after must be 0 or more".into()));
    }
    let events = with_conn(db, move |conn| {
        Ok(audit::list(conn, &caller.portal, page.after, page.limit)?)
    })
    .await?;
    let next = (events.len() as i64 == page.limit)
        .then(|| events.last().map(|e| e.seq))
        .flatten();
    Ok(HttpResponse::Ok().json(AuditPage {
        data: events,
        next_after: next,
    }))
}
