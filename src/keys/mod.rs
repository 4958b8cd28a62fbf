//! The key hierarchy (see docs/SECURITY.md).
//!
//! ```text
//! master key (env TRIBUTARY_MASTER_KEY, a key file, or a generated development key; never stored)
//!   └─ seals the key ring rows in `key_ring`:
//!        kek v1, v2, …   key-encryption keys; the newest wraps new member keys
//!        index v1        keys the lookup hashes of personal identifiers (User Keys)
//!          └─ a kek wraps each member's data key in `member_keys`
//!               └─ the member's data key seals that member's records and tokens
//! ```
//!
//! Policy: key material is only ever held in [`SecretKey`](crate::crypto::SecretKey)s
//! and never logged. Rotation adds a ring version and re-wraps member keys; it never
//! re-encrypts data. Destroying a member's key row makes everything sealed with it
//! unreadable.

mod master;
mod member_keys;
mod ring;

pub use master::{backup_key, load_master_key};
pub use member_keys::{member_key, store_member_key, unwrap_member_key, DATA_KEY_VERSION};
pub use ring::{receipt_seed, KeyRing, Rotation};

use crate::crypto::CryptoError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum KeyError {
    #[error("master key: {0}")]
    Master(String),
    #[error(
        "the master key does not open key ring entry {entry}: wrong master key for this database"
    )]
    WrongMasterKey { entry: String },
    #[error("key ring has no {0}")]
    MissingRingEntry(String),
    #[error("member {member} has no data key (erased?)")]
    MissingMemberKey { member: String },
    #[error("another key rotation created version {0} at the same time; run it again")]
    ConcurrentRotation(u32),
    #[error("sealed key does not open: {0}")]
    Crypto(#[from] CryptoError),
    #[error("key storage: {0}")]
    Db(#[from] diesel::result::Error),
}
