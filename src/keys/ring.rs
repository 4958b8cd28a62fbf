//! The key ring: versioned key-encryption keys and the index key, stored in the
//! database sealed under the master key, held unsealed in memory while running.

use super::{member_keys, KeyError};
use crate::crypto::{open, seal, Aad, SecretKey};
use crate::db::schema::{key_ring, member_keys as member_keys_table};
use crate::db::{is_unique_violation, AnyConnection};
use diesel::prelude::*;
use std::collections::BTreeMap;
use std::sync::RwLock;

const KEK: &str = "kek";
const INDEX: &str = "index";

/// The unsealed ring. Several hub instances may share one database: a version this
/// instance has not seen (another instance rotated) is loaded on first use.
pub struct KeyRing {
    master: SecretKey,
    keks: RwLock<BTreeMap<u32, SecretKey>>,
    index: SecretKey,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyRing([redacted])")
    }
}

/// What `keys rotate` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Rotation {
    pub new_version: u32,
    pub rewrapped_member_keys: usize,
}

#[derive(Queryable)]
struct RingRow {
    purpose: String,
    version: i32,
    wrapped: Vec<u8>,
}

fn ring_aad_row(purpose: &str, version: u32) -> String {
    format!("{purpose}:{version}")
}

impl KeyRing {
    /// Open the ring stored in the database with the master key, creating it (kek v1
    /// and index v1) on first start. A wrong master key is an error, never a new ring.
    pub fn unlock(conn: &mut AnyConnection, master: SecretKey) -> Result<Self, KeyError> {
        let mut rows = load_rows(conn)?;
        if rows.is_empty() {
            let created = conn.write_transaction(|conn| {
                insert_entry(conn, &master, KEK, &SecretKey::generate(1))?;
                insert_entry(conn, &master, INDEX, &SecretKey::generate(1))
            });
            match created {
                Ok(()) => {}
                // Another instance created the ring first: use theirs.
                Err(KeyError::Db(e)) if is_unique_violation(&e) => {}
                Err(e) => return Err(e),
            }
            rows = load_rows(conn)?;
        }
        let mut keks = BTreeMap::new();
        let mut index = None;
        for row in rows {
            let key = open_entry(&master, &row)?;
            match row.purpose.as_str() {
                KEK => {
                    keks.insert(key.version(), key);
                }
                _ => index = Some(key),
            }
        }
        if keks.is_empty() {
            return Err(KeyError::MissingRingEntry("key-encryption key".into()));
        }
        let index = index.ok_or_else(|| KeyError::MissingRingEntry("index key".into()))?;
        Ok(Self {
            master,
            keks: RwLock::new(keks),
            index,
        })
    }

    /// The seed of the key that signs deletion receipts ([`receipt_seed`]).
    pub fn receipt_seed(&self) -> zeroize::Zeroizing<[u8; 32]> {
        receipt_seed(&self.master)
    }

    /// The key that seals backups' data keys (derived from the master key).
    pub fn backup_key(&self) -> SecretKey {
        super::backup_key(&self.master)
    }

    /// The key that keys lookup hashes of personal identifiers.
    pub fn index_key(&self) -> &SecretKey {
        &self.index
    }

    /// The newest key-encryption key, as the database knows it now.
    pub fn current_kek(&self, conn: &mut AnyConnection) -> Result<SecretKey, KeyError> {
        let newest: Option<i32> = key_ring::table
            .filter(key_ring::purpose.eq(KEK))
            .select(diesel::dsl::max(key_ring::version))
            .first(conn)?;
        let newest =
            newest.ok_or_else(|| KeyError::MissingRingEntry("key-encryption key".into()))?;
        self.kek(conn, to_u32(newest))
    }

    /// The key-encryption key of `version`, loading it if another instance added it.
    pub fn kek(&self, conn: &mut AnyConnection, version: u32) -> Result<SecretKey, KeyError> {
        if let Some(k) = self.cached(version) {
            return Ok(k);
        }
        let row: RingRow = key_ring::table
            .filter(key_ring::purpose.eq(KEK))
            .filter(key_ring::version.eq(to_i32(version)))
            .select((key_ring::purpose, key_ring::version, key_ring::wrapped))
            .first(conn)
            .optional()?
            .ok_or_else(|| KeyError::MissingRingEntry(format!("key-encryption key v{version}")))?;
        let key = open_entry(&self.master, &row)?;
        self.keks
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(version, key.clone());
        Ok(key)
    }

