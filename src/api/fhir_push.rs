//! FHIR push to the portal's own FHIR server: `PUT/GET/DELETE /v1/fhir-push`,
//! `POST /v1/fhir-push/resend`. The credentials are sealed and never returned; the
//! status says how far the push has got. Scope `webhooks:write` (delivery).

use super::openapi::{AuthErrors, BodyErrors, ErrorBody};
use super::{audit, with_conn};
use crate::config::DeliverySettings;
use crate::db::Database;
use crate::delivery::target::Policy;
use crate::http::auth::{request_id, Caller};
use crate::http::error::ApiError;
use crate::http::input::JsonBody;
use crate::keys::KeyRing;
use crate::store::api_keys::Scope;
use crate::store::fhir_push::{self, Auth, PushStatus};
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::DateTime;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPush {
    /// The FHIR base URL the transaction Bundles are posted to: an `https` URL with
    /// a host name, as for webhook endpoints (the document states the pattern; any
    /// http(s) URL to a host the operator allows), at most 2048 characters.
    #[schema(max_length = 2048, example = "https://fhir.portal.example.com/fhir/R4")]
    base_url: String,
    auth: PushAuth,
}

/// How the hub authenticates at the portal's FHIR server.
#[derive(Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum PushAuth {
    /// A fixed bearer token (sealed at rest, never returned).
    Bearer {
        /// 1 to 4096 visible ASCII characters.
        #[schema(value_type = String, min_length = 1, max_length = 4096, pattern = "^[!-~]+$")]
        token: SecretString,
    },
    /// OAuth 2 client credentials: a token from `token_url`, kept until it expires
    /// and asked for again once when the server answers 401.
    ClientCredentials {
        /// The token endpoint, under the same rules as `base_url`.
        #[schema(
            max_length = 2048,
            example = "https://auth.portal.example.com/oauth2/token"
        )]
        token_url: String,
        /// 1 to 256 visible ASCII characters.
        #[schema(min_length = 1, max_length = 256, pattern = "^[!-~]+$")]
        client_id: String,
        /// Sealed at rest and never returned. 1 to 1024 visible ASCII characters.
        #[schema(value_type = String, min_length = 1, max_length = 1024, pattern = "^[!-~]+$")]
        client_secret: SecretString,
        /// Space-separated scopes, 1 to 1024 printable ASCII characters.
        #[schema(min_length = 1, max_length = 1024, pattern = "^[ -~]+$")]
        scope: Option<String>,
    },
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Resend {
    /// Push again every observation stored or amended from this instant on
    /// (RFC 3339); absent: every observation.
    #[schema(value_type = Option<String>, format = DateTime, example = "2026-11-01T00:00:00Z")]
    since: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Resent {
    /// Observations now waiting to be pushed.
    pending: i64,
}

/// 1 to `max` visible ASCII characters (and spaces when `spaces`): the rule the
/// document's patterns state.
fn check(text: &str, field: &str, max: usize, spaces: bool) -> Result<(), ApiError> {
    let allowed = |c: char| c.is_ascii_graphic() || (spaces && c == ' ');
    if text.is_empty() || text.len() > max || !text.chars().all(allowed) {
        let kind = if spaces { "printable" } else { "visible" };
        return Err(ApiError::Validation(format!(
            "{field} must be 1 to {max} {kind} ASCII characters"
        )));
    }
    Ok(())
}

/// The URL under the webhook endpoints' policy (`Policy::check_url`: the form the
/// document states, allowed hosts excepted; no private address, also after DNS). A
/// name that does not resolve yet is taken: the sending client's resolver refuses a
/// private answer at every connection.
async fn checked_url(policy: &Policy, text: &str, field: &str) -> Result<String, ApiError> {
    let url = policy
        .check_url(text)
        .map_err(|e| ApiError::Validation(format!("{field}: {e}")))?;
    policy
        .refuse_private(&url)
        .await
        .map_err(|e| ApiError::Validation(format!("{field}: {e}")))?;
    Ok(url.to_string())
}

/// Set or replace the push to the portal's FHIR server. Another base URL starts
/// again from the first observation; the same one keeps the progress.
#[utoipa::path(put, operation_id = "set_fhir_push", path = "/v1/fhir-push", tag = "fhir-push",
    request_body = SetPush, security(("api_key" = [])),
    responses((status = 200, description = "Set", body = PushStatus), AuthErrors, BodyErrors))]
