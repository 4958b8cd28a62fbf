//! The FHIR pusher: sends a portal's new and amended observations to the portal's
//! own FHIR server as transaction Bundles (docs/WEBHOOKS.md, "FHIR push").
//!
//! Policy:
//! - One cursor per portal over its observations in `(last_updated, id)` order
//!   (`store::fhir_push`). A round takes up to `delivery.fhir_push_batch_size`
//!   observations after it that were stored at least `delivery.fhir_push_settle`
//!   ago, and sends ONE transaction Bundle. Why a cursor rather than a queue of
//!   rows: an amended observation gets a new `last_updated` and comes round again
//!   by itself, a resend is moving the cursor back, and nothing is written per
//!   observation on the ingest path.
//! - Each member is a `Patient` entry created on condition of the portal's User
//!   Key identifier (`ifNoneExist`), with a `urn:uuid:` full URL that the
//!   Observations' `subject` points to: the portal's server resolves it to its own
//!   Patient, found or created, so a strict server never sees a dangling reference.
//! - Version 1 → `POST Observation` with `ifNoneExist: identifier=…` (the same
//!   observation twice is one resource); version > 1 → conditional update
//!   `PUT Observation?identifier=…` (created if the first version never arrived).
//!   The hub's `id`, `meta.versionId` and `meta.lastUpdated` are not sent: the
//!   portal's server names its own resources.
//! - The batch goes in transaction Bundles of at most the batch size. A Bundle
//!   accepted (2xx) is done; when every Bundle of the batch is done the cursor moves
//!   past it. A Bundle refused for its content (400, 409, 412, 413, 422) is split
//!   in halves until the entries at fault are alone; those are recorded with the
//!   status and OperationOutcome (`fhir_push_rejections`), counted, and passed.
//!   Before splitting, the round's Patients are sent alone once: if the server
//!   refuses them too, it is refusing the hub (a wrong path, say), which is a
//!   failure like a 5xx, not a reason to reject every observation. A split that
//!   finds no bad entry means the Bundle was too big (Medplum takes at most 8
//!   entries in a transaction with conditional entries): the largest size that went
//!   through becomes the portal's Bundle size in this process.
//! - 401 → with client credentials, one new token and one more try. Anything else
//!   (5xx, other 4xx, a redirect, no answer, a refused address) → the retry
//!   schedule of webhooks (`delivery.retry_schedule_secs`, ±10 %), then `failed`.
//!   Bundles already accepted are sent again at the next attempt: conditional
//!   creates and updates make that harmless.
//! - The portal's URLs follow the webhook policy (`target.rs`): https, public
//!   addresses only unless allowed, no redirects. Nothing of an observation or of
//!   the server's answer is logged.

use super::target::Policy;
use crate::config::DeliverySettings;
use crate::db::{AnyConnection, Database};
use crate::domain::{MemberId, PortalId};
use crate::fhir::user_key_system;
use crate::http::metrics::Metrics;
use crate::keys::KeyRing;
use crate::store::fhir_push::{self, Auth, Refused, Target, OUTCOME_MAX};
use crate::store::observations::{self, Changed};
use crate::store::{members, StoreError};
use rand::Rng;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The identifier system every stored Observation carries.
const OBSERVATION_SID: &str = "urn:tributary:sid:observation";
/// Rounds one claim may run before the portal goes back to the queue.
const MAX_ROUNDS: usize = 20;
/// Portals pushed at once per process.
const MAX_PORTALS: usize = 8;
/// Statuses that blame the Bundle's content rather than the hub's request.
const CONTENT_REFUSED: [u16; 5] = [400, 409, 412, 413, 422];

#[derive(Clone)]
pub struct Pusher {
    db: Database,
    ring: Arc<KeyRing>,
    settings: Arc<DeliverySettings>,
    metrics: Arc<Metrics>,
    policy: Policy,
    client: reqwest::Client,
    /// OAuth access tokens by (portal, token URL, client id), until they expire.
    tokens: Arc<Mutex<HashMap<String, (SecretString, Instant)>>>,
    /// Per portal, the most observations its server took in one Bundle after
    /// refusing more (learnt in this process; the batch size until then).
    caps: Arc<Mutex<HashMap<PortalId, usize>>>,
}

