//! Running one claimed job.
//!
//! A sync job (backfill window or incremental) fetches its window page by page,
//! then stores the observations, its progress, the next backfill window and its
//! own completion in one transaction: a crash before that commit leaves nothing
//! behind but the job, which is retried whole; a crash after it leaves the job done.

use super::plan::{self, Window};
use super::SyncContext;
use crate::connect::tokens::TokenError;
use crate::db::AnyConnection;
use crate::store::connections::{self, Connection, Status};
use crate::store::jobs::{self, Job, Kind};
use crate::store::{sync_state, StoreError};
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;
use std::time::Duration;
use tributary_connectors::{Connector, DataType, PushAuth, Sample, TimeWindow};

/// A vendor response larger than this is refused (the connector's pages are far
/// smaller).
const MAX_BODY_BYTES: usize = 64 << 20;
/// A window that needs more pages than this has a cursor that does not advance.
const MAX_PAGES: usize = 10_000;
/// One vendor request may take this long.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Samples a job keeps before storing them, while more pages follow.
const FLUSH_AT: usize = 1000;
/// Used when a 429 carries no usable `Retry-After`.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(60);

/// How a job ended, when it did not succeed. Every reason is the hub's own words:
/// status codes, data types, field paths; never a vendor's body.
#[derive(Debug, Clone, PartialEq)]
pub enum JobError {
    /// Try again after a backoff (an attempt is used).
    Retry(String),
    /// Wait this long and try again (rate limited; no attempt used).
    Postpone(String, Duration),
    /// Do not retry; `state` is what the data type's progress shows.
    Fatal(String, &'static str),
    /// The claim was lost to another worker: change nothing.
    Lost,
}

impl From<StoreError> for JobError {
    fn from(e: StoreError) -> Self {
        // Database trouble is worth retrying; the error names no health data.
        JobError::Retry(format!("database: {e}"))
    }
}

/// What a successful job did, for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Done {
    pub samples: usize,
    pub inserted: usize,
}

/// Run a job to its end (success or a [`JobError`]); the worker records the result.
pub async fn run(ctx: &SyncContext, job: &Job) -> Result<Done, JobError> {
    match job.kind {
        Kind::Backfill | Kind::Incremental => sync_window(ctx, job).await,
        Kind::TokenRefresh => refresh_token(ctx, job).await,
        Kind::Housekeeping => housekeeping(ctx, job).await,
        Kind::Subscribe => subscribe(ctx, job).await,
        Kind::VendorRevoke => super::revoke::run(ctx, job).await,
        Kind::Backup => crate::backup::schedule::run(ctx, job).await,
    }
}

/// Run `f` with a pooled connection on the blocking pool.
pub async fn blocking<T: Send + 'static>(
    ctx: &SyncContext,
    f: impl FnOnce(&mut AnyConnection) -> Result<T, JobError> + Send + 'static,
) -> Result<T, JobError> {
    let db = ctx.db.clone();
    // Many jobs wait on vendors at once; only a few do database work at a time, so
    // the blocking pool (and each of its threads' allocator caches) stays small.
    let _slot = ctx
        .db_slots
        .acquire()
        .await
        .map_err(|_| JobError::Retry("shutting down".into()))?;
    tokio::task::spawn_blocking(move || {
        let mut conn = db
            .conn()
            .map_err(|e| JobError::Retry(format!("database: {e}")))?;
        f(&mut conn)
    })
    .await
    .map_err(|e| {
        if e.is_panic() {
            JobError::Retry("the job's database work panicked".into())
        } else {
            JobError::Retry("the job's database work was cancelled".into())
        }
    })?
}

/// Complete a job that has nothing (left) to do.
async fn no_op(ctx: &SyncContext, job: &Job) -> Result<Done, JobError> {
    let job = job.clone();
    blocking(ctx, move |conn| {
        if jobs::complete(conn, &job)? {
            Ok(Done::default())
        } else {
            Err(JobError::Lost)
        }
    })
    .await
}

