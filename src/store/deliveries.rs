//! Webhook deliveries: one row per event and endpoint, claimed by a dispatcher with
//! a lease, and finished as `delivered` or, once the retry schedule is spent,
//! `failed`. Retrying and replaying queue them again; the event (and so the
//! `webhook-id`) stays the same.

use super::events::{subscribes, EventKind};
use super::StoreError;
use crate::db::schema::{events, webhook_deliveries, webhook_endpoints};
use crate::db::AnyConnection;
use crate::domain::PortalId;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

pub const PENDING: &str = "pending";
pub const DELIVERED: &str = "delivered";
pub const FAILED: &str = "failed";

/// A delivery claimed for sending.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: String,
    pub event_id: String,
    pub endpoint_id: String,
    /// Attempts made before this one.
    pub attempts: i32,
    /// The claim's lease: the attempt is recorded only while it is still the row's.
    pub lease_until: NaiveDateTime,
}

/// Claim up to `limit` due deliveries of enabled endpoints until `lease_until`,
/// after which another dispatcher may take them over. On PostgreSQL rows another
/// dispatcher is claiming are skipped (`FOR UPDATE SKIP LOCKED`), so processes never
/// wait on each other; SQLite has one writer.
/// Endpoints in `busy` (the caller has as many of their deliveries in flight as it
/// allows) are skipped, so one slow receiver cannot take every slot.
pub fn claim(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    lease_until: NaiveDateTime,
    limit: i64,
    busy: &[String],
) -> Result<Vec<Claimed>, StoreError> {
    use chrono::SubsecRound;
    let lease_until = lease_until.trunc_subsecs(6);
    conn.write_transaction(|conn| {
        let enabled = webhook_endpoints::table
            .filter(webhook_endpoints::enabled.eq(true))
            .filter(webhook_endpoints::id.ne_all(busy))
            .select(webhook_endpoints::id);
        let due = webhook_deliveries::table
            .filter(webhook_deliveries::status.eq(PENDING))
            .filter(webhook_deliveries::next_attempt_at.le(now))
            .filter(
                webhook_deliveries::lease_until
                    .is_null()
                    .or(webhook_deliveries::lease_until.lt(now)),
            )
            .filter(webhook_deliveries::endpoint_id.eq_any(enabled))
            .order((
                webhook_deliveries::next_attempt_at.asc(),
                webhook_deliveries::id.asc(),
            ))
            .limit(limit)
            .select((
                webhook_deliveries::id,
                webhook_deliveries::event_id,
                webhook_deliveries::endpoint_id,
                webhook_deliveries::attempts,
            ));
        type Row = (String, String, String, i32);
        let rows: Vec<Row> = match conn {
            AnyConnection::Postgresql(pg) => due.for_update().skip_locked().load(pg)?,
            AnyConnection::Sqlite(lite) => due.load(lite)?,
        };
        let ids: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
        diesel::update(webhook_deliveries::table.filter(webhook_deliveries::id.eq_any(&ids)))
            .set(webhook_deliveries::lease_until.eq(Some(lease_until)))
            .execute(conn)?;
        Ok(rows
            .into_iter()
            .map(|(id, event_id, endpoint_id, attempts)| Claimed {
                id,
                event_id,
                endpoint_id,
                attempts,
                lease_until,
            })
            .collect())
    })
}

/// Give claimed deliveries back (their lease cleared) without an attempt.
pub fn release(conn: &mut AnyConnection, claimed: &[Claimed]) -> Result<(), StoreError> {
    for c in claimed {
        diesel::update(
            webhook_deliveries::table
                .filter(webhook_deliveries::id.eq(&c.id))
                .filter(webhook_deliveries::lease_until.eq(c.lease_until)),
        )
        .set(webhook_deliveries::lease_until.eq(None::<NaiveDateTime>))
        .execute(conn)?;
    }
    Ok(())
}

/// The outcome of one attempt.
pub struct Attempt<'a> {
    pub at: NaiveDateTime,
    /// The receiver's HTTP status, if it answered.
    pub status: Option<u16>,
    /// Why it failed (written by the hub), or `None` on success.
    pub error: Option<&'a str>,
    /// When to try again; `None` after a failure: the schedule is spent.
    pub retry_at: Option<NaiveDateTime>,
}

