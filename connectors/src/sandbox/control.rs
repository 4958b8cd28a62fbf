//! `/_control/…`: what tests use to steer and inspect a vendor twin.
//!
//! Policy: control requests act on the vendor in their path only, answer JSON, and
//! are not themselves recorded as calls.

use super::state::State;
use super::twin::Twin;
use super::{faults, SandboxRequest, SandboxResponse};
use chrono::{DateTime, Utc};
use serde_json::json;

pub(crate) fn handle(
    twin: &dyn Twin,
    req: &SandboxRequest<'_>,
    state: &mut State,
    now: DateTime<Utc>,
) -> SandboxResponse {
    let vendor = twin.vendor();
    match (req.path, req.method) {
        ("/_control/faults", "POST") => faults::add(state, vendor, req.body, now),
        ("/_control/faults", "GET") => faults::list(state, vendor),
        ("/_control/faults", "DELETE") => faults::clear(state, vendor),
        ("/_control/faults", _) => SandboxResponse::method_not_allowed("GET, POST, DELETE"),
        ("/_control/calls", "GET") => {
            let calls: Vec<_> = state.calls.iter().filter(|c| c.vendor == vendor).collect();
            SandboxResponse::json(200, &json!({ "calls": calls }))
        }
        ("/_control/calls", "DELETE") => {
            state.calls.retain(|c| c.vendor != vendor);
            SandboxResponse::json(200, &json!({"ok": true}))
        }
        ("/_control/calls", _) => SandboxResponse::method_not_allowed("GET, DELETE"),
        ("/_control/push", "POST") => super::push::control(twin, req, state, now),
        ("/_control/push", _) => SandboxResponse::method_not_allowed("POST"),
        ("/_control/endpoint", _) => super::push::endpoint(twin, req, state),
        (path, _) => SandboxResponse::not_found(path),
    }
}
