//! Incidents opened, updated and resolved by operators (`tributary incident …`),
//! and the four-hourly repeat of open ones. These go through the outbox
//! (`store::events::emit`, one event per portal, no member): when an operator acts,
//! the database is there. The monitor's automatic incident is in `monitor`.

use super::store::{self, Incident};
use crate::db::schema::portals;
use crate::db::AnyConnection;
use crate::domain::PortalId;
use crate::store::events::{self, EventKind, NewEvent};
use crate::store::StoreError;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use std::time::Duration;

/// Tell every portal: one event each, queued for its endpoints that take `kind`.
pub fn announce(
    conn: &mut AnyConnection,
    kind: EventKind,
    data: &serde_json::Value,
) -> Result<usize, StoreError> {
    let ids: Vec<String> = portals::table.select(portals::id).load(conn)?;
    for id in &ids {
        let Some(portal) = PortalId::parse(id) else {
            continue;
        };
        events::emit(
            conn,
            &NewEvent {
                portal: &portal,
                member: None,
                kind,
                data: data.clone(),
            },
        )?;
    }
    Ok(ids.len())
}

/// `tributary incident open`.
pub fn open(
    conn: &mut AnyConnection,
    severity: i32,
    title: &str,
    cause: &str,
    message: &str,
) -> Result<Incident, StoreError> {
    if !(1..=4).contains(&severity) {
        return Err(StoreError::Invalid("severity must be 1 to 4".into()));
    }
    if title.trim().is_empty() {
        return Err(StoreError::Invalid("a title is required".into()));
    }
    let now = events::now();
    let incident = Incident {
        id: Incident::new_id(),
        severity,
        state: "open".into(),
        title: title.to_owned(),
        cause: cause.to_owned(),
        message: message.to_owned(),
        automatic: false,
        opened_at: now,
        updated_at: now,
        resolved_at: None,
        last_notice_at: now,
    };
    conn.write_transaction(|conn| {
        store::save_incident(conn, &incident)?;
        announce(conn, EventKind::IncidentOpened, &incident.notice_data())
    })?;
    Ok(incident)
}

/// `tributary incident update` / `resolve`: a new message (and severity), told to
/// portals.
pub fn update(
    conn: &mut AnyConnection,
    id: &str,
    message: &str,
    severity: Option<i32>,
    resolve: bool,
) -> Result<Incident, StoreError> {
    conn.write_transaction(|conn| {
        let mut incident = store::incident(conn, id)?;
        if incident.state != "open" {
            return Err(StoreError::Invalid("the incident is resolved".into()));
        }
        if let Some(s) = severity {
            if !(1..=4).contains(&s) {
                return Err(StoreError::Invalid("severity must be 1 to 4".into()));
            }
            incident.severity = s;
        }
        let now = events::now();
        incident.message = message.to_owned();
        incident.updated_at = now;
        incident.last_notice_at = now;
        let kind = if resolve {
            incident.state = "resolved".into();
            incident.resolved_at = Some(now);
            EventKind::IncidentResolved
        } else {
            EventKind::IncidentUpdated
        };
        store::save_incident(conn, &incident)?;
        announce(conn, kind, &incident.notice_data())?;
        Ok(incident)
    })
}

/// Operators' open incidents not told about for `every`: `incident.updated` again.
/// (The monitor's own incident is repeated by the monitor.)
pub fn repeat_updates(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    every: Duration,
) -> Result<(), StoreError> {
    let every = chrono::Duration::from_std(every).unwrap_or_default();
    for mut incident in store::open_incidents(conn)? {
        if incident.automatic || now - incident.last_notice_at < every {
            continue;
        }
        incident.last_notice_at = now;
        conn.write_transaction(|conn| {
            store::save_incident(conn, &incident)?;
            announce(conn, EventKind::IncidentUpdated, &incident.notice_data()).map(|_| ())
        })?;
    }
    Ok(())
}

/// Automatic incidents no process keeps up to date: the process that opened one
/// stopped (killed while the database was away) before it could resolve it. A live
/// process saves its open incident at every update, so one not updated for
/// `stale_after` (longer than the update interval) is an orphan; a process whose
/// checks pass resolves it through the outbox. `own` is the caller's incident.
pub fn resolve_orphans(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    own: Option<&str>,
    stale_after: Duration,
) -> Result<usize, StoreError> {
    let stale_after = chrono::Duration::from_std(stale_after).unwrap_or_default();
    let mut n = 0;
    for mut incident in store::open_incidents(conn)? {
        if !incident.automatic
            || own == Some(incident.id.as_str())
            || now - incident.updated_at < stale_after
        {
            continue;
        }
        incident.state = "resolved".into();
        incident.resolved_at = Some(now);
        incident.updated_at = now;
        incident.last_notice_at = now;
        incident.message = "The core functions answer again.".into();
        conn.write_transaction(|conn| {
            store::save_incident(conn, &incident)?;
            announce(conn, EventKind::IncidentResolved, &incident.notice_data()).map(|_| ())
        })?;
        n += 1;
    }
    Ok(n)
}
