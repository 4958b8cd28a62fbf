//! Oura's webhook subscriptions, which belong to the vendor APP, and the
//! notifications they receive.
//!
//! `POST /v2/webhook/subscription` (JSON `{callback_url, verification_token,
//! event_type, data_type}`), `GET /v2/webhook/subscription` (the app's list),
//! `GET|DELETE /v2/webhook/subscription/{id}` and
//! `PUT /v2/webhook/subscription/renew/{id}`, each with the headers `x-client-id`
//! and `x-client-secret` and no member token. Updating one in place
//! (`PUT /v2/webhook/subscription/{id}`) is not simulated: it answers 405.
//!
//! Policy: the sandbox has no client registry, so any non-empty id and secret
//! authenticate, and an app sees only the subscriptions made with its id. Oura
//! verifies a new callback with a GET carrying a challenge; the sandbox sends
//! nothing but POSTs (its answers' outbound requests), so that step is skipped and
//! the subscription is made at once. The same (callback, event type, data type)
//! twice is one subscription, answered again. A subscription lives
//! [`LIFETIME_DAYS`] unless renewed; an expired one is listed but not notified.
//! The sandbox only simulates new documents, so only `create` subscriptions of the
//! data types it serves are ever notified: one notification per document that came
//! to exist in the pushed window, its `event_time` that moment, signed with the
//! client secret the member's grant was redeemed with.

use super::documents::{self, DocKind};
use super::life;
use crate::sandbox::http::{header, settle, Answer};
use crate::sandbox::person::hash;
use crate::sandbox::state::{after, AppSubscription, State};
use crate::sandbox::twin::Notification;
use crate::sandbox::{Ctx, SandboxResponse};
use crate::TimeWindow;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

const PATH: &str = "/v2/webhook/subscription";
/// How long a subscription lives without renewal.
pub(super) const LIFETIME_DAYS: i64 = 30;
/// More subscriptions than this is a test that never cleans up.
const MAX_SUBSCRIPTIONS: usize = 100_000;
/// At most this many notifications answer one push.
const MAX_NOTIFICATIONS: usize = 1000;

/// Oura's webhook data types (`WebhookDataType`, API reference).
const DATA_TYPES: [&str; 17] = [
    "tag",
    "enhanced_tag",
    "workout",
    "session",
    "sleep",
    "daily_sleep",
    "daily_readiness",
    "daily_activity",
    "daily_spo2",
    "sleep_time",
    "rest_mode_period",
    "ring_configuration",
    "daily_stress",
    "daily_cycle_phases",
    "daily_resilience",
    "daily_cardiovascular_age",
    "vo2_max",
];

/// The twin's data type each webhook data type announces.
pub(super) const ANNOUNCES: [(&str, &str); 5] = [
    ("daily_activity", "daily_activity"),
    ("sleep", "sleep"),
    ("daily_spo2", "daily_spo2"),
    ("daily_readiness", "temperature"),
    ("workout", "workout"),
];

/// The body of a create request.
#[derive(Deserialize)]
struct Create {
    callback_url: String,
    verification_token: String,
    event_type: String,
    data_type: String,
}

/// The answer to `ctx.req` if it is a call of the webhook API.
pub(super) fn request(ctx: &Ctx<'_>, state: &mut State) -> Option<SandboxResponse> {
    let rest = ctx.req.path.strip_prefix(PATH)?;
    if !(rest.is_empty() || rest.starts_with('/')) {
        return None;
    }
    Some(settle(answer(ctx, state, rest)))
}

fn answer(ctx: &Ctx<'_>, state: &mut State, rest: &str) -> Answer {
    let client = app(ctx)?;
    let vendor = ctx.twin.vendor();
    let mine = |s: &AppSubscription| s.vendor == vendor && s.client_id == client;
    match (ctx.req.method, rest) {
        ("POST", "") => create(ctx, state, &client),
        ("GET", "") => {
            let list: Vec<Value> = state
                .app_subscriptions
                .iter()
                .filter(|s| mine(s))
                .map(model)
                .collect();
            Ok(SandboxResponse::json(200, &Value::Array(list)))
        }
        (_, "") => Err(SandboxResponse::method_not_allowed("GET, POST")),
        (method, rest) => {
            let (renew, id) = match rest.strip_prefix("/renew/") {
                Some(id) => (true, id),
                None => (false, rest.trim_start_matches('/')),
            };
            let allowed = if renew { "PUT" } else { "GET, DELETE" };
            let found = state
                .app_subscriptions
                .iter()
                .position(|s| mine(s) && s.id == id);
            match (method, renew, found) {
                ("PUT", true, Some(i)) => {
                    let sub = &mut state.app_subscriptions[i];
                    sub.expires_at = after(ctx.now, LIFETIME_DAYS * 86_400);
                    Ok(SandboxResponse::json(200, &model(sub)))
                }
                ("GET", false, Some(i)) => Ok(SandboxResponse::json(
                    200,
                    &model(&state.app_subscriptions[i]),
                )),
                ("DELETE", false, Some(i)) => {
                    state.app_subscriptions.remove(i);
                    Ok(SandboxResponse::new(204, "application/json", Vec::new()))
                }
                ("PUT", true, None) | ("GET" | "DELETE", false, None) => Err(
                    SandboxResponse::error(404, "not_found", "no such webhook subscription"),
                ),
                _ => Err(SandboxResponse::method_not_allowed(allowed)),
            }
        }
    }
}

