//! Erasure: deleting a member so that nothing of it can be read again, and proving it.
//!
//! Policy: one transaction revokes every connection (queuing the withdrawal of each
//! grant at its vendor with the tokens sealed under the ring, since the member's
//! key is about to go), deletes every row that names the member and its events,
//! destroys its data key, and records the erasure in the erasure journal: a
//! deletion receipt signed by the hub ([`receipt`]) holding ids, a time and counts,
//! never personal data. The receipt is written to the `erasure_journal` table and
//! appended, and synced, to the journal file (`erasure.journal_path`) before the
//! transaction commits. The file outlives the database: `tributary restore` reads
//! it and erases again, with [`reapply`], every member erased after the backup was
//! made. (If the commit fails after the append, the journal names an erasure the
//! portal asked for and will ask for again; a restore then carries it out.)

pub mod journal;
pub mod receipt;

use crate::db::schema::erasure_journal;
use crate::db::AnyConnection;
use crate::domain::MemberId;
use crate::keys::KeyRing;
use crate::store::connections::{self, Status};
use crate::store::members::Member;
use crate::store::{events, purge, vendor_revokes, StoreError};
use crate::vendors::Vendors;
use chrono::Utc;
use diesel::prelude::*;
use std::path::PathBuf;

pub use journal::{JournalEntry, Line};
pub use receipt::{ConsentChange, Receipt, ReceiptSigner};

/// Why an erasure did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ErasureError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The journal file cannot be written: the erasure is not made, since a
    /// restore could not re-apply it.
    #[error("the erasure journal cannot be written: {0}")]
    Journal(String),
}

impl From<diesel::result::Error> for ErasureError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Store(e.into())
    }
}

/// The hub's erasure service: the journal file and the receipt signer.
pub struct Erasure {
    journal: PathBuf,
    /// Appends from this process one at a time.
    append: parking_lot::Mutex<()>,
    signer: ReceiptSigner,
    hub: Option<String>,
}

/// The journal of this process, for consent changes made deep in the store
/// (`connections::revoke`, `set_data_types`); set once by `serve`. Commands that
/// run no hub (restore among them) journal nothing.
static INSTALLED: std::sync::OnceLock<std::sync::Arc<Erasure>> = std::sync::OnceLock::new();

/// Make `erasure` the journal consent changes are written to.
pub fn install(erasure: std::sync::Arc<Erasure>) {
    let _ = INSTALLED.set(erasure);
}

/// Journal a revocation or narrowing (in the caller's transaction, before it
/// commits), when this process serves a hub.
pub fn journal_consent_change(
    connection: &crate::store::connections::Connection,
    data_types: &[String],
    revoked: bool,
) -> Result<(), StoreError> {
    let Some(erasure) = INSTALLED.get() else {
        return Ok(());
    };
    let change = erasure.signer.sign_change(ConsentChange {
        kind: String::new(),
        portal_id: connection.portal_id.to_string(),
        member_id: connection.member_id.to_string(),
        connection_id: connection.id.clone(),
        vendor: connection.vendor.clone(),
        data_types: data_types.to_vec(),
        revoked,
        at: Utc::now(),
        public_key: String::new(),
        signature: String::new(),
    });
    let text = serde_json::to_string(&change)
        .map_err(|e| StoreError::Invalid(format!("consent change: {e}")))?;
    erasure.append_to_file(&text).map_err(|e| match e {
        ErasureError::Journal(why) => StoreError::Journal(why),
        ErasureError::Store(s) => s,
    })
}

impl Erasure {
    pub fn new(journal: PathBuf, ring: &KeyRing, hub: Option<String>) -> Self {
        Self {
            journal,
            append: parking_lot::Mutex::new(()),
            signer: ReceiptSigner::from_seed(&ring.receipt_seed()),
            hub,
        }
    }

    pub fn signer(&self) -> &ReceiptSigner {
        &self.signer
    }

