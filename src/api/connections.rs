//! A member's connections and connect sessions:
//! `POST /v1/members/{user_key}/connect-sessions`,
//! `GET /v1/members/{user_key}/connections`,
//! `DELETE /v1/members/{user_key}/connections/{vendor}`,
//! `POST /v1/members/{user_key}/connections/{vendor}/sync`.

use super::openapi::{AuthErrors, BodyErrors, NotFound};
use super::{audit, with_conn};
use crate::config::ConnectSettings;
use crate::db::Database;
use crate::domain::UserKey;
use crate::http::auth::{request_id, Caller};
use crate::http::error::ApiError;
use crate::http::input::OptionalJsonBody;
use crate::keys::KeyRing;
use crate::store::api_keys::Scope;
use crate::store::connect_sessions::{self, Offer};
use crate::store::connections::{self, Channel, Connection, Status};
use crate::store::members;
use crate::store::sync_state::{self, SyncState};
use crate::sync::SyncContext;
use crate::vendors::Vendors;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What the consent page offers; everything available when left out.
#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateConnectSession {
    /// Vendor ids to offer (the document lists the vendors this hub knows).
    vendors: Option<Vec<String>>,
    /// Data type ids to offer, e.g. `steps`, `heart_rate`, `body_weight`.
    #[schema(inline, value_type = Option<Vec<String>>)]
    data_types: Option<Vec<String>>,
    /// Where the page's "Done" link leads: a page of the portal (http(s) URL, same
    /// rule as a vendor app's redirect_uri).
    #[schema(max_length = 2048)]
    return_url: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ConnectSession {
    /// The consent page link to send the member to; it works once.
    url: String,
    #[serde(serialize_with = "crate::domain::utc::serialize")]
    #[schema(value_type = String, format = DateTime)]
    expires_at: NaiveDateTime,
}

/// A member's link to one vendor, as the portal sees it.
#[derive(Serialize, ToSchema)]
pub struct ConnectionView {
    vendor: String,
    /// `active`, `reauth_required` (the member must connect again) or `revoked`.
    status: String,
    /// Data types granted and shared.
    data_types: Vec<String>,
    /// Data types the member chose that the vendor did not grant.
    not_granted: Vec<String>,
    /// OAuth scopes the vendor granted.
    scopes: Vec<String>,
    #[serde(serialize_with = "crate::domain::utc::serialize")]
    #[schema(value_type = String, format = DateTime)]
    connected_at: NaiveDateTime,
    #[serde(serialize_with = "crate::domain::utc::serialize")]
    #[schema(value_type = String, format = DateTime)]
    updated_at: NaiveDateTime,
    #[serde(serialize_with = "crate::domain::utc::option::serialize")]
    #[schema(value_type = Option<String>, format = DateTime)]
    last_sync_at: Option<NaiveDateTime>,
    /// Sync progress per data type (empty until the first sync is planned).
    sync: Vec<DataTypeSync>,
}

/// How far one data type has synced.
#[derive(Serialize, ToSchema)]
pub struct DataTypeSync {
    data_type: String,
    /// `backfilling` (history still coming), `idle` (up to date, waiting for the
    /// next sync), `error` (the last attempt failed; see `last_error`) or
    /// `reauth_required`.
    state: String,
    /// The backfill reaches back to this instant.
    #[serde(serialize_with = "crate::domain::utc::serialize")]
    #[schema(value_type = String, format = DateTime)]
    backfill_from: NaiveDateTime,
    /// The oldest day fetched so far (UTC), `null` before the first window.
    #[schema(value_type = Option<String>, format = Date)]
    oldest_day_fetched: Option<chrono::NaiveDate>,
    /// Everything before this instant has been fetched.
    #[serde(serialize_with = "crate::domain::utc::option::serialize")]
    #[schema(value_type = Option<String>, format = DateTime)]
    fetched_until: Option<NaiveDateTime>,
    #[serde(serialize_with = "crate::domain::utc::option::serialize")]
    #[schema(value_type = Option<String>, format = DateTime)]
    last_success_at: Option<NaiveDateTime>,
    /// Why the last attempt failed (the hub's words; never health data).
    last_error: Option<String>,
    #[serde(serialize_with = "crate::domain::utc::option::serialize")]
    #[schema(value_type = Option<String>, format = DateTime)]
    last_error_at: Option<NaiveDateTime>,
    #[serde(serialize_with = "crate::domain::utc::serialize")]
    #[schema(value_type = String, format = DateTime)]
    next_sync_at: NaiveDateTime,
}

