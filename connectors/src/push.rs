//! Vendor push: notifications a vendor sends when a member has new data, how their
//! signatures are made and checked, and what the hub reads from them.
//!
//! Policy: a notification is trusted only after its signature verifies with the
//! vendor app's client secret, over the exact bytes received, within
//! [`TOLERANCE_SECS`] of its timestamp (so a captured notification cannot be
//! replayed later). The comparison is constant-time. Errors say which check
//! failed, never the signature, the secret or the body.

use crate::sample::DataType;
use crate::{Page, TimeWindow};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use thiserror::Error;

/// How far a notification's timestamp may lie from the receiver's clock.
pub const TOLERANCE_SECS: i64 = 300;

/// One thing a notification says about one vendor account.
#[derive(Debug, Clone, PartialEq)]
pub struct PushNotice {
    /// The vendor's id of the member's account (as its token endpoint gave it).
    pub vendor_user: String,
    pub event: PushEvent,
}

/// What happened.
#[derive(Debug, Clone, PartialEq)]
pub enum PushEvent {
    /// New or changed data of this type, in this window where the vendor says so.
    NewData {
        data_type: DataType,
        window: Option<TimeWindow>,
    },
    /// The data itself (Garmin's push mode): stored as a fetched page would be, for
    /// connections that grant the type.
    Samples { data_type: DataType, page: Page },
    /// The member ended the connection at the vendor (deregistration,
    /// deauthorisation): the hub ends it too.
    Deregistered,
    /// The member changed what the vendor shares: these data types remain.
    PermissionsChanged { data_types: Vec<DataType> },
}

/// Why a notification is not accepted as the vendor's.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PushError {
    #[error("this vendor does not push")]
    NotSupported,
    #[error("the {0} header is missing")]
    MissingSignature(&'static str),
    #[error("the callback URL's {0} parameter is missing")]
    MissingToken(&'static str),
    #[error("the {0} header is not in the vendor's format")]
    Malformed(&'static str),
    #[error("the signature's timestamp is more than {TOLERANCE_SECS} s from now")]
    Stale,
    #[error("the signature does not match")]
    Mismatch,
}

/// `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`: the scheme of the
/// demo vendor, in the form several vendors use (Stripe-style timestamped HMAC).
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let mac = mac(secret, timestamp, body).finalize().into_bytes();
    let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
    format!("t={timestamp},v1={hex}")
}

/// Check a header made by [`sign`] (`header` names it in errors). Several `v1=`
/// entries are allowed (a vendor rotating its secret sends both); one must match.
pub fn verify(
    header: &'static str,
    value: Option<&str>,
    secret: &[u8],
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<(), PushError> {
    let value = value.ok_or(PushError::MissingSignature(header))?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in value.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", hex)) => {
                signatures.push(from_hex(hex).ok_or(PushError::Malformed(header))?)
            }
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(PushError::Malformed(header))?;
    if signatures.is_empty() {
        return Err(PushError::Malformed(header));
    }
    if (now.timestamp() - timestamp).abs() > TOLERANCE_SECS {
        return Err(PushError::Stale);
    }
    let good = signatures
        .iter()
        .any(|s| mac(secret, timestamp, body).verify_slice(s).is_ok());
    if good {
        Ok(())
    } else {
        Err(PushError::Mismatch)
    }
}

fn mac(secret: &[u8], timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length, so `new_from_slice` does not fail; were it to,
    // the fixed all-zero key makes every check fail, the safe side.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret)
        .unwrap_or_else(|_| <Hmac<Sha256> as Mac>::new(&Default::default()));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

fn from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default()
    }

    #[test]
    fn a_signature_verifies_only_with_its_secret_body_and_time() {
        let body = br#"{"notifications":[]}"#;
        let header = sign(b"secret", now().timestamp(), body);
        assert!(header.starts_with("t=1800000000,v1="));
        let check = |v: &str, secret: &[u8], body: &[u8], at: DateTime<Utc>| {
            verify("demo-signature", Some(v), secret, body, at)
        };
        assert_eq!(check(&header, b"secret", body, now()), Ok(()));
        assert_eq!(
            check(&header, b"other", body, now()),
            Err(PushError::Mismatch)
        );
        assert_eq!(
            check(&header, b"secret", b"{}", now()),
            Err(PushError::Mismatch)
        );
        let later = now() + chrono::Duration::seconds(TOLERANCE_SECS + 1);
        assert_eq!(
            check(&header, b"secret", body, later),
            Err(PushError::Stale)
        );
        assert_eq!(
            verify("demo-signature", None, b"secret", body, now()),
            Err(PushError::MissingSignature("demo-signature"))
        );
        for bad in ["", "t=1", "v1=00", "t=x,v1=00", "t=1800000000,v1=zz"] {
            assert_eq!(
                check(bad, b"secret", body, now()),
                Err(PushError::Malformed("demo-signature")),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn during_a_rotation_either_signature_is_accepted() {
        let body = b"x";
        let old = sign(b"old", now().timestamp(), body);
        let new = sign(b"new", now().timestamp(), body);
        let both = format!("{old},{}", new.split_once(',').map_or("", |(_, v)| v));
        for secret in [&b"old"[..], b"new"] {
            assert_eq!(verify("h", Some(&both), secret, body, now()), Ok(()));
        }
        assert_eq!(
            verify("h", Some(&both), b"third", body, now()),
            Err(PushError::Mismatch)
        );
    }
}
