//! Portal authentication and per-key rate limiting.
//!
//! A handler that takes a [`Caller`] is authenticated: the `Authorization: Bearer`
//! key was found, is not revoked, and is within its rate limit. The handler then
//! asks for the scope it needs with [`Caller::require`]. Every lookup a handler makes
//! is filtered by `caller.portal`, so another portal's objects are simply not found.

use super::error::ApiError;
use crate::db::Database;
use crate::domain::PortalId;
use crate::store::api_keys::{self, ApiKey, Scope};
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use secrecy::SecretString;
use std::future::Future;
use std::num::NonZeroU32;
use std::pin::Pin;

/// The authenticated portal behind a request.
#[derive(Clone)]
pub struct Caller {
    pub portal: PortalId,
    pub key: ApiKey,
    /// `METHOD /route/{pattern}` of the request (never the concrete path: it may hold
    /// a User Key), for audit entries.
    route: String,
    request_id: Option<String>,
    db: web::Data<Database>,
}

impl std::fmt::Debug for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caller")
            .field("portal", &self.portal)
            .field("key", &self.key.id)
            .field("route", &self.route)
            .finish_non_exhaustive()
    }
}

impl Caller {
    /// Go on only if the key carries `scope`. A refusal is audited (outcome
    /// `denied`, the route pattern as action, the missing scope as target) before the
    /// 403 goes out, so a portal can see what its keys tried and were refused.
    pub async fn require(&self, scope: Scope) -> Result<(), ApiError> {
        if self.key.allows(scope) {
            return Ok(());
        }
        let denied = self.clone();
        web::block(move || {
            let mut conn = denied
                .db
                .conn()
                .map_err(|e| ApiError::database_unavailable(&e))?;
            crate::store::audit::append(
                &mut conn,
                &crate::store::audit::NewEvent {
                    portal: Some(&denied.portal),
                    actor_type: crate::store::audit::ActorType::ApiKey,
                    actor_id: &denied.key.id,
                    action: &denied.route,
                    target_type: "scope",
                    target_id: Some(scope.as_str()),
                    outcome: "denied",
                    request_id: denied.request_id.as_deref(),
                },
            )
            .map_err(ApiError::from)
        })
        .await??;
        Err(ApiError::Forbidden {
            scope: scope.as_str(),
        })
    }
}

/// Requests per API key, from `[api]` in the config.
pub struct ApiLimiter(DefaultKeyedRateLimiter<String>);

impl ApiLimiter {
    pub fn new(per_second: NonZeroU32, burst: NonZeroU32) -> Self {
        Self(RateLimiter::keyed(
            Quota::per_second(per_second).allow_burst(burst),
        ))
    }

    fn check(&self, key_id: &str) -> Result<(), ApiError> {
        self.0.check_key(&key_id.to_owned()).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            ApiError::TooManyRequests {
                retry_after_secs: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
            }
        })
    }
}

/// The request id the observe middleware assigned, for audit entries.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

pub fn request_id(req: &HttpRequest) -> Option<String> {
    req.extensions().get::<RequestId>().map(|r| r.0.clone())
}

fn bearer(req: &HttpRequest) -> Option<SecretString> {
    let value = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| SecretString::from(token.trim().to_owned()))
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer(req);
        let route = format!(
            "{} {}",
            req.method(),
            req.match_pattern().unwrap_or_else(|| "?".into())
        );
        let request_id = request_id(req);
        let db = req.app_data::<web::Data<Database>>().cloned();
        let limiter = req.app_data::<web::Data<ApiLimiter>>().cloned();
        Box::pin(async move {
            let token = token.ok_or(ApiError::Unauthorized)?;
            let db = db.ok_or_else(|| ApiError::internal(&"database not configured"))?;
            let pool = db.clone();
            let key = web::block(move || {
                let mut conn = pool
                    .conn()
                    .map_err(|e| ApiError::database_unavailable(&e))?;
                api_keys::authenticate(&mut conn, &token).map_err(ApiError::from)
            })
            .await??
            .ok_or(ApiError::Unauthorized)?;
            if let Some(limiter) = limiter {
                limiter.check(&key.id)?;
            }
            Ok(Caller {
                portal: key.portal_id.clone(),
                key,
                route,
                request_id,
                db,
            })
        })
    }
}
