//! Portals: the hub's tenants.

use super::StoreError;
use crate::db::schema::portals;
use crate::db::AnyConnection;
use crate::domain::PortalId;
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone)]
pub struct Portal {
    pub id: PortalId,
    pub name: String,
    pub created_at: NaiveDateTime,
}

pub fn create(conn: &mut AnyConnection, name: &str) -> Result<Portal, StoreError> {
    let portal = Portal {
        id: PortalId::new(),
        name: name.to_owned(),
        created_at: chrono::Utc::now().naive_utc(),
    };
    diesel::insert_into(portals::table)
        .values((
            portals::id.eq(portal.id.as_str()),
            portals::name.eq(&portal.name),
            portals::created_at.eq(portal.created_at),
        ))
        .execute(conn)?;
    Ok(portal)
}

pub fn get(conn: &mut AnyConnection, id: &PortalId) -> Result<Portal, StoreError> {
    let (name, created_at): (String, NaiveDateTime) = portals::table
        .find(id.as_str())
        .select((portals::name, portals::created_at))
        .first(conn)
        .optional()?
        .ok_or(StoreError::NotFound)?;
    Ok(Portal {
        id: id.clone(),
        name,
        created_at,
    })
}
