//! Connect sessions: the one-time link a portal sends a member to, the page session
//! it turns into, and the OAuth authorizations started from that page.
//!
//! Policy: the link's token, the page cookie and the OAuth `state` are random
//! 256-bit values the hub hands out once; only their SHA-256 is stored, so a copy of
//! the database opens no page. A link works once and expires; a `state` works once,
//! expires, and belongs to the page session that started it. The PKCE verifier and
//! the portal's return URL are sealed with the member's data key.

use super::StoreError;
use crate::crypto::{open, seal, Aad};
use crate::db::schema::{connect_sessions, oauth_states};
use crate::db::AnyConnection;
use crate::domain::{MemberId, PortalId};
use crate::keys::{member_key, KeyRing};
use base64::Engine;
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A random 256-bit value, base64url without padding (43 characters).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn digest(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// What the portal chose to offer on the page; `None` offers everything available.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    pub vendors: Option<Vec<String>>,
    pub data_types: Option<Vec<String>>,
}

impl Offer {
    pub fn offers_vendor(&self, vendor: &str) -> bool {
        self.vendors
            .as_ref()
            .is_none_or(|v| v.iter().any(|x| x == vendor))
    }

    pub fn offers_data_type(&self, data_type: &str) -> bool {
        self.data_types
            .as_ref()
            .is_none_or(|d| d.iter().any(|x| x == data_type))
    }
}

/// A page session, found by its cookie.
#[derive(Debug, Clone)]
pub struct PageSession {
    pub id: String,
    pub portal_id: PortalId,
    pub member_id: MemberId,
    pub offer: Offer,
    pub return_url: Option<String>,
}

/// Why a link does not open the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkRefused {
    Unknown,
    Expired,
    Used,
}

const TABLE: &str = "connect_sessions";

/// Create a link for `member`; returns the token (shown once) and when it expires.
pub fn create(
    conn: &mut AnyConnection,
    ring: &KeyRing,
    portal: &PortalId,
    member: &MemberId,
    offer: &Offer,
    return_url: Option<&str>,
    ttl: Duration,
) -> Result<(String, NaiveDateTime), StoreError> {
    let id = uuid::Uuid::new_v4().to_string();
    let token = random_token();
    let now = chrono::Utc::now().naive_utc();
    let expires_at = now + ttl;
    let return_url_sealed = match return_url {
        Some(url) => {
            let key = member_key(conn, ring, member.as_str())?;
            let aad = Aad::new(TABLE, &id, Some(member.as_str()));
            Some(seal(&key, &aad, url.as_bytes()))
        }
        None => None,
    };
    let offer = serde_json::to_string(offer).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    diesel::insert_into(connect_sessions::table)
        .values((
            connect_sessions::id.eq(&id),
            connect_sessions::portal_id.eq(portal.as_str()),
            connect_sessions::member_id.eq(member.as_str()),
            connect_sessions::token_hash.eq(digest(&token)),
            connect_sessions::offer.eq(offer),
            connect_sessions::return_url_sealed.eq(return_url_sealed),
            connect_sessions::created_at.eq(now),
            connect_sessions::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok((token, expires_at))
}

/// Use a link once: it becomes a page session whose cookie value is returned.
pub fn redeem(
    conn: &mut AnyConnection,
    token: &str,
    page_ttl: Duration,
) -> Result<Result<String, LinkRefused>, StoreError> {
    let now = chrono::Utc::now().naive_utc();
    conn.write_transaction(|conn| {
        let row: Option<(String, NaiveDateTime, Option<NaiveDateTime>)> = connect_sessions::table
            .filter(connect_sessions::token_hash.eq(digest(token)))
            .select((
                connect_sessions::id,
                connect_sessions::expires_at,
                connect_sessions::used_at,
            ))
            .first(conn)
            .optional()?;
        let Some((id, expires_at, used_at)) = row else {
            return Ok(Err(LinkRefused::Unknown));
        };
        if used_at.is_some() {
            return Ok(Err(LinkRefused::Used));
        }
        if expires_at <= now {
            return Ok(Err(LinkRefused::Expired));
        }
        let cookie = random_token();
        let n = diesel::update(
            connect_sessions::table
                .find(&id)
                .filter(connect_sessions::used_at.is_null()),
        )
        .set((
            connect_sessions::used_at.eq(now),
            connect_sessions::browser_hash.eq(digest(&cookie)),
            connect_sessions::browser_expires_at.eq(now + page_ttl),
        ))
        .execute(conn)?;
        Ok(if n == 1 {
            Ok(cookie)
        } else {
            Err(LinkRefused::Used)
        })
    })
}

/// A page session row: id, portal, member, offer (JSON), sealed return URL.
type SessionRow = (String, String, String, String, Option<Vec<u8>>);

/// The live page session behind a cookie.
pub fn by_cookie(
    conn: &mut AnyConnection,
    ring: &KeyRing,
    cookie: &str,
) -> Result<Option<PageSession>, StoreError> {
    let now = chrono::Utc::now().naive_utc();
    let row: Option<SessionRow> = connect_sessions::table
        .filter(connect_sessions::browser_hash.eq(digest(cookie)))
        .filter(connect_sessions::browser_expires_at.gt(now))
        .select((
            connect_sessions::id,
            connect_sessions::portal_id,
            connect_sessions::member_id,
            connect_sessions::offer,
            connect_sessions::return_url_sealed,
        ))
        .first(conn)
        .optional()?;
    let Some((id, portal, member, offer, sealed)) = row else {
        return Ok(None);
    };
    let corrupt = |what: &str| StoreError::Corrupt(format!("connect session {id} {what}"));
    let member_id = MemberId::parse(&member).ok_or_else(|| corrupt("member"))?;
    let return_url = match sealed {
        Some(sealed) => {
            let key = member_key(conn, ring, member_id.as_str())?;
            let aad = Aad::new(TABLE, &id, Some(member_id.as_str()));
            let plain = open(&key, &aad, &sealed).map_err(|_| corrupt("return url"))?;
            Some(String::from_utf8(plain.to_vec()).map_err(|_| corrupt("return url"))?)
        }
        None => None,
    };
    Ok(Some(PageSession {
        portal_id: PortalId::parse(&portal).ok_or_else(|| corrupt("portal"))?,
        member_id,
        offer: serde_json::from_str(&offer).map_err(|_| corrupt("offer"))?,
        return_url,
        id,
    }))
}

/// An OAuth authorization started from a page session.
#[derive(Debug, Clone)]
pub struct PendingAuthorization {
    pub session_id: String,
    pub member_id: MemberId,
    pub vendor: String,
    pub data_types: Vec<String>,
    pub verifier: secrecy::SecretString,
}

/// Why a `state` is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateRefused {
    /// Never issued, or already used.
    Unknown,
    Expired,
}

const STATES: &str = "oauth_states";

/// Record an authorization in flight under `state` (from [`random_token`]), the
/// value sent to the vendor and expected back once.
pub fn start_authorization(
    conn: &mut AnyConnection,
    ring: &KeyRing,
    state: &str,
    pending: &PendingAuthorization,
    ttl: Duration,
) -> Result<(), StoreError> {
    use secrecy::ExposeSecret;
    let hash = digest(state);
    let key = member_key(conn, ring, pending.member_id.as_str())?;
    let row = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&hash);
    let aad = Aad::new(STATES, &row, Some(pending.member_id.as_str()));
    let now = chrono::Utc::now().naive_utc();
    diesel::insert_into(oauth_states::table)
        .values((
            oauth_states::state_hash.eq(hash),
            oauth_states::session_id.eq(&pending.session_id),
            oauth_states::member_id.eq(pending.member_id.as_str()),
            oauth_states::vendor.eq(&pending.vendor),
            oauth_states::data_types.eq(json_list(&pending.data_types)),
            oauth_states::verifier_sealed.eq(seal(
                &key,
                &aad,
                pending.verifier.expose_secret().as_bytes(),
            )),
            oauth_states::created_at.eq(now),
            oauth_states::expires_at.eq(now + ttl),
        ))
        .execute(conn)?;
    Ok(())
}

