//! Connections: a member's link to one vendor account, its sealed tokens, and the
//! history of the member's grant.
//!
//! Policy: tokens are sealed with the member's data key, bound to their connection.
//! Every change of what a member shares is written with a consent event in the same
//! transaction. Token refreshes are serialised per connection by a lease in the
//! database, so instances sharing one database never refresh the same connection at
//! once; `generation` tells the ones that waited that new tokens are there.

use super::connect_sessions::{json_list, parse_list};
use super::events::{self, EventKind, NewEvent};
use super::purge::{self, Counts};
use super::StoreError;
use crate::crypto::{open, seal, Aad};
use crate::db::schema::{connection_tokens, connections, consent_events};
use crate::db::AnyConnection;
use crate::domain::{MemberId, PortalId};
use crate::keys::{member_key, KeyRing};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use secrecy::{ExposeSecret, SecretString};

/// `active`, `reauth_required` or `revoked`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Active,
    ReauthRequired,
    Revoked,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::ReauthRequired => "reauth_required",
            Self::Revoked => "revoked",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "reauth_required" => Some(Self::ReauthRequired),
            "revoked" => Some(Self::Revoked),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Connection {
    pub id: String,
    pub portal_id: PortalId,
    pub member_id: MemberId,
    pub vendor: String,
    pub status: Status,
    /// Granted and enabled data types.
    pub data_types: Vec<String>,
    /// Scopes the vendor granted.
    pub scopes: Vec<String>,
    /// Data types asked for that the granted scopes do not cover.
    pub not_granted: Vec<String>,
    pub vendor_app_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub last_sync_at: Option<NaiveDateTime>,
}

type Row = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    NaiveDateTime,
    NaiveDateTime,
    Option<NaiveDateTime>,
);

const COLUMNS: (
    connections::id,
    connections::portal_id,
    connections::member_id,
    connections::vendor,
    connections::status,
    connections::data_types,
    connections::scopes,
    connections::not_granted,
    connections::vendor_app_id,
    connections::created_at,
    connections::updated_at,
    connections::last_sync_at,
) = (
    connections::id,
    connections::portal_id,
    connections::member_id,
    connections::vendor,
    connections::status,
    connections::data_types,
    connections::scopes,
    connections::not_granted,
    connections::vendor_app_id,
    connections::created_at,
    connections::updated_at,
    connections::last_sync_at,
);

fn from_row(r: Row) -> Result<Connection, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("connection {} {what}", r.0));
    Ok(Connection {
        portal_id: PortalId::parse(&r.1).ok_or_else(|| corrupt("portal"))?,
        member_id: MemberId::parse(&r.2).ok_or_else(|| corrupt("member"))?,
        vendor: r.3,
        status: Status::parse(&r.4).ok_or_else(|| corrupt("status"))?,
        data_types: parse_list(&r.5)?,
        scopes: parse_list(&r.6)?,
        not_granted: parse_list(&r.7)?,
        vendor_app_id: r.8,
        created_at: r.9,
        updated_at: r.10,
        last_sync_at: r.11,
        id: r.0,
    })
}

pub fn list_for_member(
    conn: &mut AnyConnection,
    member: &MemberId,
) -> Result<Vec<Connection>, StoreError> {
    let rows: Vec<Row> = connections::table
        .filter(connections::member_id.eq(member.as_str()))
        .order(connections::vendor)
        .select(COLUMNS)
        .load(conn)?;
    rows.into_iter().map(from_row).collect()
}

pub fn find(
    conn: &mut AnyConnection,
    member: &MemberId,
    vendor: &str,
) -> Result<Option<Connection>, StoreError> {
    let row: Option<Row> = connections::table
        .filter(connections::member_id.eq(member.as_str()))
        .filter(connections::vendor.eq(vendor))
        .select(COLUMNS)
        .first(conn)
        .optional()?;
    row.map(from_row).transpose()
}