    /// Erase `member` inside the caller's transaction (see the module's policy);
    /// returns the signed receipt. `announce` runs once the member's earlier events
    /// are gone and before its row goes, with the receipt's id: the place to emit
    /// `member.erased`, which needs the member's row for its sequence number.
    pub fn erase(
        &self,
        conn: &mut AnyConnection,
        ring: &KeyRing,
        vendors: &Vendors,
        member: &Member,
        announce: impl FnOnce(&mut AnyConnection, &str) -> Result<(), StoreError>,
    ) -> Result<Receipt, ErasureError> {
        let receipt_id = uuid::Uuid::new_v4().to_string();
        let mut queued = 0u64;
        for c in connections::list_for_member(conn, &member.id)? {
            if c.status != Status::Revoked
                && vendors.withdraws_grants(&c)
                && vendor_revokes::queue(conn, ring, &c)?
            {
                queued += 1;
            }
        }
        let events = events::forget_member(conn, &member.id)?;
        announce(conn, &receipt_id)?;
        let mut counts = purge::member(conn, &member.id)?;
        counts.add("events", events);
        let receipt = self.signer.sign(
            receipt_id,
            self.hub.clone(),
            member.portal_id.as_str(),
            member.id.as_str(),
            Utc::now(),
            counts,
            queued,
            true,
        );
        let text = serde_json::to_string(&receipt)
            .map_err(|e| ErasureError::Journal(format!("receipt: {e}")))?;
        record(conn, &receipt, &text)?;
        self.append_to_file(&text)?;
        Ok(receipt)
    }

    fn append_to_file(&self, line: &str) -> Result<(), ErasureError> {
        let _one = self.append.lock();
        journal::append(&self.journal, line)
            .map_err(|e| ErasureError::Journal(format!("{}: {e}", self.journal.display())))
    }
}

/// The journal row of a receipt.
fn record(conn: &mut AnyConnection, receipt: &Receipt, text: &str) -> Result<(), StoreError> {
    diesel::insert_into(erasure_journal::table)
        .values((
            erasure_journal::id.eq(&receipt.receipt_id),
            erasure_journal::member_id.eq(&receipt.member_id),
            erasure_journal::portal_id.eq(&receipt.portal_id),
            erasure_journal::erased_at.eq(receipt.erased_at.naive_utc()),
            erasure_journal::receipt.eq(text),
        ))
        .execute(conn)?;
    Ok(())
}

/// After a restore, apply again what the journal holds, in the order it happened:
/// each revocation and narrowing to the connection if the database still holds it
/// (a narrowing keeps only types in both), and each erasure of a member it still
/// holds: every row that names it, its events and its data key (so sealed rows
/// restored from the backup no longer open). Returns how many members were erased
/// again.
pub fn reapply(
    conn: &mut AnyConnection,
    ring: &KeyRing,
    lines: &[Line],
) -> Result<usize, StoreError> {
    let mut lines = lines.to_vec();
    Line::chronological(&mut lines);
    let mut erased = 0;
    for line in &lines {
        match line {
            Line::Consent(change) => consent_again(conn, ring, change)?,
            Line::Erasure(entry) => {
                if erase_again(conn, entry)? {
                    erased += 1;
                }
            }
        }
    }
    Ok(erased)
}

fn consent_again(
    conn: &mut AnyConnection,
    ring: &KeyRing,
    change: &ConsentChange,
) -> Result<(), StoreError> {
    let c = match connections::get(conn, &change.connection_id) {
        Ok(c) => c,
        Err(StoreError::NotFound) => return Ok(()),
        Err(e) => return Err(e),
    };
    if c.status == Status::Revoked {
        return Ok(());
    }
    if change.revoked {
        // The vendor was told when the member revoked; only the local side again.
        connections::revoke(conn, ring, &c, connections::Channel::Hub, false)?;
    } else if c.data_types.iter().any(|t| !change.data_types.contains(t)) {
        connections::set_data_types(
            conn,
            &c,
            &change.data_types,
            connections::Channel::Hub,
            connections::Change::Narrow,
        )?;
    }
    Ok(())
}

fn erase_again(conn: &mut AnyConnection, entry: &JournalEntry) -> Result<bool, StoreError> {
    let Some(member) = MemberId::parse(&entry.member_id) else {
        return Ok(false);
    };
    conn.write_transaction(|conn| {
        let held: i64 = crate::db::schema::members::table
            .find(member.as_str())
            .count()
            .get_result(conn)?;
        if held == 0 {
            // Erased before the backup: its `member.erased` may still be on its
            // way to the portal; leave it.
            return Ok(false);
        }
        events::forget_member(conn, &member)?;
        purge::member(conn, &member)?;
        Ok(true)
    })
}

/// The deletion receipts of the journal table, oldest first (for an operator to
/// copy the journal off the machine, or check it against the file).
pub fn journal_rows(conn: &mut AnyConnection) -> Result<Vec<String>, StoreError> {
    Ok(erasure_journal::table
        .order((erasure_journal::erased_at.asc(), erasure_journal::id.asc()))
        .select(erasure_journal::receipt)
        .load(conn)?)
}
