//! The two endpoints that describe a member's data rather than carry it.
//!
//! - `GET /v3/users/self/dataRange` (`getDataRangeV3`): the earliest and latest
//!   `systemTime`/`displayTime` of the member's calibrations, EGVs and events; each
//!   range may be `null` (no such records). An optional `lastSyncTime` narrows it to
//!   data new since then; it is not used here.
//! - `GET /v3/users/self/devices` (`getDevicesV3`, no query parameters): every
//!   receiver and app that contributed data, with `transmitterGeneration`,
//!   `displayDevice`, `displayApp`, `lastUploadDate`, `transmitterId` (nullable)
//!   and alert settings.
//!
//! Policy: each EGV names its own transmitter and display device, so samples never
//! need the devices call; [`devices`] describes devices exactly as samples do, for a
//! hub that wants to list them. [`data_range`] gives the window to backfill within.

use super::glucose;
use super::time::parse_stamp;
use super::VENDOR;
use crate::connector::{ParseError, TimeWindow};
use crate::raw::{join, Reader};
use crate::sample::Device;
use chrono::{DateTime, Duration, Utc};

/// The EGV range of a dataRange body, as a half-open window that holds the last
/// record too; `None` when the member has no EGVs.
pub fn data_range(body: &[u8]) -> Result<Option<TimeWindow>, ParseError> {
    let r = Reader::new(VENDOR, "dataRange");
    let root = r.object(r.root(body)?, "$")?;
    let Some(egvs) = crate::raw::present(&root, "egvs") else {
        return Ok(None);
    };
    let egvs = r.object(egvs, "egvs")?;
    let moment = |key: &str| -> Result<DateTime<Utc>, ParseError> {
        let path = join("egvs", key);
        let Some(raw) = crate::raw::present(&egvs, key) else {
            return Err(r.err(&path, "missing"));
        };
        let obj = r.object(raw, &path)?;
        let text = r.nonempty_string(&obj, &path, "systemTime")?;
        parse_stamp(&text)
            .and_then(|s| s.instant())
            .ok_or_else(|| r.err(join(&path, "systemTime"), "not an ISO 8601 date-time"))
    };
    let (start, last) = (moment("start")?, moment("end")?);
    if last < start {
        return Err(r.err("egvs.end", "before egvs.start"));
    }
    let end = last
        .checked_add_signed(Duration::seconds(1))
        .unwrap_or(last);
    Ok(Some(TimeWindow { start, end }))
}

/// The devices of a devices body, described as [`glucose::device`] describes a
/// reading's.
pub fn devices(body: &[u8]) -> Result<Vec<Device>, ParseError> {
    let r = Reader::new(VENDOR, "devices");
    let root = r.object(r.root(body)?, "$")?;
    let Some(records) = root.get("records") else {
        return Err(r.err("records", "missing"));
    };
    r.array(records, "records")?
        .into_iter()
        .enumerate()
        .map(|(i, raw)| {
            let path = format!("records[{i}]");
            let obj = r.object(raw, &path)?;
            Ok(glucose::device(
                r.string(&obj, &path, "transmitterId")?,
                r.string(&obj, &path, "transmitterGeneration")?.as_deref(),
                r.string(&obj, &path, "displayDevice")?.as_deref(),
            ))
        })
        .collect()
}