pub fn get(conn: &mut AnyConnection, id: &str) -> Result<Connection, StoreError> {
    let row: Row = connections::table
        .find(id)
        .select(COLUMNS)
        .first(conn)
        .optional()?
        .ok_or(StoreError::NotFound)?;
    from_row(row)
}

/// The vendor's tokens, as the hub holds them (sealed at rest).
pub struct Tokens {
    pub access: SecretString,
    pub refresh: Option<SecretString>,
    pub access_expires_at: Option<NaiveDateTime>,
}

/// What the member granted at the vendor.
pub struct Grant<'a> {
    pub vendor: &'a str,
    pub data_types: &'a [String],
    pub scopes: &'a [String],
    pub not_granted: &'a [String],
    pub vendor_app_id: Option<&'a str>,
    /// The vendor's id of the member's account, where its token response gave one
    /// (kept as a keyed hash, to find the connection a notification names).
    pub vendor_user: Option<&'a str>,
    /// Whether the id itself is also kept, sealed with the member's key: only for
    /// vendors whose revocation names the account (Withings).
    pub keep_vendor_user: bool,
}

/// The lookup hash of a vendor's account id.
fn vendor_user_hash(ring: &KeyRing, vendor: &str, vendor_user: &str) -> Vec<u8> {
    crate::crypto::keyed_hash(
        ring.index_key(),
        &[b"vendor_user", vendor.as_bytes(), vendor_user.as_bytes()],
    )
    .to_vec()
}

/// Record the vendor's id of the connection's account (for vendors that name it
/// only when asked, after the token exchange): kept as a keyed hash only.
pub fn set_vendor_user(
    conn: &mut AnyConnection,
    ring: &KeyRing,
    connection: &Connection,
    vendor_user: &str,
) -> Result<(), StoreError> {
    diesel::update(connections::table.find(&connection.id))
        .set(connections::vendor_user_hash.eq(vendor_user_hash(
            ring,
            &connection.vendor,
            vendor_user,
        )))
        .execute(conn)?;
    Ok(())
}

/// The keyed hash of the connection's vendor account, where known.
pub fn vendor_user_hash_of(
    conn: &mut AnyConnection,
    connection: &str,
) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(connections::table
        .find(connection)
        .select(connections::vendor_user_hash)
        .first::<Option<Vec<u8>>>(conn)
        .optional()?
        .flatten())
}

/// Whether the vendor account behind a revoked connection holds a live grant of
/// the same app again: the connection itself was reconnected, or another active
/// connection is to the same account (`account_hash`) through the same app.
pub fn account_grant_live(
    conn: &mut AnyConnection,
    connection: &str,
    vendor: &str,
    vendor_app_id: Option<&str>,
    account_hash: Option<&[u8]>,
) -> Result<bool, StoreError> {
    let active = Status::Active.as_str();
    let mut apps: Vec<Option<String>> = connections::table
        .filter(connections::id.eq(connection))
        .filter(connections::status.eq(active))
        .select(connections::vendor_app_id)
        .load(conn)?;
    if let Some(hash) = account_hash {
        apps.extend(
            connections::table
                .filter(connections::vendor.eq(vendor))
                .filter(connections::vendor_user_hash.eq(hash))
                .filter(connections::status.eq(active))
                .select(connections::vendor_app_id)
                .load::<Option<String>>(conn)?,
        );
    }
    Ok(apps.iter().any(|a| a.as_deref() == vendor_app_id))
}

/// Keep the account id a token refresh named, sealed, where the connection has
/// none yet (connections made before the hub kept it; Withings names the account
/// in every token answer). `false` when there was one already or no tokens row.
pub fn keep_vendor_account(
    conn: &mut AnyConnection,
    ring: &KeyRing,
    connection: &Connection,
    vendor_user: &str,
) -> Result<bool, StoreError> {
    let key = member_key(conn, ring, connection.member_id.as_str())?;
    let sealed = seal_vendor_user(&key, &connection.id, &connection.member_id, vendor_user);
    let n = diesel::update(
        connection_tokens::table
            .find(&connection.id)
            .filter(connection_tokens::vendor_user_sealed.is_null()),
    )
    .set(connection_tokens::vendor_user_sealed.eq(Some(sealed)))
    .execute(conn)?;
    Ok(n == 1)
}

