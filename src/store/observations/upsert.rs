//! Writing observations: [`upsert_batch`], the only write path (sync jobs and bulk
//! loaders alike). A batch is one transaction; new rows go in as multi-row INSERTs.
//! Two batches racing to insert the same new identifier: one of them fails with
//! [`StoreError::Conflict`] and is retried by its caller.

use super::{aad, content_hash, grant_key, grants, identifier_hash, to_micros, AMENDED, FINAL};
use crate::crypto::{seal, SecretKey};
use crate::db::bulk::{insert_rows, Value};
use crate::db::schema::{members, observation_codes, observations};
use crate::db::AnyConnection;
use crate::domain::MemberId;
use crate::keys::{member_key, KeyRing};
use crate::store::StoreError;
use chrono::{DateTime, FixedOffset};
use diesel::prelude::*;
use std::collections::HashMap;

/// Rows per multi-row INSERT (observations have 14 columns: well under the bind
/// limits of SQLite, 32 766, and PostgreSQL, 65 535).
const INSERT_CHUNK: usize = 500;
/// Identifier hashes looked up per query.
const LOOKUP_CHUNK: usize = 500;

/// An observation as the normaliser produced it.
pub struct NewObservation {
    /// Deterministic id (32 hex digits), chosen by the normaliser.
    pub id: String,
    /// The value of the `urn:tributary:sid:observation` identifier.
    pub identifier: String,
    /// `(system, code)` of every coding of `Observation.code`.
    pub codes: Vec<(String, String)>,
    /// Category codes (e.g. `vital-signs`, `activity`).
    pub categories: Vec<String>,
    pub effective_start: DateTime<FixedOffset>,
    pub effective_end: DateTime<FixedOffset>,
    pub vendor: String,
    pub data_type: String,
    /// The Observation as normalised (no `meta.versionId`/`meta.lastUpdated`),
    /// as JSON text: it is sealed as it is.
    pub resource: Box<serde_json::value::RawValue>,
}

impl std::fmt::Debug for NewObservation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewObservation")
            .field("id", &self.id)
            .field("vendor", &self.vendor)
            .field("data_type", &self.data_type)
            .finish_non_exhaustive()
    }
}

/// What a batch did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct UpsertReport {
    pub inserted: usize,
    pub amended: usize,
    pub unchanged: usize,
    /// Observations of data types the member has not granted: not stored.
    pub refused: usize,
}

/// An observation ready to write: sealed, hashed, in index form.
struct Prepared<'a> {
    obs: &'a NewObservation,
    identifier_hash: Vec<u8>,
    content_hash: Vec<u8>,
    plain: Vec<u8>,
    start: i64,
    end: i64,
}

/// Store `batch` for `member` in one transaction (see the module policy).
pub fn upsert_batch(
    conn: &mut AnyConnection,
    ring: &KeyRing,
    member: &MemberId,
    batch: &[NewObservation],
) -> Result<UpsertReport, StoreError> {
    conn.write_transaction(|conn| {
        // Lock the member's row first: on PostgreSQL two batches of one member then
        // never race to insert the same new identifier (SQLite's write transaction
        // already holds the database's write lock).
        let locked = diesel::update(members::table.find(member.as_str()))
            .set(members::observation_max_span.eq(members::observation_max_span))
            .execute(conn)?;
        if locked == 0 {
            return Err(StoreError::NotFound);
        }
        let (portal, max_span): (String, i64) = members::table
            .find(member.as_str())
            .select((members::portal_id, members::observation_max_span))
            .first(conn)
            .optional()?
            .ok_or(StoreError::NotFound)?;
        let granted = grants(conn, member, true)?;
        let key = member_key(conn, ring, member.as_str())?;
        let mut report = UpsertReport::default();
        let mut prepared = Vec::with_capacity(batch.len());
        for obs in batch {
            if granted.contains(&grant_key(&obs.vendor, &obs.data_type)) {
                prepared.push(prepare(ring, member, obs)?);
            } else {
                report.refused += 1;
            }
        }
        let existing = existing(conn, member, &prepared)?;
        let now = chrono::Utc::now().timestamp_micros();
        let mut fresh = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for p in &prepared {
            if !seen.insert(p.identifier_hash.clone()) {
                report.unchanged += 1;
                continue;
            }
            match existing.get(&p.identifier_hash) {
                None => fresh.push(p),
                Some((_, _, hash)) if *hash == p.content_hash => report.unchanged += 1,
                Some((id, version, _)) => {
                    amend(conn, &key, member, id, version + 1, p, now)?;
                    report.amended += 1;
                }
            }
        }
        for chunk in fresh.chunks(INSERT_CHUNK) {
            insert(conn, &key, &portal, member, chunk, now)?;
        }
        report.inserted = fresh.len();
        widen_span(conn, member, max_span, &prepared)?;
        Ok(report)
    })
}

fn prepare<'a>(
    ring: &KeyRing,
    member: &MemberId,
    obs: &'a NewObservation,
) -> Result<Prepared<'a>, StoreError> {
    let (start, end) = (
        to_micros(&obs.effective_start),
        to_micros(&obs.effective_end),
    );
    if end < start || !obs.resource.get().trim_start().starts_with('{') {
        return Err(StoreError::Invalid(format!(
            "observation {}: the effective end precedes the start, or the resource is not an object",
            obs.id
        )));
    }
    let plain = obs.resource.get().as_bytes().to_vec();
    Ok(Prepared {
        identifier_hash: identifier_hash(ring, member.as_str(), &obs.identifier),
        content_hash: content_hash(ring, member.as_str(), &plain),
        obs,
        plain,
        start,
        end,
    })
}

