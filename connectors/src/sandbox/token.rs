//! The token endpoint (authorization code with PKCE, refresh with rotation) and the
//! revocation endpoint (RFC 7009).
//!
//! Policy: the sandbox has no client registry, so any non-empty client id and
//! secret authenticate (HTTP Basic per RFC 6749 §2.3.1, or form fields), but a code
//! or refresh token only works for the client it was issued to. The secret a code
//! was redeemed with is what the vendor signs that grant's notifications with. Every failure of a
//! code or refresh token is `invalid_grant`. A code used twice revokes the tokens
//! issued for it (RFC 6749 §4.1.2). A refresh issues a new refresh token and the
//! old one stops working at once; the old access token lives until it expires.
//! Revocation answers 200 whatever the token, and revokes the whole grant.

use super::faults::{self, Endpoint};
use super::http::{credentials, decode, parse_form, settle, single, Answer};
use super::state::{GrantId, State};
use super::{Ctx, SandboxResponse};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use serde_json::json;
use sha2::{Digest, Sha256};

type Form = Vec<(String, String)>;

/// `POST /oauth/token`.
pub(crate) fn exchange(ctx: &mut Ctx<'_>, state: &mut State) -> SandboxResponse {
    settle(exchange_inner(ctx, state))
}

fn exchange_inner(ctx: &mut Ctx<'_>, state: &mut State) -> Answer {
    let form = parse_form(ctx.req.body).map_err(|p| invalid_request(&p))?;
    if ctx.twin.style() == super::twin::Style::WithingsEnvelope
        && single(&form, "action").ok().flatten() != Some("requesttoken")
    {
        return Err(invalid_request("action: must be requesttoken"));
    }
    let grant_type = field(&form, "grant_type")?;
    ctx.note.grant_type = grant_type.map(|g| match g {
        "authorization_code" | "refresh_token" => g.to_owned(),
        _ => "unsupported".to_owned(),
    });
    let (client, secret) = client_credentials(ctx, &form)?;
    let user = peek_user(ctx, state, &form);
    ctx.note.sandbox_user.clone_from(&user);
    let delay = faults::due(ctx, state, Endpoint::Token, user.as_deref())?;
    let grant = match grant_type {
        None => return Err(invalid_request("grant_type: missing")),
        Some("authorization_code") => redeem_code(ctx, state, &form, &client, &secret)?,
        Some("refresh_token") => rotate_refresh(ctx, state, &form, &client)?,
        Some(_) => {
            return Err(SandboxResponse::error(
                400,
                "unsupported_grant_type",
                "grant_type must be authorization_code or refresh_token",
            ))
        }
    };
    let mut answer = tokens(ctx, state, grant);
    answer.delay = delay;
    Ok(answer)
}

/// `POST /oauth/revoke`.
pub(crate) fn revoke(ctx: &mut Ctx<'_>, state: &mut State) -> SandboxResponse {
    settle(revoke_inner(ctx, state))
}

fn revoke_inner(ctx: &mut Ctx<'_>, state: &mut State) -> Answer {
    // Oura's dialect: the access token in the query, no client credentials (the
    // token is the proof). Only that vendor's twin takes it.
    let query_token = ctx
        .params
        .iter()
        .find(|(k, _)| k == "access_token")
        .map(|(_, v)| v.clone());
    if let (Some(token), "oura") = (query_token, ctx.twin.vendor()) {
        if let Some(id) = state.grant_of(&token) {
            if state.grants.get(&id).is_some_and(|g| g.vendor == "oura") {
                ctx.note.sandbox_user = state.grants.get(&id).map(|g| g.user.clone());
                state.revoke_grant(id);
            }
        }
        return Ok(SandboxResponse {
            status: 200,
            headers: vec![("cache-control".to_owned(), "no-store".to_owned())],
            body: Vec::new(),
            delay: None,
            outbound: Vec::new(),
        });
    }
    let form = parse_form(ctx.req.body).map_err(|p| invalid_request(&p))?;
    let (client, _) = client_credentials(ctx, &form)?;
    let token = required(&form, "token")?;
    // Faults for the token endpoints hold for revocation too.
    let user = state
        .grant_of(token)
        .and_then(|id| state.grants.get(&id))
        .map(|g| g.user.clone());
    faults::due(ctx, state, Endpoint::Token, user.as_deref())?;
    if let Some(id) = state.grant_of(token) {
        if let Some(grant) = state.grants.get(&id) {
            // Another client's (or vendor's) token is left alone, and the answer
            // does not tell that it exists.
            if grant.client_id == client && grant.vendor == ctx.twin.vendor() {
                ctx.note.sandbox_user = Some(grant.user.clone());
                state.revoke_grant(id);
            }
        }
    }
    Ok(SandboxResponse {
        status: 200,
        headers: vec![("cache-control".to_owned(), "no-store".to_owned())],
        body: Vec::new(),
        delay: None,
        outbound: Vec::new(),
    })
}