/// The vendor's id of the connection's account, for calls that must name it
/// (Withings' revocation); `None` when the connection holds no tokens or the
/// vendor never named the account.
pub fn vendor_account(
    conn: &mut AnyConnection,
    ring: &KeyRing,
    connection: &Connection,
) -> Result<Option<SecretString>, StoreError> {
    let sealed: Option<Option<Vec<u8>>> = connection_tokens::table
        .find(&connection.id)
        .select(connection_tokens::vendor_user_sealed)
        .first(conn)
        .optional()?;
    let Some(sealed) = sealed.flatten() else {
        return Ok(None);
    };
    let key = member_key(conn, ring, connection.member_id.as_str())?;
    open_token(
        &key,
        &connection.id,
        &connection.member_id,
        VENDOR_USER,
        &sealed,
    )
    .map(Some)
}

/// The sealed-row kind of the vendor's account id (beside "access" and "refresh").
const VENDOR_USER: &str = "vendor_user";

fn seal_vendor_user(
    key: &crate::crypto::SecretKey,
    connection: &str,
    member: &MemberId,
    vendor_user: &str,
) -> Vec<u8> {
    seal_token(
        key,
        connection,
        member,
        VENDOR_USER,
        &SecretString::from(vendor_user.to_owned()),
    )
}

/// The connections (of any portal) to `vendor`'s account `vendor_user`.
pub fn by_vendor_user(
    conn: &mut AnyConnection,
    ring: &KeyRing,
    vendor: &str,
    vendor_user: &str,
) -> Result<Vec<Connection>, StoreError> {
    let rows: Vec<Row> = connections::table
        .filter(connections::vendor.eq(vendor))
        .filter(connections::vendor_user_hash.eq(vendor_user_hash(ring, vendor, vendor_user)))
        .select(COLUMNS)
        .load(conn)?;
    rows.into_iter().map(from_row).collect()
}

/// Through which channel a grant changed (recorded with each consent event).
#[derive(Debug, Clone, Copy)]
pub enum Channel {
    ConsentPage,
    Api,
    Vendor,
    Hub,
}

impl Channel {
    fn as_str(self) -> &'static str {
        match self {
            Self::ConsentPage => "consent_page",
            Self::Api => "api",
            Self::Vendor => "vendor",
            Self::Hub => "hub",
        }
    }
}

const TOKENS: &str = "connection_tokens";

fn seal_token(
    key: &crate::crypto::SecretKey,
    connection: &str,
    member: &MemberId,
    kind: &str,
    value: &SecretString,
) -> Vec<u8> {
    let row = format!("{connection}/{kind}");
    seal(
        key,
        &Aad::new(TOKENS, &row, Some(member.as_str())),
        value.expose_secret().as_bytes(),
    )
}

fn open_token(
    key: &crate::crypto::SecretKey,
    connection: &str,
    member: &MemberId,
    kind: &str,
    sealed: &[u8],
) -> Result<SecretString, StoreError> {
    let row = format!("{connection}/{kind}");
    let corrupt = || StoreError::Corrupt(format!("connection {connection} {kind} token"));
    let plain =
        open(key, &Aad::new(TOKENS, &row, Some(member.as_str())), sealed).map_err(|_| corrupt())?;
    let text = std::str::from_utf8(&plain).map_err(|_| corrupt())?;
    Ok(SecretString::from(text.to_owned()))
}

