//! The data endpoints, vendor-neutral part: bearer token, scope, faults; the twin
//! renders the body.
//!
//! Policy: checks run in the order a vendor runs them: the token (401), its scope
//! (403), then injected faults (429, 500, delay), then the query (400). Data is
//! produced for the user the token was granted by, and never past `now`. An
//! endpoint the twin answers later by push ([`Twin::deferred`], Garmin's backfill)
//! answers `202` with an empty body and carries the pushes as outbound requests
//! to the vendor's configured push endpoint; with none configured nothing is sent,
//! as at a vendor where the app set no endpoint.
//!
//! [`Twin::deferred`]: super::twin::Twin::deferred

use super::faults::{self, Endpoint};
use super::http::{credentials, Answer};
use super::state::{State, TokenProblem};
use super::twin::{DataEndpoint, DataError};
use super::{Ctx, Outbound, SandboxResponse};

/// `GET` of a data endpoint.
pub(crate) fn serve(ctx: &mut Ctx<'_>, state: &mut State, endpoint: DataEndpoint) -> Answer {
    let token =
        credentials(ctx.req, "bearer").ok_or_else(|| invalid_token(TokenProblem::Invalid, true))?;
    let grant = state
        .authenticate(ctx.twin.vendor(), token, ctx.now)
        .map_err(|p| invalid_token(p, false))?;
    let user = grant.user.clone();
    ctx.note.sandbox_user = Some(user.clone());
    if let Some(scope) = endpoint
        .scope
        .filter(|s| !grant.scopes.iter().any(|g| g == s))
    {
        let challenge = format!("Bearer error=\"insufficient_scope\", scope=\"{scope}\"");
        let description = format!("needs scope {scope}");
        return Err(
            SandboxResponse::error(403, "insufficient_scope", &description)
                .with_header("www-authenticate", &challenge),
        );
    }
    let delay = faults::due(ctx, state, Endpoint::Data, Some(&user))?;
    if let Some(pushes) = ctx.twin.deferred(endpoint, &user, &ctx.params, ctx.now) {
        let pushes = pushes.map_err(bad_param)?;
        let url = state.push_endpoints.get(ctx.twin.vendor());
        let outbound = url.map_or_else(Vec::new, |url| {
            pushes
                .into_iter()
                .map(|(headers, body)| Outbound {
                    url: url.clone(),
                    headers,
                    body,
                })
                .collect()
        });
        return Ok(SandboxResponse {
            status: 202,
            headers: Vec::new(),
            body: Vec::new(),
            delay,
            outbound,
        });
    }
    let body = ctx
        .twin
        .data(endpoint, &user, &ctx.params, ctx.now)
        .map_err(bad_param)?;
    let mut answer = SandboxResponse::new(200, "application/json", body);
    answer.delay = delay;
    Ok(answer)
}

/// `DELETE` of the twin's deregistration path: the bearer's grant ends (204).
pub(crate) fn deregister(ctx: &mut Ctx<'_>, state: &mut State) -> Answer {
    let token =
        credentials(ctx.req, "bearer").ok_or_else(|| invalid_token(TokenProblem::Invalid, true))?;
    let user = state
        .authenticate(ctx.twin.vendor(), token, ctx.now)
        .map_err(|p| invalid_token(p, false))?
        .user
        .clone();
    ctx.note.sandbox_user = Some(user);
    if let Some(id) = state.grant_of(token) {
        state.revoke_grant(id);
    }
    Ok(SandboxResponse {
        status: 204,
        headers: Vec::new(),
        body: Vec::new(),
        delay: None,
        outbound: Vec::new(),
    })
}

/// The answer to a request the twin could not serve.
pub(crate) fn bad_param(e: DataError) -> SandboxResponse {
    match e {
        DataError::BadParam { name, problem } => {
            SandboxResponse::error(400, "invalid_request", &format!("{name}: {problem}"))
        }
        DataError::Internal(problem) => SandboxResponse::error(500, "server_error", &problem),
    }
}

/// The `401` for a bearer token that is missing or not accepted.
fn invalid_token(problem: TokenProblem, missing: bool) -> SandboxResponse {
    let (description, challenge) = match (missing, problem) {
        (true, _) => ("missing bearer token", "Bearer error=\"invalid_token\""),
        (false, TokenProblem::Expired) => (
            "expired",
            "Bearer error=\"invalid_token\", error_description=\"expired\"",
        ),
        (false, TokenProblem::Invalid) => ("unknown or revoked", "Bearer error=\"invalid_token\""),
    };
    SandboxResponse::error(401, "invalid_token", description)
        .with_header("www-authenticate", challenge)
}
