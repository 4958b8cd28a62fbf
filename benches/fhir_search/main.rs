//! Search at scale: `Observation?patient=…&code=…&date=ge…&date=le…` over 30 days,
//! from many concurrent clients, against the real `tributary serve` (a separate
//! process, release build) on PostgreSQL or SQLite, decryption included.
//!
//! ```text
//! cargo bench --bench fhir_search -- [--backend postgres|sqlite] [--members N]
//!     [--days D] [--clients C] [--seconds S] [--rate R] [--pool-size N]
//!     [--ingest-every MS] [--reload]
//! ```
//!
//! Defaults follow issue 5: PostgreSQL with 1,000 members × 365 days × 10 metrics
//! (≈ 3.65 M observations); SQLite with 274 members (≈ 1 M). The data set is loaded
//! once through the hub's own normaliser and store (sealed with each member's data
//! key) and kept for later runs: PostgreSQL database `tributary_bench_search`, SQLite
//! file `target/bench/search.db`; `--reload` builds it again.
//!
//! On PostgreSQL the report gives `shared_buffers` beside the size of what the search
//! reads: with the default 128 MB most page reads are copies from the OS cache, and
//! the tail latency shows it (README, PostgreSQL).
//!
//! `--ingest-every MS` writes while the search runs, as a sync does: every MS
//! milliseconds one member's ten values of a day change (ten commits, from another
//! process). On SQLite each commit makes every pooled connection of the hub drop
//! its memory map at its next read, so this is the case that shows the cost.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod client;
mod load;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The fixed master key of the bench data set (never a real deployment's).
const MASTER_KEY: &str = "YmVuY2gtb25seS1tYXN0ZXIta2V5LTMyLWJ5dGVzISE=";

struct Args {
    backend: String,
    members: usize,
    days: u32,
    clients: usize,
    seconds: u64,
    reload: bool,
    /// `[database] pool_size` of the hub; `None`: the hub's default.
    pool_size: Option<u32>,
    /// Open loop at this many requests/s in all; `None`: closed loop.
    rate: Option<f64>,
    /// Write while searching, every this many milliseconds; `None`: no writes.
    ingest_every: Option<u64>,
}

fn args() -> Args {
    let mut a = Args {
        backend: "postgres".into(),
        members: 0,
        days: 365,
        clients: 32,
        seconds: 30,
        reload: false,
        pool_size: None,
        rate: None,
        ingest_every: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--backend" => a.backend = value(),
            "--members" => a.members = value().parse().expect("--members: a number"),
            "--days" => a.days = value().parse().expect("--days: a number"),
            "--clients" => a.clients = value().parse().expect("--clients: a number"),
            "--seconds" => a.seconds = value().parse().expect("--seconds: a number"),
            "--reload" => a.reload = true,
            "--rate" => a.rate = Some(value().parse().expect("--rate: requests per second")),
            "--ingest-every" => {
                a.ingest_every = Some(value().parse().expect("--ingest-every: milliseconds"));
            }
            "--pool-size" => a.pool_size = Some(value().parse().expect("--pool-size: a number")),
            "--bench" => {} // cargo bench passes this to harness = false targets
            other => panic!("unknown argument {other}"),
        }
    }
    if a.members == 0 {
        a.members = if a.backend == "sqlite" { 274 } else { 1000 };
    }
    a
}