/// Create or renew the member's connection to a vendor with new tokens, and record
/// the grant. Runs in one transaction.
pub fn connect(
    conn: &mut AnyConnection,
    ring: &KeyRing,
    portal: &PortalId,
    member: &MemberId,
    grant: &Grant<'_>,
    tokens: &Tokens,
    channel: Channel,
) -> Result<Connection, StoreError> {
    let now = chrono::Utc::now().naive_utc();
    let user_hash = grant
        .vendor_user
        .map(|u| vendor_user_hash(ring, grant.vendor, u));
    conn.write_transaction(|conn| {
        // Lock an existing row before reading it, so the grant replaced is the one
        // stored now (a concurrent narrowing or sync waits for this transaction).
        diesel::update(
            connections::table
                .filter(connections::member_id.eq(member.as_str()))
                .filter(connections::vendor.eq(grant.vendor)),
        )
        .set(connections::updated_at.eq(now))
        .execute(conn)?;
        let existing = find(conn, member, grant.vendor)?;
        let id = match &existing {
            Some(c) => {
                diesel::update(connections::table.find(&c.id))
                    .set((
                        connections::status.eq(Status::Active.as_str()),
                        connections::data_types.eq(json_list(grant.data_types)),
                        connections::scopes.eq(json_list(grant.scopes)),
                        connections::not_granted.eq(json_list(grant.not_granted)),
                        connections::vendor_app_id.eq(grant.vendor_app_id),
                        connections::updated_at.eq(now),
                    ))
                    .execute(conn)?;
                if let Some(hash) = &user_hash {
                    diesel::update(connections::table.find(&c.id))
                        .set(connections::vendor_user_hash.eq(hash))
                        .execute(conn)?;
                }
                // Reconnected with fewer data types: the others' data goes.
                let dropped = removed(&c.data_types, grant.data_types);
                purge::connection_data(
                    conn,
                    member,
                    grant.vendor,
                    &c.id,
                    purge::Types::Only(&dropped),
                )?;
                c.id.clone()
            }
            None => {
                let id = uuid::Uuid::new_v4().to_string();
                diesel::insert_into(connections::table)
                    .values((
                        connections::id.eq(&id),
                        connections::portal_id.eq(portal.as_str()),
                        connections::member_id.eq(member.as_str()),
                        connections::vendor.eq(grant.vendor),
                        connections::status.eq(Status::Active.as_str()),
                        connections::data_types.eq(json_list(grant.data_types)),
                        connections::scopes.eq(json_list(grant.scopes)),
                        connections::not_granted.eq(json_list(grant.not_granted)),
                        connections::vendor_app_id.eq(grant.vendor_app_id),
                        connections::vendor_user_hash.eq(&user_hash),
                        connections::created_at.eq(now),
                        connections::updated_at.eq(now),
                    ))
                    .execute(conn)?;
                id
            }
        };
        let key = member_key(conn, ring, member.as_str())?;
        // The account id the vendor named now, else the one kept from before.
        let vendor_user_sealed = match grant.vendor_user.filter(|_| grant.keep_vendor_user) {
            Some(u) => Some(seal_vendor_user(&key, &id, member, u)),
            None if !grant.keep_vendor_user => None,
            None => connection_tokens::table
                .find(&id)
                .select(connection_tokens::vendor_user_sealed)
                .first::<Option<Vec<u8>>>(conn)
                .optional()?
                .flatten(),
        };
        diesel::delete(connection_tokens::table.find(&id)).execute(conn)?;
        diesel::insert_into(connection_tokens::table)
            .values((
                connection_tokens::connection_id.eq(&id),
                connection_tokens::member_id.eq(member.as_str()),
                connection_tokens::access_sealed.eq(seal_token(
                    &key,
                    &id,
                    member,
                    "access",
                    &tokens.access,
                )),
                connection_tokens::refresh_sealed.eq(tokens
                    .refresh
                    .as_ref()
                    .map(|r| seal_token(&key, &id, member, "refresh", r))),
                connection_tokens::access_expires_at.eq(tokens.access_expires_at),
                connection_tokens::generation.eq(1_i64),
                connection_tokens::updated_at.eq(now),
                connection_tokens::vendor_user_sealed.eq(vendor_user_sealed),
            ))
            .execute(conn)?;
        let action = if existing.is_some() {
            "reconnected"
        } else {
            "granted"
        };
        record(
            conn,
            portal,
            member,
            grant.vendor,
            action,
            grant.data_types,
            grant.scopes,
            channel,
        )?;
        get(conn, &id)
    })
}

