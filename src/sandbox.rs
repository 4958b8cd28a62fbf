//! The sandbox's HTTP face: `/sandbox/{vendor}/…` mapped onto the pure simulation in
//! `tributary_connectors::sandbox`, inside `serve` (when `sandbox.enabled`) or alone
//! (`tributary sandbox`).
//!
//! Policy: the adapter only translates. What a vendor answers, which faults it
//! injects and what it records is the simulation's business; the adapter waits out
//! a requested delay asynchronously, so a "slow vendor" blocks no worker, and it
//! sends the notifications the simulation asks for (`POST /_control/push`),
//! answering with the status each callback gave.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use std::sync::Arc;
use tributary_connectors::sandbox::{Outbound, Sandbox, SandboxRequest};

/// Largest request body the sandbox reads (forms and control JSON are small).
const BODY_LIMIT: usize = 64 * 1024;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/sandbox/{vendor}/{tail:.*}")
            .app_data(web::PayloadConfig::new(BODY_LIMIT))
            .to(handle),
    );
}

async fn handle(
    sandbox: web::Data<Arc<Sandbox>>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> HttpResponse {
    let (vendor, tail) = path.into_inner();
    let query = url::form_urlencoded::parse(req.query_string().as_bytes())
        .into_owned()
        .collect();
    let headers = req
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_ascii_lowercase(), v.to_str().ok()?.to_owned())))
        .collect();
    let path = format!("/{tail}");
    let request = SandboxRequest {
        method: req.method().as_str(),
        path: &path,
        query,
        headers,
        body: &body,
    };
    let mut response = sandbox.handle(&vendor, &request);
    if let Some(delay) = response.delay {
        tokio::time::sleep(delay).await;
    }
    if !response.outbound.is_empty() {
        let outbound = std::mem::take(&mut response.outbound);
        if path.starts_with("/_control/") {
            // A test asked for the pushes: it gets each callback's status.
            let delivered = deliver(outbound).await;
            response.body = serde_json::json!({ "pushes": delivered })
                .to_string()
                .into_bytes();
        } else {
            // The vendor pushes after answering (Garmin's backfill: 202, then data).
            tokio::spawn(async move {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                deliver(outbound).await;
            });
        }
    }
    let mut out = HttpResponse::build(
        StatusCode::from_u16(response.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
    );
    for (name, value) in &response.headers {
        out.insert_header((name.as_str(), value.as_str()));
    }
    out.body(response.body)
}

/// Send notifications as the vendor would (no redirects, a 10 s limit), one after
/// another; each one's callback status, or `null` when there was no answer.
async fn deliver(outbound: Vec<Outbound>) -> Vec<serde_json::Value> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(10))
        .build();
    let mut results = Vec::with_capacity(outbound.len());
    for push in outbound {
        let status = match &client {
            Ok(client) => {
                let mut request = client.post(&push.url).body(push.body);
                for (name, value) in &push.headers {
                    request = request.header(name, value);
                }
                request.send().await.ok().map(|r| r.status().as_u16())
            }
            Err(_) => None,
        };
        results.push(serde_json::json!({ "url": push.url, "status": status }));
    }
    results
}

/// `tributary sandbox --listen ADDR`: only the simulated vendors.
pub async fn serve_alone(
    listen: std::net::SocketAddr,
    sandbox: Arc<Sandbox>,
) -> anyhow::Result<()> {
    let data = web::Data::new(sandbox);
    let server = actix_web::HttpServer::new(move || {
        actix_web::App::new()
            .app_data(data.clone())
            .configure(routes)
    })
    .bind(listen)?;
    for addr in server.addrs() {
        tracing::info!(addr = %addr, "sandbox listening");
    }
    server.run().await?;
    Ok(())
}
