//! The dispatcher: claims due deliveries, sends each event to its endpoint with the
//! Standard Webhooks headers, and records the outcome.
//!
//! Policy: at least once. A delivery is claimed with a lease; a process that dies
//! mid-send leaves the lease to expire and another sends it again, under the same
//! `webhook-id` (the event id), which receivers deduplicate on. A 2xx within the
//! timeout is success; anything else (another status, a redirect, no answer, a
//! refused address) waits the next step of the retry schedule, with jitter, and
//! after the last step the delivery is `failed` (retry or replay send it again).
//! Each endpoint is paced (`per_endpoint_per_second`), so a backlog after an
//! outage arrives as a steady stream, not a flood. Nothing of the receiver's answer
//! is stored but its status code.

use super::sign::signature_header;
use super::target::Policy;
use crate::config::DeliverySettings;
use crate::db::{AnyConnection, Database};
use crate::domain::MemberId;
use crate::http::metrics::Metrics;
use crate::keys::KeyRing;
use crate::store::deliveries::{self, Attempt, Claimed};
use crate::store::{events, members, webhook_endpoints, StoreError};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use rand::Rng;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a claim holds beyond the send timeout.
const LEASE_MARGIN: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub struct Dispatcher {
    pub db: Database,
    pub ring: Arc<KeyRing>,
    pub settings: Arc<DeliverySettings>,
    pub metrics: Arc<Metrics>,
    policy: Policy,
    client: reqwest::Client,
    pace: Arc<DefaultKeyedRateLimiter<String>>,
    /// Deliveries in flight per endpoint in this process.
    in_flight: Arc<Mutex<HashMap<String, usize>>>,
}

/// At most this share of the slots goes to one endpoint, so a slow or silent
/// receiver (10 s per attempt) leaves the others their deliveries.
const ENDPOINT_SHARE: usize = 4;

/// One delivery of an endpoint in flight; counted out when dropped.
struct InFlight {
    dispatcher: Dispatcher,
    endpoint: String,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.dispatcher.done(&self.endpoint);
    }
}

/// What one delivery sends.
struct Prepared {
    url: String,
    enabled: bool,
    secrets: Vec<secrecy::SecretString>,
    body: Vec<u8>,
}