/// Active connections whose access token expires before `before` (at most `limit`).
pub fn expiring(
    conn: &mut AnyConnection,
    before: NaiveDateTime,
    limit: i64,
) -> Result<Vec<String>, StoreError> {
    Ok(connection_tokens::table
        .inner_join(connections::table)
        .filter(connections::status.eq(Status::Active.as_str()))
        .filter(connection_tokens::refresh_sealed.is_not_null())
        .filter(connection_tokens::access_expires_at.le(before))
        .order(connection_tokens::access_expires_at.asc())
        .limit(limit)
        .select(connections::id)
        .load(conn)?)
}

/// Every active connection (id only), for the daily repair pass of the scheduler.
pub fn active_ids(conn: &mut AnyConnection) -> Result<Vec<String>, StoreError> {
    Ok(connections::table
        .filter(connections::status.eq(Status::Active.as_str()))
        .select(connections::id)
        .load(conn)?)
}

/// A sync of the connection stored its data now.
pub fn synced(conn: &mut AnyConnection, id: &str) -> Result<(), StoreError> {
    diesel::update(connections::table.find(id))
        .set(connections::last_sync_at.eq(Some(chrono::Utc::now().naive_utc())))
        .execute(conn)?;
    Ok(())
}

/// How [`set_data_types`] treats the list it is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// The member's choice (consent page): stored as given.
    Replace,
    /// A narrowing (API, a vendor's permission change): what is stored is what is
    /// shared now and in the list, so two narrowings at once never widen a grant.
    Narrow,
}

/// Change the enabled data types (within what the granted scopes cover). The
/// observations, sync progress and queued jobs of the types removed are deleted in
/// the same transaction; returns what was deleted.
pub fn set_data_types(
    conn: &mut AnyConnection,
    connection: &Connection,
    data_types: &[String],
    channel: Channel,
    change: Change,
) -> Result<Counts, StoreError> {
    conn.write_transaction(|conn| {
        let now = chrono::Utc::now().naive_utc();
        // Lock the row first, then read the grant as it is now.
        diesel::update(connections::table.find(&connection.id))
            .set(connections::updated_at.eq(now))
            .execute(conn)?;
        let current = get(conn, &connection.id)?;
        let data_types: Vec<String> = match change {
            Change::Replace => data_types.to_vec(),
            Change::Narrow => current
                .data_types
                .iter()
                .filter(|t| data_types.contains(t))
                .cloned()
                .collect(),
        };
        diesel::update(connections::table.find(&connection.id))
            .set(connections::data_types.eq(json_list(&data_types)))
            .execute(conn)?;
        let removed = removed(&current.data_types, &data_types);
        if !removed.is_empty() {
            crate::erasure::journal_consent_change(&current, &data_types, false)?;
        }
        let counts = purge::connection_data(
            conn,
            &connection.member_id,
            &connection.vendor,
            &connection.id,
            purge::Types::Only(&removed),
        )?;
        record(
            conn,
            &connection.portal_id,
            &connection.member_id,
            &connection.vendor,
            "changed",
            &data_types,
            &current.scopes,
            channel,
        )?;
        Ok(counts)
    })
}

/// The types of `before` not in `after`.
fn removed(before: &[String], after: &[String]) -> Vec<String> {
    before
        .iter()
        .filter(|t| !after.contains(t))
        .cloned()
        .collect()
}

