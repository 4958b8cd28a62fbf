//! Reading the consent history that [`super::connections`] records: every change
//! of what a member shares with which vendor, through which channel.
//!
//! Policy: every read is filtered by portal, so another portal's member or event
//! reads as nothing. The history holds no PHI beyond ids, vendor and data types;
//! it goes when the member is erased (cascade).

use super::connect_sessions::parse_list;
use super::StoreError;
use crate::db::schema::consent_events;
use crate::db::AnyConnection;
use crate::domain::{MemberId, PortalId};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// One recorded change of a member's grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentEvent {
    pub id: String,
    pub portal_id: String,
    pub member_id: String,
    pub vendor: String,
    /// `granted`, `reconnected`, `changed`, `revoked` or `reauth_required`.
    pub action: String,
    pub data_types: Vec<String>,
    pub scopes: Vec<String>,
    /// `consent_page`, `api`, `vendor` or `hub`.
    pub channel: String,
    /// When it took effect (UTC).
    pub at: NaiveDateTime,
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
    NaiveDateTime,
);

const COLUMNS: (
    consent_events::id,
    consent_events::portal_id,
    consent_events::member_id,
    consent_events::vendor,
    consent_events::action,
    consent_events::data_types,
    consent_events::scopes,
    consent_events::channel,
    consent_events::at,
) = (
    consent_events::id,
    consent_events::portal_id,
    consent_events::member_id,
    consent_events::vendor,
    consent_events::action,
    consent_events::data_types,
    consent_events::scopes,
    consent_events::channel,
    consent_events::at,
);

fn from_row(r: Row) -> Result<ConsentEvent, StoreError> {
    Ok(ConsentEvent {
        data_types: parse_list(&r.5)?,
        scopes: parse_list(&r.6)?,
        id: r.0,
        portal_id: r.1,
        member_id: r.2,
        vendor: r.3,
        action: r.4,
        channel: r.7,
        at: r.8,
    })
}

/// The member's whole history, oldest first (empty for another portal's member).
pub fn history(
    conn: &mut AnyConnection,
    portal: &PortalId,
    member: &MemberId,
) -> Result<Vec<ConsentEvent>, StoreError> {
    let rows: Vec<Row> = consent_events::table
        .filter(consent_events::member_id.eq(member.as_str()))
        .filter(consent_events::portal_id.eq(portal.as_str()))
        .order((consent_events::at, consent_events::id))
        .select(COLUMNS)
        .load(conn)?;
    rows.into_iter().map(from_row).collect()
}

/// The member an event of `portal` is about; [`StoreError::NotFound`] otherwise.
pub fn member_of(
    conn: &mut AnyConnection,
    portal: &PortalId,
    id: &str,
) -> Result<MemberId, StoreError> {
    let member: String = consent_events::table
        .find(id)
        .filter(consent_events::portal_id.eq(portal.as_str()))
        .select(consent_events::member_id)
        .first(conn)
        .optional()?
        .ok_or(StoreError::NotFound)?;
    MemberId::parse(&member).ok_or_else(|| StoreError::Corrupt("consent event member".into()))
}
