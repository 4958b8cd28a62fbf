//! `GET /v1/members/{user_key}/export[?format=json|ndjson]`: everything held about
//! a member (right of access), as a FHIR `collection` Bundle or as NDJSON.
//!
//! Policy:
//! - Contents: the member's Patient, every Consent of its history, and its
//!   Observations of the data types its *active* connections grant now. That grant
//!   is read here and checked against each observation's vendor and data type,
//!   on top of the store's own filter: consent holds at every layer.
//! - Needs `members:write` (the member and its User Key, as the other member
//!   routes) and `data:read` (health data, as the FHIR API). Audited as
//!   `member.export` when the export starts. Another portal's member is 404.
//! - Streamed: the Patient and Consents are built before the response starts (so
//!   a failure there is still an error status); observations are read in keyset
//!   pages on a blocking task and sent as text through a bounded channel, so the
//!   hub holds a few pages whatever the member's history. A failure after the
//!   response started aborts the body (the client sees a truncated document,
//!   never a complete-looking partial one); the cause is logged.

use super::openapi::{AuthErrors, NotFound};
use super::{audit, with_conn};
use crate::db::Database;
use crate::domain::{MemberId, PortalId, UserKey};
use crate::fhir_api::consent_search::member_consents;
use crate::fhir_api::BASE;
use crate::http::auth::{request_id, Caller};
use crate::http::error::ApiError;
use crate::keys::KeyRing;
use crate::store::api_keys::Scope;
use crate::store::connections::{self, Status};
use crate::store::observations::{self, Cursor};
use crate::store::{members, StoreError};
use crate::vendors::Vendors;
use actix_web::web::Bytes;
use actix_web::{web, HttpRequest, HttpResponse};
use fhir_sdk::r4b::codes::BundleType;
use fhir_sdk::r4b::resources::Bundle;
use futures_util::StreamExt;
use std::collections::HashSet;
use std::fmt::Write as _;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Observations read per page (and sent per chunk).
const PAGE: usize = 500;
/// Chunks waiting for the client at most.
const CHANNEL_CHUNKS: usize = 2;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Bundle,
    Ndjson,
}

impl Format {
    /// The `format` query parameter; anything else is refused by name.
    fn parse(query: &str) -> Result<Self, ApiError> {
        let mut format = Self::Bundle;
        for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
            match (name.as_ref(), value.as_ref()) {
                ("format", "json") => format = Self::Bundle,
                ("format", "ndjson") => format = Self::Ndjson,
                ("format", _) => {
                    return Err(ApiError::BadRequest(
                        "query parameter `format`: json or ndjson".into(),
                    ))
                }
                _ => {
                    return Err(ApiError::BadRequest(format!(
                        "unknown query parameter `{}`; supported: format",
                        name.chars().take(64).collect::<String>()
                    )))
                }
            }
        }
        Ok(format)
    }

    fn content_type(self) -> &'static str {
        match self {
            Self::Bundle => crate::fhir_api::outcome::FHIR_JSON,
            Self::Ndjson => "application/fhir+ndjson",
        }
    }
}

/// The query of the export (documentation; the handler parses it itself).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ExportQuery {
    /// `json` (default): a FHIR Bundle of type `collection`; `ndjson`: one resource
    /// per line.
    #[param(inline, value_type = Option<String>, pattern = "^(json|ndjson)$")]
    format: Option<String>,
}

/// Writes resources as entries of a collection Bundle or as NDJSON lines.
struct Writer {
    format: Format,
    base: String,
    first: bool,
}

impl Writer {
    /// The document's opening text.
    fn open(&mut self) -> Result<String, ApiError> {
        if self.format == Format::Ndjson {
            return Ok(String::new());
        }
        let shell = Bundle::builder()
            .r#type(BundleType::Collection)
            .timestamp(fhir_sdk::Instant(fhir_sdk::time::OffsetDateTime::now_utc()))
            .build()
            .map_err(|e| ApiError::internal(&e))?;
        let mut out = serde_json::to_string(&shell).map_err(|e| ApiError::internal(&e))?;
        // The shell is an object: reopen it before its closing brace.
        if out.pop() != Some('}') {
            return Err(ApiError::internal(&"the Bundle shell is not a JSON object"));
        }
        out.push_str(",\"entry\":[");
        Ok(out)
    }

    /// One resource (`json`: compact JSON text) of type `kind` with id `id`.
    fn push(&mut self, out: &mut String, kind: &str, id: &str, json: &str) {
        match self.format {
            Format::Ndjson => {
                out.push_str(json);
                out.push('\n');
            }
            Format::Bundle => {
                if !std::mem::take(&mut self.first) {
                    out.push(',');
                }
                let full = serde_json::Value::String(format!("{}/{kind}/{id}", self.base));
                // Writing into a String cannot fail.
                let _ = write!(out, "{{\"fullUrl\":{full},\"resource\":{json}}}");
            }
        }
    }

    fn close(&self) -> &'static str {
        match self.format {
            Format::Ndjson => "",
            Format::Bundle => "]}",
        }
    }
}

/// What is read before the response starts.
struct Head {
    member: MemberId,
    portal: PortalId,
    /// Patient and Consents, written.
    text: String,
    /// `(vendor, data type)` granted by the member's active connections.
    grants: HashSet<(String, String)>,
}

