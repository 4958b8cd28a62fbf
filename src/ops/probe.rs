//! `tributary probe --url URL`: the monitor's checks from outside — the API
//! answers (`/healthz`), the database reads (`/readyz`), the consent page and the
//! status page render. Exit 1 when any fails.

use serde::Serialize;
use std::time::Duration;

#[derive(Debug, Serialize)]
pub struct Probe {
    pub up: bool,
    pub failed: Vec<&'static str>,
}

pub fn run(base: &str, timeout: Duration) -> anyhow::Result<Probe> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let client = super::checks::Checks::client(timeout)?;
    let base = base.trim_end_matches('/').to_owned();
    let failed = rt.block_on(async move {
        let mut failed = Vec::new();
        let get = |path: &'static str| {
            let (client, url) = (client.clone(), format!("{base}{path}"));
            async move {
                match client.get(url).send().await {
                    Ok(r) => Some((r.status().as_u16(), r.text().await.unwrap_or_default())),
                    Err(_) => None,
                }
            }
        };
        if !matches!(get("/healthz").await, Some((200, _))) {
            failed.push("api");
        }
        if !matches!(get("/readyz").await, Some((200, _))) {
            failed.push("database");
        }
        if !matches!(get("/connect").await, Some((s, b)) if s < 500 && b.contains("<html")) {
            failed.push("consent_page");
        }
        if !matches!(get("/status").await, Some((200, b)) if b.contains("<svg")) {
            failed.push("status_page");
        }
        failed
    });
    Ok(Probe {
        up: failed.is_empty(),
        failed,
    })
}
