//! Webhook endpoints and their deliveries:
//! `POST/GET /v1/webhook-endpoints`, `GET/DELETE /v1/webhook-endpoints/{id}`,
//! `POST /v1/webhook-endpoints/{id}/{enable,disable,rotate-secret}`,
//! `GET /v1/webhook-deliveries`, `GET /v1/webhook-deliveries/{id}`,
//! `POST /v1/webhook-deliveries/{id}/retry`, `POST /v1/webhook-deliveries/replay`.

use super::openapi::{AuthErrors, BodyErrors, ErrorBody, NotFound};
use super::{audit, with_conn};
use crate::config::DeliverySettings;
use crate::db::Database;
use crate::delivery::target::Policy;
use crate::http::auth::{request_id, Caller};
use crate::http::error::ApiError;
use crate::http::input::JsonBody;
use crate::keys::KeyRing;
use crate::store::api_keys::Scope;
use crate::store::deliveries::{self, Delivery, Filter};
use crate::store::events::EventKind;
use crate::store::webhook_endpoints::{self, WebhookEndpoint};
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::DateTime;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Every event is queued once per endpoint, in the transaction of its change.
const MAX_ENDPOINTS: usize = 10;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEndpoint {
    /// An `https` URL (plain `http` and private addresses only for hosts the
    /// operator allows), at most 2048 characters.
    #[schema(
        max_length = 2048,
        example = "https://portal.example.com/webhooks/tributary"
    )]
    url: String,
    /// The event types to send; absent or empty: every type.
    events: Option<Vec<EventKind>>,
}

/// An endpoint, with its signing secret: shown only here.
#[derive(Serialize, ToSchema)]
pub struct EndpointWithSecret {
    #[serde(flatten)]
    endpoint: WebhookEndpoint,
    /// `whsec_…`: verify `webhook-signature` with it (Standard Webhooks).
    #[schema(value_type = String, example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    secret: String,
}

impl EndpointWithSecret {
    fn new(endpoint: WebhookEndpoint, secret: &SecretString) -> Self {
        Self {
            endpoint,
            secret: secret.expose_secret().to_owned(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct EndpointList {
    data: Vec<WebhookEndpoint>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rotate {
    /// How long the current secret keeps signing beside the new one, in seconds
    /// (0 to 604800); the hub's setting when absent.
    #[schema(value_type = Option<u64>, minimum = 0, maximum = 604800)]
    #[serde(default, deserialize_with = "whole_seconds")]
    overlap_seconds: Option<u64>,
}

/// A JSON integer: `86400` or `86400.0` (JSON Schema counts both as integers).
fn whole_seconds<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    use serde::de::Error;
    let Some(n) = Option::<serde_json::Number>::deserialize(d)? else {
        return Ok(None);
    };
    if let Some(u) = n.as_u64() {
        return Ok(Some(u));
    }
    match n.as_f64() {
        Some(f) if f.fract() == 0.0 && (0.0..=604_800.0).contains(&f) => Ok(Some(f as u64)),
        _ => Err(D::Error::custom(
            "must be a whole number of seconds, 0 to 604800",
        )),
    }
}

/// Register a webhook endpoint. The signing secret is in this answer only.
#[utoipa::path(post, operation_id = "create_webhook_endpoint", path = "/v1/webhook-endpoints", tag = "webhooks",
    request_body = CreateEndpoint, security(("api_key" = [])),
    responses((status = 201, description = "Registered", body = EndpointWithSecret),
        (status = 409, description = "The portal has the most endpoints it may have", body = ErrorBody), AuthErrors, BodyErrors))]
pub async fn create(
    caller: Caller,
    req: HttpRequest,
    db: web::Data<Database>,
    ring: web::Data<KeyRing>,
    settings: web::Data<DeliverySettings>,
    body: JsonBody<CreateEndpoint>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::WebhooksWrite).await?;
    let body = body.0;
    let policy = Policy::new(&settings.allow_hosts);
    let url = policy.check_url(&body.url).map_err(ApiError::Validation)?;
    policy
        .refuse_private(&url)
        .await
        .map_err(ApiError::Validation)?;
    let mut kinds: Vec<String> = body
        .events
        .unwrap_or_default()
        .into_iter()
        .map(|k| k.as_str().to_owned())
        .collect();
    kinds.sort();
    kinds.dedup();
    let rid = request_id(&req);
    let created = with_conn(db, move |conn| {
        conn.write_transaction(|conn| {
            if webhook_endpoints::list(conn, &caller.portal)?.len() >= MAX_ENDPOINTS {
                return Err(ApiError::Conflict(format!(
                    "a portal has at most {MAX_ENDPOINTS} webhook endpoints"
                )));
            }
            let (endpoint, secret) =
                webhook_endpoints::create(conn, &ring, &caller.portal, url.as_str(), &kinds)?;
            audit(
                conn,
                &caller,
                "webhook_endpoint.create",
                ("webhook_endpoint", &endpoint.id),
                rid.as_deref(),
            )?;
            Ok(EndpointWithSecret::new(endpoint, &secret))
        })
    })
    .await?;
    Ok(HttpResponse::Created().json(created))
}

/// The portal's webhook endpoints (never their secrets).
#[utoipa::path(get, operation_id = "list_webhook_endpoints", path = "/v1/webhook-endpoints", tag = "webhooks",
    security(("api_key" = [])), responses((status = 200, description = "The endpoints", body = EndpointList), AuthErrors))]
