//! The HTTP server: routes, shared state, middleware.

pub mod auth;
pub mod error;
pub mod health;
pub mod input;
pub mod metrics;
mod observe;
pub mod tls;

use crate::config::ConnectSettings;
use crate::connect::tokens::TokenContext;
use crate::consent::ConsentContext;
use crate::db::Database;
use crate::keys::KeyRing;
use crate::vendors::Vendors;
use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use metrics::Metrics;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;
use tributary_connectors::sandbox::Sandbox;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub db: Database,
    pub ring: Arc<KeyRing>,
    pub metrics: Arc<Metrics>,
    pub limiter: Arc<auth::ApiLimiter>,
    pub vendors: Arc<Vendors>,
    pub tokens: TokenContext,
    pub connect: ConnectSettings,
    pub consent: Arc<ConsentContext>,
    /// The simulated vendors, served under `/sandbox` when enabled.
    pub sandbox: Option<Arc<Sandbox>>,
    /// The sync engine, for manual syncs and vendor pushes.
    pub sync: crate::sync::SyncContext,
    /// Webhook delivery settings (which URLs endpoints may have, the secret overlap).
    pub delivery: Arc<crate::config::DeliverySettings>,
    /// The erasure journal and the deletion-receipt signer.
    pub erasure: Arc<crate::erasure::Erasure>,
    /// The monitor's settings (interval, SLA target) for the status pages.
    pub monitor: Arc<crate::config::MonitorSettings>,
}

/// Headers on every response. API responses carry health-data metadata and must not
/// be cached by proxies or browsers, sniffed into another type, or framed. Served
/// over TLS, browsers are also told to use nothing but HTTPS for a year.
fn security_headers(tls: bool) -> actix_web::middleware::DefaultHeaders {
    let headers = actix_web::middleware::DefaultHeaders::new()
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("Cache-Control", "no-store"))
        .add(("Content-Security-Policy", "frame-ancestors 'none'"))
        .add(("Referrer-Policy", "no-referrer"));
    if tls {
        headers.add(("Strict-Transport-Security", "max-age=31536000"))
    } else {
        headers
    }
}

/// Build the server on a bound `listener`. With `tls` it speaks only HTTPS. The
/// server runs when awaited and stops gracefully on SIGTERM or SIGINT, letting
/// in-flight requests finish within `shutdown_timeout`. Without `api` (a worker
/// process) it serves only health, readiness and metrics.
pub fn server(
    state: AppState,
    listener: TcpListener,
    tls: Option<rustls::ServerConfig>,
    shutdown_timeout: Duration,
    api: bool,
) -> std::io::Result<Server> {
    let db = web::Data::new(state.db.clone());
    let ring = web::Data::from(state.ring.clone());
    let metrics = web::Data::from(state.metrics.clone());
    let limiter = web::Data::from(state.limiter.clone());
    let vendors = web::Data::from(state.vendors.clone());
    let tokens = web::Data::new(state.tokens.clone());
    let connect = web::Data::new(state.connect.clone());
    let consent = web::Data::from(state.consent.clone());
    let sandbox = state.sandbox.clone().map(web::Data::new);
    let sync = web::Data::new(state.sync.clone());
    let delivery = web::Data::from(state.delivery.clone());
    let erasure = web::Data::from(state.erasure.clone());
    let monitor = web::Data::from(state.monitor.clone());
    let https = tls.is_some();
    let server = HttpServer::new(move || {
        let app = App::new()
            .app_data(db.clone())
            .app_data(ring.clone())
            .app_data(metrics.clone())
            .app_data(limiter.clone())
            .app_data(vendors.clone())
            .app_data(tokens.clone())
            .app_data(connect.clone())
            .app_data(consent.clone())
            .app_data(sync.clone())
            .app_data(delivery.clone())
            .app_data(erasure.clone())
            .app_data(monitor.clone())
            .app_data(input::path_config())
            .app_data(input::query_config())
            .wrap(security_headers(https))
            .wrap(from_fn(observe::observe));
        if !api {
            return app
                .configure(crate::api::ops_routes)
                .default_service(web::to(error::not_found));
        }
        let mut app = app
            .configure(crate::fhir_api::routes)
            .configure(crate::api::routes)
            .configure(crate::consent::routes)
            .configure(crate::hooks::routes)
            .route("/status", web::get().to(crate::ops::pages::page));
        if let Some(sandbox) = &sandbox {
            app = app
                .app_data(sandbox.clone())
                .configure(crate::sandbox::routes);
        }
        app.default_service(web::to(error::not_found))
    })
    .shutdown_timeout(shutdown_timeout.as_secs());
    let server = match tls {
        Some(config) => server.listen_rustls_0_23(listener, config)?,
        None => server.listen(listener)?,
    }
    .run();
    Ok(server)
}
