//! The portal REST API under `/v1`.
//!
//! Policy: every handler takes a [`Caller`](crate::http::auth::Caller) and asks for
//! its scope first; every query is filtered by the caller's portal, so another
//! portal's objects answer 404 exactly like missing ones. Changes and their audit
//! entries commit in one transaction. Database work runs on the blocking pool.

mod audit_events;
mod connections;
mod fhir_push;
mod member_export;
mod members;
pub mod openapi;
mod vendor_apps;
mod webhooks;

use crate::db::{AnyConnection, Database};
use crate::http::auth::Caller;
use crate::http::error::{method_not_allowed, ApiError};
use actix_web::web;

/// Declares the routes once: registers them with actix and lists them in [`ROUTES`],
/// so the OpenAPI test can compare the document with what is actually served.
macro_rules! route_table {
    ($( $path:literal => [ $( $method:ident $handler:path ),+ ] ),* $(,)?) => {
        /// Register every route of the hub.
        pub fn routes(cfg: &mut web::ServiceConfig) {
            $(
                cfg.service(
                    web::resource($path)
                        .default_service(web::to(|| method_not_allowed(&[ $( stringify!($method) ),+ ])))
                        $( .route(web::$method().to($handler)) )+
                );
            )*
        }

        /// Every `(method, path)` the hub serves.
        pub const ROUTES: &[(&str, &str)] = &[ $( $( (stringify!($method), $path), )+ )* ];
    };
}

route_table! {
    "/healthz" => [get crate::http::health::healthz],
    "/readyz" => [get crate::http::health::readyz],
    "/metrics" => [get crate::http::metrics::handler],
    "/openapi.json" => [get openapi::document],
    "/v1/members" => [post members::create],
    "/v1/members/{user_key}" => [get members::get, delete members::erase],
    "/v1/receipts/public-key" => [get members::receipt_key],
    "/v1/members/{user_key}/export" => [get member_export::export],
    "/v1/members/{user_key}/connect-sessions" => [post connections::create_session],
    "/v1/members/{user_key}/connections" => [get connections::list],
    "/v1/members/{user_key}/connections/{vendor}" => [delete connections::revoke, patch connections::narrow],
    "/v1/members/{user_key}/connections/{vendor}/sync" => [post connections::sync],
    "/v1/vendor-apps" => [post vendor_apps::create, get vendor_apps::list],
    "/v1/vendor-apps/{id}" => [get vendor_apps::get, delete vendor_apps::delete],
    "/v1/audit-events" => [get audit_events::list],
    "/v1/webhook-endpoints" => [post webhooks::create, get webhooks::list],
    "/v1/webhook-endpoints/{id}" => [get webhooks::get, delete webhooks::delete],
    "/v1/webhook-endpoints/{id}/enable" => [post webhooks::enable],
    "/v1/webhook-endpoints/{id}/disable" => [post webhooks::disable],
    "/v1/webhook-endpoints/{id}/rotate-secret" => [post webhooks::rotate],
    "/v1/webhook-deliveries" => [get webhooks::list_deliveries],
    "/v1/webhook-deliveries/replay" => [post webhooks::replay],
    "/v1/webhook-deliveries/{id}" => [get webhooks::get_delivery],
    "/v1/webhook-deliveries/{id}/retry" => [post webhooks::retry],
    "/v1/fhir-push" => [put fhir_push::set, get fhir_push::get, delete fhir_push::delete],
    "/v1/fhir-push/resend" => [post fhir_push::resend],
    "/v1/status/sla" => [get crate::ops::pages::sla_report],
}

/// Health, readiness and metrics only: what a worker process serves.
pub fn ops_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(crate::http::health::healthz))
        .route("/readyz", web::get().to(crate::http::health::readyz))
        .route("/metrics", web::get().to(crate::http::metrics::handler));
}

/// Run `f` with a pooled connection on the blocking thread pool.
pub async fn with_conn<T, F>(db: web::Data<Database>, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&mut AnyConnection) -> Result<T, ApiError> + Send + 'static,
{
    web::block(move || {
        let mut conn = db.conn().map_err(|e| ApiError::database_unavailable(&e))?;
        f(&mut conn)
    })
    .await?
}

/// Record a change made through the API by `caller`, in the caller's transaction.
pub fn audit(
    conn: &mut AnyConnection,
    caller: &Caller,
    action: &str,
    target: (&str, &str),
    request_id: Option<&str>,
) -> Result<(), ApiError> {
    crate::store::audit::append(
        conn,
        &crate::store::audit::NewEvent {
            portal: Some(&caller.portal),
            actor_type: crate::store::audit::ActorType::ApiKey,
            actor_id: &caller.key.id,
            action,
            target_type: target.0,
            target_id: Some(target.1),
            outcome: "success",
            request_id,
        },
    )?;
    Ok(())
}
