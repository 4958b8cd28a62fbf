//! Start-up: turn validated settings into a running hub, in an order that fails fast.
//!
//! 1. TLS certificate and key, when configured,
//! 2. master key (generating a development key if none is configured),
//! 3. database: open, migrate,
//! 4. key ring: unlock with the master key (created on first start),
//! 5. bind and serve: the API and pages (role `api`), the sync workers and their
//!    scheduler (role `worker`), or both (`all`, the default).
//!
//! Nothing is bound until every step before it has succeeded. On SIGTERM the server
//! drains, workers stop claiming and finish their jobs within the shutdown timeout.

use crate::config::Settings;
use crate::connect::tokens::TokenContext;
use crate::consent::ConsentContext;
use crate::db::{self, Database};
use crate::http::{self, auth::ApiLimiter, metrics::Metrics, AppState};
use crate::keys::{self, KeyRing};
use crate::vendors::Vendors;
use anyhow::Context;
use std::sync::Arc;

/// Open the database and unlock the key ring: what every command needs.
pub fn open_storage(settings: &Settings) -> anyhow::Result<(Database, Arc<KeyRing>)> {
    let master = keys::load_master_key(&settings.master_key)?;
    let (database, applied) = db::open(&settings.database)?;
    if !applied.is_empty() {
        tracing::info!(backend = database.backend_name(), migrations = ?applied, "applied migrations");
    }
    let mut conn = database.conn()?;
    let ring = KeyRing::unlock(&mut conn, master)?;
    Ok((database, Arc::new(ring)))
}

/// What one `serve` process runs; several processes on one PostgreSQL may each
/// run a part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The portal API, FHIR API, consent pages, vendor hooks and the sandbox.
    Api,
    /// Sync workers and the scheduler; HTTP serves only health and metrics.
    Worker,
    All,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Api => "api",
            Role::Worker => "worker",
            Role::All => "all",
        }
    }
    fn serves_api(self) -> bool {
        self != Role::Worker
    }
    fn runs_workers(self) -> bool {
        self != Role::Api
    }
}