/// The answer to one Bundle.
enum Sent {
    Ok,
    /// A refusal of the content: the status and the body (an OperationOutcome).
    Refused(u16, Option<Vec<u8>>),
    Unauthorized,
    /// Anything else, in the hub's words.
    Failed(String),
}

/// One observation made into a transaction entry.
struct Entry {
    id: String,
    version: i64,
    member: MemberId,
    entry: Value,
}

/// How a round ended.
enum Round {
    /// A batch went; there may be more.
    More,
    /// Nothing is due.
    Idle,
    /// The lease is gone (the configuration changed, or another pusher has it).
    Lost,
}

/// A failure that waits the retry schedule, in the hub's words.
struct Failure(String);

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure(format!("hub: {e}"))
    }
}

impl Pusher {
    pub fn new(
        db: Database,
        ring: Arc<KeyRing>,
        settings: Arc<DeliverySettings>,
        metrics: Arc<Metrics>,
    ) -> Result<Self, reqwest::Error> {
        let policy = Policy::new(&settings.allow_hosts);
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(policy.clone()))
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            .user_agent(concat!("Tributary-FHIR-Push/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            db,
            ring,
            settings,
            metrics,
            policy,
            client,
            tokens: Arc::default(),
            caps: Arc::default(),
        })
    }

    /// Run until `stop` turns true: claim due portals, push each, wait a poll.
    pub async fn run(self, mut stop: tokio::sync::watch::Receiver<bool>) {
        while !*stop.borrow() {
            let claimed = match self.claim().await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "FHIR pusher could not claim portals");
                    Vec::new()
                }
            };
            let mut running = tokio::task::JoinSet::new();
            for (portal, token) in claimed {
                let me = self.clone();
                running.spawn(async move { me.push_portal(portal, token).await });
            }
            while running.join_next().await.is_some() {}
            tokio::select! {
                _ = tokio::time::sleep(self.settings.poll_interval) => {}
                changed = stop.changed() => {
                    if changed.is_err() {
                        break;
                    }
                }
            }
        }
    }

    fn lease(&self) -> chrono::Duration {
        // A round sends a Bundle, maybe its Patients, then each entry alone.
        let sends = self.settings.fhir_push_batch_size as u32 + 4;
        chrono::Duration::from_std(self.settings.timeout * sends.min(20) + Duration::from_secs(30))
            .unwrap_or_default()
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut AnyConnection, &KeyRing) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (db, ring) = (self.db.clone(), self.ring.clone());
        tokio::task::spawn_blocking(move || {
            let mut conn = db
                .conn()
                .map_err(|e| StoreError::Invalid(format!("database: {e}")))?;
            f(&mut conn, &ring)
        })
        .await
        .map_err(|e| StoreError::Invalid(format!("pusher task: {e}")))?
    }

    async fn claim(&self) -> Result<Vec<(PortalId, String)>, StoreError> {
        let lease = self.lease();
        let limit = self.settings.concurrency.min(MAX_PORTALS) as i64;
        self.blocking(move |conn, _| {
            let now = chrono::Utc::now().naive_utc();
            fhir_push::claim(conn, now, now + lease, limit)
        })
        .await
    }

    /// Push rounds for one claimed portal until nothing is due, the lease is lost,
    /// or a failure schedules the next attempt.
    async fn push_portal(&self, portal: PortalId, token: String) {
        for _ in 0..MAX_ROUNDS {
            match self.round(&portal, &token).await {
                Ok(Round::More) => continue,
                Ok(Round::Lost) => return,
                Ok(Round::Idle) => break,
                Err((Failure(why), attempts)) => {
                    let retry_at = self.retry_at(attempts);
                    self.metrics.fhir_push(
                        if retry_at.is_some() {
                            "retry"
                        } else {
                            "failed"
                        },
                        1,
                    );
                    let (p, t) = (portal.clone(), token.clone());
                    let recorded = self
                        .blocking(move |conn, _| fhir_push::fail(conn, &p, &t, &why, retry_at))
                        .await;
                    if let Err(e) = recorded {
                        tracing::warn!(portal = %portal.as_str(), error = %e, "cannot record a FHIR push failure; the lease will expire");
                    }
                    return;
                }
            }
        }
        let (p, t) = (portal.clone(), token);
        if let Err(e) = self
            .blocking(move |conn, _| fhir_push::release(conn, &p, &t))
            .await
        {
            tracing::warn!(portal = %portal.as_str(), error = %e, "cannot release a FHIR push lease");
        }
    }

    /// When to try again after attempt `attempts + 1` failed; `None`: schedule spent.
    fn retry_at(&self, attempts: i32) -> Option<chrono::NaiveDateTime> {
        let wait = self
            .settings
            .retry_schedule
            .get(usize::try_from(attempts).ok()?)?;
        let jitter = rand::thread_rng().gen_range(0.9..1.1);
        let wait = chrono::Duration::from_std(wait.mul_f64(jitter)).ok()?;
        Some(chrono::Utc::now().naive_utc() + wait)
    }

    /// One batch: read, send, record. A failure comes with the attempts before it.
    async fn round(&self, portal: &PortalId, token: &str) -> Result<Round, (Failure, i32)> {
        let settle = chrono::Duration::from_std(self.settings.fhir_push_settle).unwrap_or_default();
        let batch = self.settings.fhir_push_batch_size as i64;
        let (p, t) = (portal.clone(), token.to_owned());
        let loaded = self
            .blocking(move |conn, ring| {
                let target = match fhir_push::target(conn, ring, &p, &t) {
                    Ok(target) => target,
                    Err(StoreError::NotFound) => return Ok(None),
                    Err(e) => return Err(e),
                };
                let until = (chrono::Utc::now() - settle).timestamp_micros();
                let (after, id) = (target.cursor.0, target.cursor.1.clone());
                let page = observations::changed_after(conn, ring, &p, (after, &id), until, batch)?;
                let user_keys = user_keys(conn, ring, &page)?;
                Ok(Some((target, page, user_keys)))
            })
            .await
            .map_err(|e| (Failure::from(e), 0))?;
        let Some((target, page, user_keys)) = loaded else {
            return Ok(Round::Lost);
        };
        let attempts = target.attempts;
        let Some(last) = page.last() else {
            return Ok(Round::Idle);
        };
        let end = (last.last_updated, last.id.clone());
        let entries: Vec<Entry> = page.iter().filter_map(entry).collect();
        let patients = patient_entries(portal, &user_keys);
        let (pushed, refused) = if entries.is_empty() {
            (0, Vec::new())
        } else {
            self.send_batch(portal, token, &target, &patients, &entries)
                .await
                .map_err(|f| (f, attempts))?
        };
        self.record(portal, token, (end.0, end.1), pushed, refused)
            .await
            .map_err(|f| (f, attempts))
    }

    async fn record(
        &self,
        portal: &PortalId,
        token: &str,
        cursor: (i64, String),
        pushed: i64,
        refused: Vec<Refused>,
    ) -> Result<Round, Failure> {
        let n_refused = refused.len() as u64;
        let (p, t) = (portal.clone(), token.to_owned());
        let held = self
            .blocking(move |conn, ring| {
                fhir_push::advance(conn, ring, &p, &t, (cursor.0, &cursor.1), pushed, &refused)
            })
            .await?;
        self.metrics.fhir_push("pushed", pushed.max(0) as u64);
        if n_refused > 0 {
            self.metrics.fhir_push("rejected", n_refused);
        }
        Ok(if held { Round::More } else { Round::Lost })
    }

    /// Send the batch in Bundles of at most the portal's learnt size; a Bundle
    /// whose content is refused is split in halves until the entries at fault are
    /// alone. Returns how many were pushed and the refusals.
    async fn send_batch(
        &self,
        portal: &PortalId,
        token: &str,
        target: &Target,
        patients: &BTreeMap<MemberId, Value>,
        entries: &[Entry],
    ) -> Result<(i64, Vec<Refused>), Failure> {
        let cap = self.bundle_cap(portal).min(entries.len()).max(1);
        let mut queue: std::collections::VecDeque<(usize, usize)> = (0..entries.len())
            .step_by(cap)
            .map(|i| (i, (i + cap).min(entries.len())))
            .collect();
        let (mut pushed, mut refused) = (0i64, Vec::new());
        let (mut largest_ok, mut split, mut probed) = (0usize, false, false);
        let mut sends = 0usize;
        while let Some((from, to)) = queue.pop_front() {
            sends += 1;
            if sends.is_multiple_of(10) {
                self.renew(portal, token).await?;
            }
            let chunk: Vec<&Entry> = entries[from..to].iter().collect();
            match self.send(portal, target, &bundle(patients, &chunk)).await {
                Sent::Ok => {
                    pushed += chunk.len() as i64;
                    largest_ok = largest_ok.max(chunk.len());
                }
                Sent::Refused(status, outcome) => {
                    if !probed {
                        probed = true;
                        self.probe(portal, target, patients, status).await?;
                    }
                    if chunk.len() == 1 {
                        refused.push(Refused {
                            observation_id: chunk[0].id.clone(),
                            version: chunk[0].version,
                            status,
                            outcome,
                        });
                    } else {
                        split = true;
                        let mid = from + chunk.len() / 2;
                        queue.push_front((mid, to));
                        queue.push_front((from, mid));
                    }
                }
                Sent::Unauthorized => return Err(unauthorized()),
                // Bundles already accepted are idempotent: the next attempt sends
                // the whole batch again.
                Sent::Failed(why) => return Err(Failure(why)),
            }
        }
        // Refused only for its size (Medplum takes at most 8 entries in a
        // transaction with conditional entries): remember what went through.
        if split && refused.is_empty() && largest_ok > 0 {
            self.learn_cap(portal, largest_ok);
        }
        Ok((pushed, refused))
    }

    /// After a refusal: are the Bundle's Patients alone refused too? Then the
    /// server refuses the hub's requests (a wrong path, say), not some entries.
    async fn probe(
        &self,
        portal: &PortalId,
        target: &Target,
        patients: &BTreeMap<MemberId, Value>,
        status: u16,
    ) -> Result<(), Failure> {
        let members: Vec<Value> = patients.values().cloned().collect();
        let probe = json!({"resourceType": "Bundle", "type": "transaction", "entry": members});
        match self.send(portal, target, &probe).await {
            Sent::Ok => Ok(()),
            Sent::Refused(p, _) => Err(Failure(format!(
                "HTTP {status} for a Bundle, and HTTP {p} for its Patients alone: the server refuses the hub's requests"
            ))),
            Sent::Unauthorized => Err(unauthorized()),
            Sent::Failed(why) => Err(Failure(why)),
        }
    }

    /// Observations per Bundle for this portal: the batch size, or less once the
    /// server has shown it takes no more.
    fn bundle_cap(&self, portal: &PortalId) -> usize {
        let configured = self.settings.fhir_push_batch_size;
        self.caps
            .lock()
            .ok()
            .and_then(|c| c.get(portal).copied())
            .unwrap_or(configured)
            .min(configured)
    }

    fn learn_cap(&self, portal: &PortalId, size: usize) {
        if let Ok(mut caps) = self.caps.lock() {
            caps.insert(portal.clone(), size);
        }
    }

    async fn renew(&self, portal: &PortalId, token: &str) -> Result<(), Failure> {
        let until = chrono::Utc::now().naive_utc() + self.lease();
        let (p, t) = (portal.clone(), token.to_owned());
        match self
            .blocking(move |conn, _| fhir_push::renew(conn, &p, &t, until))
            .await?
        {
            true => Ok(()),
            false => Err(Failure("the push was changed while it ran".into())),
        }
    }

    /// POST one Bundle to the base URL, with one new OAuth token on a 401.
    async fn send(&self, portal: &PortalId, target: &Target, bundle: &Value) -> Sent {
        let body = bundle.to_string();
        let mut sent = self.send_once(portal, target, &body, false).await;
        if matches!(sent, Sent::Unauthorized)
            && matches!(target.auth, Auth::ClientCredentials { .. })
        {
            sent = self.send_once(portal, target, &body, true).await;
        }
        sent
    }

    async fn send_once(&self, portal: &PortalId, target: &Target, body: &str, fresh: bool) -> Sent {
        let url = match self.policy.check_url(&target.base_url) {
            Ok(u) => u,
            Err(e) => return Sent::Failed(e),
        };
        let bearer = match self.bearer(portal, &target.auth, fresh).await {
            Ok(b) => b,
            Err(e) => return Sent::Failed(e),
        };
        let res = self
            .client
            .post(url)
            .header("content-type", "application/fhir+json")
            .header("accept", "application/fhir+json")
            .bearer_auth(bearer.expose_secret())
            .body(body.to_owned())
            .send()
            .await;
        match res {
            Ok(r) if r.status().is_success() => Sent::Ok,
            Ok(r) if r.status().as_u16() == 401 => Sent::Unauthorized,
            Ok(r) if CONTENT_REFUSED.contains(&r.status().as_u16()) => {
                let status = r.status().as_u16();
                Sent::Refused(status, outcome(r).await)
            }
            Ok(r) if r.status().is_redirection() => Sent::Failed(format!(
                "HTTP {}: redirects are not followed",
                r.status().as_u16()
            )),
            Ok(r) => Sent::Failed(format!("HTTP {}", r.status().as_u16())),
            Err(e) => Sent::Failed(super::dispatch::describe(&e)),
        }
    }

    /// The bearer token: the configured one, or a client-credentials token (cached
    /// until a minute before it expires; `fresh` asks for a new one).
    async fn bearer(
        &self,
        portal: &PortalId,
        auth: &Auth,
        fresh: bool,
    ) -> Result<SecretString, String> {
        let (token_url, client_id, secret, scope) = match auth {
            Auth::Bearer(t) => return Ok(t.clone()),
            Auth::ClientCredentials {
                token_url,
                client_id,
                secret,
                scope,
            } => (token_url, client_id, secret, scope),
        };
        let key = format!("{}\n{token_url}\n{client_id}", portal.as_str());
        if !fresh {
            if let Ok(cache) = self.tokens.lock() {
                if let Some((t, until)) = cache.get(&key) {
                    if *until > Instant::now() {
                        return Ok(t.clone());
                    }
                }
            }
        }
        let url = self
            .policy
            .check_url(token_url)
            .map_err(|e| format!("token {e}"))?;
        let mut form = vec![("grant_type", "client_credentials")];
        if let Some(s) = scope {
            form.push(("scope", s.as_str()));
        }
        let res = self
            .client
            .post(url)
            .basic_auth(client_id, Some(secret.expose_secret()))
            .form(&form)
            .send()
            .await
            .map_err(|e| format!("token endpoint: {}", super::dispatch::describe(&e)))?;
        if !res.status().is_success() {
            return Err(format!("token endpoint: HTTP {}", res.status().as_u16()));
        }
        #[derive(serde::Deserialize)]
        struct TokenAnswer {
            access_token: String,
            expires_in: Option<u64>,
        }
        let answer: TokenAnswer = res
            .json()
            .await
            .map_err(|_| "token endpoint: the answer has no access_token".to_owned())?;
        let token = SecretString::from(answer.access_token);
        let life = Duration::from_secs(answer.expires_in.unwrap_or(300).saturating_sub(60).max(1));
        if let Ok(mut cache) = self.tokens.lock() {
            cache.insert(key, (token.clone(), Instant::now() + life));
        }
        Ok(token)
    }
}

