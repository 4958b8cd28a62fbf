//! End-to-end ingest: the sandbox's demo vendor over loopback HTTP → sync workers →
//! parse, normalise, seal, index → PostgreSQL or SQLite. Everything is the release
//! binary: `tributary sandbox`, then `tributary serve --role api` while the members
//! connect through the real consent page and OAuth flow (which plans their
//! backfills), then, timed, one `tributary serve --role worker` that runs the queue
//! empty.
//!
//! ```text
//! cargo bench --bench sync_ingest -- [--backend postgres|sqlite] [--members N]
//!     [--days D] [--workers K]
//! ```
//!
//! Defaults: PostgreSQL, 300 members × 30 days (heart rate every 15 minutes from
//! 06:00 to 22:00 and daily steps: about 585,000 observations), 64 workers (each
//! job waits about a second between calls for the demo vendor's per-user quota of
//! 60 a minute, so throughput needs many jobs at once), one backfill window per
//! data type. Reported: observations per second, the worker's
//! peak RSS, and CPU seconds per 1,000 observations of the worker and of the
//! sandbox (read from /proc).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/common/browser.rs"]
mod browser;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Why jobs were retried or postponed during the run, with counts.
static NOT_DONE: std::sync::Mutex<std::collections::BTreeMap<String, usize>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());

/// How long each successful job ran, in ms (the worker's "job done" lines).
static DONE_MS: std::sync::Mutex<Vec<u64>> = std::sync::Mutex::new(Vec::new());

/// The fixed master key of the bench (never a real deployment's).
const MASTER_KEY: &str = "YmVuY2gtb25seS1tYXN0ZXIta2V5LTMyLWJ5dGVzISE=";

struct Args {
    backend: String,
    members: usize,
    days: u32,
    workers: u32,
}

fn args() -> Args {
    let mut a = Args {
        backend: "postgres".into(),
        members: 300,
        days: 30,
        workers: 64,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--backend" => a.backend = value(),
            "--members" => a.members = value().parse().expect("--members: a number"),
            "--days" => a.days = value().parse().expect("--days: a number"),
            "--workers" => a.workers = value().parse().expect("--workers: a number"),
            "--bench" => {}
            other => panic!("unknown argument {other}"),
        }
    }
    a
}

fn bench_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench/ingest");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("target/bench/ingest");
    dir
}

/// A fresh database for the run; its URL.
fn fresh_database(backend: &str, dir: &Path) -> String {
    match backend {
        "postgres" => {
            use diesel::{Connection, RunQueryDsl};
            let admin = std::env::var("TRIBUTARY_TEST_POSTGRES_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
            let mut c = diesel::PgConnection::establish(&admin).expect("PostgreSQL");
            diesel::sql_query("DROP DATABASE IF EXISTS tributary_bench_ingest WITH (FORCE)")
                .execute(&mut c)
                .expect("drop");
            diesel::sql_query("CREATE DATABASE tributary_bench_ingest")
                .execute(&mut c)
                .expect("create");
            let mut url = url::Url::parse(&admin).expect("a URL");
            url.set_path("tributary_bench_ingest");
            url.to_string()
        }
        "sqlite" => format!("sqlite://{}", dir.join("ingest.db").display()),
        other => panic!("--backend: postgres or sqlite, not {other}"),
    }
}

/// Start a `tributary` command and wait for the log line `message`; the child and
/// the address it logged.
fn start(dir: &Path, url: &str, args: &[&str], message: &'static str) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tributary"))
        .current_dir(dir)
        .args(args)
        .env("TRIBUTARY_DATABASE_URL", url)
        .env("TRIBUTARY_MASTER_KEY", MASTER_KEY)
        .env("TRIBUTARY_LISTEN", "127.0.0.1:0")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tributary");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) {
                if v["message"] == message {
                    let _ = tx.send(v["addr"].as_str().unwrap_or_default().to_owned());
                }
                if v["message"] == "job done" {
                    let ms = v["ms"].as_u64().unwrap_or_default();
                    let mut d = DONE_MS.lock().unwrap_or_else(|e| e.into_inner());
                    d.push(ms);
                } else if v["message"] == "job not done" {
                    let reason = v["reason"].as_str().unwrap_or_default().to_owned();
                    let mut n = NOT_DONE.lock().unwrap_or_else(|e| e.into_inner());
                    *n.entry(reason).or_default() += 1;
                } else if v["level"] == "WARN" || v["level"] == "ERROR" {
                    eprintln!("{line}");
                }
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(120))
        .unwrap_or_else(|_| panic!("{args:?} did not start"));
    (child, format!("http://{addr}"))
}

