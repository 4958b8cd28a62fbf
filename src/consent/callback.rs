//! `GET /oauth/{vendor}/callback`: the vendor sends the member back with a code (or
//! an error). The `state` must be one the hub issued, unused, unexpired, for this
//! vendor and for the page session of this browser. Only a successful code exchange
//! stores anything.

use super::session::{self, audit_member, PageError};
use super::ConsentContext;
use crate::connect::oauth::{self, OAuthError};
use crate::connect::tokens::expiry;
use crate::store::connect_sessions::{self, StateRefused};
use crate::store::connections::{self, Channel, Grant, Tokens};
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct CallbackQuery {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
}

fn refused(text: &str) -> PageError {
    PageError::new(
        StatusCode::BAD_REQUEST,
        "This sign-in cannot be completed",
        format!("{text} Nothing was connected. Go back to your connections and try again."),
        true,
    )
}

pub async fn callback(
    ctx: web::Data<ConsentContext>,
    req: HttpRequest,
    vendor: web::Path<String>,
    query: Option<web::Query<CallbackQuery>>,
) -> Result<HttpResponse, PageError> {
    let vendor = vendor.into_inner();
    let query = query
        .map(web::Query::into_inner)
        .ok_or_else(|| refused("The vendor's answer was malformed."))?;
    let (session, _) = session::current(&ctx, &req).await?;
    let state = query
        .state
        .ok_or_else(|| refused("The vendor's answer carried no state."))?;
    let ring = ctx.ring.clone();
    let pending = session::blocking(&ctx, move |conn| {
        connect_sessions::take_authorization(conn, &ring, &state)
    })
    .await?
    .map_err(|why| match why {
        StateRefused::Unknown => refused("This answer was already used, or was not started here."),
        StateRefused::Expired => refused("The sign-in took too long."),
    })?;
    if pending.session_id != session.id || pending.vendor != vendor {
        return Err(refused("This answer belongs to another sign-in."));
    }
    let connector = ctx
        .vendors
        .connector(&vendor)
        .ok_or_else(|| refused("This service is not available."))?;
    let m = connector.manifest();
    if let Some(error) = query.error {
        return Err(if error == "access_denied" {
            PageError::new(
                StatusCode::OK,
                "Not connected",
                format!(
                    "You declined at {}. Nothing was connected and nothing was stored.",
                    m.display_name
                ),
                true,
            )
        } else {
            PageError::new(
                StatusCode::BAD_GATEWAY,
                "Not connected",
                format!(
                    "{} reported a problem ({}). Nothing was connected.",
                    m.display_name,
                    short(&error)
                ),
                true,
            )
        });
    }
    let code = query
        .code
        .ok_or_else(|| refused("The vendor's answer carried no code."))?;

    let (c, portal) = (ctx.clone(), session.portal_id.clone());
    let vendor_id = m.vendor;
    let creds = session::blocking(&ctx, move |conn| {
        c.vendors.credentials(conn, &c.ring, &portal, vendor_id)
    })
    .await?
    .ok_or_else(|| refused("This service is no longer available."))?;
    // Where the code is redeemed depends on the client: the sandbox's built-in one
    // talks to the simulated vendor.
    let reached = ctx
        .vendors
        .connector_for(&vendor, creds.vendor_app_id.as_deref())
        .ok_or_else(|| refused("This service is no longer available."))?;
    let issued = oauth::exchange_code(
        &ctx.http,
        reached.manifest(),
        &creds,
        &code,
        &pending.verifier,
    )
    .await;
    ctx.vendors.health().oauth(vendor_id, &issued);
    let issued = issued.map_err(|e| {
        tracing::warn!(vendor = vendor_id, error = %e, "code exchange failed");
        match e {
            OAuthError::Unavailable(_) => PageError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "Not connected",
                format!(
                    "{} could not be reached. Nothing was connected. Please try again later.",
                    m.display_name
                ),
                true,
            ),
            _ => PageError::new(
                StatusCode::BAD_GATEWAY,
                "Not connected",
                format!(
                    "{} did not accept the sign-in. Nothing was connected. Please try again.",
                    m.display_name
                ),
                true,
            ),
        }
    })?;

    let asked: Vec<_> = pending
        .data_types
        .iter()
        .filter_map(|t| m.data_type(t).map(|d| &d.id))
        .collect();
    let granted = issued.scopes.clone().unwrap_or_else(|| m.scopes_for(asked));
    let covered = m.covered_by(&granted);
    let (enabled, not_granted): (Vec<String>, Vec<String>) = pending
        .data_types
        .iter()
        .cloned()
        .partition(|t| covered.iter().any(|c| c.as_str() == t));
    if enabled.is_empty() {
        let token = issued.refresh.as_ref().unwrap_or(&issued.access);
        if let Err(e) = oauth::revoke(
            &ctx.http,
            reached.manifest(),
            &creds,
            token,
            issued.refresh.is_some(),
        )
        .await
        {
            tracing::warn!(vendor = vendor_id, error = %e, "revoking an unusable grant failed");
        }
        return Err(PageError::new(
            StatusCode::OK,
            "Not connected",
            format!(
                "{} did not grant access to any of the data you chose. Nothing was connected.",
                m.display_name
            ),
            true,
        ));
    }
    let vendor_user = issued.vendor_user;
    let tokens = Tokens {
        access: issued.access,
        refresh: issued.refresh,
        access_expires_at: expiry(issued.expires_in),
    };
    let c = ctx.clone();
    let planner = connector.clone();
    session::blocking(&ctx, move |conn| {
        diesel::Connection::transaction(conn, |conn| {
            let grant = Grant {
                vendor: vendor_id,
                data_types: &enabled,
                scopes: &granted,
                not_granted: &not_granted,
                vendor_app_id: creds.vendor_app_id.as_deref(),
                vendor_user: vendor_user.as_deref(),
                keep_vendor_user: planner.revoke_style().names_account(),
            };
            let connection = connections::connect(
                conn,
                &c.ring,
                &session.portal_id,
                &session.member_id,
                &grant,
                &tokens,
                Channel::ConsentPage,
            )?;
            // The backfill is planned with the connection: one cannot exist
            // without the other.
            crate::sync::plan::start(conn, &c.sync, planner.manifest(), &connection)?;
            audit_member(
                conn,
                &session,
                "connection.create",
                ("connection", &connection.id),
            )
        })
    })
    .await?;
    Ok(HttpResponse::SeeOther()
        .insert_header((
            header::LOCATION,
            format!("/connect?notice=connected&vendor={vendor_id}"),
        ))
        .finish())
}

/// An OAuth error code from the vendor, cut to a safe length and alphabet.
fn short(error: &str) -> String {
    error
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(40)
        .collect()
}
