use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use rand::RngCore;
use std::fmt;
use thiserror::Error;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// The only sealed format so far.
pub const FORMAT_V1: u8 = 1;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// Format byte, key version, nonce.
pub const HEADER_LEN: usize = 1 + 4 + NONCE_LEN;
const AAD_DOMAIN: &[u8] = b"tributary.seal.v1";

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CryptoError {
    #[error("sealed value is truncated ({0} bytes)")]
    Truncated(usize),
    #[error("sealed value has unknown format {0}")]
    UnknownFormat(u8),
    #[error("sealed value was made with key version {found}, not {expected}")]
    WrongKeyVersion { expected: u32, found: u32 },
    #[error("sealed value does not open: wrong key, wrong context, or altered")]
    Authentication,
}

/// A 256-bit symmetric key with the version it is known by. Zeroed on drop;
/// `Debug` shows the version only.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SecretKey {
    #[zeroize(skip)]
    version: u32,
    bytes: [u8; 32],
}

impl SecretKey {
    pub fn from_bytes(version: u32, bytes: [u8; 32]) -> Self {
        Self { version, bytes }
    }

    /// A new random key from the operating system's CSPRNG.
    pub fn generate(version: u32) -> Self {
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        Self { version, bytes }
    }

    /// Rebuild a key from bytes that were sealed earlier.
    pub fn from_slice(version: u32, bytes: &[u8]) -> Result<Self, CryptoError> {
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| CryptoError::Truncated(bytes.len()))?;
        Ok(Self { version, bytes })
    }

    pub fn version(&self) -> u32 {
        self.version
    }

    /// The raw key, for wrapping it under another key or keying an HMAC.
    pub fn expose(&self) -> &[u8; 32] {
        &self.bytes
    }

    /// The same key material under another version number.
    pub fn with_version(&self, version: u32) -> Self {
        Self {
            version,
            bytes: self.bytes,
        }
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey(v{}, [redacted])", self.version)
    }
}

/// Where a sealed value lives: it opens only in the same place.
#[derive(Debug, Clone, Copy)]
pub struct Aad<'a> {
    pub table: &'a str,
    pub row: &'a str,
    /// The member the value belongs to; `None` for hub-wide secrets.
    pub member: Option<&'a str>,
}

impl<'a> Aad<'a> {
    pub fn new(table: &'a str, row: &'a str, member: Option<&'a str>) -> Self {
        Self { table, row, member }
    }

    fn encode(&self, header: &[u8]) -> Vec<u8> {
        let member = self.member.unwrap_or("");
        let mut out = Vec::with_capacity(64 + self.table.len() + self.row.len() + member.len());
        for part in [
            AAD_DOMAIN,
            self.table.as_bytes(),
            self.row.as_bytes(),
            &[u8::from(self.member.is_some())],
            member.as_bytes(),
            &header[..1 + 4],
        ] {
            out.extend_from_slice(&(part.len() as u32).to_be_bytes());
            out.extend_from_slice(part);
        }
        out
    }
}

/// Encrypt `plaintext` under `key`, bound to `aad`, with a fresh random nonce.
pub fn seal(key: &SecretKey, aad: &Aad<'_>, plaintext: &[u8]) -> Vec<u8> {
    let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
    let mut out = Vec::with_capacity(HEADER_LEN + plaintext.len() + TAG_LEN);
    out.push(FORMAT_V1);
    out.extend_from_slice(&key.version.to_be_bytes());
    out.extend_from_slice(&nonce);
    let aad_bytes = aad.encode(&out);
    let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&key.bytes));
    // AES-GCM encryption fails only for inputs beyond 64 GiB, which the hub never seals.
    let ciphertext = match cipher.encrypt(
        &nonce,
        Payload {
            msg: plaintext,
            aad: &aad_bytes,
        },
    ) {
        Ok(c) => c,
        Err(_) => oversized(),
    };
    out.extend_from_slice(&ciphertext);
    out
}

#[cold]
fn oversized() -> ! {
    panic!("AES-GCM refused to seal: plaintext beyond the algorithm's limit")
}

