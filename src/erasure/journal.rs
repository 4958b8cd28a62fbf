//! The erasure journal file: one deletion receipt (JSON) per line, appended and
//! synced before the erasure commits.

use chrono::{DateTime, Utc};
use std::path::Path;

/// What a restore needs of a journalled erasure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry {
    pub receipt_id: String,
    pub member_id: String,
    pub portal_id: String,
    pub erased_at: DateTime<Utc>,
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

#[derive(serde::Deserialize)]
struct Line {
    receipt_id: String,
    member_id: String,
    portal_id: String,
    erased_at: DateTime<Utc>,
}

/// Read a journal file. A missing file is an empty journal (no erasure yet); a line
/// that is not a receipt is an error naming the line.
pub fn read_file(path: &Path) -> Result<Vec<JournalEntry>, JournalError> {
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
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let l: Line = serde_json::from_str(line).map_err(|e| JournalError::Line {
            path: shown.clone(),
            line: i + 1,
            reason: e.to_string(),
        })?;
        out.push(JournalEntry {
            receipt_id: l.receipt_id,
            member_id: l.member_id,
            portal_id: l.portal_id,
            erased_at: l.erased_at,
        });
    }
    Ok(out)
}