/// Revoke: the tokens are deleted, nothing is shared any more, and every
/// observation, sync progress and queued job of the connection is deleted, in one
/// transaction. With `at_vendor`, a `vendor_revoke` job is queued first (holding
/// the tokens sealed under the ring) to withdraw the grant at the vendor.
pub fn revoke(
    conn: &mut AnyConnection,
    ring: &KeyRing,
    connection: &Connection,
    channel: Channel,
    at_vendor: bool,
) -> Result<Counts, StoreError> {
    conn.write_transaction(|conn| {
        // The row first: a sync storing into this connection holds it until it
        // commits, and what it stored is then visible to the deletes below.
        diesel::update(connections::table.find(&connection.id))
            .set((
                connections::status.eq(Status::Revoked.as_str()),
                connections::data_types.eq("[]"),
                connections::scopes.eq("[]"),
                connections::not_granted.eq("[]"),
                connections::updated_at.eq(chrono::Utc::now().naive_utc()),
            ))
            .execute(conn)?;
        if at_vendor {
            super::vendor_revokes::queue(conn, ring, connection)?;
        }
        crate::erasure::journal_consent_change(connection, &[], true)?;
        let mut counts = Counts::default();
        counts.merge(purge::connection_data(
            conn,
            &connection.member_id,
            &connection.vendor,
            &connection.id,
            purge::Types::All,
        )?);
        let tokens = diesel::delete(connection_tokens::table.find(&connection.id)).execute(conn)?;
        counts.0.insert("tokens".into(), tokens as u64);
        record(
            conn,
            &connection.portal_id,
            &connection.member_id,
            &connection.vendor,
            "revoked",
            &[],
            &[],
            channel,
        )?;
        Ok(counts)
    })
}

/// The vendor refused the refresh token: the member must connect again. The dead
/// tokens are deleted.
pub fn mark_reauth_required(
    conn: &mut AnyConnection,
    connection: &Connection,
) -> Result<(), StoreError> {
    conn.write_transaction(|conn| {
        diesel::delete(connection_tokens::table.find(&connection.id)).execute(conn)?;
        diesel::update(connections::table.find(&connection.id))
            .set((
                connections::status.eq(Status::ReauthRequired.as_str()),
                connections::updated_at.eq(chrono::Utc::now().naive_utc()),
            ))
            .execute(conn)?;
        record(
            conn,
            &connection.portal_id,
            &connection.member_id,
            &connection.vendor,
            "reauth_required",
            &connection.data_types,
            &connection.scopes,
            Channel::Hub,
        )
    })
}

#[allow(clippy::too_many_arguments)]
fn record(
    conn: &mut AnyConnection,
    portal: &PortalId,
    member: &MemberId,
    vendor: &str,
    action: &str,
    data_types: &[String],
    scopes: &[String],
    channel: Channel,
) -> Result<(), StoreError> {
    diesel::insert_into(consent_events::table)
        .values((
            consent_events::id.eq(uuid::Uuid::new_v4().to_string()),
            consent_events::portal_id.eq(portal.as_str()),
            consent_events::member_id.eq(member.as_str()),
            consent_events::vendor.eq(vendor),
            consent_events::action.eq(action),
            consent_events::data_types.eq(json_list(data_types)),
            consent_events::scopes.eq(json_list(scopes)),
            consent_events::channel.eq(channel.as_str()),
            consent_events::at.eq(chrono::Utc::now().naive_utc()),
        ))
        .execute(conn)?;
    let kind = match action {
        "granted" => EventKind::ConnectionCreated,
        "revoked" => EventKind::ConnectionRevoked,
        "reauth_required" => EventKind::ConnectionReauthRequired,
        _ => EventKind::ConnectionUpdated,
    };
    let status = match kind {
        EventKind::ConnectionRevoked => Status::Revoked,
        EventKind::ConnectionReauthRequired => Status::ReauthRequired,
        _ => Status::Active,
    };
    events::emit(
        conn,
        &NewEvent {
            portal,
            member: Some(member),
            kind,
            data: serde_json::json!({
                "vendor": vendor,
                "status": status.as_str(),
                "change": action,
                "data_types": data_types,
                "channel": channel.as_str(),
            }),
        },
    )?;
    Ok(())
}

