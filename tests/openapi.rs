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
        validate_with_a_third_party_validator(&doc);

        let mut documented = BTreeSet::new();
        let mut operation_ids = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                documented.insert((method.to_uppercase(), path.clone()));
                let id = op["operationId"].as_str().unwrap().to_owned();
                assert!(operation_ids.insert(id.clone()), "operationId {id} used twice");
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

/// openapi-spec-validator (PyPI), an implementation no one here wrote. `.ci/run`
/// installs it; on a machine without it the check is skipped with a note, except in
/// CI, where a missing validator fails.
fn validate_with_a_third_party_validator(doc: &serde_json::Value) {
    use std::io::Write;
    let mut child = match std::process::Command::new("python3")
        .args(["-c", "import json,sys\nfrom openapi_spec_validator import validate\nvalidate(json.load(sys.stdin))"])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => return missing(&format!("python3: {e}")),
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(doc.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("No module named 'openapi_spec_validator'") {
        return missing("the openapi-spec-validator module");
    }
    assert!(
        out.status.success(),
        "/openapi.json is not valid OpenAPI:\n{stderr}"
    );
}

fn missing(what: &str) {
    assert!(
        std::env::var_os("CI").is_none(),
        "{what} is missing; .ci/run installs it"
    );
    eprintln!(
        "note: {what} is missing, OpenAPI validation skipped (pip install openapi-spec-validator)"
    );
}
