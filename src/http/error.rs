//! The API's one error type.
//!
//! Policy: every error a client sees is `{"error": code, "message": text}` with a
//! status chosen per variant here. `code` is stable and machine-readable; `message`
//! is for people and never carries a cause from inside the hub (SQL, crypto, paths),
//! PHI, a token or a secret. Causes are logged (without PHI) where the error is
//! converted, with the request id from the surrounding span.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use std::fmt;

#[derive(Debug)]
pub enum ApiError {
    NotFound,
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
            Self::NotFound => "not_found",
            Self::Unavailable(_) => "unavailable",
            Self::Internal => "internal",
        }
    }

    /// Log the cause and return the client-safe error.
    pub fn internal(cause: &dyn fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::Internal
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFound => f.write_str("no such resource"),
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
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let message = self.to_string();
        HttpResponse::build(self.status_code()).json(Body {
            error: self.code(),
            message: &message,
        })
    }
}

/// Fallback for paths no route matches.
pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound)
}
