//! `POST /v1/members`, `GET /v1/members/{user_key}`, `DELETE /v1/members/{user_key}`.

use super::connections::ConnectionView;
use super::openapi::{AuthErrors, BodyErrors, NotFound};
use super::{audit, with_conn};
use crate::db::Database;
use crate::domain::UserKey;
use crate::http::auth::{request_id, Caller};
use crate::http::error::ApiError;
use crate::http::input::JsonBody;
use crate::keys::KeyRing;
use crate::store::api_keys::Scope;
use crate::store::events::{self, EventKind, NewEvent};
use crate::store::members::{self, Member};
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateMember {
    /// The portal's own id of the member: 1 to 128 printable characters.
    #[schema(
        min_length = 1,
        max_length = 128,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]{1,128}$",
        example = "patient-4711"
    )]
    user_key: String,
}

#[derive(Serialize, ToSchema)]
pub struct MemberView {
    member_id: String,
    user_key: String,
    #[serde(serialize_with = "crate::domain::utc::serialize")]
    #[schema(value_type = String, format = DateTime)]
    created_at: NaiveDateTime,
    /// The member's vendor connections.
    connections: Vec<ConnectionView>,
}

impl MemberView {
    fn new(m: Member, connections: Vec<crate::store::connections::Connection>) -> Self {
        Self {
            member_id: m.id.to_string(),
            user_key: m.user_key.expose().to_owned(),
            created_at: m.created_at,
            connections: connections.into_iter().map(ConnectionView::from).collect(),
        }
    }
}

fn user_key(s: &str) -> Result<UserKey, ApiError> {
    UserKey::parse(s).map_err(|rule| ApiError::Validation(rule.to_owned()))
}

/// Create a member.
#[utoipa::path(post, operation_id = "create_member", path = "/v1/members", tag = "members", request_body = CreateMember,
    security(("api_key" = [])),
    responses(
        (status = 201, description = "Created", body = MemberView),
        (status = 409, description = "This portal has a member with this User Key", body = super::openapi::ErrorBody),
        AuthErrors, BodyErrors,
    ))]
pub async fn create(
    caller: Caller,
    req: HttpRequest,
    db: web::Data<Database>,
    ring: web::Data<KeyRing>,
    body: JsonBody<CreateMember>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::MembersWrite).await?;
    let key = user_key(&body.0.user_key)?;
    let rid = request_id(&req);
    let member = with_conn(db, move |conn| {
        conn.write_transaction(|conn| {
            let member = match members::create(conn, &ring, &caller.portal, &key) {
                Err(crate::store::StoreError::Conflict) => {
                    return Err(ApiError::Conflict(
                        "a member with this user_key exists".into(),
                    ))
                }
                other => other?,
            };
            audit(
                conn,
                &caller,
                "member.create",
                ("member", member.id.as_str()),
                rid.as_deref(),
            )?;
            Ok(member)
        })
    })
    .await?;
    Ok(HttpResponse::Created().json(MemberView::new(member, Vec::new())))
}

/// A member and its connections.
#[utoipa::path(get, operation_id = "get_member", path = "/v1/members/{user_key}", tag = "members",
    params(("user_key" = String, Path, description = "The portal's User Key", min_length = 1, max_length = 128, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]{1,128}$")),
    security(("api_key" = [])),
    responses((status = 200, description = "The member", body = MemberView), AuthErrors, NotFound))]
pub async fn get(
    caller: Caller,
    path: web::Path<String>,
    db: web::Data<Database>,
    ring: web::Data<KeyRing>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::MembersWrite).await?;
    let key = user_key(&path.into_inner())?;
    let view = with_conn(db, move |conn| {
        let member = members::find(conn, &ring, &caller.portal, &key)?;
        let connections = crate::store::connections::list_for_member(conn, &member.id)?;
        Ok(MemberView::new(member, connections))
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Serialize, ToSchema)]
pub struct Erased {
    member_id: String,
    #[serde(serialize_with = "crate::domain::utc::serialize")]
    #[schema(value_type = String, format = DateTime)]
    erased_at: NaiveDateTime,
    data_key_destroyed: bool,
}

/// Erase a member: its data and its data key.
#[utoipa::path(delete, operation_id = "erase_member", path = "/v1/members/{user_key}", tag = "members",
    params(("user_key" = String, Path, description = "The portal's User Key", min_length = 1, max_length = 128, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]{1,128}$")),
    security(("api_key" = [])),
    responses((status = 200, description = "Erased", body = Erased), AuthErrors, NotFound))]
pub async fn erase(
    caller: Caller,
    req: HttpRequest,
    path: web::Path<String>,
    db: web::Data<Database>,
    ring: web::Data<KeyRing>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::MembersWrite).await?;
    let key = user_key(&path.into_inner())?;
    let rid = request_id(&req);
    let member = with_conn(db, move |conn| {
        conn.write_transaction(|conn| {
            let member = members::find(conn, &ring, &caller.portal, &key)?;
            // The member's earlier events go with it (undelivered ones too); the
            // erasure is announced in the same transaction, the event keeping the
            // User Key sealed since the member it would be read from is gone.
            events::forget_member(conn, &member.id)?;
            events::emit_with_user_key(
                conn,
                &ring,
                &NewEvent {
                    portal: &caller.portal,
                    member: Some(&member.id),
                    kind: EventKind::MemberErased,
                    data: serde_json::json!({}),
                },
                &member.user_key,
            )?;
            members::erase(conn, &member.id)?;
            audit(
                conn,
                &caller,
                "member.erase",
                ("member", member.id.as_str()),
                rid.as_deref(),
            )?;
            Ok(member)
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(Erased {
        member_id: member.id.to_string(),
        erased_at: Utc::now().naive_utc(),
        data_key_destroyed: true,
    }))
}