fn unauthorized() -> Failure {
    Failure("HTTP 401: the portal's FHIR server refused the credentials".into())
}

/// The server's answer body, when it is JSON and at most [`OUTCOME_MAX`] bytes.
async fn outcome(mut res: reqwest::Response) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = res.chunk().await {
        body.extend_from_slice(&chunk);
        if body.len() > OUTCOME_MAX {
            return None;
        }
    }
    serde_json::from_slice::<Value>(&body).ok().map(|_| body)
}

/// The User Keys of the members of `page` whose observations are pushed.
fn user_keys(
    conn: &mut AnyConnection,
    ring: &KeyRing,
    page: &[Changed],
) -> Result<BTreeMap<MemberId, String>, StoreError> {
    let mut out = BTreeMap::new();
    for c in page.iter().filter(|c| c.served.is_some()) {
        if !out.contains_key(&c.member) {
            let m = members::get(conn, ring, &c.member)?;
            out.insert(c.member.clone(), m.user_key.expose().to_owned());
        }
    }
    Ok(out)
}

/// One conditional create of each member's Patient, by the portal's User Key.
fn patient_entries(
    portal: &PortalId,
    user_keys: &BTreeMap<MemberId, String>,
) -> BTreeMap<MemberId, Value> {
    let system = user_key_system(portal.as_str());
    user_keys
        .iter()
        .map(|(member, key)| {
            let entry = json!({
                "fullUrl": format!("urn:uuid:{}", member.as_str()),
                "resource": {
                    "resourceType": "Patient",
                    "identifier": [{"system": system, "value": key}],
                },
                "request": {
                    "method": "POST",
                    "url": "Patient",
                    "ifNoneExist": search(&system, key),
                },
            });
            (member.clone(), entry)
        })
        .collect()
}