/// The key version recorded in a sealed value's header.
pub fn key_version(sealed: &[u8]) -> Result<u32, CryptoError> {
    if sealed.len() < HEADER_LEN + TAG_LEN {
        return Err(CryptoError::Truncated(sealed.len()));
    }
    if sealed[0] != FORMAT_V1 {
        return Err(CryptoError::UnknownFormat(sealed[0]));
    }
    let mut v = [0u8; 4];
    v.copy_from_slice(&sealed[1..5]);
    Ok(u32::from_be_bytes(v))
}

/// Decrypt a value made by [`seal`] with the same key and the same [`Aad`].
pub fn open(
    key: &SecretKey,
    aad: &Aad<'_>,
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let found = key_version(sealed)?;
    if found != key.version {
        return Err(CryptoError::WrongKeyVersion {
            expected: key.version,
            found,
        });
    }
    let (header, body) = sealed.split_at(HEADER_LEN);
    let nonce = Nonce::from_slice(&header[5..HEADER_LEN]);
    let aad_bytes = aad.encode(header);
    let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&key.bytes));
    cipher
        .decrypt(
            nonce,
            Payload {
                msg: body,
                aad: &aad_bytes,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| CryptoError::Authentication)
}

#[cfg(test)]
mod tests {
    use super::*;

    const AAD: Aad<'static> = Aad {
        table: "observations",
        row: "row-1",
        member: Some("member-a"),
    };

    #[test]
    fn round_trip_with_fresh_nonces() {
        let key = SecretKey::generate(1);
        let a = seal(&key, &AAD, b"72 bpm");
        let b = seal(&key, &AAD, b"72 bpm");
        assert_ne!(a, b, "every seal uses a new nonce");
        assert_eq!(&*open(&key, &AAD, &a).unwrap(), b"72 bpm");
        assert_eq!(key_version(&a).unwrap(), 1);
    }

    #[test]
    fn every_altered_byte_is_rejected() {
        let key = SecretKey::generate(3);
        let sealed = seal(&key, &AAD, b"systolic 120");
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x01;
            assert!(open(&key, &AAD, &bad).is_err(), "flip at byte {i} accepted");
        }
    }

    #[test]
    fn wrong_context_or_key_is_rejected() {
        let key = SecretKey::generate(1);
        let sealed = seal(&key, &AAD, b"x");
        for aad in [
            Aad::new("observations", "row-2", Some("member-a")),
            Aad::new("observations", "row-1", Some("member-b")),
            Aad::new("tokens", "row-1", Some("member-a")),
            Aad::new("observations", "row-1", None),
        ] {
            assert_eq!(open(&key, &aad, &sealed), Err(CryptoError::Authentication));
        }
        let other = SecretKey::generate(1);
        assert_eq!(
            open(&other, &AAD, &sealed),
            Err(CryptoError::Authentication)
        );
        let other_version = key.with_version(2);
        assert!(matches!(
            open(&other_version, &AAD, &sealed),
            Err(CryptoError::WrongKeyVersion { .. })
        ));
    }

    #[test]
    fn truncated_and_unknown_format_are_rejected() {
        let key = SecretKey::generate(1);
        let sealed = seal(&key, &AAD, b"hello");
        for len in [0, 1, HEADER_LEN, HEADER_LEN + TAG_LEN - 1, sealed.len() - 1] {
            assert!(
                open(&key, &AAD, &sealed[..len]).is_err(),
                "len {len} accepted"
            );
        }
        let mut v2 = sealed.clone();
        v2[0] = 2;
        assert_eq!(open(&key, &AAD, &v2), Err(CryptoError::UnknownFormat(2)));
    }

    #[test]
    fn aad_fields_cannot_be_shifted() {
        let key = SecretKey::generate(1);
        let sealed = seal(&key, &Aad::new("ab", "c", None), b"x");
        assert!(open(&key, &Aad::new("a", "bc", None), &sealed).is_err());
    }

    #[test]
    fn debug_never_shows_key_bytes() {
        let key = SecretKey::from_bytes(4, [0xAB; 32]);
        let s = format!("{key:?}");
        assert!(
            !s.contains("171") && !s.to_lowercase().contains("ab, "),
            "{s}"
        );
    }
}
