//! `GET /v1/status/sla` (JSON, any valid API key) and the public status page
//! `GET /status`: current state, open incidents, 90 days of availability as a
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
/// day; announced maintenance excluded. The same for every portal.
#[utoipa::path(get, operation_id = "sla_report", path = "/v1/status/sla", tag = "operations", params(SlaQuery), security(("api_key" = [])),
    responses((status = 200, description = "The report", body = Object),
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
    Ok(Status {
        up: latest.values().any(|s| s.ok),
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
    let (state, class) = if s.up {
        ("All systems operational", "up")
    } else {
        ("Service disruption", "down")
    };
    format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Tributary status</title>
<style>body{{font-family:sans-serif;margin:2em}}.up{{color:#2e7d32}}.down{{color:#c62828}}</style></head>
<body><h1>Tributary status</h1><p id="state" class="{class}">{state}</p>
<h2>Open incidents</h2><ul id="incidents">{incidents}</ul>
<h2>Availability, last 90 days</h2>{chart}
<h2>Upcoming maintenance</h2><ul id="maintenance">{upcoming}</ul>
</body></html>"#,
        chart = chart(&s.days, target)
    )
}
