//! Portal API keys: high-entropy bearer tokens, stored only as SHA-256 hashes.
//!
//! A key reads `trb_` followed by 43 base64url characters (32 random bytes). The
//! prefix makes it recognisable to secret scanners and people; its first 12
//! characters are kept in clear so listings can tell keys apart. A slow password hash
//! is not needed: with 256 bits of entropy, SHA-256 cannot be reversed by guessing.

use super::StoreError;
use crate::db::schema::api_keys;
use crate::db::AnyConnection;
use crate::domain::PortalId;
use aes_gcm::aead::OsRng;
use base64::Engine;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::fmt;

pub const KEY_PREFIX: &str = "trb_";
const SHOWN_CHARS: usize = 12;
/// `last_used_at` is written at most this often per key, not on every request.
const LAST_USED_RESOLUTION_SECS: i64 = 60;

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Scope {
    /// Create, read and erase members; create connect sessions.
    #[serde(rename = "members:write")]
    MembersWrite,
    /// Read health data (FHIR API, exports).
    #[serde(rename = "data:read")]
    DataRead,
    /// Register and remove vendor apps.
    #[serde(rename = "apps:write")]
    AppsWrite,
    /// Manage webhook endpoints.
    #[serde(rename = "webhooks:write")]
    WebhooksWrite,
}