pub async fn list(caller: Caller, db: web::Data<Database>) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::WebhooksWrite).await?;
    let data = with_conn(db, move |conn| {
        Ok(webhook_endpoints::list(conn, &caller.portal)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(EndpointList { data }))
}

/// One webhook endpoint.
#[utoipa::path(get, operation_id = "get_webhook_endpoint", path = "/v1/webhook-endpoints/{id}", tag = "webhooks",
    params(("id" = String, Path, description = "The endpoint id")), security(("api_key" = [])),
    responses((status = 200, description = "The endpoint", body = WebhookEndpoint), AuthErrors, NotFound))]
pub async fn get(
    caller: Caller,
    path: web::Path<String>,
    db: web::Data<Database>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::WebhooksWrite).await?;
    let id = path.into_inner();
    let endpoint = with_conn(db, move |conn| {
        Ok(webhook_endpoints::get(conn, &caller.portal, &id)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(endpoint))
}

/// Remove a webhook endpoint and its deliveries.
#[utoipa::path(delete, operation_id = "delete_webhook_endpoint", path = "/v1/webhook-endpoints/{id}", tag = "webhooks",
    params(("id" = String, Path, description = "The endpoint id")), security(("api_key" = [])),
    responses((status = 204, description = "Removed"), AuthErrors, NotFound))]
pub async fn delete(
    caller: Caller,
    req: HttpRequest,
    path: web::Path<String>,
    db: web::Data<Database>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::WebhooksWrite).await?;
    let id = path.into_inner();
    let rid = request_id(&req);
    with_conn(db, move |conn| {
        conn.write_transaction(|conn| {
            webhook_endpoints::delete(conn, &caller.portal, &id)?;
            audit(
                conn,
                &caller,
                "webhook_endpoint.delete",
                ("webhook_endpoint", &id),
                rid.as_deref(),
            )
        })
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn set_enabled(
    caller: Caller,
    req: HttpRequest,
    id: String,
    db: web::Data<Database>,
    enabled: bool,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::WebhooksWrite).await?;
    let rid = request_id(&req);
    let endpoint = with_conn(db, move |conn| {
        conn.write_transaction(|conn| {
            let endpoint = webhook_endpoints::set_enabled(conn, &caller.portal, &id, enabled)?;
            let action = if enabled {
                "webhook_endpoint.enable"
            } else {
                "webhook_endpoint.disable"
            };
            audit(
                conn,
                &caller,
                action,
                ("webhook_endpoint", &id),
                rid.as_deref(),
            )?;
            Ok(endpoint)
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(endpoint))
}

/// Send events to this endpoint again (those that waited while it was disabled too).
#[utoipa::path(post, operation_id = "enable_webhook_endpoint", path = "/v1/webhook-endpoints/{id}/enable", tag = "webhooks",
    params(("id" = String, Path, description = "The endpoint id")), security(("api_key" = [])),
    responses((status = 200, description = "Enabled", body = WebhookEndpoint), AuthErrors, NotFound))]
pub async fn enable(
    caller: Caller,
    req: HttpRequest,
    path: web::Path<String>,
    db: web::Data<Database>,
) -> Result<HttpResponse, ApiError> {
    set_enabled(caller, req, path.into_inner(), db, true).await
}

/// Stop sending to this endpoint: new events are not queued for it, and pending
/// deliveries wait until it is enabled.
#[utoipa::path(post, operation_id = "disable_webhook_endpoint", path = "/v1/webhook-endpoints/{id}/disable", tag = "webhooks",
    params(("id" = String, Path, description = "The endpoint id")), security(("api_key" = [])),
    responses((status = 200, description = "Disabled", body = WebhookEndpoint), AuthErrors, NotFound))]
pub async fn disable(
    caller: Caller,
    req: HttpRequest,
    path: web::Path<String>,
    db: web::Data<Database>,
) -> Result<HttpResponse, ApiError> {
    set_enabled(caller, req, path.into_inner(), db, false).await
}

