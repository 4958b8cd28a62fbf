//! Ingest: one page of a vendor's `Sample`s becomes stored FHIR Observations.
//!
//! Policy: the samples are normalised (`crate::fhir`), converted to the store's
//! input, and written in one transaction by `store::observations::upsert_batch`,
//! which seals each resource with the member's data key, upserts by identifier and
//! refuses data types the member has not granted. A sample that cannot be
//! normalised fails the whole page: nothing of it is stored, so a retry sees the
//! same page again. The sync engine calls this; tests and benchmarks call it too.

use crate::db::AnyConnection;
use crate::domain::MemberId;
use crate::fhir::{self, Context, NormalizeError, Normalized};
use crate::keys::KeyRing;
use crate::store::observations::{upsert_batch, NewObservation, UpsertReport};
use crate::store::StoreError;
use thiserror::Error;
use tributary_connectors::Sample;

#[derive(Debug, Error)]
pub enum IngestError {
    #[error(transparent)]
    Normalize(#[from] NormalizeError),
    #[error("an observation could not be written as JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<diesel::result::Error> for IngestError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Store(e.into())
    }
}

/// Normalise and store one page of samples of `vendor`'s `data_type` for `member`.
pub fn store_samples(
    conn: &mut AnyConnection,
    ring: &KeyRing,
    member: &MemberId,
    vendor: &str,
    data_type: &str,
    samples: &[Sample],
) -> Result<UpsertReport, IngestError> {
    let ctx = Context::new(vendor, data_type, member.as_str())?;
    let batch = fhir::normalize_all(&ctx, samples)?
        .into_iter()
        .map(to_store)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(upsert_batch(conn, ring, member, &batch)?)
}

/// The span `[first start, last end)` of `samples` in UTC, for `data.available`.
pub fn span(samples: &[Sample]) -> Option<(chrono::NaiveDateTime, chrono::NaiveDateTime)> {
    let start = samples.iter().map(|s| s.start.naive_utc()).min()?;
    let end = samples
        .iter()
        .map(|s| s.end.unwrap_or(s.start).naive_utc())
        .max()?;
    Some((start, end))
}

/// Store a page of samples for a connection and, when anything new or amended was
/// stored, announce it with `data.available` in the same transaction.
pub fn store_and_announce(
    conn: &mut AnyConnection,
    ring: &KeyRing,
    connection: &crate::store::connections::Connection,
    data_type: &str,
    samples: &[Sample],
) -> Result<UpsertReport, IngestError> {
    conn.write_transaction(|conn| {
        let report = store_samples(
            conn,
            ring,
            &connection.member_id,
            &connection.vendor,
            data_type,
            samples,
        )?;
        let changed = report.inserted + report.amended;
        if let (true, Some((start, end))) = (changed > 0, span(samples)) {
            crate::store::events::data_available(
                conn,
                &connection.portal_id,
                &connection.member_id,
                &connection.vendor,
                data_type,
                start,
                end,
                changed,
            )?;
        }
        Ok(report)
    })
}

/// The store's input: the normaliser's JSON as it was written (whole numbers
/// whole, keys in FHIR order), checked to be JSON.
pub fn to_store(n: Normalized) -> Result<NewObservation, serde_json::Error> {
    let resource = serde_json::value::RawValue::from_string(n.resource)?;
    Ok(NewObservation {
        id: n.id,
        identifier: n.identifier,
        codes: n.codes,
        categories: n.categories,
        effective_start: n.effective_start,
        effective_end: n.effective_end,
        vendor: n.vendor,
        data_type: n.data_type,
        resource,
    })
}
