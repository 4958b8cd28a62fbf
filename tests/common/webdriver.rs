//! Headless Chromium through chromedriver, spoken to in the W3C WebDriver protocol
//! over HTTP (a few calls: navigate, find, click, type, read, screenshot). Written
//! here rather than taken from fantoccini, whose rustls TLS stack pulls in aws-lc
//! (a C/cmake build) for a client that only ever talks to localhost.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use base64::Engine;
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Chrome {
    driver: Child,
    base: String,
    session: String,
    http: reqwest::blocking::Client,
}

/// The element reference key of the W3C protocol.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

impl Chrome {
    /// Start chromedriver and a headless Chromium session; `None` (with a note)
    /// when chromedriver is not installed, except in CI, where that fails.
    pub fn start() -> Option<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = match Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
        {
            Ok(d) => d,
            Err(e) => {
                assert!(
                    std::env::var_os("CI").is_none(),
                    "chromedriver is missing ({e}); .ci/run installs it"
                );
                eprintln!("note: chromedriver is missing, browser test skipped (apt-get install chromium chromium-driver)");
                return None;
            }
        };
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let ready = super::eventually(20, || {
            http.get(format!("{base}/status"))
                .send()
                .ok()
                .and_then(|r| r.json::<Value>().ok())
                .is_some_and(|v| v["value"]["ready"] == true)
        });
        assert!(ready, "chromedriver did not become ready");
        let mut chrome = Self {
            driver,
            base,
            session: String::new(),
            http,
        };
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-dev-shm-usage", "--window-size=420,1100"
            ]}
        }}});
        let v = chrome.call("POST", "/session", Some(caps));
        chrome.session = v["sessionId"].as_str().expect("a session id").to_owned();
        Some(chrome)
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = if path == "/session" {
            format!("{}{path}", self.base)
        } else {
            format!("{}/session/{}{path}", self.base, self.session)
        };
        let rb = self
            .http
            .request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url);
        let rb = match body {
            Some(b) => rb.json(&b),
            None => rb,
        };
        let res = rb.send().unwrap();
        let status = res.status();
        let v: Value = res.json().unwrap();
        assert!(
            status.is_success(),
            "WebDriver {method} {path}: {status} {v}"
        );
        v["value"].clone()
    }

    pub fn goto(&self, url: &str) {
        self.call("POST", "/url", Some(json!({"url": url})));
    }

    pub fn url(&self) -> String {
        self.call("GET", "/url", None).as_str().unwrap().to_owned()
    }

    /// Wait (up to 10 s) until the address starts with `prefix`: a click that starts
    /// a chain of redirects returns before the last page has loaded.
    pub fn wait_for_url(&self, prefix: &str) -> String {
        for _ in 0..50 {
            let url = self.url();
            if url.starts_with(prefix) {
                return url;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("the browser is at {}, not {prefix}…", self.url());
    }

    pub fn source(&self) -> String {
        self.call("GET", "/source", None)
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// The element matching a CSS selector (waits up to 10 s for it).
    pub fn find(&self, css: &str) -> String {
        let mut last = None;
        for _ in 0..50 {
            let url = format!("{}/session/{}/element", self.base, self.session);
            let res = self
                .http
                .post(url)
                .json(&json!({"using": "css selector", "value": css}))
                .send()
                .unwrap();
            if res.status().is_success() {
                let v: Value = res.json().unwrap();
                return v["value"][ELEMENT]
                    .as_str()
                    .unwrap_or_else(|| panic!("find {css}: {v}"))
                    .to_owned();
            }
            last = Some(res.text().unwrap());
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("no element {css}: {last:?}\n{}", self.source());
    }

    pub fn click(&self, css: &str) {
        let id = self.find(css);
        self.call("POST", &format!("/element/{id}/click"), Some(json!({})));
    }

    /// Type into an element as a keyboard would (a space toggles a checkbox).
    pub fn keys(&self, css: &str, text: &str) {
        let id = self.find(css);
        self.call(
            "POST",
            &format!("/element/{id}/value"),
            Some(json!({"text": text})),
        );
    }

    pub fn selected(&self, css: &str) -> bool {
        let id = self.find(css);
        self.call("GET", &format!("/element/{id}/selected"), None)
            .as_bool()
            .unwrap()
    }

    pub fn text(&self, css: &str) -> String {
        let id = self.find(css);
        self.call("GET", &format!("/element/{id}/text"), None)
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Save a PNG of the viewport.
    pub fn screenshot(&self, path: &std::path::Path) {
        let b64 = self.call("GET", "/screenshot", None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().unwrap())
            .unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
    }
}

impl Drop for Chrome {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self
                .http
                .delete(format!("{}/session/{}", self.base, self.session))
                .send();
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
