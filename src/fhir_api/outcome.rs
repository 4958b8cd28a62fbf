//! FHIR errors: every failure is an OperationOutcome with the status the portal API
//! would use. Diagnostics name the parameter at fault and never carry PHI or causes
//! from inside the hub (those are logged by [`ApiError`] where it is made).

use crate::http::error::ApiError;
use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use fhir_sdk::r4b::codes::{IssueSeverity, IssueType};
use fhir_sdk::r4b::resources::{OperationOutcome, OperationOutcomeIssue};
use std::fmt;

/// The media type of every FHIR response.
pub const FHIR_JSON: &str = "application/fhir+json";

#[derive(Debug)]
pub struct FhirError {
    status: StatusCode,
    code: IssueType,
    diagnostics: String,
    /// The portal API error it came from, for its headers (Allow, Retry-After, …).
    api: Option<ApiError>,
}

impl FhirError {
    pub fn new(status: StatusCode, code: IssueType, diagnostics: impl Into<String>) -> Self {
        Self {
            status,
            code,
            diagnostics: diagnostics.into(),
            api: None,
        }
    }

    /// A bad request; `diagnostics` names the parameter.
    pub fn invalid(diagnostics: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, IssueType::Invalid, diagnostics)
    }

    pub fn not_found() -> Self {
        Self::from(ApiError::NotFound)
    }
}

/// An OperationOutcome with one issue.
pub fn outcome(severity: IssueSeverity, code: IssueType, diagnostics: &str) -> serde_json::Value {
    let issue = OperationOutcomeIssue::builder()
        .severity(severity)
        .code(code)
        .diagnostics(diagnostics.to_owned())
        .build();
    let built = issue.and_then(|i| OperationOutcome::builder().issue(vec![Some(i)]).build());
    match built.map(|o| serde_json::to_value(&o)) {
        Ok(Ok(v)) => v,
        _ => {
            serde_json::json!({"resourceType": "OperationOutcome", "issue": [{"severity": "fatal", "code": "exception"}]})
        }
    }
}

impl From<ApiError> for FhirError {
    fn from(e: ApiError) -> Self {
        let status = e.status_code();
        let code = match status.as_u16() {
            401 => IssueType::Login,
            403 => IssueType::Forbidden,
            404 => IssueType::NotFound,
            405 => IssueType::NotSupported,
            413 => IssueType::TooLong,
            429 => IssueType::Throttled,
            503 => IssueType::Transient,
            400 | 415 | 422 => IssueType::Invalid,
            _ => IssueType::Exception,
        };
        Self {
            status,
            code,
            diagnostics: e.to_string(),
            api: Some(e),
        }
    }
}

impl From<crate::store::StoreError> for FhirError {
    fn from(e: crate::store::StoreError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<actix_web::error::BlockingError> for FhirError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        ApiError::from(e).into()
    }
}

impl fmt::Display for FhirError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diagnostics)
    }
}

impl ResponseError for FhirError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = match &self.api {
            // Keep the portal API's headers (WWW-Authenticate, Allow, Retry-After).
            Some(api) => {
                let base = api.error_response();
                let mut b = HttpResponse::build(self.status);
                for (name, value) in base.headers() {
                    if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
                        b.insert_header((name.clone(), value.clone()));
                    }
                }
                b
            }
            None => HttpResponse::build(self.status),
        };
        let severity = if self.status.is_server_error() {
            IssueSeverity::Fatal
        } else {
            IssueSeverity::Error
        };
        res.content_type(FHIR_JSON)
            .body(outcome(severity, self.code, &self.diagnostics).to_string())
    }
}
