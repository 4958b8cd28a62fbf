//! The load generator: `clients` concurrent keep-alive HTTP clients, each sending
//! one request after another for a fixed time, every latency recorded.
//!
//! Closed loop (no rate): each client sends its next request when the last one is
//! answered, so the server is always saturated and latency is mostly queueing (with
//! 32 in flight, latency = 32 / throughput). Open loop (`rate`, requests/s in all):
//! each client sends on a fixed schedule, and latency counts from the scheduled
//! time, so a slow answer also charges the requests it delayed (no coordinated
//! omission, as wrk2 measures).
//!
//! One current-thread runtime drives all clients, so the client takes as little of
//! the machine's two cores from the server as it can.

use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a run measured.
pub struct Figures {
    pub requests: usize,
    pub errors: usize,
    pub elapsed: Duration,
    /// Sorted latencies of the successful requests.
    pub latencies: Vec<Duration>,
    /// Entries in the searchset Bundles, summed (to show the answers were not empty).
    pub entries: usize,
}

impl Figures {
    pub fn percentile(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((p / 100.0) * self.latencies.len() as f64).ceil() as usize;
        self.latencies[rank.clamp(1, self.latencies.len()) - 1]
    }

    pub fn per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }
}

/// Send requests built by `next_url(client index, request number)` from `clients`
/// clients for `duration`, after a warm-up of `warmup`.
pub fn run(
    api_key: &str,
    clients: usize,
    warmup: Duration,
    duration: Duration,
    rate: Option<f64>,
    next_url: Arc<dyn Fn(usize, u64) -> String + Send + Sync>,
) -> Figures {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    rt.block_on(async move {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(clients)
            .timeout(Duration::from_secs(30))
            .build()
            .expect("an HTTP client");
        let auth = format!("Bearer {api_key}");
        // Warm-up: connections opened, caches and pools filled; not measured.
        let _ = phase(&http, &auth, clients, warmup, rate, next_url.clone()).await;
        phase(&http, &auth, clients, duration, rate, next_url).await
    })
}

async fn phase(
    http: &reqwest::Client,
    auth: &str,
    clients: usize,
    duration: Duration,
    rate: Option<f64>,
    next_url: Arc<dyn Fn(usize, u64) -> String + Send + Sync>,
) -> Figures {
    let start = Instant::now();
    // Open loop: client `c` sends its n-th request at `start + (c / clients + n) ×
    // interval`, the clients' schedules spread evenly over one interval.
    let interval = rate.map(|r| Duration::from_secs_f64(clients as f64 / r));
    let deadline = start + duration;
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let http = http.clone();
            let auth = auth.to_owned();
            let next_url = next_url.clone();
            async move {
                let mut latencies = Vec::new();
                let (mut errors, mut entries, mut n) = (0usize, 0usize, 0u64);
                loop {
                    let sent = match interval {
                        Some(i) => {
                            let at =
                                start + i.mul_f64(c as f64 / clients as f64) + i.mul_f64(n as f64);
                            tokio::time::sleep_until(at.into()).await;
                            at
                        }
                        None => Instant::now(),
                    };
                    if sent >= deadline {
                        break;
                    }
                    let url = next_url(c, n);
                    n += 1;
                    let answer = http.get(&url).header("Authorization", &auth).send().await;
                    let ok = match answer {
                        Ok(r) if r.status().is_success() => match r.bytes().await {
                            Ok(body) => {
                                entries += count_entries(&body);
                                true
                            }
                            Err(_) => false,
                        },
                        Ok(r) => {
                            if errors == 0 {
                                eprintln!("first error: {} for {url}", r.status());
                            }
                            false
                        }
                        Err(e) => {
                            if errors == 0 {
                                eprintln!("first error: {e}");
                            }
                            false
                        }
                    };
                    if ok {
                        latencies.push(sent.elapsed());
                    } else {
                        errors += 1;
                    }
                }
                (latencies, errors, entries)
            }
        })
        .map(tokio::spawn)
        .collect();
    let mut results = Vec::with_capacity(clients);
    for task in tasks {
        results.push(task.await.expect("a client task"));
    }
    let elapsed = start.elapsed();
    let mut figures = Figures {
        requests: 0,
        errors: 0,
        elapsed,
        latencies: Vec::new(),
        entries: 0,
    };
    for (latencies, errors, entries) in results {
        figures.requests += latencies.len() + errors;
        figures.errors += errors;
        figures.entries += entries;
        figures.latencies.extend(latencies);
    }
    figures.latencies.sort_unstable();
    figures
}

/// Entries in a searchset Bundle, counted without parsing the resources.
fn count_entries(body: &[u8]) -> usize {
    #[derive(serde::Deserialize)]
    struct Bundle {
        #[serde(default)]
        entry: Vec<serde::de::IgnoredAny>,
    }
    serde_json::from_slice::<Bundle>(body).map_or(0, |b| b.entry.len())
}
