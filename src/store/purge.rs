//! Deleting what consent no longer covers.
//!
//! Policy: data the member no longer shares is deleted at once, in the transaction
//! that records the change, never left for a later job. Narrowing a grant deletes
//! the observations of the data types removed and their sync progress and queued
//! jobs; revoking a connection deletes all of its data; erasing a member deletes
//! every row that names it. Each function counts what it deleted, by kind, for the
//! audit log and the deletion receipt.

use super::StoreError;
use crate::db::schema::{
    connect_sessions, connection_tokens, connections, consent_events, exports,
    fhir_push_rejections, jobs, member_keys, members, oauth_states, observation_codes,
    observations, sync_state,
};
use crate::db::AnyConnection;
use crate::domain::MemberId;
use diesel::prelude::*;
use std::collections::BTreeMap;

/// Rows deleted, by kind (`observations`, `tokens`, …). Kinds with none are left out.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Counts(pub BTreeMap<String, u64>);

impl Counts {
    pub fn add(&mut self, kind: &str, n: usize) {
        if n > 0 {
            *self.0.entry(kind.to_owned()).or_default() += n as u64;
        }
    }

    pub fn merge(&mut self, other: Counts) {
        for (k, v) in other.0 {
            *self.0.entry(k).or_default() += v;
        }
    }

    pub fn get(&self, kind: &str) -> u64 {
        self.0.get(kind).copied().unwrap_or(0)
    }
}

/// Which of a connection's data types to delete.
#[derive(Debug, Clone, Copy)]
pub enum Types<'a> {
    /// Everything (a revocation).
    All,
    /// Only these (a narrowed grant).
    Only(&'a [String]),
}

/// Delete the member's observations from `vendor` of `types`, with their code index
/// rows, push rejections, sync progress and the connection's queued jobs for them.
/// Call inside the transaction that records the consent change.
pub fn connection_data(
    conn: &mut AnyConnection,
    member: &MemberId,
    vendor: &str,
    connection_id: &str,
    types: Types<'_>,
) -> Result<Counts, StoreError> {
    let mut counts = Counts::default();
    if let Types::Only([]) = types {
        return Ok(counts);
    }
    let m = member.as_str();
    // In batches of ids: no subquery diesel's two-backend connection cannot box,
    // and no statement over the backends' limits on bound values.
    loop {
        let q = observations::table
            .filter(observations::member_id.eq(m))
            .filter(observations::vendor.eq(vendor))
            .select(observations::id)
            .limit(BATCH);
        let ids: Vec<String> = match types {
            Types::All => q.load(conn)?,
            Types::Only(t) => q.filter(observations::data_type.eq_any(t)).load(conn)?,
        };
        if ids.is_empty() {
            break;
        }
        counts.add("observations", observations_by_id(conn, &ids)?);
    }
    let queued = jobs::table
        .filter(jobs::connection_id.eq(connection_id))
        .filter(jobs::state.eq(super::jobs::QUEUED));
    let states = sync_state::table.filter(sync_state::connection_id.eq(connection_id));
    let (jobs_gone, states_gone) = match types {
        Types::All => (
            diesel::delete(queued).execute(conn)?,
            diesel::delete(states).execute(conn)?,
        ),
        Types::Only(t) => (
            diesel::delete(queued.filter(jobs::data_type.eq_any(t))).execute(conn)?,
            diesel::delete(states.filter(sync_state::data_type.eq_any(t))).execute(conn)?,
        ),
    };
    counts.add("jobs", jobs_gone);
    counts.add("sync_state", states_gone);
    counts.add(
        "bulk_exports",
        bulk_exports_of_members_portal(conn, member)?,
    );
    Ok(counts)
}

/// Delete the Bulk Data exports of the member's portal: made before now, they may
/// hold data no longer shared, under their own keys (their chunks go by cascade).
/// The portal asks for a new export.
fn bulk_exports_of_members_portal(
    conn: &mut AnyConnection,
    member: &MemberId,
) -> Result<usize, StoreError> {
    let portal: Option<String> = members::table
        .find(member.as_str())
        .select(members::portal_id)
        .first(conn)
        .optional()?;
    let Some(portal) = portal else {
        return Ok(0);
    };
    Ok(diesel::delete(exports::table.filter(exports::portal_id.eq(&portal))).execute(conn)?)
}

