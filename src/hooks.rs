//! `/vendor-hooks/{vendor}`: notifications from vendors about a member's account
//! (new data, the data itself, a deregistration, changed permissions), and the
//! vendors' checks of the callback URL (`HEAD`, Oura's `GET` challenge).
//!
//! Policy: a notification is acted on only once it is shown to come from one of
//! the vendor's apps (each portal's, or the sandbox's built-in client): its
//! signature verifies with that app's client secret or, for vendors that sign
//! nothing, the URL carries that app's callback token. It acts only on connections
//! made through that app: a portal's secret cannot touch another portal's members.
//! The answer is quick: new data queues an incremental sync per notified connection
//! and granted data type (coalesced with one already queued, widened to the
//! notified window) for a worker to fetch; pushed data is stored for the types the
//! connection grants; a deregistration revokes; changed permissions narrow the
//! grant. A forged or stale notification is a 401, a malformed one a 400 naming the
//! field; neither changes anything. A notification for an account the hub does not
//! know (disconnected, or another hub's) is accepted and ignored, so the vendor
//! does not retry it. Nothing of the body, and not the callback token, is logged.

use crate::db::Database;
use crate::http::error::ApiError;
use crate::http::metrics::Metrics;
use crate::keys::KeyRing;
use crate::store::connections::{self, Status};
use crate::sync::SyncContext;
use actix_web::{web, HttpRequest, HttpResponse};
use secrecy::ExposeSecret;
use serde::Serialize;
use std::sync::Arc;
use tributary_connectors::{PushAuth, PushError, PushEvent};

/// Largest notification body read. Vendors' notifications are small; push-only
/// vendors that send data inline send pages of it.
const BODY_LIMIT: usize = 16 << 20;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/vendor-hooks/{vendor}")
            .route(web::post().to(receive))
            // Withings checks a callback URL with HEAD before subscribing it.
            .route(web::head().to(HttpResponse::Ok))
            // Oura verifies one with a GET carrying a challenge.
            .route(web::get().to(challenge))
            .default_service(web::to(|| {
                crate::http::error::method_not_allowed(&["post", "head"])
            })),
    );
}

/// What a notification led to.
#[derive(Debug, Serialize)]
struct Received {
    /// Notifications that concerned a connection here and were acted on.
    queued: usize,
}

/// `GET /vendor-hooks/{vendor}`: a vendor's verification of the callback URL
/// (Oura's challenge), answered when its token is the hook token of one of the
/// vendor's apps; 405 for vendors that send none.
async fn challenge(
    req: HttpRequest,
    path: web::Path<String>,
    db: web::Data<Database>,
    ring: web::Data<KeyRing>,
    sync: web::Data<SyncContext>,
) -> Result<HttpResponse, ApiError> {
    let vendor = path.into_inner();
    let sync = sync.into_inner();
    let Some(connector) = sync.vendors.connector(&vendor) else {
        return Err(ApiError::NotFound);
    };
    let vendor: &'static str = connector.manifest().vendor;
    let query: Vec<(String, String)> = url::form_urlencoded::parse(req.query_string().as_bytes())
        .into_owned()
        .collect();
    if connector.answer_challenge(&query, "").is_none() {
        return crate::http::error::method_not_allowed(&["post", "head"]).await;
    }
    let ring: Arc<KeyRing> = ring.into_inner();
    let body: String = crate::api::with_conn(db, move |conn| {
        let secrets = sync
            .vendors
            .push_secrets(conn, &ring, vendor)
            .map_err(ApiError::from)?;
        for (_, secret) in &secrets {
            let token = crate::vendors::hook_token(vendor, secret);
            if let Some(Ok(body)) = connector.answer_challenge(&query, &token) {
                return Ok(body);
            }
        }
        Err(ApiError::InvalidSignature(format!(
            "the verification request does not carry this hub's {vendor} token"
        )))
    })
    .await?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(body))
}

