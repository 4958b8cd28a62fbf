//! `tributary probe --url URL`: the monitor's checks from outside — the API
//! answers (`/healthz`), the database reads (`/readyz`), the consent page and the
//! status page render. Exit 1 when any fails.
//!
//! [`core`] is the part that says whether a hub serves (API, database, consent
//! page); the monitor uses it on its `[monitor] peers`.

use serde::Serialize;
use std::time::Duration;

#[derive(Debug, Serialize)]
pub struct Probe {
    pub up: bool,
    pub failed: Vec<&'static str>,
}

/// `GET base+path`: the status and the body, or `None` without an answer.
async fn get(client: &reqwest::Client, base: &str, path: &str) -> Option<(u16, String)> {
    match client.get(format!("{base}{path}")).send().await {
        Ok(r) => Some((r.status().as_u16(), r.text().await.unwrap_or_default())),
        Err(_) => None,
    }
}

/// The core functions of the hub at `base` (no trailing `/`), checked at once: the
/// names of those that failed. Empty: the hub serves.
pub async fn core(client: &reqwest::Client, base: &str) -> Vec<&'static str> {
    let (api, database, page) = tokio::join!(
        get(client, base, "/healthz"),
        get(client, base, "/readyz"),
        get(client, base, "/connect"),
    );
    let mut failed = Vec::new();
    if !matches!(api, Some((200, _))) {
        failed.push("api");
    }
    if !matches!(database, Some((200, _))) {
        failed.push("database");
    }
    if !matches!(page, Some((s, b)) if s < 500 && b.contains("<html")) {
        failed.push("consent_page");
    }
    failed
}

pub fn run(base: &str, timeout: Duration) -> anyhow::Result<Probe> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let client = super::checks::Checks::client(timeout)?;
    let base = base.trim_end_matches('/').to_owned();
    let failed = rt.block_on(async move {
        let mut failed = core(&client, &base).await;
        if !matches!(get(&client, &base, "/status").await, Some((200, b)) if b.contains("<svg")) {
            failed.push("status_page");
        }
        failed
    });
    Ok(Probe {
        up: failed.is_empty(),
        failed,
    })
}
