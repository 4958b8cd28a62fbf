//! The bench data set: a portal, its members, a demo connection per member that
//! grants the ten data types, and one observation per member, metric and day —
//! generated as `Sample`s and stored through the hub's own ingest path (normalise,
//! seal with the member's data key, upsert), exactly as synced data is.

use chrono::{Datelike, Days, FixedOffset, NaiveDate, TimeZone};
use secrecy::SecretString;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tributary::config::{Overrides, Settings};
use tributary::domain::{MemberId, PortalId, UserKey};
use tributary::store::connections::{self, Channel, Grant, Tokens};
use tributary_connectors::{Metric, Quantity, Sample, Value};

/// The ten metrics per day, with the LOINC code a search asks for.
pub const METRICS: [(Metric, &str); 10] = [
    (Metric::StepsDaily, "41950-7"),
    (Metric::RestingHeartRateDaily, "40443-4"),
    (Metric::MaxHeartRate24h, "8873-2"),
    (Metric::EnergyBurnedDaily, "41979-6"),
    (Metric::SleepDuration, "93832-4"),
    (Metric::SleepDeep, "93831-6"),
    (Metric::SleepLight, "93830-8"),
    (Metric::SleepRem, "93829-0"),
    (Metric::BodyWeight, "29463-7"),
    (Metric::HrvSdnn, "80404-7"),
];

pub struct DataSet {
    pub api_key: String,
    pub members: Vec<String>,
    pub first_day: NaiveDate,
    pub observations: usize,
}

#[derive(serde::Serialize, serde::Deserialize, PartialEq)]
struct Meta {
    members: usize,
    days: u32,
    api_key: String,
    member_ids: Vec<String>,
    first_day: NaiveDate,
    observations: usize,
}

fn meta_path(backend: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("target/bench/search-{backend}.json"))
}

fn settings(url: &str, master_key: &str) -> Settings {
    let config =
        std::env::temp_dir().join(format!("tributary-bench-load-{}.toml", std::process::id()));
    std::fs::write(&config, "").expect("an empty config");
    let key = master_key.to_owned();
    let overrides = Overrides {
        config_file: Some(config),
        database_url: Some(url.to_owned()),
    };
    Settings::load_with(&overrides, move |k| {
        (k == "TRIBUTARY_MASTER_KEY").then(|| key.clone())
    })
    .expect("bench settings")
}

/// Remove the data set (PostgreSQL database or SQLite files).
fn drop_database(url: &str, backend: &str) {
    if backend == "postgres" {
        use diesel::{Connection, RunQueryDsl};
        let mut admin = url::Url::parse(url).expect("a PostgreSQL URL");
        admin.set_path("postgres");
        let mut c = diesel::PgConnection::establish(admin.as_str()).expect("PostgreSQL");
        diesel::sql_query("DROP DATABASE IF EXISTS tributary_bench_search WITH (FORCE)")
            .execute(&mut c)
            .expect("drop the bench database");
        diesel::sql_query("CREATE DATABASE tributary_bench_search")
            .execute(&mut c)
            .expect("create the bench database");
    } else {
        let path = url.trim_start_matches("sqlite://");
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{path}{suffix}"));
        }
    }
}

/// PostgreSQL's `shared_buffers` and the size of what the search reads (the
/// observations, their code index and the id index), for the report: when the
/// buffers are smaller, most page reads are copies from the OS cache.
pub fn postgres_buffers(url: &str) -> String {
    use diesel::sql_types::Text;
    use diesel::{Connection, QueryableByName, RunQueryDsl};
    #[derive(QueryableByName)]
    struct Sizes {
        #[diesel(sql_type = Text)]
        buffers: String,
        #[diesel(sql_type = Text)]
        searched: String,
    }
    let mut c = diesel::PgConnection::establish(url).expect("PostgreSQL");
    let s: Sizes = diesel::sql_query(
        "SELECT current_setting('shared_buffers') AS buffers, \
         pg_size_pretty(pg_relation_size('observations') \
           + pg_relation_size('observation_codes_search') \
           + pg_relation_size('observations_id_hash')) AS searched",
    )
    .get_result(&mut c)
    .expect("buffer and relation sizes");
    format!(
        "postgres: shared_buffers {}; observations + code index + id index {}",
        s.buffers, s.searched
    )
}