/// `tributary serve`: run until SIGTERM or SIGINT.
pub async fn serve(settings: Settings, role: Role) -> anyhow::Result<()> {
    let tls = settings
        .tls
        .as_ref()
        .map(http::tls::server_config)
        .transpose()?;
    let (db, ring) = open_storage(&settings)?;
    let listener = std::net::TcpListener::bind(settings.listen)
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let addr = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let public_url = match &settings.public_url {
        Some(url) => url.clone(),
        None => url::Url::parse(&format!("{scheme}://{addr}")).context("public URL")?,
    };
    let vendors = Arc::new(Vendors::new(public_url.clone(), &settings.sandbox));
    let http_client = crate::connect::oauth::http_client().context("HTTP client")?;
    let tokens = TokenContext {
        db: db.clone(),
        ring: ring.clone(),
        vendors: vendors.clone(),
        http: http_client.clone(),
    };
    let consent = Arc::new(ConsentContext {
        db: db.clone(),
        ring: ring.clone(),
        vendors: vendors.clone(),
        http: http_client,
        settings: settings.connect.clone(),
        secure_cookies: public_url.scheme() == "https",
        sync: Arc::new(settings.sync.clone()),
    });
    let sandbox = settings
        .sandbox
        .enabled
        .then(|| Arc::new(new_sandbox(&settings.sandbox)));
    let metrics = Arc::new(Metrics::new().context("metrics registry")?);
    let sync = crate::sync::SyncContext {
        db: db.clone(),
        ring: ring.clone(),
        vendors: vendors.clone(),
        tokens: tokens.clone(),
        http: crate::connect::oauth::http_client().context("HTTP client")?,
        settings: Arc::new(settings.sync.clone()),
        limits: Arc::new(crate::sync::limits::VendorLimits::shared(db.clone())),
        metrics: metrics.clone(),
        instance: crate::sync::instance_name(),
        db_slots: crate::sync::db_slots(),
        backup: Some(Arc::new(crate::backup::Scheduled {
            db: db.clone(),
            url: settings.database.url.clone(),
            key: ring.backup_key(),
            settings: settings.backup.clone(),
        })),
    };
    let erasure = Arc::new(crate::erasure::Erasure::new(
        settings.erasure_journal.clone(),
        &ring,
        settings
            .public_url
            .as_ref()
            .map(|u| u.as_str().trim_end_matches('/').to_owned()),
    ));
    crate::erasure::install(erasure.clone());
    let (ring_for_monitor, metrics_for_monitor) = (ring.clone(), metrics.clone());
    let vendor_health = vendors.health().clone();
    let state = AppState {
        db: db.clone(),
        ring,
        metrics,
        limiter: Arc::new(ApiLimiter::new(
            settings.api.rate_limit_per_second,
            settings.api.rate_limit_burst,
        )),
        vendors,
        tokens,
        connect: settings.connect.clone(),
        consent,
        sandbox,
        sync: sync.clone(),
        delivery: Arc::new(settings.delivery.clone()),
        erasure,
        monitor: Arc::new(settings.monitor.clone()),
    };
    let server = http::server(
        state,
        listener,
        tls,
        settings.shutdown_timeout,
        role.serves_api(),
    )
    .with_context(|| format!("cannot serve on {addr}"))?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let (mut workers, scheduler) = if role.runs_workers() {
        let scheduler = crate::sync::schedule::start(sync.clone())
            .await
            .context("sync scheduler")?;
        crate::sync::schedule::tick(&sync).await;
        let mut workers = crate::sync::worker::spawn(&sync, &stopped);
        let dispatcher = crate::delivery::dispatch::Dispatcher::new(
            db.clone(),
            sync.ring.clone(),
            Arc::new(settings.delivery.clone()),
            sync.metrics.clone(),
        )
        .context("webhook HTTP client")?;
        let pusher = crate::delivery::fhir_push::Pusher::new(
            db.clone(),
            sync.ring.clone(),
            Arc::new(settings.delivery.clone()),
            sync.metrics.clone(),
        )
        .context("FHIR push HTTP client")?;
        workers.push(tokio::spawn(pusher.run(stopped.clone())));
        // The webhook dispatcher drains with the workers (the last handle).
        workers.push(tokio::spawn(dispatcher.run(stopped.clone())));
        (workers, Some(scheduler))
    } else {
        (Vec::new(), None)
    };
    if settings.monitor.enabled {
        workers.push(tokio::spawn(
            monitor(
                &settings,
                &db,
                &ring_for_monitor,
                &metrics_for_monitor,
                role,
                scheme,
                addr,
            )?
            .watching(vendor_health)
            .run(stopped.clone()),
        ));
    }
    tracing::info!(addr = %addr, scheme, public_url = %public_url, backend = db.backend_name(), sandbox = settings.sandbox.enabled, role = role.as_str(), workers = workers.len().saturating_sub(2), webhooks = role.runs_workers(), "listening");
    let served = server.await.context("server");
    let _ = stop.send(true);
    if let Some(mut scheduler) = scheduler {
        let _ = scheduler.shutdown().await;
    }
    let drained = tokio::time::timeout(settings.shutdown_timeout, async {
        for worker in workers {
            let _ = worker.await;
        }
    })
    .await;
    if drained.is_err() {
        tracing::warn!("workers still busy at the shutdown timeout; their jobs will be taken over when the leases expire");
    }
    served?;
    tracing::info!("stopped");
    Ok(())
}

/// The availability monitor of this process (`ops::monitor`).
fn monitor(
    settings: &Settings,
    db: &crate::db::Database,
    ring: &Arc<KeyRing>,
    metrics: &Arc<Metrics>,
    role: Role,
    scheme: &str,
    addr: std::net::SocketAddr,
) -> anyhow::Result<crate::ops::monitor::Monitor> {
    let m = &settings.monitor;
    let timeout = m.interval.clamp(
        std::time::Duration::from_millis(500),
        std::time::Duration::from_secs(5),
    );
    let checks = crate::ops::checks::Checks {
        db: db.clone(),
        client: crate::ops::checks::Checks::client(timeout).context("monitor HTTP client")?,
        base: format!("{scheme}://{addr}"),
        serves_api: role.serves_api(),
        runs_workers: role.runs_workers(),
        timeout,
    };
    let notifier = crate::ops::notify::Notifier::new(
        &settings.delivery.allow_hosts,
        settings.delivery.timeout,
    )
    .context("incident notice HTTP client")?;
    Ok(crate::ops::monitor::Monitor::new(
        checks,
        ring.clone(),
        m.clone(),
        settings.maintenance.clone(),
        crate::sync::instance_name(),
        notifier,
        metrics.clone(),
    ))
}

/// The sandbox with the configured token lifetime.
pub fn new_sandbox(
    settings: &crate::config::SandboxSettings,
) -> tributary_connectors::sandbox::Sandbox {
    tributary_connectors::sandbox::Sandbox::new(tributary_connectors::sandbox::SandboxConfig {
        access_token_ttl_secs: i64::try_from(settings.access_token_ttl.as_secs()).unwrap_or(3600),
        ..Default::default()
    })
}