fn database_url(backend: &str) -> String {
    match backend {
        "postgres" => {
            let admin = std::env::var("TRIBUTARY_TEST_POSTGRES_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
            // Same server and options (`?sslmode=…`), the bench's own database.
            let mut url = url::Url::parse(&admin).expect("TRIBUTARY_TEST_POSTGRES_URL: a URL");
            url.set_path("tributary_bench_search");
            url.to_string()
        }
        "sqlite" => {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench");
            std::fs::create_dir_all(&dir).expect("target/bench");
            format!("sqlite://{}", dir.join("search.db").display())
        }
        other => panic!("--backend: postgres or sqlite, not {other}"),
    }
}

/// `tributary serve` on a free port, with a rate limit that does not throttle the run.
fn start_hub(url: &str, pool_size: Option<u32>) -> (Child, String) {
    let dir = std::env::temp_dir().join(format!("tributary-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let config = dir.join("bench.toml");
    let mut text =
        "[api]\nrate_limit_per_second = 1000000\nrate_limit_burst = 1000000\n".to_owned();
    if let Some(n) = pool_size {
        text.push_str(&format!("[database]\npool_size = {n}\n"));
    }
    std::fs::write(&config, text).expect("the bench config");
    let mut child = Command::new(env!("CARGO_BIN_EXE_tributary"))
        .current_dir(&dir)
        .args(["--config", &config.to_string_lossy(), "serve"])
        .env("TRIBUTARY_DATABASE_URL", url)
        .env("TRIBUTARY_MASTER_KEY", MASTER_KEY)
        .env("TRIBUTARY_LISTEN", "127.0.0.1:0")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tributary serve");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) {
                if v["message"] == "listening" {
                    let _ = tx.send(v["addr"].as_str().unwrap_or_default().to_owned());
                }
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(120))
        .expect("the hub did not start");
    (child, format!("http://{addr}"))
}

/// (VmRSS, VmHWM, RssAnon) of a process, in MiB. SQLite's memory map counts in
/// VmRSS as shared file pages (once per pooled connection that touched them);
/// RssAnon is the process's own memory.
fn memory_mib(pid: u32) -> (f64, f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"), field("RssAnon:"))
}

fn main() {
    let a = args();
    let url = database_url(&a.backend);
    let started = Instant::now();
    let set = load::ensure(&url, &a.backend, a.members, a.days, a.reload, MASTER_KEY);
    println!(
        "data set: {} members × {} days × {} metrics = {} observations ({}; ready in {:.0?})",
        set.members.len(),
        a.days,
        load::METRICS.len(),
        set.observations,
        a.backend,
        started.elapsed()
    );

    let (mut hub, base) = start_hub(&url, a.pool_size);
    let pid = hub.id();
    let (rss_idle, _, anon_idle) = memory_mib(pid);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = a.ingest_every.map(|ms| {
        let (url, stop) = (url.clone(), stop.clone());
        let set = load::DataSet {
            api_key: String::new(),
            members: set.members.clone(),
            first_day: set.first_day,
            observations: set.observations,
        };
        let days = a.days;
        std::thread::spawn(move || {
            load::ingest_while(
                &url,
                MASTER_KEY,
                &set,
                days,
                Duration::from_millis(ms),
                &stop,
            )
        })
    });
    let first_day = set.first_day;
    let days = a.days;
    let members = Arc::new(set.members);
    let next_url = Arc::new(move |client: usize, n: u64| {
        // A cheap deterministic spread over members, metrics and 30-day windows.
        let h = (client as u64)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add(n.wrapping_mul(0xBF58_476D_1CE4_E5B9));
        let h = h ^ (h >> 31);
        let member = &members[(h % members.len() as u64) as usize];
        let (_, code) = load::METRICS[((h >> 17) % load::METRICS.len() as u64) as usize];
        let offset = (h >> 33) % u64::from(days.saturating_sub(30).max(1));
        let from = first_day + chrono::Days::new(offset);
        let to = from + chrono::Days::new(29);
        format!(
            "{base}/fhir/r4/Observation?patient={member}&code=http://loinc.org%7C{code}&date=ge{from}&date=le{to}"
        )
    });
    let figures = client::run(
        &set.api_key,
        a.clients,
        Duration::from_secs(5),
        Duration::from_secs(a.seconds),
        a.rate,
        next_url,
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let writes = writer.map(|w| w.join().expect("the writer"));
    let (rss, hwm, anon) = memory_mib(pid);
    let _ = hub.kill();
    let _ = hub.wait();

    let mode = a.rate.map_or("closed loop".to_owned(), |r| {
        format!("open loop at {r:.0}/s")
    });
    println!(
        "search, {} clients, {mode}, {:.0?}: {} requests, {} errors, {:.0} requests/s",
        a.clients,
        figures.elapsed,
        figures.requests,
        figures.errors,
        figures.per_second()
    );
    println!(
        "latency: p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms; {:.1} entries per answer",
        ms(figures.percentile(50.0)),
        ms(figures.percentile(90.0)),
        ms(figures.percentile(99.0)),
        ms(figures.percentile(100.0)),
        figures.entries as f64 / figures.latencies.len().max(1) as f64
    );
    if let Some((n, slowest)) = writes {
        println!(
            "writes while searching: {n} (10 commits each), slowest {:.1} ms",
            ms(slowest)
        );
    }
    if a.backend == "postgres" {
        println!("{}", load::postgres_buffers(&url));
    }
    println!(
        "server memory: RSS {rss_idle:.0} MiB idle, {rss:.0} MiB after the run, peak {hwm:.0} MiB; \
         anonymous (own) {anon_idle:.0} MiB idle, {anon:.0} MiB after the run"
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
