//! FHIR Bulk Data export (Bulk Data Access IG v2): kick-off, status, files.
//!
//! Policy: an export is PHI, so its NDJSON is never written to the file system.
//! [`job`] pages through the store by keyset (members by id, each member's
//! observations by (effective start, id)) on a blocking thread and writes sealed
//! chunks of up to 1000 lines into the database (see [`crate::store::exports`]):
//! memory stays bounded by one chunk per resource type whatever the export's size.
//! Downloads stream chunk by chunk, opened one at a time. Everything is filtered by
//! the caller's portal: another portal's export, status or file is 404. `DELETE` on
//! the status URL stops the job (it checks before every chunk) and deletes the files.
//! System-level and Patient-level exports are the same here: all of the portal's
//! members. An export interrupted by a restart stays `running`; deleting it is the
//! way out (no resumption yet).

pub mod file;
pub mod job;
pub mod kickoff;
pub mod status;

/// The resource types an export can hold.
pub const TYPES: &[&str] = &["Patient", "Observation"];
/// The media type of export files.
pub const NDJSON: &str = "application/fhir+ndjson";
