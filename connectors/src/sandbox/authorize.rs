//! The authorization endpoint: `GET` shows the approve/deny page, `POST` takes the
//! member's decision and sends them back to the client with a code or an error.
//!
//! Policy: both steps check every parameter (authorization code with PKCE S256
//! only) and refuse a bad request with a 400 page naming the parameter; a redirect
//! only ever goes to a checked absolute http(s) `redirect_uri`. A code is 256 random
//! bits, single-use, expires after `code_ttl_secs`, and is bound to the client, the
//! `redirect_uri` as sent, the code challenge, the sandbox user and the scopes
//! granted (those ticked among those requested; approving none is refused).

use super::http::{parse_form, settle, single, Answer};
use super::pages::{self, DEFAULT_USER};
use super::state::{after, Code, State};
use super::twin::Twin;
use super::{Ctx, SandboxResponse};
use url::Url;

/// A checked authorization request.
pub(crate) struct AuthRequest {
    pub client_id: String,
    /// Exactly as sent; the token request must repeat it.
    pub redirect_uri: String,
    pub redirect: Url,
    pub scopes: Vec<String>,
    pub state: String,
    pub challenge: String,
}

/// `GET /oauth/authorize`.
pub(crate) fn page(ctx: &Ctx<'_>) -> SandboxResponse {
    match check(ctx.twin, &ctx.req.query, "scope") {
        Ok(req) => SandboxResponse::html(200, pages::authorize(ctx.twin, &req)),
        Err(answer) => answer,
    }
}

/// `POST /oauth/authorize`.
pub(crate) fn decide(ctx: &mut Ctx<'_>, state: &mut State) -> SandboxResponse {
    settle(decide_inner(ctx, state))
}

fn decide_inner(ctx: &mut Ctx<'_>, state: &mut State) -> Answer {
    let twin = ctx.twin;
    let form = parse_form(ctx.req.body).map_err(|p| refuse(twin, "(body)", &p))?;
    let req = check(twin, &form, "requested_scope")?;
    let user = param(twin, &form, "sandbox_user")?
        .map(str::trim)
        .unwrap_or(DEFAULT_USER);
    if !valid_user(user) {
        let problem = "1 to 64 letters, digits, '-', '_', '.' or '@'";
        return Err(refuse(twin, "sandbox_user", problem));
    }
    ctx.note.sandbox_user = Some(user.to_owned());
    let mut target = req.redirect.clone();
    match param(twin, &form, "decision")? {
        Some("approve") => {
            let ticked: Vec<&str> = form
                .iter()
                .filter(|(k, _)| k == "scope")
                .map(|(_, v)| v.as_str())
                .collect();
            let scopes = req
                .scopes
                .iter()
                .filter(|s| ticked.contains(&s.as_str()))
                .cloned()
                .collect::<Vec<_>>();
            // A grant of nothing is refused rather than issued: the member can go
            // back and tick a scope, or deny.
            if scopes.is_empty() && !twin.scopes().is_empty() {
                let problem = "nothing ticked; tick at least one scope, or deny";
                return Err(refuse(twin, "scope", problem));
            }
            let code = state.add_code(Code {
                vendor: twin.vendor(),
                client_id: req.client_id,
                redirect_uri: req.redirect_uri,
                challenge: req.challenge,
                user: user.to_owned(),
                scopes,
                expires_at: after(ctx.now, ctx.config.code_ttl_secs),
                redeemed: None,
            });
            target
                .query_pairs_mut()
                .append_pair("code", &code)
                .append_pair("state", &req.state);
        }
        Some("deny") => {
            target
                .query_pairs_mut()
                .append_pair("error", "access_denied")
                .append_pair("state", &req.state);
        }
        _ => return Err(refuse(twin, "decision", "must be approve or deny")),
    }
    Ok(SandboxResponse::redirect(target.into()))
}

fn refuse(twin: &dyn Twin, param: &str, problem: &str) -> SandboxResponse {
    SandboxResponse::html(400, pages::refused(twin, param, problem))
}

/// The one value of `name`; a repeated parameter is refused.
fn param<'p>(
    twin: &dyn Twin,
    pairs: &'p [(String, String)],
    name: &str,
) -> Result<Option<&'p str>, SandboxResponse> {
    single(pairs, name).map_err(|_| refuse(twin, name, "given more than once"))
}

/// A parameter that must be present and non-empty.
fn required<'p>(
    twin: &dyn Twin,
    pairs: &'p [(String, String)],
    name: &str,
) -> Result<&'p str, SandboxResponse> {
    param(twin, pairs, name)?
        .filter(|v| !v.is_empty())
        .ok_or_else(|| refuse(twin, name, "missing"))
}

/// Check an authorization request; the requested scopes are in `scope_field`.
fn check(
    twin: &dyn Twin,
    pairs: &[(String, String)],
    scope_field: &str,
) -> Result<AuthRequest, SandboxResponse> {
    if required(twin, pairs, "response_type")? != "code" {
        return Err(refuse(twin, "response_type", "must be code"));
    }
    let client_id = required(twin, pairs, "client_id")?;
    if client_id.chars().count() > 200 || client_id.chars().any(char::is_control) {
        return Err(refuse(twin, "client_id", "not a client id"));
    }
    let redirect_uri = required(twin, pairs, "redirect_uri")?;
    let redirect = Url::parse(redirect_uri)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .filter(|u| u.host().is_some() && u.fragment().is_none())
        .ok_or_else(|| {
            let problem = "not an absolute http(s) URL without a fragment";
            refuse(twin, "redirect_uri", problem)
        })?;
    // A vendor without OAuth scopes (Garmin: the member picks permissions on its
    // page) takes none.
    let scopes = if twin.scopes().is_empty() {
        Vec::new()
    } else {
        requested_scopes(twin, required(twin, pairs, scope_field)?)
            .map_err(|p| refuse(twin, scope_field, &p))?
    };
    let state = required(twin, pairs, "state")?;
    let challenge = required(twin, pairs, "code_challenge")?;
    let base64url = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if !(43..=128).contains(&challenge.len()) || !challenge.chars().all(base64url) {
        let problem = "not 43 to 128 characters of base64url";
        return Err(refuse(twin, "code_challenge", problem));
    }
    if required(twin, pairs, "code_challenge_method")? != "S256" {
        return Err(refuse(twin, "code_challenge_method", "must be S256"));
    }
    Ok(AuthRequest {
        client_id: client_id.to_owned(),
        redirect_uri: redirect_uri.to_owned(),
        redirect,
        scopes,
        state: state.to_owned(),
        challenge: challenge.to_owned(),
    })
}

/// Space-separated scopes, each known to the vendor, each once.
fn requested_scopes(twin: &dyn Twin, text: &str) -> Result<Vec<String>, String> {
    let mut scopes: Vec<String> = Vec::new();
    // Space-separated per RFC 6749; Withings joins them with commas.
    for scope in text.split([' ', ',']).filter(|s| !s.is_empty()) {
        if !twin.scopes().iter().any(|s| s.name == scope) {
            let known: Vec<&str> = twin.scopes().iter().map(|s| s.name).collect();
            let scope = super::http::truncate(scope, 40);
            return Err(format!(
                "unknown scope {scope:?} (known: {})",
                known.join(", ")
            ));
        }
        if !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_owned());
        }
    }
    if scopes.is_empty() {
        return Err("no scope requested".to_owned());
    }
    Ok(scopes)
}

/// A sandbox user name: 1 to 64 of `A-Z a-z 0-9 - _ . @`.
fn valid_user(user: &str) -> bool {
    (1..=64).contains(&user.len())
        && user
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'))
}
