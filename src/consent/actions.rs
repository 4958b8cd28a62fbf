//! The page's forms: connect (start OAuth), change data types, disconnect.

use super::session::{self, audit_member, PageError};
use super::view::{self, Notice};
use super::ConsentContext;
use crate::connect::oauth;
use crate::store::connect_sessions::{self, random_token, PageSession, PendingAuthorization};
use crate::store::connections::{self, Channel, Status};
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use std::sync::Arc;
use tributary_connectors::Connector;

/// A submitted form: the CSRF token and the ticked data types.
struct Form {
    csrf: Option<String>,
    data_types: Vec<String>,
}

fn parse_form(body: &[u8]) -> Form {
    let mut form = Form {
        csrf: None,
        data_types: Vec::new(),
    };
    for (k, v) in url::form_urlencoded::parse(body) {
        match &*k {
            "csrf" => form.csrf = Some(v.into_owned()),
            "data_type" if !form.data_types.iter().any(|t| *t == v) => {
                form.data_types.push(v.into_owned())
            }
            _ => {}
        }
    }
    form
}

/// The checked session, its cookie, the form, and the offered vendor's connector.
async fn prepare(
    ctx: &web::Data<ConsentContext>,
    req: &HttpRequest,
    vendor: &str,
    body: &[u8],
) -> Result<(PageSession, String, Form, Arc<dyn Connector>), PageError> {
    let (session, cookie) = session::current(ctx, req).await?;
    let form = parse_form(body);
    if !session::csrf_ok(&ctx.ring, &cookie, form.csrf.as_deref()) {
        return Err(PageError::bad_form());
    }
    let c = ctx.clone();
    let s = session.clone();
    let vendor_id = vendor.to_owned();
    let connector = session::blocking(ctx, move |conn| {
        Ok(view::offered(&c, conn, &s)?
            .into_iter()
            .find(|x| x.manifest().vendor == vendor_id))
    })
    .await?
    .ok_or_else(|| {
        PageError::new(
            StatusCode::NOT_FOUND,
            "Not available",
            "This service is not offered on this page.",
            true,
        )
    })?;
    Ok((session, cookie, form, connector))
}

/// Re-render the page with a problem the member can fix.
async fn problem(
    ctx: &web::Data<ConsentContext>,
    session: PageSession,
    cookie: &str,
    text: String,
) -> Result<HttpResponse, PageError> {
    let csrf = session::csrf_token(&ctx.ring, cookie);
    let notice = Notice {
        kind: "error",
        text,
    };
    view::render(
        ctx,
        session,
        csrf,
        Some(notice),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

/// The ticked types, if each is one the vendor has and the page offers.
fn chosen(connector: &dyn Connector, session: &PageSession, form: &Form) -> Option<Vec<String>> {
    let m = connector.manifest();
    form.data_types
        .iter()
        .all(|t| m.data_type(t).is_some() && session.offer.offers_data_type(t))
        .then(|| {
            m.data_types
                .iter()
                .map(|d| d.id.as_str().to_owned())
                .filter(|d| form.data_types.contains(d))
                .collect()
        })
}

/// `POST /connect/{vendor}/authorize`: send the member to the vendor.
pub async fn authorize(
    ctx: web::Data<ConsentContext>,
    req: HttpRequest,
    vendor: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let (session, cookie, form, connector) = prepare(&ctx, &req, &vendor, &body).await?;
    let Some(types) = chosen(connector.as_ref(), &session, &form) else {
        return Err(PageError::bad_form());
    };
    if types.is_empty() {
        let text = format!(
            "Tick at least one kind of data to share from {}.",
            connector.manifest().display_name
        );
        return problem(&ctx, session, &cookie, text).await;
    }
    start(&ctx, session, connector, types).await
}

/// Record the authorization in flight and redirect to the vendor.
async fn start(
    ctx: &web::Data<ConsentContext>,
    session: PageSession,
    connector: Arc<dyn Connector>,
    types: Vec<String>,
) -> Result<HttpResponse, PageError> {
    let c = ctx.clone();
    let ttl = chrono::Duration::from_std(ctx.settings.authorization_ttl)
        .unwrap_or(chrono::Duration::minutes(10));
    let url = session::blocking(ctx, move |conn| {
        let m = connector.manifest();
        let Some(creds) = c
            .vendors
            .credentials(conn, &c.ring, &session.portal_id, m.vendor)?
        else {
            return Ok(None);
        };
        let ids: Vec<_> = types
            .iter()
            .filter_map(|t| m.data_type(t).map(|d| &d.id))
            .collect();
        let scopes = m.scopes_for(ids);
        let state = random_token();
        let Ok((url, verifier)) = oauth::authorization_url(m, &creds, &scopes, &state) else {
            return Ok(None);
        };
        let pending = PendingAuthorization {
            session_id: session.id.clone(),
            member_id: session.member_id.clone(),
            vendor: m.vendor.to_owned(),
            data_types: types,
            verifier,
        };
        connect_sessions::start_authorization(conn, &c.ring, &state, &pending, ttl)?;
        Ok(Some(url))
    })
    .await?
    .ok_or_else(|| {
        PageError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "Not available",
            "This service cannot be connected right now. Nothing was changed.",
            true,
        )
    })?;
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, url))
        .finish())
}