/// `identifier=<system>|<value>`, encoded for a query.
fn search(system: &str, value: &str) -> String {
    let token: String =
        url::form_urlencoded::byte_serialize(format!("{system}|{value}").as_bytes()).collect();
    format!("identifier={token}")
}

/// A stored observation as a transaction entry; `None` when it is not pushed (its
/// data type is no longer granted, or its text is not an object).
fn entry(c: &Changed) -> Option<Entry> {
    let served = c.served.as_ref()?;
    let mut resource: Value = serde_json::from_str(&served.json).ok()?;
    let obj = resource.as_object_mut()?;
    obj.remove("id");
    if let Some(meta) = obj.get_mut("meta").and_then(Value::as_object_mut) {
        meta.remove("versionId");
        meta.remove("lastUpdated");
        if meta.is_empty() {
            obj.remove("meta");
        }
    }
    obj.insert(
        "subject".into(),
        json!({"reference": format!("urn:uuid:{}", c.member.as_str())}),
    );
    let identifier = obj
        .get("identifier")
        .and_then(Value::as_array)
        .and_then(|ids| ids.iter().find(|i| i["system"] == OBSERVATION_SID))
        .and_then(|i| i["value"].as_str())
        .map(|v| search(OBSERVATION_SID, v));
    let request = match (identifier, c.version) {
        (Some(q), 1) => json!({"method": "POST", "url": "Observation", "ifNoneExist": q}),
        (Some(q), _) => json!({"method": "PUT", "url": format!("Observation?{q}")}),
        (None, _) => json!({"method": "POST", "url": "Observation"}),
    };
    Some(Entry {
        id: c.id.clone(),
        version: c.version,
        member: c.member.clone(),
        entry: json!({
            "fullUrl": format!("urn:uuid:{}", uuid_of(&c.id)),
            "resource": resource,
            "request": request,
        }),
    })
}

/// The observation id (32 hex digits) written as a UUID, for its `urn:uuid:` name.
fn uuid_of(id: &str) -> String {
    match uuid::Uuid::try_parse(id) {
        Ok(u) => u.hyphenated().to_string(),
        Err(_) => uuid::Uuid::new_v4().hyphenated().to_string(),
    }
}

/// A transaction Bundle of the Patients of `entries` then the entries.
fn bundle(patients: &BTreeMap<MemberId, Value>, entries: &[&Entry]) -> Value {
    let mut list: Vec<Value> = patients
        .iter()
        .filter(|(m, _)| entries.iter().any(|e| &e.member == *m))
        .map(|(_, p)| p.clone())
        .collect();
    list.extend(entries.iter().map(|e| e.entry.clone()));
    json!({"resourceType": "Bundle", "type": "transaction", "entry": list})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifier_searches_are_encoded() {
        assert_eq!(
            search("urn:tributary:sid:observation", "a b|c"),
            "identifier=urn%3Atributary%3Asid%3Aobservation%7Ca+b%7Cc"
        );
        assert_eq!(
            uuid_of("0123456789abcdef0123456789abcdef"),
            "01234567-89ab-cdef-0123-456789abcdef"
        );
    }
}
