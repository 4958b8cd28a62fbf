//! The operations tables: availability samples (with the vendors each round saw up
//! or down), maintenance windows, incidents and the incident notices sent outside
//! the outbox. None of them names a portal or a member.

use super::sla::{Sample, Window};
use crate::db::schema::{availability_samples, incident_notices, incidents, maintenance_windows};
use crate::db::AnyConnection;
use crate::store::StoreError;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;

fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

/// Write buffered samples (with the times they were taken) in one transaction.
pub fn insert_samples(conn: &mut AnyConnection, samples: &[Sample]) -> Result<(), StoreError> {
    conn.write_transaction(|conn| {
        // One row at a time: diesel's MultiConnection has no batch insert. A flush
        // after an outage is a few thousand rows in one transaction at most.
        for s in samples {
            diesel::insert_into(availability_samples::table)
                .values((
                    availability_samples::id.eq(new_id("smp")),
                    availability_samples::instance.eq(&s.instance),
                    availability_samples::at.eq(s.at),
                    availability_samples::ok.eq(s.ok),
                    availability_samples::failed.eq(s.failed.join(",")),
                    availability_samples::interval_ms.eq(s.interval_ms),
                    availability_samples::vendors_up.eq(vendor_list(&s.vendors, true)),
                    availability_samples::vendors_down.eq(vendor_list(&s.vendors, false)),
                ))
                .execute(conn)?;
        }
        Ok(())
    })
}

/// Samples taken in `[from, until)`, and the last of each instance before `from`
/// (it may still stand at `from`).
pub fn samples(
    conn: &mut AnyConnection,
    from: NaiveDateTime,
    until: NaiveDateTime,
) -> Result<Vec<Sample>, StoreError> {
    type Row = (String, NaiveDateTime, bool, String, i64, String, String);
    let lead = from - chrono::Duration::hours(1);
    let rows: Vec<Row> = availability_samples::table
        .filter(availability_samples::at.ge(lead))
        .filter(availability_samples::at.lt(until))
        .select((
            availability_samples::instance,
            availability_samples::at,
            availability_samples::ok,
            availability_samples::failed,
            availability_samples::interval_ms,
            availability_samples::vendors_up,
            availability_samples::vendors_down,
        ))
        .order(availability_samples::at.asc())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(instance, at, ok, failed, interval_ms, up, down)| {
            let mut vendors = BTreeMap::new();
            for (list, state) in [(&up, true), (&down, false)] {
                vendors.extend(names(list).map(|v| (v, state)));
            }
            Sample {
                instance,
                at,
                ok,
                failed: names(&failed).collect(),
                interval_ms,
                vendors,
            }
        })
        .collect())
}

/// A comma-separated list as stored (components, vendor ids: none has a comma).
fn names(list: &str) -> impl Iterator<Item = String> + '_ {
    list.split(',').filter(|c| !c.is_empty()).map(str::to_owned)
}

/// The vendors in `state` (`true` up), comma-separated.
fn vendor_list(vendors: &BTreeMap<String, bool>, state: bool) -> String {
    vendors
        .iter()
        .filter(|(_, up)| **up == state)
        .map(|(v, _)| v.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// Whether an instance other than `me` serves at `now`: its latest sample (of the
/// last hour) passed and was taken within twice its interval.
pub fn another_serves(
    conn: &mut AnyConnection,
    me: &str,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let rows: Vec<(String, NaiveDateTime, bool, i64)> = availability_samples::table
        .filter(availability_samples::at.ge(now - chrono::Duration::hours(1)))
        .filter(availability_samples::instance.ne(me))
        .select((
            availability_samples::instance,
            availability_samples::at,
            availability_samples::ok,
            availability_samples::interval_ms,
        ))
        .order(availability_samples::at.desc())
        .load(conn)?;
    let mut seen = std::collections::BTreeSet::new();
    Ok(rows.into_iter().any(|(instance, at, ok, interval_ms)| {
        // Newest first: an instance's first row is its latest sample.
        seen.insert(instance)
            && ok
            && at + chrono::Duration::milliseconds(2 * interval_ms.max(1)) >= now
    }))
}

pub fn first_sample(conn: &mut AnyConnection) -> Result<Option<NaiveDateTime>, StoreError> {
    use diesel::dsl::min;
    Ok(availability_samples::table
        .select(min(availability_samples::at))
        .first(conn)?)
}

/// Maintenance windows overlapping `[from, until)`.
pub fn windows(
    conn: &mut AnyConnection,
    from: NaiveDateTime,
    until: NaiveDateTime,
) -> Result<Vec<Window>, StoreError> {
    type Row = (NaiveDateTime, NaiveDateTime, String, Option<NaiveDateTime>);
    let rows: Vec<Row> = maintenance_windows::table
        .filter(maintenance_windows::ends_at.gt(from))
        .filter(maintenance_windows::starts_at.lt(until))
        .select((
            maintenance_windows::starts_at,
            maintenance_windows::ends_at,
            maintenance_windows::reason,
            maintenance_windows::announced_at,
        ))
        .order(maintenance_windows::starts_at.asc())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(start, end, reason, announced_at)| Window {
            start,
            end,
            reason,
            announced: announced_at.is_some_and(|a| a <= start),
        })
        .collect())
}

