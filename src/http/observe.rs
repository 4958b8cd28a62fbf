//! Per-request middleware: a request id, one log line, and the metrics.
//!
//! Policy: a request is logged by method, route pattern, status and duration. Never
//! the concrete path (it holds User Keys and ids), the query string, headers or
//! bodies.

use super::metrics::{Metrics, UNMATCHED_ROUTE};
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage};
use std::time::Instant;
use tracing::Instrument;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A caller's request id is kept if it is short and plain; otherwise we make one.
fn request_id(req: &ServiceRequest) -> String {
    req.headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned)
}

pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let id = request_id(&req);
    let method = req.method().as_str().to_owned();
    let route = req
        .match_pattern()
        .unwrap_or_else(|| UNMATCHED_ROUTE.to_owned());
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    // The monitor's own checks are not traffic: they neither raise nor dilute the
    // error rate.
    let from_monitor = req
        .headers()
        .get(actix_web::http::header::USER_AGENT)
        .is_some_and(|v| v.as_bytes() == crate::ops::checks::MONITOR_AGENT.as_bytes());
    req.extensions_mut()
        .insert(super::auth::RequestId(id.clone()));
    let span = tracing::info_span!("request", request_id = %id, method = %method, route = %route);

    let result = next.call(req).instrument(span.clone()).await;
    let status = match &result {
        Ok(res) => res.status(),
        Err(e) => e.as_response_error().status_code(),
    };
    let elapsed = started.elapsed();
    if let Some(m) = metrics {
        m.observe_request(&method, &route, status.as_u16(), elapsed.as_secs_f64());
        if !from_monitor {
            m.tally.response(&route, status.as_u16());
        }
    }
    span.in_scope(|| {
        tracing::info!(
            status = status.as_u16(),
            duration_ms = elapsed.as_secs_f64() * 1000.0,
            "request"
        );
    });
    let mut res = result?;
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID, v);
    }
    Ok(res)
}
