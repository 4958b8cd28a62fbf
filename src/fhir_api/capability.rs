//! `GET /fhir/r4/metadata`: the CapabilityStatement, exactly what is served.

use super::fhir_json;
use super::outcome::FhirError;
use crate::http::error::ApiError;
use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use fhir_sdk::r4b::resources::CapabilityStatement;
use serde_json::json;

const EXPORT: &str = "http://hl7.org/fhir/uv/bulkdata/OperationDefinition";

fn search_param(name: &str, kind: &str, doc: &str) -> serde_json::Value {
    json!({"name": name, "type": kind, "documentation": doc})
}

/// The statement, checked against the typed model before it is served.
pub fn statement() -> Result<CapabilityStatement, serde_json::Error> {
    serde_json::from_value(json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-11-23",
        "publisher": "Tributary",
        "kind": "instance",
        "software": {"name": "Tributary", "version": env!("CARGO_PKG_VERSION")},
        "implementation": {"description": "Tributary FHIR API"},
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "rest": [{
            "mode": "server",
            "security": {"description": "Authorization: Bearer <portal API key> with scope data:read"},
            "resource": [
                {"type": "Patient", "interaction": [{"code": "read"}],
                 "operation": [{"name": "export", "definition": format!("{EXPORT}/patient-export")}]},
                {"type": "Observation",
                 "interaction": [{"code": "read"}, {"code": "search-type"}],
                 "versioning": "versioned",
                 "searchParam": [
                    search_param("patient", "reference", "Patient/<id> or <id>; required"),
                    search_param("code", "token", "[system|]code, comma = OR"),
                    search_param("category", "token", "[system|]code, comma = OR"),
                    search_param("date", "date", "prefixes eq, ge, le, gt, lt; repeat = AND"),
                    search_param("_lastUpdated", "date", "prefixes eq, ge, le, gt, lt; repeat = AND"),
                    search_param("_count", "number", "default 50, at most 1000"),
                    search_param("_sort", "string", "date or -date"),
                 ]},
                {"type": "Consent",
                 "interaction": [{"code": "read"}, {"code": "search-type"}],
                 "documentation": "One Consent per recorded change of a member's grant to a vendor; the newest of each vendor is active unless it withdrew everything",
                 "searchParam": [
                    search_param("patient", "reference", "Patient/<id> or <id>; required"),
                    search_param("status", "token", "active or inactive, comma = OR"),
                 ]}
            ],
            "operation": [{"name": "export", "definition": format!("{EXPORT}/export")}]
        }]
    }))
}

pub async fn metadata() -> Result<HttpResponse, FhirError> {
    let cs = statement().map_err(|e| FhirError::from(ApiError::internal(&e)))?;
    let body = serde_json::to_value(&cs).map_err(|e| FhirError::from(ApiError::internal(&e)))?;
    Ok(fhir_json(StatusCode::OK, &body))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_statement_fits_the_typed_model() {
        assert!(super::statement().is_ok());
    }
}
