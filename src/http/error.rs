//! The API's one error type.
//!
//! Policy: every error a client sees is `{"error": code, "message": text}` with a
//! status chosen per variant here. `code` is stable and machine-readable; `message`
//! is for people and never carries a cause from inside the hub (SQL, crypto, paths),
//! PHI, a token or a secret. Causes of 5xx errors are logged (without PHI) where the
//! error is made, with the request id from the surrounding span. A request that a
//! portal could not see must look exactly like one for something that does not
//! exist (404), whoever owns it.

use crate::store::StoreError;
use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use std::fmt;

#[derive(Debug)]
pub enum ApiError {
    /// No API key, or one that is unknown or revoked.
    Unauthorized,
    /// A vendor notification whose signature does not verify; says which check.
    InvalidSignature(String),
    /// The key lacks the scope the route needs.
    Forbidden {
        scope: &'static str,
    },
    NotFound,
    /// The path exists; `allow` lists the methods it takes (the `Allow` header).
    MethodNotAllowed {
        allow: &'static [&'static str],
    },
    Conflict(String),
    /// The body is not JSON, or not valid UTF-8.
    BadRequest(String),
    PayloadTooLarge {
        limit: usize,
    },
    UnsupportedMediaType,
    /// Well-formed input that breaks a rule; the message names the field.
    Validation(String),
    TooManyRequests {
        retry_after_secs: u64,
    },
    /// The hub cannot serve the request now (database down, not ready).
    Unavailable(String),
    /// Something failed inside; the cause was logged.
    Internal,
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    message: &'a str,
}

impl ApiError {
    fn code(&self) -> &'static str {
        match self {
            Self::Unauthorized => "unauthorized",
            Self::InvalidSignature(_) => "invalid_signature",
            Self::Forbidden { .. } => "forbidden",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed { .. } => "method_not_allowed",
            Self::Conflict(_) => "conflict",
            Self::BadRequest(_) => "bad_request",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::Validation(_) => "validation_failed",
            Self::TooManyRequests { .. } => "rate_limited",
            Self::Unavailable(_) => "unavailable",
            Self::Internal => "internal",
        }
    }

    /// The database cannot be reached: log why (the driver's message names hosts and
    /// users), tell the client only that it is unavailable.
    pub fn database_unavailable(cause: &dyn fmt::Display) -> Self {
        tracing::warn!(error = %cause, "database unavailable");
        Self::Unavailable("database unavailable".into())
    }

    /// Log the cause and return the client-safe error.
    pub fn internal(cause: &dyn fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::Internal
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::NotFound,
            StoreError::Conflict => Self::Conflict("it already exists".into()),
            StoreError::Journal(why) => {
                tracing::error!(error = %why, "change refused");
                Self::Unavailable("the erasure journal cannot be written".into())
            }
            // The server closed a pooled connection (a restart, an operator), or
            // the SQLite file failed under it: the pool drops the connection; this
            // request is told to retry, like any outage.
            StoreError::Db(e) if crate::db::is_unavailable(&e) => Self::database_unavailable(&e),
            other => Self::internal(&other),
        }
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        StoreError::from(e).into()
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        Self::internal(&e)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unauthorized => {
                f.write_str("a valid API key is required: Authorization: Bearer trb_…")
            }
            Self::Forbidden { scope } => write!(f, "this API key lacks the scope {scope}"),
            Self::NotFound => f.write_str("no such resource"),
            Self::MethodNotAllowed { .. } => f.write_str("this path does not take this method"),
            Self::Conflict(m)
            | Self::BadRequest(m)
            | Self::Validation(m)
            | Self::InvalidSignature(m) => f.write_str(m),
            Self::PayloadTooLarge { limit } => write!(f, "the body is larger than {limit} bytes"),
            Self::UnsupportedMediaType => {
                f.write_str("the body must be JSON: Content-Type: application/json")
            }
            Self::TooManyRequests { retry_after_secs } => {
                write!(f, "rate limit reached; retry in {retry_after_secs} s")
            }
            Self::Unavailable(reason) => write!(f, "service unavailable: {reason}"),
            Self::Internal => {
                f.write_str("internal error; the request id identifies it in the hub's log")
            }
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Unauthorized | Self::InvalidSignature(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden { .. } => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let message = self.to_string();
        let mut res = HttpResponse::build(self.status_code());
        match self {
            Self::Unauthorized => {
                res.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            Self::TooManyRequests { retry_after_secs } => {
                res.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            Self::MethodNotAllowed { allow } => {
                let methods: Vec<String> = allow.iter().map(|m| m.to_uppercase()).collect();
                res.insert_header((header::ALLOW, methods.join(", ")));
            }
            _ => {}
        }
        res.json(Body {
            error: self.code(),
            message: &message,
        })
    }
}

/// Fallback for paths no route matches.
pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound)
}

/// Fallback for a known path with a method it does not take; `allow` lists the
/// methods it does take (lower case, as the route table names them).
pub async fn method_not_allowed(allow: &'static [&'static str]) -> Result<HttpResponse, ApiError> {
    Err(ApiError::MethodNotAllowed { allow })
}
