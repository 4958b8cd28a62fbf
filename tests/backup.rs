//! Backup and restore, on both backends: a backup taken while the hub serves
//! restores into a fresh database that answers the API exactly as before; the file
//! shows nothing of the database in clear; a restore re-applies journalled
//! erasures; every refusal (wrong key, truncated, altered, not a backup, other
//! backend, a database that is not empty) names its reason, exits 1 and changes
//! nothing; the cron-scheduled backup writes files and prunes the old ones.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::demo::connect_member;
use common::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Small backfills, no incremental tick (yearly) so the answers stay still, and
/// room for the traffic made while the backup runs.
const CONFIG: &str = "[sync]\nbackfill_days = 2\nschedule = \"0 0 0 1 1 *\"\n[api]\nrate_limit_per_second = 10000\nrate_limit_burst = 10000\n";

/// A serving hub with alice and bob connected to demo (backfilled) and carol
/// without a connection.
fn populate(db: &TestDb) -> (Hub, String) {
    let cfg = db.write_config(CONFIG);
    let hub = Hub::start_with(db.path(), &db.env(), &["--config", cfg.to_str().unwrap()]);
    let (_, key) = create_portal(db, "P");
    connect_member(&hub, &key, "alice", Some("user-a"));
    connect_member(&hub, &key, "bob", Some("user-b"));
    let api = Api::new(&hub, Some(&key));
    assert_eq!(
        api.call("POST", "/v1/members", Some(json!({"user_key": "carol"})))
            .0,
        201
    );
    let settled = eventually(90, || {
        let idle = ["alice", "bob"].iter().all(|m| {
            let (_, c) = api.call("GET", &format!("/v1/members/{m}/connections"), None);
            let sync = c["data"][0]["sync"].as_array().cloned().unwrap_or_default();
            !sync.is_empty() && sync.iter().all(|s| s["state"] == "idle")
        });
        idle && pending_jobs(db) == 0
    });
    assert!(settled, "the backfills did not finish");
    (hub, key)
}

fn pending_jobs(db: &TestDb) -> i64 {
    use diesel::prelude::*;
    use tributary::db::schema::jobs::dsl;
    dsl::jobs
        .filter(dsl::state.eq_any(["queued", "running"]))
        .count()
        .get_result(&mut db.raw_conn())
        .unwrap()
}

fn member_id(api: &Api, user_key: &str) -> String {
    let (s, v) = api.call("GET", &format!("/v1/members/{user_key}"), None);
    assert_eq!(s, 200, "{v}");
    v["member_id"].as_str().unwrap().to_owned()
}

/// A response with the hub's own address taken out (links name it) and the
/// searchset's own id and time dropped.
fn get(hub: &Hub, key: &str, path: &str) -> (u16, Value) {
    let (s, v) = Api::new(hub, Some(key)).call("GET", path, None);
    let text = v.to_string().replace(&hub.url(""), "HUB");
    let mut v: Value = serde_json::from_str(&text).unwrap();
    if let Some(o) = v.as_object_mut() {
        if o.get("resourceType") == Some(&json!("Bundle")) {
            for k in ["id", "meta", "timestamp"] {
                o.remove(k);
            }
        }
    }
    (s, v)
}

/// What the API says of these members: member, connections, Patient, and every
/// Observation (searched in pages of 1000).
fn answers(hub: &Hub, key: &str, ids: &[(&str, String)]) -> Value {
    let mut out = serde_json::Map::new();
    for (user_key, id) in ids {
        out.insert(
            user_key.to_string(),
            json!({
                "member": get(hub, key, &format!("/v1/members/{user_key}")),
                "connections": get(hub, key, &format!("/v1/members/{user_key}/connections")),
                "patient": get(hub, key, &format!("/fhir/r4/Patient/{id}")),
                "observations": get(hub, key, &format!("/fhir/r4/Observation?patient={id}&_count=1000")),
            }),
        );
    }
    Value::Object(out)
}

