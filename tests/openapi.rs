//! `/openapi.json` documents exactly the routes the server registers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;
use std::collections::BTreeSet;

on_both_backends! {
    fn the_document_lists_exactly_the_served_routes(db: TestDb) {
        let hub = Hub::start(db.path(), &db.env());
        let res = hub.get("/openapi.json");
        assert_eq!(res.status(), 200);
        let doc: serde_json::Value = res.json().unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3."));

        let mut documented = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                documented.insert((method.to_uppercase(), path.clone()));
                let responses = op["responses"].as_object().unwrap();
                if path.starts_with("/v1/") {
                    for code in ["401", "403", "429"] {
                        assert!(responses.contains_key(code), "{method} {path} does not document {code}");
                    }
                    assert!(op["security"].is_array(), "{method} {path} has no security");
                }
            }
        }
        let served: BTreeSet<_> = tributary::api::ROUTES
            .iter()
            .map(|(m, p)| (m.to_uppercase(), (*p).to_owned()))
            .collect();
        assert_eq!(documented, served, "document and router differ");

        // And each served route answers (not 404 from the fallback) on the live server.
        let api = Api::new(&hub, None);
        for (method, path) in &served {
            let concrete = path.replace("{user_key}", "u").replace("{id}", "i");
            let status = api.request(method, &concrete).send().unwrap().status().as_u16();
            assert!(status == 401 || status < 300 || status == 503, "{method} {concrete}: {status}");
        }
    }
}
