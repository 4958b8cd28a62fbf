//! The twin's signed app calls: `POST /v2/signature action=getnonce` and
//! `POST /v2/oauth2 action=revoke` ([`crate::withings::revoke`]).
//!
//! Policy: the sandbox keeps no register of apps, so it knows a client's secret
//! only from the grants that client holds (the secret it authenticated with at the
//! token exchange). A nonce is issued when the `getnonce` signature verifies under
//! the secret of one of the client's grants, lives ten minutes, and is used once;
//! it remembers that secret, so `revoke` is checked against it even when the
//! grant is already gone. A signed revocation ends every grant of the client by
//! that account and answers success whether or not one was live, as a repeated
//! call must. Errors answer in Withings' envelope (invalid parameters), naming the
//! parameter at fault.

use crate::sandbox::state::{after, random_id, Nonce, State};
use crate::sandbox::twin::single;
use crate::sandbox::Ctx;
use crate::sandbox::SandboxResponse;
use crate::withings::revoke::{verify, NONCE_PATH, REVOKE_PATH};
use crate::withings::VENDOR;
use serde_json::json;

/// How far a `getnonce` timestamp may be from the twin's clock.
const CLOCK_SKEW_SECS: i64 = 600;
/// How long a nonce can be used.
const NONCE_TTL_SECS: i64 = 600;

/// The answer to a signed app call, or `None` when the request is not one.
pub(super) fn request(ctx: &mut Ctx<'_>, state: &mut State) -> Option<SandboxResponse> {
    let path = ctx.req.path;
    if path != NONCE_PATH && path != REVOKE_PATH {
        return None;
    }
    let action = single(&ctx.params, "action").ok().flatten();
    // `/v2/oauth2` is also the production token endpoint; the twin's token
    // exchange lives at `/oauth/token`, so only `revoke` is served here.
    let answer = match (ctx.req.method, path, action) {
        ("POST", NONCE_PATH, Some("getnonce")) => getnonce(ctx, state),
        ("POST", REVOKE_PATH, Some("revoke")) => revoke(ctx, state),
        ("POST", _, _) => Err(invalid("action", "not an action of this service")),
        _ => return Some(SandboxResponse::method_not_allowed("POST")),
    };
    Some(answer.unwrap_or_else(|e| e))
}

fn invalid(name: &str, problem: &str) -> SandboxResponse {
    SandboxResponse::error(400, "invalid_params", &format!("{name}: {problem}"))
}

fn param<'c>(ctx: &'c Ctx<'_>, name: &'static str) -> Result<&'c str, SandboxResponse> {
    match single(&ctx.params, name) {
        Ok(Some(v)) if !v.is_empty() => Ok(v),
        Ok(_) => Err(invalid(name, "missing")),
        Err(_) => Err(invalid(name, "given more than once")),
    }
}

fn getnonce(ctx: &mut Ctx<'_>, state: &mut State) -> Result<SandboxResponse, SandboxResponse> {
    let client_id = param(ctx, "client_id")?.to_owned();
    let timestamp = param(ctx, "timestamp")?;
    let signature = param(ctx, "signature")?;
    let at: i64 = timestamp
        .parse()
        .map_err(|_| invalid("timestamp", "not Unix seconds"))?;
    if (at - ctx.now.timestamp()).abs() > CLOCK_SKEW_SECS {
        return Err(invalid("timestamp", "more than 10 minutes from now"));
    }
    let secret = state
        .grants
        .values()
        .filter(|g| g.vendor == VENDOR && g.client_id == client_id)
        .map(|g| g.client_secret.clone())
        .find(|secret| verify(secret, "getnonce", &client_id, timestamp, signature))
        .ok_or_else(|| invalid("signature", "does not match the client"))?;
    let nonce = random_id("nonce_");
    state.nonces.insert(
        nonce.clone(),
        Nonce {
            client_id,
            client_secret: secret,
            expires_at: after(ctx.now, NONCE_TTL_SECS),
        },
    );
    Ok(SandboxResponse::json(200, &json!({ "nonce": nonce })))
}

fn revoke(ctx: &mut Ctx<'_>, state: &mut State) -> Result<SandboxResponse, SandboxResponse> {
    let client_id = param(ctx, "client_id")?.to_owned();
    let nonce = param(ctx, "nonce")?.to_owned();
    let signature = param(ctx, "signature")?.to_owned();
    let user = param(ctx, "userid")?.to_owned();
    // Used once, whatever the outcome.
    let issued = state
        .nonces
        .remove(&nonce)
        .filter(|n| n.client_id == client_id && n.expires_at > ctx.now)
        .ok_or_else(|| invalid("nonce", "unknown, used or expired"))?;
    if !verify(
        &issued.client_secret,
        "revoke",
        &client_id,
        &nonce,
        &signature,
    ) {
        return Err(invalid("signature", "does not match the client"));
    }
    let grants: Vec<_> = state
        .grants
        .iter()
        .filter(|(_, g)| g.vendor == VENDOR && g.client_id == client_id && g.user == user)
        .map(|(id, _)| *id)
        .collect();
    ctx.note.sandbox_user = Some(user);
    grants.into_iter().for_each(|g| state.revoke_grant(g));
    Ok(SandboxResponse::json(200, &json!({})))
}
