//! Injected faults: the vendor misbehaving on purpose, so the hub's handling of it
//! can be tested.
//!
//! Policy: a fault is set through `POST /_control/faults` for one user or for all,
//! or for a single request by the `x-sandbox-fault` header. `rate_limit`,
//! `server_error` and `slow` wait for the next `times` requests to the data
//! endpoints (or to the token endpoint with `"endpoint": "token"`), checked after
//! the token and before anything else, in the order they were set.
//! `expire_tokens` and `revoke_tokens` act at once: expired access tokens leave the
//! refresh tokens working, revoked grants leave nothing working.

use super::http::truncate;
use super::state::State;
use super::{Ctx, SandboxResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Kind {
    RateLimit,
    ServerError,
    Slow,
    ExpireTokens,
    RevokeTokens,
}

/// Which requests a waiting fault is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Endpoint {
    #[default]
    Data,
    Token,
}

const DEFAULT_RETRY_AFTER_SECS: u64 = 30;
const DEFAULT_DELAY_MS: u64 = 2000;
/// Longer delays would only make a test hang.
const MAX_DELAY_MS: u64 = 60_000;
/// More waiting faults than this is a test that forgot to clear them.
const MAX_FAULTS: usize = 1000;

/// The body of `POST /_control/faults`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    #[serde(default)]
    user: Option<String>,
    kind: Kind,
    #[serde(default)]
    times: Option<u32>,
    #[serde(default)]
    retry_after_secs: Option<u64>,
    #[serde(default)]
    delay_ms: Option<u64>,
    #[serde(default)]
    endpoint: Endpoint,
}

/// A fault waiting for requests.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Fault {
    #[serde(skip)]
    vendor: &'static str,
    user: Option<String>,
    kind: Kind,
    endpoint: Endpoint,
    remaining: u32,
    retry_after_secs: u64,
    delay_ms: u64,
}

/// `POST /_control/faults`.
pub(crate) fn add(
    state: &mut State,
    vendor: &'static str,
    body: &[u8],
    now: DateTime<Utc>,
) -> SandboxResponse {
    let spec: Spec = match serde_json::from_slice(body) {
        Ok(spec) => spec,
        Err(e) => return bad(&format!("not a fault: {e}")),
    };
    let user = spec.user.as_deref();
    match spec.kind {
        Kind::ExpireTokens | Kind::RevokeTokens => {
            let grants = state.grants_of(vendor, user);
            if spec.kind == Kind::RevokeTokens {
                grants.iter().for_each(|g| state.revoke_grant(*g));
            } else {
                for access in state.access.values_mut() {
                    if grants.contains(&access.grant) && access.expires_at > now {
                        access.expires_at = now;
                    }
                }
            }
            SandboxResponse::json(200, &json!({"ok": true, "grants": grants.len()}))
        }
        Kind::RateLimit | Kind::ServerError | Kind::Slow => {
            let delay_ms = spec.delay_ms.unwrap_or(DEFAULT_DELAY_MS);
            if delay_ms > MAX_DELAY_MS {
                return bad(&format!("delay_ms: at most {MAX_DELAY_MS}"));
            }
            let times = spec.times.unwrap_or(1);
            if times == 0 {
                return bad("times: at least 1");
            }
            if state.faults.len() >= MAX_FAULTS {
                return bad("too many waiting faults; DELETE /_control/faults first");
            }
            let fault = Fault {
                vendor,
                user: spec.user,
                kind: spec.kind,
                endpoint: spec.endpoint,
                remaining: times,
                retry_after_secs: spec.retry_after_secs.unwrap_or(DEFAULT_RETRY_AFTER_SECS),
                delay_ms,
            };
            let answer = json!({"ok": true, "fault": fault});
            state.faults.push(fault);
            SandboxResponse::json(200, &answer)
        }
    }
}

/// `GET /_control/faults`: the faults still waiting.
pub(crate) fn list(state: &State, vendor: &str) -> SandboxResponse {
    let faults: Vec<&Fault> = state.faults.iter().filter(|f| f.vendor == vendor).collect();
    SandboxResponse::json(200, &json!({ "faults": faults }))
}

/// `DELETE /_control/faults`.
pub(crate) fn clear(state: &mut State, vendor: &str) -> SandboxResponse {
    state.faults.retain(|f| f.vendor != vendor);
    SandboxResponse::json(200, &json!({"ok": true}))
}

fn bad(problem: &str) -> SandboxResponse {
    SandboxResponse::error(400, "invalid_request", problem)
}

/// The fault due for this request of `user`, if any: `Err` is the answer to give
/// instead of the real one, `Ok(Some(delay))` a delay to add to the real one.
pub(crate) fn due(
    ctx: &Ctx<'_>,
    state: &mut State,
    endpoint: Endpoint,
    user: Option<&str>,
) -> Result<Option<Duration>, SandboxResponse> {
    let vendor = ctx.twin.vendor();
    let fault = match super::http::header(ctx.req, "x-sandbox-fault") {
        Some(value) => Some(from_header(value)?),
        None => take(state, vendor, endpoint, user),
    };
    match fault {
        None => Ok(None),
        Some((Kind::Slow, _, delay_ms)) => Ok(Some(Duration::from_millis(delay_ms))),
        Some((Kind::RateLimit, retry_after, _)) => Err(SandboxResponse::json(
            429,
            &json!({"error": "rate_limited", "error_description": "too many requests"}),
        )
        .with_header("retry-after", &retry_after.to_string())),
        Some(_) => Err(SandboxResponse::json(
            500,
            &json!({"error": "server_error", "error_description": "injected fault"}),
        )),
    }
}

fn from_header(value: &str) -> Result<(Kind, u64, u64), SandboxResponse> {
    let kind = match value.trim() {
        "rate_limit" => Kind::RateLimit,
        "server_error" => Kind::ServerError,
        "slow" => Kind::Slow,
        other => {
            let problem = format!(
                "x-sandbox-fault: {:?} is not rate_limit, server_error or slow",
                truncate(other, 40)
            );
            return Err(bad(&problem));
        }
    };
    Ok((kind, DEFAULT_RETRY_AFTER_SECS, DEFAULT_DELAY_MS))
}

/// Use up one request of the first matching waiting fault.
fn take(
    state: &mut State,
    vendor: &str,
    endpoint: Endpoint,
    user: Option<&str>,
) -> Option<(Kind, u64, u64)> {
    let index = state.faults.iter().position(|f| {
        f.vendor == vendor
            && f.endpoint == endpoint
            && f.user.as_deref().is_none_or(|u| Some(u) == user)
    })?;
    let fault = state.faults.get_mut(index)?;
    fault.remaining = fault.remaining.saturating_sub(1);
    let effect = (fault.kind, fault.retry_after_secs, fault.delay_ms);
    if fault.remaining == 0 {
        state.faults.remove(index);
    }
    Some(effect)
}