fn entries(answer: &Value, user_key: &str) -> usize {
    answer[user_key]["observations"][1]["entry"]
        .as_array()
        .map_or(0, Vec::len)
}

/// `tributary backup --out FILE` in `db`'s folder.
fn backup(db: &TestDb, out: &Path) -> Value {
    let o = run(
        db.path(),
        &db.env(),
        &["backup", "--out", out.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// The binary's environment.
type Env = Vec<(&'static str, String)>;

fn restore(db: &TestDb, env: &[(&'static str, String)], args: &[&str]) -> std::process::Output {
    let mut all = vec!["restore"];
    all.extend_from_slice(args);
    run(db.path(), env, &all)
}

/// The database has no tables (and, for SQLite, no file or an empty one).
fn is_empty(db: &TestDb) -> bool {
    match db.backend {
        Backend::Sqlite => std::fs::metadata(db.sqlite_file()).map_or(true, |m| m.len() == 0),
        Backend::Postgres => {
            use diesel::prelude::*;
            #[derive(QueryableByName)]
            struct N {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                n: i64,
            }
            let mut c = diesel::PgConnection::establish(db.url()).unwrap();
            diesel::sql_query("SELECT count(*) AS n FROM pg_tables WHERE schemaname = 'public'")
                .get_result::<N>(&mut c)
                .unwrap()
                .n
                == 0
        }
    }
}

const MARKER: &str = "tributary_restore_pending";

fn mark(db: &TestDb) {
    use diesel::RunQueryDsl;
    if db.backend == Backend::Sqlite {
        std::fs::create_dir_all(db.sqlite_file().parent().unwrap()).unwrap();
    }
    let mut c = db.raw_conn();
    diesel::sql_query(format!("CREATE TABLE {MARKER} (started_at TEXT NOT NULL)"))
        .execute(&mut c)
        .unwrap();
}

fn has_marker(db: &TestDb) -> bool {
    let mut c = db.raw_conn();
    tributary::backup::unfinished_restore(&mut c).unwrap()
}

/// Files the backup or restore left beside the SQLite database.
fn leftovers(db: &TestDb) -> Vec<String> {
    let Ok(dir) = std::fs::read_dir(db.path().join("data")) else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".tributary-"))
        .collect()
}

fn backend_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}

fn other(backend: Backend) -> Backend {
    match backend {
        Backend::Sqlite => Backend::Postgres,
        Backend::Postgres => Backend::Sqlite,
    }
}

fn journal_line(member_id: &str, portal_id: &str) -> String {
    // A deletion receipt signed with the key the test master key derives: restore
    // trusts no other line.
    use base64::Engine;
    let bytes: [u8; 32] = base64::engine::general_purpose::STANDARD
        .decode(test_master_key())
        .unwrap()
        .try_into()
        .unwrap();
    let master = tributary::crypto::SecretKey::from_bytes(1, bytes);
    let signer =
        tributary::erasure::ReceiptSigner::from_seed(&tributary::keys::receipt_seed(&master));
    let receipt = signer.sign(
        uuid::Uuid::new_v4().to_string(),
        None,
        portal_id,
        member_id,
        chrono::Utc::now(),
        tributary::store::purge::Counts::default(),
        0,
        true,
    );
    serde_json::to_string(&receipt).unwrap()
}

on_both_backends! {
    fn a_backup_taken_while_serving_restores_to_the_same_answers(db: TestDb) {
        let (hub, key) = populate(&db);
        let api = Api::new(&hub, Some(&key));
        let ids: Vec<(&str, String)> = ["alice", "bob", "carol"].iter().map(|m| (*m, member_id(&api, m))).collect();
        let before = answers(&hub, &key, &ids);
        assert!(entries(&before, "alice") > 0 && entries(&before, "bob") > 0, "{before}");

        // Readers and a writer keep the hub busy while the backup runs.
        let (stop, served, created) = (AtomicBool::new(false), AtomicUsize::new(0), AtomicUsize::new(0));
        let out = db.path().join("hub.trb");
        let written = std::thread::scope(|s| {
            s.spawn(|| {
                let api = Api::new(&hub, Some(&key));
                while !stop.load(Ordering::Relaxed) {
                    assert_eq!(api.call("GET", "/v1/members/alice/connections", None).0, 200);
                    served.fetch_add(1, Ordering::Relaxed);
                }
            });
            s.spawn(|| {
                let api = Api::new(&hub, Some(&key));
                while !stop.load(Ordering::Relaxed) {
                    let n = created.fetch_add(1, Ordering::Relaxed);
                    let user_key = format!("during-{n}");
                    assert_eq!(api.call("POST", "/v1/members", Some(json!({"user_key": user_key}))).0, 201);
                }
            });
            let written = backup(&db, &out);
            stop.store(true, Ordering::Relaxed);
            written
        });
        assert!(served.load(Ordering::Relaxed) > 0);
        assert_eq!(written["backend"], backend_name(db.backend));
        assert_eq!(written["bytes"], std::fs::metadata(&out).unwrap().len());
        assert!(leftovers(&db).is_empty(), "{:?}", leftovers(&db));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&out).unwrap().permissions().mode() & 0o777, 0o600);
        }

        // Nothing of the database in clear. (Needles of five bytes or more: a
        // three-byte one such as "bob" turns up by chance in megabytes of
        // ciphertext about once in ten runs.)
        let bytes = std::fs::read(&out).unwrap();
        for needle in ["SQLite format 3", "observations", "member_keys", "PGDMP", "alice", "carol", "CREATE TABLE"] {
            assert!(!contains(&bytes, needle.as_bytes()), "{needle} in clear in the backup");
        }

        // Into a fresh database, with the same master key.
        let fresh = TestDb::new(db.backend);
        let o = restore(&fresh, &fresh.env(), &[out.to_str().unwrap(), "--no-journal"]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let summary: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(summary["erasures_reapplied"], 0, "{summary}");
        assert!(summary["tables"].as_u64().unwrap() > 10 && summary["rows"].as_u64().unwrap() > 0, "{summary}");
        assert!(leftovers(&fresh).is_empty(), "{:?}", leftovers(&fresh));
        let restored = Hub::start_serving(fresh.path(), &fresh.env(), &[], &["--role", "api"]);
        assert_eq!(answers(&restored, &key, &ids), before);
    }

    fn a_restore_reapplies_the_journalled_erasures(db: TestDb) {
        let (hub, key) = populate(&db);
        let api = Api::new(&hub, Some(&key));
        let ids: Vec<(&str, String)> = ["alice", "bob", "carol"].iter().map(|m| (*m, member_id(&api, m))).collect();
        let before = answers(&hub, &key, &ids);
        let alice_obs = before["alice"]["observations"][1]["entry"][0]["resource"]["id"].as_str().unwrap().to_owned();
        let out = db.path().join("hub.trb");
        backup(&db, &out);
        drop(hub);

        // Alice was erased after the backup (a journal given with --journal), and
        // carol too (the configured journal, erasure.journal_path).
        let portal: String = {
            use diesel::prelude::*;
            use tributary::db::schema::portals::dsl;
            dsl::portals.select(dsl::id).first(&mut db.raw_conn()).unwrap()
        };
        let fresh = TestDb::new(db.backend);
        let journal = fresh.path().join("elsewhere.jsonl");
        std::fs::write(&journal, format!("{}\n", journal_line(&ids[0].1, &portal))).unwrap();
        std::fs::create_dir_all(fresh.path().join("data")).unwrap();
        std::fs::write(fresh.path().join("data/erasure-journal.jsonl"), format!("{}\n\n", journal_line(&ids[2].1, &portal))).unwrap();
        let o = restore(&fresh, &fresh.env(), &[out.to_str().unwrap(), "--journal", journal.to_str().unwrap()]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let summary: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!((summary["journal_entries"].as_u64(), summary["erasures_reapplied"].as_u64()), (Some(2), Some(2)), "{summary}");

        let restored = Hub::start_serving(fresh.path(), &fresh.env(), &[], &["--role", "api"]);
        let (alice, carol) = (&ids[0].1, &ids[2].1);
        for path in [
            "/v1/members/alice".to_owned(),
            "/v1/members/alice/connections".to_owned(),
            "/v1/members/carol".to_owned(),
            format!("/fhir/r4/Patient/{alice}"),
            format!("/fhir/r4/Patient/{carol}"),
            format!("/fhir/r4/Observation/{alice_obs}"),
        ] {
            let (s, v) = get(&restored, &key, &path);
            assert_eq!(s, 404, "{path}: {v}");
        }
        // A search names no resource: it finds nothing.
        let (s, v) = get(&restored, &key, &format!("/fhir/r4/Observation?patient={alice}"));
        assert!(s == 200 && v.get("entry").is_none(), "{v}");
        let now = answers(&restored, &key, &ids[1..2]);
        assert_eq!(now["bob"], before["bob"]);
        use diesel::prelude::*;
        use tributary::db::schema::{member_keys, observations};
        let mut conn = fresh.raw_conn();
        let left: i64 = observations::table.filter(observations::member_id.eq(alice)).count().get_result(&mut conn).unwrap();
        let keys: i64 = member_keys::table.filter(member_keys::member_id.eq_any([alice, carol])).count().get_result(&mut conn).unwrap();
        assert_eq!((left, keys), (0, 0));
    }

    fn refusals_name_the_problem_and_change_nothing(db: TestDb) {
        create_portal(&db, "P");
        let out = db.path().join("hub.trb");
        backup(&db, &out);
        let good = std::fs::read(&out).unwrap();
        let file = |name: &str, bytes: &[u8]| -> PathBuf {
            let p = db.path().join(name);
            std::fs::write(&p, bytes).unwrap();
            p
        };
        let truncated = file("truncated.trb", &good[..good.len() - 100]);
        let mut flipped = good.clone();
        let middle = flipped.len() / 2 + 50;
        flipped[middle] ^= 0x40;
        let altered = file("altered.trb", &flipped);
        let text = file("notes.txt", b"these are not the droids\n");

        let fresh = TestDb::new(db.backend);
        let wrong_key = vec![
            ("TRIBUTARY_DATABASE_URL", fresh.url().to_owned()),
            ("TRIBUTARY_MASTER_KEY", other_master_key()),
        ];
        let elsewhere = TestDb::new(other(db.backend));
        let cases: Vec<(&str, &TestDb, Env, PathBuf, String)> = vec![
            ("wrong master key", &fresh, wrong_key, out.clone(), "wrong master key".into()),
            ("truncated", &fresh, fresh.env(), truncated, "truncated".into()),
            ("altered", &fresh, fresh.env(), altered, "altered".into()),
            ("not a backup", &fresh, fresh.env(), text, "not a Tributary backup".into()),
            ("other backend", &elsewhere, elsewhere.env(), out.clone(), format!("is a {} backup", backend_name(db.backend))),
            ("not empty", &db, db.env(), out.clone(), "is not empty".into()),
        ];
        for (case, target, env, path, expected) in cases {
            let o = restore(target, &env, &[path.to_str().unwrap(), "--no-journal"]);
            let stderr = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(1), "{case}: {stderr}");
            let line = stderr.lines().find(|l| l.starts_with("tributary: ")).unwrap_or_else(|| panic!("{case}: {stderr}"));
            assert!(line.contains(&expected), "{case}: {line}");
            if case == "not empty" {
                let named = match db.backend { Backend::Sqlite => db.sqlite_file().display().to_string(), Backend::Postgres => db.pg_name().to_owned() };
                assert!(line.contains(&named), "{line}");
            } else {
                assert!(is_empty(target), "{case}: the target changed");
                assert!(leftovers(target).is_empty(), "{case}: {:?}", leftovers(target));
            }
        }
        // Usage errors are 2.
        assert_eq!(restore(&fresh, &fresh.env(), &[]).status.code(), Some(2));
        assert_eq!(run(db.path(), &db.env(), &["backup"]).status.code(), Some(2));
        // Without the erasure journal, and no word that there is none: refused.
        let o = restore(&fresh, &fresh.env(), &[out.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&o.stderr).contains("--no-journal"), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(is_empty(&fresh));
        // The targets are still usable: the good file restores into the fresh one.
        let o = restore(&fresh, &fresh.env(), &[out.to_str().unwrap(), "--no-journal"]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        // And an existing output file is never overwritten.
        let o = run(db.path(), &db.env(), &["backup", "--out", out.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(1));
        assert_eq!(std::fs::read(&out).unwrap(), good);
    }

    fn an_unfinished_restore_blocks_the_hub_until_restored_again(db: TestDb) {
        create_portal(&db, "P");
        let out = db.path().join("hub.trb");
        backup(&db, &out);
        let out = out.to_str().unwrap();
        let fresh = TestDb::new(db.backend);
        let o = restore(&fresh, &fresh.env(), &[out, "--no-journal"]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(!has_marker(&fresh), "a finished restore leaves no marker");
        // What a restore that stopped after the data went in (before the journal
        // was re-applied) leaves: the marker. Nothing opens that database.
        mark(&fresh);
        let copy = fresh.path().join("copy.trb");
        let o = run(fresh.path(), &fresh.env(), &["backup", "--out", copy.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(stderr.contains("a restore into this database did not finish"), "{stderr}");
        assert!(!copy.exists());
        let o = run(fresh.path(), &fresh.env(), &["serve"]);
        assert_eq!(o.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&o.stderr).contains("did not finish"));
        // A database holding nothing but the marker (a restore that failed before
        // any data) counts as empty: the restore is simply run again.
        let other = TestDb::new(db.backend);
        mark(&other);
        let o = restore(&other, &other.env(), &[out, "--no-journal"]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(!has_marker(&other));
        let copy = other.path().join("copy.trb");
        backup(&other, &copy);
    }

    fn the_scheduled_backup_writes_files_and_keeps_the_newest(db: TestDb) {
        let dir = db.path().join("backups");
        let cfg = db.write_config(&format!(
            "[backup]\nschedule = \"*/1 * * * * *\"\ndir = \"{}\"\nkeep = 2\n",
            dir.display()
        ));
        let hub = Hub::start_with(db.path(), &db.env(), &["--config", cfg.to_str().unwrap()]);
        create_portal(&db, "P");
        let list = || -> Vec<String> {
            let mut names: Vec<String> = std::fs::read_dir(&dir)
                .map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).filter(|n| n.ends_with(".trb")).collect())
                .unwrap_or_default();
            names.sort();
            names
        };
        let mut seen = std::collections::BTreeSet::new();
        let pruned = eventually(60, || {
            let names = list();
            assert!(names.len() <= 3, "{names:?}");
            seen.extend(names.iter().cloned());
            seen.len() >= 4 && names.len() == 2
        });
        assert!(pruned, "seen {seen:?}, now {:?}", list());
        assert!(list().iter().all(|n| n.starts_with("tributary-") && n.ends_with("Z.trb")), "{:?}", list());
        let logs = hub.logs();
        hub.terminate();
        assert!(leftovers(&db).is_empty(), "{:?}", leftovers(&db));
        assert!(logs.contains("scheduled backup written") && logs.contains("old backup deleted"), "{logs}");
        assert!(!logs.contains(db.url()) && !logs.contains(&dir.display().to_string()), "{logs}");

        // The newest scheduled backup restores.
        let newest = dir.join(list().last().unwrap());
        let fresh = TestDb::new(db.backend);
        let o = restore(&fresh, &fresh.env(), &[newest.to_str().unwrap(), "--no-journal"]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let portals: i64 = {
            use diesel::prelude::*;
            use tributary::db::schema::portals::dsl;
            dsl::portals.count().get_result(&mut fresh.raw_conn()).unwrap()
        };
        assert_eq!(portals, 1);
    }
}
