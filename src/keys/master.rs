//! Loading the master key: from the environment, an operator's key file, or a
//! development key generated on first start.

use super::KeyError;
use crate::config::{decode_master_key, MasterKeySource};
use crate::crypto::SecretKey;
use base64::Engine;
use secrecy::ExposeSecret;
use std::io::Write;
use std::path::Path;

/// The master key is version 0: ring rows are sealed under it.
const MASTER_VERSION: u32 = 0;

/// The key that seals backups' data keys, derived from the master key so that a
/// restore needs nothing but the master key (no database, no ring yet).
pub fn backup_key(master: &SecretKey) -> SecretKey {
    let bytes = crate::crypto::keyed_hash(master, &[b"tributary.backup-key.v1"]);
    SecretKey::from_bytes(MASTER_VERSION, bytes)
}

pub fn load_master_key(source: &MasterKeySource) -> Result<SecretKey, KeyError> {
    match source {
        MasterKeySource::Env(key) => {
            Ok(SecretKey::from_bytes(MASTER_VERSION, *key.expose_secret()))
        }
        MasterKeySource::File(path) => read_key_file(path),
        MasterKeySource::Development(path) => {
            if !path.exists() {
                generate_key_file(path)?;
            }
            tracing::warn!(
                key_file = %path.display(),
                "USING A DEVELOPMENT MASTER KEY kept beside the data: anyone who copies \
                 this folder can read everything. Set TRIBUTARY_MASTER_KEY or \
                 keys.master_key_file before storing real health data"
            );
            read_key_file(path)
        }
    }
}

fn read_key_file(path: &Path) -> Result<SecretKey, KeyError> {
    let text =
        zeroize::Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
            KeyError::Master(format!("cannot read key file {}: {e}", path.display()))
        })?);
    let key = decode_master_key(&text)
        .map_err(|reason| KeyError::Master(format!("key file {} {reason}", path.display())))?;
    Ok(SecretKey::from_bytes(MASTER_VERSION, *key.expose_secret()))
}

/// Write a new random key, readable by the owner only. `create_new` so that two
/// processes starting at once cannot overwrite each other's key.
fn generate_key_file(path: &Path) -> Result<(), KeyError> {
    let fail = |e: std::io::Error| {
        KeyError::Master(format!(
            "cannot create development key {}: {e}",
            path.display()
        ))
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let key = SecretKey::generate(MASTER_VERSION);
    let text = zeroize::Zeroizing::new(
        base64::engine::general_purpose::STANDARD.encode(key.expose()) + "\n",
    );
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => file.write_all(text.as_bytes()).map_err(fail),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(fail(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn development_key_is_generated_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data/dev.key");
        let source = MasterKeySource::Development(path.clone());
        let a = load_master_key(&source).unwrap();
        let b = load_master_key(&source).unwrap();
        assert_eq!(a.expose(), b.expose());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn bad_key_file_is_named_without_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        std::fs::write(&path, "c2hvcnQ=").unwrap();
        let e = load_master_key(&MasterKeySource::File(path))
            .unwrap_err()
            .to_string();
        assert!(e.contains("key file") && e.contains("5 bytes"), "{e}");
        assert!(!e.contains("c2hvcnQ"));
    }
}