/// Record a window; `None` when the same slot is already recorded. Call inside a
/// write transaction (the unique slot index settles a race between processes).
pub fn insert_window(
    conn: &mut AnyConnection,
    window: &Window,
    source: &str,
    announced_at: Option<NaiveDateTime>,
) -> Result<Option<String>, StoreError> {
    let exists: i64 = maintenance_windows::table
        .filter(maintenance_windows::starts_at.eq(window.start))
        .filter(maintenance_windows::ends_at.eq(window.end))
        .count()
        .get_result(conn)?;
    if exists > 0 {
        return Ok(None);
    }
    let id = new_id("mnt");
    let n = diesel::insert_into(maintenance_windows::table)
        .values((
            maintenance_windows::id.eq(&id),
            maintenance_windows::starts_at.eq(window.start),
            maintenance_windows::ends_at.eq(window.end),
            maintenance_windows::reason.eq(&window.reason),
            maintenance_windows::source.eq(source),
            maintenance_windows::announced_at.eq(announced_at),
            maintenance_windows::created_at.eq(crate::store::events::now()),
        ))
        .execute(conn)?;
    Ok((n > 0).then_some(id))
}

/// An incident as stored and as notices and the status page show it (no tenant data).
#[derive(Debug, Clone, Serialize, Queryable, PartialEq)]
pub struct Incident {
    pub id: String,
    pub severity: i32,
    pub state: String,
    pub title: String,
    pub cause: String,
    pub message: String,
    pub automatic: bool,
    pub opened_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub resolved_at: Option<NaiveDateTime>,
    pub last_notice_at: NaiveDateTime,
}

impl Incident {
    pub fn new_id() -> String {
        new_id("inc")
    }

    /// The incident as notices carry it.
    pub fn notice_data(&self) -> serde_json::Value {
        let t = |v: NaiveDateTime| super::sla::rfc3339(v);
        serde_json::json!({
            "incident": {
                "id": self.id,
                "severity": self.severity,
                "state": self.state,
                "title": self.title,
                "cause": self.cause,
                "message": self.message,
                "automatic": self.automatic,
                "opened_at": t(self.opened_at),
                "updated_at": t(self.updated_at),
                "resolved_at": self.resolved_at.map(t),
            }
        })
    }
}

const INCIDENT_COLUMNS: (
    incidents::id,
    incidents::severity,
    incidents::state,
    incidents::title,
    incidents::cause,
    incidents::message,
    incidents::automatic,
    incidents::opened_at,
    incidents::updated_at,
    incidents::resolved_at,
    incidents::last_notice_at,
) = (
    incidents::id,
    incidents::severity,
    incidents::state,
    incidents::title,
    incidents::cause,
    incidents::message,
    incidents::automatic,
    incidents::opened_at,
    incidents::updated_at,
    incidents::resolved_at,
    incidents::last_notice_at,
);

/// Insert or replace an incident (the monitor writes what it kept in memory).
pub fn save_incident(conn: &mut AnyConnection, i: &Incident) -> Result<(), StoreError> {
    conn.write_transaction(|conn| {
        diesel::delete(incidents::table.find(&i.id)).execute(conn)?;
        diesel::insert_into(incidents::table)
            .values((
                incidents::id.eq(&i.id),
                incidents::severity.eq(i.severity),
                incidents::state.eq(&i.state),
                incidents::title.eq(&i.title),
                incidents::cause.eq(&i.cause),
                incidents::message.eq(&i.message),
                incidents::automatic.eq(i.automatic),
                incidents::opened_at.eq(i.opened_at),
                incidents::updated_at.eq(i.updated_at),
                incidents::resolved_at.eq(i.resolved_at),
                incidents::last_notice_at.eq(i.last_notice_at),
            ))
            .execute(conn)?;
        Ok(())
    })
}

pub fn incident(conn: &mut AnyConnection, id: &str) -> Result<Incident, StoreError> {
    incidents::table
        .find(id)
        .select(INCIDENT_COLUMNS)
        .first(conn)
        .optional()?
        .ok_or(StoreError::NotFound)
}

/// Open incidents, newest first.
pub fn open_incidents(conn: &mut AnyConnection) -> Result<Vec<Incident>, StoreError> {
    Ok(incidents::table
        .filter(incidents::state.eq("open"))
        .select(INCIDENT_COLUMNS)
        .order(incidents::opened_at.desc())
        .load(conn)?)
}

/// Incidents opened since `since`, newest first.
pub fn incidents_since(
    conn: &mut AnyConnection,
    since: NaiveDateTime,
) -> Result<Vec<Incident>, StoreError> {
    Ok(incidents::table
        .filter(incidents::opened_at.ge(since))
        .select(INCIDENT_COLUMNS)
        .order(incidents::opened_at.desc())
        .load(conn)?)
}

/// A notice the monitor sent directly.
#[derive(Debug, Clone)]
pub struct Notice {
    pub id: String,
    pub incident_id: String,
    pub kind: String,
    pub endpoint_id: String,
    pub sent_at: NaiveDateTime,
    pub delivered: bool,
}

pub fn record_notices(conn: &mut AnyConnection, notices: &[Notice]) -> Result<(), StoreError> {
    conn.write_transaction(|conn| {
        for n in notices {
            diesel::delete(incident_notices::table.find(&n.id)).execute(conn)?;
            diesel::insert_into(incident_notices::table)
                .values((
                    incident_notices::id.eq(&n.id),
                    incident_notices::incident_id.eq(&n.incident_id),
                    incident_notices::kind.eq(&n.kind),
                    incident_notices::endpoint_id.eq(&n.endpoint_id),
                    incident_notices::sent_at.eq(n.sent_at),
                    incident_notices::delivered.eq(n.delivered),
                ))
                .execute(conn)?;
        }
        Ok(())
    })
}