pub async fn set(
    caller: Caller,
    req: HttpRequest,
    db: web::Data<Database>,
    ring: web::Data<KeyRing>,
    settings: web::Data<DeliverySettings>,
    body: JsonBody<SetPush>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::WebhooksWrite).await?;
    let body = body.0;
    let policy = Policy::new(&settings.allow_hosts);
    let base_url = checked_url(&policy, &body.base_url, "base_url").await?;
    let auth = match body.auth {
        PushAuth::Bearer { token } => {
            check(token.expose_secret(), "auth.token", 4096, false)?;
            Auth::Bearer(token)
        }
        PushAuth::ClientCredentials {
            token_url,
            client_id,
            client_secret,
            scope,
        } => {
            check(&client_id, "auth.client_id", 256, false)?;
            check(
                client_secret.expose_secret(),
                "auth.client_secret",
                1024,
                false,
            )?;
            if let Some(s) = &scope {
                check(s, "auth.scope", 1024, true)?;
            }
            Auth::ClientCredentials {
                token_url: checked_url(&policy, &token_url, "auth.token_url").await?,
                client_id,
                secret: client_secret,
                scope,
            }
        }
    };
    let rid = request_id(&req);
    let status = with_conn(db, move |conn| {
        conn.write_transaction(|conn| {
            fhir_push::set(conn, &ring, &caller.portal, &base_url, &auth)?;
            audit(
                conn,
                &caller,
                "fhir_push.set",
                ("fhir_push", caller.portal.as_str()),
                rid.as_deref(),
            )?;
            Ok(fhir_push::status(conn, &ring, &caller.portal)?)
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(status))
}

/// The push configuration (never its secrets) and how far it has got.
#[utoipa::path(get, operation_id = "get_fhir_push", path = "/v1/fhir-push", tag = "fhir-push",
    security(("api_key" = [])),
    responses((status = 200, description = "The configuration and status", body = PushStatus),
        (status = 404, description = "No FHIR push is set up", body = ErrorBody), AuthErrors))]
pub async fn get(
    caller: Caller,
    db: web::Data<Database>,
    ring: web::Data<KeyRing>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::WebhooksWrite).await?;
    let status = with_conn(db, move |conn| {
        Ok(fhir_push::status(conn, &ring, &caller.portal)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(status))
}

/// Stop pushing and forget the configuration and its record of refusals.
#[utoipa::path(delete, operation_id = "delete_fhir_push", path = "/v1/fhir-push", tag = "fhir-push",
    security(("api_key" = [])),
    responses((status = 204, description = "Removed"),
        (status = 404, description = "No FHIR push is set up", body = ErrorBody), AuthErrors))]
pub async fn delete(
    caller: Caller,
    req: HttpRequest,
    db: web::Data<Database>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::WebhooksWrite).await?;
    let rid = request_id(&req);
    with_conn(db, move |conn| {
        conn.write_transaction(|conn| {
            fhir_push::delete(conn, &caller.portal)?;
            audit(
                conn,
                &caller,
                "fhir_push.delete",
                ("fhir_push", caller.portal.as_str()),
                rid.as_deref(),
            )
        })
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Push again every observation stored or amended since a time (all of them
/// without `since`). Conditional creates keep the portal free of duplicates.
#[utoipa::path(post, operation_id = "resend_fhir_push", path = "/v1/fhir-push/resend", tag = "fhir-push",
    request_body = Resend, security(("api_key" = [])),
    responses((status = 202, description = "Queued", body = Resent),
        (status = 404, description = "No FHIR push is set up", body = ErrorBody), AuthErrors, BodyErrors))]
pub async fn resend(
    caller: Caller,
    req: HttpRequest,
    db: web::Data<Database>,
    ring: web::Data<KeyRing>,
    body: JsonBody<Resend>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::WebhooksWrite).await?;
    let since = match &body.0.since {
        None => None,
        Some(s) => Some(
            DateTime::parse_from_rfc3339(s)
                .map_err(|_| ApiError::Validation("since must be an RFC 3339 date-time".into()))?
                .timestamp_micros(),
        ),
    };
    let rid = request_id(&req);
    let pending = with_conn(db, move |conn| {
        conn.write_transaction(|conn| {
            let n = fhir_push::resend(conn, &ring, &caller.portal, since)?;
            audit(
                conn,
                &caller,
                "fhir_push.resend",
                ("fhir_push", caller.portal.as_str()),
                rid.as_deref(),
            )?;
            Ok(n)
        })
    })
    .await?;
    Ok(HttpResponse::Accepted().json(Resent { pending }))
}
