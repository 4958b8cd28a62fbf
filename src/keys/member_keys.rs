//! Members' data keys: random 256-bit keys, stored only wrapped by a ring KEK.

use super::ring::{to_i32, to_u32};
use super::{KeyError, KeyRing};
use crate::crypto::{open, seal, Aad, SecretKey};
use crate::db::schema::member_keys;
use crate::db::AnyConnection;
use diesel::prelude::*;

/// Member data keys are version 1 until data-key rotation exists.
pub const DATA_KEY_VERSION: u32 = 1;
const TABLE: &str = "member_keys";

fn aad(member: &str) -> Aad<'_> {
    Aad::new(TABLE, member, Some(member))
}

/// Wrap `data_key` under the ring's newest KEK and store it for `member`.
pub fn store_member_key(
    conn: &mut AnyConnection,
    ring: &KeyRing,
    member: &str,
    data_key: &SecretKey,
) -> Result<(), KeyError> {
    let kek = ring.current_kek(conn)?;
    diesel::insert_into(member_keys::table)
        .values((
            member_keys::member_id.eq(member),
            member_keys::kek_version.eq(to_i32(kek.version())),
            member_keys::wrapped.eq(seal(&kek, &aad(member), data_key.expose())),
            member_keys::created_at.eq(chrono::Utc::now().naive_utc()),
        ))
        .execute(conn)?;
    Ok(())
}

/// The member's data key, unwrapped.
pub fn member_key(
    conn: &mut AnyConnection,
    ring: &KeyRing,
    member: &str,
) -> Result<SecretKey, KeyError> {
    let (version, wrapped): (i32, Vec<u8>) = member_keys::table
        .find(member)
        .select((member_keys::kek_version, member_keys::wrapped))
        .first(conn)
        .optional()?
        .ok_or_else(|| KeyError::MissingMemberKey {
            member: member.to_owned(),
        })?;
    unwrap_member_key(conn, ring, member, version, &wrapped)
}

/// The member's data key from its stored row (`kek_version`, `wrapped`), read by
/// the caller, e.g. joined into a query it makes anyway.
pub fn unwrap_member_key(
    conn: &mut AnyConnection,
    ring: &KeyRing,
    member: &str,
    kek_version: i32,
    wrapped: &[u8],
) -> Result<SecretKey, KeyError> {
    let kek = ring.kek(conn, to_u32(kek_version))?;
    let bytes = open(&kek, &aad(member), wrapped)?;
    Ok(SecretKey::from_slice(DATA_KEY_VERSION, &bytes)?)
}

/// Re-wrap one member key from `old` to `new`. Returns 1 if this call re-wrapped it,
/// 0 if the row changed meanwhile (erased, or already re-wrapped).
pub(super) fn rewrap(
    conn: &mut AnyConnection,
    ring: &KeyRing,
    member: &str,
    old: u32,
    new: &SecretKey,
) -> Result<usize, KeyError> {
    let old_kek = ring.kek(conn, old)?;
    let wrapped: Option<Vec<u8>> = member_keys::table
        .find(member)
        .filter(member_keys::kek_version.eq(to_i32(old)))
        .select(member_keys::wrapped)
        .first(conn)
        .optional()?;
    let Some(wrapped) = wrapped else {
        return Ok(0);
    };
    let data_key = open(&old_kek, &aad(member), &wrapped)?;
    let rewrapped = seal(new, &aad(member), &data_key);
    Ok(diesel::update(
        member_keys::table
            .find(member)
            .filter(member_keys::kek_version.eq(to_i32(old))),
    )
    .set((
        member_keys::kek_version.eq(to_i32(new.version())),
        member_keys::wrapped.eq(rewrapped),
    ))
    .execute(conn)?)
}
