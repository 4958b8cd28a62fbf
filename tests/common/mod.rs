//! Test harness: a fresh database per test on either backend, the real `tributary`
//! binary started on a free port, and a macro that runs a test on both backends.
//!
//! PostgreSQL is reached at `TRIBUTARY_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`); each test creates its own
//! database there and drops it afterwards. PostgreSQL tests fail (never skip) when
//! the server is down: `.ci/run` starts it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod browser;
pub mod demo;
pub mod outage;
pub mod receiver;
pub mod webdriver;

use base64::Engine;
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, RunQueryDsl};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;
use tributary::config::{Overrides, Settings};
use tributary::db::{AnyConnection, Database};
use tributary::keys::KeyRing;

/// Runs each test body once on SQLite and once on PostgreSQL, as `NAME::sqlite` and
/// `NAME::postgres`.
#[macro_export]
macro_rules! on_both_backends {
    ($(fn $name:ident($db:ident: TestDb) $body:block)*) => {$(
        mod $name {
            use super::*;
            fn body($db: TestDb) $body
            #[test]
            fn sqlite() {
                body(TestDb::new(Backend::Sqlite))
            }
            #[test]
            fn postgres() {
                body(TestDb::new(Backend::Postgres))
            }
        }
    )*};
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The master key every test uses unless it tests keys themselves.
pub fn test_master_key() -> String {
    base64::engine::general_purpose::STANDARD.encode([42u8; 32])
}

pub fn other_master_key() -> String {
    base64::engine::general_purpose::STANDARD.encode([7u8; 32])
}

pub fn admin_url() -> String {
    std::env::var("TRIBUTARY_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

pub fn admin_conn() -> PgConnection {
    PgConnection::establish(&admin_url()).unwrap_or_else(|e| {
        panic!("PostgreSQL for tests is not reachable at TRIBUTARY_TEST_POSTGRES_URL (start it, see .ci/run): {e}")
    })
}

/// A fresh, empty database and a temporary working directory.
pub struct TestDb {
    pub backend: Backend,
    pub dir: tempfile::TempDir,
    url: String,
    pg_name: Option<String>,
}

impl TestDb {
    pub fn new(backend: Backend) -> Self {
        let dir = tempfile::tempdir().unwrap();
        match backend {
            Backend::Sqlite => {
                let url = format!(
                    "sqlite://{}",
                    dir.path().join("data/tributary.db").display()
                );
                Self {
                    backend,
                    dir,
                    url,
                    pg_name: None,
                }
            }
            Backend::Postgres => {
                let name = format!("tributary_test_{}", uuid::Uuid::new_v4().simple());
                admin_conn()
                    .batch_execute(&format!("CREATE DATABASE {name}"))
                    .unwrap();
                let mut url = url::Url::parse(&admin_url()).unwrap();
                url.set_path(&name);
                Self {
                    backend,
                    dir,
                    url: url.to_string(),
                    pg_name: Some(name),
                }
            }
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The SQLite file, for SQLite databases.
    pub fn sqlite_file(&self) -> PathBuf {
        self.dir.path().join("data/tributary.db")
    }

    pub fn pg_name(&self) -> &str {
        self.pg_name.as_deref().expect("a PostgreSQL database")
    }

    pub fn settings(&self, master_key: &str) -> Settings {
        let overrides = Overrides {
            config_file: Some(self.write_config("")),
            database_url: Some(self.url.clone()),
        };
        let key = master_key.to_owned();
        Settings::load_with(&overrides, move |k| {
            (k == "TRIBUTARY_MASTER_KEY").then(|| key.clone())
        })
        .unwrap()
    }

    /// Open the database in-process (migrating it) and unlock the ring.
    pub fn open(&self, master_key: &str) -> (Database, Arc<KeyRing>) {
        tributary::app::open_storage(&self.settings(master_key)).unwrap()
    }

    /// A plain connection, outside the pool.
    pub fn raw_conn(&self) -> AnyConnection {
        match self.backend {
            Backend::Sqlite => AnyConnection::Sqlite(
                diesel::SqliteConnection::establish(&self.sqlite_file().to_string_lossy()).unwrap(),
            ),
            Backend::Postgres => {
                AnyConnection::Postgresql(PgConnection::establish(&self.url).unwrap())
            }
        }
    }

    pub fn write_config(&self, text: &str) -> PathBuf {
        let path = self
            .dir
            .path()
            .join(format!("config-{}.toml", uuid::Uuid::new_v4().simple()));
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Environment for the binary pointing at this database.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("TRIBUTARY_DATABASE_URL", self.url.clone()),
            ("TRIBUTARY_MASTER_KEY", test_master_key()),
        ]
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = &self.pg_name {
            if let Ok(mut c) = PgConnection::establish(&admin_url()) {
                let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    }
}

/// The `tributary` binary with a clean environment, run in `dir`.
pub fn tributary(dir: &Path, env: &[(&str, String)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tributary"));
    cmd.current_dir(dir)
        .env_remove("TRIBUTARY_DATABASE_URL")
        .env_remove("TRIBUTARY_LISTEN")
        .env_remove("TRIBUTARY_MASTER_KEY")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

pub fn run(dir: &Path, env: &[(&str, String)], args: &[&str]) -> Output {
    tributary(dir, env).args(args).output().unwrap()
}

/// A running `tributary serve`, killed when dropped.
pub struct Hub {
    child: Child,
    pub addr: SocketAddr,
    logs: Arc<Mutex<Vec<String>>>,
}

impl Hub {
    pub fn start(dir: &Path, env: &[(&str, String)]) -> Self {
        Self::start_with(dir, env, &[])
    }

    /// Start with extra global arguments (such as `--config FILE`).
    pub fn start_with(dir: &Path, env: &[(&str, String)], args: &[&str]) -> Self {
        Self::start_serving(dir, env, args, &[])
    }

    /// Start with global arguments and arguments of `serve` (such as `--role api`).
    pub fn start_serving(
        dir: &Path,
        env: &[(&str, String)],
        args: &[&str],
        serve_args: &[&str],
    ) -> Self {
        let mut env = env.to_vec();
        // A free port unless the test chose one (to name it in another's config).
        if !env.iter().any(|(k, _)| *k == "TRIBUTARY_LISTEN") {
            env.push(("TRIBUTARY_LISTEN", "127.0.0.1:0".into()));
        }
        let mut child = tributary(dir, &env)
            .args(args)
            .arg("serve")
            .args(serve_args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let sink = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) {
                    if v["message"] == "listening" {
                        let _ = tx.send(v["addr"].as_str().unwrap_or_default().to_owned());
                    }
                }
                sink.lock().unwrap().push(line);
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(a) => a.parse().unwrap(),
            Err(_) => {
                let _ = child.kill();
                panic!("hub did not start:\n{}", logs.lock().unwrap().join("\n"));
            }
        };
        Self { child, addr, logs }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The process id of the running hub.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn get(&self, path: &str) -> reqwest::blocking::Response {
        reqwest::blocking::Client::new()
            .get(self.url(path))
            .timeout(Duration::from_secs(30))
            .send()
            .unwrap()
    }

    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().join("\n")
    }

    /// SIGKILL: the process dies at once, in the middle of whatever it was doing.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Send SIGTERM and wait for the process to exit.
    pub fn terminate(mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        for _ in 0..300 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("hub did not stop within 30 s of SIGTERM");
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Poll `f` until it returns true, for up to `secs` seconds.
pub fn eventually(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    while std::time::Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    false
}

/// A portal created with the CLI: `(portal_id, api_key)`.
pub fn create_portal(db: &TestDb, name: &str) -> (String, String) {
    let out = run(db.path(), &db.env(), &["portal", "create", "--name", name]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    (
        v["portal_id"].as_str().unwrap().to_owned(),
        v["api_key"].as_str().unwrap().to_owned(),
    )
}

/// A minimal API client for one key.
pub struct Api<'a> {
    pub hub: &'a Hub,
    pub key: Option<String>,
    client: reqwest::blocking::Client,
}

impl<'a> Api<'a> {
    pub fn new(hub: &'a Hub, key: Option<&str>) -> Self {
        Self {
            hub,
            key: key.map(str::to_owned),
            client: reqwest::blocking::Client::new(),
        }
    }

    pub fn request(&self, method: &str, path: &str) -> reqwest::blocking::RequestBuilder {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut rb = self
            .client
            .request(method, self.hub.url(path))
            .timeout(Duration::from_secs(30));
        if let Some(k) = &self.key {
            rb = rb.bearer_auth(k);
        }
        rb
    }

    /// Send JSON (or nothing) and return status and body as JSON (Null if empty).
    pub fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let mut rb = self.request(method, path);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let res = rb.send().unwrap();
        let status = res.status().as_u16();
        let text = res.text().unwrap();
        let json = if text.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
        };
        (status, json)
    }
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Every row of every table, as text (bytea as hex: the marker would show in clear
/// only if stored in clear, so also decode hex to bytes and search there).
pub fn postgres_table_text(db: &TestDb, tables: &[&str]) -> String {
    use diesel::sql_types::Text;
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        row: String,
    }
    let mut conn = diesel::PgConnection::establish(db.url()).unwrap();
    let mut out = String::new();
    for table in tables {
        let rows: Vec<Row> =
            diesel::sql_query(format!("SELECT row_to_json(t)::text AS row FROM {table} t"))
                .load(&mut conn)
                .unwrap();
        for r in rows {
            out.push_str(&r.row);
            out.push('\n');
            for hex in r.row.split("\\\\x").skip(1) {
                let hex: String = hex.chars().take_while(char::is_ascii_hexdigit).collect();
                let bytes: Vec<u8> = (0..hex.len() / 2)
                    .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
                    .collect();
                out.push_str(&String::from_utf8_lossy(&bytes));
            }
        }
    }
    out
}

/// The on-disk heap files of the hub's tables, after a checkpoint.
pub fn postgres_relation_files(db: &TestDb, tables: &[&str]) -> Vec<(String, Vec<u8>)> {
    use diesel::sql_types::Text;
    #[derive(diesel::QueryableByName)]
    struct P {
        #[diesel(sql_type = Text)]
        p: String,
    }
    let mut conn = diesel::PgConnection::establish(db.url()).unwrap();
    diesel::sql_query("CHECKPOINT").execute(&mut conn).unwrap();
    let dir: P = diesel::sql_query("SELECT current_setting('data_directory') AS p")
        .get_result(&mut conn)
        .unwrap();
    let mut files = Vec::new();
    for table in tables {
        let rel: P = diesel::sql_query(format!("SELECT pg_relation_filepath('{table}') AS p"))
            .get_result(&mut conn)
            .unwrap();
        let path = format!("{}/{}", dir.p, rel.p);
        let bytes = std::fs::read(&path).unwrap_or_else(|e| {
            panic!("cannot read {path} (tests run as the database's host user): {e}")
        });
        files.push((path, bytes));
    }
    files
}

/// Where `needle` appears in the database's stored bytes: the SQLite file, WAL and
/// shared memory; or PostgreSQL's rows of `tables` (bytea decoded) and their heap
/// files after a checkpoint. Empty when it appears nowhere.
pub fn raw_database_finds(db: &TestDb, tables: &[&str], needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    match db.backend {
        Backend::Sqlite => {
            let mut scanned = 0;
            for suffix in ["", "-wal", "-shm"] {
                let path = format!("{}{suffix}", db.sqlite_file().display());
                if let Ok(bytes) = std::fs::read(&path) {
                    scanned += bytes.len();
                    if contains(&bytes, needle.as_bytes()) {
                        found.push(path);
                    }
                }
            }
            assert!(scanned > 0, "no SQLite file to scan");
        }
        Backend::Postgres => {
            if postgres_table_text(db, tables).contains(needle) {
                found.push("a table row".into());
            }
            for (path, bytes) in postgres_relation_files(db, tables) {
                if contains(&bytes, needle.as_bytes()) {
                    found.push(path);
                }
            }
        }
    }
    found
}