/// Ids per delete statement.
const BATCH: i64 = 5000;

/// Delete these observations with their code index rows and push rejections.
fn observations_by_id(conn: &mut AnyConnection, ids: &[String]) -> Result<usize, StoreError> {
    diesel::delete(
        fhir_push_rejections::table.filter(fhir_push_rejections::observation_id.eq_any(ids)),
    )
    .execute(conn)?;
    diesel::delete(observation_codes::table.filter(observation_codes::observation_id.eq_any(ids)))
        .execute(conn)?;
    Ok(diesel::delete(observations::table.filter(observations::id.eq_any(ids))).execute(conn)?)
}

/// Delete every row of a member: observations, connections and their tokens,
/// consent history, sessions, jobs, and the member row with its data key (so
/// whatever was sealed with it, anywhere, no longer opens). Events are the caller's
/// (`events::forget_member`). Bulk exports of the member's portal made before now
/// may hold the member's data under their own keys: they are deleted too.
pub fn member(conn: &mut AnyConnection, member: &MemberId) -> Result<Counts, StoreError> {
    let mut counts = Counts::default();
    let m = member.as_str();
    let _portal: String = members::table
        .find(m)
        .select(members::portal_id)
        .first(conn)
        .optional()?
        .ok_or(StoreError::NotFound)?;
    let connection_rows: Vec<(String, String)> = connections::table
        .filter(connections::member_id.eq(m))
        .select((connections::id, connections::vendor))
        .load(conn)?;
    for (id, vendor) in &connection_rows {
        counts.merge(connection_data(conn, member, vendor, id, Types::All)?);
        // Running and finished jobs of the connection too: their rows name it.
        counts.add(
            "jobs",
            diesel::delete(jobs::table.filter(jobs::connection_id.eq(id))).execute(conn)?,
        );
    }
    // Observations of vendors no longer connected (none should be left; be sure).
    loop {
        let ids: Vec<String> = observations::table
            .filter(observations::member_id.eq(m))
            .select(observations::id)
            .limit(BATCH)
            .load(conn)?;
        if ids.is_empty() {
            break;
        }
        counts.add("observations", observations_by_id(conn, &ids)?);
    }
    counts.add(
        "tokens",
        diesel::delete(connection_tokens::table.filter(connection_tokens::member_id.eq(m)))
            .execute(conn)?,
    );
    counts.add(
        "consent_events",
        diesel::delete(consent_events::table.filter(consent_events::member_id.eq(m)))
            .execute(conn)?,
    );
    counts.add(
        "connections",
        diesel::delete(connections::table.filter(connections::member_id.eq(m))).execute(conn)?,
    );
    counts.add(
        "connect_sessions",
        diesel::delete(connect_sessions::table.filter(connect_sessions::member_id.eq(m)))
            .execute(conn)?,
    );
    diesel::delete(oauth_states::table.filter(oauth_states::member_id.eq(m))).execute(conn)?;
    counts.add(
        "bulk_exports",
        bulk_exports_of_members_portal(conn, member)?,
    );
    counts.add(
        "data_keys",
        diesel::delete(member_keys::table.find(m)).execute(conn)?,
    );
    counts.add(
        "members",
        diesel::delete(members::table.find(m)).execute(conn)?,
    );
    Ok(counts)
}

/// Delete observations whose effective start is before `before_us` (µs since the
/// epoch), a batch per transaction; returns how many went. Idempotent: a second
/// run finds none.
pub fn older_than(conn: &mut AnyConnection, before_us: i64) -> Result<u64, StoreError> {
    let mut total = 0u64;
    loop {
        let n = conn.write_transaction(|conn| {
            let ids: Vec<String> = observations::table
                .filter(observations::effective_start.lt(before_us))
                .select(observations::id)
                .limit(BATCH)
                .load(conn)?;
            observations_by_id(conn, &ids)
        })?;
        total += n as u64;
        if n == 0 {
            return Ok(total);
        }
    }
}