fn head(
    conn: &mut crate::db::AnyConnection,
    ring: &KeyRing,
    caller: &Caller,
    key: &UserKey,
    writer: &mut Writer,
    rid: Option<&str>,
) -> Result<Head, ApiError> {
    let member = members::find(conn, ring, &caller.portal, key)?;
    let patient = crate::fhir_api::patient_resource(&member)
        .map_err(|_| ApiError::internal(&"patient resource"))?;
    let mut text = writer.open()?;
    let id = member.id.to_string();
    writer.push(&mut text, "Patient", &id, &patient.to_string());
    for c in member_consents(conn, &caller.portal, &member.id)? {
        let json = serde_json::to_string(&c).map_err(|e| ApiError::internal(&e))?;
        writer.push(
            &mut text,
            "Consent",
            c.id.as_deref().unwrap_or_default(),
            &json,
        );
    }
    let grants = connections::list_for_member(conn, &member.id)?
        .into_iter()
        .filter(|c| c.status == Status::Active)
        .flat_map(|c| {
            let vendor = c.vendor;
            c.data_types.into_iter().map(move |t| (vendor.clone(), t))
        })
        .collect();
    audit(conn, caller, "member.export", ("member", &id), rid)?;
    Ok(Head {
        member: member.id,
        portal: caller.portal.clone(),
        text,
        grants,
    })
}

type Chunk = Result<Bytes, std::io::Error>;

/// Page through the member's observations and send them; stops when the client
/// has gone (the channel is closed).
fn stream_observations(
    db: &Database,
    ring: &KeyRing,
    head: &Head,
    writer: &mut Writer,
    tx: &mpsc::Sender<Chunk>,
) -> Result<(), StoreError> {
    if head.grants.is_empty() {
        return Ok(());
    }
    let mut conn = db
        .conn()
        .map_err(|e| StoreError::Corrupt(format!("database: {e}")))?;
    let access = observations::access(&mut conn, ring, &head.portal, &head.member)?;
    let mut after: Option<Cursor> = None;
    loop {
        let (page, next) =
            observations::page_with_grants(&mut conn, &access, after.as_ref(), PAGE)?;
        let mut out = String::with_capacity(page.iter().map(|l| l.served.json.len() + 128).sum());
        for listed in &page {
            // The export's own consent check, whatever the store returned.
            let granted = head
                .grants
                .contains(&(listed.vendor.clone(), listed.data_type.clone()));
            if granted {
                writer.push(
                    &mut out,
                    "Observation",
                    &listed.served.id,
                    &listed.served.json,
                );
            }
        }
        if !out.is_empty() && tx.blocking_send(Ok(Bytes::from(out))).is_err() {
            return Ok(());
        }
        match next {
            Some(n) => after = Some(n),
            None => return Ok(()),
        }
    }
}

/// Everything held about a member.
#[utoipa::path(get, operation_id = "export_member", path = "/v1/members/{user_key}/export", tag = "members",
    params(("user_key" = String, Path, description = "The portal's User Key", min_length = 1, max_length = 128, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]{1,128}$"), ExportQuery),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The member's Patient, its Consents (the whole history) and its Observations of the data types granted now, streamed",
            content((Object = "application/fhir+json"), (String = "application/fhir+ndjson"))),
        (status = 400, description = "A query parameter is not supported; the message names it", body = super::openapi::ErrorBody),
        AuthErrors, NotFound))]
pub async fn export(
    caller: Caller,
    req: HttpRequest,
    path: web::Path<String>,
    db: web::Data<Database>,
    ring: web::Data<KeyRing>,
    vendors: web::Data<Vendors>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::MembersWrite).await?;
    caller.require(Scope::DataRead).await?;
    let format = Format::parse(req.query_string())?;
    let key = UserKey::parse(&path.into_inner()).map_err(|r| ApiError::Validation(r.to_owned()))?;
    let rid = request_id(&req);
    let mut writer = Writer {
        format,
        base: vendors.public(BASE),
        first: true,
    };
    let ring: Arc<KeyRing> = ring.into_inner();
    let (mut head, mut writer) = {
        let ring = ring.clone();
        with_conn(db.clone(), move |conn| {
            let head = head(conn, &ring, &caller, &key, &mut writer, rid.as_deref())?;
            Ok((head, writer))
        })
        .await?
    };
    let (tx, mut rx) = mpsc::channel::<Chunk>(CHANNEL_CHUNKS);
    let db = db.into_inner();
    let first = Bytes::from(std::mem::take(&mut head.text));
    actix_web::rt::task::spawn_blocking(move || {
        match stream_observations(&db, &ring, &head, &mut writer, &tx) {
            Ok(()) if writer.close().is_empty() => {}
            Ok(()) => {
                let _ = tx.blocking_send(Ok(Bytes::from_static(writer.close().as_bytes())));
            }
            Err(e) => {
                tracing::error!(error = %e, "member export failed while streaming");
                let _ = tx.blocking_send(Err(std::io::Error::other("export failed")));
            }
        }
    });
    let body = futures_util::stream::once(std::future::ready(Ok(first)))
        .chain(futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)));
    Ok(HttpResponse::Ok()
        .content_type(format.content_type())
        .streaming(body))
}
