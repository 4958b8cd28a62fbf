//! Withdrawing a member's grant at Withings.
//!
//! Withings has no RFC 7009 endpoint. Its API reference documents
//! `POST /v2/oauth2` with `action=revoke`: the app names the member's account
//! (`userid`, from the token answer) and proves itself with a signature instead of a
//! token, so the call works after the member's tokens are gone. The call also ends
//! the account's notification subscriptions for the app.
//!
//! Every signed request takes a fresh nonce from `POST /v2/signature`
//! (`action=getnonce`, signed over a timestamp). The signature ("Signature hash
//! protocol" in the developer guide) is the lower-case hex HMAC-SHA256, under the
//! client secret, of the values of `action`, `client_id` and then `timestamp` (for
//! `getnonce`) or `nonce` (for the signed call itself), joined by commas: the
//! signed parameters in the order of their names.

use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

/// Where nonces come from, below the API base URL.
pub const NONCE_PATH: &str = "/v2/signature";
/// Where the grant is revoked, below the API base URL.
pub const REVOKE_PATH: &str = "/v2/oauth2";

/// The signature of `action` by `client_id` over `value` (a timestamp or a nonce).
pub fn signature(client_secret: &str, action: &str, client_id: &str, value: &str) -> String {
    // HMAC takes keys of any length, so this does not fail; were it to, an empty
    // key gives a signature Withings refuses, never a panic.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(client_secret.as_bytes())
        .unwrap_or_else(|_| <Hmac<Sha256> as Mac>::new(&Default::default()));
    mac.update(format!("{action},{client_id},{value}").as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether `given` is the signature of `action` by `client_id` over `value`
/// (compared in constant time).
pub fn verify(
    client_secret: &str,
    action: &str,
    client_id: &str,
    value: &str,
    given: &str,
) -> bool {
    let Some(given) = unhex(given) else {
        return false;
    };
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(client_secret.as_bytes()) else {
        return false;
    };
    mac.update(format!("{action},{client_id},{value}").as_bytes());
    mac.verify_slice(&given).is_ok()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

/// The form of `POST /v2/signature` asking a nonce at `timestamp` (Unix seconds).
pub fn nonce_form(client_id: &str, client_secret: &str, timestamp: i64) -> Vec<(String, String)> {
    let timestamp = timestamp.to_string();
    vec![
        ("action".into(), "getnonce".into()),
        ("client_id".into(), client_id.into()),
        ("timestamp".into(), timestamp.clone()),
        (
            "signature".into(),
            signature(client_secret, "getnonce", client_id, &timestamp),
        ),
    ]
}

/// The form of `POST /v2/oauth2` revoking the app's grant of account `userid`.
pub fn revoke_form(
    client_id: &str,
    client_secret: &str,
    nonce: &str,
    userid: &str,
) -> Vec<(String, String)> {
    vec![
        ("action".into(), "revoke".into()),
        ("client_id".into(), client_id.into()),
        ("nonce".into(), nonce.into()),
        (
            "signature".into(),
            signature(client_secret, "revoke", client_id, nonce),
        ),
        ("userid".into(), userid.into()),
    ]
}

#[derive(Deserialize)]
struct NonceAnswer {
    body: NonceBody,
}

#[derive(Deserialize)]
struct NonceBody {
    nonce: String,
}

/// The nonce of a successful `getnonce` answer (`{"status":0,"body":{"nonce":…}}`);
/// `None` when the answer has no nonce.
pub fn nonce(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<NonceAnswer>(body)
        .ok()
        .map(|a| a.body.nonce)
        .filter(|n| !n.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_hex_hmac_of_the_values_in_name_order() {
        // Computed with Python's hmac module:
        // hmac.new(b"secret", b"getnonce,client,1700000000", hashlib.sha256).hexdigest()
        assert_eq!(
            signature("secret", "getnonce", "client", "1700000000"),
            "4b8337ee03dce86858470675ac49d649acea0f1afaaafcd539b925f6e26084ee"
        );
        assert_eq!(
            signature("secret", "revoke", "client", "n0nce"),
            "244540a4d2cecda7065b4f321571aa03568a581f04dd7083579095674ff26ff1"
        );
        let form = revoke_form("client", "secret", "n0nce", "123");
        let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("action"), Some("revoke"));
        assert_eq!(get("userid"), Some("123"));
        let sig = get("signature").unwrap_or_default();
        assert!(verify("secret", "revoke", "client", "n0nce", sig));
        assert!(!verify("other", "revoke", "client", "n0nce", sig));
        assert!(!verify("secret", "revoke", "client", "another", sig));
        assert!(!verify("secret", "revoke", "client", "n0nce", "zz"));
    }

    #[test]
    fn a_nonce_is_read_from_the_envelope() {
        assert_eq!(
            nonce(br#"{"status":0,"body":{"nonce":"abc"}}"#).as_deref(),
            Some("abc")
        );
        assert_eq!(nonce(br#"{"status":503,"body":{}}"#), None);
        assert_eq!(nonce(b"not json"), None);
    }
}