impl Dispatcher {
    pub fn new(
        db: Database,
        ring: Arc<KeyRing>,
        settings: Arc<DeliverySettings>,
        metrics: Arc<Metrics>,
    ) -> Result<Self, reqwest::Error> {
        let policy = Policy::new(&settings.allow_hosts);
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            // A proxy would resolve the target itself, past the resolver's check.
            .no_proxy()
            .dns_resolver(Arc::new(policy.clone()))
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            .user_agent(concat!("Tributary-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let pace = Arc::new(RateLimiter::keyed(Quota::per_second(
            settings.per_endpoint_per_second,
        )));
        Ok(Self {
            db,
            ring,
            settings,
            metrics,
            policy,
            client,
            pace,
            in_flight: Arc::new(Mutex::new(HashMap::new())),
        })
    }

    /// How many deliveries of one endpoint may be in flight at once.
    fn endpoint_cap(&self) -> usize {
        (self.settings.concurrency / ENDPOINT_SHARE).max(1)
    }

    fn in_flight(&self) -> std::sync::MutexGuard<'_, HashMap<String, usize>> {
        self.in_flight.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Run until `stop` turns true: claim as many due deliveries as there are free
    /// slots, send each in its own task, record.
    pub async fn run(self, mut stop: tokio::sync::watch::Receiver<bool>) {
        let slots = Arc::new(tokio::sync::Semaphore::new(self.settings.concurrency));
        while !*stop.borrow() {
            // Wait for a free slot (or the stop), then claim for every free one.
            let first = tokio::select! {
                p = slots.clone().acquire_owned() => match p {
                    Ok(p) => p,
                    Err(_) => break,
                },
                changed = stop.changed() => {
                    if changed.is_err() {
                        break; // the hub is gone
                    }
                    continue;
                }
            };
            let claimed = match self.claim(slots.available_permits() + 1).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "webhook dispatcher could not claim deliveries");
                    Vec::new()
                }
            };
            if claimed.is_empty() {
                drop(first);
                tokio::select! {
                    _ = tokio::time::sleep(self.settings.poll_interval) => {}
                    changed = stop.changed() => {
                        if changed.is_err() {
                            break;
                        }
                    }
                }
                continue;
            }
            let mut first = Some(first);
            for delivery in claimed {
                let permit = match first.take() {
                    Some(p) => p,
                    None => match slots.clone().acquire_owned().await {
                        Ok(p) => p,
                        Err(_) => return,
                    },
                };
                let me = self.clone();
                tokio::spawn(async move {
                    // Counted out of flight however the task ends (a panic too).
                    let _in_flight = InFlight {
                        dispatcher: me.clone(),
                        endpoint: delivery.endpoint_id.clone(),
                    };
                    me.deliver(delivery).await;
                    drop(permit);
                });
            }
        }
        // Let sends in flight finish (their leases cover them otherwise).
        let _ = slots
            .acquire_many(u32::try_from(self.settings.concurrency).unwrap_or(u32::MAX))
            .await;
    }

    /// Claim up to `limit` deliveries, at most the per-endpoint cap of each endpoint
    /// counting what is in flight (the excess is given back at once), and count
    /// them in flight.
    async fn claim(&self, limit: usize) -> Result<Vec<Claimed>, StoreError> {
        let db = self.db.clone();
        let cap = self.endpoint_cap();
        let busy: Vec<String> = self
            .in_flight()
            .iter()
            .filter(|(_, n)| **n >= cap)
            .map(|(e, _)| e.clone())
            .collect();
        // The lease covers the send and the pacing wait of a claim this size (all
        // of it for one endpoint, at worst).
        let pacing = Duration::from_secs(
            (limit as u64).div_ceil(u64::from(self.settings.per_endpoint_per_second.get())),
        );
        let lease = self.settings.timeout + LEASE_MARGIN + pacing;
        let claimed = {
            let db = db.clone();
            tokio::task::spawn_blocking(move || {
                let mut conn = db
                    .conn()
                    .map_err(|e| StoreError::Invalid(format!("database: {e}")))?;
                let now = crate::store::events::now();
                let until = now + chrono::Duration::from_std(lease).unwrap_or_default();
                deliveries::claim(&mut conn, now, until, limit as i64, &busy)
            })
            .await
            .map_err(|e| StoreError::Invalid(format!("dispatcher task: {e}")))??
        };
        let (mut keep, mut excess) = (Vec::new(), Vec::new());
        {
            let mut in_flight = self.in_flight();
            for c in claimed {
                let n = in_flight.entry(c.endpoint_id.clone()).or_default();
                if *n < cap {
                    *n += 1;
                    keep.push(c);
                } else {
                    excess.push(c);
                }
            }
        }
        if !excess.is_empty() {
            let released = tokio::task::spawn_blocking(move || {
                let mut conn = db
                    .conn()
                    .map_err(|e| StoreError::Invalid(format!("database: {e}")))?;
                deliveries::release(&mut conn, &excess)
            })
            .await;
            if !matches!(released, Ok(Ok(()))) {
                tracing::warn!("cannot give back claimed deliveries; their leases will expire");
            }
        }
        Ok(keep)
    }

    /// A delivery of `endpoint` is no longer in flight.
    fn done(&self, endpoint: &str) {
        let mut in_flight = self.in_flight();
        if let Some(n) = in_flight.get_mut(endpoint) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                in_flight.remove(endpoint);
            }
        }
    }

    /// Send one claimed delivery and record the attempt.
    pub async fn deliver(&self, claimed: Claimed) {
        let prepared = {
            let (db, ring, c) = (self.db.clone(), self.ring.clone(), claimed.clone());
            tokio::task::spawn_blocking(move || -> Result<Prepared, StoreError> {
                let mut conn = db
                    .conn()
                    .map_err(|e| StoreError::Invalid(format!("database: {e}")))?;
                prepare(&mut conn, &ring, &c)
            })
            .await
        };
        let prepared = match prepared {
            Ok(Ok(p)) => p,
            // The endpoint or the event was deleted after the claim: nothing to send.
            Ok(Err(StoreError::NotFound)) => return,
            Ok(Err(e)) => {
                tracing::warn!(delivery = %claimed.id, error = %e, "cannot prepare a webhook");
                self.record(
                    &claimed,
                    None,
                    Some("the hub could not prepare the event".into()),
                )
                .await;
                return;
            }
            Err(e) => {
                tracing::warn!(delivery = %claimed.id, error = %e, "webhook task failed");
                self.record(
                    &claimed,
                    None,
                    Some("the hub could not prepare the event".into()),
                )
                .await;
                return;
            }
        };
        if !prepared.enabled {
            return; // disabled after the claim: the lease runs out, it waits
        }
        self.pace.until_key_ready(&claimed.endpoint_id).await;
        let outcome = self.send(&claimed, &prepared).await;
        let (status, error) = match outcome {
            Ok(status) => (Some(status), None),
            Err((status, why)) => (status, Some(why)),
        };
        self.record(&claimed, status, error).await;
    }

    /// Record an attempt: delivered when `error` is `None`, else retried on the
    /// schedule or failed.
    async fn record(&self, claimed: &Claimed, status: Option<u16>, error: Option<String>) {
        let at = crate::store::events::now();
        let retry_at = error
            .as_ref()
            .and_then(|_| self.retry_at(claimed.attempts, at));
        let outcome = match (&error, retry_at) {
            (None, _) => "delivered",
            (Some(_), Some(_)) => "retry",
            (Some(_), None) => "failed",
        };
        let (db, c) = (self.db.clone(), claimed.clone());
        let recorded = tokio::task::spawn_blocking(move || -> Result<bool, StoreError> {
            let mut conn = db
                .conn()
                .map_err(|e| StoreError::Invalid(format!("database: {e}")))?;
            let attempt = Attempt {
                at,
                status,
                error: error.as_deref(),
                retry_at,
            };
            deliveries::record_attempt(&mut conn, &c, &attempt)
        })
        .await;
        match recorded {
            Ok(Ok(true)) => self.metrics.webhook_attempt(outcome),
            Ok(Ok(false)) => {
                tracing::info!(delivery = %claimed.id, "a webhook attempt finished after its claim was lost; not recorded")
            }
            _ => {
                tracing::warn!(delivery = %claimed.id, "cannot record a webhook attempt; the lease will expire and it is sent again")
            }
        }
    }

    /// One POST; its status on success. `Err((status, reason))`: the receiver's status if it answered, and
    /// why the attempt failed (the hub's words, never the receiver's body).
    async fn send(&self, claimed: &Claimed, p: &Prepared) -> Result<u16, (Option<u16>, String)> {
        let url = self.policy.check_url(&p.url).map_err(|e| (None, e))?;
        let timestamp = chrono::Utc::now().timestamp();
        let signature = signature_header(&claimed.event_id, timestamp, &p.body, &p.secrets);
        let sent = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &claimed.event_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(p.body.clone())
            .send()
            .await;
        match sent {
            Ok(res) if res.status().is_success() => Ok(res.status().as_u16()),
            Ok(res) if res.status().is_redirection() => Err((
                Some(res.status().as_u16()),
                format!("HTTP {}: redirects are not followed", res.status().as_u16()),
            )),
            Ok(res) => Err((
                Some(res.status().as_u16()),
                format!("HTTP {}", res.status().as_u16()),
            )),
            Err(e) => Err((None, describe(&e))),
        }
    }

    /// When to try again after attempt number `attempts + 1` failed: the schedule's
    /// next wait, give or take 10 %; `None` when it is spent.
    fn retry_at(&self, attempts: i32, now: chrono::NaiveDateTime) -> Option<chrono::NaiveDateTime> {
        let wait = self
            .settings
            .retry_schedule
            .get(usize::try_from(attempts).ok()?)?;
        let jitter = rand::thread_rng().gen_range(0.9..1.1);
        let wait = chrono::Duration::from_std(wait.mul_f64(jitter)).ok()?;
        Some(now + wait)
    }
}

