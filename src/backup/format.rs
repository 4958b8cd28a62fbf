//! The sealed backup file.
//!
//! ```text
//! "TRIBUTARY-BACKUP" | format version (u8) | header length (u32) | header (JSON)
//! then chunks:        sealed length (u32) | crate::crypto::seal output
//! ```
//!
//! The header is the only plaintext: backend, creation time, a random backup id, a
//! key check and the backup's data key sealed under the backup key (derived from the
//! master key, `keys::backup_key`), bound to every other header field. The payload
//! (a SQLite file, a `pg_dump` archive) is cut into chunks of [`CHUNK`] bytes, each
//! sealed with the data key and bound to the backup id, its index and whether it is
//! the last one: a reordered, dropped, altered or appended chunk and a file cut
//! short all fail to open. The key check (8 bytes of an HMAC of a constant under the
//! backup key) only tells a wrong master key apart from an altered header.

use super::BackupError;
use crate::crypto::{keyed_hash, open, seal, Aad, SecretKey, HEADER_LEN};
use base64::Engine;
use std::io::{BufRead, Read, Write};
use zeroize::Zeroizing;

pub const MAGIC: &[u8; 16] = b"TRIBUTARY-BACKUP";
pub const FORMAT_VERSION: u8 = 1;
/// Plaintext bytes per chunk (the last may be shorter, or empty).
pub const CHUNK: usize = 1 << 20;
const TAG_LEN: usize = 16;
const MAX_HEADER: u32 = 4096;
const DATA_KEY_VERSION: u32 = 1;

/// What the plaintext header says.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// `sqlite` or `postgres`.
    pub backend: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub backup_id: String,
    key_check: String,
    /// The data key, sealed under the backup key (base64).
    data_key: String,
}

impl Header {
    fn binding(&self) -> String {
        format!(
            "v{FORMAT_VERSION}|{}|{}|{}|{}",
            self.backend, self.created_at, self.backup_id, self.key_check
        )
    }
}