async fn sync_window(ctx: &SyncContext, job: &Job) -> Result<Done, JobError> {
    let (Some(connection_id), Some(data_type)) = (job.connection_id.clone(), job.data_type.clone())
    else {
        return Err(JobError::Fatal(
            "a sync job without a connection or data type".into(),
            sync_state::ERROR,
        ));
    };
    let id = connection_id.clone();
    let dt = data_type.clone();
    let (connection, progress) = blocking(ctx, move |conn| {
        let c = match connections::get(conn, &id) {
            Ok(c) => Some(c),
            Err(StoreError::NotFound) => None,
            Err(e) => return Err(e.into()),
        };
        Ok((c, sync_state::get(conn, &id, &dt)?))
    })
    .await?;
    // Revoked, deleted or narrowed since the job was queued: nothing to fetch.
    let (Some(connection), Some(progress)) = (connection, progress) else {
        return no_op(ctx, job).await;
    };
    if connection.status != Status::Active || !connection.data_types.contains(&data_type) {
        return no_op(ctx, job).await;
    }
    let Some(connector) = ctx
        .vendors
        .connector_for(&connection.vendor, connection.vendor_app_id.as_deref())
    else {
        return Err(JobError::Fatal(
            format!("vendor {} is not available to this hub", connection.vendor),
            sync_state::ERROR,
        ));
    };
    let Some(dt) = DataType::parse(&data_type)
        .filter(|d| connector.manifest().data_type(d.as_str()).is_some())
    else {
        return no_op(ctx, job).await;
    };
    let now = Utc::now();
    let window = match job.kind {
        Kind::Backfill => serde_json::from_value::<Window>(job.payload.clone()).map_err(|_| {
            JobError::Fatal("a backfill job without a window".into(), sync_state::ERROR)
        })?,
        _ => {
            let since = progress.fetched_until.map_or(now, |t| t.and_utc());
            let overlap = ChronoDuration::from_std(ctx.settings.overlap).unwrap_or_default();
            let mut start = (since - overlap).max(progress.backfill_from.and_utc());
            // A notification may name older data (a device that synced late): fetch
            // from there, within the vendor's history limit.
            if let Some(notified) = job
                .payload
                .get("since")
                .and_then(|v| serde_json::from_value::<DateTime<Utc>>(v.clone()).ok())
            {
                let horizon =
                    now - ChronoDuration::days(i64::from(connector.manifest().max_history_days));
                start = start.min(notified.max(horizon));
            }
            Window {
                start: start.min(now),
                end: now,
            }
        }
    };
    let as_window = TimeWindow {
        start: window.start,
        end: window.end,
    };
    // Vendors that say where the member's records lie: a backfill window outside
    // them is not fetched, and one older than the first record ends the backfill.
    let mut range = RangeDecision::Fetch;
    if job.kind == Kind::Backfill {
        if let Some(request) = connector.history_range_request() {
            let span = history_range(ctx, &connection, connector.as_ref(), &request, &dt).await?;
            range = RangeDecision::of(as_window, span);
        }
    }
    let samples = match (range, connector.backfill_request(&dt, as_window)) {
        (RangeDecision::Empty | RangeDecision::EmptyAndOlder, _) => Vec::new(),
        // History the vendor delivers later, by push: ask for it, count the window
        // done; the data arrives through /vendor-hooks.
        (_, Some(request)) if job.kind == Kind::Backfill => {
            request_history(ctx, &connection, connector.as_ref(), &request, &dt).await?;
            Vec::new()
        }
        _ => fetch(ctx, job, &connection, connector.as_ref(), &dt, window).await?,
    };
    let last = range == RangeDecision::EmptyAndOlder;
    store(ctx, job, connection, connector, window, samples, last).await
}

/// What the member's record span says about a backfill window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeDecision {
    /// The window may hold records: fetch it.
    Fetch,
    /// Nothing in the window (it is newer than the last record); older ones may hold some.
    Empty,
    /// Nothing in the window nor before it (older than the first record, or the
    /// member has none): the backfill is complete.
    EmptyAndOlder,
}

impl RangeDecision {
    pub fn of(window: TimeWindow, span: Option<TimeWindow>) -> Self {
        match span {
            None => Self::EmptyAndOlder,
            Some(s) if window.end <= s.start => Self::EmptyAndOlder,
            // The span is half-open too: its end is past the last record.
            Some(s) if window.start >= s.end => Self::Empty,
            Some(_) => Self::Fetch,
        }
    }
}

/// Ask the vendor where the member's `data_type` records lie.
async fn history_range(
    ctx: &SyncContext,
    connection: &Connection,
    connector: &dyn Connector,
    request: &tributary_connectors::HttpRequest,
    data_type: &DataType,
) -> Result<Option<TimeWindow>, JobError> {
    let vendor = connector.manifest().vendor;
    let key = super::limits::CallKey {
        vendor,
        vendor_app: connection.vendor_app_id.as_deref(),
        connection: &connection.id,
    };
    for refresh in [false, true] {
        let token = access_token(ctx, &connection.id, refresh).await?;
        let Some(body) = call(ctx, &key, connector, request, &token, "the data range", &[]).await?
        else {
            continue;
        };
        return connector
            .parse_history_range(data_type, &body)
            .map_err(|e| {
                JobError::Fatal(
                    format!("{vendor} data range does not parse at {}", e.path),
                    sync_state::ERROR,
                )
            });
    }
    Err(JobError::Retry(format!(
        "{vendor} refused a fresh token (401) for the data range"
    )))
}

