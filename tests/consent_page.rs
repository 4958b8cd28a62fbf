//! The consent flow in headless Chromium over WebDriver, as a member does it: open
//! the link, untick a data type with the keyboard, connect, approve at the sandbox,
//! land back on the page with exactly the ticked types shared, then disconnect.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::webdriver::Chrome;
use common::*;
use serde_json::json;

on_both_backends! {
    fn a_member_connects_and_disconnects_in_chromium(db: TestDb) {
        let Some(chrome) = Chrome::start() else { return };
        let (_, key) = create_portal(&db, "Example Clinic");
        let hub = Hub::start(db.path(), &db.env());
        let api = Api::new(&hub, Some(&key));
        assert_eq!(api.call("POST", "/v1/members", Some(json!({"user_key": "alice"}))).0, 201);
        let (s, link) = api.call("POST", "/v1/members/alice/connect-sessions",
            Some(json!({"return_url": "https://portal.example.com/done"})));
        assert_eq!(s, 201);

        chrome.goto(link["url"].as_str().unwrap());
        assert_eq!(chrome.url(), hub.url("/connect"), "the token left the address bar");
        assert!(chrome.text("h1").contains("Connect your devices"));
        assert!(chrome.selected("#dt-demo-heart_rate"));
        // Keyboard: a space on the focused checkbox unticks it.
        chrome.keys("#dt-demo-heart_rate", " ");
        assert!(!chrome.selected("#dt-demo-heart_rate"));
        // Labels: clicking a label toggles its checkbox.
        chrome.click("label[for=dt-demo-body_weight]");
        assert!(!chrome.selected("#dt-demo-body_weight"));
        chrome.click("label[for=dt-demo-body_weight]");
        assert!(chrome.selected("#dt-demo-body_weight"));
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
        chrome.screenshot(&dir.join(format!("consent-page-{}.png", db_name(&db))));

        chrome.click("#authorize-demo");
        chrome.wait_for_url(&hub.url("/sandbox/demo/oauth/authorize"));
        chrome.click("#approve");

        chrome.wait_for_url(&hub.url("/connect?notice=connected"));
        assert!(chrome.text("#notice").contains("Connected to Demo Health"));
        assert!(chrome.text("#status-demo").contains("Connected"));
        assert!(chrome.selected("#dt-demo-steps"));
        assert!(!chrome.selected("#dt-demo-heart_rate"));
        assert!(chrome.selected("#dt-demo-body_weight"));
        chrome.screenshot(&dir.join(format!("consent-page-connected-{}.png", db_name(&db))));
        let list = api.call("GET", "/v1/members/alice/connections", None).1;
        assert_eq!(list["data"][0]["status"], "active");
        assert_eq!(list["data"][0]["data_types"], json!(["steps", "body_weight"]));

        chrome.click("#disconnect-demo");
        chrome.wait_for_url(&hub.url("/connect?notice=disconnected"));
        assert!(chrome.text("#notice").contains("Disconnected from Demo Health"));
        assert_eq!(chrome.text("#status-demo"), "Disconnected");
        let list = api.call("GET", "/v1/members/alice/connections", None).1;
        assert_eq!(list["data"][0]["status"], "revoked");

        // No script ran: the page has none, and its policy forbids any.
        assert!(!chrome.source().contains("<script"));
    }
}

fn db_name(db: &TestDb) -> &'static str {
    match db.backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}
