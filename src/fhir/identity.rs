//! Deterministic identity of Observations.
//!
//! Policy: the same measurement synced twice must become the same Observation, so
//! nothing here is random or time-dependent.
//!
//! - `identifier` (system [`IDENTIFIER_SYSTEM`]): the hex SHA-256 of the vendor, the
//!   metric and the vendor's record id when there is one; otherwise of the vendor,
//!   the device, the metric, the effective time, the value and the unit. The metric
//!   is part of it because one vendor record can carry several metrics (a scale's
//!   measure group with weight and body fat under one id). Workout members take the
//!   panel's identifier plus a suffix (`-duration`, `-energy`, `-distance`).
//! - `id`: the first 32 hex digits of SHA-256(member id, `\n`, identifier value), so
//!   two members never share a resource id and the store can upsert on it.

use sha2::{Digest, Sha256};

/// The identifier system of every Observation the hub emits.
pub const IDENTIFIER_SYSTEM: &str = "urn:tributary:sid:observation";

/// SHA-256 of the parts, each followed by a newline, as lower-case hex.
pub(crate) fn digest(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update(b"\n");
    }
    hex(&hasher.finalize())
}

/// The resource id of the Observation with identifier value `identifier`.
pub fn observation_id(member_id: &str, identifier: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(member_id.as_bytes());
    hasher.update(b"\n");
    hasher.update(identifier.as_bytes());
    // 32 hex digits: the first 16 bytes.
    hex(&hasher.finalize()[..16])
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_stable_and_separate_their_parts() {
        assert_eq!(digest(&["demo", "x"]), digest(&["demo", "x"]));
        assert_ne!(digest(&["ab", "c"]), digest(&["a", "bc"]));
        // SHA-256("a\n")
        assert_eq!(
            digest(&["a"]),
            "87428fc522803d31065e7bce3cf03fe475096631e5e07bbd7a0fde60c4cf25c7"
        );
        let id = observation_id("m1", "abc");
        assert_eq!(id.len(), 32);
        assert_ne!(id, observation_id("m2", "abc"));
    }
}