/// Vendors whose token answer does not name the account are asked which it is
/// (kept as a keyed hash), so their notifications find this connection.
async fn learn_account(
    ctx: &SyncContext,
    connection: &Connection,
    connector: &dyn Connector,
) -> Result<(), JobError> {
    let Some(request) = connector.account_request() else {
        return Ok(());
    };
    let vendor = connector.manifest().vendor;
    let key = super::limits::CallKey {
        vendor,
        vendor_app: connection.vendor_app_id.as_deref(),
        connection: &connection.id,
    };
    for refresh in [false, true] {
        let token = access_token(ctx, &connection.id, refresh).await?;
        let Some(body) = call(
            ctx,
            &key,
            connector,
            &request,
            &token,
            "the account id",
            &[],
        )
        .await?
        else {
            continue;
        };
        let account = connector.parse_account(&body).map_err(|e| {
            JobError::Fatal(
                format!("{vendor} account answer does not parse at {}", e.path),
                sync_state::ERROR,
            )
        })?;
        let (ring, c) = (ctx.ring.clone(), connection.clone());
        return blocking(ctx, move |conn| {
            Ok(connections::set_vendor_user(conn, &ring, &c, &account)?)
        })
        .await;
    }
    Err(JobError::Retry(format!(
        "{vendor} refused a fresh token (401) for the account id"
    )))
}

/// Send a backfill request (the vendor answers 2xx and pushes the data later).
/// The account is learnt first, so the pushed history finds the connection; a
/// window the vendor says it was already asked for (409) counts as asked.
async fn request_history(
    ctx: &SyncContext,
    connection: &Connection,
    connector: &dyn Connector,
    request: &tributary_connectors::HttpRequest,
    data_type: &DataType,
) -> Result<(), JobError> {
    let vendor = connector.manifest().vendor;
    let key = super::limits::CallKey {
        vendor,
        vendor_app: connection.vendor_app_id.as_deref(),
        connection: &connection.id,
    };
    learn_account(ctx, connection, connector).await?;
    let what = format!("a {data_type} backfill request");
    for refresh in [false, true] {
        let token = access_token(ctx, &connection.id, refresh).await?;
        let sent = call(ctx, &key, connector, request, &token, &what, &[409]);
        if sent.await?.is_some() {
            return Ok(());
        }
    }
    Err(JobError::Retry(format!(
        "{vendor} refused a fresh token (401) for {what}"
    )))
}

/// Every page of one data type within `window`. Once [`FLUSH_AT`] samples are in
/// hand and more pages follow, they are stored at once (a job holds at most about
/// a page in memory); the rest is returned for the final transaction.
async fn fetch(
    ctx: &SyncContext,
    job: &Job,
    connection: &Connection,
    connector: &dyn Connector,
    data_type: &DataType,
    window: Window,
) -> Result<Vec<Sample>, JobError> {
    let manifest = connector.manifest();
    let vendor = manifest.vendor;
    let key = super::limits::CallKey {
        vendor,
        vendor_app: connection.vendor_app_id.as_deref(),
        connection: &connection.id,
    };
    let mut token = access_token(ctx, &connection.id, false).await?;
    let mut refreshed = false;
    let mut cursor: Option<String> = None;
    let mut samples = Vec::new();
    let window = TimeWindow {
        start: window.start,
        end: window.end,
    };
    for _ in 0..MAX_PAGES {
        let request = connector
            .build_request(data_type, window, cursor.as_deref())
            .map_err(|e| JobError::Fatal(e.to_string(), sync_state::ERROR))?;
        let Some(body) = call(
            ctx,
            &key,
            connector,
            &request,
            &token,
            data_type.as_str(),
            &[],
        )
        .await?
        else {
            if refreshed {
                return Err(JobError::Retry(format!(
                    "{vendor} refused a fresh token (401)"
                )));
            }
            // The vendor refused the token: refresh once and ask again.
            token = access_token(ctx, &connection.id, true).await?;
            refreshed = true;
            continue;
        };
        let page = connector.parse(data_type, &body).map_err(|e| {
            // The path names the field; the problem text could quote a value.
            JobError::Fatal(
                format!("{vendor} {data_type} payload does not parse at {}", e.path),
                sync_state::ERROR,
            )
        })?;
        for skipped in &page.skipped {
            ctx.metrics
                .records_skipped(vendor, data_type.as_str(), skipped.reason);
        }
        samples.extend(page.samples);
        let next = page
            .next_cursor
            .or_else(|| connector.chunk_cursor(data_type, window, cursor.as_deref()));
        if next.is_some() && samples.len() >= FLUSH_AT {
            store_part(ctx, job, connection, std::mem::take(&mut samples)).await?;
        }
        match next {
            Some(next) if Some(&next) == cursor.as_ref() => {
                return Err(JobError::Fatal(
                    format!("{vendor} {data_type}: the page cursor did not advance"),
                    sync_state::ERROR,
                ))
            }
            Some(next) => cursor = Some(next),
            None => return Ok(samples),
        }
    }
    Err(JobError::Fatal(
        format!("{vendor} {data_type}: more than {MAX_PAGES} pages in one window"),
        sync_state::ERROR,
    ))
}

