//! The member's consent page: server-rendered HTML reached through a one-time link,
//! from which a member connects vendor accounts (OAuth 2 with PKCE), chooses the data
//! types to share, and disconnects.
//!
//! Policy:
//! - The link works once: opening it turns it into a page session held in an
//!   HttpOnly, SameSite=Lax cookie (Secure on HTTPS) and redirects to `/connect`, so
//!   the token leaves the address bar and the browser history.
//! - Every form carries a CSRF token derived from the page cookie (HMAC under the
//!   ring's index key); a form without the right one changes nothing.
//! - The page works without JavaScript and sends a strict Content-Security-Policy:
//!   no scripts at all, styles from the hub only, forms only to the hub and to the
//!   offered vendors' authorization endpoints (a form's redirect is checked against
//!   `form-action`).
//! - Every failure ends on a page that says what happened, with a fitting status,
//!   and stores nothing: no connection, no token.
//! - Nothing on these pages is logged beyond the route pattern and status.

mod actions;
mod callback;
mod page;
mod session;
mod view;

use crate::config::ConnectSettings;
use crate::db::Database;
use crate::keys::KeyRing;
use crate::vendors::Vendors;
use actix_web::web;
use std::sync::Arc;

/// What the consent handlers share.
pub struct ConsentContext {
    pub db: Database,
    pub ring: Arc<KeyRing>,
    pub vendors: Arc<Vendors>,
    pub http: reqwest::Client,
    pub settings: ConnectSettings,
    /// Mark cookies `Secure` (the hub's public URL is https).
    pub secure_cookies: bool,
    /// Connecting or widening a grant plans its backfill in the same transaction.
    pub sync: Arc<crate::config::SyncSettings>,
}

impl ConsentContext {
    pub fn tokens(&self) -> crate::connect::tokens::TokenContext {
        crate::connect::tokens::TokenContext {
            db: self.db.clone(),
            ring: self.ring.clone(),
            vendors: self.vendors.clone(),
            http: self.http.clone(),
        }
    }
}

/// Register the page routes (not part of the portal API document). A path that
/// exists answers another method with a 405 page and `Allow`, as the API does.
pub fn routes(cfg: &mut web::ServiceConfig) {
    fn get(path: &str, handler: actix_web::Route) -> actix_web::Resource {
        web::resource(path)
            .route(handler)
            .default_service(web::to(|| page::method_not_allowed("GET")))
    }
    fn post(path: &str, handler: actix_web::Route) -> actix_web::Resource {
        web::resource(path)
            .route(handler)
            .default_service(web::to(|| page::method_not_allowed("POST")))
    }
    cfg.service(get("/assets/consent.css", web::get().to(page::stylesheet)))
        .service(get("/connect", web::get().to(page::show)))
        .service(get("/connect/{token}", web::get().to(page::open_link)))
        .service(post(
            "/connect/{vendor}/authorize",
            web::post().to(actions::authorize),
        ))
        .service(post(
            "/connect/{vendor}/update",
            web::post().to(actions::update),
        ))
        .service(post(
            "/connect/{vendor}/disconnect",
            web::post().to(actions::disconnect),
        ))
        .service(get(
            "/oauth/{vendor}/callback",
            web::get().to(callback::callback),
        ));
}