fn key_check(backup_key: &SecretKey) -> String {
    hex(&keyed_hash(backup_key, &[b"tributary.backup.key-check"])[..8])
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn chunk_aad_row(backup_id: &str, index: u64, last: bool) -> String {
    format!("{backup_id}:{index}:{}", u8::from(last))
}

/// Seals what is written to it into `out`, chunk by chunk; [`Writer::finish`]
/// writes the last chunk (without it the file reads as truncated).
pub struct Writer<W: Write> {
    out: W,
    key: SecretKey,
    backup_id: String,
    index: u64,
    buf: Vec<u8>,
    pub header: Header,
}

impl<W: Write> Writer<W> {
    /// Write the header with a new data key sealed under `backup_key`.
    pub fn new(mut out: W, backup_key: &SecretKey, backend: &str) -> std::io::Result<Self> {
        let data_key = SecretKey::generate(DATA_KEY_VERSION);
        let mut header = Header {
            backend: backend.to_owned(),
            created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            backup_id: uuid::Uuid::new_v4().simple().to_string(),
            key_check: key_check(backup_key),
            data_key: String::new(),
        };
        let sealed = seal(
            backup_key,
            &Aad::new("backup", &header.binding(), None),
            data_key.expose(),
        );
        header.data_key = base64::engine::general_purpose::STANDARD.encode(sealed);
        let json = serde_json::to_vec(&header).map_err(std::io::Error::other)?;
        out.write_all(MAGIC)?;
        out.write_all(&[FORMAT_VERSION])?;
        out.write_all(&u32::try_from(json.len()).unwrap_or(u32::MAX).to_be_bytes())?;
        out.write_all(&json)?;
        Ok(Self {
            out,
            key: data_key,
            backup_id: header.backup_id.clone(),
            index: 0,
            buf: Vec::with_capacity(CHUNK + 1),
            header,
        })
    }

    fn emit(&mut self, plain: &[u8], last: bool) -> std::io::Result<()> {
        let row = chunk_aad_row(&self.backup_id, self.index, last);
        let sealed = seal(&self.key, &Aad::new("backup_chunk", &row, None), plain);
        self.out.write_all(
            &u32::try_from(sealed.len())
                .unwrap_or(u32::MAX)
                .to_be_bytes(),
        )?;
        self.out.write_all(&sealed)?;
        self.index += 1;
        Ok(())
    }

    /// Seal what is left as the last chunk and return the output.
    pub fn finish(mut self) -> std::io::Result<W> {
        let rest = std::mem::take(&mut self.buf);
        self.emit(&rest, true)?;
        self.out.flush()?;
        Ok(self.out)
    }
}

impl<W: Write> Write for Writer<W> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        // A full chunk is sealed only once more follows: the last one is sealed
        // as last by `finish`.
        while self.buf.len() > CHUNK {
            let rest = self.buf.split_off(CHUNK);
            let full = std::mem::replace(&mut self.buf, rest);
            self.emit(&full, false)?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// Read and check the header; `Ok` means it is a backup of this format.
pub fn read_header(input: &mut impl Read) -> Result<Header, BackupError> {
    let mut magic = [0u8; 16];
    read_or(input, &mut magic, BackupError::NotABackup)?;
    if &magic != MAGIC {
        return Err(BackupError::NotABackup);
    }
    let mut version = [0u8; 1];
    read_or(input, &mut version, BackupError::NotABackup)?;
    if version[0] != FORMAT_VERSION {
        return Err(BackupError::UnsupportedVersion(version[0]));
    }
    let mut len = [0u8; 4];
    read_or(input, &mut len, BackupError::NotABackup)?;
    let len = u32::from_be_bytes(len);
    if len > MAX_HEADER {
        return Err(BackupError::NotABackup);
    }
    let mut json = vec![0u8; len as usize];
    read_or(input, &mut json, BackupError::NotABackup)?;
    serde_json::from_slice(&json).map_err(|_| BackupError::HeaderAltered)
}

/// The data key, if `backup_key` is the one the backup was made with.
fn open_data_key(header: &Header, backup_key: &SecretKey) -> Result<SecretKey, BackupError> {
    if header.key_check != key_check(backup_key) {
        return Err(BackupError::WrongMasterKey);
    }
    let sealed = base64::engine::general_purpose::STANDARD
        .decode(&header.data_key)
        .map_err(|_| BackupError::HeaderAltered)?;
    let bytes = open(
        backup_key,
        &Aad::new("backup", &header.binding(), None),
        &sealed,
    )
    .map_err(|_| BackupError::HeaderAltered)?;
    SecretKey::from_slice(DATA_KEY_VERSION, &bytes).map_err(|_| BackupError::HeaderAltered)
}

fn read_or(input: &mut impl Read, buf: &mut [u8], e: BackupError) -> Result<(), BackupError> {
    match input.read_exact(buf) {
        Ok(()) => Ok(()),
        Err(x) if x.kind() == std::io::ErrorKind::UnexpectedEof => Err(e),
        Err(x) => Err(BackupError::Io("reading the backup".into(), x)),
    }
}

/// The payload of a backup, chunk by chunk, each checked before it is handed out.
pub struct Reader<R: BufRead> {
    input: R,
    key: SecretKey,
    backup_id: String,
    index: u64,
    done: bool,
}

impl<R: BufRead> Reader<R> {
    /// After [`read_header`]: unseal the data key with `backup_key`.
    pub fn new(input: R, header: &Header, backup_key: &SecretKey) -> Result<Self, BackupError> {
        Ok(Self {
            key: open_data_key(header, backup_key)?,
            input,
            backup_id: header.backup_id.clone(),
            index: 0,
            done: false,
        })
    }

    /// The next chunk's plaintext; `None` after the last chunk.
    pub fn next_chunk(&mut self) -> Result<Option<Zeroizing<Vec<u8>>>, BackupError> {
        if self.done {
            return Ok(None);
        }
        let chunk = self.index;
        let truncated = || BackupError::Truncated { chunk };
        let mut len = [0u8; 4];
        read_or(&mut self.input, &mut len, truncated())?;
        let len = u32::from_be_bytes(len) as usize;
        if !(HEADER_LEN + TAG_LEN..=HEADER_LEN + CHUNK + TAG_LEN).contains(&len) {
            return Err(BackupError::Altered { chunk });
        }
        let mut sealed = vec![0u8; len];
        read_or(&mut self.input, &mut sealed, truncated())?;
        let at_end = self
            .input
            .fill_buf()
            .map_err(|e| BackupError::Io("reading the backup".into(), e))?
            .is_empty();
        let open_as = |last: bool| {
            let row = chunk_aad_row(&self.backup_id, chunk, last);
            open(&self.key, &Aad::new("backup_chunk", &row, None), &sealed)
        };
        let plain = match open_as(at_end) {
            Ok(p) => p,
            // The file ends after a chunk that was not the last: cut short.
            Err(_) if at_end && open_as(false).is_ok() => return Err(truncated()),
            Err(_) => return Err(BackupError::Altered { chunk }),
        };
        self.index += 1;
        self.done = at_end;
        Ok(Some(plain))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn make(len: usize, key: &SecretKey) -> Vec<u8> {
        let payload: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let mut w = Writer::new(Vec::new(), key, "sqlite").unwrap();
        w.write_all(&payload).unwrap();
        w.finish().unwrap()
    }

    fn read_all(file: &[u8], key: &SecretKey) -> Result<Vec<u8>, BackupError> {
        let mut input = std::io::BufReader::new(file);
        let header = read_header(&mut input)?;
        let mut r = Reader::new(input, &header, key)?;
        let mut out = Vec::new();
        while let Some(c) = r.next_chunk()? {
            out.extend_from_slice(&c);
        }
        Ok(out)
    }

    #[test]
    fn round_trips_at_chunk_boundaries() {
        let key = SecretKey::generate(0);
        for len in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK] {
            let out = read_all(&make(len, &key), &key).unwrap();
            assert_eq!(out.len(), len);
            assert!(out.iter().enumerate().all(|(i, b)| *b == (i % 251) as u8));
        }
    }

    #[test]
    fn tampering_is_named() {
        let key = SecretKey::generate(0);
        let file = make(2 * CHUNK + 10, &key);
        let other = SecretKey::generate(0);
        assert!(matches!(
            read_all(&file, &other),
            Err(BackupError::WrongMasterKey)
        ));
        assert!(matches!(
            read_all(b"SQLite format 3\0", &key),
            Err(BackupError::NotABackup)
        ));
        // Cut at a chunk boundary and in the middle of a chunk.
        let first_chunk_end = file.len() - 2 * (4 + HEADER_LEN + TAG_LEN) - CHUNK - 10;
        for cut in [first_chunk_end, file.len() - 5] {
            assert!(
                matches!(
                    read_all(&file[..cut], &key),
                    Err(BackupError::Truncated { .. })
                ),
                "{cut}"
            );
        }
        let mut flipped = file.clone();
        let at = flipped.len() - CHUNK;
        flipped[at] ^= 1;
        assert!(matches!(
            read_all(&flipped, &key),
            Err(BackupError::Altered { chunk: 1 })
        ));
        let mut appended = file.clone();
        appended.extend_from_slice(&file[file.len() - 40..]);
        assert!(read_all(&appended, &key).is_err());
        let mut header = file.clone();
        let pos = header.windows(6).position(|w| w == b"sqlite").unwrap();
        header[pos..pos + 6].copy_from_slice(b"sqlitf");
        assert!(matches!(
            read_all(&header, &key),
            Err(BackupError::HeaderAltered)
        ));
    }
}
