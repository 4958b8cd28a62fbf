//! The sandbox: simulated vendor APIs (OAuth 2 with PKCE, data endpoints, injected
//! faults, a call record), served by the hub under `/sandbox/{vendor}/…` through the
//! one pure entry point [`Sandbox::handle`].
//!
//! Policy: the sandbox performs no I/O. The hub turns an HTTP request into a
//! [`SandboxRequest`], and writes back the [`SandboxResponse`], waiting out its
//! `delay` first (the "slow vendor" fault). State lives in memory behind one mutex
//! (a poisoned mutex is recovered: every update leaves the state consistent). Data
//! is generated deterministically per sandbox user and local day, never past
//! `now`. Nothing panics on any input: a malformed request is a 400 naming what is
//! wrong; an unknown vendor or path is a 404.
//!
//! Endpoints, per vendor: `GET|POST /oauth/authorize`, `POST /oauth/token`,
//! `POST /oauth/revoke`, the vendor's data endpoints (demo: `GET /api/v1/{type}`),
//! its subscription endpoint for notifications (demo: `POST /api/v1/subscriptions`;
//! Oura's app-level `/v2/webhook/subscription`), and `/_control/faults`,
//! `/_control/calls`, `/_control/push` and `/_control/endpoint` (an app-level push
//! endpoint, Garmin's) for tests.

mod authorize;
mod calls;
mod control;
mod data;
mod demo;
mod dexcom;
mod faults;
mod garmin;
mod http;
mod oura;
mod pages;
mod person;
mod push;
mod state;
mod token;
mod twin;
mod withings;

#[cfg(test)]
mod tests;

pub use calls::{Call, MAX_CALLS};

use calls::Note;
use chrono::{DateTime, Utc};
use state::State;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use twin::Twin;

/// Whether the sandbox simulates `vendor`.
pub fn simulates(vendor: &str) -> bool {
    twin::VENDORS.contains(&vendor)
}

/// Lifetimes of what the sandbox issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SandboxConfig {
    /// Seconds an access token lives (default 3600). Negative counts as 0.
    pub access_token_ttl_secs: i64,
    /// Seconds an authorization code lives (default 600). Negative counts as 0.
    pub code_ttl_secs: i64,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            access_token_ttl_secs: 3600,
            code_ttl_secs: 600,
        }
    }
}

/// One HTTP request to `/sandbox/{vendor}/…`, as the hub received it.
#[derive(Clone)]
pub struct SandboxRequest<'a> {
    /// `GET`, `POST`, …
    pub method: &'a str,
    /// The part after `/sandbox/{vendor}`, e.g. `/oauth/token`, `/api/v1/steps`.
    pub path: &'a str,
    /// Decoded query pairs.
    pub query: Vec<(String, String)>,
    /// Lower-case names.
    pub headers: Vec<(String, String)>,
    pub body: &'a [u8],
}

/// What the hub writes back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxResponse {
    pub status: u16,
    /// Lower-case names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Wait this long before answering (the "slow" fault).
    pub delay: Option<Duration>,
    /// Requests the vendor sends out (notifications), for the hub's HTTP face to
    /// deliver.
    pub outbound: Vec<Outbound>,
}

/// A request the simulated vendor sends to someone else (a notification).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outbound {
    pub url: String,
    /// Lower-case names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl SandboxResponse {
    /// The value of header `name` (lower-case), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The simulated vendors and their state.
pub struct Sandbox {
    config: SandboxConfig,
    state: Mutex<State>,
}

impl std::fmt::Debug for Sandbox {
    // The state holds live tokens: never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// What a request handler works with.
pub(crate) struct Ctx<'r> {
    pub twin: &'static dyn Twin,
    pub req: &'r SandboxRequest<'r>,
    pub now: DateTime<Utc>,
    pub config: SandboxConfig,
    /// What the call record may say about this request.
    pub note: Note,
    /// The query's pairs, then the form body's (when the body is a form).
    pub params: Vec<(String, String)>,
}