fn redeem_code(
    ctx: &Ctx<'_>,
    state: &mut State,
    form: &Form,
    client: &str,
    secret: &str,
) -> Result<GrantId, SandboxResponse> {
    let code_id = required(form, "code")?;
    let redirect_uri = required(form, "redirect_uri")?;
    let verifier = required(form, "code_verifier")?;
    let code = state
        .codes
        .get(code_id)
        .filter(|c| c.vendor == ctx.twin.vendor())
        .cloned()
        .ok_or_else(|| invalid_grant("unknown authorization code"))?;
    if code.client_id != client {
        return Err(invalid_grant("the code was issued to another client"));
    }
    if let Some(grant) = code.redeemed {
        state.revoke_grant(grant);
        return Err(invalid_grant(
            "the code was already used; the tokens issued for it are revoked",
        ));
    }
    if ctx.now >= code.expires_at {
        return Err(invalid_grant("the code has expired"));
    }
    if code.redirect_uri != redirect_uri {
        return Err(invalid_grant(
            "redirect_uri differs from the authorization request",
        ));
    }
    if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != code.challenge {
        return Err(invalid_grant(
            "code_verifier does not match the code_challenge",
        ));
    }
    let grant = state.add_grant(super::state::Grant {
        vendor: code.vendor,
        client_id: code.client_id,
        client_secret: secret.to_owned(),
        user: code.user,
        scopes: code.scopes,
    });
    if let Some(stored) = state.codes.get_mut(code_id) {
        stored.redeemed = Some(grant);
    }
    Ok(grant)
}

fn rotate_refresh(
    ctx: &Ctx<'_>,
    state: &mut State,
    form: &Form,
    client: &str,
) -> Result<GrantId, SandboxResponse> {
    let token = required(form, "refresh_token")?;
    let id = state
        .refresh
        .get(token)
        .copied()
        .filter(|id| {
            state
                .grants
                .get(id)
                .is_some_and(|g| g.vendor == ctx.twin.vendor())
        })
        .ok_or_else(|| invalid_grant("unknown, used or revoked refresh token"))?;
    if state.grants.get(&id).is_none_or(|g| g.client_id != client) {
        return Err(invalid_grant(
            "the refresh token was issued to another client",
        ));
    }
    state.refresh.remove(token);
    Ok(id)
}

/// The successful token answer for a fresh token pair of `grant`.
fn tokens(ctx: &Ctx<'_>, state: &mut State, grant: GrantId) -> SandboxResponse {
    let ttl = ctx.config.access_token_ttl_secs;
    let issued = state.issue(grant, ttl, ctx.now);
    let (scope, user) = state
        .grants
        .get(&grant)
        .map(|g| (g.scopes.join(" "), g.user.clone()))
        .unwrap_or_default();
    let mut body = json!({
        "access_token": issued.access_token,
        "token_type": "Bearer",
        "expires_in": ttl,
        "refresh_token": issued.refresh_token,
        "scope": scope,
    });
    if let (Some(field), Some(map)) = (ctx.twin.token_user_field(), body.as_object_mut()) {
        map.insert(field.to_owned(), json!(user));
    }
    SandboxResponse::json(200, &body)
        .with_header("cache-control", "no-store")
        .with_header("pragma", "no-cache")
}

/// The sandbox user a code or refresh token in the form belongs to, if any.
fn peek_user(ctx: &Ctx<'_>, state: &State, form: &Form) -> Option<String> {
    let vendor = ctx.twin.vendor();
    if let Ok(Some(code)) = single(form, "code") {
        return state
            .codes
            .get(code)
            .filter(|c| c.vendor == vendor)
            .map(|c| c.user.clone());
    }
    let token = single(form, "refresh_token").ok()??;
    let grant = state.grants.get(state.refresh.get(token)?)?;
    (grant.vendor == vendor).then(|| grant.user.clone())
}

/// The authenticated client id and secret, from HTTP Basic or from the form.
fn client_credentials(ctx: &Ctx<'_>, form: &Form) -> Result<(String, String), SandboxResponse> {
    let form_id = field(form, "client_id")?;
    let (id, secret) = match credentials(ctx.req, "basic") {
        Some(encoded) => {
            let (id, secret) =
                basic(encoded).ok_or_else(|| invalid_client("malformed Basic credentials"))?;
            if form_id.is_some_and(|f| f != id) {
                return Err(invalid_client(
                    "client_id differs from the Basic credentials",
                ));
            }
            (id, secret)
        }
        None => (
            form_id.unwrap_or_default().to_owned(),
            field(form, "client_secret")?.unwrap_or_default().to_owned(),
        ),
    };
    if id.is_empty() || secret.is_empty() {
        return Err(invalid_client("client authentication is required"));
    }
    Ok((id, secret))
}

/// `base64(urlencode(id) ":" urlencode(secret))`. `+` stays a `+`: clients that
/// do not form-encode their credentials send it literally.
fn basic(encoded: &str) -> Option<(String, String)> {
    let bytes = STANDARD.decode(encoded).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((decode(id, false)?, decode(secret, false)?))
}

/// The one value of a form field; a repeated field is a bad request.
fn field<'f>(form: &'f Form, name: &str) -> Result<Option<&'f str>, SandboxResponse> {
    single(form, name).map_err(|p| invalid_request(&p))
}

fn required<'f>(form: &'f Form, name: &str) -> Result<&'f str, SandboxResponse> {
    field(form, name)?
        .filter(|v| !v.is_empty())
        .ok_or_else(|| invalid_request(&format!("{name}: missing")))
}

fn invalid_request(description: &str) -> SandboxResponse {
    SandboxResponse::error(400, "invalid_request", description)
        .with_header("cache-control", "no-store")
}

fn invalid_grant(description: &str) -> SandboxResponse {
    SandboxResponse::error(400, "invalid_grant", description)
        .with_header("cache-control", "no-store")
}

fn invalid_client(description: &str) -> SandboxResponse {
    SandboxResponse::error(401, "invalid_client", description)
        .with_header("www-authenticate", "Basic realm=\"sandbox\"")
        .with_header("cache-control", "no-store")
}
