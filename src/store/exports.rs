//! Bulk Data exports: the job's row and its NDJSON, sealed in the database.
//!
//! Policy: export files are PHI, so they never touch the file system. Each export
//! has its own random data key, stored sealed under the ring's newest KEK (bound to
//! the export's row); its NDJSON is kept in chunks of up to
//! [`CHUNK_LINES`] lines, each sealed with that key and bound to
//! `export/type/seq`. Deleting the export row deletes its chunks (cascade) and its
//! key with it. Every lookup is filtered by portal.

use super::StoreError;
use crate::crypto::{open, seal, Aad, SecretKey};
use crate::db::schema::{export_chunks, exports};
use crate::db::AnyConnection;
use crate::domain::PortalId;
use crate::keys::KeyRing;
use diesel::prelude::*;

/// Lines per sealed chunk: bounds the memory of writing and of serving a download.
pub const CHUNK_LINES: usize = 1000;
const TABLE: &str = "exports";
const CHUNKS: &str = "export_chunks";

pub const RUNNING: &str = "running";
pub const DONE: &str = "done";
pub const FAILED: &str = "failed";

#[derive(Debug, Clone)]
pub struct Export {
    pub id: String,
    pub portal: PortalId,
    pub request: String,
    pub types: Vec<String>,
    /// Only resources updated at or after this instant (Unix µs).
    pub since: Option<i64>,
    pub status: String,
    pub progress: String,
    /// Unix µs when the export was requested.
    pub transaction_time: i64,
}

/// Start an export of `portal`; returns it with its new data key.
pub fn create(
    conn: &mut AnyConnection,
    ring: &KeyRing,
    portal: &PortalId,
    request: &str,
    types: &[String],
    since: Option<i64>,
) -> Result<Export, StoreError> {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let key = SecretKey::generate(1);
    let sealed = ring.seal_hub_secret(conn, TABLE, &id, key.expose())?;
    let now = chrono::Utc::now();
    diesel::insert_into(exports::table)
        .values((
            exports::id.eq(&id),
            exports::portal_id.eq(portal.as_str()),
            exports::request.eq(request),
            exports::types.eq(types.join(",")),
            exports::since.eq(since),
            exports::status.eq(RUNNING),
            exports::progress.eq("queued"),
            exports::transaction_time.eq(now.timestamp_micros()),
            exports::key_sealed.eq(sealed),
            exports::created_at.eq(now.naive_utc()),
            exports::updated_at.eq(now.naive_utc()),
        ))
        .execute(conn)?;
    get(conn, portal, &id)
}

type Row = (
    String,
    String,
    String,
    String,
    Option<i64>,
    String,
    String,
    i64,
);

/// An export of `portal`; [`StoreError::NotFound`] for another portal's or none.
pub fn get(conn: &mut AnyConnection, portal: &PortalId, id: &str) -> Result<Export, StoreError> {
    let row: Row = exports::table
        .find(id)
        .filter(exports::portal_id.eq(portal.as_str()))
        .select((
            exports::id,
            exports::portal_id,
            exports::request,
            exports::types,
            exports::since,
            exports::status,
            exports::progress,
            exports::transaction_time,
        ))
        .first(conn)
        .optional()?
        .ok_or(StoreError::NotFound)?;
    Ok(Export {
        id: row.0,
        portal: PortalId::parse(&row.1)
            .ok_or_else(|| StoreError::Corrupt("export portal".into()))?,
        request: row.2,
        types: row.3.split(',').map(str::to_owned).collect(),
        since: row.4,
        status: row.5,
        progress: row.6,
        transaction_time: row.7,
    })
}

/// The export's data key.
pub fn key(conn: &mut AnyConnection, ring: &KeyRing, id: &str) -> Result<SecretKey, StoreError> {
    let sealed: Vec<u8> = exports::table
        .find(id)
        .select(exports::key_sealed)
        .first(conn)
        .optional()?
        .ok_or(StoreError::NotFound)?;
    let bytes = ring.open_hub_secret(conn, TABLE, id, &sealed)?;
    SecretKey::from_slice(1, &bytes).map_err(|_| StoreError::Corrupt("export key".into()))
}