impl Scope {
    pub const ALL: [Scope; 4] = [
        Scope::MembersWrite,
        Scope::DataRead,
        Scope::AppsWrite,
        Scope::WebhooksWrite,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::MembersWrite => "members:write",
            Self::DataRead => "data:read",
            Self::AppsWrite => "apps:write",
            Self::WebhooksWrite => "webhooks:write",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|scope| scope.as_str() == s)
    }

    /// Parse a comma- or space-separated list; the error names the first unknown scope.
    pub fn parse_list(s: &str) -> Result<Vec<Self>, String> {
        let mut out = Vec::new();
        for part in s.split([',', ' ']).filter(|p| !p.is_empty()) {
            let scope = Self::parse(part).ok_or_else(|| {
                let known: Vec<_> = Self::ALL.iter().map(|s| s.as_str()).collect();
                format!("unknown scope `{part}`; scopes are {}", known.join(", "))
            })?;
            if !out.contains(&scope) {
                out.push(scope);
            }
        }
        if out.is_empty() {
            return Err("at least one scope is needed".into());
        }
        Ok(out)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A key as listings show it: never the secret.
#[derive(Debug, Clone, Serialize)]
pub struct ApiKey {
    pub id: String,
    pub portal_id: PortalId,
    pub prefix: String,
    pub scopes: Vec<Scope>,
    #[serde(serialize_with = "crate::domain::utc::serialize")]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "crate::domain::utc::option::serialize")]
    pub last_used_at: Option<NaiveDateTime>,
    #[serde(serialize_with = "crate::domain::utc::option::serialize")]
    pub revoked_at: Option<NaiveDateTime>,
}

impl ApiKey {
    pub fn allows(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }
}

pub(crate) type Row = (
    String,
    String,
    String,
    String,
    NaiveDateTime,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
);

pub(crate) const COLUMNS: (
    api_keys::id,
    api_keys::portal_id,
    api_keys::prefix,
    api_keys::scopes,
    api_keys::created_at,
    api_keys::last_used_at,
    api_keys::revoked_at,
) = (
    api_keys::id,
    api_keys::portal_id,
    api_keys::prefix,
    api_keys::scopes,
    api_keys::created_at,
    api_keys::last_used_at,
    api_keys::revoked_at,
);

pub(crate) fn from_row(row: Row) -> Result<ApiKey, StoreError> {
    let (id, portal_id, prefix, scopes, created_at, last_used_at, revoked_at) = row;
    Ok(ApiKey {
        portal_id: PortalId::parse(&portal_id)
            .ok_or_else(|| StoreError::Corrupt(format!("api key {id} portal_id")))?,
        scopes: Scope::parse_list(&scopes)
            .map_err(|e| StoreError::Corrupt(format!("api key {id} scopes: {e}")))?,
        id,
        prefix,
        created_at,
        last_used_at,
        revoked_at,
    })
}

fn hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Create a key for `portal`. The secret is returned once and never stored.
pub fn create(
    conn: &mut AnyConnection,
    portal: &PortalId,
    scopes: &[Scope],
) -> Result<(ApiKey, SecretString), StoreError> {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    let secret = format!(
        "{KEY_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    );
    let key = ApiKey {
        id: uuid::Uuid::new_v4().to_string(),
        portal_id: portal.clone(),
        prefix: secret[..SHOWN_CHARS].to_owned(),
        scopes: scopes.to_vec(),
        created_at: chrono::Utc::now().naive_utc(),
        last_used_at: None,
        revoked_at: None,
    };
    let scope_text: Vec<_> = scopes.iter().map(|s| s.as_str()).collect();
    diesel::insert_into(api_keys::table)
        .values((
            api_keys::id.eq(&key.id),
            api_keys::portal_id.eq(portal.as_str()),
            api_keys::prefix.eq(&key.prefix),
            api_keys::secret_hash.eq(hash(&secret)),
            api_keys::scopes.eq(scope_text.join(" ")),
            api_keys::created_at.eq(key.created_at),
        ))
        .execute(conn)?;
    Ok((key, SecretString::from(secret)))
}

/// The live key matching `presented`, if any; records its use.
pub fn authenticate(
    conn: &mut AnyConnection,
    presented: &SecretString,
) -> Result<Option<ApiKey>, StoreError> {
    let Some(hash) = lookup_hash(presented) else {
        return Ok(None);
    };
    let row: Option<Row> = api_keys::table
        .filter(api_keys::secret_hash.eq(hash))
        .filter(api_keys::revoked_at.is_null())
        .select(COLUMNS)
        .first(conn)
        .optional()?;
    let Some(key) = row.map(from_row).transpose()? else {
        return Ok(None);
    };
    touch(conn, &key)?;
    Ok(Some(key))
}

/// The stored hash a presented secret is found by; `None` for text that cannot be a
/// key (so it is not looked up at all).
pub(crate) fn lookup_hash(presented: &SecretString) -> Option<Vec<u8>> {
    let presented = presented.expose_secret();
    (presented.starts_with(KEY_PREFIX) && presented.len() <= 128).then(|| hash(presented))
}

/// Record that `key` was just used, unless its stored time is recent enough: most
/// requests read only, and an UPDATE, even of no row, takes SQLite's write lock.
///
/// When the stored time goes stale, every request in flight with that key sees it
/// at once; only the first of this process writes, through
/// [`AnyConnection::write_transaction`] (before, each of them sent its own UPDATE
/// outside the writers' queue). On SQLite every commit makes each pooled connection
/// drop its memory map at its next read; the map is kept small so that costs
/// readers little (`db::pool::SQLITE_MMAP_BYTES`).
pub(crate) fn touch(conn: &mut AnyConnection, key: &ApiKey) -> Result<(), StoreError> {
    let now = chrono::Utc::now().naive_utc();
    let stale = now - chrono::Duration::seconds(LAST_USED_RESOLUTION_SECS);
    if key.last_used_at.is_some_and(|t| t >= stale) || !first_to_touch(&key.id) {
        return Ok(());
    }
    conn.write_transaction(|conn| {
        diesel::update(api_keys::table.find(&key.id))
            .filter(
                api_keys::last_used_at
                    .is_null()
                    .or(api_keys::last_used_at.lt(stale)),
            )
            .set(api_keys::last_used_at.eq(now))
            .execute(conn)
    })?;
    Ok(())
}

/// Whether this request is the first of the process to touch key `id` in the last
/// `LAST_USED_RESOLUTION_SECS`; records it if so.
fn first_to_touch(id: &str) -> bool {
    use std::collections::HashMap;
    use std::sync::LazyLock;
    use std::time::{Duration, Instant};
    static TOUCHED: LazyLock<parking_lot::Mutex<HashMap<String, Instant>>> =
        LazyLock::new(Default::default);
    let window = Duration::from_secs(LAST_USED_RESOLUTION_SECS.unsigned_abs());
    let mut touched = TOUCHED.lock();
    if touched.get(id).is_some_and(|at| at.elapsed() < window) {
        return false;
    }
    if touched.len() >= 4096 {
        touched.retain(|_, at| at.elapsed() < window);
    }
    touched.insert(id.to_owned(), Instant::now());
    true
}

/// Every key of `portal`, newest first.
pub fn list(conn: &mut AnyConnection, portal: &PortalId) -> Result<Vec<ApiKey>, StoreError> {
    let rows: Vec<Row> = api_keys::table
        .filter(api_keys::portal_id.eq(portal.as_str()))
        .order(api_keys::created_at.desc())
        .select(COLUMNS)
        .load(conn)?;
    rows.into_iter().map(from_row).collect()
}

/// Revoke a key of `portal`; it stops working at once. Revoking twice is harmless.
pub fn revoke(conn: &mut AnyConnection, portal: &PortalId, key_id: &str) -> Result<(), StoreError> {
    let exists: i64 = api_keys::table
        .filter(api_keys::id.eq(key_id))
        .filter(api_keys::portal_id.eq(portal.as_str()))
        .count()
        .get_result(conn)?;
    if exists == 0 {
        return Err(StoreError::NotFound);
    }
    diesel::update(api_keys::table.find(key_id))
        .filter(api_keys::revoked_at.is_null())
        .set(api_keys::revoked_at.eq(chrono::Utc::now().naive_utc()))
        .execute(conn)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_request_per_key_and_window_writes_the_last_use() {
        let (a, b) = (
            uuid::Uuid::new_v4().to_string(),
            uuid::Uuid::new_v4().to_string(),
        );
        assert!(first_to_touch(&a));
        assert!(!first_to_touch(&a), "a second request in the window");
        assert!(first_to_touch(&b), "another key");
    }
}
