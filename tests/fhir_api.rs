//! The observation store and the FHIR API on both backends: idempotent upserts and
//! amendments, search semantics, keyset paging under inserts, consent, tenant
//! isolation, OperationOutcomes, Bulk Data export. Every FHIR document served is
//! checked with the shared validator (`../shared/tools/fhir-validate`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod fhir_support;
use common::*;
use fhir_support::*;
use serde_json::{json, Value};
use tributary::domain::MemberId;
use tributary::store::observations::UpsertReport;

on_both_backends! {
    fn upserts_are_idempotent_and_amend_with_a_new_version(db: TestDb) {
        let s = setup(&db);
        let batch = week(&s.member);
        let first = s.upsert(&batch);
        assert_eq!(first, UpsertReport { inserted: 14, amended: 0, unchanged: 0, refused: 1 });
        let again = s.upsert(&batch);
        assert_eq!(again, UpsertReport { inserted: 0, amended: 0, unchanged: 14, refused: 1 });
        assert_eq!(s.ids("_count=100").len(), 14, "one copy of each");

        let changed = heart_rate(&s.member, "2026-11-02T08:00:00+01:00", 99.0);
        let id = changed.id.clone();
        assert_eq!(s.upsert(&[changed]).amended, 1);
        let (st, obs) = s.fhir(&s.key_a, &format!("/Observation/{id}"));
        assert_eq!(st, 200);
        assert_eq!(obs["status"], "amended");
        assert_eq!(obs["meta"]["versionId"], "2");
        assert_eq!(obs["valueQuantity"]["value"], 99.0);
        assert_eq!(obs["effectiveDateTime"], "2026-11-02T08:00:00+01:00", "offset kept");
        assert!(obs["meta"]["lastUpdated"].as_str().unwrap().ends_with('Z'));
        validate(&[obs]);

        // Not granted: body weight is neither stored nor served.
        let w = weight(&s.member, "2026-11-03T07:00:00+01:00", 70.5);
        assert_eq!(s.fhir(&s.key_a, &format!("/Observation/{}", w.id)).0, 404);
        assert!(s.ids("code=29463-7").is_empty());
        let raw = raw_database_finds(&db, &["observations"], "demo:hr:2026");
        assert!(raw.is_empty(), "resource in clear: {raw:?}");
    }

    fn search_follows_fhir_semantics(db: TestDb) {
        let s = setup(&db);
        s.upsert(&week(&s.member));
        let hr = |d: u32| obs_id(&s.member, &format!("demo:hr:2026-11-{d:02}T08:00:00+01:00"));
        let st = |d: u32| obs_id(&s.member, &format!("demo:steps:2026-11-{d:02}"));
        assert_eq!(s.ids("code=http://loinc.org|8867-4"), (1..=7).map(hr).collect::<Vec<_>>());
        assert_eq!(s.ids("code=8867-4"), (1..=7).map(hr).collect::<Vec<_>>());
        assert!(s.ids("code=http://snomed.info/sct|8867-4").is_empty());
        assert_eq!(s.ids("code=8867-4,41950-7").len(), 14);
        assert_eq!(s.ids("category=activity"), (1..=7).map(st).collect::<Vec<_>>());
        assert_eq!(s.ids(&format!("category={CAT}|vital-signs")).len(), 7);
        // Day precision: eq holds what lies within the day (UTC).
        assert_eq!(s.ids("code=8867-4&date=2026-11-03"), vec![hr(3)]);
        assert_eq!(s.ids("code=8867-4&date=ge2026-11-03&date=le2026-11-04"), vec![hr(3), hr(4)]);
        assert_eq!(s.ids("code=8867-4&date=gt2026-11-05"), vec![hr(6), hr(7)]);
        assert_eq!(s.ids("code=8867-4&date=lt2026-11-02"), vec![hr(1)]);
        assert_eq!(s.ids("code=8867-4&date=2026-11").len(), 7);
        assert!(s.ids("code=8867-4&date=2025").is_empty());
        assert_eq!(s.ids("code=8867-4&date=2026-11-03T08:00:00%2B01:00"), vec![hr(3)]);
        // Steps of 3 Nov (+01:00) overlap 2 Nov 23:00 UTC: ge on the 3rd UTC includes
        // the day starting 2 Nov 23:00Z; le 2 Nov includes it too.
        assert!(s.ids("code=41950-7&date=le2026-11-02").contains(&st(3)));
        assert!(s.ids("code=41950-7&date=ge2026-11-03").contains(&st(3)));
        assert_eq!(s.ids("code=8867-4&_sort=-date"), (1..=7).rev().map(hr).collect::<Vec<_>>());
        assert_eq!(s.ids("_lastUpdated=ge2020-01-01").len(), 14);
        assert!(s.ids("_lastUpdated=lt2020-01-01").is_empty());
        let (st, b) = s.fhir(&s.key_a, &format!("/Observation?code=8867-4&patient=Patient/{}", s.member));
        assert_eq!((st, entries(&b).len()), (200, 7));

        // Errors are OperationOutcomes naming the parameter.
        for (q, name) in [("foo=1", "foo"), ("date=2026-13", "date"), ("_count=5000", "_count"), ("_sort=x", "_sort"), ("date=sa2026", "date")] {
            let (st, oo) = s.fhir(&s.key_a, &format!("/Observation?patient={}&{q}", s.member));
            assert_eq!(st, 400, "{q}");
            assert_eq!(oo["resourceType"], "OperationOutcome");
            assert!(oo["issue"][0]["diagnostics"].as_str().unwrap().contains(name), "{oo}");
            validate(&[oo]);
        }
        let res = Api::new(&s.hub, Some(&s.key_a))
            .request("GET", &format!("/fhir/r4/Observation?patient={}&foo=1", s.member))
            .header("Prefer", "handling=lenient").send().unwrap();
        assert_eq!(res.status(), 200);
    }

    fn paging_is_stable_while_data_arrives(db: TestDb) {
        let s = setup(&db);
        s.upsert(&week(&s.member));
        let before = s.ids("code=8867-4&_count=100");
        let mut seen = Vec::new();
        let mut next = Some(format!("/Observation?patient={}&code=8867-4&_count=2", s.member));
        let mut round = 0;
        while let Some(path) = next {
            let (st, b) = s.fhir(&s.key_a, &path);
            assert_eq!(st, 200);
            validate(std::slice::from_ref(&b));
            seen.extend(entries(&b));
            // New readings arrive between pages, before and after the cursor.
            round += 1;
            s.upsert(&[heart_rate(&s.member, &format!("2026-10-{round:02}T08:00:00+01:00"), 50.0),
                       heart_rate(&s.member, &format!("2026-12-{round:02}T08:00:00+01:00"), 50.0)]);
            next = b["link"].as_array().unwrap().iter()
                .find(|l| l["relation"] == "next")
                .map(|l| l["url"].as_str().unwrap().split("/fhir/r4").nth(1).unwrap().to_owned());
            assert!(round < 50);
        }
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), seen.len(), "no duplicates");
        for id in &before {
            assert!(seen.contains(id), "no gaps");
        }
    }

    fn portals_and_credentials_are_enforced(db: TestDb) {
        let s = setup(&db);
        let batch = week(&s.member);
        s.upsert(&batch);
        let id = &batch[0].id;
        let (st, p) = s.fhir(&s.key_a, &format!("/Patient/{}", s.member));
        assert_eq!(st, 200);
        assert_eq!(p["identifier"][0]["value"], "alice");
        assert!(p.get("name").is_none());
        validate(&[p]);
        assert_eq!(s.fhir(&s.key_b, &format!("/Patient/{}", s.member)).0, 404);
        assert_eq!(s.fhir(&s.key_b, &format!("/Patient/{}", MemberId::new())).0, 404);
        assert_eq!(s.fhir(&s.key_b, &format!("/Observation/{id}")).0, 404);
        assert_eq!(s.fhir(&s.key_b, "/Observation/0123456789abcdef0123456789abcdef").0, 404);
        let (st, b) = s.fhir(&s.key_b, &format!("/Observation?patient={}", s.member));
        assert_eq!(st, 200);
        assert!(entries(&b).is_empty());
        let (st, oo) = s.fhir("trb_nope", "/Observation/x");
        assert_eq!(st, 401);
        validate(&[oo]);
        // Search authenticates on its own path (one query with the member's access):
        // a bad key is refused before anything, even before a bad parameter is named;
        // a key without `data:read` is refused whatever the query.
        let search = format!("/Observation?patient={}", s.member);
        for path in [search.as_str(), "/Observation?bogus=1"] {
            let (st, oo) = s.fhir("trb_nope", path);
            assert_eq!(st, 401, "{path}: {oo}");
            validate(&[oo]);
        }
        let out = run(db.path(), &db.env(), &["portal", "key", "create", "--portal", &s.portal_a, "--scopes", "members:write"]);
        assert!(out.status.success());
        let writer: Value = serde_json::from_slice(&out.stdout).unwrap();
        let writer = writer["api_key"].as_str().unwrap();
        for path in [search.as_str(), "/Observation?bogus=1"] {
            let (st, oo) = s.fhir(writer, path);
            assert_eq!(st, 403, "{path}: {oo}");
            validate(&[oo]);
        }
        let (st, oo) = s.fhir(&s.key_a, "/Observation?bogus=1");
        assert_eq!(st, 400);
        assert!(oo.to_string().contains("bogus"), "{oo}");
        let (st, cs) = s.fhir(&s.key_a, "/metadata");
        assert_eq!(st, 200);
        assert_eq!(cs["fhirVersion"], "4.0.1");
        validate(&[cs]);
    }

    fn bulk_export_runs_streams_and_cancels(db: TestDb) {
        let s = setup(&db);
        s.upsert(&week(&s.member));
        let api = Api::new(&s.hub, Some(&s.key_a));
        let res = api.request("GET", "/fhir/r4/$export?_type=Patient,Observation").send().unwrap();
        assert_eq!(res.status(), 400, "Prefer: respond-async is required");
        let kick = |key: &str| {
            Api::new(&s.hub, Some(key)).request("POST", "/fhir/r4/Patient/$export?_outputFormat=application/fhir%2Bndjson")
                .header("Prefer", "respond-async").send().unwrap()
        };
        let res = kick(&s.key_a);
        assert_eq!(res.status(), 202);
        let status_url = res.headers()["content-location"].to_str().unwrap().to_owned();
        let path = status_url.split_once(&s.hub.addr.to_string()).unwrap().1.to_owned();
        let mut manifest = Value::Null;
        assert!(eventually(30, || {
            let r = api.request("GET", &path).send().unwrap();
            if r.status() == 200 { manifest = r.json().unwrap(); true } else { assert_eq!(r.status(), 202); false }
        }));
        assert_eq!(manifest["requiresAccessToken"], true);
        assert_eq!(manifest["error"], json!([]));
        let out = manifest["output"].as_array().unwrap();
        let count = |t: &str| out.iter().find(|o| o["type"] == t).unwrap()["count"].as_i64().unwrap();
        assert_eq!((count("Patient"), count("Observation")), (1, 14));
        let dir = tempfile::tempdir().unwrap();
        let mut files = Vec::new();
        for o in out {
            let url = o["url"].as_str().unwrap();
            let file_path = url.split_once(&s.hub.addr.to_string()).unwrap().1;
            let r = api.request("GET", file_path).send().unwrap();
            assert_eq!(r.status(), 200);
            assert_eq!(r.headers()["content-type"], "application/fhir+ndjson");
            let text = r.text().unwrap();
            assert_eq!(text.lines().count() as i64, o["count"].as_i64().unwrap());
            let p = dir.path().join(format!("{}.ndjson", o["type"].as_str().unwrap()));
            std::fs::write(&p, &text).unwrap();
            files.push(p);
            let other = Api::new(&s.hub, Some(&s.key_b)).request("GET", file_path).send().unwrap();
            assert_eq!(other.status(), 404, "another portal's file");
        }
        validate_files(&files);
        assert_eq!(Api::new(&s.hub, Some(&s.key_b)).request("GET", &path).send().unwrap().status(), 404);
        assert_eq!(Api::new(&s.hub, Some(&s.key_b)).request("DELETE", &path).send().unwrap().status(), 404);
        assert_eq!(api.request("DELETE", &path).send().unwrap().status(), 202);
        assert_eq!(api.request("GET", &path).send().unwrap().status(), 404);
        let first = out[0]["url"].as_str().unwrap().split_once(&s.hub.addr.to_string()).unwrap().1.to_owned();
        assert_eq!(api.request("GET", &first).send().unwrap().status(), 404, "files removed");
        let raw = raw_database_finds(&db, &["export_chunks"], "demo:hr:2026");
        assert!(raw.is_empty(), "export in clear: {raw:?}");
    }
}

