//! The TLS row's certificates: one [`TempPki`] (ECDSA P-256) for both systems. Degu uses
//! its own `TempPki` configs; hyper gets rustls configs built from the same certificates
//! the way degu-std builds its own: the aws-lc-rs provider, TLS 1.3 and 1.2, client
//! certificates required and verified against the CA on the server, the client
//! verifying the server and presenting its certificate.

use crate::BoxError;
use degu_std::TempPki;
use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use std::sync::Arc;

const VERSIONS: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

fn roots(pki: &TempPki) -> Result<Arc<RootCertStore>, BoxError> {
    let mut roots = RootCertStore::empty();
    roots.add(pki.ca().cert_der())?;
    Ok(Arc::new(roots))
}

/// hyper's server config: the `TempPki` server certificate, client certificates
/// required (signed by the `TempPki` CA).
pub fn hyper_server_config(pki: &TempPki) -> Result<Arc<ServerConfig>, BoxError> {
    let verifier = WebPkiClientVerifier::builder_with_provider(roots(pki)?, provider()).build()?;
    let config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(VERSIONS)?
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![pki.server().cert_der()], pki.server().key_der())?;
    Ok(Arc::new(config))
}

/// hyper's client config: verify the server against the `TempPki` CA, present the
/// `TempPki` client certificate.
pub fn hyper_client_config(pki: &TempPki) -> Result<Arc<ClientConfig>, BoxError> {
    let config = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(VERSIONS)?
        .with_root_certificates(roots(pki)?)
        .with_client_auth_cert(vec![pki.client().cert_der()], pki.client().key_der())?;
    Ok(Arc::new(config))
}
