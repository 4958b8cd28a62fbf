//! The export's background work: page through the portal's members and their
//! observations by keyset, write sealed NDJSON chunks, record progress, stop when
//! the export is deleted. Runs on the blocking pool, one pooled connection at a time.

use crate::crypto::SecretKey;
use crate::db::{AnyConnection, Database};
use crate::domain::MemberId;
use crate::keys::KeyRing;
use crate::store::exports::{self, Export, CHUNK_LINES};
use crate::store::observations::{self, DateBound, Prefix, Search};
use crate::store::StoreError;
use std::sync::Arc;

const MEMBERS_PER_PAGE: i64 = 100;

/// NDJSON of one resource type, flushed as a sealed chunk every [`CHUNK_LINES`].
struct Writer {
    resource_type: &'static str,
    buf: Vec<u8>,
    lines: usize,
    seq: i32,
}

impl Writer {
    fn new(resource_type: &'static str) -> Self {
        Self {
            resource_type,
            buf: Vec::new(),
            lines: 0,
            seq: 0,
        }
    }

    fn push(&mut self, ctx: &mut Ctx<'_>, line: &serde_json::Value) -> Result<(), StoreError> {
        serde_json::to_writer(&mut self.buf, line)
            .map_err(|_| StoreError::Corrupt("export line".into()))?;
        self.end_line(ctx)
    }

    /// One line already in compact JSON (a stored resource as served).
    fn push_text(&mut self, ctx: &mut Ctx<'_>, json: &str) -> Result<(), StoreError> {
        self.buf.extend_from_slice(json.as_bytes());
        self.end_line(ctx)
    }

    fn end_line(&mut self, ctx: &mut Ctx<'_>) -> Result<(), StoreError> {
        self.buf.push(b'\n');
        self.lines += 1;
        if self.lines >= CHUNK_LINES {
            self.flush(ctx)?;
        }
        Ok(())
    }

    fn flush(&mut self, ctx: &mut Ctx<'_>) -> Result<(), StoreError> {
        if self.lines == 0 {
            return Ok(());
        }
        let lines = i32::try_from(self.lines).unwrap_or(i32::MAX);
        exports::append_chunk(
            ctx.conn,
            &ctx.key,
            &ctx.export.id,
            self.resource_type,
            self.seq,
            lines,
            &self.buf,
        )?;
        self.seq += 1;
        self.lines = 0;
        self.buf.clear();
        Ok(())
    }
}

struct Ctx<'a> {
    conn: &'a mut AnyConnection,
    ring: &'a KeyRing,
    key: SecretKey,
    export: &'a Export,
}

/// Start the job for `export` on the blocking pool.
pub fn spawn(db: Database, ring: Arc<KeyRing>, export: Export) {
    actix_web::rt::task::spawn_blocking(move || {
        let outcome = db
            .conn()
            .map_err(|e| StoreError::Corrupt(format!("database: {e}")))
            .and_then(|mut conn| run(&mut conn, &ring, &export));
        match outcome {
            Ok(()) | Err(StoreError::NotFound) => {}
            Err(e) => {
                tracing::error!(export = %export.id, error = %e, "export failed");
                if let Ok(mut conn) = db.conn() {
                    let _ = exports::set_status(&mut conn, &export.id, exports::FAILED, "failed");
                }
            }
        }
    });
}

fn run(conn: &mut AnyConnection, ring: &KeyRing, export: &Export) -> Result<(), StoreError> {
    let key = exports::key(conn, ring, &export.id)?;
    let mut ctx = Ctx {
        conn,
        ring,
        key,
        export,
    };
    let wants = |t: &str| export.types.iter().any(|x| x == t);
    let mut patients = Writer::new("Patient");
    let mut obs = Writer::new("Observation");
    let mut after: Option<MemberId> = None;
    let mut done = 0usize;
    loop {
        let page =
            observations::members_page(ctx.conn, &export.portal, after.as_ref(), MEMBERS_PER_PAGE)?;
        let Some(last) = page.last().cloned() else {
            break;
        };
        for member in &page {
            if wants("Patient") {
                let m = crate::store::members::get(ctx.conn, ctx.ring, member)?;
                let p = crate::fhir_api::patient_resource(&m)
                    .map_err(|_| StoreError::Corrupt("patient".into()))?;
                patients.push(&mut ctx, &p)?;
            }
            if wants("Observation") {
                member_observations(&mut ctx, member, &mut obs)?;
            }
        }
        done += page.len();
        exports::set_status(
            ctx.conn,
            &export.id,
            exports::RUNNING,
            &format!("{done} patients"),
        )?;
        after = Some(last);
    }
    patients.flush(&mut ctx)?;
    obs.flush(&mut ctx)?;
    exports::get(ctx.conn, &export.portal, &export.id)?;
    exports::set_status(ctx.conn, &export.id, exports::DONE, "done")
}

fn member_observations(
    ctx: &mut Ctx<'_>,
    member: &MemberId,
    out: &mut Writer,
) -> Result<(), StoreError> {
    let access = observations::access(ctx.conn, ctx.ring, &ctx.export.portal, member)?;
    // Resources changed after the transaction time may be included (the IG allows it).
    let mut search = Search {
        count: CHUNK_LINES,
        last_updated: ctx
            .export
            .since
            .map(|s| DateBound {
                prefix: Prefix::Ge,
                low: s,
                high: s,
            })
            .into_iter()
            .collect(),
        ..Search::default()
    };
    loop {
        let page = observations::search(ctx.conn, &access, &search)?;
        for r in &page.resources {
            out.push_text(ctx, &r.json)?;
        }
        match page.next {
            Some(next) => search.after = Some(next),
            None => return Ok(()),
        }
    }
}
