//! FHIR push: per portal, its FHIR server, the credentials to reach it (sealed under
//! the key ring, never returned), and the pusher's progress.
//!
//! Policy:
//! - Progress is a cursor over the portal's observations in `(last_updated, id)`
//!   order: everything after it is pending. An observation stored or amended later
//!   gets a later `last_updated`, so it comes round again; nothing else is queued.
//! - A pusher holds a row by lease (`lease_token`, `lease_until`). Every write it
//!   makes is conditional on its token; a change through the API (set, resend)
//!   clears the token, so a pusher that started before the change cannot move the
//!   cursor after it.
//! - Transient failures move `next_attempt_at` along the retry schedule (state
//!   `retrying`), then the state is `failed` until a resend or a new configuration.
//! - Entries the portal refused on their own are recorded in
//!   `fhir_push_rejections` with the status and the server's OperationOutcome
//!   (sealed; at most [`OUTCOME_MAX`] bytes) and the cursor passes them.

use super::StoreError;
use crate::db::schema::{fhir_push, fhir_push_rejections, observations};
use crate::db::AnyConnection;
use crate::domain::PortalId;
use crate::keys::KeyRing;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

const TABLE: &str = "fhir_push";
const REJECTIONS: &str = "fhir_push_rejections";
/// The most of a refusal's OperationOutcome that is kept.
pub const OUTCOME_MAX: usize = 8 * 1024;

pub const OK: &str = "ok";
pub const RETRYING: &str = "retrying";
pub const FAILED: &str = "failed";

/// How the hub authenticates at the portal's FHIR server.
pub enum Auth {
    /// `Authorization: Bearer <token>`.
    Bearer(SecretString),
    /// OAuth 2 client credentials (RFC 6749 §4.4): a token from `token_url`.
    ClientCredentials {
        token_url: String,
        client_id: String,
        secret: SecretString,
        scope: Option<String>,
    },
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Bearer(_) => f.write_str("Bearer(..)"),
            Self::ClientCredentials { client_id, .. } => f
                .debug_struct("ClientCredentials")
                .field("client_id", client_id)
                .finish_non_exhaustive(),
        }
    }
}

/// The push configuration and status as the API shows them (no secret).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PushStatus {
    pub base_url: String,
    /// `bearer` or `client_credentials`.
    pub auth_type: String,
    pub token_url: Option<String>,
    pub client_id: Option<String>,
    pub scope: Option<String>,
    /// `ok`, `retrying` (a transient failure; the next attempt is scheduled) or
    /// `failed` (the retry schedule is spent; resend or a new configuration restarts).
    pub state: String,
    #[serde(serialize_with = "crate::domain::utc::option::serialize")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_success_at: Option<NaiveDateTime>,
    /// The hub's description of the last failure (never the server's body).
    pub last_error: Option<String>,
    #[serde(serialize_with = "crate::domain::utc::option::serialize")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_error_at: Option<NaiveDateTime>,
    /// Observations the portal's server accepted.
    pub pushed: i64,
    /// Observations the portal's server refused (recorded, not retried).
    pub rejected: i64,
    #[serde(serialize_with = "crate::domain::utc::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub next_attempt_at: NaiveDateTime,
    /// Observations stored or amended since the last one pushed.
    pub pending: i64,
    /// The latest refusals, newest first (at most 20).
    pub recent_rejections: Vec<Rejection>,
    #[serde(serialize_with = "crate::domain::utc::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: NaiveDateTime,
}

/// An observation the portal's server refused.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Rejection {
    pub observation_id: String,
    /// The version refused (`meta.versionId`).
    pub version: i64,
    /// The HTTP status of the server's answer.
    pub status: i32,
    /// The server's OperationOutcome, when it sent one (cut at 8 KiB).
    #[schema(value_type = Option<Object>)]
    pub outcome: Option<serde_json::Value>,
    #[serde(serialize_with = "crate::domain::utc::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub rejected_at: NaiveDateTime,
}

type Row = (
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    Option<NaiveDateTime>,
    Option<String>,
    Option<NaiveDateTime>,
    i64,
    i64,
    NextAndCursor,
);
type NextAndCursor = (NaiveDateTime, i64, String, NaiveDateTime);