impl From<SyncState> for DataTypeSync {
    fn from(s: SyncState) -> Self {
        Self {
            data_type: s.data_type,
            state: s.state,
            backfill_from: s.backfill_from,
            oldest_day_fetched: s.oldest_fetched.map(|t| t.date()),
            fetched_until: s.fetched_until,
            last_success_at: s.last_success_at,
            last_error: s.last_error,
            last_error_at: s.last_error_at,
            next_sync_at: s.next_sync_at,
        }
    }
}

impl ConnectionView {
    fn with_sync(c: Connection, sync: Vec<SyncState>) -> Self {
        let mut view = Self::from(c);
        view.sync = sync.into_iter().map(DataTypeSync::from).collect();
        view
    }
}

impl From<Connection> for ConnectionView {
    fn from(c: Connection) -> Self {
        Self {
            sync: Vec::new(),
            vendor: c.vendor,
            status: c.status.as_str().to_owned(),
            data_types: c.data_types,
            not_granted: c.not_granted,
            scopes: c.scopes,
            connected_at: c.created_at,
            updated_at: c.updated_at,
            last_sync_at: c.last_sync_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ConnectionList {
    data: Vec<ConnectionView>,
}

fn user_key(s: &str) -> Result<UserKey, ApiError> {
    UserKey::parse(s).map_err(|rule| ApiError::Validation(rule.to_owned()))
}

fn validate(body: &CreateConnectSession) -> Result<(), ApiError> {
    for v in body.vendors.iter().flatten() {
        if !tributary_connectors::registry::is_known(v) {
            return Err(ApiError::Validation(format!(
                "vendors: unknown vendor; vendors are {}",
                tributary_connectors::registry::vendor_ids().join(", ")
            )));
        }
    }
    for t in body.data_types.iter().flatten() {
        if tributary_connectors::DataType::parse(t).is_none() {
            return Err(ApiError::Validation(
                "data_types: each must be 1 to 64 lower-case letters, digits or _".into(),
            ));
        }
    }
    if let Some(url) = &body.return_url {
        if !super::vendor_apps::is_redirect_uri(url) {
            return Err(ApiError::Validation(
                "return_url must be an http(s) URL with a host name, an optional port, path and query (at most 2048 characters)".into(),
            ));
        }
    }
    Ok(())
}

/// A one-time link to the consent page for this member.
#[utoipa::path(post, operation_id = "create_connect_session", path = "/v1/members/{user_key}/connect-sessions", tag = "connections",
    params(("user_key" = String, Path, description = "The portal's User Key", min_length = 1, max_length = 128, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]{1,128}$")),
    request_body(content = Option<CreateConnectSession>, description = "Optional: what to offer and where to return"),
    security(("api_key" = [])),
    responses((status = 201, description = "The link", body = ConnectSession), AuthErrors, BodyErrors, NotFound))]
#[allow(clippy::too_many_arguments)]
pub async fn create_session(
    caller: Caller,
    req: HttpRequest,
    path: web::Path<String>,
    db: web::Data<Database>,
    ring: web::Data<KeyRing>,
    vendors: web::Data<Vendors>,
    settings: web::Data<ConnectSettings>,
    body: OptionalJsonBody<CreateConnectSession>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::MembersWrite).await?;
    let key = user_key(&path.into_inner())?;
    let body = body.0;
    validate(&body)?;
    let rid = request_id(&req);
    let ttl =
        chrono::Duration::from_std(settings.link_ttl).unwrap_or(chrono::Duration::minutes(15));
    let (token, expires_at) = with_conn(db, move |conn| {
        conn.write_transaction(|conn| {
            let member = members::find(conn, &ring, &caller.portal, &key)?;
            let offer = Offer {
                vendors: body.vendors,
                data_types: body.data_types,
            };
            let created = connect_sessions::create(
                conn,
                &ring,
                &caller.portal,
                &member.id,
                &offer,
                body.return_url.as_deref(),
                ttl,
            )?;
            audit(
                conn,
                &caller,
                "connect_session.create",
                ("member", member.id.as_str()),
                rid.as_deref(),
            )?;
            Ok(created)
        })
    })
    .await?;
    Ok(HttpResponse::Created().json(ConnectSession {
        url: vendors.public(&format!("/connect/{token}")),
        expires_at,
    }))
}

/// The member's connections: vendor, status, data types shared, last sync.
#[utoipa::path(get, operation_id = "list_connections", path = "/v1/members/{user_key}/connections", tag = "connections",
    params(("user_key" = String, Path, description = "The portal's User Key", min_length = 1, max_length = 128, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]{1,128}$")),
    security(("api_key" = [])),
    responses((status = 200, description = "The connections", body = ConnectionList), AuthErrors, NotFound))]