/// The app's client id, when both its credentials are given.
fn app(ctx: &Ctx<'_>) -> Result<String, SandboxResponse> {
    let given = |name| {
        header(ctx.req, name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    match (given("x-client-id"), given("x-client-secret")) {
        (Some(id), Some(_)) => Ok(id.to_owned()),
        _ => Err(SandboxResponse::error(
            401,
            "unauthorized",
            "the x-client-id and x-client-secret headers are required",
        )),
    }
}

fn bad(problem: &str) -> SandboxResponse {
    SandboxResponse::error(400, "invalid_request", problem)
}

fn create(ctx: &Ctx<'_>, state: &mut State, client: &str) -> Answer {
    let body: Create = serde_json::from_slice(ctx.req.body)
        .map_err(|e| bad(&format!("not a webhook subscription: {e}")))?;
    let parsed = url::Url::parse(&body.callback_url).map_err(|_| bad("callback_url: not a URL"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
        return Err(bad("callback_url: not an absolute http(s) URL"));
    }
    if body.verification_token.is_empty() {
        return Err(bad("verification_token: empty"));
    }
    if !crate::oura::subscription::EVENT_TYPES.contains(&body.event_type.as_str()) {
        return Err(bad("event_type: not create, update or delete"));
    }
    if !DATA_TYPES.contains(&body.data_type.as_str()) {
        return Err(bad("data_type: not an Oura webhook data type"));
    }
    let vendor = ctx.twin.vendor();
    let id = subscription_id(client, &body);
    if let Some(existing) = state
        .app_subscriptions
        .iter()
        .find(|s| s.vendor == vendor && s.client_id == client && s.id == id)
    {
        return Ok(SandboxResponse::json(201, &model(existing)));
    }
    if state.app_subscriptions.len() >= MAX_SUBSCRIPTIONS {
        return Err(SandboxResponse::error(
            429,
            "too_many_subscriptions",
            "the sandbox keeps at most 100000 subscriptions",
        ));
    }
    let announces = ANNOUNCES
        .iter()
        .filter(|(webhook, _)| body.event_type == "create" && *webhook == body.data_type)
        .map(|(_, data_type)| *data_type)
        .collect();
    let sub = AppSubscription {
        vendor,
        client_id: client.to_owned(),
        id,
        callback_url: body.callback_url,
        event_type: body.event_type,
        data_type: body.data_type,
        announces,
        expires_at: after(ctx.now, LIFETIME_DAYS * 86_400),
    };
    let answer = SandboxResponse::json(201, &model(&sub));
    state.app_subscriptions.push(sub);
    Ok(answer)
}

/// A stable UUID-shaped id for one app's (callback, event type, data type).
fn subscription_id(client: &str, body: &Create) -> String {
    let parts = [
        client,
        &body.callback_url,
        &body.event_type,
        &body.data_type,
    ];
    let (a, b) = (
        hash(&[&parts[..], &["a"]].concat()),
        hash(&[&parts[..], &["b"]].concat()),
    );
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xffff,
        b >> 48,
        b & 0xffff_ffff_ffff
    )
}

/// Oura's `WebhookSubscriptionModel`.
fn model(s: &AppSubscription) -> Value {
    json!({
        "id": s.id,
        "callback_url": s.callback_url,
        "event_type": s.event_type,
        "data_type": s.data_type,
        "expiration_time": s.expires_at.to_rfc3339_opts(SecondsFormat::Micros, false),
    })
}

/// The notifications of `user`'s documents of `data_types` (the twin's ids) that
/// came to exist in `window` (and by `at`), signed with `secret` as at `at`.
pub(super) fn notifications(
    user: &str,
    data_types: &[&str],
    window: TimeWindow,
    secret: &str,
    at: DateTime<Utc>,
) -> Vec<Notification> {
    // Nothing is announced that does not exist yet.
    let (start, end) = (
        window.start.max(DateTime::<Utc>::UNIX_EPOCH),
        window.end.min(at),
    );
    // A daily document exists from the midnight after its day; a night from the
    // morning of its day.
    let first = life::local_day(user, start).pred_opt();
    let last = life::local_day(user, end);
    let kinds = ANNOUNCES
        .iter()
        .filter(|(_, data_type)| data_types.contains(data_type))
        .filter_map(|(webhook, _)| DocKind::from_endpoint(webhook));
    let mut out = Vec::new();
    for kind in kinds {
        let days = std::iter::successors(first, |d| d.succ_opt()).take_while(|d| *d <= last);
        for day in days {
            for doc in documents::of_day(kind, user, day) {
                if doc.available < start || doc.available >= end {
                    continue;
                }
                if out.len() >= MAX_NOTIFICATIONS {
                    return out;
                }
                let body = crate::oura::push::body(
                    user,
                    kind.endpoint(),
                    "create",
                    &doc.id,
                    doc.available,
                );
                out.push(signed(body, secret, at));
            }
        }
    }
    out
}

fn signed(body: Vec<u8>, secret: &str, at: DateTime<Utc>) -> Notification {
    let timestamp = at.timestamp().to_string();
    let signature = crate::oura::push::sign(secret.as_bytes(), &timestamp, &body);
    let headers = vec![
        ("content-type".to_owned(), "application/json".to_owned()),
        (crate::oura::push::TIMESTAMP_HEADER.to_owned(), timestamp),
        (crate::oura::push::SIGNATURE_HEADER.to_owned(), signature),
    ];
    (headers, body)
}