fn chunk_row(id: &str, resource_type: &str, seq: i32) -> String {
    format!("{id}/{resource_type}/{seq}")
}

/// Seal and store one chunk. Fails with NotFound once the export was cancelled.
pub fn append_chunk(
    conn: &mut AnyConnection,
    key: &SecretKey,
    id: &str,
    resource_type: &str,
    seq: i32,
    lines: i32,
    ndjson: &[u8],
) -> Result<(), StoreError> {
    let row = chunk_row(id, resource_type, seq);
    let sealed = seal(key, &Aad::new(CHUNKS, &row, None), ndjson);
    conn.write_transaction(|conn| {
        let live = diesel::update(exports::table.find(id))
            .set(exports::updated_at.eq(chrono::Utc::now().naive_utc()))
            .execute(conn)?;
        if live == 0 {
            return Err(StoreError::NotFound);
        }
        diesel::insert_into(export_chunks::table)
            .values((
                export_chunks::export_id.eq(id),
                export_chunks::resource_type.eq(resource_type),
                export_chunks::seq.eq(seq),
                export_chunks::lines.eq(lines),
                export_chunks::sealed.eq(sealed),
            ))
            .execute(conn)?;
        Ok(())
    })
}

/// Record progress or the end (`done`, `failed`) of an export.
pub fn set_status(
    conn: &mut AnyConnection,
    id: &str,
    status: &str,
    progress: &str,
) -> Result<(), StoreError> {
    diesel::update(exports::table.find(id))
        .set((
            exports::status.eq(status),
            exports::progress.eq(progress),
            exports::updated_at.eq(chrono::Utc::now().naive_utc()),
        ))
        .execute(conn)?;
    Ok(())
}

/// `(resource type, chunks, lines)` of an export, by type.
pub fn files(conn: &mut AnyConnection, id: &str) -> Result<Vec<(String, i32, i64)>, StoreError> {
    let rows: Vec<(String, i32)> = export_chunks::table
        .filter(export_chunks::export_id.eq(id))
        .order((export_chunks::resource_type, export_chunks::seq))
        .select((export_chunks::resource_type, export_chunks::lines))
        .load(conn)?;
    let mut out: Vec<(String, i32, i64)> = Vec::new();
    for (t, lines) in rows {
        match out.last_mut() {
            Some(last) if last.0 == t => {
                last.1 += 1;
                last.2 += i64::from(lines);
            }
            _ => out.push((t, 1, i64::from(lines))),
        }
    }
    Ok(out)
}

/// One chunk's NDJSON, opened; `None` past the last chunk.
pub fn chunk(
    conn: &mut AnyConnection,
    key: &SecretKey,
    id: &str,
    resource_type: &str,
    seq: i32,
) -> Result<Option<Vec<u8>>, StoreError> {
    let sealed: Option<Vec<u8>> = export_chunks::table
        .find((id, resource_type, seq))
        .select(export_chunks::sealed)
        .first(conn)
        .optional()?;
    let Some(sealed) = sealed else {
        return Ok(None);
    };
    let row = chunk_row(id, resource_type, seq);
    let plain = open(key, &Aad::new(CHUNKS, &row, None), &sealed)
        .map_err(|_| StoreError::Corrupt(format!("export chunk {row}")))?;
    Ok(Some(plain.to_vec()))
}

/// Delete an export of `portal` and its files.
pub fn delete(conn: &mut AnyConnection, portal: &PortalId, id: &str) -> Result<(), StoreError> {
    conn.write_transaction(|conn| {
        let n = diesel::delete(
            exports::table
                .find(id)
                .filter(exports::portal_id.eq(portal.as_str())),
        )
        .execute(conn)?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        // The foreign key cascades too; this keeps it explicit on either backend.
        diesel::delete(export_chunks::table.filter(export_chunks::export_id.eq(id)))
            .execute(conn)?;
        Ok(())
    })
}