/// Give the endpoint a new signing secret (in this answer only). Until
/// `previous_secret_until`, every delivery carries a signature with each secret.
#[utoipa::path(post, operation_id = "rotate_webhook_secret", path = "/v1/webhook-endpoints/{id}/rotate-secret", tag = "webhooks",
    params(("id" = String, Path, description = "The endpoint id")), request_body = Rotate, security(("api_key" = [])),
    responses((status = 200, description = "Rotated", body = EndpointWithSecret),
        (status = 409, description = "An earlier rotation's overlap is still running", body = ErrorBody), AuthErrors, BodyErrors, NotFound))]
pub async fn rotate(
    caller: Caller,
    req: HttpRequest,
    path: web::Path<String>,
    db: web::Data<Database>,
    ring: web::Data<KeyRing>,
    settings: web::Data<DeliverySettings>,
    body: JsonBody<Rotate>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::WebhooksWrite).await?;
    let overlap = match body.0.overlap_seconds {
        Some(s) if s > 604_800 => {
            return Err(ApiError::Validation(
                "overlap_seconds must be 0 to 604800".into(),
            ))
        }
        Some(s) => chrono::Duration::seconds(s as i64),
        None => chrono::Duration::from_std(settings.secret_overlap).unwrap_or_default(),
    };
    let id = path.into_inner();
    let rid = request_id(&req);
    let rotated = with_conn(db, move |conn| {
        conn.write_transaction(|conn| {
            let now = crate::store::events::now();
            let current = webhook_endpoints::get(conn, &caller.portal, &id)?;
            if let Some(until) = current.previous_secret_until.filter(|u| *u > now) {
                if overlap > chrono::Duration::zero() {
                    return Err(ApiError::Conflict(format!(
                        "a rotation's overlap runs until {}; rotate with overlap_seconds 0 to end it now",
                        until.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                    )));
                }
            }
            let (endpoint, secret) =
                webhook_endpoints::rotate(conn, &ring, &caller.portal, &id, now + overlap)?;
            audit(
                conn,
                &caller,
                "webhook_endpoint.rotate_secret",
                ("webhook_endpoint", &id),
                rid.as_deref(),
            )?;
            Ok(EndpointWithSecret::new(endpoint, &secret))
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(rotated))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    /// Only deliveries in this state.
    #[param(inline)]
    status: Option<DeliveryStatus>,
    /// Only deliveries to this endpoint.
    endpoint_id: Option<String>,
    /// Deliveries per page, 1 to 500.
    #[serde(default = "default_limit")]
    #[param(minimum = 1, maximum = 500)]
    limit: i64,
    /// The `next_cursor` of the previous page.
    #[param(pattern = "^[0-9]{1,16}\\.dlv_[0-9a-f]{32}$")]
    cursor: Option<String>,
}

#[derive(Deserialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    Failed,
}

impl DeliveryStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Pending => deliveries::PENDING,
            Self::Delivered => deliveries::DELIVERED,
            Self::Failed => deliveries::FAILED,
        }
    }
}

fn default_limit() -> i64 {
    100
}

/// A page of deliveries, newest first.
#[derive(Serialize, ToSchema)]
pub struct DeliveryPage {
    data: Vec<Delivery>,
    /// Pass as `cursor` for the next page; null on the last page.
    next_cursor: Option<String>,
}

/// The portal's webhook deliveries, newest first: state, attempts, the last answer.
#[utoipa::path(get, operation_id = "list_webhook_deliveries", path = "/v1/webhook-deliveries", tag = "webhooks",
    params(DeliveryQuery), security(("api_key" = [])),
    responses((status = 200, description = "A page of deliveries", body = DeliveryPage),
        (status = 422, description = "A query parameter breaks its rule", body = ErrorBody), AuthErrors))]
pub async fn list_deliveries(
    caller: Caller,
    query: web::Query<DeliveryQuery>,
    db: web::Data<Database>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::WebhooksWrite).await?;
    let q = query.into_inner();
    if !(1..=500).contains(&q.limit) {
        return Err(ApiError::Validation(
            "limit must be between 1 and 500".into(),
        ));
    }
    let before =
        match &q.cursor {
            None => None,
            Some(c) => Some(parse_cursor(c).ok_or_else(|| {
                ApiError::Validation("cursor is not a cursor this API gave".into())
            })?),
        };
    let page = with_conn(db, move |conn| {
        let filter = Filter {
            status: q.status.map(DeliveryStatus::as_str),
            endpoint: q.endpoint_id.as_deref(),
            before: before.as_ref().map(|(t, id)| (*t, id.as_str())),
        };
        Ok(deliveries::list(conn, &caller.portal, &filter, q.limit)?)
    })
    .await?;
    let next_cursor = (page.len() as i64 == q.limit)
        .then(|| page.last().map(cursor))
        .flatten();
    Ok(HttpResponse::Ok().json(DeliveryPage {
        data: page,
        next_cursor,
    }))
}