/// The data set, loaded now unless an identical one is already there.
pub fn ensure(
    url: &str,
    backend: &str,
    members: usize,
    days: u32,
    reload: bool,
    master_key: &str,
) -> DataSet {
    if !reload {
        if let Some(meta) = std::fs::read(meta_path(backend))
            .ok()
            .and_then(|b| serde_json::from_slice::<Meta>(&b).ok())
            .filter(|m| m.members == members && m.days == days)
        {
            return DataSet {
                api_key: meta.api_key,
                members: meta.member_ids,
                first_day: meta.first_day,
                observations: meta.observations,
            };
        }
    }
    drop_database(url, backend);
    let (db, ring) = tributary::app::open_storage(&settings(url, master_key)).expect("storage");
    let portal = tributary::admin::create_portal(&db, "bench").expect("a portal");
    let api_key = portal["api_key"].as_str().expect("api_key").to_owned();
    let portal_id = PortalId::parse(portal["portal_id"].as_str().expect("portal_id")).expect("id");
    let first_day = NaiveDate::from_ymd_opt(2025, 1, 1).expect("a date");

    let done = Arc::new(AtomicUsize::new(0));
    let stored = Arc::new(AtomicUsize::new(0));
    let started = std::time::Instant::now();
    let threads = 3;
    let ids: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (db, ring, portal_id) = (&db, &ring, &portal_id);
                let (done, stored) = (done.clone(), stored.clone());
                s.spawn(move || {
                    let mut ids = Vec::new();
                    for m in (t..members).step_by(threads) {
                        let mut conn = db.conn().expect("a connection");
                        let user_key = UserKey::parse(&format!("bench-member-{m:05}")).expect("uk");
                        let member = tributary::store::members::create(
                            &mut conn, ring, portal_id, &user_key,
                        )
                        .expect("a member");
                        grant(&mut conn, ring, portal_id, &member.id);
                        for (metric, _) in METRICS {
                            let samples: Vec<Sample> = (0..days)
                                .map(|d| sample(metric, m, first_day + Days::new(u64::from(d))))
                                .collect();
                            let report = tributary::ingest::store_samples(
                                &mut conn,
                                ring,
                                &member.id,
                                "demo",
                                metric.id(),
                                &samples,
                            )
                            .expect("stored");
                            stored.fetch_add(report.inserted, Ordering::Relaxed);
                        }
                        ids.push(member.id.as_str().to_owned());
                        let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                        if n % 50 == 0 || n == members {
                            eprintln!(
                                "loaded {n}/{members} members, {} observations, {:.0?}",
                                stored.load(Ordering::Relaxed),
                                started.elapsed()
                            );
                        }
                    }
                    ids
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a loader thread"))
            .collect()
    });
    let observations = stored.load(Ordering::Relaxed);
    // As an operator would after a bulk load: planner statistics, and on PostgreSQL
    // a vacuum (visibility map and hint bits set once, not by the first readers).
    {
        use diesel::RunQueryDsl;
        let mut conn = db.conn().expect("a connection");
        let sql = if backend == "postgres" {
            "VACUUM ANALYZE"
        } else {
            "ANALYZE"
        };
        diesel::sql_query(sql).execute(&mut conn).expect(sql);
    }
    let meta = Meta {
        members,
        days,
        api_key: api_key.clone(),
        member_ids: ids.clone(),
        first_day,
        observations,
    };
    let path = meta_path(backend);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("the bench folder");
    }
    std::fs::write(path, serde_json::to_vec(&meta).expect("json")).expect("meta");
    DataSet {
        api_key,
        members: ids,
        first_day,
        observations,
    }
}

/// An active demo connection granting every bench data type.
fn grant(
    conn: &mut tributary::db::AnyConnection,
    ring: &tributary::keys::KeyRing,
    portal: &PortalId,
    member: &MemberId,
) {
    let data_types: Vec<String> = METRICS.iter().map(|(m, _)| m.id().to_owned()).collect();
    connections::connect(
        conn,
        ring,
        portal,
        member,
        &Grant {
            vendor: "demo",
            data_types: &data_types,
            scopes: &[],
            not_granted: &[],
            vendor_app_id: None,
            vendor_user: None,
            keep_vendor_user: false,
        },
        &Tokens {
            access: SecretString::from("bench-access-token".to_owned()),
            refresh: None,
            access_expires_at: None,
        },
        Channel::Hub,
    )
    .expect("a connection");
}

