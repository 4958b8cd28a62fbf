//! `POST /v1/members`, `GET /v1/members/{user_key}`, `DELETE /v1/members/{user_key}`.

use super::connections::ConnectionView;
use super::openapi::{AuthErrors, BodyErrors, NotFound};
use super::{audit, with_conn};
use crate::db::{AnyConnection, Database};
use crate::domain::UserKey;
use crate::erasure::{Erasure, ErasureError};
use crate::http::auth::{request_id, Caller};
use crate::http::error::ApiError;
use crate::http::input::JsonBody;
use crate::keys::KeyRing;
use crate::store::api_keys::Scope;
use crate::store::events::{self, EventKind, NewEvent};
use crate::store::members::{self, Member};
use crate::vendors::Vendors;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDateTime;
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

/// Erase a member: revoke every connection (withdrawing each grant at its vendor),
/// delete every row of the member, destroy its data key, and record the erasure in
/// the erasure journal. The answer is the deletion receipt, signed by the hub
/// (`tributary receipt verify FILE` checks it; the public key is at
/// `GET /v1/receipts/public-key`).
#[utoipa::path(delete, operation_id = "erase_member", path = "/v1/members/{user_key}", tag = "members",
    params(("user_key" = String, Path, description = "The portal's User Key", min_length = 1, max_length = 128, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]{1,128}$")),
    security(("api_key" = [])),
    responses((status = 200, description = "Erased: the deletion receipt", body = ReceiptView), AuthErrors, NotFound))]
pub async fn erase(
    caller: Caller,
    req: HttpRequest,
    path: web::Path<String>,
    db: web::Data<Database>,
    ring: web::Data<KeyRing>,
    vendors: web::Data<Vendors>,
    erasure: web::Data<Erasure>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::MembersWrite).await?;
    let key = user_key(&path.into_inner())?;
    let rid = request_id(&req);
    let receipt = with_conn(db, move |conn| {
        conn.write_transaction(|conn| {
            let member = members::find(conn, &ring, &caller.portal, &key)?;
            // Audited first: the journal append is the last step before the commit.
            audit(
                conn,
                &caller,
                "member.erase",
                ("member", member.id.as_str()),
                rid.as_deref(),
            )?;
            // Announced in the same transaction; the event keeps the User Key
            // sealed, since the member it would be read from is gone.
            let announce = |conn: &mut AnyConnection, receipt_id: &str| {
                events::emit_with_user_key(
                    conn,
                    &ring,
                    &NewEvent {
                        portal: &caller.portal,
                        member: Some(&member.id),
                        kind: EventKind::MemberErased,
                        data: serde_json::json!({ "receipt_id": receipt_id }),
                    },
                    &member.user_key,
                )
                .map(|_| ())
            };
            let receipt = erasure
                .erase(conn, &ring, &vendors, &member, announce)
                .map_err(|e| match e {
                    ErasureError::Store(s) => ApiError::from(s),
                    ErasureError::Journal(why) => {
                        tracing::error!(error = %why, "erasure refused");
                        ApiError::Unavailable("the erasure journal cannot be written".into())
                    }
                })?;
            Ok(receipt)
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(receipt))
}

/// A deletion receipt (see `docs/SECURITY.md`).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ReceiptView {
    /// `tributary.deletion-receipt.v1`
    #[schema(rename = "type")]
    kind: String,
    receipt_id: String,
    /// The hub's public URL, when configured.
    hub: Option<String>,
    portal_id: String,
    member_id: String,
    #[schema(format = DateTime)]
    erased_at: String,
    /// Rows deleted, by kind (`observations`, `connections`, `tokens`, …).
    counts: std::collections::BTreeMap<String, u64>,
    /// Grants queued to be withdrawn at their vendors.
    vendor_revocations_queued: u64,
    /// Always true: the member's data key is destroyed.
    data_key_destroyed: bool,
    /// The hub's Ed25519 public key, base64url.
    public_key: String,
    /// Ed25519 over the canonical JSON of the other fields, base64url.
    signature: String,
}

/// The key deletion receipts are signed with.
#[derive(Serialize, ToSchema)]
pub struct ReceiptKey {
    /// Always `Ed25519`.
    algorithm: &'static str,
    /// The public key, base64url without padding.
    public_key: String,
}

/// The public key that signs this hub's deletion receipts, to check a receipt
/// with any Ed25519 library (the signed text is the receipt's JSON without
/// `signature`, keys sorted, no whitespace).
#[utoipa::path(get, operation_id = "receipt_public_key", path = "/v1/receipts/public-key", tag = "members",
    security(("api_key" = [])),
    responses((status = 200, description = "The key", body = ReceiptKey), AuthErrors))]
pub async fn receipt_key(
    caller: Caller,
    erasure: web::Data<Erasure>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::MembersWrite).await?;
    Ok(HttpResponse::Ok().json(ReceiptKey {
        algorithm: "Ed25519",
        public_key: erasure.signer().public_key(),
    }))
}
