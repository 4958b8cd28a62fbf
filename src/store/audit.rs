//! The append-only, hash-chained audit log.
//!
//! Each entry's hash is SHA-256 over the previous entry's hash and the entry's own
//! fields (length-prefixed). Sequence numbers are consecutive from 1. So an entry
//! altered in place breaks its own hash, a removed entry leaves a gap in the sequence
//! or a dangling `prev_hash`, and a removed last entry disagrees with `audit_head`.
//! `verify` names the first entry where any of this happens.
//!
//! Writers serialise on the single `audit_head` row: updating it is the first
//! statement of the append, which takes the write lock on SQLite and the row lock on
//! PostgreSQL, so two hubs never fork the chain.
//!
//! Policy: entries hold ids, kinds and outcomes; never health values, tokens or User
//! Keys in clear (members appear by the hub's member id).

use super::StoreError;
use crate::db::schema::{audit_events, audit_head};
use crate::db::AnyConnection;
use crate::domain::PortalId;
use chrono::{NaiveDateTime, SubsecRound};
use diesel::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// Who did it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorType {
    ApiKey,
    MemberSession,
    Operator,
    /// The hub itself (scheduled work: the retention purge).
    Hub,
}

impl ActorType {
    fn as_str(self) -> &'static str {
        match self {
            Self::ApiKey => "api_key",
            Self::MemberSession => "member_session",
            Self::Operator => "operator",
            Self::Hub => "hub",
        }
    }
}

/// One thing that happened, before it is chained.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub portal: Option<&'a PortalId>,
    pub actor_type: ActorType,
    pub actor_id: &'a str,
    pub action: &'a str,
    pub target_type: &'a str,
    pub target_id: Option<&'a str>,
    pub outcome: &'a str,
    pub request_id: Option<&'a str>,
}

/// A stored entry, as `GET /v1/audit-events` shows it.
#[derive(Debug, Clone, Serialize, Queryable, utoipa::ToSchema)]
pub struct Event {
    pub seq: i64,
    #[serde(serialize_with = "crate::domain::utc::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub at: NaiveDateTime,
    pub portal_id: Option<String>,
    pub actor_type: String,
    pub actor_id: String,
    pub action: String,
    pub target_type: String,
    pub target_id: Option<String>,
    pub outcome: String,
    pub request_id: Option<String>,
    #[serde(skip)]
    #[schema(ignore)]
    pub prev_hash: Vec<u8>,
    #[serde(skip)]
    #[schema(ignore)]
    pub hash: Vec<u8>,
}

fn entry_hash(prev: &[u8], e: &Event) -> Vec<u8> {
    let mut h = Sha256::new();
    let seq = e.seq.to_string();
    let at = e.at.format("%Y-%m-%dT%H:%M:%S%.6f").to_string();
    for part in [
        prev,
        seq.as_bytes(),
        at.as_bytes(),
        e.portal_id.as_deref().unwrap_or("").as_bytes(),
        e.actor_type.as_bytes(),
        e.actor_id.as_bytes(),
        e.action.as_bytes(),
        e.target_type.as_bytes(),
        e.target_id.as_deref().unwrap_or("").as_bytes(),
        e.outcome.as_bytes(),
        e.request_id.as_deref().unwrap_or("").as_bytes(),
    ] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    h.finalize().to_vec()
}

/// Append an entry. Call it inside the transaction of the change it records, so the
/// change and its record commit together.
pub fn append(conn: &mut AnyConnection, new: &NewEvent<'_>) -> Result<i64, StoreError> {
    conn.write_transaction(|conn| {
        diesel::update(audit_head::table.find(1))
            .set(audit_head::seq.eq(audit_head::seq + 1))
            .execute(conn)?;
        let (seq, prev): (i64, Vec<u8>) = audit_head::table
            .find(1)
            .select((audit_head::seq, audit_head::hash))
            .first(conn)?;
        let mut event = Event {
            seq,
            // Both backends keep microseconds; hash what will be read back.
            at: chrono::Utc::now().naive_utc().trunc_subsecs(6),
            portal_id: new.portal.map(|p| p.as_str().to_owned()),
            actor_type: new.actor_type.as_str().to_owned(),
            actor_id: new.actor_id.to_owned(),
            action: new.action.to_owned(),
            target_type: new.target_type.to_owned(),
            target_id: new.target_id.map(str::to_owned),
            outcome: new.outcome.to_owned(),
            request_id: new.request_id.map(str::to_owned),
            prev_hash: prev,
            hash: Vec::new(),
        };
        event.hash = entry_hash(&event.prev_hash, &event);
        diesel::insert_into(audit_events::table)
            .values((
                audit_events::seq.eq(event.seq),
                audit_events::at.eq(event.at),
                audit_events::portal_id.eq(&event.portal_id),
                audit_events::actor_type.eq(&event.actor_type),
                audit_events::actor_id.eq(&event.actor_id),
                audit_events::action.eq(&event.action),
                audit_events::target_type.eq(&event.target_type),
                audit_events::target_id.eq(&event.target_id),
                audit_events::outcome.eq(&event.outcome),
                audit_events::request_id.eq(&event.request_id),
                audit_events::prev_hash.eq(&event.prev_hash),
                audit_events::hash.eq(&event.hash),
            ))
            .execute(conn)?;
        diesel::update(audit_head::table.find(1))
            .set(audit_head::hash.eq(&event.hash))
            .execute(conn)?;
        Ok(seq)
    })
}

/// A portal's own entries after `after_seq`, oldest first.
pub fn list(
    conn: &mut AnyConnection,
    portal: &PortalId,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<Event>, StoreError> {
    Ok(audit_events::table
        .filter(audit_events::portal_id.eq(portal.as_str()))
        .filter(audit_events::seq.gt(after_seq))
        .order(audit_events::seq)
        .limit(limit)
        .load(conn)?)
}

/// Where the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("audit log broken at entry {seq}: {reason}")]
pub struct Broken {
    pub seq: i64,
    pub reason: String,
}

/// Check the whole chain; returns how many entries were verified.
pub fn verify(conn: &mut AnyConnection) -> Result<Result<i64, Broken>, StoreError> {
    let mut prev = vec![0u8; 32];
    let mut expected = 1i64;
    let mut last = 0i64;
    loop {
        let batch: Vec<Event> = audit_events::table
            .filter(audit_events::seq.gt(last))
            .order(audit_events::seq)
            .limit(1000)
            .load(conn)?;
        if batch.is_empty() {
            break;
        }
        for e in batch {
            let broken = |reason: &str| Broken {
                seq: e.seq,
                reason: reason.to_owned(),
            };
            if e.seq != expected {
                return Ok(Err(Broken {
                    seq: expected,
                    reason: format!("missing (the next entry present is {})", e.seq),
                }));
            }
            if e.prev_hash != prev {
                return Ok(Err(broken("does not follow the previous entry")));
            }
            if entry_hash(&prev, &e) != e.hash {
                return Ok(Err(broken("altered: its hash does not match its contents")));
            }
            prev = e.hash;
            last = e.seq;
            expected += 1;
        }
    }
    let (head_seq, head_hash): (i64, Vec<u8>) = audit_head::table
        .find(1)
        .select((audit_head::seq, audit_head::hash))
        .first(conn)?;
    if head_seq != last || head_hash != prev {
        return Ok(Err(Broken {
            seq: last + 1,
            reason: format!("missing: the log ends at {last} but {head_seq} entries were written"),
        }));
    }
    Ok(Ok(last))
}