/// Send one request to the vendor's API with the member's token, after the rate
/// limits: the body of a success, `None` for a refused token (401), or the job's
/// error. A vendor that answers errors inside a 2xx body is judged by the status
/// its connector says the body stands for.
async fn call(
    ctx: &SyncContext,
    key: &super::limits::CallKey<'_>,
    connector: &dyn Connector,
    request: &tributary_connectors::HttpRequest,
    token: &SecretString,
    what: &str,
    also_done: &[u16],
) -> Result<Option<Vec<u8>>, JobError> {
    let manifest = connector.manifest();
    let vendor = manifest.vendor;
    if let Err(wait) = ctx.limits.acquire(key, manifest.rate_limits).await {
        return Err(JobError::Postpone(
            format!("{vendor} rate limit: waiting {}s", wait.as_secs()),
            wait,
        ));
    }
    let mut builder = ctx
        .http
        .request(
            reqwest::Method::from_bytes(request.method.as_bytes()).unwrap_or(reqwest::Method::GET),
            &request.url,
        )
        .query(&request.query)
        .bearer_auth(token.expose_secret())
        .timeout(REQUEST_TIMEOUT);
    if !request.form.is_empty() {
        builder = builder.form(&request.form);
    }
    let health = ctx.vendors.health();
    let response = match builder.send().await {
        Ok(r) => r,
        Err(e) => {
            ctx.metrics.vendor_call(vendor, "error");
            health.failed(vendor);
            let what = if e.is_timeout() {
                "timed out"
            } else {
                "unreachable"
            };
            return Err(JobError::Retry(format!("{vendor} API {what}")));
        }
    };
    let http_status = response.status().as_u16();
    let wait = retry_after(response.headers()).unwrap_or(DEFAULT_RETRY_AFTER);
    let body = if (200..=299).contains(&http_status) {
        match read_body(response, vendor).await {
            Ok(body) => Some(body),
            Err(e) => {
                // Broken off mid-body: the vendor failed; too large: it answered.
                if matches!(e, JobError::Retry(_)) {
                    health.failed(vendor);
                } else {
                    health.status(vendor, http_status);
                }
                return Err(e);
            }
        }
    } else {
        None
    };
    let status = body
        .as_deref()
        .map_or(http_status, |b| connector.effective_status(http_status, b));
    ctx.metrics.vendor_call(vendor, &status.to_string());
    health.status(vendor, status);
    match status {
        200..=299 => Ok(Some(body.unwrap_or_default())),
        code if also_done.contains(&code) => Ok(Some(Vec::new())),
        401 => Ok(None),
        429 => {
            ctx.limits.pause(key, wait, false);
            Err(JobError::Postpone(
                format!("{vendor} answered 429; retrying after {}s", wait.as_secs()),
                wait,
            ))
        }
        408 | 500..=599 => Err(JobError::Retry(format!("{vendor} answered {status}"))),
        code => Err(JobError::Fatal(
            format!("{vendor} answered {code} for {what}"),
            sync_state::ERROR,
        )),
    }
}

async fn read_body(mut response: reqwest::Response, vendor: &str) -> Result<Vec<u8>, JobError> {
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_BODY_BYTES {
                    return Err(JobError::Fatal(
                        format!("{vendor} sent a page over {} MiB", MAX_BODY_BYTES >> 20),
                        sync_state::ERROR,
                    ));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(_) => {
                return Err(JobError::Retry(format!(
                    "{vendor} API stopped mid-response"
                )))
            }
        }
    }
}

/// `Retry-After` as seconds or an HTTP date, at most a day.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let text = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    let wait = match text.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => {
            let at = DateTime::parse_from_rfc2822(text).ok()?.with_timezone(&Utc);
            (at - Utc::now()).to_std().unwrap_or_default()
        }
    };
    Some(wait.min(Duration::from_secs(86_400)))
}

