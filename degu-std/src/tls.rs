//! TLS for servers and clients (rustls): safe by default, opinionated like the Python
//! original, and the verified peer identity reaches the app.
//!
//! * Servers require a client certificate signed by a given CA unless built with
//!   [`TlsServerConfig::allow_anonymous`], the only way to accept anonymous clients.
//! * Clients always verify the server certificate: against a given CA, or the system's
//!   roots; host name checking cannot be turned off. The name checked (and sent as SNI)
//!   can be set apart from the address, which AF_UNIX and IP addresses need.
//! * Protocols: TLS 1.3, and TLS 1.2 for older peers; nothing older. Cipher suites: AEAD
//!   with ECDHE only (AES-GCM, ChaCha20-Poly1305), rustls' own policy.

use degu_core::app::PeerIdentity;
use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use sha2::{Digest, Sha256};
use std::fmt;
use std::path::Path;
use std::sync::Arc;

/// Why a TLS configuration could not be built.
#[derive(Debug)]
pub enum TlsError {
    /// A file could not be read.
    Io(std::io::Error),
    /// PEM or DER that is not a certificate or key.
    Pem(String),
    /// rustls refused the configuration (e.g. a key that does not match).
    Rustls(rustls::Error),
    /// The client verifier could not be built (e.g. an empty CA).
    Verifier(String),
    /// No server name to verify (AF_UNIX addresses need one set explicitly).
    NoServerName,
    /// A server name that is neither a DNS name nor an IP address.
    BadServerName(String),
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsError::Io(e) => write!(f, "{e}"),
            TlsError::Pem(e) => write!(f, "bad PEM: {e}"),
            TlsError::Rustls(e) => write!(f, "TLS configuration: {e}"),
            TlsError::Verifier(e) => write!(f, "client verifier: {e}"),
            TlsError::NoServerName => f.write_str("no server name to verify; set one"),
            TlsError::BadServerName(n) => write!(f, "bad server name {n:?}"),
        }
    }
}

impl std::error::Error for TlsError {}

impl From<rustls::Error> for TlsError {
    fn from(e: rustls::Error) -> Self {
        TlsError::Rustls(e)
    }
}

impl From<TlsError> for std::io::Error {
    fn from(e: TlsError) -> Self {
        match e {
            TlsError::Io(e) => e,
            other => std::io::Error::new(std::io::ErrorKind::InvalidInput, other.to_string()),
        }
    }
}

/// Certificates from PEM text.
pub fn certs_from_pem(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem(e.to_string()))?;
    if certs.is_empty() {
        return Err(TlsError::Pem("no certificate".into()));
    }
    Ok(certs)
}

/// A private key (PKCS#8, PKCS#1 or SEC1) from PEM text.
pub fn key_from_pem(pem: &[u8]) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| TlsError::Pem(e.to_string()))
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| {
        TlsError::Io(std::io::Error::new(
            e.kind(),
            format!("{}: {e}", path.display()),
        ))
    })
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

const VERSIONS: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

fn roots(ca: &[CertificateDer<'static>]) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for c in ca {
        roots.add(c.clone())?;
    }
    Ok(roots)
}

/// A server's TLS configuration.
#[derive(Clone)]
pub struct TlsServerConfig {
    inner: Arc<ServerConfig>,
    anonymous: bool,
}

impl fmt::Debug for TlsServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsServerConfig")
            .field("anonymous_clients", &self.anonymous)
            .finish()
    }
}