pub async fn list(
    caller: Caller,
    path: web::Path<String>,
    db: web::Data<Database>,
    ring: web::Data<KeyRing>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::MembersWrite).await?;
    let key = user_key(&path.into_inner())?;
    let list = with_conn(db, move |conn| {
        let member = members::find(conn, &ring, &caller.portal, &key)?;
        let mut views = Vec::new();
        for c in connections::list_for_member(conn, &member.id)? {
            let sync = sync_state::for_connection(conn, &c.id)?;
            views.push(ConnectionView::with_sync(c, sync));
        }
        Ok(views)
    })
    .await?;
    Ok(HttpResponse::Ok().json(ConnectionList { data: list }))
}

/// Revoke the member's connection to a vendor: revoked at the vendor where it
/// allows, tokens deleted, nothing shared any more.
#[utoipa::path(delete, operation_id = "revoke_connection", path = "/v1/members/{user_key}/connections/{vendor}", tag = "connections",
    params(("user_key" = String, Path, description = "The portal's User Key", min_length = 1, max_length = 128, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]{1,128}$"),
        ("vendor" = String, Path, description = "A vendor id")),
    security(("api_key" = [])),
    responses((status = 200, description = "Revoked", body = ConnectionView), AuthErrors, NotFound))]
pub async fn revoke(
    caller: Caller,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    db: web::Data<Database>,
    ring: web::Data<KeyRing>,
    vendors: web::Data<Vendors>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::MembersWrite).await?;
    let (key, vendor) = path.into_inner();
    let key = user_key(&key)?;
    let rid = request_id(&req);
    let view = with_conn(db, move |conn| {
        conn.write_transaction(|conn| {
            let member = members::find(conn, &ring, &caller.portal, &key)?;
            let connection =
                connections::find(conn, &member.id, &vendor)?.ok_or(ApiError::NotFound)?;
            if connection.status != Status::Revoked {
                let at_vendor = vendors.withdraws_grants(&connection);
                connections::revoke(conn, &ring, &connection, Channel::Api, at_vendor)?;
                audit(
                    conn,
                    &caller,
                    "connection.revoke",
                    ("connection", &connection.id),
                    rid.as_deref(),
                )?;
            }
            Ok(connections::get(conn, &connection.id)?)
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(ConnectionView::from(view)))
}

/// What a sync request queued.
#[derive(Serialize, ToSchema)]
pub struct SyncRequested {
    /// Always `queued`: the sync runs on a worker.
    status: &'static str,
    /// The data types a sync was requested for.
    data_types: Vec<String>,
}

/// Sync the member's data from a vendor now: one incremental sync per granted
/// data type is queued (joining one already queued), and runs on a worker.
#[utoipa::path(post, operation_id = "sync_connection", path = "/v1/members/{user_key}/connections/{vendor}/sync", tag = "connections",
    params(("user_key" = String, Path, description = "The portal's User Key", min_length = 1, max_length = 128, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]{1,128}$"),
        ("vendor" = String, Path, description = "A vendor id")),
    security(("api_key" = [])),
    responses((status = 202, description = "Queued", body = SyncRequested), AuthErrors, NotFound,
        (status = 409, description = "The connection is revoked or needs the member to connect again", body = super::openapi::ErrorBody)))]
