//! Grants to withdraw at the vendor.
//!
//! Revoking a connection (or erasing its member) deletes its tokens at once; the
//! call that withdraws the grant at the vendor runs later, as a `vendor_revoke`
//! job, so a vendor that is down neither blocks nor undoes the local deletion and
//! the call is retried. The job carries the tokens it needs sealed under the key
//! ring (the member's own key may be destroyed by then), bound to the job's
//! connection; the payload is wiped when the job ends.

use super::connections::{self, Connection};
use super::jobs::{self, Kind, NewJob};
use super::StoreError;
use crate::db::AnyConnection;
use crate::keys::KeyRing;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// How many times a vendor call is tried (backoff from `sync.retry_base_secs` to
/// `sync.retry_max_secs`) before the job is left `failed`.
pub const MAX_ATTEMPTS: i32 = 10;

const TABLE: &str = "vendor_revoke";

/// The job's payload: ids and the sealed tokens (and account id), never a token
/// in clear.
#[derive(Serialize, Deserialize)]
struct Payload {
    connection: String,
    portal: String,
    vendor: String,
    vendor_app_id: Option<String>,
    access: String,
    refresh: Option<String>,
    /// The vendor's id of the member's account, sealed like the tokens, for a
    /// vendor whose revocation names the account (Withings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    account: Option<String>,
    /// The keyed hash of the account (base64), to tell whether the account is
    /// connected again when the job runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    account_hash: Option<String>,
}

/// What a `vendor_revoke` job works with once opened.
pub struct Pending {
    pub connection: String,
    pub portal: crate::domain::PortalId,
    pub vendor: String,
    pub vendor_app_id: Option<String>,
    pub access: SecretString,
    pub refresh: Option<SecretString>,
    /// The vendor's id of the member's account, where the vendor named it.
    pub account: Option<SecretString>,
    /// Its keyed hash, where known.
    pub account_hash: Option<Vec<u8>>,
}

/// Queue the withdrawal of the connection's grant, in the caller's transaction;
/// `false` when the connection holds no tokens (nothing to withdraw with).
pub fn queue(
    conn: &mut AnyConnection,
    ring: &KeyRing,
    connection: &Connection,
) -> Result<bool, StoreError> {
    let Some((tokens, _)) = connections::tokens(conn, ring, connection)? else {
        return Ok(false);
    };
    let account = connections::vendor_account(conn, ring, connection)?;
    let account_hash = connections::vendor_user_hash_of(conn, &connection.id)?;
    let mut seal = |kind: &str, v: &SecretString| -> Result<String, StoreError> {
        let row = format!("{}/{kind}", connection.id);
        let sealed = ring.seal_hub_secret(conn, TABLE, &row, v.expose_secret().as_bytes())?;
        Ok(STANDARD.encode(sealed))
    };
    let payload = Payload {
        connection: connection.id.clone(),
        portal: connection.portal_id.to_string(),
        vendor: connection.vendor.clone(),
        vendor_app_id: connection.vendor_app_id.clone(),
        access: seal("access", &tokens.access)?,
        refresh: tokens
            .refresh
            .as_ref()
            .map(|r| seal("refresh", r))
            .transpose()?,
        account: account.as_ref().map(|a| seal("account", a)).transpose()?,
        account_hash: account_hash.map(|h| STANDARD.encode(h)),
    };
    let payload = serde_json::to_value(&payload)
        .map_err(|e| StoreError::Invalid(format!("vendor revoke payload: {e}")))?;
    jobs::enqueue(
        conn,
        &NewJob {
            kind: Kind::VendorRevoke,
            // Never coalesced: a later revocation of a reconnected grant carries
            // other tokens.
            lock_key: format!("revoke/{}/{}", connection.id, uuid::Uuid::new_v4().simple()),
            // Not tied to the connection row: erasure deletes it, and the job must
            // outlive it.
            connection_id: None,
            data_type: None,
            payload,
            run_at: chrono::Utc::now().naive_utc(),
            max_attempts: MAX_ATTEMPTS,
        },
    )?;
    Ok(true)
}

/// Open a `vendor_revoke` job's payload.
pub fn open(
    conn: &mut AnyConnection,
    ring: &KeyRing,
    payload: &serde_json::Value,
) -> Result<Pending, StoreError> {
    let p: Payload = serde_json::from_value(payload.clone())
        .map_err(|_| StoreError::Corrupt("vendor revoke payload".into()))?;
    let mut open = |kind: &str, b64: &str| -> Result<SecretString, StoreError> {
        let corrupt = || StoreError::Corrupt(format!("vendor revoke {kind} token"));
        let sealed = STANDARD.decode(b64).map_err(|_| corrupt())?;
        let row = format!("{}/{kind}", p.connection);
        let plain = ring.open_hub_secret(conn, TABLE, &row, &sealed)?;
        let text = std::str::from_utf8(&plain).map_err(|_| corrupt())?;
        Ok(SecretString::from(text.to_owned()))
    };
    let access = open("access", &p.access)?;
    let refresh = p
        .refresh
        .as_deref()
        .map(|r| open("refresh", r))
        .transpose()?;
    let account = p
        .account
        .as_deref()
        .map(|a| open("account", a))
        .transpose()?;
    Ok(Pending {
        portal: crate::domain::PortalId::parse(&p.portal)
            .ok_or_else(|| StoreError::Corrupt("vendor revoke portal".into()))?,
        connection: p.connection,
        vendor: p.vendor,
        vendor_app_id: p.vendor_app_id,
        access,
        refresh,
        account,
        account_hash: p
            .account_hash
            .as_deref()
            .and_then(|h| STANDARD.decode(h).ok()),
    })
}