async fn access_token(
    ctx: &SyncContext,
    connection_id: &str,
    force: bool,
) -> Result<SecretString, JobError> {
    match ctx.tokens.access_token(connection_id, force).await {
        Ok(t) => Ok(t),
        Err(TokenError::ReauthRequired) => Err(JobError::Fatal(
            "the vendor no longer accepts the member's grant; the member must connect again".into(),
            sync_state::REAUTH_REQUIRED,
        )),
        Err(TokenError::NotConnected) => Err(JobError::Fatal(
            "the connection has no tokens".into(),
            sync_state::ERROR,
        )),
        Err(TokenError::UnknownVendor) => Err(JobError::Fatal(
            "the vendor is not available to this hub".into(),
            sync_state::ERROR,
        )),
        Err(TokenError::Unavailable(_)) => {
            Err(JobError::Retry("token refresh failed for now".into()))
        }
        Err(TokenError::Store(e)) => Err(e.into()),
    }
}

/// Store part of a window (while more pages follow): upserts only, no progress, so a
/// crash before the window's end makes the retry fetch the window again, and the
/// identifiers keep what was stored from being stored twice.
async fn store_part(
    ctx: &SyncContext,
    job: &Job,
    connection: &Connection,
    samples: Vec<Sample>,
) -> Result<(), JobError> {
    let (ring, job, id) = (ctx.ring.clone(), job.clone(), connection.id.clone());
    blocking(ctx, move |conn| {
        conn.write_transaction(|conn| {
            let data_type = job.data_type.clone().unwrap_or_default();
            store_granted(conn, &ring, &id, &data_type, &samples).map(|_| ())
        })
    })
    .await
}

/// Upsert `samples` if the connection is still active and still grants the data
/// type (consent is checked again where it counts: a grant narrowed while the job
/// fetched stores nothing of the removed type). `None`: nothing was stored.
fn store_granted(
    conn: &mut AnyConnection,
    ring: &crate::keys::KeyRing,
    connection_id: &str,
    data_type: &str,
    samples: &[Sample],
) -> Result<Option<(Connection, crate::store::observations::UpsertReport)>, JobError> {
    // The connection's row is locked first, then (through the event's sequence
    // number) the member's: the order a revocation takes them in, so the two never
    // deadlock; and the grant is read once the lock is held, so a revocation or a
    // narrowing that committed meanwhile is seen, and one still to come waits for
    // this transaction and then deletes what it stored.
    connections::synced(conn, connection_id)?;
    let current = connections::get(conn, connection_id)?;
    if current.status != Status::Active || !current.data_types.iter().any(|d| d == data_type) {
        return Ok(None);
    }
    let report = crate::ingest::store_and_announce(conn, ring, &current, data_type, samples)
        .map_err(|e| ingest_error(e, &current.vendor, data_type))?;
    Ok(Some((current, report)))
}

fn ingest_error(e: crate::ingest::IngestError, vendor: &str, data_type: &str) -> JobError {
    match e {
        crate::ingest::IngestError::Store(s) => JobError::from(s),
        _ => JobError::Fatal(
            format!("{vendor} {data_type}: a record could not be normalised"),
            sync_state::ERROR,
        ),
    }
}

/// Store a window's (last) samples, the progress, the next backfill window and the
/// job's completion in one transaction.
async fn store(
    ctx: &SyncContext,
    job: &Job,
    connection: Connection,
    connector: Arc<dyn Connector>,
    window: Window,
    samples: Vec<Sample>,
    last: bool,
) -> Result<Done, JobError> {
    let (ring, settings, job) = (ctx.ring.clone(), ctx.settings.clone(), job.clone());
    blocking(ctx, move |conn| {
        conn.write_transaction(|conn| {
            let data_type = job.data_type.clone().unwrap_or_default();
            let count = samples.len();
            let Some((current, report)) =
                store_granted(conn, &ring, &connection.id, &data_type, &samples)?
            else {
                return if jobs::complete(conn, &job)? {
                    Ok(Done::default())
                } else {
                    Err(JobError::Lost)
                };
            };
            let manifest = connector.manifest();
            match job.kind {
                Kind::Backfill => {
                    let progress = sync_state::get(conn, &current.id, &data_type)?
                        .ok_or(StoreError::NotFound)?;
                    let from = progress.backfill_from.and_utc();
                    // Within a second counts as reached: stored times may have
                    // lost sub-second digits.
                    // `last`: the vendor says nothing older exists.
                    let done = last || window.start - from < ChronoDuration::seconds(1);
                    sync_state::backfilled(
                        conn,
                        &current.id,
                        &data_type,
                        window.start.naive_utc(),
                        done,
                    )?;
                    if done {
                        crate::store::events::backfill_completed(
                            conn,
                            &current.portal_id,
                            &current.member_id,
                            &current.vendor,
                            &data_type,
                            progress.backfill_from,
                        )?;
                    } else {
                        plan::enqueue_backfill(
                            conn,
                            &settings,
                            &current,
                            &data_type,
                            from,
                            window.start,
                        )?;
                    }
                }
                _ => {
                    let next = Utc::now() + plan::incremental_interval(&settings, manifest);
                    sync_state::synced(
                        conn,
                        &current.id,
                        &data_type,
                        window.end.naive_utc(),
                        next.naive_utc(),
                    )?;
                }
            }
            connections::synced(conn, &current.id)?;
            if !jobs::complete(conn, &job)? {
                return Err(JobError::Lost);
            }
            Ok(Done {
                samples: count,
                inserted: report.inserted,
            })
        })
    })
    .await
}