impl TlsServerConfig {
    /// Serve with `cert_chain` and `key`; every client must present a certificate that
    /// `client_ca` signed.
    pub fn new(
        cert_chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
        client_ca: &[CertificateDer<'static>],
    ) -> Result<Self, TlsError> {
        let verifier =
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots(client_ca)?), provider())
                .build()
                .map_err(|e| TlsError::Verifier(e.to_string()))?;
        let config = ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(VERSIONS)?
            .with_client_cert_verifier(verifier)
            .with_single_cert(cert_chain, key)?;
        Ok(TlsServerConfig {
            inner: Arc::new(config),
            anonymous: false,
        })
    }

    /// Serve with `cert_chain` and `key` to clients without certificates: the only way to
    /// accept anonymous clients, so it cannot happen by leaving out a CA.
    pub fn allow_anonymous(
        cert_chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<Self, TlsError> {
        let config = ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(VERSIONS)?
            .with_no_client_auth()
            .with_single_cert(cert_chain, key)?;
        Ok(TlsServerConfig {
            inner: Arc::new(config),
            anonymous: true,
        })
    }

    /// [`TlsServerConfig::new`] from PEM files.
    pub fn from_pem_files(cert: &Path, key: &Path, client_ca: &Path) -> Result<Self, TlsError> {
        TlsServerConfig::new(
            certs_from_pem(&read(cert)?)?,
            key_from_pem(&read(key)?)?,
            &certs_from_pem(&read(client_ca)?)?,
        )
    }

    /// [`TlsServerConfig::allow_anonymous`] from PEM files.
    pub fn anonymous_from_pem_files(cert: &Path, key: &Path) -> Result<Self, TlsError> {
        TlsServerConfig::allow_anonymous(certs_from_pem(&read(cert)?)?, key_from_pem(&read(key)?)?)
    }

    /// Whether clients without certificates are accepted.
    pub fn allows_anonymous(&self) -> bool {
        self.anonymous
    }

    pub(crate) fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(self.inner.clone())
    }
}

/// A client's TLS configuration.
#[derive(Clone)]
pub struct TlsClientConfig {
    roots: Arc<RootCertStore>,
    client_cert: Option<(Vec<CertificateDer<'static>>, Arc<PrivateKeyDer<'static>>)>,
    server_name: Option<String>,
}

impl fmt::Debug for TlsClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsClientConfig")
            .field("roots", &self.roots.len())
            .field("client_cert", &self.client_cert.is_some())
            .field("server_name", &self.server_name)
            .finish()
    }
}

impl TlsClientConfig {
    /// Verify servers against `ca`.
    pub fn new(ca: &[CertificateDer<'static>]) -> Result<Self, TlsError> {
        Ok(TlsClientConfig {
            roots: Arc::new(roots(ca)?),
            client_cert: None,
            server_name: None,
        })
    }

    /// Verify servers against the system's trusted roots.
    pub fn with_system_roots() -> Result<Self, TlsError> {
        let found = rustls_native_certs::load_native_certs();
        let mut roots = RootCertStore::empty();
        let (added, _) = roots.add_parsable_certificates(found.certs);
        if added == 0 {
            return Err(TlsError::Pem("no usable system root certificates".into()));
        }
        Ok(TlsClientConfig {
            roots: Arc::new(roots),
            client_cert: None,
            server_name: None,
        })
    }

    /// [`TlsClientConfig::new`] from a PEM file, or the system roots when `ca` is `None`.
    pub fn from_pem_file(ca: Option<&Path>) -> Result<Self, TlsError> {
        match ca {
            Some(p) => TlsClientConfig::new(&certs_from_pem(&read(p)?)?),
            None => TlsClientConfig::with_system_roots(),
        }
    }

    /// Present `cert_chain` (signed for `key`) when the server asks for a certificate.
    pub fn with_client_cert(
        mut self,
        cert_chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Self {
        self.client_cert = Some((cert_chain, Arc::new(key)));
        self
    }

    /// [`TlsClientConfig::with_client_cert`] from PEM files.
    pub fn with_client_cert_files(self, cert: &Path, key: &Path) -> Result<Self, TlsError> {
        let chain = certs_from_pem(&read(cert)?)?;
        let key = key_from_pem(&read(key)?)?;
        Ok(self.with_client_cert(chain, key))
    }

    /// Verify (and send as SNI) `name` instead of the host of the address.
    pub fn with_server_name(mut self, name: impl Into<String>) -> Self {
        self.server_name = Some(name.into());
        self
    }

    /// The name set with [`TlsClientConfig::with_server_name`].
    pub fn server_name(&self) -> Option<&str> {
        self.server_name.as_deref()
    }

    pub(crate) fn connector(&self) -> Result<tokio_rustls::TlsConnector, TlsError> {
        Ok(tokio_rustls::TlsConnector::from(self.rustls_config()?))
    }

    pub(crate) fn rustls_config(&self) -> Result<Arc<ClientConfig>, TlsError> {
        let builder = ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(VERSIONS)?
            .with_root_certificates(self.roots.clone());
        let config = match &self.client_cert {
            Some((chain, key)) => builder.with_client_auth_cert(chain.clone(), key.clone_key())?,
            None => builder.with_no_client_auth(),
        };
        Ok(Arc::new(config))
    }

    /// The name to verify: the configured one, else the address's host or IP.
    pub(crate) fn name_for(
        &self,
        address: &crate::Address,
    ) -> Result<ServerName<'static>, TlsError> {
        let name = self
            .server_name
            .clone()
            .or_else(|| address.server_name())
            .ok_or(TlsError::NoServerName)?;
        ServerName::try_from(name.clone()).map_err(|_| TlsError::BadServerName(name))
    }
}

/// The verified certificate chain of a TLS peer, with the leaf's names and fingerprint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsPeer {
    chain: Vec<CertificateDer<'static>>,
    common_name: Option<String>,
    alt_names: Vec<String>,
    fingerprint: [u8; 32],
}