    /// Seal a hub-wide secret (one that belongs to no member) under the newest KEK.
    pub fn seal_hub_secret(
        &self,
        conn: &mut AnyConnection,
        table: &str,
        row: &str,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, KeyError> {
        let kek = self.current_kek(conn)?;
        Ok(seal(&kek, &Aad::new(table, row, None), plaintext))
    }

    /// Open a value made by [`KeyRing::seal_hub_secret`], whatever KEK version sealed it.
    pub fn open_hub_secret(
        &self,
        conn: &mut AnyConnection,
        table: &str,
        row: &str,
        sealed: &[u8],
    ) -> Result<zeroize::Zeroizing<Vec<u8>>, KeyError> {
        let kek = self.kek(conn, crate::crypto::key_version(sealed)?)?;
        Ok(open(&kek, &Aad::new(table, row, None), sealed)?)
    }

    fn cached(&self, version: u32) -> Option<SecretKey> {
        self.keks
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&version)
            .cloned()
    }

    /// Add a new key-encryption key version and re-wrap every member key under it.
    /// Sealed data is untouched: member keys do not change, only their wrapping.
    /// Safe to run while hubs serve: re-wrapping is per row and compares the version
    /// it read, and it repeats until no member key is left on an older version.
    pub fn rotate(&self, conn: &mut AnyConnection) -> Result<Rotation, KeyError> {
        let newest = self.current_kek(conn)?.version();
        let next = SecretKey::generate(newest + 1);
        match insert_entry(conn, &self.master, KEK, &next) {
            Err(KeyError::Db(e)) if is_unique_violation(&e) => {
                return Err(KeyError::ConcurrentRotation(next.version()))
            }
            other => other?,
        }
        self.keks
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(next.version(), next.clone());
        let mut rewrapped = 0;
        loop {
            let batch: Vec<(String, i32)> = member_keys_table::table
                .filter(member_keys_table::kek_version.lt(to_i32(next.version())))
                .select((member_keys_table::member_id, member_keys_table::kek_version))
                .order(member_keys_table::member_id)
                .limit(500)
                .load(conn)?;
            if batch.is_empty() {
                break;
            }
            rewrapped += conn.write_transaction(|conn| {
                let mut n = 0;
                for (member, old) in &batch {
                    n += member_keys::rewrap(conn, self, member, to_u32(*old), &next)?;
                }
                Ok::<_, KeyError>(n)
            })?;
        }
        Ok(Rotation {
            new_version: next.version(),
            rewrapped_member_keys: rewrapped,
        })
    }
}

/// The seed of the deletion-receipt signing key: an HMAC of a fixed label under the
/// master key. Every instance derives the same key, and nothing is stored for it;
/// `tributary receipt verify` derives the public key from the master key alone.
pub fn receipt_seed(master: &SecretKey) -> zeroize::Zeroizing<[u8; 32]> {
    zeroize::Zeroizing::new(crate::crypto::keyed_hash(
        master,
        &[b"tributary/deletion-receipt-signing/v1"],
    ))
}

fn load_rows(conn: &mut AnyConnection) -> Result<Vec<RingRow>, KeyError> {
    Ok(key_ring::table
        .select((key_ring::purpose, key_ring::version, key_ring::wrapped))
        .order((key_ring::purpose, key_ring::version))
        .load(conn)?)
}

fn insert_entry(
    conn: &mut AnyConnection,
    master: &SecretKey,
    purpose: &str,
    key: &SecretKey,
) -> Result<(), KeyError> {
    let row = ring_aad_row(purpose, key.version());
    let wrapped = seal(master, &Aad::new("key_ring", &row, None), key.expose());
    diesel::insert_into(key_ring::table)
        .values((
            key_ring::purpose.eq(purpose),
            key_ring::version.eq(to_i32(key.version())),
            key_ring::wrapped.eq(wrapped),
            key_ring::created_at.eq(chrono::Utc::now().naive_utc()),
        ))
        .execute(conn)?;
    Ok(())
}

fn open_entry(master: &SecretKey, row: &RingRow) -> Result<SecretKey, KeyError> {
    let version = to_u32(row.version);
    let name = ring_aad_row(&row.purpose, version);
    let bytes = open(master, &Aad::new("key_ring", &name, None), &row.wrapped).map_err(|_| {
        KeyError::WrongMasterKey {
            entry: name.clone(),
        }
    })?;
    Ok(SecretKey::from_slice(version, &bytes)?)
}

/// Versions are positive (a CHECK constraint says so); these conversions saturate
/// instead of wrapping should a row ever say otherwise.
pub(super) fn to_u32(v: i32) -> u32 {
    u32::try_from(v).unwrap_or(0)
}

pub(super) fn to_i32(v: u32) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}
