//! The page session behind the consent cookie, CSRF tokens, and the error page.

use super::ConsentContext;
use crate::crypto::keyed_hash;
use crate::db::AnyConnection;
use crate::keys::KeyRing;
use crate::store::audit::{self, ActorType, NewEvent};
use crate::store::connect_sessions::{self, PageSession};
use crate::store::StoreError;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use askama::Template;
use base64::Engine;

pub const COOKIE: &str = "trb_consent";

/// The CSRF token for forms of the page session behind `cookie`.
pub fn csrf_token(ring: &KeyRing, cookie: &str) -> String {
    let mac = keyed_hash(ring.index_key(), &[b"consent-csrf", cookie.as_bytes()]);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac)
}

/// Constant-time check of a submitted CSRF token.
pub fn csrf_ok(ring: &KeyRing, cookie: &str, given: Option<&str>) -> bool {
    let expected = csrf_token(ring, cookie);
    let Some(given) = given else { return false };
    given.len() == expected.len()
        && given
            .bytes()
            .zip(expected.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

pub fn session_cookie(value: String, ctx: &ConsentContext) -> Cookie<'static> {
    let max_age = actix_web::cookie::time::Duration::seconds(
        i64::try_from(ctx.settings.page_ttl.as_secs()).unwrap_or(3600),
    );
    Cookie::build(COOKIE, value)
        .path("/")
        .http_only(true)
        .secure(ctx.secure_cookies)
        .same_site(SameSite::Lax)
        .max_age(max_age)
        .finish()
}

/// The page session of this request, with its cookie value.
pub async fn current(
    ctx: &web::Data<ConsentContext>,
    req: &HttpRequest,
) -> Result<(PageSession, String), PageError> {
    let cookie = req
        .cookie(COOKIE)
        .map(|c| c.value().to_owned())
        .ok_or_else(PageError::no_session)?;
    let c = ctx.clone();
    let value = cookie.clone();
    let session = blocking(ctx, move |conn| {
        connect_sessions::by_cookie(conn, &c.ring, &value)
    })
    .await?
    .ok_or_else(PageError::no_session)?;
    Ok((session, cookie))
}

/// Run database work on the blocking pool.
pub async fn blocking<T: Send + 'static>(
    ctx: &web::Data<ConsentContext>,
    f: impl FnOnce(&mut AnyConnection) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, PageError> {
    let db = ctx.db.clone();
    web::block(move || {
        let mut conn = db.conn().map_err(|e| {
            tracing::warn!(error = %e, "database unavailable");
            PageError::unavailable()
        })?;
        f(&mut conn).map_err(|e| {
            tracing::error!(error = %e, "consent page storage error");
            PageError::internal()
        })
    })
    .await
    .map_err(|_| PageError::internal())?
}

/// Audit an action taken by the member on the page.
pub fn audit_member(
    conn: &mut AnyConnection,
    session: &PageSession,
    action: &str,
    target: (&str, &str),
) -> Result<(), StoreError> {
    audit::append(
        conn,
        &NewEvent {
            portal: Some(&session.portal_id),
            actor_type: ActorType::MemberSession,
            actor_id: &session.id,
            action,
            target_type: target.0,
            target_id: Some(target.1),
            outcome: "success",
            request_id: None,
        },
    )
    .map(|_| ())
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage<'a> {
    title: &'a str,
    text: &'a str,
    back: bool,
}

/// A page that tells the member what went wrong (or what happened), with a status.
#[derive(Debug)]
pub struct PageError {
    pub status: StatusCode,
    pub title: String,
    pub text: String,
    /// Offer a link back to the consent page (the session is still good).
    pub back: bool,
}

impl PageError {
    pub fn new(status: StatusCode, title: &str, text: impl Into<String>, back: bool) -> Self {
        Self {
            status,
            title: title.to_owned(),
            text: text.into(),
            back,
        }
    }

    pub fn no_session() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "This page has closed",
            "For your security the connection page only stays open for a while. Open a new link from your portal to continue.",
            false,
        )
    }

    pub fn bad_form() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "The form has expired",
            "The form you sent does not belong to this page session, so nothing was changed. Go back and try again.",
            true,
        )
    }

    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "Temporarily unavailable",
            "We cannot handle your request right now. Nothing was changed. Please try again in a few minutes.",
            false,
        )
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong",
            "Something went wrong on our side. Nothing was changed. Please try again later.",
            false,
        )
    }
}

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.title)
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let page = MessagePage {
            title: &self.title,
            text: &self.text,
            back: self.back,
        };
        html(self.status, page.render())
    }
}

/// The page CSP: no scripts; styles from the hub; forms to the hub and `form_targets`.
pub fn csp(form_targets: &[String]) -> String {
    let mut form_action = String::from("'self'");
    for t in form_targets {
        form_action.push(' ');
        form_action.push_str(t);
    }
    format!(
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action {form_action}; frame-ancestors 'none'; base-uri 'none'"
    )
}

/// An HTML response with the page headers.
pub fn html(status: StatusCode, body: askama::Result<String>) -> HttpResponse {
    html_with_csp(status, body, &csp(&[]))
}

pub fn html_with_csp(status: StatusCode, body: askama::Result<String>, csp: &str) -> HttpResponse {
    match body {
        Ok(body) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .insert_header(("Content-Security-Policy", csp.to_owned()))
            .body(body),
        Err(e) => {
            tracing::error!(error = %e, "template");
            HttpResponse::InternalServerError()
                .content_type("text/plain; charset=utf-8")
                .body("internal error")
        }
    }
}
