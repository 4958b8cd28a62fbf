//! Incident notices sent directly, not through the outbox.
//!
//! Why: the outbox lives in the database, and the incident most worth telling
//! portals about is the database being gone. So the monitor keeps every enabled
//! webhook endpoint (URL, event filter and signing secrets) in memory, refreshed each
//! round while the database answers, and posts `incident.*` notices itself, signed
//! the Standard Webhooks way (`delivery::sign`), through the same URL policy and
//! resolver as the dispatcher (`delivery::target`), retrying with backoff until each
//! endpoint has it. What was sent is handed back to the monitor, which records it in
//! `incident_notices` once the database is back.
//!
//! A notice carries the incident only (id, severity, state, title, cause, times):
//! no portal, member or endpoint data.

use super::store::Notice;
use crate::db::AnyConnection;
use crate::delivery::target::Policy;
use crate::keys::KeyRing;
use crate::store::events::{self, EventKind};
use crate::store::StoreError;
use secrecy::SecretString;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// An enabled endpoint as the notifier needs it.
#[derive(Clone)]
pub struct Endpoint {
    pub id: String,
    pub url: String,
    pub filter: String,
    pub secrets: Vec<SecretString>,
}

/// Every enabled endpoint of every portal, with its secrets opened.
pub fn load_endpoints(
    conn: &mut AnyConnection,
    ring: &KeyRing,
) -> Result<Vec<Endpoint>, StoreError> {
    use crate::db::schema::webhook_endpoints as we;
    use diesel::prelude::*;
    let rows: Vec<(String, String)> = we::table
        .filter(we::enabled.eq(true))
        .select((we::id, we::events))
        .load(conn)?;
    let now = events::now();
    let mut out = Vec::with_capacity(rows.len());
    for (id, filter) in rows {
        let target = crate::store::webhook_endpoints::target(conn, ring, &id, now)?;
        out.push(Endpoint {
            id,
            url: target.url,
            filter,
            secrets: target.secrets,
        });
    }
    Ok(out)
}

/// Sends notices; cheap to clone.
#[derive(Clone)]
pub struct Notifier {
    client: reqwest::Client,
    policy: Policy,
    endpoints: Arc<Mutex<Vec<Endpoint>>>,
    sent: Arc<Mutex<Vec<Notice>>>,
    /// The longest a notice is retried.
    give_up_after: Duration,
}

impl Notifier {
    pub fn new(allow_hosts: &[String], timeout: Duration) -> Result<Self, reqwest::Error> {
        let policy = Policy::new(allow_hosts);
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(policy.clone()))
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("Tributary-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            client,
            policy,
            endpoints: Arc::default(),
            sent: Arc::default(),
            give_up_after: Duration::from_secs(3 * 86_400),
        })
    }

    pub fn set_endpoints(&self, endpoints: Vec<Endpoint>) {
        *self.endpoints.lock().unwrap_or_else(|p| p.into_inner()) = endpoints;
    }

    /// Notices sent (or given up) since the last call, to record.
    pub fn take_sent(&self) -> Vec<Notice> {
        std::mem::take(&mut *self.sent.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Send `kind` with `data` to every endpoint that takes it, each in its own task
    /// retrying until delivered.
    pub fn send(&self, kind: EventKind, incident_id: &str, data: serde_json::Value) {
        let id = format!("evt_{}", uuid::Uuid::new_v4().simple());
        let timestamp = events::now();
        let body = serde_json::json!({
            "id": id,
            "type": kind,
            "timestamp": timestamp.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            "data": data,
        })
        .to_string()
        .into_bytes();
        let endpoints = self
            .endpoints
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        for endpoint in endpoints {
            if !events::subscribes(&endpoint.filter, kind) {
                continue;
            }
            let this = self.clone();
            let (id, body, incident) = (id.clone(), body.clone(), incident_id.to_owned());
            tokio::spawn(async move {
                let delivered = this.deliver(&id, &body, &endpoint).await;
                this.sent
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(Notice {
                        id: format!("{id}/{}", endpoint.id),
                        incident_id: incident,
                        kind: kind.as_str().to_owned(),
                        endpoint_id: endpoint.id.clone(),
                        sent_at: events::now(),
                        delivered,
                    });
            });
        }
    }

    /// Post until a 2xx: waits of 1, 2, 4 … seconds, at most a minute apart.
    async fn deliver(&self, id: &str, body: &[u8], endpoint: &Endpoint) -> bool {
        let Ok(url) = self.policy.check_url(&endpoint.url) else {
            return false;
        };
        let started = std::time::Instant::now();
        let mut wait = Duration::from_secs(1);
        loop {
            let timestamp = chrono::Utc::now().timestamp();
            let signature =
                crate::delivery::sign::signature_header(id, timestamp, body, &endpoint.secrets);
            let sent = self
                .client
                .post(url.clone())
                .header("content-type", "application/json")
                .header("webhook-id", id)
                .header("webhook-timestamp", timestamp.to_string())
                .header("webhook-signature", signature)
                .body(body.to_vec())
                .send()
                .await;
            match sent {
                Ok(res) if res.status().is_success() => return true,
                Ok(res) => {
                    tracing::warn!(
                        status = res.status().as_u16(),
                        "an incident notice was refused; retrying"
                    )
                }
                Err(e) => {
                    tracing::warn!(error = %crate::delivery::dispatch::describe(&e), "an incident notice failed; retrying")
                }
            }
            if started.elapsed() > self.give_up_after {
                return false;
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(60));
        }
    }
}
