//! Portal authentication and per-key rate limiting.
//!
//! A handler that takes a [`Caller`] is authenticated: the `Authorization: Bearer`
//! key was found, is not revoked, and is within its rate limit. The handler then
//! asks for the scope it needs with [`Caller::require`]. Every lookup a handler makes
//! is filtered by `caller.portal`, so another portal's objects are simply not found.

use super::error::ApiError;
use crate::db::{AnyConnection, Database};
use crate::domain::{MemberId, PortalId};
use crate::keys::KeyRing;
use crate::store::api_keys::{self, ApiKey, Scope};
use crate::store::observations::{self, MemberAccess};
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
            denied.require_in(&mut conn, scope)
        })
        .await?
    }

    /// [`Caller::require`] on a connection the caller already holds.
    pub fn require_in(&self, conn: &mut AnyConnection, scope: Scope) -> Result<(), ApiError> {
        if self.key.allows(scope) {
            return Ok(());
        }
        crate::store::audit::append(
            conn,
            &crate::store::audit::NewEvent {
                portal: Some(&self.portal),
                actor_type: crate::store::audit::ActorType::ApiKey,
                actor_id: &self.key.id,
                action: &self.route,
                target_type: "scope",
                target_id: Some(scope.as_str()),
                outcome: "denied",
                request_id: self.request_id.as_deref(),
            },
        )?;
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

/// What a request presents, not yet checked: the bearer token and the facts an
/// audit entry needs. A handler that makes one database call anyway takes this and
/// calls [`Credentials::authenticate`] inside it, so the key lookup shares that
/// call's connection and blocking-thread hop instead of taking its own.
pub struct Credentials {
    token: Option<SecretString>,
    route: String,
    request_id: Option<String>,
    db: Option<web::Data<Database>>,
    limiter: Option<web::Data<ApiLimiter>>,
}

impl Credentials {
    /// The [`Caller`] behind these credentials: the key exists, is not revoked and is
    /// within its rate limit.
    pub fn authenticate(self, conn: &mut AnyConnection) -> Result<Caller, ApiError> {
        let token = self.token.as_ref().ok_or(ApiError::Unauthorized)?;
        let key = api_keys::authenticate(conn, token)?.ok_or(ApiError::Unauthorized)?;
        self.caller(key)
    }

    /// [`Credentials::authenticate`], and `member` opened for reading in the same
    /// round trip (`None` when the caller's portal has no such member).
    pub fn authenticate_with_member(
        self,
        conn: &mut AnyConnection,
        ring: &KeyRing,
        member: &MemberId,
    ) -> Result<(Caller, Option<MemberAccess>), ApiError> {
        let token = self.token.as_ref().ok_or(ApiError::Unauthorized)?;
        let (key, access) = observations::authenticate_and_access(conn, ring, token, member)?
            .ok_or(ApiError::Unauthorized)?;
        Ok((self.caller(key)?, access))
    }

    /// The caller of a key found live: within its rate limit.
    fn caller(self, key: ApiKey) -> Result<Caller, ApiError> {
        let db = self
            .db
            .ok_or_else(|| ApiError::internal(&"database not configured"))?;
        if let Some(limiter) = &self.limiter {
            limiter.check(&key.id)?;
        }
        Ok(Caller {
            portal: key.portal_id.clone(),
            key,
            route: self.route,
            request_id: self.request_id,
            db,
        })
    }
}

impl FromRequest for Credentials {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(Ok(Credentials {
            token: bearer(req),
            route: format!(
                "{} {}",
                req.method(),
                req.match_pattern().unwrap_or_else(|| "?".into())
            ),
            request_id: request_id(req),
            db: req.app_data::<web::Data<Database>>().cloned(),
            limiter: req.app_data::<web::Data<ApiLimiter>>().cloned(),
        }))
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let credentials = Credentials::from_request(req, payload).into_inner();
        Box::pin(async move {
            let credentials = credentials?;
            if credentials.token.is_none() {
                return Err(ApiError::Unauthorized);
            }
            let pool = credentials
                .db
                .clone()
                .ok_or_else(|| ApiError::internal(&"database not configured"))?;
            web::block(move || {
                let mut conn = pool
                    .conn()
                    .map_err(|e| ApiError::database_unavailable(&e))?;
                credentials.authenticate(&mut conn)
            })
            .await?
        })
    }
}
