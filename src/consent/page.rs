//! `GET /connect/{token}` (the one-time link), `GET /connect` (the page) and the
//! stylesheet.

use super::session::{self, PageError};
use super::view::{self, Notice};
use super::ConsentContext;
use crate::store::connect_sessions::{self, LinkRefused};
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use serde::Deserialize;

const STYLESHEET: &str = include_str!("../../assets/consent.css");

pub async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .body(STYLESHEET)
}

/// Use the link: it turns into a page session (cookie) and the browser moves on to
/// `/connect`, leaving the token out of the address bar.
pub async fn open_link(
    ctx: web::Data<ConsentContext>,
    token: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let token = token.into_inner();
    let ttl =
        chrono::Duration::from_std(ctx.settings.page_ttl).unwrap_or(chrono::Duration::hours(1));
    let redeemed = session::blocking(&ctx, move |conn| {
        connect_sessions::redeem(conn, &token, ttl)
    })
    .await?;
    match redeemed {
        Ok(cookie) => Ok(HttpResponse::SeeOther()
            .cookie(session::session_cookie(cookie, &ctx))
            .insert_header((header::LOCATION, "/connect"))
            .finish()),
        Err(LinkRefused::Unknown) => Err(PageError::new(
            StatusCode::NOT_FOUND,
            "This link is not valid",
            "Check that you opened the whole link your portal sent you, or ask it for a new one.",
            false,
        )),
        Err(LinkRefused::Expired) => Err(PageError::new(
            StatusCode::GONE,
            "This link has expired",
            "Connection links only work for a short time. Ask your portal for a new one.",
            false,
        )),
        Err(LinkRefused::Used) => Err(PageError::new(
            StatusCode::GONE,
            "This link was already used",
            "Each connection link works once. If that was not you, tell your portal; otherwise ask it for a new link.",
            false,
        )),
    }
}

#[derive(Deserialize)]
pub struct NoticeQuery {
    notice: Option<String>,
    vendor: Option<String>,
}

/// The consent page of the current page session.
pub async fn show(
    ctx: web::Data<ConsentContext>,
    req: HttpRequest,
    query: Option<web::Query<NoticeQuery>>,
) -> Result<HttpResponse, PageError> {
    let (session, cookie) = session::current(&ctx, &req).await?;
    let csrf = session::csrf_token(&ctx.ring, &cookie);
    let notice = query.and_then(|q| notice(&ctx, q.notice.as_deref()?, q.vendor.as_deref()?));
    view::render(&ctx, session, csrf, notice, StatusCode::OK).await
}

/// The message shown after a redirect back to the page.
fn notice(ctx: &ConsentContext, kind: &str, vendor: &str) -> Option<Notice> {
    let name = ctx.vendors.connector(vendor)?.manifest().display_name;
    let text = match kind {
        "connected" => format!("Connected to {name}."),
        "updated" => format!("Saved. {name} now shares only what you ticked."),
        "disconnected" => {
            format!("Disconnected from {name}. We stopped fetching and removed our access.")
        }
        _ => return None,
    };
    Some(Notice { kind: "ok", text })
}

/// A page path asked with the wrong method: 405 with `Allow`, as a page.
pub async fn method_not_allowed(allow: &'static str) -> HttpResponse {
    let mut res = PageError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "Not available this way",
        "This address only works from the buttons on the connection page. Nothing was changed.",
        false,
    )
    .error_response();
    res.headers_mut()
        .insert(header::ALLOW, header::HeaderValue::from_static(allow));
    res
}