/// Take (and delete) the authorization a `state` belongs to: it works once.
pub fn take_authorization(
    conn: &mut AnyConnection,
    ring: &KeyRing,
    state: &str,
) -> Result<Result<PendingAuthorization, StateRefused>, StoreError> {
    let hash = digest(state);
    let now = chrono::Utc::now().naive_utc();
    conn.write_transaction(|conn| {
        type Row = (String, String, String, String, Vec<u8>, NaiveDateTime);
        let row: Option<Row> = oauth_states::table
            .find(&hash)
            .select((
                oauth_states::session_id,
                oauth_states::member_id,
                oauth_states::vendor,
                oauth_states::data_types,
                oauth_states::verifier_sealed,
                oauth_states::expires_at,
            ))
            .first(conn)
            .optional()?;
        let Some((session_id, member, vendor, types, sealed, expires_at)) = row else {
            return Ok(Err(StateRefused::Unknown));
        };
        if diesel::delete(oauth_states::table.find(&hash)).execute(conn)? != 1 {
            return Ok(Err(StateRefused::Unknown));
        }
        if expires_at <= now {
            return Ok(Err(StateRefused::Expired));
        }
        let corrupt = || StoreError::Corrupt("oauth state".into());
        let member_id = MemberId::parse(&member).ok_or_else(corrupt)?;
        let key = member_key(conn, ring, member_id.as_str())?;
        let row = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&hash);
        let aad = Aad::new(STATES, &row, Some(member_id.as_str()));
        let verifier = open(&key, &aad, &sealed).map_err(|_| corrupt())?;
        let verifier = String::from_utf8(verifier.to_vec()).map_err(|_| corrupt())?;
        Ok(Ok(PendingAuthorization {
            session_id,
            member_id,
            vendor,
            data_types: parse_list(&types)?,
            verifier: secrecy::SecretString::from(verifier),
        }))
    })
}

/// A list of ids stored as a JSON array.
pub fn json_list(items: &[String]) -> String {
    serde_json::Value::from(items.to_vec()).to_string()
}

pub fn parse_list(text: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(text).map_err(|_| StoreError::Corrupt("stored list".into()))
}
