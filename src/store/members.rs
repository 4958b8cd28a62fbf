//! Members: created with their own data key; the User Key is sealed and hashed.

use super::events::{self, EventKind, NewEvent};
use super::StoreError;
use crate::crypto::{keyed_hash, open, seal, Aad, SecretKey};
use crate::db::schema::members;
use crate::db::AnyConnection;
use crate::domain::{MemberId, PortalId, UserKey};
use crate::keys::{member_key, store_member_key, KeyRing};
use chrono::NaiveDateTime;
use diesel::prelude::*;

const TABLE: &str = "members";

#[derive(Debug, Clone)]
pub struct Member {
    pub id: MemberId,
    pub portal_id: PortalId,
    pub user_key: UserKey,
    pub created_at: NaiveDateTime,
}

/// The lookup hash of a User Key within one portal.
fn user_key_hash(ring: &KeyRing, portal: &PortalId, user_key: &UserKey) -> Vec<u8> {
    keyed_hash(
        ring.index_key(),
        &[
            b"user_key",
            portal.as_str().as_bytes(),
            user_key.expose().as_bytes(),
        ],
    )
    .to_vec()
}

fn aad(member: &MemberId) -> Aad<'_> {
    Aad::new(TABLE, member.as_str(), Some(member.as_str()))
}

/// Create a member of `portal` with a new data key. [`StoreError::Conflict`] if the
/// portal already has a member with this User Key.
pub fn create(
    conn: &mut AnyConnection,
    ring: &KeyRing,
    portal: &PortalId,
    user_key: &UserKey,
) -> Result<Member, StoreError> {
    let member = Member {
        id: MemberId::new(),
        portal_id: portal.clone(),
        user_key: user_key.clone(),
        created_at: chrono::Utc::now().naive_utc(),
    };
    let data_key = SecretKey::generate(crate::keys::DATA_KEY_VERSION);
    conn.write_transaction(|conn| {
        diesel::insert_into(members::table)
            .values((
                members::id.eq(member.id.as_str()),
                members::portal_id.eq(portal.as_str()),
                members::user_key_hash.eq(user_key_hash(ring, portal, user_key)),
                members::user_key_sealed.eq(seal(
                    &data_key,
                    &aad(&member.id),
                    user_key.expose().as_bytes(),
                )),
                members::created_at.eq(member.created_at),
            ))
            .execute(conn)?;
        store_member_key(conn, ring, member.id.as_str(), &data_key)?;
        events::emit(
            conn,
            &NewEvent {
                portal,
                member: Some(&member.id),
                kind: EventKind::MemberCreated,
                data: serde_json::json!({}),
            },
        )?;
        Ok::<_, StoreError>(())
    })?;
    Ok(member)
}

/// The member of `portal` with this User Key.
pub fn find(
    conn: &mut AnyConnection,
    ring: &KeyRing,
    portal: &PortalId,
    user_key: &UserKey,
) -> Result<Member, StoreError> {
    let id: String = members::table
        .filter(members::portal_id.eq(portal.as_str()))
        .filter(members::user_key_hash.eq(user_key_hash(ring, portal, user_key)))
        .select(members::id)
        .first(conn)
        .optional()?
        .ok_or(StoreError::NotFound)?;
    let id = MemberId::parse(&id).ok_or_else(|| StoreError::Corrupt("member id".into()))?;
    get(conn, ring, &id)
}

/// A member by the hub's id, with its User Key unsealed.
pub fn get(conn: &mut AnyConnection, ring: &KeyRing, id: &MemberId) -> Result<Member, StoreError> {
    let (portal_id, sealed, created_at): (String, Vec<u8>, NaiveDateTime) = members::table
        .find(id.as_str())
        .select((
            members::portal_id,
            members::user_key_sealed,
            members::created_at,
        ))
        .first(conn)
        .optional()?
        .ok_or(StoreError::NotFound)?;
    let data_key = member_key(conn, ring, id.as_str())?;
    let plain = open(&data_key, &aad(id), &sealed)
        .map_err(|e| StoreError::Corrupt(format!("member {id} user_key: {e}")))?;
    let user_key = std::str::from_utf8(&plain)
        .ok()
        .and_then(|s| UserKey::parse(s).ok())
        .ok_or_else(|| StoreError::Corrupt(format!("member {id} user_key")))?;
    Ok(Member {
        id: id.clone(),
        portal_id: PortalId::parse(&portal_id)
            .ok_or_else(|| StoreError::Corrupt(format!("member {id} portal_id")))?,
        user_key,
        created_at,
    })
}

/// Erase a member: its row and its data key, in one transaction. Whatever was sealed
/// with the key is unreadable from then on.
pub fn erase(conn: &mut AnyConnection, id: &MemberId) -> Result<(), StoreError> {
    use crate::db::schema::member_keys;
    conn.write_transaction(|conn| {
        diesel::delete(member_keys::table.find(id.as_str())).execute(conn)?;
        let n = diesel::delete(members::table.find(id.as_str())).execute(conn)?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    })
}
