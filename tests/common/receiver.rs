//! The Python webhook receiver of `tests/fixtures/webhooks/receiver.py` (it verifies
//! every signature with the `standardwebhooks` PyPI package), for tests other than
//! tests/webhooks.rs.

use super::eventually;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};

pub struct Receiver {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl Receiver {
    pub fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/webhooks/receiver.py");
        let dir = tempfile::tempdir().unwrap();
        let child = Command::new("python3")
            .arg(script)
            .arg(port.to_string())
            .arg(dir.path())
            .spawn()
            .unwrap();
        let up = eventually(20, || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        assert!(up, "the receiver did not start");
        Self {
            port,
            dir,
            child: Some(child),
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn set_secrets(&self, secrets: &[&str]) {
        std::fs::write(self.file("secrets.json"), json!(secrets).to_string()).unwrap();
    }

    /// The bodies of accepted (2xx, signature verified) requests, in order.
    pub fn accepted(&self) -> Vec<Value> {
        std::fs::read_to_string(self.file("log.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|l| l["status"] == 200)
            .map(|l| serde_json::from_str(l["body"].as_str().unwrap()).unwrap())
            .collect()
    }

    /// Accepted bodies of one type.
    pub fn of_type(&self, kind: &str) -> Vec<Value> {
        self.accepted()
            .into_iter()
            .filter(|b| b["type"] == kind)
            .collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
