//! The member export (`GET /v1/members/{user_key}/export`) and the consent history
//! as FHIR Consents (`GET /fhir/r4/Consent`), on both backends, against the real
//! binary: members connected through the consent page and the sandbox, narrowed on
//! the page, revoked through the API. Every document is checked with the shared
//! validator; a large export is checked to stream in bounded memory.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod fhir_support;
use common::demo::connect_vendor;
use common::*;
use fhir_support::*;
use serde_json::Value;
use std::collections::BTreeSet;
use tributary::domain::MemberId;
use tributary::store::connections;

/// GET the export; (status, content type, body).
fn export(hub: &Hub, key: &str, user_key: &str, query: &str) -> (u16, String, String) {
    let res = Api::new(hub, Some(key))
        .request("GET", &format!("/v1/members/{user_key}/export{query}"))
        .send()
        .unwrap();
    let status = res.status().as_u16();
    let ct = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, ct, res.text().unwrap())
}

/// The Bundle export of a member, checked: 200, FHIR JSON, valid.
fn bundle(hub: &Hub, key: &str, user_key: &str) -> Value {
    let (status, ct, body) = export(hub, key, user_key, "");
    assert_eq!(status, 200, "{body}");
    assert_eq!(ct, "application/fhir+json");
    let b: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(b["resourceType"], "Bundle");
    assert_eq!(b["type"], "collection");
    validate(std::slice::from_ref(&b));
    b
}

/// The resources of a Bundle of a given type.
fn of_type<'a>(b: &'a Value, kind: &str) -> Vec<&'a Value> {
    b["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| &e["resource"])
        .filter(|r| r["resourceType"] == kind)
        .collect()
}

/// The ids the FHIR search finds for a member, every page.
fn searched(hub: &Hub, key: &str, member: &str) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    let mut url = format!("/fhir/r4/Observation?patient={member}&_count=1000");
    loop {
        let b: Value = Api::new(hub, Some(key))
            .request("GET", &url)
            .send()
            .unwrap()
            .json()
            .unwrap();
        ids.extend(entries(&b));
        match b["link"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["relation"] == "next")
        {
            Some(next) => {
                let u = url::Url::parse(next["url"].as_str().unwrap()).unwrap();
                url = format!("{}?{}", u.path(), u.query().unwrap());
            }
            None => return ids,
        }
    }
}

fn ids(resources: &[&Value]) -> BTreeSet<String> {
    resources
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

fn statuses(consents: &[&Value]) -> Vec<String> {
    consents
        .iter()
        .map(|c| c["status"].as_str().unwrap().to_owned())
        .collect()
}

fn tag<'a>(c: &'a Value, system: &str) -> &'a str {
    c["meta"]["tag"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["system"] == system)
        .unwrap()["code"]
        .as_str()
        .unwrap()
}

fn member_id(hub: &Hub, key: &str, user_key: &str) -> String {
    let (s, m) = Api::new(hub, Some(key)).call("GET", &format!("/v1/members/{user_key}"), None);
    assert_eq!(s, 200, "{m}");
    m["member_id"].as_str().unwrap().to_owned()
}

