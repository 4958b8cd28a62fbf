//! Observations: FHIR R4 Observation resources, sealed at rest, indexed for search.
//!
//! Policy:
//! - The resource is sealed with the member's data key, bound to this table, the
//!   observation id and the member ([`Aad`]); a row copied elsewhere does not open.
//!   What searches need is kept beside it in clear: member, portal, codes (a side
//!   table), categories, effective start and end as UTC instants (Unix µs; the
//!   source's offset stays in the sealed resource), vendor, data type, version,
//!   status, last update. The identifier and the content are kept only as HMACs under
//!   the ring's index key, so equal values can be found without being readable.
//! - Writes go through [`upsert_batch`]: one transaction per batch, keyed by the
//!   observation identifier. The same content again changes nothing; new content
//!   keeps the id, increments `version_id` and sets status `amended`.
//! - Consent: a batch may only hold data types granted to the member's active
//!   connection for that vendor; the rest is refused (counted, never stored). Reads
//!   through a [`MemberAccess`] return only data types still granted (connections not
//!   revoked), even if narrowing a grant has not yet deleted older data.
//! - Output: the store sets `id`, `meta.versionId`, `meta.lastUpdated` and `status`
//!   on the resource it returns; nothing else is changed.
//! - Reads unwrap the member's data key once ([`access`]) and reuse it for every row.

mod listing;
mod search;
mod served;
mod upsert;

pub use listing::{page_with_grants, Listed};
pub use search::{search, Cursor, DateBound, Page, Prefix, Search, Sort, Token};
pub use served::Served;
pub use upsert::{upsert_batch, NewObservation, UpsertReport};

use super::api_keys::{self, ApiKey};
use super::StoreError;
use crate::crypto::{keyed_hash, open, Aad, SecretKey};
use crate::db::schema::{self, connections, member_keys, members, observations};
use crate::db::AnyConnection;
use crate::domain::{MemberId, PortalId};
use crate::keys::{unwrap_member_key, KeyRing};
use chrono::{DateTime, SecondsFormat, Utc};
use diesel::prelude::*;

const TABLE: &str = "observations";

/// Status of a stored observation as served.
pub const FINAL: &str = "final";
pub const AMENDED: &str = "amended";

fn aad<'a>(id: &'a str, member: &'a str) -> Aad<'a> {
    Aad::new(TABLE, id, Some(member))
}

/// Unix microseconds of an instant.
pub fn to_micros<Tz: chrono::TimeZone>(t: &DateTime<Tz>) -> i64 {
    t.timestamp_micros()
}

/// The FHIR `instant` of Unix microseconds, in UTC.
pub fn instant(micros: i64) -> String {
    DateTime::<Utc>::from_timestamp_micros(micros)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn identifier_hash(ring: &KeyRing, member: &str, identifier: &str) -> Vec<u8> {
    keyed_hash(
        ring.index_key(),
        &[
            b"observation.identifier",
            member.as_bytes(),
            identifier.as_bytes(),
        ],
    )
    .to_vec()
}

fn content_hash(ring: &KeyRing, member: &str, resource: &[u8]) -> Vec<u8> {
    keyed_hash(
        ring.index_key(),
        &[b"observation.content", member.as_bytes(), resource],
    )
    .to_vec()
}

/// `vendor/data_type` pairs a member granted, as the grant filter compares them.
fn grant_key(vendor: &str, data_type: &str) -> String {
    format!("{vendor}/{data_type}")
}

/// What a reader of one member's observations holds: the unwrapped data key, the
/// grants in force and the longest effective period stored (for date bounds).
pub struct MemberAccess {
    pub member: MemberId,
    pub portal: PortalId,
    key: SecretKey,
    grants: Vec<String>,
    max_span: i64,
}

impl std::fmt::Debug for MemberAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemberAccess")
            .field("member", &self.member)
            .field("portal", &self.portal)
            .finish_non_exhaustive()
    }
}

/// Open `member` of `portal` for reading. [`StoreError::NotFound`] when the member
/// does not exist or belongs to another portal.
pub fn access(
    conn: &mut AnyConnection,
    ring: &KeyRing,
    portal: &PortalId,
    member: &MemberId,
) -> Result<MemberAccess, StoreError> {
    // One round trip for the member, its portal, its wrapped key and its
    // connections (one row per connection; one row with no connection at all).
    let rows: Vec<AccessRow> = members::table
        .inner_join(member_keys::table)
        .left_join(connections::table)
        .filter(members::id.eq(member.as_str()))
        .filter(members::portal_id.eq(portal.as_str()))
        .select((
            members::observation_max_span.nullable(),
            member_keys::kek_version.nullable(),
            member_keys::wrapped.nullable(),
            CONNECTION.nullable(),
        ))
        .load(conn)?;
    open_access(conn, ring, portal, member, rows)?.ok_or(StoreError::NotFound)
}

