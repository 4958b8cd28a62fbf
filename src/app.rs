//! Start-up: turn validated settings into a running hub, in an order that fails fast.
//!
//! 1. TLS certificate and key, when configured,
//! 2. master key (generating a development key if none is configured),
//! 3. database: open, migrate,
//! 4. key ring: unlock with the master key (created on first start),
//! 5. bind and serve.
//!
//! Nothing is bound until every step before it has succeeded.

use crate::config::Settings;
use crate::db::{self, Database};
use crate::http::{self, auth::ApiLimiter, metrics::Metrics, AppState};
use crate::keys::{self, KeyRing};
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

/// `tributary serve`: run until SIGTERM or SIGINT.
pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    let tls = settings
        .tls
        .as_ref()
        .map(http::tls::server_config)
        .transpose()?;
    let (db, ring) = open_storage(&settings)?;
    let state = AppState {
        db: db.clone(),
        ring,
        metrics: Arc::new(Metrics::new().context("metrics registry")?),
        limiter: Arc::new(ApiLimiter::new(
            settings.api.rate_limit_per_second,
            settings.api.rate_limit_burst,
        )),
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let (server, addr) = http::server(state, settings.listen, tls, settings.shutdown_timeout)
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    tracing::info!(addr = %addr, scheme, backend = db.backend_name(), "listening");
    server.await.context("server")?;
    tracing::info!("stopped");
    Ok(())
}