/// `{created_at micros}.{id}`.
fn cursor(d: &Delivery) -> String {
    format!("{}.{}", d.created_at.and_utc().timestamp_micros(), d.id)
}

fn parse_cursor(c: &str) -> Option<(chrono::NaiveDateTime, String)> {
    let (micros, id) = c.split_once('.')?;
    let at = DateTime::from_timestamp_micros(micros.parse().ok()?)?.naive_utc();
    (id.len() <= 64 && id.starts_with("dlv_")).then(|| (at, id.to_owned()))
}

/// One delivery.
#[utoipa::path(get, operation_id = "get_webhook_delivery", path = "/v1/webhook-deliveries/{id}", tag = "webhooks",
    params(("id" = String, Path, description = "The delivery id")), security(("api_key" = [])),
    responses((status = 200, description = "The delivery", body = Delivery), AuthErrors, NotFound))]
pub async fn get_delivery(
    caller: Caller,
    path: web::Path<String>,
    db: web::Data<Database>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::WebhooksWrite).await?;
    let id = path.into_inner();
    let d = with_conn(db, move |conn| {
        Ok(deliveries::get(conn, &caller.portal, &id)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(d))
}

/// Send a delivery again now, from the start of the retry schedule (same
/// `webhook-id`).
#[utoipa::path(post, operation_id = "retry_webhook_delivery", path = "/v1/webhook-deliveries/{id}/retry", tag = "webhooks",
    params(("id" = String, Path, description = "The delivery id")), security(("api_key" = [])),
    responses((status = 202, description = "Queued", body = Delivery),
        (status = 409, description = "The delivery is being sent now", body = ErrorBody), AuthErrors, NotFound))]
pub async fn retry(
    caller: Caller,
    req: HttpRequest,
    path: web::Path<String>,
    db: web::Data<Database>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::WebhooksWrite).await?;
    let id = path.into_inner();
    let rid = request_id(&req);
    let d = with_conn(db, move |conn| {
        conn.write_transaction(|conn| {
            let d = match deliveries::retry(conn, &caller.portal, &id, crate::store::events::now())
            {
                Err(crate::store::StoreError::Conflict) => {
                    return Err(ApiError::Conflict(
                        "the delivery is being sent now; retry once its attempt is recorded".into(),
                    ))
                }
                other => other?,
            };
            audit(
                conn,
                &caller,
                "webhook_delivery.retry",
                ("webhook_delivery", &id),
                rid.as_deref(),
            )?;
            Ok(d)
        })
    })
    .await?;
    Ok(HttpResponse::Accepted().json(d))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Replay {
    /// Every event from this instant on (RFC 3339).
    #[schema(value_type = String, format = DateTime, example = "2026-11-01T00:00:00Z")]
    since: String,
    /// Only to this endpoint (even if disabled: it waits until enabled); absent:
    /// every enabled endpoint that takes the event's type.
    endpoint_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Replayed {
    /// Deliveries queued.
    queued: usize,
    /// One call replays at most 10,000 events; when more followed, call again with
    /// this as `since` (an event at this very instant may come twice: receivers
    /// deduplicate on `webhook-id`). Null when every event was replayed.
    #[schema(value_type = Option<String>, format = DateTime)]
    next_since: Option<String>,
}

/// Queue every event since a time again (each keeps its `webhook-id`).
#[utoipa::path(post, operation_id = "replay_webhook_events", path = "/v1/webhook-deliveries/replay", tag = "webhooks",
    request_body = Replay, security(("api_key" = [])),
    responses((status = 202, description = "Queued", body = Replayed), AuthErrors, BodyErrors, NotFound))]
pub async fn replay(
    caller: Caller,
    req: HttpRequest,
    db: web::Data<Database>,
    body: JsonBody<Replay>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::WebhooksWrite).await?;
    let body = body.0;
    let since = DateTime::parse_from_rfc3339(&body.since)
        .map_err(|_| ApiError::Validation("since must be an RFC 3339 date-time".into()))?
        .naive_utc();
    let rid = request_id(&req);
    let queued = with_conn(db, move |conn| {
        conn.write_transaction(|conn| {
            let r = deliveries::replay(
                conn,
                &caller.portal,
                since,
                body.endpoint_id.as_deref(),
                crate::store::events::now(),
            )?;
            audit(
                conn,
                &caller,
                "webhook_delivery.replay",
                (
                    "webhook_endpoint",
                    body.endpoint_id.as_deref().unwrap_or("*"),
                ),
                rid.as_deref(),
            )?;
            Ok(r)
        })
    })
    .await?;
    Ok(HttpResponse::Accepted().json(Replayed {
        queued: queued.queued,
        next_since: queued.next_since.map(|t| {
            t.and_utc()
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
        }),
    }))
}
