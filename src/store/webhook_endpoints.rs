//! Webhook endpoints: where a portal receives events, each with its own signing
//! secret (Standard Webhooks: `whsec_` and the base64 of 32 random bytes), sealed
//! under the key ring and shown only when made.

use super::StoreError;
use crate::db::schema::webhook_endpoints;
use crate::db::AnyConnection;
use crate::domain::PortalId;
use crate::keys::KeyRing;
use base64::Engine;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

const TABLE: &str = "webhook_endpoints";
/// The sealed previous secret's row label: distinct from the current one's, so a
/// sealed value cannot be moved between the two columns.
const PREVIOUS: &str = "webhook_endpoints.previous";

/// An endpoint as the API shows it (never its secret).
#[derive(Debug, Clone, Serialize, Queryable, utoipa::ToSchema)]
pub struct WebhookEndpoint {
    pub id: String,
    pub url: String,
    /// The event types sent here; empty: every type.
    #[serde(serialize_with = "json_list")]
    #[schema(value_type = Vec<String>)]
    pub events: String,
    pub enabled: bool,
    /// While a rotated secret is still honoured: until then both signatures are sent.
    #[serde(serialize_with = "crate::domain::utc::option::serialize")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub previous_secret_until: Option<NaiveDateTime>,
    #[serde(serialize_with = "crate::domain::utc::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: NaiveDateTime,
}

fn json_list<S: serde::Serializer>(s: &str, ser: S) -> Result<S::Ok, S::Error> {
    let list: Vec<String> = serde_json::from_str(s).unwrap_or_default();
    ser.collect_seq(list)
}

const COLUMNS: (
    webhook_endpoints::id,
    webhook_endpoints::url,
    webhook_endpoints::events,
    webhook_endpoints::enabled,
    webhook_endpoints::previous_until,
    webhook_endpoints::created_at,
) = (
    webhook_endpoints::id,
    webhook_endpoints::url,
    webhook_endpoints::events,
    webhook_endpoints::enabled,
    webhook_endpoints::previous_until,
    webhook_endpoints::created_at,
);

/// A new signing secret.
fn new_secret() -> SecretString {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    SecretString::from(format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    ))
}

