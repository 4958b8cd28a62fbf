//! Configuration: a TOML file, then environment overrides, then command-line flags.
//!
//! Policy: fail fast. Everything is parsed and validated here, before the hub opens
//! a database or binds a port. An unknown key, a malformed value or a key of the
//! wrong length stops the process with a message that names the setting and where
//! its value came from. Secret values (the master key, a database password) are
//! never echoed in those messages.
//!
//! Precedence, lowest first: built-in defaults, the config file (`--config FILE`, or
//! `config/tributary.toml` when present), `TRIBUTARY_*` environment variables,
//! command-line flags.

mod ops;
pub use ops::{MaintenanceSettings, MonitorSettings, WeeklyWindow};

use base64::Engine;
use secrecy::{ExposeSecret, SecretBox, SecretString};
use serde::Deserialize;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::time::Duration;
use thiserror::Error;

/// The config file used when `--config` is not given and the file exists.
pub const DEFAULT_CONFIG_FILE: &str = "config/tributary.toml";
/// Where the hub keeps its files when nothing else is configured.
pub const DEFAULT_DATA_DIR: &str = "data";

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("config: {key} (from {origin}): {reason}")]
    Invalid {
        key: &'static str,
        origin: String,
        reason: String,
    },
}

/// The file's shape. Every section and key is optional; unknown ones are errors.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct FileConfig {
    server: ServerFile,
    api: ApiFile,
    connect: ConnectFile,
    sandbox: SandboxFile,
    database: DatabaseFile,
    keys: KeysFile,
    log: LogFile,
    sync: SyncFile,
    delivery: DeliveryFile,
    erasure: ErasureFile,
    retention: RetentionFile,
    backup: BackupFile,
    monitor: ops::MonitorFile,
    maintenance: ops::MaintenanceFile,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct BackupFile {
    schedule: String,
    dir: String,
    keep: u32,
}