async fn receive(
    req: HttpRequest,
    path: web::Path<String>,
    mut payload: web::Payload,
    db: web::Data<Database>,
    ring: web::Data<KeyRing>,
    sync: web::Data<SyncContext>,
    metrics: web::Data<Metrics>,
) -> Result<HttpResponse, ApiError> {
    let vendor = path.into_inner();
    let sync = sync.into_inner();
    let Some(connector) = sync.vendors.connector(&vendor) else {
        return Err(ApiError::NotFound);
    };
    let vendor: &'static str = connector.manifest().vendor;
    let metrics: Arc<Metrics> = metrics.into_inner();
    let ring: Arc<KeyRing> = ring.into_inner();
    let check = Arc::new(Check {
        sync: sync.clone(),
        ring: ring.clone(),
        metrics: metrics.clone(),
        connector: connector.clone(),
        vendor,
        // The callback token of vendors that sign nothing; never logged.
        token: url::form_urlencoded::parse(req.query_string().as_bytes())
            .find(|(k, _)| k == "k")
            .map(|(_, v)| v.into_owned()),
        headers: req
            .headers()
            .iter()
            .filter_map(|(k, v)| {
                Some((k.as_str().to_ascii_lowercase(), v.to_str().ok()?.to_owned()))
            })
            .collect(),
    });
    // Vendors that sign nothing are checked on the URL before the body is read:
    // nobody else's body is taken in.
    let early = match connector.manifest().push_auth {
        PushAuth::CallbackToken => Some(authenticate(&db, &check, web::Bytes::new()).await?),
        PushAuth::Signature => None,
    };
    let body = read_body(&mut payload).await?;
    let app = match early {
        Some(app) => app,
        None => authenticate(&db, &check, body.clone()).await?,
    };
    let outcome = crate::api::with_conn(db, move |conn| {
        // The field's path only: a parser's problem text may quote a value.
        let notices = connector.parse_push(&body).map_err(|e| {
            metrics.vendor_push(vendor, "malformed", 1);
            ApiError::BadRequest(format!(
                "the notification does not have {vendor}'s shape at {}",
                e.path
            ))
        })?;
        let (mut queued, mut unknown) = (0, 0);
        conn.write_transaction(|conn| -> Result<(), ApiError> {
            for notice in &notices {
                let found = connections::by_vendor_user(conn, &ring, vendor, &notice.vendor_user)?;
                let mut matched = false;
                for connection in found
                    .iter()
                    .filter(|c| c.status == Status::Active && c.vendor_app_id == app)
                {
                    matched |= apply(conn, &ring, &sync, connection, &notice.event)?;
                }
                if matched {
                    queued += 1;
                } else {
                    unknown += 1;
                }
            }
            Ok(())
        })?;
        // Counted once committed: a transaction that failed queued nothing.
        metrics.vendor_push(vendor, "accepted", queued as u64);
        metrics.vendor_push(vendor, "unknown_member", unknown as u64);
        Ok(Received { queued })
    })
    .await?;
    Ok(HttpResponse::Ok().json(outcome))
}

/// What shows a notification to be a vendor's.
struct Check {
    sync: Arc<SyncContext>,
    ring: Arc<KeyRing>,
    metrics: Arc<Metrics>,
    connector: Arc<dyn tributary_connectors::Connector>,
    vendor: &'static str,
    token: Option<String>,
    headers: Vec<(String, String)>,
}

/// The app that sent the notification (`None`: the sandbox's built-in client): its
/// signature over `body` verifies with the app's client secret, or the URL carries
/// the app's callback token. A 401 naming the failed check otherwise.
async fn authenticate(
    db: &web::Data<Database>,
    check: &Arc<Check>,
    body: web::Bytes,
) -> Result<Option<String>, ApiError> {
    let c = check.clone();
    crate::api::with_conn(db.clone(), move |conn| {
        let vendor = c.vendor;
        let secrets = c
            .sync
            .vendors
            .push_secrets(conn, &c.ring, vendor)
            .map_err(ApiError::from)?;
        let now = chrono::Utc::now();
        let mut first_error = PushError::NotSupported;
        for (id, secret) in &secrets {
            let checked = match c.connector.manifest().push_auth {
                PushAuth::Signature => c.connector.verify_push(
                    &c.headers,
                    &body,
                    secret.expose_secret().as_bytes(),
                    now,
                ),
                PushAuth::CallbackToken => check_token(c.token.as_deref(), vendor, secret),
            };
            match checked {
                Ok(()) => return Ok(id.clone()),
                Err(e) if first_error == PushError::NotSupported => first_error = e,
                Err(_) => {}
            }
        }
        c.metrics.vendor_push(vendor, "bad_signature", 1);
        let why = if secrets.is_empty() {
            format!("no {vendor} app is registered with this hub")
        } else {
            first_error.to_string()
        };
        Err(ApiError::InvalidSignature(format!(
            "the notification is not signed by {vendor} for this hub: {why}"
        )))
    })
    .await
}