/// Connect `member` as sandbox user `user` through the consent page and the
/// sandbox's authorization page, as a member's browser would.
fn connect(hub: &str, key: &str, member: &str, user: &str) {
    let api = reqwest::blocking::Client::new();
    let r = api
        .post(format!("{hub}/v1/members"))
        .bearer_auth(key)
        .json(&serde_json::json!({"user_key": member}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    let link: serde_json::Value = api
        .post(format!("{hub}/v1/members/{member}/connect-sessions"))
        .bearer_auth(key)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let b = browser::Browser::new();
    assert_eq!(b.get(link["url"].as_str().unwrap()).status, 303);
    let page = b.get(&format!("{hub}/connect"));
    let go = b.submit(
        &format!("{hub}/connect"),
        &page,
        "/connect/demo/authorize",
        Some(("data_type", &["steps", "heart_rate"])),
        None,
    );
    let authorize = go.location.unwrap();
    let approve = b.get(&authorize);
    let back = b.submit(
        &authorize,
        &approve,
        "authorize",
        Some(("sandbox_user", &[user])),
        Some(("decision", "approve")),
    );
    let done = b.get(&back.location.unwrap());
    assert_eq!(done.status, 303, "{}", done.body);
}

/// (user + system CPU seconds, peak RSS MiB) of a process.
fn usage(pid: u32) -> (f64, f64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which is in parentheses): utime is the 14th
    // field of the line, stime the 15th.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let hz = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .unwrap_or(100.0);
    let cpu = (ticks(11) + ticks(12)) / hz;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let hwm = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0);
    (cpu, hwm)
}

/// (busy, total) CPU time of the whole machine, in seconds, from /proc/stat.
fn machine_cpu() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let line = stat.lines().next().unwrap_or_default();
    let v: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    let get = |i: usize| v.get(i).copied().unwrap_or(0.0);
    // user nice system idle iowait irq softirq steal
    let idle = get(3) + get(4);
    let total: f64 = v.iter().take(8).sum();
    (total - idle, total)
}

/// The bench's one database connection, for progress and the final counts.
enum Db {
    Pg(diesel::PgConnection),
    Lite(diesel::SqliteConnection),
}

impl Db {
    fn open(url: &str) -> Self {
        use diesel::Connection;
        match url.strip_prefix("sqlite://") {
            Some(path) => Db::Lite(diesel::SqliteConnection::establish(path).expect("SQLite")),
            None => Db::Pg(diesel::PgConnection::establish(url).expect("PostgreSQL")),
        }
    }

    fn count(&mut self, sql: &str) -> i64 {
        use diesel::sql_types::BigInt;
        use diesel::{QueryableByName, RunQueryDsl};
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = BigInt)]
            n: i64,
        }
        let q = diesel::sql_query(sql);
        let n: N = match self {
            Db::Pg(c) => q.get_result(c),
            Db::Lite(c) => q.get_result(c),
        }
        .expect(sql);
        n.n
    }
}

