//! TLS termination with rustls: TLS 1.2 and 1.3 only (rustls implements nothing
//! older), the `ring` provider, HTTP/1.1 over ALPN.
//!
//! The certificate and key are read and checked at start, so a missing file, a file
//! that is not PEM or a key that does not match the certificate stops `serve` with a
//! message naming the setting, before anything is bound.

use crate::config::TlsSettings;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::sync::Arc;

/// Build the server configuration from the configured PEM files.
pub fn server_config(tls: &TlsSettings) -> anyhow::Result<rustls::ServerConfig> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&tls.cert_file)
        .and_then(|certs| certs.collect::<Result<_, _>>())
        .map_err(|e| {
            anyhow::anyhow!(
                "server.tls_cert_file {}: not a readable PEM certificate chain ({e})",
                tls.cert_file.display()
            )
        })?;
    if certs.is_empty() {
        anyhow::bail!(
            "server.tls_cert_file {}: holds no CERTIFICATE block",
            tls.cert_file.display()
        );
    }
    // The error of a key file never quotes its contents.
    let key = PrivateKeyDer::from_pem_file(&tls.key_file).map_err(|e| {
        anyhow::anyhow!(
            "server.tls_key_file {}: not a readable PEM private key ({})",
            tls.key_file.display(),
            key_error_kind(&e)
        )
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| {
            anyhow::anyhow!(
                "server.tls_cert_file and server.tls_key_file do not make a usable pair: {e}"
            )
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

fn key_error_kind(e: &rustls::pki_types::pem::Error) -> &'static str {
    use rustls::pki_types::pem::Error;
    match e {
        Error::Io(_) => "cannot read the file",
        Error::NoItemsFound => "no PRIVATE KEY block",
        _ => "malformed PEM",
    }
}
