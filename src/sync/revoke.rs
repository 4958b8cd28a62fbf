//! The `vendor_revoke` job: withdraw a revoked grant at the vendor.
//!
//! The hub has already deleted the connection's tokens and data; this call tells
//! the vendor, in the vendor's own dialect ([`RevokeStyle`]): RFC 7009 with the
//! refresh token, Oura's access token in the query, Garmin's `DELETE
//! user/registration`. A vendor that is down or answers 5xx is tried again with
//! backoff; a vendor that says the token is already invalid (400/401 on the token)
//! counts as done, since the grant is gone either way.

use super::run::{blocking, Done, JobError};
use super::SyncContext;
use crate::connect::oauth::{self, OAuthError};
use crate::ops::vendor_health::VendorHealth;
use crate::store::jobs::{self, Job};
use crate::store::vendor_revokes;
use secrecy::ExposeSecret;
use std::time::Duration;
use tributary_connectors::RevokeStyle;

const TIMEOUT: Duration = Duration::from_secs(30);

pub async fn run(ctx: &SyncContext, job: &Job) -> Result<Done, JobError> {
    let (ring, vendors, payload) = (ctx.ring.clone(), ctx.vendors.clone(), job.payload.clone());
    let (pending, creds) = blocking(ctx, move |conn| {
        let p = vendor_revokes::open(conn, &ring, &payload)
            .map_err(|e| JobError::Fatal(format!("{e}"), "error"))?;
        let creds = vendors.credentials_for(
            conn,
            &ring,
            &p.portal,
            &p.vendor,
            p.vendor_app_id.as_deref(),
        )?;
        Ok((p, creds))
    })
    .await?;
    let connector = ctx
        .vendors
        .connector_for(&pending.vendor, pending.vendor_app_id.as_deref());
    let Some(connector) = connector else {
        return Err(JobError::Fatal(
            format!("{} is no longer reachable from this hub", pending.vendor),
            "error",
        ));
    };
    let style = connector.revoke_style();
    let outcome = match style {
        RevokeStyle::None => Ok(()),
        RevokeStyle::Rfc7009 => {
            let Some(creds) = &creds else {
                return Err(JobError::Fatal(
                    "the vendor app that issued the grant is gone".into(),
                    "error",
                ));
            };
            let (token, is_refresh) = match &pending.refresh {
                Some(r) => (r, true),
                None => (&pending.access, false),
            };
            let revoked =
                oauth::revoke(&ctx.http, connector.manifest(), creds, token, is_refresh).await;
            ctx.vendors.health().oauth(&pending.vendor, &revoked);
            match revoked {
                Ok(()) => Ok(()),
                // The vendor no longer knows the token: the grant is gone already.
                Err(OAuthError::Refused(code)) if code == "invalid_token" => Ok(()),
                Err(OAuthError::Refused(code)) => Err(JobError::Fatal(
                    format!("the vendor refused the revocation: {code}"),
                    "error",
                )),
                Err(e) => Err(JobError::Retry(format!("revocation: {e}"))),
            }
        }
        RevokeStyle::AccessTokenQuery { .. } | RevokeStyle::BearerDelete { .. } => {
            match bearer_call(ctx, &pending.vendor, &style, &pending.access).await {
                // The access token has expired: one refresh, then once more.
                Err(Refused) => {
                    let (Some(refresh), Some(creds)) = (&pending.refresh, &creds) else {
                        return Err(JobError::Fatal(
                            "the vendor refused the access token and there is no refresh token"
                                .into(),
                            "error",
                        ));
                    };
                    let issued =
                        oauth::refresh(&ctx.http, connector.manifest(), creds, refresh).await;
                    ctx.vendors.health().oauth(&pending.vendor, &issued);
                    let issued = issued.map_err(|e| match e {
                        OAuthError::Refused(code) => JobError::Fatal(
                            format!(
                                "the vendor refused the refresh token: {code} (the grant is gone)"
                            ),
                            "error",
                        ),
                        other => JobError::Retry(format!("refresh before revocation: {other}")),
                    })?;
                    bearer_call(ctx, &pending.vendor, &style, &issued.access)
                        .await
                        .map_err(|Refused| {
                            JobError::Fatal(
                                "the vendor refused a fresh access token".into(),
                                "error",
                            )
                        })?
                }
                Ok(outcome) => outcome,
            }
        }
    };
    outcome?;
    tracing::info!(vendor = %pending.vendor, connection = %pending.connection, "grant withdrawn at the vendor");
    let job = job.clone();
    blocking(ctx, move |conn| {
        if jobs::complete(conn, &job)? {
            Ok(Done::default())
        } else {
            Err(JobError::Lost)
        }
    })
    .await
}

/// The vendor answered 401: the access token is no longer good.
struct Refused;

/// A vendor-dialect revocation with `access`.
async fn bearer_call(
    ctx: &SyncContext,
    vendor: &str,
    style: &RevokeStyle,
    access: &secrecy::SecretString,
) -> Result<Result<(), JobError>, Refused> {
    let request = match style {
        RevokeStyle::AccessTokenQuery { url, param } => ctx
            .http
            .post(url)
            .query(&[(*param, access.expose_secret())]),
        RevokeStyle::BearerDelete { url } => {
            ctx.http.delete(url).bearer_auth(access.expose_secret())
        }
        _ => return Ok(Ok(())),
    };
    send(request, ctx.vendors.health(), vendor).await
}

/// Send a vendor-dialect revocation: 2xx is done; 401 is [`Refused`]; other 4xx are
/// final; 429, 5xx and no answer are retried.
async fn send(
    request: reqwest::RequestBuilder,
    health: &VendorHealth,
    vendor: &str,
) -> Result<Result<(), JobError>, Refused> {
    let response = match request.timeout(TIMEOUT).send().await {
        Ok(r) => r,
        Err(e) => {
            health.failed(vendor);
            return Ok(Err(JobError::Retry(format!(
                "revocation: {}",
                e.without_url()
            ))));
        }
    };
    let status = response.status();
    health.status(vendor, status.as_u16());
    Ok(match status.as_u16() {
        401 => return Err(Refused),
        200..=299 => Ok(()),
        429 | 500..=599 => Err(JobError::Retry(format!(
            "revocation answered HTTP {}",
            status.as_u16()
        ))),
        code => Err(JobError::Fatal(
            format!("revocation answered HTTP {code}"),
            "error",
        )),
    })
}
