//! The `vendor_revoke` job: withdraw a revoked grant at the vendor.
//!
//! The hub has already deleted the connection's tokens and data; this call tells
//! the vendor, in the vendor's own dialect ([`RevokeStyle`]): RFC 7009 with the
//! refresh token, Oura's access token in the query, Garmin's `DELETE
//! user/registration`, Withings' `action=revoke` signed over a nonce and naming
//! the member's account (kept sealed for this call). A vendor that is down or
//! answers 5xx is tried again with backoff; a vendor that says the token is
//! already invalid (400/401 on the token) counts as done, since the grant is gone
//! either way. A call that ends the account's whole grant to the app (Withings,
//! Garmin) is not made while the account is connected through the app again.

use super::run::{blocking, Done, JobError};
use super::SyncContext;
use crate::connect::oauth::{self, OAuthError};
use crate::ops::vendor_health::VendorHealth;
use crate::store::jobs::{self, Job};
use crate::store::{connections, vendor_revokes};
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
    if style.ends_account_grant() {
        // Withdrawing would end the grant the account holds again (the member
        // reconnected before this job ran, or another connection is to the same
        // account through the same app): the grant is live, and stays.
        let (id, vendor, app, hash) = (
            pending.connection.clone(),
            pending.vendor.clone(),
            pending.vendor_app_id.clone(),
            pending.account_hash.clone(),
        );
        let live = blocking(ctx, move |conn| {
            Ok(connections::account_grant_live(
                conn,
                &id,
                &vendor,
                app.as_deref(),
                hash.as_deref(),
            )?)
        })
        .await?;
        if live {
            tracing::info!(vendor = %pending.vendor, connection = %pending.connection, "the account is connected again through the app: its grant is not withdrawn");
            return finish(ctx, job).await;
        }
    }
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
        RevokeStyle::WithingsSigned {
            nonce_url,
            revoke_url,
        } => {
            let Some(creds) = &creds else {
                return Err(JobError::Fatal(
                    "the vendor app that issued the grant is gone".into(),
                    "error",
                ));
            };
            let Some(account) = &pending.account else {
                return Err(JobError::Fatal(
                    "the vendor's account id of this grant was not kept (connected before the hub kept it), so it cannot be named in the revocation".into(),
                    "error",
                ));
            };
            withings_revoke(
                ctx,
                connector.as_ref(),
                creds,
                account,
                &nonce_url,
                &revoke_url,
            )
            .await
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
    finish(ctx, job).await
}

async fn finish(ctx: &SyncContext, job: &Job) -> Result<Done, JobError> {
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

/// Withings' signed revocation: a nonce, then `action=revoke` naming the account.
/// Withings answers HTTP 200 with its status in the body, which the connector
/// maps to the HTTP status it stands for: a refused signature or parameter is
/// final, a quota or an outage is retried (with a fresh nonce, as each is single
/// use).
async fn withings_revoke(
    ctx: &SyncContext,
    connector: &dyn tributary_connectors::Connector,
    creds: &crate::vendors::Credentials,
    account: &secrecy::SecretString,
    nonce_url: &str,
    revoke_url: &str,
) -> Result<(), JobError> {
    use tributary_connectors::withings::revoke::{nonce, nonce_form, revoke_form};
    let secret = creds.client_secret.expose_secret();
    let form = nonce_form(&creds.client_id, secret, chrono::Utc::now().timestamp());
    let body = signed_call(ctx, connector, nonce_url, &form, "nonce").await?;
    let nonce = nonce(&body)
        .ok_or_else(|| JobError::Retry("the vendor's nonce answer holds no nonce".into()))?;
    let form = revoke_form(&creds.client_id, secret, &nonce, account.expose_secret());
    signed_call(ctx, connector, revoke_url, &form, "revocation")
        .await
        .map(|_| ())
}

/// POST a signed form; the body of a success.
async fn signed_call(
    ctx: &SyncContext,
    connector: &dyn tributary_connectors::Connector,
    url: &str,
    form: &[(String, String)],
    what: &str,
) -> Result<Vec<u8>, JobError> {
    let (health, vendor) = (ctx.vendors.health(), connector.manifest().vendor);
    let response = ctx
        .http
        .post(url)
        .form(form)
        .timeout(TIMEOUT)
        .send()
        .await
        .map_err(|e| {
            health.failed(vendor);
            JobError::Retry(format!("{what}: {}", e.without_url()))
        })?;
    let http_status = response.status().as_u16();
    let body = response.bytes().await.map_err(|_| {
        health.failed(vendor);
        JobError::Retry(format!("{what}: the answer stopped midway"))
    })?;
    let status = connector.effective_status(http_status, &body);
    health.status(vendor, status);
    match status {
        200..=299 => Ok(body.to_vec()),
        // Withings reports its own failures as 2554, which stands for 501: retried
        // like every 5xx, at most `MAX_ATTEMPTS` times.
        code @ (429 | 500..=599) => Err(JobError::Retry(format!("{what} answered as HTTP {code}"))),
        code => Err(JobError::Fatal(
            format!("the vendor refused the {what} (answered as HTTP {code})"),
            "error",
        )),
    }
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
