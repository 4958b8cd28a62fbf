//! Standard Webhooks signatures: `v1,` and the base64 HMAC-SHA256 of
//! `{webhook-id}.{webhook-timestamp}.{body}`, keyed with the base64-decoded part of
//! the `whsec_…` secret. Several signatures are separated by spaces.

use base64::Engine;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};

/// The `webhook-signature` header for `body`, one signature per secret.
pub fn signature_header(id: &str, timestamp: i64, body: &[u8], secrets: &[SecretString]) -> String {
    secrets
        .iter()
        .filter_map(|s| sign(id, timestamp, body, s))
        .collect::<Vec<_>>()
        .join(" ")
}

fn sign(id: &str, timestamp: i64, body: &[u8], secret: &SecretString) -> Option<String> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let text = secret.expose_secret();
    let key = b64
        .decode(text.strip_prefix("whsec_").unwrap_or(text))
        .ok()?;
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&key).ok()?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Some(format!("v1,{}", b64.encode(mac.finalize().into_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification's reference libraries.
    #[test]
    fn matches_the_specification_example() {
        let secret = SecretString::from("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        let body = br#"{"test": 2432232314}"#;
        let header = signature_header("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body, &[secret]);
        assert_eq!(header, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn one_signature_per_secret() {
        let a = SecretString::from("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        let b = SecretString::from("whsec_dGVzdC1zZWNyZXQtdHdv");
        let header = signature_header("m", 1, b"{}", &[a, b]);
        assert_eq!(header.split(' ').count(), 2);
        assert!(header.split(' ').all(|s| s.starts_with("v1,")));
    }
}
