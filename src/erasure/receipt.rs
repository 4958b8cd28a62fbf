//! Deletion receipts: what an erasure deleted, signed by the hub.
//!
//! A receipt names the member by its hub id (never the User Key), the portal, the
//! time, the rows deleted by kind, and the grants queued for withdrawal at vendors.
//! It is signed with Ed25519 over its canonical JSON (keys sorted, no spaces,
//! without `signature`), so reformatting the file does not break it and changing
//! any value does. The signing key is derived from the master key (HMAC-SHA256
//! under a fixed label): every instance signs with the same key, nothing secret is
//! stored for it, and the public key is in every receipt and at
//! `GET /v1/receipts/public-key`. `tributary receipt verify FILE` checks one.

use crate::store::purge::Counts;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The `type` of every receipt of this format.
pub const RECEIPT_TYPE: &str = "tributary.deletion-receipt.v1";

/// A signed deletion receipt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    #[serde(rename = "type")]
    pub kind: String,
    pub receipt_id: String,
    /// The hub's public URL, when configured.
    pub hub: Option<String>,
    pub portal_id: String,
    pub member_id: String,
    #[serde(with = "rfc3339")]
    pub erased_at: DateTime<Utc>,
    /// Rows deleted, by kind.
    pub counts: Counts,
    /// Grants queued to be withdrawn at their vendors.
    pub vendor_revocations_queued: u64,
    /// The member's data key was destroyed: whatever was sealed with it, in any
    /// copy, no longer opens.
    pub data_key_destroyed: bool,
    /// The signer's Ed25519 public key, base64url.
    pub public_key: String,
    /// Ed25519 over the canonical JSON of every other field, base64url.
    pub signature: String,
}

mod rfc3339 {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::Micros, true))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let s = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(serde::de::Error::custom)
    }
}

/// Why a receipt does not verify.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("not a deletion receipt: {0}")]
    Malformed(String),
    #[error("the public key is not an Ed25519 key")]
    BadKey,
    #[error("the signature does not match the receipt's contents (altered or forged)")]
    BadSignature,
    #[error("signed by another key than this hub's")]
    OtherSigner,
}

/// The hub's signer of deletion receipts.
pub struct ReceiptSigner {
    key: SigningKey,
}

impl std::fmt::Debug for ReceiptSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReceiptSigner([redacted])")
    }
}

impl ReceiptSigner {
    /// From a 32-byte seed (derived from the master key by the key ring).
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self {
            key: SigningKey::from_bytes(seed),
        }
    }

    /// The public key, base64url.
    pub fn public_key(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.key.verifying_key().as_bytes())
    }

    /// Sign a receipt: fills `kind`, `public_key` and `signature`.
    #[allow(clippy::too_many_arguments)]
    pub fn sign(
        &self,
        receipt_id: String,
        hub: Option<String>,
        portal_id: &str,
        member_id: &str,
        erased_at: DateTime<Utc>,
        counts: Counts,
        vendor_revocations_queued: u64,
        data_key_destroyed: bool,
    ) -> Receipt {
        let mut receipt = Receipt {
            kind: RECEIPT_TYPE.to_owned(),
            receipt_id,
            hub,
            portal_id: portal_id.to_owned(),
            member_id: member_id.to_owned(),
            // Microseconds: what the text keeps, so the signed text is the stored one.
            erased_at: DateTime::parse_from_rfc3339(
                &erased_at.to_rfc3339_opts(SecondsFormat::Micros, true),
            )
            .map_or(erased_at, |t| t.with_timezone(&Utc)),
            counts,
            vendor_revocations_queued,
            data_key_destroyed,
            public_key: self.public_key(),
            signature: String::new(),
        };
        let message = signed_text(&receipt).unwrap_or_default();
        receipt.signature = URL_SAFE_NO_PAD.encode(self.key.sign(message.as_bytes()).to_bytes());
        receipt
    }
}

/// The canonical text a receipt's signature covers.
fn signed_text(receipt: &Receipt) -> Result<String, VerifyError> {
    signed_text_of(receipt)
}

/// The canonical JSON of `value` without its `signature` member.
fn signed_text_of(value: &impl Serialize) -> Result<String, VerifyError> {
    let mut value =
        serde_json::to_value(value).map_err(|e| VerifyError::Malformed(e.to_string()))?;
    if let Value::Object(map) = &mut value {
        map.remove("signature");
    }
    let mut out = String::new();
    canonical(&value, &mut out);
    Ok(out)
}

/// The `type` of a journalled consent change.
pub const CONSENT_CHANGE_TYPE: &str = "tributary.consent-change.v1";

/// A revocation or narrowing, journalled beside the deletion receipts so a restore
/// applies it again: ids, a vendor, data type names and a time; no personal data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentChange {
    #[serde(rename = "type")]
    pub kind: String,
    pub portal_id: String,
    pub member_id: String,
    pub connection_id: String,
    pub vendor: String,
    /// The data types still shared after the change (empty when revoked).
    pub data_types: Vec<String>,
    pub revoked: bool,
    #[serde(with = "rfc3339")]
    pub at: DateTime<Utc>,
    pub public_key: String,
    pub signature: String,
}

