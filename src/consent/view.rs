//! What the consent page shows: the portal, each offered vendor with its status and
//! data types.

use super::session::{blocking, csp, html_with_csp, PageError};
use super::ConsentContext;
use crate::store::connect_sessions::PageSession;
use crate::store::connections::{self, Status};
use crate::store::portals;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use std::sync::Arc;
use tributary_connectors::Connector;

pub struct Notice {
    pub kind: &'static str,
    pub text: String,
}

pub struct TypeView {
    pub id: String,
    pub label: &'static str,
    pub description: &'static str,
    pub checked: bool,
}

pub struct VendorView {
    pub id: String,
    pub name: &'static str,
    pub status: &'static str,
    pub status_label: String,
    pub data_types: Vec<TypeView>,
    pub not_granted: Vec<&'static str>,
    pub primary_action: &'static str,
    pub primary_label: String,
    pub can_disconnect: bool,
}

#[derive(Template)]
#[template(path = "consent.html")]
pub struct ConsentPage {
    pub portal_name: String,
    pub vendors: Vec<VendorView>,
    pub csrf: String,
    pub notice: Option<Notice>,
    pub return_url: Option<String>,
}

/// The vendors this session offers, as connectors.
pub fn offered(
    ctx: &ConsentContext,
    conn: &mut crate::db::AnyConnection,
    session: &PageSession,
) -> Result<Vec<Arc<dyn Connector>>, crate::store::StoreError> {
    Ok(ctx
        .vendors
        .available(conn, &session.portal_id)?
        .into_iter()
        .filter(|c| session.offer.offers_vendor(c.manifest().vendor))
        .collect())
}

/// Render the page for `session`, with an optional notice and status.
pub async fn render(
    ctx: &web::Data<ConsentContext>,
    session: PageSession,
    csrf: String,
    notice: Option<Notice>,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let c = ctx.clone();
    let (portal_name, connectors, conns) = blocking(ctx, move |conn| {
        let portal = portals::get(conn, &session.portal_id)?;
        let connectors = offered(&c, conn, &session)?;
        let conns = connections::list_for_member(conn, &session.member_id)?;
        Ok((portal.name, connectors, (conns, session)))
    })
    .await?;
    let (conns, session) = conns;
    let mut targets = Vec::new();
    let vendors = connectors
        .iter()
        .map(|connector| {
            let m = connector.manifest();
            if let Ok(u) = url::Url::parse(&m.authorize_url) {
                targets.push(u.origin().ascii_serialization());
            }
            let existing = conns.iter().find(|c| c.vendor == m.vendor);
            let status = existing.map(|c| c.status);
            let active = status == Some(Status::Active);
            let data_types = m
                .data_types
                .iter()
                .filter(|d| {
                    session.offer.offers_data_type(d.id.as_str())
                        || existing.is_some_and(|c| c.data_types.iter().any(|t| t == d.id.as_str()))
                })
                .map(|d| TypeView {
                    id: d.id.as_str().to_owned(),
                    label: d.label,
                    description: d.description,
                    checked: match existing {
                        Some(c) if status != Some(Status::Revoked) => {
                            c.data_types.iter().any(|t| t == d.id.as_str())
                        }
                        _ => true,
                    },
                })
                .collect();
            let not_granted = match existing {
                Some(c) if active => c
                    .not_granted
                    .iter()
                    .filter_map(|t| m.data_type(t).map(|d| d.label))
                    .collect(),
                _ => Vec::new(),
            };
            let (status_key, status_label, action, label) = match status {
                Some(Status::Active) => {
                    let n = existing.map_or(0, |c| c.data_types.len());
                    (
                        "active",
                        format!(
                            "Connected — sharing {n} data type{}",
                            if n == 1 { "" } else { "s" }
                        ),
                        "update",
                        "Save changes".to_owned(),
                    )
                }
                Some(Status::ReauthRequired) => (
                    "reauth_required",
                    format!(
                        "{} stopped accepting our access. Reconnect to keep sharing.",
                        m.display_name
                    ),
                    "authorize",
                    format!("Reconnect {}", m.display_name),
                ),
                Some(Status::Revoked) => (
                    "revoked",
                    "Disconnected".to_owned(),
                    "authorize",
                    format!("Connect {}", m.display_name),
                ),
                None => (
                    "not_connected",
                    "Not connected".to_owned(),
                    "authorize",
                    format!("Connect {}", m.display_name),
                ),
            };
            VendorView {
                id: m.vendor.to_owned(),
                name: m.display_name,
                status: status_key,
                status_label,
                data_types,
                not_granted,
                primary_action: action,
                primary_label: label,
                can_disconnect: matches!(status, Some(Status::Active | Status::ReauthRequired)),
            }
        })
        .collect();
    let page = ConsentPage {
        portal_name,
        vendors,
        csrf,
        notice,
        return_url: session.return_url,
    };
    Ok(html_with_csp(status, page.render(), &csp(&targets)))
}
