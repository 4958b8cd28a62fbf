//! Erasure: what deleting a member leaves behind, and how that survives a restore.
//!
//! An erased member's rows are deleted and its data key destroyed in one
//! transaction; the erasure is recorded in the erasure journal as a signed deletion
//! receipt (ids, a time and counts, no personal data), in the database and in an
//! append-only file outside it (`erasure.journal_path`). A restore of a backup made
//! before an erasure re-applies it from that file (`reapply`), so an erased member
//! stays erased.

pub mod journal;

use crate::db::AnyConnection;
use crate::store::StoreError;

pub use journal::JournalEntry;

/// Delete what the database still holds of each journalled member: its row, and by
/// cascade every row that refers to it, and its data key. A member the database no
/// longer holds is skipped. Returns how many members were erased again.
pub fn reapply(conn: &mut AnyConnection, entries: &[JournalEntry]) -> Result<usize, StoreError> {
    use crate::db::schema::{events, member_keys, members};
    use diesel::prelude::*;
    let mut erased = 0;
    for entry in entries {
        conn.write_transaction(|conn| {
            diesel::delete(events::table.filter(events::member_id.eq(&entry.member_id)))
                .execute(conn)?;
            diesel::delete(member_keys::table.find(&entry.member_id)).execute(conn)?;
            let n = diesel::delete(members::table.find(&entry.member_id)).execute(conn)?;
            erased += n;
            Ok::<_, StoreError>(())
        })?;
    }
    Ok(erased)
}