pub async fn sync(
    caller: Caller,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    db: web::Data<Database>,
    ring: web::Data<KeyRing>,
    sync: web::Data<SyncContext>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::MembersWrite).await?;
    let (key, vendor) = path.into_inner();
    let key = user_key(&key)?;
    let rid = request_id(&req);
    let sync = sync.into_inner();
    let data_types = with_conn(db, move |conn| {
        conn.write_transaction(|conn| {
            let member = members::find(conn, &ring, &caller.portal, &key)?;
            let connection =
                connections::find(conn, &member.id, &vendor)?.ok_or(ApiError::NotFound)?;
            if connection.status != Status::Active {
                return Err(ApiError::Conflict(format!(
                    "the connection is {}; the member must connect again",
                    connection.status.as_str()
                )));
            }
            let connector = sync
                .vendors
                .connector(&connection.vendor)
                .ok_or(ApiError::NotFound)?;
            // A data type granted since the last plan gets its backfill first.
            crate::sync::plan::start(conn, &sync.settings, connector.manifest(), &connection)?;
            let now = chrono::Utc::now().naive_utc();
            let mut types = Vec::new();
            for data_type in &connection.data_types {
                if connector.manifest().data_type(data_type).is_some() {
                    crate::sync::plan::request_incremental(
                        conn,
                        &sync.settings,
                        &connection,
                        data_type,
                        now,
                    )?;
                    types.push(data_type.clone());
                }
            }
            audit(
                conn,
                &caller,
                "connection.sync",
                ("connection", &connection.id),
                rid.as_deref(),
            )?;
            Ok(types)
        })
    })
    .await?;
    Ok(HttpResponse::Accepted().json(SyncRequested {
        status: "queued",
        data_types,
    }))
}

/// The data types a connection keeps sharing.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NarrowConnection {
    /// The data types to keep: a subset of those shared now (an empty list stops
    /// sharing everything but keeps the connection).
    #[schema(max_items = 64)]
    data_types: Vec<String>,
}

/// Narrow what a connection shares: the data types left out stop syncing and
/// their stored observations are deleted at once; `connection.updated` is sent.
/// Only the member can widen a grant (on the consent page, at the vendor).
#[utoipa::path(patch, operation_id = "narrow_connection", path = "/v1/members/{user_key}/connections/{vendor}", tag = "connections",
    params(("user_key" = String, Path, description = "The portal's User Key", min_length = 1, max_length = 128, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]{1,128}$"),
        ("vendor" = String, Path, description = "A vendor id")),
    request_body = NarrowConnection,
    security(("api_key" = [])),
    responses((status = 200, description = "Narrowed", body = ConnectionView), AuthErrors, BodyErrors, NotFound,
        (status = 409, description = "The connection is revoked", body = super::openapi::ErrorBody)))]
pub async fn narrow(
    caller: Caller,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: crate::http::input::JsonBody<NarrowConnection>,
    db: web::Data<Database>,
    ring: web::Data<KeyRing>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::MembersWrite).await?;
    let (key, vendor) = path.into_inner();
    let key = user_key(&key)?;
    let rid = request_id(&req);
    let keep = body.0.data_types;
    let view = with_conn(db, move |conn| {
        conn.write_transaction(|conn| {
            let member = members::find(conn, &ring, &caller.portal, &key)?;
            let connection =
                connections::find(conn, &member.id, &vendor)?.ok_or(ApiError::NotFound)?;
            if connection.status == Status::Revoked {
                return Err(ApiError::Conflict("the connection is revoked".into()));
            }
            if let Some(extra) = keep.iter().find(|t| !connection.data_types.contains(t)) {
                return Err(ApiError::Validation(format!(
                    "data_types: `{}` is not shared now; only the member can widen a grant (send a connect session)",
                    extra.chars().take(64).collect::<String>()
                )));
            }
            let mut kept: Vec<String> = connection
                .data_types
                .iter()
                .filter(|t| keep.contains(t))
                .cloned()
                .collect();
            kept.dedup();
            if kept.len() != connection.data_types.len() {
                connections::set_data_types(
                    conn,
                    &connection,
                    &kept,
                    Channel::Api,
                    connections::Change::Narrow,
                )?;
                audit(
                    conn,
                    &caller,
                    "connection.narrow",
                    ("connection", &connection.id),
                    rid.as_deref(),
                )?;
            }
            let sync = sync_state::for_connection(conn, &connection.id)?;
            Ok(ConnectionView::with_sync(
                connections::get(conn, &connection.id)?,
                sync,
            ))
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}