on_both_backends! {
    fn concurrent_batches_of_one_member_queue_and_store_one_copy(db: TestDb) {
        let s = setup(&db);
        let batch = week(&s.member);
        let reports: Vec<UpsertReport> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..4).map(|_| scope.spawn(|| s.upsert(&batch))).collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let inserted: usize = reports.iter().map(|r| r.inserted).sum();
        let unchanged: usize = reports.iter().map(|r| r.unchanged).sum();
        assert_eq!((inserted, unchanged), (14, 42), "{reports:?}");
        assert_eq!(s.ids("_count=100").len(), 14);
    }
}

on_both_backends! {
    fn concurrent_sign_ups_and_connects_queue_instead_of_failing(db: TestDb) {
        // Several members created (API) and connected (store) at the same moment:
        // on SQLite each write transaction takes the write lock at BEGIN and waits
        // for the others, so none fails with "database is locked".
        let s = setup(&db);
        let members: Vec<String> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|i| {
                    let s = &s;
                    scope.spawn(move || {
                        let (st, m) = Api::new(&s.hub, Some(&s.key_a)).call(
                            "POST",
                            "/v1/members",
                            Some(json!({"user_key": format!("member-{i}")})),
                        );
                        assert_eq!(st, 201, "{m}");
                        m["member_id"].as_str().unwrap().to_owned()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        std::thread::scope(|scope| {
            for m in &members {
                let s = &s;
                scope.spawn(move || connect_demo(&s.db, &s.ring, &s.portal_a, m, &["steps"]));
            }
        });
        let reports: Vec<UpsertReport> = std::thread::scope(|scope| {
            let handles: Vec<_> = members
                .iter()
                .map(|m| {
                    let s = &s;
                    scope.spawn(move || s.upsert_for(m, &week(m)))
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for r in reports {
            // Steps granted; heart rate and body weight not.
            assert_eq!(r, UpsertReport { inserted: 7, amended: 0, unchanged: 0, refused: 8 });
        }
    }
}