async fn refresh_token(ctx: &SyncContext, job: &Job) -> Result<Done, JobError> {
    let Some(id) = job.connection_id.clone() else {
        return no_op(ctx, job).await;
    };
    match access_token(ctx, &id, true).await {
        Ok(_) => no_op(ctx, job).await,
        // The grant is gone: the connection already shows it; nothing to retry.
        Err(JobError::Fatal(reason, _)) => {
            Err(JobError::Fatal(reason, sync_state::REAUTH_REQUIRED))
        }
        Err(e) => Err(e),
    }
}

/// Ask the vendor to notify the hub of the connection's new data.
async fn subscribe(ctx: &SyncContext, job: &Job) -> Result<Done, JobError> {
    let Some(id) = job.connection_id.clone() else {
        return no_op(ctx, job).await;
    };
    let lookup = id.clone();
    let connection = blocking(ctx, move |conn| match connections::get(conn, &lookup) {
        Ok(c) => Ok(Some(c)),
        Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    })
    .await?;
    let Some(connection) = connection.filter(|c| c.status == Status::Active) else {
        return no_op(ctx, job).await;
    };
    let Some(connector) = ctx
        .vendors
        .connector_for(&connection.vendor, connection.vendor_app_id.as_deref())
    else {
        return no_op(ctx, job).await;
    };
    let vendor = connector.manifest().vendor;
    let app = connection.vendor_app_id.clone();
    let callback = match connector.manifest().push_auth {
        PushAuth::Signature => ctx.vendors.public(&format!("/vendor-hooks/{vendor}")),
        // The vendor signs nothing: the URL it is given carries the app's token.
        PushAuth::CallbackToken => {
            let (vendors, ring) = (ctx.vendors.clone(), ctx.ring.clone());
            blocking(ctx, move |conn| {
                Ok(vendors.hook_url(conn, &ring, vendor, app.as_deref())?)
            })
            .await?
        }
    };
    let requests = connector.subscribe_requests(&callback);
    let key = super::limits::CallKey {
        vendor,
        vendor_app: connection.vendor_app_id.as_deref(),
        connection: &connection.id,
    };
    learn_account(ctx, &connection, connector.as_ref()).await?;
    subscribe_app(ctx, &connection, connector.as_ref()).await?;
    'requests: for request in &requests {
        for refresh in [false, true] {
            let token = access_token(ctx, &id, refresh).await?;
            let sent = call(
                ctx,
                &key,
                connector.as_ref(),
                request,
                &token,
                "a subscription",
                &[],
            );
            if sent.await?.is_some() {
                continue 'requests;
            }
        }
        return Err(JobError::Retry(format!(
            "{vendor} refused a fresh token (401) for a subscription"
        )));
    }
    no_op(ctx, job).await
}

