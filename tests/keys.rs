//! The key hierarchy against a real database, on both backends: sealed rows,
//! ciphertexts moved between rows, wrong master keys, rotation, and a raw scan of
//! what the database holds on disk.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;
use diesel::prelude::*;
use tributary::db::schema::{member_keys, members};
use tributary::domain::{MemberId, PortalId, UserKey};
use tributary::keys::{member_key, KeyRing};
use tributary::store::{members as store_members, portals, StoreError};

fn user_key(s: &str) -> UserKey {
    UserKey::parse(s).unwrap()
}

fn new_portal(db: &tributary::db::Database) -> PortalId {
    portals::create(&mut db.conn().unwrap(), "Clinic")
        .unwrap()
        .id
}

on_both_backends! {
    fn members_round_trip_through_sealed_storage(db: TestDb) {
        let (pool, ring) = db.open(&test_master_key());
        let conn = &mut pool.conn().unwrap();
        let portal = new_portal(&pool);
        let other_portal = new_portal(&pool);
        let m = store_members::create(conn, &ring, &portal, &user_key("alice")).unwrap();

        let found = store_members::find(conn, &ring, &portal, &user_key("alice")).unwrap();
        assert_eq!(found.id, m.id);
        assert_eq!(found.user_key, user_key("alice"));
        assert!(matches!(
            store_members::create(conn, &ring, &portal, &user_key("alice")),
            Err(StoreError::Conflict)
        ));
        // The same User Key in another portal is another member.
        let elsewhere = store_members::create(conn, &ring, &other_portal, &user_key("alice")).unwrap();
        assert_ne!(elsewhere.id, m.id);
        assert!(matches!(
            store_members::find(conn, &ring, &portal, &user_key("bob")),
            Err(StoreError::NotFound)
        ));
    }

    fn a_ciphertext_copied_to_another_members_row_does_not_open(db: TestDb) {
        let (pool, ring) = db.open(&test_master_key());
        let conn = &mut pool.conn().unwrap();
        let portal = new_portal(&pool);
        let a = store_members::create(conn, &ring, &portal, &user_key("alice")).unwrap();
        let b = store_members::create(conn, &ring, &portal, &user_key("bob")).unwrap();

        // A's sealed User Key pasted into B's row: B's key and B's row id both differ.
        let sealed_a: Vec<u8> = members::table
            .find(a.id.as_str())
            .select(members::user_key_sealed)
            .first(conn)
            .unwrap();
        diesel::update(members::table.find(b.id.as_str()))
            .set(members::user_key_sealed.eq(&sealed_a))
            .execute(conn)
            .unwrap();
        let err = store_members::get(conn, &ring, &b.id).unwrap_err();
        assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
        assert!(!err.to_string().contains("alice"));

        // A's wrapped data key pasted into B's key row: bound to A, so it fails too.
        let wrapped_a: Vec<u8> = member_keys::table
            .find(a.id.as_str())
            .select(member_keys::wrapped)
            .first(conn)
            .unwrap();
        diesel::update(member_keys::table.find(b.id.as_str()))
            .set(member_keys::wrapped.eq(&wrapped_a))
            .execute(conn)
            .unwrap();
        assert!(member_key(conn, &ring, b.id.as_str()).is_err());

        // A is untouched by all of this.
        assert_eq!(store_members::get(conn, &ring, &a.id).unwrap().user_key, user_key("alice"));
    }

    fn a_truncated_or_altered_row_is_an_error_not_garbage(db: TestDb) {
        let (pool, ring) = db.open(&test_master_key());
        let conn = &mut pool.conn().unwrap();
        let portal = new_portal(&pool);
        let m = store_members::create(conn, &ring, &portal, &user_key("carol")).unwrap();
        let sealed: Vec<u8> = members::table
            .find(m.id.as_str())
            .select(members::user_key_sealed)
            .first(conn)
            .unwrap();
        for bad in [sealed[..sealed.len() - 1].to_vec(), sealed[..10].to_vec(), {
            let mut v = sealed.clone();
            let last = v.len() - 1;
            v[last] ^= 0x80;
            v
        }] {
            diesel::update(members::table.find(m.id.as_str()))
                .set(members::user_key_sealed.eq(&bad))
                .execute(conn)
                .unwrap();
            assert!(matches!(store_members::get(conn, &ring, &m.id), Err(StoreError::Corrupt(_))));
        }
    }

    fn a_wrong_master_key_never_opens_the_ring(db: TestDb) {
        let (pool, _ring) = db.open(&test_master_key());
        let master = tributary::keys::load_master_key(&db.settings(&other_master_key()).master_key).unwrap();
        let err = KeyRing::unlock(&mut pool.conn().unwrap(), master).unwrap_err();
        assert!(err.to_string().contains("wrong master key"), "{err}");

        // The binary refuses to start with it, before binding, and says why.
        let mut env = db.env();
        env[1].1 = other_master_key();
        let out = run(db.path(), &env, &["serve"]);
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("wrong master key"), "{stderr}");
        assert!(!stderr.contains("listening"));
    }

    fn rotation_rewraps_member_keys_and_old_data_still_opens(db: TestDb) {
        let (pool, ring) = db.open(&test_master_key());
        let portal = new_portal(&pool);
        let before: Vec<MemberId> = (0..3)
            .map(|i| {
                store_members::create(&mut pool.conn().unwrap(), &ring, &portal, &user_key(&format!("m{i}")))
                    .unwrap()
                    .id
            })
            .collect();

        let rotate = || {
            let out = run(db.path(), &db.env(), &["keys", "rotate"]);
            assert!(out.status.success(), "{:?} {}", out.status, String::from_utf8_lossy(&out.stderr));
            serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
        };
        let first = rotate();
        assert_eq!(first["new_version"], 2);
        assert_eq!(first["rewrapped_member_keys"], 3);

        // The running ring (opened before the rotation) picks up v2 on demand.
        let conn = &mut pool.conn().unwrap();
        for (i, id) in before.iter().enumerate() {
            let m = store_members::get(conn, &ring, id).unwrap();
            assert_eq!(m.user_key, user_key(&format!("m{i}")));
        }
        let versions: Vec<i32> = member_keys::table.select(member_keys::kek_version).load(conn).unwrap();
        assert!(versions.iter().all(|v| *v == 2), "{versions:?}");

        // New wraps use the newest version, even from a ring unlocked before rotation.
        let fresh = store_members::create(conn, &ring, &portal, &user_key("after")).unwrap();
        let v: i32 = member_keys::table.find(fresh.id.as_str()).select(member_keys::kek_version).first(conn).unwrap();
        assert_eq!(v, 2);

        let second = rotate();
        assert_eq!(second["new_version"], 3);
        assert_eq!(second["rewrapped_member_keys"], 4);
        let (pool2, ring2) = db.open(&test_master_key());
        let conn2 = &mut pool2.conn().unwrap();
        for id in before.iter().chain([&fresh.id]) {
            store_members::get(conn2, &ring2, id).unwrap();
            store_members::get(conn, &ring, id).unwrap();
        }
    }

    fn no_plaintext_marker_reaches_the_database(db: TestDb) {
        let marker = "MARKER-7f3a9c-PLAINTEXT";
        let (pool, ring) = db.open(&test_master_key());
        let conn = &mut pool.conn().unwrap();
        let portal = new_portal(&pool);
        for i in 0..20 {
            store_members::create(conn, &ring, &portal, &user_key(&format!("{marker}-{i}"))).unwrap();
        }
        match db.backend {
            Backend::Sqlite => {
                let mut scanned = 0;
                for suffix in ["", "-wal", "-shm"] {
                    let path = format!("{}{suffix}", db.sqlite_file().display());
                    if let Ok(bytes) = std::fs::read(&path) {
                        scanned += bytes.len();
                        assert!(!contains(&bytes, marker.as_bytes()), "plaintext in {path}");
                    }
                }
                assert!(scanned > 0);
            }
            Backend::Postgres => {
                let dump = postgres_table_text(&db, &["key_ring", "portals", "members", "member_keys"]);
                assert!(dump.contains("user_key_sealed"), "dump is empty");
                assert!(!dump.contains(marker), "plaintext in a table");
                let files = postgres_relation_files(&db, &["members", "member_keys", "key_ring"]);
                assert!(!files.is_empty());
                for (path, bytes) in files {
                    assert!(!contains(&bytes, marker.as_bytes()), "plaintext in {path}");
                }
            }
        }
        // And the stored values open to what was written.
        let found = store_members::find(conn, &ring, &portal, &user_key(&format!("{marker}-3"))).unwrap();
        assert_eq!(found.user_key.expose(), format!("{marker}-3"));
    }
}