fn main() {
    let a = args();
    let dir = bench_dir();
    let url = fresh_database(&a.backend, &dir);
    let (mut sandbox, sandbox_url) = start(
        &dir,
        &url,
        &["sandbox", "--listen", "127.0.0.1:0"],
        "sandbox listening",
    );
    let sandbox_pid = sandbox.id();
    std::fs::write(
        dir.join("bench.toml"),
        format!(
            "[api]\nrate_limit_per_second = 1000000\nrate_limit_burst = 1000000\n\
             [sandbox]\nurl = \"{sandbox_url}\"\n\
             [sync]\nbackfill_days = {days}\nbackfill_window_days = {days}\nworkers = {workers}\n\
             poll_interval_ms = 50\n\
             [database]\npool_size = {pool}\n",
            days = a.days,
            workers = a.workers,
            pool = a.workers + 4,
        ),
    )
    .expect("the bench config");
    let config = dir.join("bench.toml");
    let config = config.to_str().expect("a path");

    let out = Command::new(env!("CARGO_BIN_EXE_tributary"))
        .current_dir(&dir)
        .args(["--config", config, "portal", "create", "--name", "bench"])
        .env("TRIBUTARY_DATABASE_URL", &url)
        .env("TRIBUTARY_MASTER_KEY", MASTER_KEY)
        .output()
        .expect("portal create");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let portal: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let key = portal["api_key"].as_str().expect("api_key").to_owned();

    let started = Instant::now();
    let (mut api, api_url) = start(
        &dir,
        &url,
        &["--config", config, "serve", "--role", "api"],
        "listening",
    );
    for m in 0..a.members {
        connect(&api_url, &key, &format!("m{m:05}"), &format!("u{m:05}"));
    }
    let _ = api.kill();
    let _ = api.wait();
    println!(
        "{} members connected through the consent page in {:.1?} ({} backend)",
        a.members,
        started.elapsed(),
        a.backend
    );

    let (sandbox_cpu_before, _) = usage(sandbox_pid);
    let machine_before = machine_cpu();
    let started = Instant::now();
    let (mut worker, _) = start(
        &dir,
        &url,
        &["--config", config, "serve", "--role", "worker"],
        "listening",
    );
    let pid = worker.id();
    // One cheap query a quarter second (an index range of unfinished jobs); the
    // observations are counted once, at the end.
    let mut db = Db::open(&url);
    loop {
        std::thread::sleep(Duration::from_millis(250));
        let pending =
            db.count("SELECT count(*) AS n FROM jobs WHERE state IN ('queued', 'running')");
        if pending == 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(1800),
            "not done in 30 minutes"
        );
    }
    let elapsed = started.elapsed();
    let machine_after = machine_cpu();
    let (cpu, hwm) = usage(pid);
    let (sandbox_cpu, _) = usage(sandbox_pid);
    let stored = db.count("SELECT count(*) AS n FROM observations");
    let failed = db.count("SELECT count(*) AS n FROM jobs WHERE state = 'failed'");
    let _ = worker.kill();
    let _ = worker.wait();
    let _ = sandbox.kill();
    let _ = sandbox.wait();
    let per_k = |seconds: f64| seconds / (stored.max(1) as f64 / 1000.0);
    let hz = 100.0; // /proc/stat counts in USER_HZ, 100 on Linux
    let (busy, total) = (
        (machine_after.0 - machine_before.0) / hz,
        (machine_after.1 - machine_before.1) / hz,
    );
    println!(
        "ingest: {stored} observations in {:.1?} = {:.0} observations/s ({} workers; {failed} failed jobs)",
        elapsed,
        stored as f64 / elapsed.as_secs_f64(),
        a.workers
    );
    {
        let mut d = DONE_MS.lock().unwrap_or_else(|e| e.into_inner()).clone();
        d.sort_unstable();
        if !d.is_empty() {
            println!(
                "  jobs: {} done; run time p50 {} ms, p90 {} ms, max {} ms",
                d.len(),
                d[d.len() / 2],
                d[d.len() * 9 / 10],
                d[d.len() - 1]
            );
        }
    }
    for (reason, n) in NOT_DONE.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        println!("  job not done {n}×: {reason}");
    }
    println!(
        "worker: peak RSS {hwm:.0} MiB, CPU {cpu:.1} s = {:.3} CPU s per 1,000 observations; \
         sandbox: {:.3} CPU s per 1,000",
        per_k(cpu),
        per_k(sandbox_cpu - sandbox_cpu_before)
    );
    println!(
        "machine: CPU busy {:.0} % of the run ({busy:.1} of {total:.1} CPU s, database included) \
         = {:.3} CPU s per 1,000 observations in all",
        100.0 * busy / total.max(f64::MIN_POSITIVE),
        per_k(busy)
    );
}