/// For vendors that subscribe per app (Oura's webhooks): make the app's
/// subscriptions, with its credentials, at `/vendor-hooks/{vendor}`; the vendor's
/// verification request will carry the app's hook token. Repeated at each connect:
/// the vendor keeps one subscription per callback and type.
async fn subscribe_app(
    ctx: &SyncContext,
    connection: &Connection,
    connector: &dyn Connector,
) -> Result<(), JobError> {
    let vendor = connector.manifest().vendor;
    let (vendors, ring, c) = (ctx.vendors.clone(), ctx.ring.clone(), connection.clone());
    let Some(creds) = blocking(ctx, move |conn| {
        let app = c.vendor_app_id.as_deref();
        Ok(vendors.credentials_for(conn, &ring, &c.portal_id, vendor, app)?)
    })
    .await?
    else {
        return Ok(());
    };
    let callback = ctx.vendors.public(&format!("/vendor-hooks/{vendor}"));
    let token = crate::vendors::hook_token(vendor, &creds.client_secret);
    let calls = connector.app_subscribe_requests(
        &callback,
        &token,
        &creds.client_id,
        creds.client_secret.expose_secret(),
    );
    let key = super::limits::CallKey {
        vendor,
        vendor_app: connection.vendor_app_id.as_deref(),
        connection: &connection.id,
    };
    for call in calls {
        if let Err(wait) = ctx
            .limits
            .acquire(&key, connector.manifest().rate_limits)
            .await
        {
            return Err(JobError::Postpone(
                format!("{vendor} rate limit: waiting {}s", wait.as_secs()),
                wait,
            ));
        }
        let method =
            reqwest::Method::from_bytes(call.method.as_bytes()).unwrap_or(reqwest::Method::POST);
        let mut request = ctx.http.request(method, &call.url).timeout(REQUEST_TIMEOUT);
        for (name, value) in &call.headers {
            request = request.header(name, value);
        }
        if let Some(body) = call.json_body {
            request = request.body(body);
        }
        let Ok(response) = request.send().await else {
            ctx.metrics.vendor_call(vendor, "error");
            ctx.vendors.health().failed(vendor);
            return Err(JobError::Retry(format!("{vendor} webhook API unreachable")));
        };
        let status = response.status().as_u16();
        ctx.metrics.vendor_call(vendor, &status.to_string());
        ctx.vendors.health().status(vendor, status);
        match status {
            // 409: the subscription exists already.
            200..=299 | 409 => {}
            429 => {
                let wait = retry_after(response.headers()).unwrap_or(DEFAULT_RETRY_AFTER);
                ctx.limits.pause(&key, wait, false);
                return Err(JobError::Postpone(format!("{vendor} answered 429 to a webhook subscription"), wait));
            }
            408 | 500..=599 => {
                return Err(JobError::Retry(format!("{vendor} answered {status} to a webhook subscription")))
            }
            code => {
                return Err(JobError::Fatal(
                    format!("{vendor} refused the app's webhook subscription ({code}); syncs stay scheduled"),
                    sync_state::ERROR,
                ))
            }
        }
    }
    Ok(())
}

/// For vendors whose app subscriptions lapse (Oura): list each app's subscriptions
/// (every portal's app and the sandbox's client) and renew this hub's that lapse
/// within `sync.renew_subscriptions_days` (a week by default: the daily housekeeping
/// then has six more tries if the vendor is down). Returns how many were renewed; a failure is logged
/// and leaves the rest to the next day.
pub async fn renew_app_subscriptions(ctx: &SyncContext) -> usize {
    let mut renewed = 0;
    for vendor in tributary_connectors::registry::vendor_ids() {
        let (vendors, ring) = (ctx.vendors.clone(), ctx.ring.clone());
        let v = vendor.to_owned();
        let apps = match blocking(
            ctx,
            move |conn| Ok(vendors.app_credentials(conn, &ring, v)?),
        )
        .await
        {
            Ok(apps) => apps,
            Err(e) => {
                tracing::warn!(vendor, error = ?e, "cannot read the vendor's apps to renew subscriptions");
                continue;
            }
        };
        for creds in apps {
            let Some(connector) = ctx
                .vendors
                .connector_for(vendor, creds.vendor_app_id.as_deref())
            else {
                continue;
            };
            let secret = creds.client_secret.expose_secret();
            let Some(list) = connector.app_subscription_list(&creds.client_id, secret) else {
                break; // the vendor's subscriptions do not lapse
            };
            let key = super::limits::CallKey {
                vendor,
                vendor_app: creds.vendor_app_id.as_deref(),
                connection: "app-subscriptions",
            };
            let rates = connector.manifest().rate_limits;
            let listed = match send_app_call(ctx, &key, rates, list).await {
                Ok((200..=299, body)) => body,
                Ok((status, _)) => {
                    tracing::warn!(
                        vendor,
                        status,
                        "listing the app's webhook subscriptions failed"
                    );
                    continue;
                }
                Err(why) => {
                    tracing::warn!(vendor, reason = %why, "listing the app's webhook subscriptions failed");
                    continue;
                }
            };
            let prefix = ctx.vendors.public(&format!("/vendor-hooks/{vendor}"));
            let before = Utc::now()
                + ChronoDuration::from_std(ctx.settings.renew_subscriptions_ahead)
                    .unwrap_or(ChronoDuration::days(7));
            let due = match connector.app_subscription_renewals(
                &listed,
                &prefix,
                before,
                &creds.client_id,
                secret,
            ) {
                Ok(due) => due,
                Err(e) => {
                    tracing::warn!(vendor, path = %e.path, "the vendor's subscription list has an unexpected shape");
                    continue;
                }
            };
            for call in due {
                match send_app_call(ctx, &key, rates, call).await {
                    Ok((200..=299, _)) => renewed += 1,
                    Ok((status, _)) => {
                        tracing::warn!(vendor, status, "renewing a webhook subscription failed")
                    }
                    Err(why) => {
                        tracing::warn!(vendor, reason = %why, "renewing a webhook subscription failed")
                    }
                }
            }
        }
    }
    renewed
}

