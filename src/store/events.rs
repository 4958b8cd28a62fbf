//! The outbox: events about members and connections, written in the transaction of
//! the change they report, with one pending delivery per enabled webhook endpoint of
//! the portal that subscribes to the event's type.
//!
//! Policy: an event holds ids, vendor, data types, time ranges and counts, never
//! health data, units or tokens. The member's User Key is not stored with it: the
//! dispatcher reads it from the member when it sends (`member.erased`, sent after
//! the member is gone, keeps it sealed under the key ring).

use super::StoreError;
use crate::db::schema::{events, members, webhook_deliveries, webhook_endpoints};
use crate::db::AnyConnection;
use crate::domain::{MemberId, PortalId, UserKey};
use crate::keys::KeyRing;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

/// The event types, as portals subscribe to them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum EventKind {
    #[serde(rename = "member.created")]
    MemberCreated,
    #[serde(rename = "connection.created")]
    ConnectionCreated,
    #[serde(rename = "connection.updated")]
    ConnectionUpdated,
    #[serde(rename = "connection.reauth_required")]
    ConnectionReauthRequired,
    #[serde(rename = "connection.revoked")]
    ConnectionRevoked,
    #[serde(rename = "backfill.completed")]
    BackfillCompleted,
    #[serde(rename = "data.available")]
    DataAvailable,
    #[serde(rename = "member.erased")]
    MemberErased,
    #[serde(rename = "maintenance.scheduled")]
    MaintenanceScheduled,
    #[serde(rename = "incident.opened")]
    IncidentOpened,
    #[serde(rename = "incident.updated")]
    IncidentUpdated,
    #[serde(rename = "incident.resolved")]
    IncidentResolved,
}