/// The body, at most [`BODY_LIMIT`] bytes.
async fn read_body(payload: &mut web::Payload) -> Result<web::Bytes, ApiError> {
    use futures_util::StreamExt;
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| ApiError::BadRequest("cannot read the body".into()))?;
        if body.len() + chunk.len() > BODY_LIMIT {
            return Err(ApiError::PayloadTooLarge { limit: BODY_LIMIT });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// The `k` token of a callback URL ([`crate::vendors::hook_token`]), compared in
/// constant time.
fn check_token(
    given: Option<&str>,
    vendor: &str,
    secret: &secrecy::SecretString,
) -> Result<(), PushError> {
    let given = given.ok_or(PushError::MissingToken("k"))?;
    let expected = crate::vendors::hook_token(vendor, secret);
    if given.len() != expected.len() {
        return Err(PushError::Mismatch);
    }
    let diff = given
        .bytes()
        .zip(expected.bytes())
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    if diff == 0 {
        Ok(())
    } else {
        Err(PushError::Mismatch)
    }
}

/// Act on one event for one active connection made through the app that sent it.
/// Whether the event concerned it (a data type it does not grant does not).
fn apply(
    conn: &mut crate::db::AnyConnection,
    ring: &KeyRing,
    sync: &SyncContext,
    connection: &connections::Connection,
    event: &PushEvent,
) -> Result<bool, ApiError> {
    let grants = |data_type: &str| connection.data_types.iter().any(|d| d == data_type);
    match event {
        PushEvent::NewData { data_type, window } => {
            if !grants(data_type.as_str()) {
                return Ok(false);
            }
            crate::sync::plan::request_push(
                conn,
                &sync.settings,
                connection,
                data_type.as_str(),
                window.map(|w| w.start),
            )?;
        }
        PushEvent::Samples { data_type, page } => {
            if !grants(data_type.as_str()) {
                return Ok(false);
            }
            // The connection's row before the member's (see `sync::run::store_granted`),
            // and the grant read again once locked: a revocation or narrowing that
            // committed meanwhile is seen.
            connections::synced(conn, &connection.id)?;
            let current = connections::get(conn, &connection.id)?;
            if current.status != connections::Status::Active
                || !current.data_types.iter().any(|d| d == data_type.as_str())
            {
                return Ok(false);
            }
            crate::ingest::store_and_announce(
                conn,
                ring,
                &current,
                data_type.as_str(),
                &page.samples,
            )
            .map_err(|e| match e {
                crate::ingest::IngestError::Store(s) => ApiError::from(s),
                _ => ApiError::BadRequest(format!(
                    "a pushed {data_type} record could not be normalised"
                )),
            })?;
        }
        PushEvent::Deregistered => {
            // The vendor ended the grant itself: nothing to withdraw there.
            connections::revoke(conn, ring, connection, connections::Channel::Vendor, false)?;
        }
        PushEvent::PermissionsChanged { data_types } => {
            let kept: Vec<String> = connection
                .data_types
                .iter()
                .filter(|d| data_types.iter().any(|k| k.as_str() == d.as_str()))
                .cloned()
                .collect();
            if kept.len() != connection.data_types.len() {
                connections::set_data_types(
                    conn,
                    connection,
                    &kept,
                    connections::Channel::Vendor,
                    connections::Change::Narrow,
                )?;
            }
        }
    }
    Ok(true)
}