/// One call of a vendor's app-level API (the app's credentials in its headers),
/// within the app's quota: the status and body, or why there is none.
async fn send_app_call(
    ctx: &SyncContext,
    key: &super::limits::CallKey<'_>,
    rates: tributary_connectors::connector::RateLimits,
    call: tributary_connectors::AppCall,
) -> Result<(u16, Vec<u8>), String> {
    if let Err(wait) = ctx.limits.acquire(key, rates).await {
        return Err(format!("rate limit: waiting {}s", wait.as_secs()));
    }
    let method =
        reqwest::Method::from_bytes(call.method.as_bytes()).unwrap_or(reqwest::Method::GET);
    let mut request = ctx.http.request(method, &call.url).timeout(REQUEST_TIMEOUT);
    for (name, value) in &call.headers {
        request = request.header(name, value);
    }
    if let Some(body) = call.json_body {
        request = request.body(body);
    }
    let health = ctx.vendors.health();
    let response = request.send().await.map_err(|_| {
        ctx.metrics.vendor_call(key.vendor, "error");
        health.failed(key.vendor);
        "unreachable".to_owned()
    })?;
    let status = response.status().as_u16();
    ctx.metrics.vendor_call(key.vendor, &status.to_string());
    let body = response.bytes().await.map_err(|_| {
        health.failed(key.vendor);
        "the answer broke off".to_owned()
    })?;
    health.status(key.vendor, status);
    Ok((status, body.to_vec()))
}

async fn housekeeping(ctx: &SyncContext, job: &Job) -> Result<Done, JobError> {
    let renewed = renew_app_subscriptions(ctx).await;
    if renewed > 0 {
        tracing::info!(renewed, "housekeeping: app webhook subscriptions renewed");
    }
    let (settings, job) = (ctx.settings.clone(), job.clone());
    let done = ChronoDuration::from_std(settings.keep_done).unwrap_or(ChronoDuration::days(7));
    let failed = ChronoDuration::from_std(settings.keep_failed).unwrap_or(ChronoDuration::days(30));
    blocking(ctx, move |conn| {
        jobs::forget_ended_secrets(conn)?;
        crate::store::events::forget_erased_user_keys(conn)?;
        if let Some(max_age) = settings.retention_max_age {
            super::retention::purge(conn, max_age)?;
        }
        let purged = jobs::purge(conn, done, failed)?;
        let idle_since = Utc::now() - ChronoDuration::days(1);
        let buckets = crate::store::rate_buckets::purge(conn, idle_since.timestamp_micros())?;
        tracing::info!(
            purged,
            buckets,
            "housekeeping: finished jobs and idle quota buckets deleted"
        );
        if jobs::complete(conn, &job)? {
            Ok(Done::default())
        } else {
            Err(JobError::Lost)
        }
    })
    .await
}

impl From<diesel::result::Error> for JobError {
    fn from(e: diesel::result::Error) -> Self {
        JobError::from(StoreError::from(e))
    }
}

#[cfg(test)]
mod range_tests {
    use super::{RangeDecision, TimeWindow};
    use chrono::{TimeZone, Utc};

    fn day(d: u32) -> chrono::DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, d, 0, 0, 0).unwrap()
    }

    fn w(a: u32, b: u32) -> TimeWindow {
        TimeWindow {
            start: day(a),
            end: day(b),
        }
    }

    #[test]
    fn a_window_outside_the_members_records_is_not_fetched() {
        let span = Some(w(10, 20));
        assert_eq!(RangeDecision::of(w(12, 15), span), RangeDecision::Fetch);
        assert_eq!(RangeDecision::of(w(5, 11), span), RangeDecision::Fetch);
        assert_eq!(RangeDecision::of(w(19, 25), span), RangeDecision::Fetch);
        // Newer than the last record: nothing here, older windows still to come.
        assert_eq!(RangeDecision::of(w(21, 25), span), RangeDecision::Empty);
        assert_eq!(RangeDecision::of(w(20, 25), span), RangeDecision::Empty);
        // Ending where the first record is (the window is half-open): nothing here
        // nor before.
        assert_eq!(
            RangeDecision::of(w(3, 10), span),
            RangeDecision::EmptyAndOlder
        );
        assert_eq!(
            RangeDecision::of(w(1, 5), span),
            RangeDecision::EmptyAndOlder
        );
        // No records at all.
        assert_eq!(
            RangeDecision::of(w(12, 15), None),
            RangeDecision::EmptyAndOlder
        );
    }
}