/// [`api_keys::authenticate`](super::api_keys::authenticate) and [`access`] in one
/// round trip, for the API's hottest path (search): the live key matching
/// `presented` (`None`: no such key), and `member` opened if it belongs to the key's
/// portal (`None` otherwise). The key's use is recorded as `authenticate` does.
pub fn authenticate_and_access(
    conn: &mut AnyConnection,
    ring: &KeyRing,
    presented: &secrecy::SecretString,
    member: &MemberId,
) -> Result<Option<(ApiKey, Option<MemberAccess>)>, StoreError> {
    let Some(hash) = api_keys::lookup_hash(presented) else {
        return Ok(None);
    };
    let rows: Vec<(api_keys::Row, AccessRow)> = schema::api_keys::table
        .left_join(
            members::table.on(members::portal_id
                .eq(schema::api_keys::portal_id)
                .and(members::id.eq(member.as_str().to_owned()))),
        )
        .left_join(member_keys::table.on(member_keys::member_id.eq(members::id)))
        .left_join(connections::table.on(connections::member_id.eq(members::id)))
        .filter(schema::api_keys::secret_hash.eq(hash))
        .filter(schema::api_keys::revoked_at.is_null())
        .select((
            api_keys::COLUMNS,
            (
                members::observation_max_span.nullable(),
                member_keys::kek_version.nullable(),
                member_keys::wrapped.nullable(),
                CONNECTION.nullable(),
            ),
        ))
        .load(conn)?;
    let Some((key_row, _)) = rows.first() else {
        return Ok(None);
    };
    let key = api_keys::from_row(key_row.clone())?;
    api_keys::touch(conn, &key)?;
    let portal = key.portal_id.clone();
    let access = open_access(conn, ring, &portal, member, rows.into_iter().map(|r| r.1))?;
    Ok(Some((key, access)))
}

/// A member's row joined to its key and connections, each part absent when the
/// member (or its key) is not there.
type AccessRow = (
    Option<i64>,
    Option<i32>,
    Option<Vec<u8>>,
    Option<(String, String, String)>,
);

const CONNECTION: (
    connections::vendor,
    connections::status,
    connections::data_types,
) = (
    connections::vendor,
    connections::status,
    connections::data_types,
);

/// Unwrap the data key and collect the grants of a member's access rows; `None`
/// when the rows hold no member with a key.
fn open_access(
    conn: &mut AnyConnection,
    ring: &KeyRing,
    portal: &PortalId,
    member: &MemberId,
    rows: impl IntoIterator<Item = AccessRow>,
) -> Result<Option<MemberAccess>, StoreError> {
    let mut rows = rows.into_iter().peekable();
    let (max_span, kek_version, wrapped) = match rows.peek() {
        Some((Some(span), Some(version), Some(wrapped), _)) => (*span, *version, wrapped.clone()),
        _ => return Ok(None),
    };
    let key = unwrap_member_key(conn, ring, member.as_str(), kek_version, &wrapped)?;
    let grants = live_grants(rows.filter_map(|r| r.3), false)?;
    Ok(Some(MemberAccess {
        member: member.clone(),
        portal: portal.clone(),
        key,
        grants,
        max_span,
    }))
}

/// The member's `vendor/data_type` grants: of active connections only when
/// `active_only` (writes), of every connection not revoked otherwise (reads).
fn grants(
    conn: &mut AnyConnection,
    member: &MemberId,
    active_only: bool,
) -> Result<Vec<String>, StoreError> {
    let rows: Vec<(String, String, String)> = connections::table
        .filter(connections::member_id.eq(member.as_str()))
        .select(CONNECTION)
        .load(conn)?;
    live_grants(rows.into_iter(), active_only)
}

/// The grants of connection rows (vendor, status, data types).
fn live_grants(
    rows: impl Iterator<Item = (String, String, String)>,
    active_only: bool,
) -> Result<Vec<String>, StoreError> {
    let mut out = Vec::new();
    for (vendor, status, types) in rows {
        let live = if active_only {
            status == "active"
        } else {
            status != "revoked"
        };
        if live {
            for t in super::connect_sessions::parse_list(&types)? {
                out.push(grant_key(&vendor, &t));
            }
        }
    }
    Ok(out)
}

/// A stored row as reads load it.
type Row = (String, i64, String, i64, Vec<u8>);

const ROW: (
    observations::id,
    observations::version_id,
    observations::status,
    observations::last_updated,
    observations::resource_sealed,
) = (
    observations::id,
    observations::version_id,
    observations::status,
    observations::last_updated,
    observations::resource_sealed,
);

