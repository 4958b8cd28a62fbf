//! Vendor apps: a portal's own OAuth client for one vendor. The client secret is
//! sealed under the key ring and never returned.

use super::StoreError;
use crate::db::schema::vendor_apps;
use crate::db::AnyConnection;
use crate::domain::PortalId;
use crate::keys::KeyRing;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

const TABLE: &str = "vendor_apps";

/// A vendor app as the API shows it (no secret).
#[derive(Debug, Clone, Serialize, Queryable, utoipa::ToSchema)]
pub struct VendorApp {
    pub id: String,
    pub vendor: String,
    pub client_id: String,
    pub redirect_uri: Option<String>,
    #[serde(serialize_with = "space_list")]
    #[schema(value_type = Vec<String>)]
    pub scopes: String,
    #[serde(serialize_with = "crate::domain::utc::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: NaiveDateTime,
}

fn space_list<S: serde::Serializer>(s: &str, ser: S) -> Result<S::Ok, S::Error> {
    ser.collect_seq(s.split(' ').filter(|p| !p.is_empty()))
}

const COLUMNS: (
    vendor_apps::id,
    vendor_apps::vendor,
    vendor_apps::client_id,
    vendor_apps::redirect_uri,
    vendor_apps::scopes,
    vendor_apps::created_at,
) = (
    vendor_apps::id,
    vendor_apps::vendor,
    vendor_apps::client_id,
    vendor_apps::redirect_uri,
    vendor_apps::scopes,
    vendor_apps::created_at,
);

pub struct NewVendorApp<'a> {
    pub vendor: &'a str,
    pub client_id: &'a str,
    pub client_secret: &'a SecretString,
    pub redirect_uri: Option<&'a str>,
    pub scopes: &'a [String],
}

/// Register an app; [`StoreError::Conflict`] if the portal has one for this vendor.
pub fn create(
    conn: &mut AnyConnection,
    ring: &KeyRing,
    portal: &PortalId,
    new: &NewVendorApp<'_>,
) -> Result<VendorApp, StoreError> {
    let app = VendorApp {
        id: uuid::Uuid::new_v4().to_string(),
        vendor: new.vendor.to_owned(),
        client_id: new.client_id.to_owned(),
        redirect_uri: new.redirect_uri.map(str::to_owned),
        scopes: new.scopes.join(" "),
        created_at: chrono::Utc::now().naive_utc(),
    };
    let sealed = ring.seal_hub_secret(
        conn,
        TABLE,
        &app.id,
        new.client_secret.expose_secret().as_bytes(),
    )?;
    diesel::insert_into(vendor_apps::table)
        .values((
            vendor_apps::id.eq(&app.id),
            vendor_apps::portal_id.eq(portal.as_str()),
            vendor_apps::vendor.eq(&app.vendor),
            vendor_apps::client_id.eq(&app.client_id),
            vendor_apps::client_secret_sealed.eq(sealed),
            vendor_apps::redirect_uri.eq(&app.redirect_uri),
            vendor_apps::scopes.eq(&app.scopes),
            vendor_apps::created_at.eq(app.created_at),
        ))
        .execute(conn)?;
    Ok(app)
}

pub fn list(conn: &mut AnyConnection, portal: &PortalId) -> Result<Vec<VendorApp>, StoreError> {
    Ok(vendor_apps::table
        .filter(vendor_apps::portal_id.eq(portal.as_str()))
        .order(vendor_apps::vendor)
        .select(COLUMNS)
        .load(conn)?)
}

pub fn get(conn: &mut AnyConnection, portal: &PortalId, id: &str) -> Result<VendorApp, StoreError> {
    vendor_apps::table
        .filter(vendor_apps::portal_id.eq(portal.as_str()))
        .filter(vendor_apps::id.eq(id))
        .select(COLUMNS)
        .first(conn)
        .optional()?
        .ok_or(StoreError::NotFound)
}

/// The app's client secret, for the token exchange.
pub fn client_secret(
    conn: &mut AnyConnection,
    ring: &KeyRing,
    portal: &PortalId,
    id: &str,
) -> Result<SecretString, StoreError> {
    let sealed: Vec<u8> = vendor_apps::table
        .filter(vendor_apps::portal_id.eq(portal.as_str()))
        .filter(vendor_apps::id.eq(id))
        .select(vendor_apps::client_secret_sealed)
        .first(conn)
        .optional()?
        .ok_or(StoreError::NotFound)?;
    let plain = ring.open_hub_secret(conn, TABLE, id, &sealed)?;
    let text = std::str::from_utf8(&plain)
        .map_err(|_| StoreError::Corrupt(format!("vendor app {id} client secret")))?;
    Ok(SecretString::from(text.to_owned()))
}

/// Every portal's app for `vendor` with its client secret: the keys a vendor's
/// notification may be signed with.
pub fn secrets_for_vendor(
    conn: &mut AnyConnection,
    ring: &KeyRing,
    vendor: &str,
) -> Result<Vec<(String, SecretString)>, StoreError> {
    let rows: Vec<(String, Vec<u8>)> = vendor_apps::table
        .filter(vendor_apps::vendor.eq(vendor))
        .select((vendor_apps::id, vendor_apps::client_secret_sealed))
        .load(conn)?;
    rows.into_iter()
        .map(|(id, sealed)| {
            let plain = ring.open_hub_secret(conn, TABLE, &id, &sealed)?;
            let text = std::str::from_utf8(&plain)
                .map_err(|_| StoreError::Corrupt(format!("vendor app {id} client secret")))?;
            Ok((id, SecretString::from(text.to_owned())))
        })
        .collect()
}

/// Every portal's app for `vendor`: `(portal, app id)`.
pub fn ids_for_vendor(
    conn: &mut AnyConnection,
    vendor: &str,
) -> Result<Vec<(PortalId, String)>, StoreError> {
    let rows: Vec<(String, String)> = vendor_apps::table
        .filter(vendor_apps::vendor.eq(vendor))
        .select((vendor_apps::portal_id, vendor_apps::id))
        .load(conn)?;
    rows.into_iter()
        .map(|(portal, id)| {
            let portal = PortalId::parse(&portal)
                .ok_or_else(|| StoreError::Corrupt(format!("vendor app {id} portal_id")))?;
            Ok((portal, id))
        })
        .collect()
}

pub fn delete(conn: &mut AnyConnection, portal: &PortalId, id: &str) -> Result<(), StoreError> {
    let n = diesel::delete(
        vendor_apps::table
            .filter(vendor_apps::portal_id.eq(portal.as_str()))
            .filter(vendor_apps::id.eq(id)),
    )
    .execute(conn)?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}