/// Record an attempt of a claimed delivery. `false`: the claim was lost (its lease
/// ran out and another dispatcher took the row, or the portal asked for a retry),
/// and nothing was written.
pub fn record_attempt(
    conn: &mut AnyConnection,
    claimed: &Claimed,
    attempt: &Attempt<'_>,
) -> Result<bool, StoreError> {
    let (status, delivered_at, next) = match (attempt.error, attempt.retry_at) {
        (None, _) => (DELIVERED, Some(attempt.at), attempt.at),
        (Some(_), Some(retry)) => (PENDING, None, retry),
        (Some(_), None) => (FAILED, None, attempt.at),
    };
    let n = diesel::update(
        webhook_deliveries::table
            .filter(webhook_deliveries::id.eq(&claimed.id))
            .filter(webhook_deliveries::status.eq(PENDING))
            .filter(webhook_deliveries::lease_until.eq(claimed.lease_until)),
    )
    .set((
        webhook_deliveries::status.eq(status),
        webhook_deliveries::attempts.eq(claimed.attempts + 1),
        webhook_deliveries::next_attempt_at.eq(next),
        webhook_deliveries::lease_until.eq(None::<NaiveDateTime>),
        webhook_deliveries::last_status.eq(attempt.status.map(i32::from)),
        webhook_deliveries::last_error.eq(attempt.error),
        webhook_deliveries::last_attempt_at.eq(Some(attempt.at)),
        webhook_deliveries::delivered_at.eq(delivered_at),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// A delivery as the API shows it.
#[derive(Debug, Clone, Serialize, Queryable, utoipa::ToSchema)]
pub struct Delivery {
    pub id: String,
    /// The event's id: the `webhook-id` header of every attempt.
    pub event_id: String,
    /// The event type.
    pub event_type: String,
    pub endpoint_id: String,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    pub attempts: i32,
    /// The HTTP status of the last answer, if there was one.
    pub last_response_status: Option<i32>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    #[serde(serialize_with = "crate::domain::utc::option::serialize")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_attempt_at: Option<NaiveDateTime>,
    /// When the next attempt is due (pending deliveries).
    #[serde(serialize_with = "crate::domain::utc::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub next_attempt_at: NaiveDateTime,
    #[serde(serialize_with = "crate::domain::utc::option::serialize")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub delivered_at: Option<NaiveDateTime>,
    #[serde(serialize_with = "crate::domain::utc::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: NaiveDateTime,
}

/// Which deliveries to list.
#[derive(Default)]
pub struct Filter<'a> {
    pub status: Option<&'a str>,
    pub endpoint: Option<&'a str>,
    /// Only deliveries created before this one (the page cursor).
    pub before: Option<(NaiveDateTime, &'a str)>,
}

/// The portal's deliveries, newest first.
pub fn list(
    conn: &mut AnyConnection,
    portal: &PortalId,
    filter: &Filter<'_>,
    limit: i64,
) -> Result<Vec<Delivery>, StoreError> {
    let mut q = webhook_deliveries::table
        .inner_join(events::table)
        .filter(webhook_deliveries::portal_id.eq(portal.as_str()))
        .into_boxed();
    if let Some(status) = filter.status {
        q = q.filter(webhook_deliveries::status.eq(status.to_owned()));
    }
    if let Some(endpoint) = filter.endpoint {
        q = q.filter(webhook_deliveries::endpoint_id.eq(endpoint.to_owned()));
    }
    if let Some((at, id)) = filter.before {
        q = q.filter(
            webhook_deliveries::created_at
                .lt(at)
                .or(webhook_deliveries::created_at
                    .eq(at)
                    .and(webhook_deliveries::id.lt(id.to_owned()))),
        );
    }
    Ok(q.order((
        webhook_deliveries::created_at.desc(),
        webhook_deliveries::id.desc(),
    ))
    .limit(limit)
    .select((
        webhook_deliveries::id,
        webhook_deliveries::event_id,
        events::kind,
        webhook_deliveries::endpoint_id,
        webhook_deliveries::status,
        webhook_deliveries::attempts,
        webhook_deliveries::last_status,
        webhook_deliveries::last_error,
        webhook_deliveries::last_attempt_at,
        webhook_deliveries::next_attempt_at,
        webhook_deliveries::delivered_at,
        webhook_deliveries::created_at,
    ))
    .load(conn)?)
}

pub fn get(conn: &mut AnyConnection, portal: &PortalId, id: &str) -> Result<Delivery, StoreError> {
    webhook_deliveries::table
        .inner_join(events::table)
        .filter(webhook_deliveries::portal_id.eq(portal.as_str()))
        .filter(webhook_deliveries::id.eq(id))
        .select((
            webhook_deliveries::id,
            webhook_deliveries::event_id,
            events::kind,
            webhook_deliveries::endpoint_id,
            webhook_deliveries::status,
            webhook_deliveries::attempts,
            webhook_deliveries::last_status,
            webhook_deliveries::last_error,
            webhook_deliveries::last_attempt_at,
            webhook_deliveries::next_attempt_at,
            webhook_deliveries::delivered_at,
            webhook_deliveries::created_at,
        ))
        .first(conn)
        .optional()?
        .ok_or(StoreError::NotFound)
}

/// Send a delivery again from the start of the schedule (a delivered one too: the
/// receiver deduplicates on `webhook-id`).
pub fn retry(
    conn: &mut AnyConnection,
    portal: &PortalId,
    id: &str,
    now: NaiveDateTime,
) -> Result<Delivery, StoreError> {
    get(conn, portal, id)?;
    // Not while a dispatcher holds it: its result would overwrite the reset, and
    // the event would be sent twice at once.
    let n = diesel::update(
        webhook_deliveries::table
            .filter(webhook_deliveries::portal_id.eq(portal.as_str()))
            .filter(webhook_deliveries::id.eq(id))
            .filter(
                webhook_deliveries::lease_until
                    .is_null()
                    .or(webhook_deliveries::lease_until.lt(now)),
            ),
    )
    .set((
        webhook_deliveries::status.eq(PENDING),
        webhook_deliveries::attempts.eq(0),
        webhook_deliveries::next_attempt_at.eq(now),
        webhook_deliveries::lease_until.eq(None::<NaiveDateTime>),
        webhook_deliveries::delivered_at.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)?;
    if n == 0 {
        return Err(StoreError::Conflict);
    }
    get(conn, portal, id)
}

/// Events one replay call queues at most: it runs in one transaction.
pub const REPLAY_MAX: i64 = 10_000;

/// What a replay did.
pub struct Replayed {
    pub queued: usize,
    /// Where to continue when more events than [`REPLAY_MAX`] followed `since`.
    pub next_since: Option<NaiveDateTime>,
}

/// Queue the portal's events since `since` (at most [`REPLAY_MAX`], oldest first)
/// again, to one endpoint or to every enabled endpoint that takes their type.
pub fn replay(
    conn: &mut AnyConnection,
    portal: &PortalId,
    since: NaiveDateTime,
    endpoint: Option<&str>,
    now: NaiveDateTime,
) -> Result<Replayed, StoreError> {
    conn.write_transaction(|conn| {
        let mut q = webhook_endpoints::table
            .filter(webhook_endpoints::portal_id.eq(portal.as_str()))
            .into_boxed();
        match endpoint {
            Some(id) => q = q.filter(webhook_endpoints::id.eq(id.to_owned())),
            None => q = q.filter(webhook_endpoints::enabled.eq(true)),
        }
        let endpoints: Vec<(String, String)> = q
            .select((webhook_endpoints::id, webhook_endpoints::events))
            .load(conn)?;
        if endpoint.is_some() && endpoints.is_empty() {
            return Err(StoreError::NotFound);
        }
        let mut found: Vec<(String, String, NaiveDateTime)> = events::table
            .filter(events::portal_id.eq(portal.as_str()))
            .filter(events::created_at.ge(since))
            .order((events::created_at.asc(), events::id.asc()))
            .limit(REPLAY_MAX + 1)
            .select((events::id, events::kind, events::created_at))
            .load(conn)?;
        let next_since = if found.len() as i64 > REPLAY_MAX {
            found.pop().map(|(_, _, at)| at)
        } else {
            None
        };
        let mut queued = 0;
        for (event, kind, _) in &found {
            let Some(kind) = EventKind::parse(kind) else {
                continue;
            };
            for (id, filter) in &endpoints {
                if subscribes(filter, kind) {
                    super::events::queue(conn, event, id, portal.as_str(), now)?;
                    queued += 1;
                }
            }
        }
        Ok(Replayed { queued, next_since })
    })
}