/// Set or replace the portal's push configuration. A new base URL starts from the
/// first observation (another server has none of them); the same base URL keeps
/// the progress (new credentials, say). Either way a `failed` push starts again.
pub fn set(
    conn: &mut AnyConnection,
    ring: &KeyRing,
    portal: &PortalId,
    base_url: &str,
    auth: &Auth,
) -> Result<(), StoreError> {
    let now = chrono::Utc::now().naive_utc();
    let (kind, token_url, client_id, scope, secret) = match auth {
        Auth::Bearer(t) => ("bearer", None, None, None, t),
        Auth::ClientCredentials {
            token_url,
            client_id,
            secret,
            scope,
        } => (
            "client_credentials",
            Some(token_url.as_str()),
            Some(client_id.as_str()),
            scope.as_deref(),
            secret,
        ),
    };
    let sealed = ring.seal_hub_secret(
        conn,
        TABLE,
        portal.as_str(),
        secret.expose_secret().as_bytes(),
    )?;
    conn.write_transaction(|conn| {
        let old: Option<String> = fhir_push::table
            .find(portal.as_str())
            .select(fhir_push::base_url)
            .first(conn)
            .optional()?;
        let same_server = old.as_deref() == Some(base_url);
        if old.is_some() && !same_server {
            delete(conn, portal)?;
        }
        let config = (
            fhir_push::base_url.eq(base_url),
            fhir_push::auth_kind.eq(kind),
            fhir_push::token_url.eq(token_url),
            fhir_push::client_id.eq(client_id),
            fhir_push::scope.eq(scope),
            fhir_push::secret_sealed.eq(&sealed),
            fhir_push::state.eq(OK),
            fhir_push::attempts.eq(0),
            fhir_push::next_attempt_at.eq(now),
            fhir_push::lease_token.eq(None::<String>),
            fhir_push::lease_until.eq(None::<NaiveDateTime>),
            fhir_push::updated_at.eq(now),
        );
        if same_server {
            diesel::update(fhir_push::table.find(portal.as_str()))
                .set(config)
                .execute(conn)?;
        } else {
            diesel::insert_into(fhir_push::table)
                .values((
                    fhir_push::portal_id.eq(portal.as_str()),
                    config,
                    fhir_push::cursor_updated.eq(0i64),
                    fhir_push::cursor_id.eq(""),
                    fhir_push::pushed_count.eq(0i64),
                    fhir_push::rejected_count.eq(0i64),
                    fhir_push::created_at.eq(now),
                ))
                .execute(conn)?;
        }
        Ok(())
    })
}

/// The configuration (no secret) and status.
pub fn status(
    conn: &mut AnyConnection,
    ring: &KeyRing,
    portal: &PortalId,
) -> Result<PushStatus, StoreError> {
    let row: Row = fhir_push::table
        .find(portal.as_str())
        .select((
            fhir_push::base_url,
            fhir_push::auth_kind,
            fhir_push::token_url,
            fhir_push::client_id,
            fhir_push::scope,
            fhir_push::state,
            fhir_push::last_success_at,
            fhir_push::last_error,
            fhir_push::last_error_at,
            fhir_push::pushed_count,
            fhir_push::rejected_count,
            (
                fhir_push::next_attempt_at,
                fhir_push::cursor_updated,
                fhir_push::cursor_id,
                fhir_push::updated_at,
            ),
        ))
        .first(conn)
        .optional()?
        .ok_or(StoreError::NotFound)?;
    let (base_url, auth_type, token_url, client_id, scope, state) =
        (row.0, row.1, row.2, row.3, row.4, row.5);
    let (next_attempt_at, cu, cid, updated_at) = row.11;
    let pending: i64 = observations::table
        .filter(observations::portal_id.eq(portal.as_str()))
        .filter(
            observations::last_updated
                .gt(cu)
                .or(observations::last_updated
                    .eq(cu)
                    .and(observations::id.gt(cid))),
        )
        .count()
        .get_result(conn)?;
    Ok(PushStatus {
        base_url,
        auth_type,
        token_url,
        client_id,
        scope,
        state,
        last_success_at: row.6,
        last_error: row.7,
        last_error_at: row.8,
        pushed: row.9,
        rejected: row.10,
        next_attempt_at,
        pending,
        recent_rejections: rejections(conn, ring, portal, 20)?,
        updated_at,
    })
}

/// The latest refusals, newest first.
pub fn rejections(
    conn: &mut AnyConnection,
    ring: &KeyRing,
    portal: &PortalId,
    limit: i64,
) -> Result<Vec<Rejection>, StoreError> {
    type R = (String, i64, i32, Option<Vec<u8>>, NaiveDateTime);
    let rows: Vec<R> = fhir_push_rejections::table
        .filter(fhir_push_rejections::portal_id.eq(portal.as_str()))
        .order((
            fhir_push_rejections::rejected_at.desc(),
            fhir_push_rejections::observation_id.desc(),
        ))
        .limit(limit)
        .select((
            fhir_push_rejections::observation_id,
            fhir_push_rejections::version_id,
            fhir_push_rejections::status,
            fhir_push_rejections::outcome_sealed,
            fhir_push_rejections::rejected_at,
        ))
        .load(conn)?;
    let mut out = Vec::with_capacity(rows.len());
    for (observation_id, version, status, sealed, rejected_at) in rows {
        let outcome = match sealed {
            Some(s) => {
                let plain = ring.open_hub_secret(conn, REJECTIONS, &observation_id, &s)?;
                serde_json::from_slice(&plain).ok()
            }
            None => None,
        };
        out.push(Rejection {
            observation_id,
            version,
            status,
            outcome,
            rejected_at,
        });
    }
    Ok(out)
}

