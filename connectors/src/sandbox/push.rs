//! Notifications: clients subscribe a member's account to a callback URL, and the
//! vendor tells that URL when the member has new data.
//!
//! Policy: the sandbox performs no I/O, so a push is an [`Outbound`] request in the
//! answer to `POST /_control/push`, which the hub's HTTP face sends. A
//! notification goes to every subscription of the user whose client still holds a
//! grant, signed with the secret that client redeemed its code with, in the twin's
//! format. Subscribing needs the member's bearer token; the same subscription
//! twice is one subscription. Where subscriptions belong to the vendor APP (Oura:
//! `State::app_subscriptions`, made through the twin's `app_request`), each one
//! hears of the data types it announces, for every member with a live grant of
//! that app.

use super::http::{credentials, settle, Answer};
use super::state::{after, State, Subscription};
use super::twin::Twin;
use super::{Ctx, Outbound, SandboxRequest, SandboxResponse};
use crate::TimeWindow;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;

/// More subscriptions than this is a test that never cleans up.
const MAX_SUBSCRIPTIONS: usize = 100_000;

/// A subscription request (the twin found `callback` in it), bearer token.
pub(crate) fn subscribe(ctx: &mut Ctx<'_>, state: &mut State, callback: &str) -> SandboxResponse {
    settle(subscribe_inner(ctx, state, callback))
}

fn subscribe_inner(ctx: &mut Ctx<'_>, state: &mut State, callback: &str) -> Answer {
    let vendor = ctx.twin.vendor();
    let token = credentials(ctx.req, "bearer")
        .ok_or_else(|| SandboxResponse::error(401, "invalid_token", "missing bearer token"))?;
    let grant = state
        .authenticate(vendor, token, ctx.now)
        .map_err(|_| SandboxResponse::error(401, "invalid_token", "unknown, revoked or expired"))?;
    let (client_id, user) = (grant.client_id.clone(), grant.user.clone());
    ctx.note.sandbox_user = Some(user.clone());
    let parsed = url::Url::parse(callback).map_err(|_| bad("callback_url: not a URL"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
        return Err(bad("callback_url: not an absolute http(s) URL"));
    }
    let subscription = Subscription {
        vendor,
        client_id,
        user,
        callback_url: callback.to_owned(),
    };
    if !state.subscriptions.contains(&subscription) {
        if state.subscriptions.len() >= MAX_SUBSCRIPTIONS {
            return Err(SandboxResponse::error(
                429,
                "too_many_subscriptions",
                "the sandbox keeps at most 100000 subscriptions",
            ));
        }
        state.subscriptions.push(subscription);
    }
    let (status, body) = ctx.twin.subscribed(callback);
    Ok(SandboxResponse::json(status, &body))
}

fn bad(problem: &str) -> SandboxResponse {
    SandboxResponse::error(400, "invalid_request", problem)
}

/// The body of `POST /_control/push`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PushSpec {
    user: String,
    /// Default: every type the twin serves.
    #[serde(default)]
    data_types: Option<Vec<String>>,
    /// Default: a day before `end`.
    #[serde(default)]
    start: Option<DateTime<Utc>>,
    /// Default: now.
    #[serde(default)]
    end: Option<DateTime<Utc>>,
    /// Sign with this secret instead of the client's (to test a forged push).
    #[serde(default)]
    forge_secret: Option<String>,
    /// Sign as if at this many seconds from now (to test a replayed push).
    #[serde(default)]
    shift_secs: Option<i64>,
}

/// `POST /_control/push`: notify every subscription of `user`.
pub(crate) fn control(
    twin: &dyn Twin,
    req: &SandboxRequest<'_>,
    state: &State,
    now: DateTime<Utc>,
) -> SandboxResponse {
    let spec: PushSpec = match serde_json::from_slice(req.body) {
        Ok(s) => s,
        Err(e) => return bad(&format!("not a push: {e}")),
    };
    let types: Vec<String> = spec
        .data_types
        .unwrap_or_else(|| twin.data_types().iter().map(|t| (*t).to_owned()).collect());
    if let Some(unknown) = types
        .iter()
        .find(|t| !twin.data_types().contains(&t.as_str()))
    {
        return bad(&format!(
            "data_types: {} has no data type {unknown:?}",
            twin.vendor()
        ));
    }
    let end = spec.end.unwrap_or(now);
    let start = spec.start.unwrap_or_else(|| after(end, -86_400));
    if end <= start {
        return bad("end: not after start");
    }
    let window = TimeWindow { start, end };
    let signed_at = after(now, spec.shift_secs.unwrap_or(0));
    let mut outbound = Vec::new();
    for sub in state
        .subscriptions
        .iter()
        .filter(|s| s.vendor == twin.vendor() && s.user == spec.user)
    {
        let Some(grant) = state.grant_for(sub.vendor, &sub.client_id, &sub.user) else {
            continue;
        };
        let secret = spec.forge_secret.as_deref().unwrap_or(&grant.client_secret);
        let refs: Vec<&str> = types.iter().map(String::as_str).collect();
        for (headers, body) in twin.notification(&sub.user, &refs, window, secret, signed_at) {
            outbound.push(Outbound {
                url: sub.callback_url.clone(),
                headers,
                body,
            });
        }
    }
    // A vendor APP's subscriptions (Oura's) hear of the data types each announces,
    // for every member with a live grant of that app.
    for sub in state
        .app_subscriptions
        .iter()
        .filter(|s| s.vendor == twin.vendor() && now < s.expires_at)
    {
        let Some(grant) = state.grant_for(sub.vendor, &sub.client_id, &spec.user) else {
            continue;
        };
        let refs: Vec<&str> = types
            .iter()
            .map(String::as_str)
            .filter(|t| sub.announces.contains(t))
            .collect();
        if refs.is_empty() {
            continue;
        }
        let secret = spec.forge_secret.as_deref().unwrap_or(&grant.client_secret);
        for (headers, body) in twin.notification(&spec.user, &refs, window, secret, signed_at) {
            outbound.push(Outbound {
                url: sub.callback_url.clone(),
                headers,
                body,
            });
        }
    }
    let mut answer = SandboxResponse::json(200, &json!({"pushes": outbound.len()}));
    answer.outbound = outbound;
    answer
}