on_both_backends! {
    fn pooled_connections_enforce_foreign_keys_and_sqlite_runs_in_wal(db: TestDb) {
        let (pool, _ring) = db.open(&test_master_key());
        let mut conn = pool.conn().unwrap();
        let orphan = diesel::insert_into(members::table)
            .values((
                members::id.eq(MemberId::new().as_str()),
                members::portal_id.eq(PortalId::new().as_str()),
                members::user_key_hash.eq(vec![1u8]),
                members::user_key_sealed.eq(vec![1u8]),
                members::created_at.eq(chrono::Utc::now().naive_utc()),
            ))
            .execute(&mut *conn);
        assert!(orphan.is_err(), "a member of a portal that does not exist was stored");

        if let tributary::db::AnyConnection::Sqlite(c) = &mut *conn {
            #[derive(QueryableByName)]
            struct Mode {
                #[diesel(sql_type = diesel::sql_types::Text)]
                journal_mode: String,
            }
            #[derive(QueryableByName)]
            struct Busy {
                #[diesel(sql_type = diesel::sql_types::Integer)]
                timeout: i32,
            }
            let mode: Mode = diesel::sql_query("PRAGMA journal_mode").get_result(c).unwrap();
            assert_eq!(mode.journal_mode, "wal");
            let busy: Busy = diesel::sql_query("PRAGMA busy_timeout").get_result(c).unwrap();
            assert_eq!(busy.timeout, 5000);
        }
    }
}