on_both_backends! {
    fn the_export_holds_the_members_granted_data_and_its_consent_history(db: TestDb) {
        let (_, key) = create_portal(&db, "A");
        let (_, key_b) = create_portal(&db, "B");
        let hub = Hub::start_serving(db.path(), &db.env(), &[], &["--role", "api"]);
        let alice_page = connect_vendor(&hub, &key, "alice", "demo", &["steps", "heart_rate"], None);
        connect_vendor(&hub, &key, "bob", "demo", &["steps", "heart_rate"], Some("sandbox-user-2"));
        let (alice, bob) = (member_id(&hub, &key, "alice"), member_id(&hub, &key, "bob"));
        let (pool, ring) = db.open(&test_master_key());
        for m in [&alice, &bob] {
            let report = tributary::store::observations::upsert_batch(
                &mut pool.conn().unwrap(), &ring, &MemberId::parse(m).unwrap(), &week(m)).unwrap();
            assert_eq!((report.inserted, report.refused), (14, 1), "body weight is not granted");
        }

        // The Bundle: the Patient, the Consent, exactly what the FHIR search serves.
        let b = bundle(&hub, &key, "alice");
        let patients = of_type(&b, "Patient");
        assert_eq!(patients.len(), 1);
        assert_eq!(patients[0]["id"], alice.as_str());
        assert_eq!(patients[0]["identifier"][0]["value"], "alice");
        let obs = of_type(&b, "Observation");
        assert_eq!(obs.len(), 14);
        assert_eq!(ids(&obs), searched(&hub, &key, &alice));
        assert!(obs.iter().all(|o| o["subject"]["reference"] == format!("Patient/{alice}")));
        let consents = of_type(&b, "Consent");
        assert_eq!(statuses(&consents), ["active"]);
        assert_eq!(consents[0]["performer"][0]["reference"], format!("Patient/{alice}"));
        assert_eq!(tag(consents[0], "urn:tributary:consent-channel"), "consent_page");
        let text = b.to_string();
        assert!(!text.contains(&bob) && !text.contains("\"bob\""), "another member's data");
        assert_eq!(b["entry"].as_array().unwrap().len(), 16);
        for e in b["entry"].as_array().unwrap() {
            let r = &e["resource"];
            assert!(e["fullUrl"].as_str().unwrap().ends_with(&format!("/fhir/r4/{}/{}", r["resourceType"].as_str().unwrap(), r["id"].as_str().unwrap())));
        }

        // NDJSON: the same resources, one a line, each valid.
        let (status, ct, body) = export(&hub, &key, "alice", "?format=ndjson");
        assert_eq!((status, ct.as_str()), (200, "application/fhir+ndjson"));
        let lines: Vec<Value> = body.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert!(body.ends_with('\n'));
        let listed: Vec<Value> = b["entry"].as_array().unwrap().iter().map(|e| e["resource"].clone()).collect();
        assert_eq!(lines, listed);
        validate(&lines);

        // Refusals: a bad format names the parameter; another portal's member is 404.
        for q in ["?format=xml", "?format=", "?_format=json"] {
            let (status, _, body) = export(&hub, &key, "alice", q);
            assert_eq!(status, 400, "{q}: {body}");
            let err: Value = serde_json::from_str(&body).unwrap();
            assert!(err["message"].as_str().unwrap().contains("format"), "{body}");
        }
        assert_eq!(export(&hub, &key_b, "alice", "").0, 404);
        assert_eq!(export(&hub, &key, "nobody", "").0, 404);
        assert_eq!(export(&hub, "trb_wrong", "alice", "").0, 401);

        // Narrowed on the consent page to steps: heart rate leaves the export.
        let page = alice_page.get(&hub.url("/connect"));
        let res = alice_page.submit(&hub.url("/connect"), &page, "/connect/demo/update", Some(("data_type", &["steps"])), None);
        assert_eq!(res.status, 303, "{}", res.body);
        let b = bundle(&hub, &key, "alice");
        let obs = of_type(&b, "Observation");
        assert_eq!(obs.len(), 7);
        assert!(obs.iter().all(|o| o["code"]["coding"][0]["code"] == "41950-7"));
        assert_eq!(ids(&obs), searched(&hub, &key, &alice));
        let consents = of_type(&b, "Consent");
        assert_eq!(statuses(&consents), ["inactive", "active"]);
        assert_eq!(consents[0]["provision"]["period"]["end"], consents[1]["dateTime"]);
        assert_eq!(tag(consents[1], "urn:tributary:consent-action"), "changed");
        let codes = |c: &Value| -> Vec<String> {
            c["provision"]["code"].as_array().unwrap().iter().map(|cc| cc["coding"][0]["code"].as_str().unwrap().to_owned()).collect()
        };
        assert_eq!(codes(consents[0]), ["41950-7", "8867-4"]);
        assert_eq!(codes(consents[1]), ["41950-7"]);

        // The export keeps to active connections on its own: bob's token died
        // (reauth_required); the store still serves his data, the export does not.
        {
            let mut conn = pool.conn().unwrap();
            let c = connections::find(&mut conn, &MemberId::parse(&bob).unwrap(), "demo").unwrap().unwrap();
            connections::mark_reauth_required(&mut conn, &c).unwrap();
        }
        assert_eq!(searched(&hub, &key, &bob).len(), 14);
        let b = bundle(&hub, &key, "bob");
        assert!(of_type(&b, "Observation").is_empty());
        let consents = of_type(&b, "Consent");
        assert_eq!(statuses(&consents), ["inactive", "active"], "the grant stands; the token does not");
        assert_eq!(tag(consents[1], "urn:tributary:consent-channel"), "hub");

        // Revoked through the API: nothing shared, the history complete.
        let (s, body) = Api::new(&hub, Some(&key)).call("DELETE", "/v1/members/alice/connections/demo", None);
        assert!(s == 200 || s == 204, "{s} {body}");
        let b = bundle(&hub, &key, "alice");
        assert!(of_type(&b, "Observation").is_empty());
        let consents = of_type(&b, "Consent");
        assert_eq!(statuses(&consents), ["inactive", "inactive", "inactive"]);
        assert_eq!(consents[1]["provision"]["period"]["end"], consents[2]["dateTime"]);
        assert_eq!(consents[2]["provision"]["type"], "deny");
        assert_eq!(consents[2]["policyRule"]["coding"][0]["code"], "OPTOUT");
        assert_eq!(consents[2]["performer"][0]["type"], "Organization");
        assert_eq!(tag(consents[2], "urn:tributary:consent-channel"), "api");

        // Each export is audited.
        let audit = Api::new(&hub, Some(&key)).call("GET", "/v1/audit-events?limit=500", None).1;
        let exports = audit["data"].as_array().unwrap().iter()
            .filter(|e| e["action"] == "member.export" && e["target_id"] == alice.as_str()).count();
        assert_eq!(exports, 4, "two before narrowing, one after, one after revoking");
        assert!(!hub.logs().contains("\"alice\""), "a User Key in the log");
    }

    fn consents_are_searched_and_read_within_the_portal(db: TestDb) {
        let s = setup(&db);
        {
            let mut conn = s.db.conn().unwrap();
            let m = MemberId::parse(&s.member).unwrap();
            let c = connections::find(&mut conn, &m, "demo").unwrap().unwrap();
            connections::set_data_types(&mut conn, &c, &["steps".to_owned()], connections::Channel::Api, connections::Change::Narrow).unwrap();
        }
        let (st, b) = s.fhir(&s.key_a, &format!("/Consent?patient={}", s.member));
        assert_eq!(st, 200, "{b}");
        assert_eq!(b["type"], "searchset");
        assert_eq!(b["total"], 2);
        validate(std::slice::from_ref(&b));
        let found = entries(&b);
        assert_eq!(found.len(), 2);
        let (st, b2) = s.fhir(&s.key_a, &format!("/Consent?patient=Patient/{}&status=active", s.member));
        assert_eq!(st, 200);
        assert_eq!(entries(&b2), [found[1].clone()]);
        let (_, b3) = s.fhir(&s.key_a, &format!("/Consent?patient={}&status=inactive,active", s.member));
        assert_eq!(entries(&b3), found);

        let (st, first) = s.fhir(&s.key_a, &format!("/Consent/{}", found[0]));
        assert_eq!(st, 200, "{first}");
        assert_eq!(first["resourceType"], "Consent");
        assert_eq!(first["status"], "inactive");
        assert_eq!(first["scope"]["coding"][0]["code"], "patient-privacy");
        assert_eq!(first["category"][0]["coding"][0], serde_json::json!({"system": LOINC, "code": "59284-0"}));
        assert_eq!(first["patient"]["reference"], format!("Patient/{}", s.member));
        assert_eq!(first["policyRule"]["coding"][0]["code"], "OPTIN");
        assert_eq!(first["provision"]["actor"][0]["reference"]["identifier"]["value"], s.portal_a.as_str());
        let (_, second) = s.fhir(&s.key_a, &format!("/Consent/{}", found[1]));
        assert_eq!(first["provision"]["period"]["end"], second["provision"]["period"]["start"]);
        assert_eq!(second["performer"][0]["identifier"]["value"], s.portal_a.as_str(), "changed through the API");
        validate(&[first, second]);

        // Another portal sees nothing; bad input is an OperationOutcome naming it.
        let (st, other) = s.fhir(&s.key_b, &format!("/Consent?patient={}", s.member));
        assert_eq!(st, 200);
        assert!(entries(&other).is_empty());
        assert_eq!(other["total"], 0);
        assert_eq!(s.fhir(&s.key_b, &format!("/Consent/{}", found[0])).0, 404);
        assert_eq!(s.fhir(&s.key_a, "/Consent/no-such-consent").0, 404);
        let (st, oo) = s.fhir(&s.key_a, "/Consent");
        assert_eq!(st, 400);
        assert!(oo["issue"][0]["diagnostics"].as_str().unwrap().contains("patient"));
        let (st, oo) = s.fhir(&s.key_a, &format!("/Consent?patient={}&colour=red", s.member));
        assert_eq!(st, 400);
        assert!(oo["issue"][0]["diagnostics"].as_str().unwrap().contains("colour"));
        let res = Api::new(&s.hub, None).request("GET", &format!("/fhir/r4/Consent?patient={}", s.member)).send().unwrap();
        assert_eq!(res.status(), 401);

        // The CapabilityStatement says so.
        let (_, cs) = s.fhir(&s.key_a, "/metadata");
        let kinds: Vec<&str> = cs["rest"][0]["resource"].as_array().unwrap().iter().map(|r| r["type"].as_str().unwrap()).collect();
        assert!(kinds.contains(&"Consent"), "{kinds:?}");
    }

    fn a_large_export_streams_in_bounded_memory(db: TestDb) {
        let s = setup(&db);
        let start = at("2026-01-01T00:00:00+00:00");
        let n = 40_000;
        for chunk in (0..n).collect::<Vec<i64>>().chunks(2000) {
            let batch: Vec<_> = chunk.iter().map(|i| {
                let when = (start + chrono::Duration::minutes(*i)).to_rfc3339();
                heart_rate(&s.member, &when, 60.0 + (*i % 40) as f64)
            }).collect();
            assert_eq!(s.upsert(&batch).inserted, chunk.len());
        }
        // Warm the hub up on the same rows (the FHIR search reads them in pages of
        // the same size), then measure the export's peak from there.
        assert_eq!(searched(&s.hub, &s.key_a, &s.member).len(), n as usize);
        // The hub's anonymous memory (heap, stacks) sampled while the export runs:
        // what would grow with the member's data. (The SQLite file's pages, mapped
        // by the pool's connections, are file-backed and shared with the page
        // cache; whole-process peak RSS counts them and varies with which
        // connections happened to serve.)
        let pid = s.hub.pid();
        let anon = move || -> u64 {
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
            let line = status.lines().find(|l| l.starts_with("RssAnon:")).unwrap();
            line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
        };
        let before = anon();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let sampler = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut max = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    max = max.max(anon());
                    std::thread::sleep(std::time::Duration::from_millis(2));
                }
                max
            })
        };
        let t = std::time::Instant::now();
        let mut res = Api::new(&s.hub, Some(&s.key_a))
            .request("GET", "/v1/members/alice/export?format=ndjson")
            .timeout(std::time::Duration::from_secs(300))
            .send()
            .unwrap();
        assert_eq!(res.status(), 200);
        let mut out = Vec::new();
        std::io::copy(&mut res, &mut out).unwrap();
        let elapsed = t.elapsed();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let grown = sampler.join().unwrap().saturating_sub(before);
        let lines = out.split(|b| *b == b'\n').filter(|l| !l.is_empty()).count();
        assert_eq!(lines, n as usize + 2, "Patient, Consent and every observation");
        let size = out.len() as u64;
        eprintln!("export: {size} bytes, {lines} lines in {elapsed:?}; anonymous memory grew at most {grown} bytes");
        assert!(size > 15_000_000, "{size}");
        assert!(grown < size / 4, "anonymous memory grew {grown} bytes for a {size}-byte export");
    }
}
