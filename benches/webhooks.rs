//! Webhook delivery throughput: N pending events, then one `tributary serve --role
//! worker` (the release binary) whose dispatcher sends them to a local receiver.
//!
//! ```text
//! cargo bench --bench webhooks -- [--backend sqlite|postgres] [--events N] [--pace P]
//! ```
//!
//! Set-up, untimed: a fresh database, a portal, one endpoint on the receiver, and N
//! members created through the API with the worker role not running (each is a
//! `member.created` event with its delivery pending). Timed: from the worker's
//! start to the receiver holding every event. The receiver (actix-web in this
//! process) answers 204 and counts distinct `webhook-id`s. `--pace` is the
//! endpoint's `delivery.per_endpoint_per_second` (default 5000: the bench measures
//! the dispatcher, not the pacing policy, whose default is 100). Reported:
//! deliveries per second from the worker's start, and from the first arrival.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The fixed master key of the bench (never a real deployment's).
const MASTER_KEY: &str = "YmVuY2gtb25seS1tYXN0ZXIta2V5LTMyLWJ5dGVzISE=";

struct Args {
    backend: String,
    events: usize,
    pace: u32,
}

fn args() -> Args {
    let mut a = Args {
        backend: "sqlite".into(),
        events: 1000,
        pace: 5000,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--backend" => a.backend = value(),
            "--events" => a.events = value().parse().expect("--events: a number"),
            "--pace" => a.pace = value().parse().expect("--pace: a number"),
            "--bench" => {}
            other => panic!("unknown argument {other}"),
        }
    }
    a
}

fn fresh_database(backend: &str, dir: &Path) -> String {
    match backend {
        "postgres" => {
            use diesel::{Connection, RunQueryDsl};
            let admin = std::env::var("TRIBUTARY_TEST_POSTGRES_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
            let mut c = diesel::PgConnection::establish(&admin).expect("PostgreSQL");
            for sql in [
                "DROP DATABASE IF EXISTS tributary_bench_webhooks WITH (FORCE)",
                "CREATE DATABASE tributary_bench_webhooks",
            ] {
                diesel::sql_query(sql).execute(&mut c).expect(sql);
            }
            let mut url = url::Url::parse(&admin).expect("a URL");
            url.set_path("tributary_bench_webhooks");
            url.to_string()
        }
        "sqlite" => format!("sqlite://{}", dir.join("webhooks.db").display()),
        other => panic!("--backend: postgres or sqlite, not {other}"),
    }
}

/// Start `tributary ARGS` and wait for its "listening" line; the child and address.
fn start(dir: &Path, url: &str, args: &[&str]) -> (Child, String) {
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
                if v["message"] == "listening" {
                    let _ = tx.send(v["addr"].as_str().unwrap_or_default().to_owned());
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

/// What the receiver saw: distinct ids, requests, and the first arrival.
#[derive(Default)]
struct Seen {
    ids: HashSet<String>,
    requests: usize,
    first: Option<Instant>,
}

/// A receiver on a free loopback port, in a thread of its own; its port.
fn receiver(seen: Arc<Mutex<Seen>>) -> u16 {
    use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            HttpServer::new(move || {
                let seen = seen.clone();
                App::new().route(
                    "/hook",
                    web::post().to(move |req: HttpRequest, _body: web::Bytes| {
                        let seen = seen.clone();
                        async move {
                            let id = req
                                .headers()
                                .get("webhook-id")
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or_default()
                                .to_owned();
                            let mut s = seen.lock().unwrap();
                            s.first.get_or_insert_with(Instant::now);
                            s.requests += 1;
                            s.ids.insert(id);
                            HttpResponse::NoContent().finish()
                        }
                    }),
                )
            })
            .workers(2)
            .listen(listener)
            .unwrap()
            .run()
            .await
            .unwrap();
        });
    });
    port
}

fn main() {
    let a = args();
    let dir: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench/webhooks");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let url = fresh_database(&a.backend, &dir);
    let seen = Arc::new(Mutex::new(Seen::default()));
    let port = receiver(seen.clone());
    let config = dir.join("bench.toml");
    std::fs::write(
        &config,
        format!(
            "[sandbox]\nenabled = false\n[api]\nrate_limit_per_second = 100000\nrate_limit_burst = 100000\n[delivery]\nallow_hosts = [\"127.0.0.1\"]\nper_endpoint_per_second = {}\n",
            a.pace
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap();

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
    let key = serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["api_key"]
        .as_str()
        .unwrap()
        .to_owned();

    // Untimed: the endpoint and N pending member.created events.
    let (mut api, base) = start(&dir, &url, &["--config", config, "serve", "--role", "api"]);
    let client = reqwest::blocking::Client::new();
    let r = client
        .post(format!("{base}/v1/webhook-endpoints"))
        .bearer_auth(&key)
        .json(&serde_json::json!({"url": format!("http://127.0.0.1:{port}/hook")}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().unwrap());
    let made = Instant::now();
    for i in 0..a.events {
        let r = client
            .post(format!("{base}/v1/members"))
            .bearer_auth(&key)
            .json(&serde_json::json!({"user_key": format!("bench-{i}")}))
            .send()
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    println!(
        "set-up: {} events pending on {} ({:.1} s)",
        a.events,
        a.backend,
        made.elapsed().as_secs_f64()
    );
    let _ = api.kill();
    let _ = api.wait();
    assert_eq!(
        seen.lock().unwrap().requests,
        0,
        "nothing is sent without a worker"
    );

    // Timed: a worker process drains the outbox.
    let t0 = Instant::now();
    let (mut worker, _) = start(
        &dir,
        &url,
        &["--config", config, "serve", "--role", "worker"],
    );
    let deadline = t0 + Duration::from_secs(300);
    loop {
        if seen.lock().unwrap().ids.len() >= a.events {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not every event arrived in 300 s"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    let done = Instant::now();
    let _ = worker.kill();
    let _ = worker.wait();
    let s = seen.lock().unwrap();
    let total = done - t0;
    let sending = done - s.first.unwrap();
    println!(
        "delivered: {} distinct events in {} requests",
        s.ids.len(),
        s.requests
    );
    println!(
        "from the worker's start: {:.2} s, {:.0} deliveries/s",
        total.as_secs_f64(),
        a.events as f64 / total.as_secs_f64()
    );
    println!(
        "from the first arrival:  {:.2} s, {:.0} deliveries/s",
        sending.as_secs_f64(),
        a.events as f64 / sending.as_secs_f64()
    );
}