/// A failed request in the hub's words.
pub(crate) fn describe(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    if e.is_timeout() {
        return "timed out".into();
    }
    // The resolver's refusal (a private address) is the most useful cause.
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if let Some(why) = text.strip_prefix("url: ") {
            return format!("refused: {why}");
        }
        source = s.source();
    }
    if e.is_connect() {
        return "connection failed".into();
    }
    "request failed".into()
}

/// The endpoint, its secrets and the body of the event, with the member's User Key.
fn prepare(
    conn: &mut AnyConnection,
    ring: &KeyRing,
    claimed: &Claimed,
) -> Result<Prepared, StoreError> {
    let now = crate::store::events::now();
    let target = webhook_endpoints::target(conn, ring, &claimed.endpoint_id, now)?;
    let event = events::get(conn, &claimed.event_id)?;
    let body = super::body(conn, ring, &event)?;
    Ok(Prepared {
        url: target.url,
        enabled: target.enabled,
        secrets: target.secrets,
        body,
    })
}

/// The User Key of an event's member: from the member, or for `member.erased` from
/// the event itself; `None` when the member is gone.
pub fn user_key_of(
    conn: &mut AnyConnection,
    ring: &KeyRing,
    event: &events::Event,
) -> Result<Option<String>, StoreError> {
    if let Some(sealed) = &event.user_key_sealed {
        let plain = ring.open_hub_secret(conn, events::USER_KEY_TABLE, &event.id, sealed)?;
        return Ok(std::str::from_utf8(&plain).ok().map(str::to_owned));
    }
    let Some(member) = event.member_id.as_deref().and_then(MemberId::parse) else {
        return Ok(None);
    };
    match members::get(conn, ring, &member) {
        Ok(m) => Ok(Some(m.user_key.expose().to_owned())),
        Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
}