impl MemberAccess {
    /// Open a stored row and set `id`, `meta.versionId`, `meta.lastUpdated`, `status`.
    fn render(&self, row: Row) -> Result<Served, StoreError> {
        let (id, version, status, updated, sealed) = row;
        let corrupt = || StoreError::Corrupt(format!("observation {id}"));
        let plain =
            open(&self.key, &aad(&id, self.member.as_str()), &sealed).map_err(|_| corrupt())?;
        let text = std::str::from_utf8(&plain).map_err(|_| corrupt())?;
        let stamp = served::Stamp {
            id: &id,
            status: &status,
            version,
            last_updated: &instant(updated),
        };
        let json = served::serve(text, &stamp).ok_or_else(corrupt)?;
        Ok(Served { id, json })
    }
}

/// One observation of `portal` by id, as served. [`StoreError::NotFound`] for
/// another portal's observation, a missing one, or a data type no longer granted.
pub fn get(
    conn: &mut AnyConnection,
    ring: &KeyRing,
    portal: &PortalId,
    id: &str,
) -> Result<Served, StoreError> {
    let found: Option<(String, String, String)> = observations::table
        .find(id)
        .filter(observations::portal_id.eq(portal.as_str()))
        .select((
            observations::member_id,
            observations::vendor,
            observations::data_type,
        ))
        .first(conn)
        .optional()?;
    let (member, vendor, data_type) = found.ok_or(StoreError::NotFound)?;
    let member =
        MemberId::parse(&member).ok_or_else(|| StoreError::Corrupt("observation member".into()))?;
    let access = access(conn, ring, portal, &member)?;
    if !access.grants.contains(&grant_key(&vendor, &data_type)) {
        return Err(StoreError::NotFound);
    }
    let row: Row = observations::table
        .find(id)
        .select(ROW)
        .first(conn)
        .optional()?
        .ok_or(StoreError::NotFound)?;
    access.render(row)
}

/// The members of `portal` in id order after `after`, `limit` at a time (exports).
pub fn members_page(
    conn: &mut AnyConnection,
    portal: &PortalId,
    after: Option<&MemberId>,
    limit: i64,
) -> Result<Vec<MemberId>, StoreError> {
    let ids: Vec<String> = members::table
        .filter(members::portal_id.eq(portal.as_str()))
        .filter(members::id.gt(after.map(MemberId::as_str).unwrap_or("")))
        .order(members::id)
        .limit(limit)
        .select(members::id)
        .load(conn)?;
    ids.iter()
        .map(|id| MemberId::parse(id).ok_or_else(|| StoreError::Corrupt("member id".into())))
        .collect()
}

/// An observation as the FHIR pusher reads it: served text, or `None` when its data
/// type is no longer granted (it is passed over, not pushed).
#[derive(Debug)]
pub struct Changed {
    pub id: String,
    pub member: MemberId,
    pub version: i64,
    pub last_updated: i64,
    pub served: Option<Served>,
}

/// Up to `limit` observations of `portal` after `after` in `(last_updated, id)`
/// order, updated no later than `until` (Unix µs), opened. Each member's data key
/// is unwrapped once per call.
pub fn changed_after(
    conn: &mut AnyConnection,
    ring: &KeyRing,
    portal: &PortalId,
    after: (i64, &str),
    until: i64,
    limit: i64,
) -> Result<Vec<Changed>, StoreError> {
    type R = (String, String, String, String, i64, String, i64, Vec<u8>);
    let rows: Vec<R> = observations::table
        .filter(observations::portal_id.eq(portal.as_str()))
        .filter(
            observations::last_updated
                .gt(after.0)
                .or(observations::last_updated
                    .eq(after.0)
                    .and(observations::id.gt(after.1.to_owned()))),
        )
        .filter(observations::last_updated.le(until))
        .order((observations::last_updated, observations::id))
        .limit(limit)
        .select((
            observations::id,
            observations::member_id,
            observations::vendor,
            observations::data_type,
            observations::version_id,
            observations::status,
            observations::last_updated,
            observations::resource_sealed,
        ))
        .load(conn)?;
    let mut opened: std::collections::HashMap<String, MemberAccess> = Default::default();
    let mut out = Vec::with_capacity(rows.len());
    for (id, member, vendor, data_type, version, status, updated, sealed) in rows {
        let member_id =
            MemberId::parse(&member).ok_or_else(|| StoreError::Corrupt("member id".into()))?;
        if !opened.contains_key(&member) {
            let a = access(conn, ring, portal, &member_id)?;
            opened.insert(member.clone(), a);
        }
        let access = opened
            .get(&member)
            .ok_or_else(|| StoreError::Corrupt("member access".into()))?;
        let served = if access.grants.contains(&grant_key(&vendor, &data_type)) {
            Some(access.render((id.clone(), version, status, updated, sealed))?)
        } else {
            None
        };
        out.push(Changed {
            id,
            member: member_id,
            version,
            last_updated: updated,
            served,
        });
    }
    Ok(out)
}