impl ReceiptSigner {
    /// Sign a consent change: fills `kind`, `public_key` and `signature`.
    pub fn sign_change(&self, mut change: ConsentChange) -> ConsentChange {
        change.kind = CONSENT_CHANGE_TYPE.to_owned();
        change.public_key = self.public_key();
        change.signature = String::new();
        let message = signed_text_of(&change).unwrap_or_default();
        change.signature = URL_SAFE_NO_PAD.encode(self.key.sign(message.as_bytes()).to_bytes());
        change
    }
}

/// Parse and verify a journalled consent change (as [`verify`] does a receipt).
pub fn verify_change(text: &str, expected: Option<&str>) -> Result<ConsentChange, VerifyError> {
    let change: ConsentChange =
        serde_json::from_str(text.trim()).map_err(|e| VerifyError::Malformed(e.to_string()))?;
    if change.kind != CONSENT_CHANGE_TYPE {
        return Err(VerifyError::Malformed(format!(
            "type is not {CONSENT_CHANGE_TYPE}"
        )));
    }
    check_signature(
        &change.public_key,
        &change.signature,
        &signed_text_of(&change)?,
        expected,
    )?;
    Ok(change)
}

/// Check an Ed25519 signature (base64url) of `message` by `public_key`, and that
/// key against `expected`.
fn check_signature(
    public_key: &str,
    signature: &str,
    message: &str,
    expected: Option<&str>,
) -> Result<(), VerifyError> {
    let key_bytes: [u8; 32] = URL_SAFE_NO_PAD
        .decode(public_key)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(VerifyError::BadKey)?;
    let key = VerifyingKey::from_bytes(&key_bytes).map_err(|_| VerifyError::BadKey)?;
    let sig: [u8; 64] = URL_SAFE_NO_PAD
        .decode(signature)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(VerifyError::BadSignature)?;
    key.verify(message.as_bytes(), &Signature::from_bytes(&sig))
        .map_err(|_| VerifyError::BadSignature)?;
    match expected {
        Some(e) if e.trim() != public_key => Err(VerifyError::OtherSigner),
        _ => Ok(()),
    }
}

/// JSON with object keys sorted and no insignificant whitespace.
fn canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                canonical(&map[k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// Parse a receipt without checking its signature.
pub fn parse(text: &str) -> Result<Receipt, VerifyError> {
    serde_json::from_str(text.trim()).map_err(|e| VerifyError::Malformed(e.to_string()))
}

/// Parse and verify a receipt's signature with the key it names; with `expected`
/// (base64url), the key must also be that one.
pub fn verify(text: &str, expected: Option<&str>) -> Result<Receipt, VerifyError> {
    let receipt = parse(text)?;
    if receipt.kind != RECEIPT_TYPE {
        return Err(VerifyError::Malformed(format!(
            "type is not {RECEIPT_TYPE}"
        )));
    }
    let message = signed_text(&receipt)?;
    check_signature(&receipt.public_key, &receipt.signature, &message, expected)?;
    Ok(receipt)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed() -> (ReceiptSigner, String) {
        let signer = ReceiptSigner::from_seed(&[7; 32]);
        let mut counts = Counts::default();
        counts.0.insert("observations".into(), 42);
        let r = signer.sign(
            "r1".into(),
            Some("https://hub.example".into()),
            "p1",
            "m1",
            Utc::now(),
            counts,
            1,
            true,
        );
        (signer, serde_json::to_string_pretty(&r).unwrap())
    }

    #[test]
    fn a_receipt_verifies_pretty_or_compact_and_with_its_key() {
        let (signer, text) = signed();
        let r = verify(&text, Some(&signer.public_key())).unwrap();
        assert_eq!(r.counts.get("observations"), 42);
        let compact = serde_json::to_string(&r).unwrap();
        assert!(verify(&compact, None).is_ok());
    }

    #[test]
    fn any_change_breaks_the_signature() {
        let (_, text) = signed();
        for (from, to) in [
            ("\"observations\": 42", "\"observations\": 41"),
            ("\"member_id\": \"m1\"", "\"member_id\": \"m2\""),
            (
                "\"data_key_destroyed\": true",
                "\"data_key_destroyed\": false",
            ),
        ] {
            assert!(text.contains(from), "{from}");
            let tampered = text.replace(from, to);
            assert_eq!(
                verify(&tampered, None),
                Err(VerifyError::BadSignature),
                "{from}"
            );
        }
    }

    #[test]
    fn another_signer_is_refused_when_the_key_is_expected() {
        let (_, text) = signed();
        let other = ReceiptSigner::from_seed(&[8; 32]);
        assert_eq!(
            verify(&text, Some(&other.public_key())),
            Err(VerifyError::OtherSigner)
        );
        // Re-signed by someone else with their key inside: valid alone, refused
        // against the hub's key.
        let forged = other.sign(
            "r2".into(),
            None,
            "p1",
            "m1",
            Utc::now(),
            Counts::default(),
            0,
            true,
        );
        let forged = serde_json::to_string(&forged).unwrap();
        assert!(verify(&forged, None).is_ok());
        let hub = ReceiptSigner::from_seed(&[7; 32]).public_key();
        assert_eq!(verify(&forged, Some(&hub)), Err(VerifyError::OtherSigner));
    }

    #[test]
    fn malformed_receipts_name_the_problem() {
        assert!(matches!(verify("{}", None), Err(VerifyError::Malformed(_))));
        assert!(matches!(
            verify("not json", None),
            Err(VerifyError::Malformed(_))
        ));
    }
}
