//! One body of one data type into a [`Page`].
//!
//! Policy: a pull answers a bare JSON array of summaries; a push body (and a file
//! saved from one) wraps that array in an object under the summary type's name,
//! `{"dailies": […]}`. Both read the same: every record is parsed, in order, and
//! the first fault fails the page with its path (`$[2].steps` for an array,
//! `dailies[2].steps` for a push body). Keys of other summary types in a push body
//! are ignored, as are a ping's entries (no data in them).

use super::read::{reader, Out, Rec};
use super::{readings, summaries, Kind, TypeInfo};
use crate::connector::{Page, ParseError};
use serde_json::value::RawValue;

/// Parse a pull response or a push body of `info`'s type.
pub(super) fn page(info: &TypeInfo, body: &[u8]) -> Result<Page, ParseError> {
    let ctx = reader(info.id);
    let root: &RawValue = serde_json::from_slice(body).map_err(|e| {
        let problem = if e.is_data() {
            "not a JSON value"
        } else {
            "not JSON"
        };
        ctx.err("$", problem)
    })?;
    let (prefix, list) = if root.get().starts_with('[') {
        ("$", root)
    } else {
        let object = ctx
            .object(root, "$")
            .map_err(|_| ctx.err("$", "neither an array of summaries nor a push body"))?;
        info.push_keys
            .iter()
            .find_map(|k| object.get(*k).map(|raw| (*k, *raw)))
            .ok_or_else(|| ctx.err(info.push_keys[0], "missing"))?
    };
    let records = ctx.array(list, prefix)?;
    let mut out = Out::default();
    for (i, raw) in records.iter().enumerate() {
        let path = format!("{prefix}[{i}]");
        let obj = ctx.object(raw, &path)?;
        let rec = Rec { ctx, path, obj };
        if rec.has("callbackURL") {
            out.skip(rec.path, "a ping, not a summary");
            continue;
        }
        record(info.kind, &rec, &mut out)?;
    }
    Ok(out.into_page(None))
}

/// Read one summary record into `out`.
pub(super) fn record(kind: Kind, rec: &Rec<'_>, out: &mut Out) -> Result<(), ParseError> {
    match kind {
        Kind::Dailies => summaries::daily(rec, out),
        Kind::Sleeps => summaries::sleep(rec, out),
        Kind::Hrv => summaries::hrv(rec, out),
        Kind::Activities => summaries::activity(rec, out),
        Kind::BodyComps => readings::body_composition(rec, out),
        Kind::BloodPressures => readings::blood_pressure(rec, out),
        Kind::PulseOx => readings::pulse_ox(rec, out),
        Kind::Respiration => readings::respiration(rec, out),
    }
}