/// Stored `(id, version, content hash)` by identifier hash.
type Stored = HashMap<Vec<u8>, (String, i64, Vec<u8>)>;

/// What of this batch is stored already.
fn existing(
    conn: &mut AnyConnection,
    member: &MemberId,
    prepared: &[Prepared<'_>],
) -> Result<Stored, StoreError> {
    let mut out = HashMap::new();
    for chunk in prepared.chunks(LOOKUP_CHUNK) {
        let hashes: Vec<&Vec<u8>> = chunk.iter().map(|p| &p.identifier_hash).collect();
        let rows: Vec<(Vec<u8>, String, i64, Vec<u8>)> = observations::table
            .filter(observations::member_id.eq(member.as_str()))
            .filter(observations::identifier_hash.eq_any(hashes))
            .select((
                observations::identifier_hash,
                observations::id,
                observations::version_id,
                observations::content_hash,
            ))
            .load(conn)?;
        for (h, id, v, c) in rows {
            out.insert(h, (id, v, c));
        }
    }
    Ok(out)
}

fn categories(obs: &NewObservation) -> String {
    // Space-delimited with a space at each end, so `LIKE '% code %'` finds one code.
    format!(" {} ", obs.categories.join(" "))
}

const COLUMNS: [&str; 14] = [
    "id",
    "portal_id",
    "member_id",
    "identifier_hash",
    "vendor",
    "data_type",
    "categories",
    "effective_start",
    "effective_end",
    "version_id",
    "status",
    "last_updated",
    "content_hash",
    "resource_sealed",
];
const CODE_COLUMNS: [&str; 5] = [
    "observation_id",
    "member_id",
    "system",
    "code",
    "effective_start",
];

fn insert(
    conn: &mut AnyConnection,
    key: &SecretKey,
    portal: &str,
    member: &MemberId,
    chunk: &[&Prepared<'_>],
    now: i64,
) -> Result<(), StoreError> {
    let m = member.as_str();
    let owned: Vec<(String, Vec<u8>)> = chunk
        .iter()
        .map(|p| (categories(p.obs), seal(key, &aad(&p.obs.id, m), &p.plain)))
        .collect();
    let rows: Vec<Vec<Value<'_>>> = chunk
        .iter()
        .zip(&owned)
        .map(|(p, (cats, sealed))| {
            vec![
                Value::Text(&p.obs.id),
                Value::Text(portal),
                Value::Text(m),
                Value::Binary(&p.identifier_hash),
                Value::Text(&p.obs.vendor),
                Value::Text(&p.obs.data_type),
                Value::Text(cats),
                Value::BigInt(p.start),
                Value::BigInt(p.end),
                Value::BigInt(1),
                Value::Text(FINAL),
                Value::BigInt(now),
                Value::Binary(&p.content_hash),
                Value::Binary(sealed),
            ]
        })
        .collect();
    insert_rows(conn, "observations", &COLUMNS, &rows)?;
    insert_codes(conn, member, chunk.iter().map(|p| (p.obs.id.as_str(), *p)))
}

fn insert_codes<'a>(
    conn: &mut AnyConnection,
    member: &'a MemberId,
    items: impl Iterator<Item = (&'a str, &'a Prepared<'a>)>,
) -> Result<(), StoreError> {
    let mut rows = Vec::new();
    for (id, p) in items {
        let mut seen = std::collections::HashSet::new();
        for (system, code) in &p.obs.codes {
            if seen.insert((system, code)) {
                rows.push(vec![
                    Value::Text(id),
                    Value::Text(member.as_str()),
                    Value::Text(system),
                    Value::Text(code),
                    Value::BigInt(p.start),
                ]);
            }
        }
    }
    for chunk in rows.chunks(INSERT_CHUNK * 2) {
        insert_rows(conn, "observation_codes", &CODE_COLUMNS, chunk)?;
    }
    Ok(())
}

/// New content for a stored observation: same id, next version, `amended`.
fn amend(
    conn: &mut AnyConnection,
    key: &SecretKey,
    member: &MemberId,
    id: &str,
    version: i64,
    p: &Prepared<'_>,
    now: i64,
) -> Result<(), StoreError> {
    diesel::update(observations::table.find(id))
        .set((
            observations::vendor.eq(&p.obs.vendor),
            observations::data_type.eq(&p.obs.data_type),
            observations::categories.eq(categories(p.obs)),
            observations::effective_start.eq(p.start),
            observations::effective_end.eq(p.end),
            observations::version_id.eq(version),
            observations::status.eq(AMENDED),
            observations::last_updated.eq(now),
            observations::content_hash.eq(&p.content_hash),
            observations::resource_sealed.eq(seal(key, &aad(id, member.as_str()), &p.plain)),
        ))
        .execute(conn)?;
    diesel::delete(observation_codes::table.filter(observation_codes::observation_id.eq(id)))
        .execute(conn)?;
    insert_codes(conn, member, std::iter::once((id, p)))
}

/// Keep the member's longest effective period up to date (it only grows).
fn widen_span(
    conn: &mut AnyConnection,
    member: &MemberId,
    stored: i64,
    prepared: &[Prepared<'_>],
) -> Result<(), StoreError> {
    let longest = prepared.iter().map(|p| p.end - p.start).max().unwrap_or(0);
    if longest > stored {
        diesel::update(members::table.find(member.as_str()))
            .filter(members::observation_max_span.lt(longest))
            .set(members::observation_max_span.eq(longest))
            .execute(conn)?;
    }
    Ok(())
}