impl Default for BackupFile {
    fn default() -> Self {
        Self {
            schedule: String::new(),
            dir: format!("{DEFAULT_DATA_DIR}/backups"),
            keep: 7,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct ErasureFile {
    journal_path: String,
}

impl Default for ErasureFile {
    fn default() -> Self {
        Self {
            journal_path: format!("{DEFAULT_DATA_DIR}/erasure-journal.jsonl"),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RetentionFile {
    max_age_days: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct DeliveryFile {
    /// Seconds to wait after each failed attempt; after the last, `failed`.
    retry_schedule_secs: Vec<u64>,
    timeout_secs: u64,
    /// Deliveries per second to one endpoint, at most.
    per_endpoint_per_second: u32,
    /// How long a rotated secret still signs, in hours.
    secret_overlap_hours: u64,
    /// Hosts that may be reached over plain http and at private, loopback or
    /// link-local addresses (tests, an internal receiver).
    allow_hosts: Vec<String>,
    poll_interval_ms: u64,
    /// Deliveries in flight at once, per process.
    concurrency: u32,
    /// Observations per FHIR push transaction Bundle.
    fhir_push_batch_size: u32,
    /// Milliseconds an observation must have been stored before it is pushed, so a
    /// transaction still committing with an earlier time is not passed over.
    fhir_push_settle_ms: u64,
}

impl Default for DeliveryFile {
    fn default() -> Self {
        Self {
            // 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, 24 h: about three days.
            retry_schedule_secs: vec![5, 300, 1800, 7200, 18000, 36000, 36000, 86400],
            timeout_secs: 10,
            per_endpoint_per_second: 100,
            secret_overlap_hours: 24,
            allow_hosts: Vec::new(),
            poll_interval_ms: 500,
            concurrency: 64,
            fhir_push_batch_size: 100,
            fhir_push_settle_ms: 5000,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct SyncFile {
    workers: u32,
    incremental_interval_secs: u64,
    backfill_days: u32,
    backfill_days_by_vendor: std::collections::BTreeMap<String, u32>,
    backfill_window_days: u32,
    overlap_hours: u32,
    lease_secs: u64,
    poll_interval_ms: u64,
    max_attempts: u32,
    retry_base_secs: u64,
    retry_max_secs: u64,
    schedule: String,
    housekeeping_schedule: String,
    keep_done_days: u32,
    keep_failed_days: u32,
    renew_subscriptions_days: u32,
}

impl Default for SyncFile {
    fn default() -> Self {
        Self {
            workers: 16,
            incremental_interval_secs: 900,
            backfill_days: 30,
            backfill_days_by_vendor: std::collections::BTreeMap::new(),
            backfill_window_days: 7,
            overlap_hours: 48,
            lease_secs: 60,
            poll_interval_ms: 1000,
            max_attempts: 8,
            retry_base_secs: 10,
            retry_max_secs: 3600,
            schedule: "*/15 * * * * *".into(),
            housekeeping_schedule: "0 17 3 * * *".into(),
            keep_done_days: 7,
            keep_failed_days: 30,
            renew_subscriptions_days: 7,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct ServerFile {
    listen: String,
    shutdown_timeout_secs: u64,
    tls_cert_file: String,
    tls_key_file: String,
    public_url: String,
}

impl Default for ServerFile {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            shutdown_timeout_secs: 30,
            tls_cert_file: String::new(),
            tls_key_file: String::new(),
            public_url: String::new(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct ApiFile {
    rate_limit_per_second: u32,
    rate_limit_burst: u32,
}

impl Default for ApiFile {
    fn default() -> Self {
        Self {
            rate_limit_per_second: 20,
            rate_limit_burst: 100,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct ConnectFile {
    link_ttl_secs: u64,
    page_ttl_secs: u64,
    authorization_ttl_secs: u64,
}

impl Default for ConnectFile {
    fn default() -> Self {
        Self {
            link_ttl_secs: 900,
            page_ttl_secs: 3600,
            authorization_ttl_secs: 600,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct SandboxFile {
    enabled: bool,
    url: String,
    access_token_ttl_secs: u64,
}

impl Default for SandboxFile {
    fn default() -> Self {
        Self {
            enabled: true,
            url: String::new(),
            access_token_ttl_secs: 3600,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct DatabaseFile {
    url: String,
    pool_size: u32,
    connect_timeout_secs: u64,
    sqlite_busy_timeout_ms: u64,
}

impl Default for DatabaseFile {
    fn default() -> Self {
        Self {
            url: format!("sqlite://{DEFAULT_DATA_DIR}/tributary.db"),
            pool_size: 10,
            connect_timeout_secs: 5,
            sqlite_busy_timeout_ms: 5000,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct KeysFile {
    master_key_file: String,
    dev_key_file: String,
}

impl Default for KeysFile {
    fn default() -> Self {
        Self {
            master_key_file: String::new(),
            dev_key_file: format!("{DEFAULT_DATA_DIR}/dev-master.key"),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct LogFile {
    level: String,
    format: String,
}

impl Default for LogFile {
    fn default() -> Self {
        Self {
            level: "info".into(),
            format: "json".into(),
        }
    }
}

/// Validated settings the rest of the hub runs on.
#[derive(Debug)]
pub struct Settings {
    pub listen: SocketAddr,
    pub shutdown_timeout: Duration,
    /// Certificate and key when the hub terminates TLS itself.
    pub tls: Option<TlsSettings>,
    /// The URL members' browsers and vendors reach the hub at; `None` means the
    /// bound address (`http(s)://IP:PORT`).
    pub public_url: Option<url::Url>,
    pub connect: ConnectSettings,
    pub sandbox: SandboxSettings,
    pub api: ApiSettings,
    pub database: DatabaseSettings,
    pub master_key: MasterKeySource,
    pub log: LogSettings,
    pub sync: SyncSettings,
    pub delivery: DeliverySettings,
    /// The erasure journal file (`erasure.journal_path`): one signed deletion
    /// receipt per line, kept outside the database so restores re-apply erasures.
    pub erasure_journal: PathBuf,
    pub backup: BackupSettings,
    pub monitor: MonitorSettings,
    pub maintenance: MaintenanceSettings,
}

/// Scheduled backups (`[backup]`).
#[derive(Debug, Clone)]
pub struct BackupSettings {
    /// Cron (with seconds) of the scheduled backup; `None` when off ("").
    pub schedule: Option<String>,
    /// Where scheduled backups are written.
    pub dir: PathBuf,
    /// How many scheduled backups are kept (the oldest beyond are deleted).
    pub keep: usize,
}

/// Webhook delivery (`[delivery]`).
#[derive(Debug, Clone)]
pub struct DeliverySettings {
    pub retry_schedule: Vec<Duration>,
    pub timeout: Duration,
    pub per_endpoint_per_second: NonZeroU32,
    pub secret_overlap: Duration,
    /// Lower-case host names or IP literals.
    pub allow_hosts: Vec<String>,
    pub poll_interval: Duration,
    pub concurrency: usize,
    /// Observations per FHIR push transaction Bundle (1 to 1000).
    pub fhir_push_batch_size: usize,
    /// How long an observation must have been stored before it is pushed.
    pub fhir_push_settle: Duration,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        // The defaults are valid: building them cannot fail.
        delivery_settings(DeliveryFile::default(), "defaults")
            .unwrap_or_else(|e| unreachable!("{e}"))
    }
}

/// The sync engine: workers, schedules, backfill and retries.
#[derive(Debug, Clone)]
pub struct SyncSettings {
    /// Observations whose effective time is older than this are purged by the
    /// daily housekeeping (`retention.max_age_days`; 0, the default, keeps them).
    pub retention_max_age: Option<Duration>,
    /// Jobs one process runs at once.
    pub workers: u32,
    /// Time between incremental syncs of a data type (never faster than the
    /// vendor's quota allows).
    pub incremental_interval: Duration,
    /// History fetched on connect, in days, unless the vendor has its own entry.
    pub backfill_days: u32,
    /// Per vendor id; capped at the vendor's history limit when used.
    pub backfill_days_by_vendor: std::collections::BTreeMap<String, u32>,
    /// The span of one backfill job.
    pub backfill_window: Duration,
    /// How far back an incremental sync fetches again before its last end, for
    /// data a vendor sends late (a day's totals, a night's sleep).
    pub overlap: Duration,
    /// A claimed job's lease; the worker renews it while the job runs.
    pub lease: Duration,
    /// How often an idle worker looks for work.
    pub poll_interval: Duration,
    /// Attempts before a job ends `failed`.
    pub max_attempts: u32,
    pub retry_base: Duration,
    pub retry_max: Duration,
    /// Cron (with seconds) of the tick that enqueues due syncs.
    pub schedule: String,
    /// Cron (with seconds) of the daily housekeeping.
    pub housekeeping_schedule: String,
    pub keep_done: Duration,
    pub keep_failed: Duration,
    /// An app's webhook subscription (Oura) is renewed when it lapses within this.
    pub renew_subscriptions_ahead: Duration,
}

/// PEM files for TLS termination; both are read (and checked) at start.
#[derive(Debug, Clone)]
pub struct TlsSettings {
    /// The certificate chain, leaf first.
    pub cert_file: PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    pub key_file: PathBuf,
}

/// Lifetimes on the member's side of the hub.
#[derive(Debug, Clone)]
pub struct ConnectSettings {
    /// How long a connect link works before it is used.
    pub link_ttl: Duration,
    /// How long the consent page stays open after the link was used.
    pub page_ttl: Duration,
    /// How long a member has to finish authorizing at the vendor.
    pub authorization_ttl: Duration,
}

/// The simulated vendor APIs.
#[derive(Debug, Clone)]
pub struct SandboxSettings {
    /// Serve them under `/sandbox/{vendor}/…` and offer sandbox vendors to members.
    pub enabled: bool,
    /// Where the hub reaches sandbox vendors; `None` means its own `/sandbox`.
    pub url: Option<url::Url>,
    pub access_token_ttl: Duration,
}

/// Limits of the portal API.
#[derive(Debug)]
pub struct ApiSettings {
    /// Sustained requests per second per API key.
    pub rate_limit_per_second: NonZeroU32,
    /// Requests a key may make at once before the sustained rate applies.
    pub rate_limit_burst: NonZeroU32,
}

#[derive(Debug)]
pub struct DatabaseSettings {
    pub url: DatabaseUrl,
    pub pool_size: u32,
    pub connect_timeout: Duration,
    pub sqlite_busy_timeout: Duration,
}

/// Where the database is. A PostgreSQL URL may hold a password, so it is secret.
#[derive(Debug, Clone)]
pub enum DatabaseUrl {
    Sqlite { path: PathBuf },
    Postgres { url: SecretString },
}

/// Where the master key (the root of the key hierarchy) comes from.
#[derive(Debug)]
pub enum MasterKeySource {
    /// `TRIBUTARY_MASTER_KEY`, already decoded and length-checked.
    Env(SecretBox<[u8; 32]>),
    /// A file an operator manages, holding the base64 key.
    File(PathBuf),
    /// Neither was given: a development key kept in this file, generated if missing.
    Development(PathBuf),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Text,
}

#[derive(Debug)]
pub struct LogSettings {
    pub level: String,
    pub format: LogFormat,
}

/// What the command line adds on top of file and environment.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub config_file: Option<PathBuf>,
    pub database_url: Option<String>,
}

impl Settings {
    /// Load from the process environment.
    pub fn load(overrides: &Overrides) -> Result<Self, ConfigError> {
        Self::load_with(overrides, |name| std::env::var(name).ok())
    }

    /// Load with an explicit environment (tests use this).
    pub fn load_with(
        overrides: &Overrides,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let (file, origin) = read_file(overrides.config_file.as_deref())?;
        let tls = tls_settings(&file.server, &origin)?;

        let (listen, listen_origin) = pick(file.server.listen, &origin, "TRIBUTARY_LISTEN", &env);
        let listen = listen
            .parse::<SocketAddr>()
            .map_err(|_| ConfigError::Invalid {
                key: "server.listen",
                origin: listen_origin,
                reason: format!("`{listen}` is not an address and port like 127.0.0.1:8080"),
            })?;

        let (url, url_origin) = match &overrides.database_url {
            Some(u) => (u.clone(), "--database-url".to_owned()),
            None => pick(file.database.url, &origin, "TRIBUTARY_DATABASE_URL", &env),
        };
        let url = DatabaseUrl::parse(&url).map_err(|reason| ConfigError::Invalid {
            key: "database.url",
            origin: url_origin,
            reason,
        })?;
        if file.database.pool_size == 0 {
            return Err(invalid("database.pool_size", &origin, "must be at least 1"));
        }

        let positive = |key: &'static str, v: u32| {
            NonZeroU32::new(v).ok_or_else(|| invalid(key, &origin, "must be at least 1"))
        };
        let api = ApiSettings {
            rate_limit_per_second: positive(
                "api.rate_limit_per_second",
                file.api.rate_limit_per_second,
            )?,
            rate_limit_burst: positive("api.rate_limit_burst", file.api.rate_limit_burst)?,
        };
        let public_url = optional_url("server.public_url", &file.server.public_url, &origin)?;
        let connect = ConnectSettings {
            link_ttl: positive_secs("connect.link_ttl_secs", file.connect.link_ttl_secs, &origin)?,
            page_ttl: positive_secs("connect.page_ttl_secs", file.connect.page_ttl_secs, &origin)?,
            authorization_ttl: positive_secs(
                "connect.authorization_ttl_secs",
                file.connect.authorization_ttl_secs,
                &origin,
            )?,
        };
        let sandbox = SandboxSettings {
            enabled: file.sandbox.enabled,
            url: optional_url("sandbox.url", &file.sandbox.url, &origin)?,
            access_token_ttl: positive_secs(
                "sandbox.access_token_ttl_secs",
                file.sandbox.access_token_ttl_secs,
                &origin,
            )?,
        };
        let master_key = master_key_source(file.keys, &origin, &env)?;
        let log = log_settings(file.log, &origin)?;
        let mut sync = sync_settings(file.sync, &origin)?;
        let delivery = delivery_settings(file.delivery, &origin)?;
        if file.erasure.journal_path.trim().is_empty() {
            return Err(invalid(
                "erasure.journal_path",
                &origin,
                "must name a file: restores read erasures from it",
            ));
        }
        if file.retention.max_age_days > 36_500 {
            return Err(invalid(
                "retention.max_age_days",
                &origin,
                "must be at most 36500 (0 keeps observations)",
            ));
        }
        let backup = backup_settings(file.backup, &origin)?;
        let monitor = ops::monitor_settings(file.monitor, &origin)?;
        let maintenance = ops::maintenance_settings(file.maintenance, &origin)?;
        sync.retention_max_age = (file.retention.max_age_days > 0)
            .then(|| Duration::from_secs(u64::from(file.retention.max_age_days) * 86_400));

        Ok(Self {
            listen,
            shutdown_timeout: Duration::from_secs(file.server.shutdown_timeout_secs),
            tls,
            public_url,
            connect,
            sandbox,
            api,
            database: DatabaseSettings {
                url,
                pool_size: file.database.pool_size,
                connect_timeout: Duration::from_secs(file.database.connect_timeout_secs.max(1)),
                sqlite_busy_timeout: Duration::from_millis(file.database.sqlite_busy_timeout_ms),
            },
            master_key,
            log,
            sync,
            delivery,
            erasure_journal: PathBuf::from(file.erasure.journal_path),
            backup,
            monitor,
            maintenance,
        })
    }
}

fn backup_settings(f: BackupFile, origin: &str) -> Result<BackupSettings, ConfigError> {
    let schedule = f.schedule.trim();
    if !schedule.is_empty() {
        if let Err(e) = crate::sync::schedule::validate_cron(schedule) {
            return Err(invalid(
                "backup.schedule",
                origin,
                &format!("`{schedule}` is not a cron schedule: {e}"),
            ));
        }
    }
    if f.dir.trim().is_empty() {
        return Err(invalid("backup.dir", origin, "must name a folder"));
    }
    if !(1..=10_000).contains(&f.keep) {
        return Err(invalid("backup.keep", origin, "must be 1 to 10000"));
    }
    Ok(BackupSettings {
        schedule: (!schedule.is_empty()).then(|| schedule.to_owned()),
        dir: PathBuf::from(f.dir),
        keep: f.keep as usize,
    })
}

fn delivery_settings(f: DeliveryFile, origin: &str) -> Result<DeliverySettings, ConfigError> {
    if f.retry_schedule_secs.is_empty() || f.retry_schedule_secs.len() > 50 {
        return Err(invalid(
            "delivery.retry_schedule_secs",
            origin,
            "must list 1 to 50 waits in seconds",
        ));
    }
    if f.timeout_secs == 0 || f.timeout_secs > 60 {
        return Err(invalid("delivery.timeout_secs", origin, "must be 1 to 60"));
    }
    let per_second = NonZeroU32::new(f.per_endpoint_per_second).ok_or_else(|| {
        invalid(
            "delivery.per_endpoint_per_second",
            origin,
            "must be at least 1",
        )
    })?;
    if f.concurrency == 0 || f.concurrency > 1024 {
        return Err(invalid("delivery.concurrency", origin, "must be 1 to 1024"));
    }
    if f.poll_interval_ms == 0 {
        return Err(invalid(
            "delivery.poll_interval_ms",
            origin,
            "must be at least 1",
        ));
    }
    if f.fhir_push_batch_size == 0 || f.fhir_push_batch_size > 1000 {
        return Err(invalid(
            "delivery.fhir_push_batch_size",
            origin,
            "must be 1 to 1000",
        ));
    }
    let mut allow_hosts = Vec::new();
    for host in &f.allow_hosts {
        let host = host.trim().trim_start_matches('[').trim_end_matches(']');
        if host.is_empty()
            || host.contains(['/', ':', ' ']) && host.parse::<std::net::IpAddr>().is_err()
        {
            return Err(invalid(
                "delivery.allow_hosts",
                origin,
                "each entry must be a host name or an IP address, without scheme or port",
            ));
        }
        allow_hosts.push(host.to_ascii_lowercase());
    }
    Ok(DeliverySettings {
        retry_schedule: f
            .retry_schedule_secs
            .iter()
            .map(|s| Duration::from_secs(*s))
            .collect(),
        timeout: Duration::from_secs(f.timeout_secs),
        per_endpoint_per_second: per_second,
        secret_overlap: Duration::from_secs(f.secret_overlap_hours * 3600),
        allow_hosts,
        poll_interval: Duration::from_millis(f.poll_interval_ms),
        concurrency: f.concurrency as usize,
        fhir_push_batch_size: f.fhir_push_batch_size as usize,
        fhir_push_settle: Duration::from_millis(f.fhir_push_settle_ms),
    })
}

fn sync_settings(f: SyncFile, origin: &str) -> Result<SyncSettings, ConfigError> {
    let at_least_one = |key: &'static str, v: u64| {
        if v == 0 {
            Err(invalid(key, origin, "must be at least 1"))
        } else {
            Ok(v)
        }
    };
    at_least_one("sync.workers", u64::from(f.workers))?;
    at_least_one(
        "sync.backfill_window_days",
        u64::from(f.backfill_window_days),
    )?;
    at_least_one("sync.max_attempts", u64::from(f.max_attempts))?;
    if f.lease_secs < 5 {
        return Err(invalid("sync.lease_secs", origin, "must be at least 5"));
    }
    if f.incremental_interval_secs == 0 {
        return Err(invalid(
            "sync.incremental_interval_secs",
            origin,
            "must be at least 1",
        ));
    }
    if f.retry_max_secs < f.retry_base_secs || f.retry_base_secs == 0 {
        return Err(invalid(
            "sync.retry_base_secs",
            origin,
            "must be at least 1 and at most sync.retry_max_secs",
        ));
    }
    for (key, text) in [
        ("sync.schedule", &f.schedule),
        ("sync.housekeeping_schedule", &f.housekeeping_schedule),
    ] {
        if let Err(e) = crate::sync::schedule::validate_cron(text) {
            return Err(invalid(
                key,
                origin,
                &format!("`{text}` is not a cron schedule: {e}"),
            ));
        }
    }
    if !(1..=90).contains(&f.renew_subscriptions_days) {
        return Err(invalid(
            "sync.renew_subscriptions_days",
            origin,
            "must be 1 to 90",
        ));
    }
    let day = |d: u32| Duration::from_secs(u64::from(d) * 86_400);
    Ok(SyncSettings {
        retention_max_age: None,
        workers: f.workers,
        incremental_interval: Duration::from_secs(f.incremental_interval_secs),
        backfill_days: f.backfill_days,
        backfill_days_by_vendor: f.backfill_days_by_vendor,
        backfill_window: day(f.backfill_window_days),
        overlap: Duration::from_secs(u64::from(f.overlap_hours) * 3600),
        lease: Duration::from_secs(f.lease_secs),
        poll_interval: Duration::from_millis(f.poll_interval_ms.max(10)),
        max_attempts: f.max_attempts,
        retry_base: Duration::from_secs(f.retry_base_secs),
        retry_max: Duration::from_secs(f.retry_max_secs),
        schedule: f.schedule,
        housekeeping_schedule: f.housekeeping_schedule,
        keep_done: day(f.keep_done_days),
        keep_failed: day(f.keep_failed_days),
        renew_subscriptions_ahead: day(f.renew_subscriptions_days),
    })
}

fn read_file(explicit: Option<&Path>) -> Result<(FileConfig, String), ConfigError> {
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None if Path::new(DEFAULT_CONFIG_FILE).exists() => PathBuf::from(DEFAULT_CONFIG_FILE),
        None => return Ok((FileConfig::default(), "defaults".into())),
    };
    let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
        path: path.clone(),
        source,
    })?;
    let file = toml::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.clone(),
        message: e.to_string().trim_end().replace('\n', " "),
    })?;
    Ok((file, path.display().to_string()))
}

/// The environment variable's value when set, else the file's; with its origin.
fn pick(
    from_file: String,
    file_origin: &str,
    var: &str,
    env: &impl Fn(&str) -> Option<String>,
) -> (String, String) {
    match env(var) {
        Some(v) => (v, var.to_owned()),
        None => (from_file, file_origin.to_owned()),
    }
}

fn invalid(key: &'static str, origin: &str, reason: &str) -> ConfigError {
    ConfigError::Invalid {
        key,
        origin: origin.to_owned(),
        reason: reason.to_owned(),
    }
}

/// An http(s) URL with a host, or `None` for "".
fn optional_url(
    key: &'static str,
    text: &str,
    origin: &str,
) -> Result<Option<url::Url>, ConfigError> {
    if text.is_empty() {
        return Ok(None);
    }
    let url = url::Url::parse(text)
        .map_err(|e| invalid(key, origin, &format!("`{text}` is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(invalid(
            key,
            origin,
            &format!("`{text}` is not an http(s) URL with a host"),
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid(
            key,
            origin,
            &format!("`{text}` must not have a query or fragment"),
        ));
    }
    Ok(Some(url))
}

fn positive_secs(key: &'static str, secs: u64, origin: &str) -> Result<Duration, ConfigError> {
    if secs == 0 {
        return Err(invalid(key, origin, "must be at least 1"));
    }
    Ok(Duration::from_secs(secs))
}

/// TLS is on when both files are named; naming one without the other is an error.
fn tls_settings(server: &ServerFile, origin: &str) -> Result<Option<TlsSettings>, ConfigError> {
    match (
        server.tls_cert_file.is_empty(),
        server.tls_key_file.is_empty(),
    ) {
        (true, true) => Ok(None),
        (false, false) => Ok(Some(TlsSettings {
            cert_file: PathBuf::from(&server.tls_cert_file),
            key_file: PathBuf::from(&server.tls_key_file),
        })),
        (true, false) => Err(invalid(
            "server.tls_cert_file",
            origin,
            "is empty while server.tls_key_file is set; TLS needs both",
        )),
        (false, true) => Err(invalid(
            "server.tls_key_file",
            origin,
            "is empty while server.tls_cert_file is set; TLS needs both",
        )),
    }
}

fn master_key_source(
    keys: KeysFile,
    origin: &str,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<MasterKeySource, ConfigError> {
    if let Some(value) = env("TRIBUTARY_MASTER_KEY") {
        let value = SecretString::from(value);
        let key =
            decode_master_key(value.expose_secret()).map_err(|reason| ConfigError::Invalid {
                key: "master key",
                origin: "TRIBUTARY_MASTER_KEY".into(),
                reason,
            })?;
        return Ok(MasterKeySource::Env(key));
    }
    if !keys.master_key_file.is_empty() {
        return Ok(MasterKeySource::File(PathBuf::from(keys.master_key_file)));
    }
    if keys.dev_key_file.is_empty() {
        return Err(invalid(
            "keys.dev_key_file",
            origin,
            "is empty while neither TRIBUTARY_MASTER_KEY nor keys.master_key_file is set",
        ));
    }
    Ok(MasterKeySource::Development(PathBuf::from(
        keys.dev_key_file,
    )))
}

/// Decode a master key: standard base64 of exactly 32 bytes. The error never
/// contains the key material, only what was wrong with it.
pub fn decode_master_key(text: &str) -> Result<SecretBox<[u8; 32]>, String> {
    let bytes = zeroize::Zeroizing::new(
        base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|_| "is not valid base64 (expected base64 of 32 random bytes)".to_owned())?,
    );
    let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
        format!(
            "decodes to {} bytes; a master key must be exactly 32 bytes (base64 of 32 random bytes)",
            bytes.len()
        )
    })?;
    Ok(SecretBox::new(Box::new(key)))
}

fn log_settings(log: LogFile, origin: &str) -> Result<LogSettings, ConfigError> {
    tracing_subscriber::EnvFilter::try_new(&log.level).map_err(|e| ConfigError::Invalid {
        key: "log.level",
        origin: origin.to_owned(),
        reason: format!("`{}` is not a log filter: {e}", log.level),
    })?;
    let format = match log.format.as_str() {
        "json" => LogFormat::Json,
        "text" => LogFormat::Text,
        other => {
            return Err(ConfigError::Invalid {
                key: "log.format",
                origin: origin.to_owned(),
                reason: format!("`{other}` is not one of json, text"),
            })
        }
    };
    Ok(LogSettings {
        level: log.level,
        format,
    })
}

impl DatabaseUrl {
    /// `postgres://…` / `postgresql://…` for PostgreSQL, `sqlite://PATH` for SQLite.
    /// The error names what was wrong without repeating the URL (it may hold a password).
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            let parsed =
                url::Url::parse(text).map_err(|e| format!("is not a valid PostgreSQL URL: {e}"))?;
            if parsed.host_str().is_none_or(str::is_empty) {
                return Err("is a PostgreSQL URL without a host".into());
            }
            return Ok(Self::Postgres {
                url: SecretString::from(text.to_owned()),
            });
        }
        if let Some(path) = text.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err("is a sqlite:// URL without a file path".into());
            }
            return Ok(Self::Sqlite {
                path: PathBuf::from(path),
            });
        }
        let scheme = text.split_once("://").map(|(s, _)| s);
        Err(match scheme {
            Some(s) if s.chars().all(|c| c.is_ascii_alphanumeric() || c == '+') => format!(
                "unsupported database scheme `{s}`; use postgres://USER@HOST/DB or sqlite://PATH"
            ),
            _ => "is not a database URL; use postgres://USER@HOST/DB or sqlite://PATH".into(),
        })
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            Self::Sqlite { .. } => "sqlite",
            Self::Postgres { .. } => "postgres",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(toml: &str, env: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.toml");
        std::fs::write(&path, toml).unwrap();
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let overrides = Overrides {
            config_file: Some(path),
            database_url: None,
        };
        Settings::load_with(&overrides, |k| env.get(k).cloned())
    }

    #[test]
    fn empty_file_gives_defaults() {
        let s = load("", &[]).unwrap();
        assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
        assert!(
            matches!(s.database.url, DatabaseUrl::Sqlite { ref path } if path == Path::new("data/tributary.db"))
        );
        assert!(matches!(s.master_key, MasterKeySource::Development(_)));
    }

    #[test]
    fn unknown_key_is_named() {
        let e = load("[server]\nlisten = \"127.0.0.1:1\"\nlistn = 3\n", &[]).unwrap_err();
        assert!(e.to_string().contains("listn"), "{e}");
        let e = load("[databse]\n", &[]).unwrap_err();
        assert!(e.to_string().contains("databse"), "{e}");
    }

    #[test]
    fn env_overrides_file_and_is_named_in_errors() {
        let s = load(
            "[server]\nlisten = \"127.0.0.1:1\"\n",
            &[("TRIBUTARY_LISTEN", "0.0.0.0:9")],
        )
        .unwrap();
        assert_eq!(s.listen.to_string(), "0.0.0.0:9");
        let e = load("", &[("TRIBUTARY_LISTEN", "localhost")])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("server.listen") && e.contains("TRIBUTARY_LISTEN"),
            "{e}"
        );
    }

    #[test]
    fn database_urls() {
        assert!(matches!(
            DatabaseUrl::parse("postgres://u@h/db"),
            Ok(DatabaseUrl::Postgres { .. })
        ));
        assert!(matches!(
            DatabaseUrl::parse("postgresql://u:p@h:5/db"),
            Ok(DatabaseUrl::Postgres { .. })
        ));
        assert!(
            matches!(DatabaseUrl::parse("sqlite:///tmp/x.db"), Ok(DatabaseUrl::Sqlite { ref path }) if path == Path::new("/tmp/x.db"))
        );
        assert!(DatabaseUrl::parse("mysql://h/db")
            .unwrap_err()
            .contains("mysql"));
        assert!(DatabaseUrl::parse("data.db").is_err());
        assert!(DatabaseUrl::parse("sqlite://").is_err());
        let e = DatabaseUrl::parse("postgres://user:hunter2@").unwrap_err();
        assert!(!e.contains("hunter2"), "{e}");
    }

    #[test]
    fn master_key_length_is_checked_without_echo() {
        let short = base64::engine::general_purpose::STANDARD.encode([7u8; 16]);
        let e = load("", &[("TRIBUTARY_MASTER_KEY", &short)])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("TRIBUTARY_MASTER_KEY") && e.contains("16 bytes"),
            "{e}"
        );
        assert!(!e.contains(&short));
        let good = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        let s = load("", &[("TRIBUTARY_MASTER_KEY", &good)]).unwrap();
        assert!(matches!(s.master_key, MasterKeySource::Env(_)));
    }

    #[test]
    fn backup_section_is_checked() {
        let s = load("", &[]).unwrap();
        assert!(s.backup.schedule.is_none());
        assert_eq!(s.backup.keep, 7);
        assert_eq!(s.backup.dir, Path::new("data/backups"));
        let s = load("[backup]\nschedule = \"0 0 2 * * *\"\nkeep = 3\n", &[]).unwrap();
        assert_eq!(s.backup.schedule.as_deref(), Some("0 0 2 * * *"));
        for (toml, key) in [
            ("[backup]\nschedule = \"nightly\"\n", "backup.schedule"),
            ("[backup]\nkeep = 0\n", "backup.keep"),
            ("[backup]\nkept = 3\n", "kept"),
        ] {
            let e = load(toml, &[]).unwrap_err().to_string();
            assert!(e.contains(key), "{e}");
        }
    }

    #[test]
    fn bad_log_format_is_named() {
        let e = load("[log]\nformat = \"xml\"\n", &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("log.format") && e.contains("xml"), "{e}");
    }
}
