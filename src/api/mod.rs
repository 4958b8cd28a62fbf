//! The portal REST API under `/v1`.
//!
//! Policy: every handler takes a [`Caller`](crate::http::auth::Caller) and asks for
//! its scope first; every query is filtered by the caller's portal, so another
//! portal's objects answer 404 exactly like missing ones. Changes and their audit
//! entries commit in one transaction. Database work runs on the blocking pool.

mod audit_events;
mod members;
mod vendor_apps;

use crate::db::{AnyConnection, Database};
use crate::http::error::{method_not_allowed, ApiError};
use actix_web::web;

/// Every `/v1` route: `(method, path)` pairs, for the OpenAPI check.
pub fn routes(cfg: &mut web::ServiceConfig) {
    let resource = |path: &str| web::resource(path).default_service(web::to(method_not_allowed));
    cfg.service(resource("/v1/members").route(web::post().to(members::create)))
        .service(
            resource("/v1/members/{user_key}")
                .route(web::get().to(members::get))
                .route(web::delete().to(members::erase)),
        )
        .service(
            resource("/v1/vendor-apps")
                .route(web::post().to(vendor_apps::create))
                .route(web::get().to(vendor_apps::list)),
        )
        .service(
            resource("/v1/vendor-apps/{id}")
                .route(web::get().to(vendor_apps::get))
                .route(web::delete().to(vendor_apps::delete)),
        )
        .service(resource("/v1/audit-events").route(web::get().to(audit_events::list)));
}

/// Run `f` with a pooled connection on the blocking thread pool.
pub async fn with_conn<T, F>(db: web::Data<Database>, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&mut AnyConnection) -> Result<T, ApiError> + Send + 'static,
{
    web::block(move || {
        let mut conn = db
            .conn()
            .map_err(|e| ApiError::Unavailable(e.to_string()))?;
        f(&mut conn)
    })
    .await?
}