/// Remove the configuration and the record of refusals.
pub fn delete(conn: &mut AnyConnection, portal: &PortalId) -> Result<(), StoreError> {
    diesel::delete(
        fhir_push_rejections::table.filter(fhir_push_rejections::portal_id.eq(portal.as_str())),
    )
    .execute(conn)?;
    let n = diesel::delete(fhir_push::table.find(portal.as_str())).execute(conn)?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Push again every observation stored or amended at or after `since` (Unix µs;
/// `None`: all of them). Returns how many are now pending.
pub fn resend(
    conn: &mut AnyConnection,
    ring: &KeyRing,
    portal: &PortalId,
    since: Option<i64>,
) -> Result<i64, StoreError> {
    let now = chrono::Utc::now().naive_utc();
    let n = diesel::update(fhir_push::table.find(portal.as_str()))
        .set((
            fhir_push::cursor_updated.eq(since.unwrap_or(0).max(0)),
            fhir_push::cursor_id.eq(""),
            fhir_push::state.eq(OK),
            fhir_push::attempts.eq(0),
            fhir_push::next_attempt_at.eq(now),
            fhir_push::lease_token.eq(None::<String>),
            fhir_push::lease_until.eq(None::<NaiveDateTime>),
            fhir_push::updated_at.eq(now),
        ))
        .execute(conn)?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(status(conn, ring, portal)?.pending)
}

/// Take up to `limit` portals whose push is due and not held by another pusher.
/// Returns `(portal, lease token)` pairs.
pub fn claim(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    until: NaiveDateTime,
    limit: i64,
) -> Result<Vec<(PortalId, String)>, StoreError> {
    let due = || {
        fhir_push::table
            .filter(fhir_push::state.ne(FAILED))
            .filter(fhir_push::next_attempt_at.le(now))
            .filter(
                fhir_push::lease_until
                    .is_null()
                    .or(fhir_push::lease_until.lt(now)),
            )
    };
    let candidates: Vec<String> = due()
        .order(fhir_push::next_attempt_at)
        .limit(limit)
        .select(fhir_push::portal_id)
        .load(conn)?;
    let mut out = Vec::new();
    for portal in candidates {
        let token = uuid::Uuid::new_v4().simple().to_string();
        // The same conditions again: only one of two racing pushers changes the row.
        let n = diesel::update(due().filter(fhir_push::portal_id.eq(&portal)))
            .set((
                fhir_push::lease_token.eq(&token),
                fhir_push::lease_until.eq(until),
            ))
            .execute(conn)?;
        if n == 1 {
            if let Some(p) = PortalId::parse(&portal) {
                out.push((p, token));
            }
        }
    }
    Ok(out)
}

/// What a pusher holding the lease needs: the server, credentials and cursor.
pub struct Target {
    pub base_url: String,
    pub auth: Auth,
    pub cursor: (i64, String),
    pub attempts: i32,
}

/// The target of a held push; [`StoreError::NotFound`] when the lease is lost (the
/// configuration changed, was removed, or another pusher took over).
pub fn target(
    conn: &mut AnyConnection,
    ring: &KeyRing,
    portal: &PortalId,
    token: &str,
) -> Result<Target, StoreError> {
    type T = (
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Vec<u8>,
        i64,
        String,
        i32,
    );
    let row: T = held(portal, token)
        .select((
            fhir_push::base_url,
            fhir_push::auth_kind,
            fhir_push::token_url,
            fhir_push::client_id,
            fhir_push::scope,
            fhir_push::secret_sealed,
            fhir_push::cursor_updated,
            fhir_push::cursor_id,
            fhir_push::attempts,
        ))
        .first(conn)
        .optional()?
        .ok_or(StoreError::NotFound)?;
    let plain = ring.open_hub_secret(conn, TABLE, portal.as_str(), &row.5)?;
    let secret = SecretString::from(
        std::str::from_utf8(&plain)
            .map_err(|_| StoreError::Corrupt("fhir push secret".into()))?
            .to_owned(),
    );
    let auth = match (row.1.as_str(), row.2, row.3) {
        ("client_credentials", Some(token_url), Some(client_id)) => Auth::ClientCredentials {
            token_url,
            client_id,
            secret,
            scope: row.4,
        },
        _ => Auth::Bearer(secret),
    };
    Ok(Target {
        base_url: row.0,
        auth,
        cursor: (row.6, row.7),
        attempts: row.8,
    })
}

type Held<'a> = diesel::dsl::Filter<
    diesel::dsl::Filter<fhir_push::table, diesel::dsl::Eq<fhir_push::portal_id, &'a str>>,
    diesel::dsl::Eq<fhir_push::lease_token, &'a str>,
>;

fn held<'a>(portal: &'a PortalId, token: &'a str) -> Held<'a> {
    fhir_push::table
        .filter(fhir_push::portal_id.eq(portal.as_str()))
        .filter(fhir_push::lease_token.eq(token))
}

/// Keep the lease until `until`; `false` when it is lost.
pub fn renew(
    conn: &mut AnyConnection,
    portal: &PortalId,
    token: &str,
    until: NaiveDateTime,
) -> Result<bool, StoreError> {
    Ok(diesel::update(held(portal, token))
        .set(fhir_push::lease_until.eq(until))
        .execute(conn)?
        == 1)
}

/// An observation the server refused.
pub struct Refused {
    pub observation_id: String,
    pub version: i64,
    pub status: u16,
    /// The server's answer body, when it was JSON (an OperationOutcome).
    pub outcome: Option<Vec<u8>>,
}

/// What one round achieved: the cursor moves to `cursor`, `pushed` were accepted
/// and `refused` recorded. `false` when the lease is lost (nothing is written).
pub fn advance(
    conn: &mut AnyConnection,
    ring: &KeyRing,
    portal: &PortalId,
    token: &str,
    cursor: (i64, &str),
    pushed: i64,
    refused: &[Refused],
) -> Result<bool, StoreError> {
    let now = chrono::Utc::now().naive_utc();
    conn.write_transaction(|conn| {
        let n = diesel::update(held(portal, token))
            .set((
                fhir_push::cursor_updated.eq(cursor.0),
                fhir_push::cursor_id.eq(cursor.1),
                fhir_push::pushed_count.eq(fhir_push::pushed_count + pushed),
                fhir_push::rejected_count.eq(fhir_push::rejected_count + refused.len() as i64),
                fhir_push::state.eq(OK),
                fhir_push::attempts.eq(0),
                fhir_push::last_success_at.eq(now),
                fhir_push::updated_at.eq(now),
            ))
            .execute(conn)?;
        if n == 0 {
            return Ok(false);
        }
        for r in refused {
            let outcome = match &r.outcome {
                Some(body) if body.len() <= OUTCOME_MAX => {
                    Some(ring.seal_hub_secret(conn, REJECTIONS, &r.observation_id, body)?)
                }
                _ => None,
            };
            diesel::delete(
                fhir_push_rejections::table
                    .filter(fhir_push_rejections::portal_id.eq(portal.as_str()))
                    .filter(fhir_push_rejections::observation_id.eq(&r.observation_id)),
            )
            .execute(conn)?;
            diesel::insert_into(fhir_push_rejections::table)
                .values((
                    fhir_push_rejections::portal_id.eq(portal.as_str()),
                    fhir_push_rejections::observation_id.eq(&r.observation_id),
                    fhir_push_rejections::version_id.eq(r.version),
                    fhir_push_rejections::status.eq(i32::from(r.status)),
                    fhir_push_rejections::outcome_sealed.eq(outcome),
                    fhir_push_rejections::rejected_at.eq(now),
                ))
                .execute(conn)?;
        }
        Ok(true)
    })
}

/// A transient failure: wait until `retry_at`, or `failed` when it is `None`. The
/// lease is given up.
pub fn fail(
    conn: &mut AnyConnection,
    portal: &PortalId,
    token: &str,
    error: &str,
    retry_at: Option<NaiveDateTime>,
) -> Result<bool, StoreError> {
    let now = chrono::Utc::now().naive_utc();
    let (state, next) = match retry_at {
        Some(at) => (RETRYING, at),
        None => (FAILED, now),
    };
    Ok(diesel::update(held(portal, token))
        .set((
            fhir_push::state.eq(state),
            fhir_push::attempts.eq(fhir_push::attempts + 1),
            fhir_push::next_attempt_at.eq(next),
            fhir_push::last_error.eq(error),
            fhir_push::last_error_at.eq(now),
            fhir_push::lease_token.eq(None::<String>),
            fhir_push::lease_until.eq(None::<NaiveDateTime>),
            fhir_push::updated_at.eq(now),
        ))
        .execute(conn)?
        == 1)
}

/// Give the lease up with nothing left to push for now.
pub fn release(conn: &mut AnyConnection, portal: &PortalId, token: &str) -> Result<(), StoreError> {
    diesel::update(held(portal, token))
        .set((
            fhir_push::lease_token.eq(None::<String>),
            fhir_push::lease_until.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    Ok(())
}
