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
    let style = connector
        .as_ref()
        .map_or(RevokeStyle::None, |c| c.revoke_style());
    let outcome = match style {
        RevokeStyle::None => Ok(()),
        RevokeStyle::Rfc7009 => {
            let (Some(connector), Some(creds)) = (connector, creds) else {
                return Err(JobError::Fatal(
                    "the vendor app that issued the grant is gone".into(),
                    "error",
                ));
            };
            let (token, is_refresh) = match &pending.refresh {
                Some(r) => (r, true),
                None => (&pending.access, false),
            };
            match oauth::revoke(&ctx.http, connector.manifest(), &creds, token, is_refresh).await {
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
        RevokeStyle::AccessTokenQuery { url, param } => {
            let request = ctx
                .http
                .post(&url)
                .query(&[(param, pending.access.expose_secret())]);
            send(request).await
        }
        RevokeStyle::BearerDelete { url } => {
            let request = ctx
                .http
                .delete(&url)
                .bearer_auth(pending.access.expose_secret());
            send(request).await
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

/// Send a vendor-dialect revocation; 2xx, or 401 (the token is no longer valid:
/// the grant is gone), is done; other 4xx are final; 5xx and no answer are retried.
async fn send(request: reqwest::RequestBuilder) -> Result<(), JobError> {
    let response = request
        .timeout(TIMEOUT)
        .send()
        .await
        .map_err(|e| JobError::Retry(format!("revocation: {}", e.without_url())))?;
    let status = response.status();
    match status.as_u16() {
        200..=299 | 401 => Ok(()),
        429 | 500..=599 => Err(JobError::Retry(format!(
            "revocation answered HTTP {}",
            status.as_u16()
        ))),
        code => Err(JobError::Fatal(
            format!("revocation answered HTTP {code}"),
            "error",
        )),
    }
}