impl EventKind {
    pub const ALL: [EventKind; 12] = [
        EventKind::MemberCreated,
        EventKind::ConnectionCreated,
        EventKind::ConnectionUpdated,
        EventKind::ConnectionReauthRequired,
        EventKind::ConnectionRevoked,
        EventKind::BackfillCompleted,
        EventKind::DataAvailable,
        EventKind::MemberErased,
        EventKind::MaintenanceScheduled,
        EventKind::IncidentOpened,
        EventKind::IncidentUpdated,
        EventKind::IncidentResolved,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::MemberCreated => "member.created",
            EventKind::ConnectionCreated => "connection.created",
            EventKind::ConnectionUpdated => "connection.updated",
            EventKind::ConnectionReauthRequired => "connection.reauth_required",
            EventKind::ConnectionRevoked => "connection.revoked",
            EventKind::BackfillCompleted => "backfill.completed",
            EventKind::DataAvailable => "data.available",
            EventKind::MemberErased => "member.erased",
            EventKind::MaintenanceScheduled => "maintenance.scheduled",
            EventKind::IncidentOpened => "incident.opened",
            EventKind::IncidentUpdated => "incident.updated",
            EventKind::IncidentResolved => "incident.resolved",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// The label a `member.erased` event's sealed User Key is bound to.
pub const USER_KEY_TABLE: &str = "events.user_key";

/// An event to record.
pub struct NewEvent<'a> {
    pub portal: &'a PortalId,
    pub member: Option<&'a MemberId>,
    pub kind: EventKind,
    /// The event's `data`, free of PHI (the User Key is added when sent).
    pub data: serde_json::Value,
}

/// A recorded event.
#[derive(Debug, Clone, Queryable)]
pub struct Event {
    pub id: String,
    pub portal_id: String,
    pub member_id: Option<String>,
    pub seq: i64,
    pub kind: String,
    pub data: String,
    pub user_key_sealed: Option<Vec<u8>>,
    pub created_at: NaiveDateTime,
}

pub const EVENT_COLUMNS: (
    events::id,
    events::portal_id,
    events::member_id,
    events::seq,
    events::kind,
    events::data,
    events::user_key_sealed,
    events::created_at,
) = (
    events::id,
    events::portal_id,
    events::member_id,
    events::seq,
    events::kind,
    events::data,
    events::user_key_sealed,
    events::created_at,
);

/// The current time as stored: whole microseconds on both backends (SQLite would
/// keep nanoseconds, and the delivery log's cursor compares stored times exactly).
pub fn now() -> NaiveDateTime {
    use chrono::SubsecRound;
    chrono::Utc::now().naive_utc().trunc_subsecs(6)
}

/// A new event id: `evt_` and 32 hex digits (the `webhook-id` of every delivery).
fn new_id() -> String {
    format!("evt_{}", uuid::Uuid::new_v4().simple())
}

/// Record an event and queue its deliveries. Call inside the transaction of the
/// change it reports. Returns the event's id.
pub fn emit(conn: &mut AnyConnection, new: &NewEvent<'_>) -> Result<String, StoreError> {
    insert(conn, new, |_, _| Ok(None))
}

/// Record `member.erased` (or another event that must name a member about to be
/// deleted): the User Key goes with the event, sealed under the key ring.
pub fn emit_with_user_key(
    conn: &mut AnyConnection,
    ring: &KeyRing,
    new: &NewEvent<'_>,
    user_key: &UserKey,
) -> Result<String, StoreError> {
    insert(conn, new, |conn, id| {
        Ok(Some(ring.seal_hub_secret(
            conn,
            USER_KEY_TABLE,
            id,
            user_key.expose().as_bytes(),
        )?))
    })
}

fn insert(
    conn: &mut AnyConnection,
    new: &NewEvent<'_>,
    seal: impl FnOnce(&mut AnyConnection, &str) -> Result<Option<Vec<u8>>, StoreError>,
) -> Result<String, StoreError> {
    let now = now();
    conn.write_transaction(|conn| {
        let seq = match new.member {
            Some(member) => next_seq(conn, member)?,
            None => 0,
        };
        let id = new_id();
        let user_key_sealed = seal(conn, &id)?;
        diesel::insert_into(events::table)
            .values((
                events::id.eq(&id),
                events::portal_id.eq(new.portal.as_str()),
                events::member_id.eq(new.member.map(MemberId::as_str)),
                events::seq.eq(seq),
                events::kind.eq(new.kind.as_str()),
                events::data.eq(new.data.to_string()),
                events::user_key_sealed.eq(&user_key_sealed),
                events::created_at.eq(now),
            ))
            .execute(conn)?;
        let endpoints: Vec<(String, String)> = webhook_endpoints::table
            .filter(webhook_endpoints::portal_id.eq(new.portal.as_str()))
            .filter(webhook_endpoints::enabled.eq(true))
            .select((webhook_endpoints::id, webhook_endpoints::events))
            .load(conn)?;
        for (endpoint, filter) in endpoints {
            if subscribes(&filter, new.kind) {
                queue(conn, &id, &endpoint, new.portal.as_str(), now)?;
            }
        }
        Ok(id)
    })
}

/// Whether an endpoint's event filter (a JSON list; empty: every type) takes `kind`.
pub fn subscribes(filter: &str, kind: EventKind) -> bool {
    let kinds: Vec<String> = serde_json::from_str(filter).unwrap_or_default();
    kinds.is_empty() || kinds.iter().any(|k| k == kind.as_str())
}

/// A pending delivery of `event` to `endpoint`, due now.
pub fn queue(
    conn: &mut AnyConnection,
    event: &str,
    endpoint: &str,
    portal: &str,
    now: NaiveDateTime,
) -> Result<String, StoreError> {
    use chrono::SubsecRound;
    let now = now.trunc_subsecs(6);
    let id = format!("dlv_{}", uuid::Uuid::new_v4().simple());
    diesel::insert_into(webhook_deliveries::table)
        .values((
            webhook_deliveries::id.eq(&id),
            webhook_deliveries::event_id.eq(event),
            webhook_deliveries::endpoint_id.eq(endpoint),
            webhook_deliveries::portal_id.eq(portal),
            webhook_deliveries::status.eq("pending"),
            webhook_deliveries::attempts.eq(0),
            webhook_deliveries::next_attempt_at.eq(now),
            webhook_deliveries::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(id)
}

/// The member's next sequence number. The update locks the member's row until the
/// transaction ends (PostgreSQL), and SQLite has one writer: concurrent events of
/// one member get distinct, increasing numbers.
fn next_seq(conn: &mut AnyConnection, member: &MemberId) -> Result<i64, StoreError> {
    let n = diesel::update(members::table.find(member.as_str()))
        .set(members::event_seq.eq(members::event_seq + 1_i64))
        .execute(conn)?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(members::table
        .find(member.as_str())
        .select(members::event_seq)
        .first(conn)?)
}

pub fn get(conn: &mut AnyConnection, id: &str) -> Result<Event, StoreError> {
    events::table
        .find(id)
        .select(EVENT_COLUMNS)
        .first(conn)
        .optional()?
        .ok_or(StoreError::NotFound)
}

/// `data.available`: `count` observations of the member's `data_type` from `vendor`
/// were stored or amended, covering `[start, end)`.
#[allow(clippy::too_many_arguments)]
pub fn data_available(
    conn: &mut AnyConnection,
    portal: &PortalId,
    member: &MemberId,
    vendor: &str,
    data_type: &str,
    start: NaiveDateTime,
    end: NaiveDateTime,
    count: usize,
) -> Result<String, StoreError> {
    emit(
        conn,
        &NewEvent {
            portal,
            member: Some(member),
            kind: EventKind::DataAvailable,
            data: serde_json::json!({
                "vendor": vendor,
                "data_types": [data_type],
                "period": {"start": utc(start), "end": utc(end)},
                "count": count,
            }),
        },
    )
}

/// `backfill.completed`: the history of the member's `data_type` from `vendor` is
/// fetched back to `from`.
pub fn backfill_completed(
    conn: &mut AnyConnection,
    portal: &PortalId,
    member: &MemberId,
    vendor: &str,
    data_type: &str,
    from: NaiveDateTime,
) -> Result<String, StoreError> {
    emit(
        conn,
        &NewEvent {
            portal,
            member: Some(member),
            kind: EventKind::BackfillCompleted,
            data: serde_json::json!({
                "vendor": vendor,
                "data_types": [data_type],
                "period": {"start": utc(from)},
            }),
        },
    )
}

fn utc(t: NaiveDateTime) -> String {
    t.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Delete a member's events and their deliveries (before its erasure: what they
/// said, vendors and periods, goes with the member; `member.erased` follows).
pub fn forget_member(conn: &mut AnyConnection, member: &MemberId) -> Result<usize, StoreError> {
    conn.write_transaction(|conn| {
        let ids = events::table
            .filter(events::member_id.eq(member.as_str()))
            .select(events::id);
        diesel::delete(webhook_deliveries::table.filter(webhook_deliveries::event_id.eq_any(ids)))
            .execute(conn)?;
        Ok(
            diesel::delete(events::table.filter(events::member_id.eq(member.as_str())))
                .execute(conn)?,
        )
    })
}

/// How long a `member.erased` event keeps the erased member's User Key (sealed
/// under the ring): past the whole retry schedule (about three days), so every
/// delivery had its chances; a replay after that sends `user_key: null`.
pub const ERASED_USER_KEY_DAYS: i64 = 7;

/// Drop the sealed User Key of `member.erased` events older than
/// [`ERASED_USER_KEY_DAYS`] (daily housekeeping): the last link between an erased
/// member's hub id and its User Key goes.
pub fn forget_erased_user_keys(conn: &mut AnyConnection) -> Result<usize, StoreError> {
    let before = chrono::Utc::now().naive_utc() - chrono::Duration::days(ERASED_USER_KEY_DAYS);
    Ok(diesel::update(
        events::table
            .filter(events::kind.eq(EventKind::MemberErased.as_str()))
            .filter(events::created_at.lt(before))
            .filter(events::user_key_sealed.is_not_null()),
    )
    .set(events::user_key_sealed.eq(None::<Vec<u8>>))
    .execute(conn)?)
}
