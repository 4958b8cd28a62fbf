//! `serve` terminates TLS itself when given a certificate and key: HTTPS with HSTS,
//! TLS 1.2 and 1.3 only, and bad certificate settings stop it before it binds.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

/// A self-signed certificate for localhost: `(cert.pem, key.pem, cert PEM text)`.
fn self_signed(db: &TestDb) -> (PathBuf, PathBuf, String) {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let cert_pem = cert.cert.pem();
    let cert_file = db.path().join("cert.pem");
    let key_file = db.path().join("key.pem");
    std::fs::write(&cert_file, &cert_pem).unwrap();
    std::fs::write(&key_file, cert.key_pair.serialize_pem()).unwrap();
    (cert_file, key_file, cert_pem)
}

fn tls_config(db: &TestDb, cert: &std::path::Path, key: &std::path::Path) -> PathBuf {
    db.write_config(&format!(
        "[server]\ntls_cert_file = {:?}\ntls_key_file = {:?}\n",
        cert.display().to_string(),
        key.display().to_string()
    ))
}

/// Does `openssl s_client` complete a handshake with this protocol flag?
fn openssl_handshake(port: u16, flag: &str) -> Option<bool> {
    let out = Command::new("openssl")
        .args(["s_client", flag, "-connect", &format!("127.0.0.1:{port}")])
        .stdin(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    Some(out.status.success() && text.contains("Cipher is") && !text.contains("Cipher is (NONE)"))
}

on_both_backends! {
    fn serves_https_with_hsts_and_only_modern_tls(db: TestDb) {
        let (cert, key, pem) = self_signed(&db);
        let config = tls_config(&db, &cert, &key);
        let hub = Hub::start_with(db.path(), &db.env(), &["--config", config.to_str().unwrap()]);
        let client = reqwest::blocking::Client::builder()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).unwrap())
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        let port = hub.addr.port();
        for path in ["/healthz", "/v1/members", "/nowhere"] {
            let res = client.get(format!("https://localhost:{port}{path}")).send().unwrap();
            let h = res.headers();
            assert_eq!(h["strict-transport-security"], "max-age=31536000", "{path}");
            assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        }
        let res = client.get(format!("https://localhost:{port}/healthz")).send().unwrap();
        assert_eq!(res.status(), 200);

        // Plain HTTP to the TLS port gets no HTTP answer.
        let plain = reqwest::blocking::Client::new()
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .timeout(Duration::from_secs(10))
            .send();
        assert!(plain.is_err() || plain.unwrap().status() != 200);

        // openssl (an independent client) shakes hands on 1.2 and 1.3, never on 1.1.
        match openssl_handshake(port, "-tls1_1") {
            Some(ok) => {
                assert!(!ok, "TLS 1.1 handshake succeeded");
                assert_eq!(openssl_handshake(port, "-tls1_2"), Some(true), "TLS 1.2 refused");
                assert_eq!(openssl_handshake(port, "-tls1_3"), Some(true), "TLS 1.3 refused");
            }
            None => assert!(std::env::var_os("CI").is_none(), "openssl is missing"),
        }
    }

    fn bad_tls_settings_stop_serve_before_it_binds(db: TestDb) {
        let (cert, key, _) = self_signed(&db);
        let env = db.env();
        let serve = |config: PathBuf| {
            let out = run(db.path(), &env, &["--config", config.to_str().unwrap(), "serve"]);
            (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
        };

        // One file without the other is a configuration error (exit 2).
        let only_cert = db.write_config(&format!("[server]\ntls_cert_file = {:?}\n", cert.display().to_string()));
        let (code, err) = serve(only_cert);
        assert_eq!(code, Some(2), "{err}");
        assert!(err.contains("server.tls_key_file"), "{err}");

        // A missing key file, a certificate that is not PEM, a key of another certificate.
        let missing = db.path().join("missing.pem");
        let (code, err) = serve(tls_config(&db, &cert, &missing));
        assert_eq!(code, Some(1), "{err}");
        assert!(err.contains("server.tls_key_file") && err.contains("missing.pem"), "{err}");

        let garbage = db.path().join("garbage.pem");
        std::fs::write(&garbage, "not a certificate").unwrap();
        let (code, err) = serve(tls_config(&db, &garbage, &key));
        assert_eq!(code, Some(1), "{err}");
        assert!(err.contains("server.tls_cert_file") && err.contains("no CERTIFICATE"), "{err}");

        let other = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let other_key = db.path().join("other-key.pem");
        let secret_pem = other.key_pair.serialize_pem();
        std::fs::write(&other_key, &secret_pem).unwrap();
        let (code, err) = serve(tls_config(&db, &cert, &other_key));
        assert_eq!(code, Some(1), "{err}");
        assert!(err.contains("do not make a usable pair"), "{err}");
        let key_body = secret_pem.lines().nth(1).unwrap();
        assert!(!err.contains(key_body), "the key leaked into the error");
    }
}
