//! The call record: what reached the sandbox, for tests to assert on.
//!
//! Policy: a call names the endpoint, the grant type and the sandbox user, never a
//! token, code, verifier or secret, so the record can be shown and logged freely.
//! Control requests (`/_control/…`) and requests for an unknown vendor are not
//! recorded. The record keeps the latest [`MAX_CALLS`] calls.

use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::VecDeque;

/// How many calls the record keeps; older ones are dropped first.
pub const MAX_CALLS: usize = 10_000;

/// One request the sandbox answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Call {
    pub vendor: String,
    pub method: String,
    /// The path after `/sandbox/{vendor}`, without the query.
    pub path: String,
    /// At the token endpoint: `authorization_code`, `refresh_token`, or
    /// `unsupported` for anything else.
    pub grant_type: Option<String>,
    /// When the token, code or form told which sandbox user it is about.
    pub sandbox_user: Option<String>,
    pub status: u16,
    pub at: DateTime<Utc>,
}

/// What a handler learnt about a request that the record may keep.
#[derive(Debug, Clone, Default)]
pub(crate) struct Note {
    pub grant_type: Option<String>,
    pub sandbox_user: Option<String>,
}

pub(crate) fn record(calls: &mut VecDeque<Call>, call: Call) {
    while calls.len() >= MAX_CALLS {
        calls.pop_front();
    }
    calls.push_back(call);
}