impl TlsPeer {
    /// Read the identity from a verified chain (leaf first); `None` for no chain.
    pub fn from_chain(chain: &[CertificateDer<'_>]) -> Option<TlsPeer> {
        let leaf = chain.first()?;
        let fingerprint: [u8; 32] = Sha256::digest(leaf.as_ref()).into();
        let (mut common_name, mut alt_names) = (None, Vec::new());
        if let Ok((_, cert)) = x509_parser::parse_x509_certificate(leaf.as_ref()) {
            common_name = cert
                .subject()
                .iter_common_name()
                .next()
                .and_then(|cn| cn.as_str().ok())
                .map(str::to_string);
            if let Ok(Some(san)) = cert.subject_alternative_name() {
                for name in &san.value.general_names {
                    match name {
                        x509_parser::extensions::GeneralName::DNSName(d) => {
                            alt_names.push(d.to_string())
                        }
                        x509_parser::extensions::GeneralName::IPAddress(ip) => {
                            if let Ok(a) = <[u8; 4]>::try_from(*ip) {
                                alt_names.push(std::net::Ipv4Addr::from(a).to_string());
                            } else if let Ok(a) = <[u8; 16]>::try_from(*ip) {
                                alt_names.push(std::net::Ipv6Addr::from(a).to_string());
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        Some(TlsPeer {
            chain: chain.iter().map(|c| c.clone().into_owned()).collect(),
            common_name,
            alt_names,
            fingerprint,
        })
    }

    /// The chain, leaf first.
    pub fn chain(&self) -> &[CertificateDer<'static>] {
        &self.chain
    }

    /// The leaf's fingerprint as lower-case hex.
    pub fn fingerprint_hex(&self) -> String {
        self.fingerprint
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

impl PeerIdentity for TlsPeer {
    fn certificate(&self, index: usize) -> Option<&[u8]> {
        self.chain.get(index).map(|c| c.as_ref())
    }

    fn common_name(&self) -> Option<&str> {
        self.common_name.as_deref()
    }

    fn subject_alt_name(&self, index: usize) -> Option<&str> {
        self.alt_names.get(index).map(String::as_str)
    }

    fn fingerprint(&self) -> [u8; 32] {
        self.fingerprint
    }
}
