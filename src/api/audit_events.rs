//! `GET /v1/audit-events?after=SEQ&limit=N`: the portal's own audit entries.

use super::with_conn;
use crate::db::Database;
use crate::http::auth::Caller;
use crate::http::error::ApiError;
use crate::store::audit;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Page {
    /// Entries after this sequence number (exclusive); 0 from the start.
    #[serde(default)]
    after: i64,
    #[serde(default = "default_limit")]
    limit: i64,
}

fn default_limit() -> i64 {
    100
}

/// Any valid key of the portal may read the portal's own audit trail.
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
    Ok(HttpResponse::Ok().json(serde_json::json!({ "data": events, "next_after": next })))
}