fn back_to_page(notice: &str, vendor: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((
            header::LOCATION,
            format!("/connect?notice={notice}&vendor={vendor}"),
        ))
        .finish()
}

/// `POST /connect/{vendor}/update`: change the data types of an active connection.
/// Types the granted scopes do not cover need the vendor's consent: the member is
/// sent to the vendor again.
pub async fn update(
    ctx: web::Data<ConsentContext>,
    req: HttpRequest,
    vendor: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let (session, cookie, form, connector) = prepare(&ctx, &req, &vendor, &body).await?;
    let Some(types) = chosen(connector.as_ref(), &session, &form) else {
        return Err(PageError::bad_form());
    };
    let m = connector.manifest();
    if types.is_empty() {
        let text = format!(
            "Tick at least one kind of data, or disconnect {}.",
            m.display_name
        );
        return problem(&ctx, session, &cookie, text).await;
    }
    let member = session.member_id.clone();
    let vendor_id = m.vendor;
    let existing = session::blocking(&ctx, move |conn| {
        connections::find(conn, &member, vendor_id)
    })
    .await?;
    let Some(connection) = existing.filter(|c| c.status == Status::Active) else {
        return start(&ctx, session, connector, types).await;
    };
    let covered: Vec<String> = m
        .covered_by(&connection.scopes)
        .iter()
        .map(|d| d.as_str().to_owned())
        .collect();
    if !types.iter().all(|t| covered.contains(t)) {
        return start(&ctx, session, connector, types).await;
    }
    let (sync_settings, planner) = (ctx.sync.clone(), connector.clone());
    session::blocking(&ctx, move |conn| {
        conn.write_transaction(|conn| {
            connections::set_data_types(
                conn,
                &connection,
                &types,
                Channel::ConsentPage,
                connections::Change::Replace,
            )?;
            // A data type added to the grant starts with its backfill.
            let updated = connections::get(conn, &connection.id)?;
            crate::sync::plan::start(conn, &sync_settings, planner.manifest(), &updated)?;
            audit_member(
                conn,
                &session,
                "connection.update",
                ("connection", &connection.id),
            )
        })
    })
    .await?;
    Ok(back_to_page("updated", vendor_id))
}

/// `POST /connect/{vendor}/disconnect`: delete the tokens and the connection's
/// data, stop sharing, and queue the withdrawal of the grant at the vendor.
pub async fn disconnect(
    ctx: web::Data<ConsentContext>,
    req: HttpRequest,
    vendor: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let (session, _, _, connector) = prepare(&ctx, &req, &vendor, &body).await?;
    let vendor_id = connector.manifest().vendor;
    let member = session.member_id.clone();
    let found = session::blocking(&ctx, move |conn| {
        connections::find(conn, &member, vendor_id)
    })
    .await?;
    let Some(connection) = found.filter(|c| c.status != Status::Revoked) else {
        return Ok(back_to_page("disconnected", vendor_id));
    };
    let at_vendor = ctx.vendors.withdraws_grants(&connection);
    let ring = ctx.ring.clone();
    session::blocking(&ctx, move |conn| {
        conn.write_transaction(|conn| {
            connections::revoke(conn, &ring, &connection, Channel::ConsentPage, at_vendor)?;
            audit_member(
                conn,
                &session,
                "connection.revoke",
                ("connection", &connection.id),
            )
        })
    })
    .await?;
    Ok(back_to_page("disconnected", vendor_id))
}