/// Register an endpoint; returns it and its secret (shown once).
pub fn create(
    conn: &mut AnyConnection,
    ring: &KeyRing,
    portal: &PortalId,
    url: &str,
    events: &[String],
) -> Result<(WebhookEndpoint, SecretString), StoreError> {
    let now = crate::store::events::now();
    let id = format!("whe_{}", uuid::Uuid::new_v4().simple());
    let secret = new_secret();
    let sealed = ring.seal_hub_secret(conn, TABLE, &id, secret.expose_secret().as_bytes())?;
    let events = serde_json::to_string(events).unwrap_or_else(|_| "[]".into());
    diesel::insert_into(webhook_endpoints::table)
        .values((
            webhook_endpoints::id.eq(&id),
            webhook_endpoints::portal_id.eq(portal.as_str()),
            webhook_endpoints::url.eq(url),
            webhook_endpoints::events.eq(&events),
            webhook_endpoints::secret_sealed.eq(sealed),
            webhook_endpoints::enabled.eq(true),
            webhook_endpoints::created_at.eq(now),
            webhook_endpoints::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok((get(conn, portal, &id)?, secret))
}

pub fn list(
    conn: &mut AnyConnection,
    portal: &PortalId,
) -> Result<Vec<WebhookEndpoint>, StoreError> {
    Ok(webhook_endpoints::table
        .filter(webhook_endpoints::portal_id.eq(portal.as_str()))
        .order(webhook_endpoints::created_at)
        .select(COLUMNS)
        .load(conn)?)
}

pub fn get(
    conn: &mut AnyConnection,
    portal: &PortalId,
    id: &str,
) -> Result<WebhookEndpoint, StoreError> {
    webhook_endpoints::table
        .filter(webhook_endpoints::portal_id.eq(portal.as_str()))
        .filter(webhook_endpoints::id.eq(id))
        .select(COLUMNS)
        .first(conn)
        .optional()?
        .ok_or(StoreError::NotFound)
}

/// Enable or disable: a disabled endpoint gets no new deliveries, and its pending
/// ones wait (they are sent once it is enabled again).
pub fn set_enabled(
    conn: &mut AnyConnection,
    portal: &PortalId,
    id: &str,
    enabled: bool,
) -> Result<WebhookEndpoint, StoreError> {
    let n = diesel::update(
        webhook_endpoints::table
            .filter(webhook_endpoints::portal_id.eq(portal.as_str()))
            .filter(webhook_endpoints::id.eq(id)),
    )
    .set((
        webhook_endpoints::enabled.eq(enabled),
        webhook_endpoints::updated_at.eq(crate::store::events::now()),
    ))
    .execute(conn)?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    get(conn, portal, id)
}

/// Delete an endpoint and its deliveries.
pub fn delete(conn: &mut AnyConnection, portal: &PortalId, id: &str) -> Result<(), StoreError> {
    use crate::db::schema::webhook_deliveries;
    conn.write_transaction(|conn| {
        get(conn, portal, id)?;
        diesel::delete(webhook_deliveries::table.filter(webhook_deliveries::endpoint_id.eq(id)))
            .execute(conn)?;
        diesel::delete(webhook_endpoints::table.find(id)).execute(conn)?;
        Ok(())
    })
}

/// Give the endpoint a new secret; the current one stays valid (both signatures are
/// sent) until `overlap_until`. Returns the endpoint and the new secret.
pub fn rotate(
    conn: &mut AnyConnection,
    ring: &KeyRing,
    portal: &PortalId,
    id: &str,
    overlap_until: NaiveDateTime,
) -> Result<(WebhookEndpoint, SecretString), StoreError> {
    conn.write_transaction(|conn| {
        get(conn, portal, id)?;
        let current = secret(conn, ring, id)?;
        let secret = new_secret();
        let sealed = ring.seal_hub_secret(conn, TABLE, id, secret.expose_secret().as_bytes())?;
        let previous =
            ring.seal_hub_secret(conn, PREVIOUS, id, current.expose_secret().as_bytes())?;
        diesel::update(webhook_endpoints::table.find(id))
            .set((
                webhook_endpoints::secret_sealed.eq(sealed),
                webhook_endpoints::previous_secret_sealed.eq(Some(previous)),
                webhook_endpoints::previous_until.eq(Some(overlap_until)),
                webhook_endpoints::updated_at.eq(crate::store::events::now()),
            ))
            .execute(conn)?;
        Ok((get(conn, portal, id)?, secret))
    })
}

fn open_text(
    conn: &mut AnyConnection,
    ring: &KeyRing,
    table: &str,
    id: &str,
    sealed: &[u8],
) -> Result<SecretString, StoreError> {
    let plain = ring.open_hub_secret(conn, table, id, sealed)?;
    let text = std::str::from_utf8(&plain)
        .map_err(|_| StoreError::Corrupt(format!("webhook endpoint {id} secret")))?;
    Ok(SecretString::from(text.to_owned()))
}

fn secret(conn: &mut AnyConnection, ring: &KeyRing, id: &str) -> Result<SecretString, StoreError> {
    let sealed: Vec<u8> = webhook_endpoints::table
        .find(id)
        .select(webhook_endpoints::secret_sealed)
        .first(conn)
        .optional()?
        .ok_or(StoreError::NotFound)?;
    open_text(conn, ring, TABLE, id, &sealed)
}

/// What the dispatcher needs of an endpoint: its URL, whether it is enabled, and
/// the secrets to sign with at `now` (the current one first).
pub struct Target {
    pub url: String,
    pub enabled: bool,
    pub secrets: Vec<SecretString>,
}

pub fn target(
    conn: &mut AnyConnection,
    ring: &KeyRing,
    id: &str,
    now: NaiveDateTime,
) -> Result<Target, StoreError> {
    type Row = (
        String,
        bool,
        Vec<u8>,
        Option<Vec<u8>>,
        Option<NaiveDateTime>,
    );
    let (url, enabled, sealed, previous, until): Row = webhook_endpoints::table
        .find(id)
        .select((
            webhook_endpoints::url,
            webhook_endpoints::enabled,
            webhook_endpoints::secret_sealed,
            webhook_endpoints::previous_secret_sealed,
            webhook_endpoints::previous_until,
        ))
        .first(conn)
        .optional()?
        .ok_or(StoreError::NotFound)?;
    let mut secrets = vec![open_text(conn, ring, TABLE, id, &sealed)?];
    if let (Some(previous), Some(until)) = (previous, until) {
        if until > now {
            secrets.push(open_text(conn, ring, PREVIOUS, id, &previous)?);
        }
    }
    Ok(Target {
        url,
        enabled,
        secrets,
    })
}