/// One member's value of one metric on one day, in the member's local day (UTC+1).
fn sample(metric: Metric, member: usize, day: NaiveDate) -> Sample {
    let tz = FixedOffset::east_opt(3600).expect("an offset");
    let at = |d: NaiveDate, h: u32| {
        tz.from_local_datetime(&d.and_hms_opt(h, 0, 0).expect("a time"))
            .single()
            .expect("an instant")
    };
    let seed = (member as u64 * 7919 + u64::from(day.ordinal()) * 31) % 97;
    let next = day + Days::new(1);
    let (value, unit, start, end) = match metric {
        Metric::StepsDaily => (
            format!("{}", 4000 + seed * 91),
            "/d",
            at(day, 0),
            Some(at(next, 0)),
        ),
        Metric::RestingHeartRateDaily => (
            format!("{}", 50 + seed % 20),
            "/min",
            at(day, 0),
            Some(at(next, 0)),
        ),
        Metric::MaxHeartRate24h => (
            format!("{}", 140 + seed % 40),
            "/min",
            at(day, 0),
            Some(at(next, 0)),
        ),
        Metric::EnergyBurnedDaily => (
            format!("{}", 1800 + seed * 7),
            "kcal/d",
            at(day, 0),
            Some(at(next, 0)),
        ),
        Metric::SleepDuration => (
            format!("{}", 380 + seed),
            "min",
            at(day, 0),
            Some(at(day, 7)),
        ),
        Metric::SleepDeep => (
            format!("{}", 60 + seed % 30),
            "min",
            at(day, 0),
            Some(at(day, 7)),
        ),
        Metric::SleepLight => (
            format!("{}", 200 + seed % 60),
            "min",
            at(day, 0),
            Some(at(day, 7)),
        ),
        Metric::SleepRem => (
            format!("{}", 80 + seed % 40),
            "min",
            at(day, 0),
            Some(at(day, 7)),
        ),
        Metric::BodyWeight => (
            format!("{}.{}", 60 + seed % 40, seed % 10),
            "kg",
            at(day, 7),
            None,
        ),
        _ => (format!("{}", 30 + seed % 50), "ms", at(day, 6), None),
    };
    Sample {
        metric,
        vendor_code: metric.id().to_owned(),
        value: Value::Quantity(Quantity {
            value,
            unit: unit.to_owned(),
        }),
        start,
        end,
        device: None,
        vendor_record_id: Some(format!("{member}-{}-{day}", metric.id())),
        trend: None,
    }
}

/// Writes while the search runs, as a sync would: every `every`, the first
/// member's ten values of the last day change, stored through the ingest path
/// (each an `amended` version, so the data set keeps its size), one commit per
/// data type. Runs until `stop`; returns the number of writes and the slowest.
pub fn ingest_while(
    url: &str,
    master_key: &str,
    set: &DataSet,
    days: u32,
    every: std::time::Duration,
    stop: &std::sync::atomic::AtomicBool,
) -> (usize, std::time::Duration) {
    let (db, ring) = tributary::app::open_storage(&settings(url, master_key)).expect("storage");
    let day = set.first_day + Days::new(u64::from(days.saturating_sub(1)));
    let (mut writes, mut slowest) = (0usize, std::time::Duration::ZERO);
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(every);
        let member = MemberId::parse(&set.members[0]).expect("a member id");
        let value = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() % 1_000_000);
        let started = std::time::Instant::now();
        let mut conn = db.conn().expect("a connection");
        for (metric, _) in METRICS {
            let mut s = sample(metric, 0, day);
            // A value that differs from the stored one on every write.
            s.value = Value::Quantity(Quantity {
                value: value.to_string(),
                unit: match s.value {
                    Value::Quantity(q) => q.unit,
                    _ => unreachable!("bench samples are quantities"),
                },
            });
            tributary::ingest::store_samples(&mut conn, &ring, &member, "demo", metric.id(), &[s])
                .expect("stored");
        }
        slowest = slowest.max(started.elapsed());
        writes += 1;
    }
    (writes, slowest)
}
