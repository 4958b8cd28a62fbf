//! The core checks of one monitor round, run inside each `serve` process:
//!
//! - `api`: the process's own `GET /healthz` answers 200 over its listening socket
//!   (so a wedged HTTP server is seen, not only a live tokio runtime);
//! - `consent_page`: `GET /connect` renders an HTML page (API roles only);
//! - `database`: the readiness check (a pooled connection answers, migrations are
//!   current; on SQLite the file is there) — the write half is the monitor writing
//!   its samples, and a failed write marks the round's sample failed too;
//! - `workers`: no queued job has been due for more than ten minutes (roles that run
//!   workers; skipped when the database failed, whose failure it would only repeat).

use crate::db::Database;
use std::time::Duration;

/// How late a queued job may be before the workers count as stuck.
const STUCK_AFTER: chrono::TimeDelta = chrono::TimeDelta::minutes(10);

/// What one process checks and how.
#[derive(Clone)]
pub struct Checks {
    pub db: Database,
    pub client: reqwest::Client,
    /// `http(s)://addr` of this process.
    pub base: String,
    pub serves_api: bool,
    pub runs_workers: bool,
    pub timeout: Duration,
}

/// The user agent of the monitor's and the probe's requests.
pub const MONITOR_AGENT: &str = "tributary-monitor";

impl Checks {
    pub fn client(timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
        reqwest::Client::builder()
            .user_agent(MONITOR_AGENT)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            // The hub checks itself on loopback; its certificate names the public host.
            .danger_accept_invalid_certs(true)
            .timeout(timeout)
            .build()
    }

    /// Run every check; the names of those that failed.
    pub async fn run(&self) -> (Vec<String>, bool) {
        let mut failed = Vec::new();
        let (api, page, database) = tokio::join!(
            self.get_ok("/healthz", false),
            async {
                if self.serves_api {
                    self.get_ok("/connect", true).await
                } else {
                    true
                }
            },
            self.database(),
        );
        if !api {
            failed.push("api".to_owned());
        }
        if !page {
            failed.push("consent_page".to_owned());
        }
        if !database {
            failed.push("database".to_owned());
        } else if self.runs_workers && !self.workers().await {
            failed.push("workers".to_owned());
        }
        (failed, database)
    }

    async fn get_ok(&self, path: &str, page: bool) -> bool {
        let Ok(res) = self.client.get(format!("{}{path}", self.base)).send().await else {
            return false;
        };
        let status = res.status();
        if !page {
            return status.is_success();
        }
        let html = res
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/html"));
        let body = res.text().await.unwrap_or_default();
        status.as_u16() < 500 && html && body.contains("<html")
    }

    async fn database(&self) -> bool {
        let (db, timeout) = (self.db.clone(), self.timeout);
        tokio::task::spawn_blocking(move || db.check_ready(timeout).is_ok())
            .await
            .unwrap_or(false)
    }

    async fn workers(&self) -> bool {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || -> Option<bool> {
            use crate::db::schema::jobs;
            use diesel::prelude::*;
            let mut conn = db.conn().ok()?;
            let late = crate::store::events::now() - STUCK_AFTER;
            let n: i64 = jobs::table
                .filter(jobs::state.eq(crate::store::jobs::QUEUED))
                .filter(jobs::run_at.lt(late))
                .count()
                .get_result(&mut conn)
                .ok()?;
            Some(n == 0)
        })
        .await
        .ok()
        .flatten()
        .unwrap_or(false)
    }
}