/// A connection's tokens and their generation; `None` when it holds none.
pub fn tokens(
    conn: &mut AnyConnection,
    ring: &KeyRing,
    connection: &Connection,
) -> Result<Option<(Tokens, i64)>, StoreError> {
    type TokenRow = (Vec<u8>, Option<Vec<u8>>, Option<NaiveDateTime>, i64);
    let row: Option<TokenRow> = connection_tokens::table
        .find(&connection.id)
        .select((
            connection_tokens::access_sealed,
            connection_tokens::refresh_sealed,
            connection_tokens::access_expires_at,
            connection_tokens::generation,
        ))
        .first(conn)
        .optional()?;
    let Some((access, refresh, expires, generation)) = row else {
        return Ok(None);
    };
    let key = member_key(conn, ring, connection.member_id.as_str())?;
    let (id, member) = (&connection.id, &connection.member_id);
    Ok(Some((
        Tokens {
            access: open_token(&key, id, member, "access", &access)?,
            refresh: refresh
                .map(|r| open_token(&key, id, member, "refresh", &r))
                .transpose()?,
            access_expires_at: expires,
        },
        generation,
    )))
}

/// Take the refresh lease of a connection at `generation` until `until`; false when
/// another worker holds it or the tokens moved on.
pub fn take_refresh_lease(
    conn: &mut AnyConnection,
    connection: &str,
    generation: i64,
    until: NaiveDateTime,
) -> Result<bool, StoreError> {
    let now = chrono::Utc::now().naive_utc();
    let n = diesel::update(
        connection_tokens::table
            .find(connection)
            .filter(connection_tokens::generation.eq(generation))
            .filter(
                connection_tokens::refresh_lease_until
                    .is_null()
                    .or(connection_tokens::refresh_lease_until.lt(now)),
            ),
    )
    .set(connection_tokens::refresh_lease_until.eq(until))
    .execute(conn)?;
    Ok(n == 1)
}

pub fn release_refresh_lease(conn: &mut AnyConnection, connection: &str) -> Result<(), StoreError> {
    diesel::update(connection_tokens::table.find(connection))
        .set(connection_tokens::refresh_lease_until.eq(None::<NaiveDateTime>))
        .execute(conn)?;
    Ok(())
}

/// Store refreshed tokens as the next generation and release the lease. False when
/// the row is no longer at `generation` (revoked or erased meanwhile).
pub fn store_refreshed(
    conn: &mut AnyConnection,
    ring: &KeyRing,
    connection: &Connection,
    generation: i64,
    tokens: &Tokens,
) -> Result<bool, StoreError> {
    let key = member_key(conn, ring, connection.member_id.as_str())?;
    let (id, member) = (&connection.id, &connection.member_id);
    let n = diesel::update(
        connection_tokens::table
            .find(id)
            .filter(connection_tokens::generation.eq(generation)),
    )
    .set((
        connection_tokens::access_sealed.eq(seal_token(&key, id, member, "access", &tokens.access)),
        connection_tokens::refresh_sealed.eq(tokens
            .refresh
            .as_ref()
            .map(|r| seal_token(&key, id, member, "refresh", r))),
        connection_tokens::access_expires_at.eq(tokens.access_expires_at),
        connection_tokens::generation.eq(generation + 1),
        connection_tokens::refresh_lease_until.eq(None::<NaiveDateTime>),
        connection_tokens::updated_at.eq(chrono::Utc::now().naive_utc()),
    ))
    .execute(conn)?;
    Ok(n == 1)
}