impl Sandbox {
    pub fn new(config: SandboxConfig) -> Self {
        let config = SandboxConfig {
            access_token_ttl_secs: config.access_token_ttl_secs.max(0),
            code_ttl_secs: config.code_ttl_secs.max(0),
        };
        Self {
            config,
            state: Mutex::new(State::default()),
        }
    }

    /// The vendors the sandbox simulates.
    pub fn vendors(&self) -> &'static [&'static str] {
        &twin::VENDORS
    }

    /// Answer one request for `vendor`, at the current time.
    pub fn handle(&self, vendor: &str, req: &SandboxRequest<'_>) -> SandboxResponse {
        self.handle_at(vendor, req, Utc::now())
    }

    /// Answer one request for `vendor` as if it arrived at `now`.
    pub fn handle_at(
        &self,
        vendor: &str,
        req: &SandboxRequest<'_>,
        now: DateTime<Utc>,
    ) -> SandboxResponse {
        let Some(twin) = twin::find(vendor) else {
            return SandboxResponse::error(404, "not_found", "no such sandbox vendor");
        };
        let mut state = self.lock();
        state.prune(now);
        if req.path.starts_with("/_control/") {
            return control::handle(twin, req, &mut state, now);
        }
        let mut params = req.query.clone();
        let is_form = http::header(req, "content-type")
            .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
        if is_form {
            params.extend(http::parse_form(req.body).unwrap_or_default());
        }
        let mut ctx = Ctx {
            twin,
            req,
            now,
            config: self.config,
            note: Note::default(),
            params,
        };
        let mut answer = route(&mut ctx, &mut state);
        if twin.style() == twin::Style::WithingsEnvelope && req.path != "/oauth/authorize" {
            answer = http::envelope(answer);
        }
        calls::record(
            &mut state.calls,
            Call {
                vendor: twin.vendor().to_owned(),
                method: http::truncate(req.method, 16),
                path: http::truncate(req.path, 256),
                grant_type: ctx.note.grant_type,
                sandbox_user: ctx.note.sandbox_user,
                status: answer.status,
                at: now,
            },
        );
        answer
    }

    /// Every recorded call, oldest first.
    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.iter().cloned().collect()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn route(ctx: &mut Ctx<'_>, state: &mut State) -> SandboxResponse {
    if let Some(answer) = ctx.twin.app_request(ctx, state) {
        return answer;
    }
    let (method, path) = (ctx.req.method, ctx.req.path);
    match (method, path) {
        ("GET", "/oauth/authorize") => authorize::page(ctx),
        ("POST", "/oauth/authorize") => authorize::decide(ctx, state),
        (_, "/oauth/authorize") => SandboxResponse::method_not_allowed("GET, POST"),
        ("POST", "/oauth/token") => token::exchange(ctx, state),
        ("POST", "/oauth/revoke") => token::revoke(ctx, state),
        (_, "/oauth/token" | "/oauth/revoke") => SandboxResponse::method_not_allowed("POST"),
        _ if ctx.twin.deregistration_path() == Some(path) => match method {
            "DELETE" => http::settle(data::deregister(ctx, state)),
            _ => SandboxResponse::method_not_allowed("DELETE"),
        },
        _ => {
            if let Some(callback) = ctx.twin.subscription(method, path, &ctx.params) {
                return match callback {
                    Ok(url) => push::subscribe(ctx, state, &url),
                    Err(e) => data::bad_param(e),
                };
            }
            match ctx.twin.data_endpoint(path, &ctx.params) {
                Some(endpoint) if method == endpoint.method => {
                    http::settle(data::serve(ctx, state, endpoint))
                }
                Some(endpoint) => SandboxResponse::method_not_allowed(endpoint.method),
                None => SandboxResponse::not_found(&http::truncate(path, 100)),
            }
        }
    }
}
