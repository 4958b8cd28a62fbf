//! `GET /v1/status/sla` (JSON, any valid API key) and the public status page
//! `GET /status`: current state, each vendor's current state (up or down, as the
//! instances' latest samples say), open incidents, 90 days of availability as a
//! server-rendered chart, upcoming maintenance. Nothing on either names a portal,
//! member or endpoint.

use super::report::{chart, escape};
use super::sla::{self, Period};
use super::store;
use crate::api::openapi::AuthErrors;
use crate::api::with_conn;
use crate::config::MonitorSettings;
use crate::db::Database;
use crate::http::auth::Caller;
use crate::http::error::ApiError;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use std::fmt::Write as _;
use utoipa::IntoParams;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SlaQuery {
    /// The month, `YYYY-MM` (UTC).
    #[param(pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
    month: String,
}

/// The month's availability report: scheduled and downtime minutes, availability
/// and the target, each downtime interval with its cause, per component and per
/// day; announced maintenance excluded; vendor outages per vendor (not the hub's
/// downtime). The same for every portal.
#[utoipa::path(get, operation_id = "sla_report", path = "/v1/status/sla", tag = "operations", params(SlaQuery), security(("api_key" = [])),
    responses((status = 200, description = "The report", body = sla::Report),
        (status = 422, description = "month is not YYYY-MM", body = crate::api::openapi::ErrorBody), AuthErrors))]
pub async fn sla_report(
    _caller: Caller,
    query: web::Query<SlaQuery>,
    db: web::Data<Database>,
    monitor: web::Data<MonitorSettings>,
) -> Result<HttpResponse, ApiError> {
    let month = query.into_inner().month;
    if sla::month_bounds(&month).is_none() {
        return Err(ApiError::Validation("month must be YYYY-MM".into()));
    }
    let target = monitor.sla_target_percent;
    let report = with_conn(db, move |conn| {
        Ok(super::report::load(conn, &month, target)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(report))
}

/// What the status page shows.
struct Status {
    up: bool,
    /// Vendor → up, from the instances' latest samples (down when any says down).
    vendors: std::collections::BTreeMap<String, bool>,
    incidents: Vec<store::Incident>,
    days: Vec<(String, Option<f64>)>,
    upcoming: Vec<sla::Window>,
}

fn status(
    conn: &mut crate::db::AnyConnection,
    interval_ms: i64,
) -> Result<Status, crate::store::StoreError> {
    let now = crate::store::events::now();
    let today = now.date().and_time(chrono::NaiveTime::MIN);
    let start = today - chrono::Duration::days(89);
    let end = today + chrono::Duration::days(1);
    let samples = store::samples(conn, start, end)?;
    let period = Period {
        month: String::new(),
        start,
        end,
        now,
        first_sample: store::first_sample(conn)?,
        target_percent: 0.0,
    };
    let report = sla::report(&period, &samples, &store::windows(conn, start, end)?);
    // Up: some instance's sample of the last two intervals passed every check.
    let recent = now - chrono::Duration::milliseconds(2 * interval_ms.max(1000));
    let mut latest: std::collections::BTreeMap<&str, &sla::Sample> = Default::default();
    for s in samples.iter().filter(|s| s.at >= recent) {
        latest.insert(&s.instance, s);
    }
    let mut vendors = std::collections::BTreeMap::new();
    for s in latest.values() {
        for (vendor, up) in &s.vendors {
            let state = vendors.entry(vendor.clone()).or_insert(true);
            *state &= *up;
        }
    }
    Ok(Status {
        up: latest.values().any(|s| s.ok),
        vendors,
        incidents: store::open_incidents(conn)?,
        days: report
            .days
            .iter()
            .map(|d| (d.date.clone(), d.availability_percent))
            .collect(),
        upcoming: store::windows(conn, now, now + chrono::Duration::days(60))?,
    })
}

/// `GET /status`: public, HTML, no JavaScript.
pub async fn page(db: web::Data<Database>, monitor: web::Data<MonitorSettings>) -> HttpResponse {
    let interval = i64::try_from(monitor.interval.as_millis()).unwrap_or(30_000);
    let target = monitor.sla_target_percent;
    let loaded = with_conn(db, move |conn| Ok(status(conn, interval)?)).await;
    let body = match loaded {
        Ok(s) => render(&s, target),
        // The database is down: that is the state to show.
        Err(_) => render(
            &Status {
                up: false,
                vendors: Default::default(),
                incidents: vec![],
                days: vec![],
                upcoming: vec![],
            },
            target,
        ),
    };
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("cache-control", "no-store"))
        .body(body)
}

fn render(s: &Status, target: f64) -> String {
    let mut incidents = String::new();
    for i in &s.incidents {
        let _ = write!(
            incidents,
            r#"<li class="incident"><strong>Severity {}: {}</strong> — {} <small>(since {})</small></li>"#,
            i.severity,
            escape(&i.title),
            escape(&i.message),
            sla::rfc3339(i.opened_at)
        );
    }
    if incidents.is_empty() {
        incidents.push_str("<li>No open incidents.</li>");
    }
    let mut upcoming = String::new();
    for w in &s.upcoming {
        let _ = write!(
            upcoming,
            "<li>{} – {}: {}</li>",
            sla::rfc3339(w.start),
            sla::rfc3339(w.end),
            escape(&w.reason)
        );
    }
    if upcoming.is_empty() {
        upcoming.push_str("<li>None scheduled.</li>");
    }
    let mut vendors = String::new();
    for (vendor, up) in &s.vendors {
        let (class, word) = if *up { ("up", "up") } else { ("down", "down") };
        let _ = write!(
            vendors,
            r#"<li class="vendor {class}" data-vendor="{v}">{v}: {word}</li>"#,
            v = escape(vendor)
        );
    }
    if vendors.is_empty() {
        vendors.push_str("<li>No vendor called recently.</li>");
    }
    let (state, class) = if s.up {
        ("All systems operational", "up")
    } else {
        ("Service disruption", "down")
    };
    format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Tributary status</title>
<style>body{{font-family:sans-serif;margin:2em}}.up{{color:#2e7d32}}.down{{color:#c62828}}</style></head>
<body><h1>Tributary status</h1><p id="state" class="{class}">{state}</p>
<h2>Vendors</h2><p>Outages at a vendor delay syncs from that vendor; they are not this hub's downtime.</p><ul id="vendors">{vendors}</ul>
<h2>Open incidents</h2><ul id="incidents">{incidents}</ul>
<h2>Availability, last 90 days</h2>{chart}
<h2>Upcoming maintenance</h2><ul id="maintenance">{upcoming}</ul>
</body></html>"#,
        chart = chart(&s.days, target)
    )
}
