//! The OpenAPI 3 document, served at `GET /openapi.json`.
//!
//! Every handler carries a `#[utoipa::path]` annotation; `tests/openapi.rs` compares
//! the document with [`super::ROUTES`], so a route without documentation (or
//! documentation without a route) fails the build's tests.

use actix_web::HttpResponse;
use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

/// Every error: a stable machine code and a message for people.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// e.g. `unauthorized`, `forbidden`, `not_found`, `conflict`, `bad_request`,
    /// `payload_too_large`, `unsupported_media_type`, `validation_failed`,
    /// `rate_limited`, `unavailable`, `internal`.
    pub error: String,
    pub message: String,
}

/// `{"status": …}` of the health endpoints.
#[derive(Serialize, ToSchema)]
pub struct Status {
    pub status: String,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tributary",
        description = "Portal API of the Tributary health-data hub. Authenticate with `Authorization: Bearer trb_…`.",
        version = "0.1.0"
    ),
    paths(
        crate::http::health::healthz,
        crate::http::health::readyz,
        crate::http::metrics::handler,
        crate::ops::pages::sla_report,
        document,
        super::members::create,
        super::members::get,
        super::members::erase,
        super::members::receipt_key,
        super::member_export::export,
        super::vendor_apps::create,
        super::vendor_apps::list,
        super::vendor_apps::get,
        super::vendor_apps::delete,
        super::audit_events::list,
        super::connections::create_session,
        super::connections::list,
        super::connections::revoke,
        super::connections::narrow,
        super::connections::sync,
        super::webhooks::create,
        super::webhooks::list,
        super::webhooks::get,
        super::webhooks::delete,
        super::webhooks::enable,
        super::webhooks::disable,
        super::webhooks::rotate,
        super::webhooks::list_deliveries,
        super::webhooks::get_delivery,
        super::webhooks::retry,
        super::webhooks::replay,
        super::fhir_push::set,
        super::fhir_push::get,
        super::fhir_push::delete,
        super::fhir_push::resend,
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "operations", description = "Health, readiness, metrics"),
        (name = "members", description = "A portal's members, by its own User Key"),
        (name = "connections", description = "A member's vendor connections and consent-page links"),
        (name = "vendor-apps", description = "The portal's own OAuth clients per vendor"),
        (name = "audit", description = "The portal's audit trail"),
        (name = "webhooks", description = "Webhook endpoints, deliveries, retries and replay (Standard Webhooks, no PHI)"),
        (name = "fhir-push", description = "Observations pushed to the portal's own FHIR server as transaction Bundles"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("trb_…")
                    .build(),
            ),
        );
    }
}

/// The OpenAPI 3 document of this API.
#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "openapi",
    tag = "operations",
    security(()),
    responses((status = 200, description = "OpenAPI 3 document", content_type = "application/json"))
)]
pub async fn document() -> HttpResponse {
    HttpResponse::Ok().json(document_json())
}

/// The document, with what utoipa's attributes cannot say added: the vendors this
/// hub knows (an enum taken from the connector registry), the pattern of each OAuth
/// scope and of redirect URIs (the expressions the handlers check with).
pub fn document_json() -> serde_json::Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    let app = &mut doc["components"]["schemas"]["CreateVendorApp"]["properties"];
    app["vendor"]["enum"] = serde_json::json!(tributary_connectors::registry::vendor_ids());
    app["redirect_uri"]["pattern"] = super::vendor_apps::REDIRECT_URI_PATTERN.into();
    let vendors = serde_json::json!(tributary_connectors::registry::vendor_ids());
    let session = &mut doc["components"]["schemas"]["CreateConnectSession"]["properties"];
    session["vendors"]["items"] = serde_json::json!({"type": "string", "enum": vendors});
    session["data_types"]["items"] =
        serde_json::json!({"type": "string", "pattern": "^[a-z0-9_]{1,64}$"});
    session["return_url"]["pattern"] = super::vendor_apps::REDIRECT_URI_PATTERN.into();
    // Hosts the operator allows may be reached beyond it (plain http, addresses).
    doc["components"]["schemas"]["CreateEndpoint"]["properties"]["url"]["pattern"] =
        crate::delivery::target::URL_PATTERN.into();
    let app = &mut doc["components"]["schemas"]["CreateVendorApp"]["properties"];
    app["scopes"]["items"] = serde_json::json!({
        "type": "string",
        "minLength": 1,
        "maxLength": 128,
        "pattern": super::vendor_apps::SCOPE_TOKEN_PATTERN,
    });
    doc["components"]["schemas"]["SetPush"]["properties"]["base_url"]["pattern"] =
        crate::delivery::target::URL_PATTERN.into();
    if let Some(variants) = doc["components"]["schemas"]["PushAuth"]["oneOf"].as_array_mut() {
        for v in variants {
            // serde refuses unknown fields in each variant.
            v["additionalProperties"] = false.into();
            if v["properties"].get("token_url").is_some() {
                v["properties"]["token_url"]["pattern"] =
                    crate::delivery::target::URL_PATTERN.into();
            }
        }
    }
    doc
}

/// Errors any authenticated route can give.
#[derive(utoipa::IntoResponses)]
pub enum AuthErrors {
    #[response(status = 401, description = "No API key, or an unknown or revoked one")]
    Unauthorized(ErrorBody),
    #[response(
        status = 403,
        description = "The API key lacks the scope this route needs"
    )]
    Forbidden(ErrorBody),
    #[response(
        status = 429,
        description = "Rate limit reached; wait for Retry-After seconds"
    )]
    RateLimited(ErrorBody),
    #[response(status = 503, description = "The database is unavailable")]
    Unavailable(ErrorBody),
}

/// Errors of routes that read a JSON body.
#[derive(utoipa::IntoResponses)]
pub enum BodyErrors {
    #[response(status = 400, description = "The body is not valid JSON")]
    BadRequest(ErrorBody),
    #[response(status = 413, description = "The body is over 64 KiB")]
    TooLarge(ErrorBody),
    #[response(status = 415, description = "The body is not application/json")]
    NotJson(ErrorBody),
    #[response(
        status = 422,
        description = "A field breaks a rule; the message names it"
    )]
    Invalid(ErrorBody),
}

/// The path names something this portal does not have.
#[derive(utoipa::IntoResponses)]
pub enum NotFound {
    #[response(status = 404, description = "No such object in this portal")]
    NotFound(ErrorBody),
    #[response(status = 422, description = "The path parameter breaks its rule")]
    Invalid(ErrorBody),
}
