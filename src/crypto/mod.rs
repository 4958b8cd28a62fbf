//! Authenticated encryption primitives: [`seal`] and [`open`] with AES-256-GCM.
//!
//! Policy: every secret or health record the hub stores goes through [`seal`]. Each
//! call draws a fresh random 96-bit nonce. The associated data ([`Aad`]) binds the
//! ciphertext to its table, row and member, and to the ciphertext's own header, so a
//! ciphertext copied to another row, another member or another table fails to open.
//! Opening never returns garbage: a wrong key, wrong context, truncated or altered
//! input is a [`CryptoError`]. Key material lives in [`SecretKey`], which zeroes
//! itself on drop and never prints.
//!
//! Sealed format, version 1 (all integers big-endian):
//!
//! ```text
//! 0x01 | key version (u32) | nonce (12 bytes) | ciphertext | GCM tag (16 bytes)
//! ```
//!
//! The key version says which key sealed it (a key-ring version, or a member's data
//! key version); it is authenticated as part of the associated data.

mod seal;

pub use seal::{key_version, open, seal, Aad, CryptoError, SecretKey, FORMAT_V1, HEADER_LEN};

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// HMAC-SHA256 of `parts`, each length-prefixed so that `("ab","c")` and `("a","bc")`
/// differ. Used for keyed lookup hashes of personal identifiers.
pub fn keyed_hash(key: &SecretKey, parts: &[&[u8]]) -> [u8; 32] {
    // A 32-byte key is always a valid HMAC key; the error branch cannot happen.
    let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(key.expose()) {
        Ok(m) => m,
        Err(_) => unreachable_hmac(),
    };
    for part in parts {
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

#[cold]
fn unreachable_hmac() -> ! {
    panic!("HMAC-SHA256 accepts keys of any length")
}
