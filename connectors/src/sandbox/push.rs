//! Notifications: clients subscribe a member's account to a callback URL, and the
//! vendor tells that URL when the member has new data.
//!
//! Policy: the sandbox performs no I/O, so a push is an [`Outbound`] request in the
//! answer to `POST /_control/push`, which the hub's HTTP face sends. A
//! notification goes to every subscription of the user whose client still holds a
//! grant, signed with the secret that client redeemed its code with, in the twin's
//! format. Subscribing needs the member's bearer token; the same subscription
//! twice is one subscription. A vendor without per-member subscriptions (Garmin)
//! pushes to the one endpoint the app configured (`POST /_control/endpoint`): a
//! user holding a grant of the vendor is notified there once, with the secret of
//! their oldest grant. `"event"` sends an account event instead of data
//! (`deregistration`, which also revokes the user's grants of the vendor, as a
//! member disconnecting at the vendor does; `permissions`), where the twin has it.
//! twice is one subscription. Where subscriptions belong to the vendor APP (Oura:
//! `State::app_subscriptions`, made through the twin's `app_request`), each one
//! hears of the data types it announces, for every member with a live grant of
//! that app.

use super::http::{credentials, settle, Answer};
use super::state::{after, State, Subscription};
use super::twin::{AccountEvent, Twin};
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
    /// An account event instead of data: `deregistration` or `permissions`.
    #[serde(default)]
    event: Option<String>,
    /// With `"event": "permissions"`: the permissions that remain.
    #[serde(default)]
    permissions: Option<Vec<String>>,
}

/// `POST /_control/push`: notify every subscription of `user`, and the vendor's
/// configured endpoint when `user` holds a grant.
pub(crate) fn control(
    twin: &dyn Twin,
    req: &SandboxRequest<'_>,
    state: &mut State,
    now: DateTime<Utc>,
) -> SandboxResponse {
    let spec: PushSpec = match serde_json::from_slice(req.body) {
        Ok(s) => s,
        Err(e) => return bad(&format!("not a push: {e}")),
    };
    let event = match (spec.event.as_deref(), spec.permissions) {
        (None, None) => None,
        (Some("deregistration"), None) => Some(AccountEvent::Deregistration),
        (Some("permissions"), Some(p)) => Some(AccountEvent::Permissions(p)),
        (Some("permissions"), None) => return bad("permissions: missing"),
        (None | Some("deregistration"), Some(_)) => {
            return bad("permissions: only with \"event\": \"permissions\"")
        }
        (Some(_), _) => return bad("event: not deregistration or permissions"),
    };
    if let Some(event) = &event {
        if twin.account_notification(&spec.user, event, now).is_none() {
            return bad(&format!(
                "event: {} sends no such notification",
                twin.vendor()
            ));
        }
    }
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
    // Where to, signed with which secret: the subscriptions whose client still
    // holds a grant, then the configured endpoint if the user holds any grant.
    let vendor = twin.vendor();
    let mut targets: Vec<(String, String)> = state
        .subscriptions
        .iter()
        .filter(|s| s.vendor == vendor && s.user == spec.user)
        .filter_map(|s| {
            let grant = state.grant_for(s.vendor, &s.client_id, &s.user)?;
            Some((s.callback_url.clone(), grant.client_secret.clone()))
        })
        .collect();
    let grants = state.grants_of(vendor, Some(&spec.user));
    if let (Some(url), Some(grant)) = (
        state.push_endpoints.get(vendor),
        grants.iter().min().and_then(|id| state.grants.get(id)),
    ) {
        targets.push((url.clone(), grant.client_secret.clone()));
    }
    let mut outbound = Vec::new();
    let refs: Vec<&str> = types.iter().map(String::as_str).collect();
    for (url, secret) in targets {
        let secret = spec.forge_secret.as_deref().unwrap_or(&secret);
        let notifications = match &event {
            Some(event) => twin
                .account_notification(&spec.user, event, signed_at)
                .into_iter()
                .collect(),
            None => twin.notification(&spec.user, &refs, window, secret, signed_at),
        };
        for (headers, body) in notifications {
            outbound.push(Outbound {
                url: url.clone(),
                headers,
                body,
            });
        }
    }
    if event.is_none() {
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
    }
    if event == Some(AccountEvent::Deregistration) {
        grants.into_iter().for_each(|g| state.revoke_grant(g));
    }
    let mut answer = SandboxResponse::json(200, &json!({"pushes": outbound.len()}));
    answer.outbound = outbound;
    answer
}

/// The body of `POST /_control/endpoint`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EndpointSpec {
    url: String,
}

/// `/_control/endpoint`: `POST {"url": …}` sets the one URL the app configured at
/// the vendor for all its members' notifications, `GET` shows it, `DELETE`
/// forgets it.
pub(crate) fn endpoint(
    twin: &dyn Twin,
    req: &SandboxRequest<'_>,
    state: &mut State,
) -> SandboxResponse {
    let vendor = twin.vendor();
    match req.method {
        "POST" => {
            let spec: EndpointSpec = match serde_json::from_slice(req.body) {
                Ok(s) => s,
                Err(e) => return bad(&format!("not an endpoint: {e}")),
            };
            let absolute = url::Url::parse(&spec.url)
                .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
            if !absolute || spec.url.len() > 2048 {
                return bad("url: not an absolute http(s) URL");
            }
            state.push_endpoints.insert(vendor, spec.url.clone());
            SandboxResponse::json(200, &json!({"url": spec.url}))
        }
        "GET" => SandboxResponse::json(200, &json!({"url": state.push_endpoints.get(vendor)})),
        "DELETE" => {
            state.push_endpoints.remove(vendor);
            SandboxResponse::json(200, &json!({"ok": true}))
        }
        _ => SandboxResponse::method_not_allowed("GET, POST, DELETE"),
    }
}
