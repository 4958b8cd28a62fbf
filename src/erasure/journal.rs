//! The erasure journal file: one signed line (JSON) per erasure (a deletion
//! receipt) or consent change (a revocation or narrowing), appended and synced
//! before the change commits.
//!
//! A restore trusts only lines whose receipt verifies with this hub's key (so a
//! line written by anyone else erases nobody). A last line without its newline is
//! an append that failed (the erasure it began did not commit): it is skipped when
//! read, and cut off before the next append.

use chrono::{DateTime, Utc};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

/// What a restore needs of a journalled erasure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry {
    pub receipt_id: String,
    pub member_id: String,
    pub portal_id: String,
    pub erased_at: DateTime<Utc>,
}

/// One line of the journal.
#[derive(Debug, Clone, PartialEq)]
pub enum Line {
    Erasure(JournalEntry),
    Consent(super::receipt::ConsentChange),
}

impl Line {
    fn at(&self) -> DateTime<Utc> {
        match self {
            Line::Erasure(e) => e.erased_at,
            Line::Consent(c) => c.at,
        }
    }

    /// Sort lines of several files into the order they happened.
    pub fn chronological(lines: &mut [Line]) {
        lines.sort_by_key(Line::at);
    }
}

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("erasure journal {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("erasure journal {path}, line {line}: {reason}")]
    Line {
        path: String,
        line: usize,
        reason: String,
    },
}

/// Read a journal file, checking every receipt's signature against
/// `public_key` (base64url) when given. A missing file is an empty journal.
pub fn read_file(path: &Path) -> Result<Vec<Line>, JournalError> {
    read(path, None)
}

/// [`read_file`], with every line's signature verified against `public_key`.
pub fn read_verified(path: &Path, public_key: &str) -> Result<Vec<Line>, JournalError> {
    read(path, Some(public_key))
}

/// One line: a consent change or a deletion receipt, verified with `key` if given.
fn parse_line(line: &str, key: Option<&str>) -> Result<Line, String> {
    use super::receipt::{self, CONSENT_CHANGE_TYPE};
    let kind = serde_json::from_str::<serde_json::Value>(line)
        .map_err(|e| e.to_string())?
        .get("type")
        .and_then(|t| t.as_str().map(str::to_owned));
    if kind.as_deref() == Some(CONSENT_CHANGE_TYPE) {
        return match key {
            Some(k) => receipt::verify_change(line, Some(k)).map(Line::Consent),
            None => serde_json::from_str(line)
                .map(Line::Consent)
                .map_err(|e| receipt::VerifyError::Malformed(e.to_string())),
        }
        .map_err(|e| e.to_string());
    }
    let r = match key {
        Some(k) => receipt::verify(line, Some(k)),
        None => receipt::parse(line),
    }
    .map_err(|e| e.to_string())?;
    Ok(Line::Erasure(JournalEntry {
        receipt_id: r.receipt_id,
        member_id: r.member_id,
        portal_id: r.portal_id,
        erased_at: r.erased_at,
    }))
}

fn read(path: &Path, public_key: Option<&str>) -> Result<Vec<Line>, JournalError> {
    let shown = path.display().to_string();
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(JournalError::Io {
                path: shown,
                source,
            })
        }
    };
    let complete = text.ends_with('\n');
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let torn = !complete && i + 1 == lines.len();
        match parse_line(line, public_key) {
            Ok(l) => out.push(l),
            Err(_) if torn => {
                tracing::warn!(path = %shown, line = i + 1, "erasure journal: an unfinished last line is skipped");
            }
            Err(reason) => {
                return Err(JournalError::Line {
                    path: shown,
                    line: i + 1,
                    reason,
                })
            }
        }
    }
    Ok(out)
}

/// Append one line and sync it. A torn last line left by a failed append is cut
/// off first.
pub fn append(path: &Path, line: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(path)?;
    let len = file.metadata()?.len();
    if len > 0 {
        let mut last = [0u8; 1];
        file.seek(SeekFrom::Start(len - 1))?;
        file.read_exact(&mut last)?;
        if last[0] != b'\n' {
            let mut all = Vec::new();
            file.seek(SeekFrom::Start(0))?;
            file.read_to_end(&mut all)?;
            let keep = all.iter().rposition(|b| *b == b'\n').map_or(0, |p| p + 1);
            file.set_len(keep as u64)?;
        }
    }
    file.write_all(format!("{line}\n").as_bytes())?;
    file.sync_data()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::erasure::receipt::ReceiptSigner;
    use crate::store::purge::Counts;

    fn line(signer: &ReceiptSigner, member: &str) -> String {
        let r = signer.sign(
            member.into(),
            None,
            "p",
            member,
            Utc::now(),
            Counts::default(),
            0,
            true,
        );
        serde_json::to_string(&r).unwrap()
    }

    #[test]
    fn a_torn_append_is_skipped_then_cut_off_and_forged_lines_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let hub = ReceiptSigner::from_seed(&[1; 32]);
        append(&path, &line(&hub, "m1")).unwrap();
        // A failed append left half a line.
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(b"{\"type\":\"tributary.del").unwrap();
        drop(f);
        let key = hub.public_key();
        assert_eq!(read_verified(&path, &key).unwrap().len(), 1);
        append(&path, &line(&hub, "m2")).unwrap();
        let read = read_verified(&path, &key).unwrap();
        let members: Vec<&str> = read
            .iter()
            .map(|l| match l {
                Line::Erasure(e) => e.member_id.as_str(),
                Line::Consent(c) => c.member_id.as_str(),
            })
            .collect();
        assert_eq!(members, ["m1", "m2"]);
        // A line signed by another key erases nobody: the journal is refused.
        let other = ReceiptSigner::from_seed(&[2; 32]);
        append(&path, &line(&other, "m3")).unwrap();
        let err = read_verified(&path, &key).unwrap_err().to_string();
        assert!(
            err.contains("line 3") && err.contains("another key"),
            "{err}"
        );
    }
}
