//! `TempPki`: a throwaway certificate authority with a server and a client certificate,
//! for tests, demos and first deployments (rcgen).
//!
//! ECDSA P-256 by default (what `embedded-tls` devices can sign with); RSA 2048 on
//! request, for peers that only speak TLS 1.2 with RSA suites (such as the Python
//! original). Certificates are valid from yesterday for ten years unless asked
//! otherwise.

use crate::tls::{TlsClientConfig, TlsError, TlsServerConfig};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SignatureAlgorithm,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::path::{Path, PathBuf};
use time::{Duration, OffsetDateTime};

/// The key algorithm of a [`TempPki`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// ECDSA on P-256 with SHA-256.
    EcdsaP256,
    /// RSA 2048 with SHA-256.
    Rsa2048,
}

impl KeyKind {
    fn algorithm(self) -> &'static SignatureAlgorithm {
        match self {
            KeyKind::EcdsaP256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            KeyKind::Rsa2048 => &rcgen::PKCS_RSA_SHA256,
        }
    }
}

/// A certificate and its private key, in PEM and DER.
#[derive(Clone, Debug)]
pub struct CertifiedKey {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// The private key (PKCS#8), PEM.
    pub key_pem: String,
    cert_der: CertificateDer<'static>,
    key_der: Vec<u8>,
}

impl CertifiedKey {
    /// The certificate, DER.
    pub fn cert_der(&self) -> CertificateDer<'static> {
        self.cert_der.clone()
    }

    /// The private key, DER (PKCS#8).
    pub fn key_der(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()))
    }
}

fn rc(e: rcgen::Error) -> TlsError {
    TlsError::Pem(format!("certificate generation: {e}"))
}

/// A throwaway PKI: one CA, a server certificate and a client certificate.
pub struct TempPki {
    kind: KeyKind,
    issuer: Issuer<'static, KeyPair>,
    ca: CertifiedKey,
    server: CertifiedKey,
    client: CertifiedKey,
}

impl std::fmt::Debug for TempPki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TempPki").field("kind", &self.kind).finish()
    }
}

/// The names the default server certificate is valid for.
pub const SERVER_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// The common name of the default client certificate.
pub const CLIENT_NAME: &str = "degu-client";

impl TempPki {
    /// An ECDSA P-256 PKI; the server certificate is valid for [`SERVER_NAMES`].
    pub fn new() -> Result<TempPki, TlsError> {
        TempPki::with_kind(KeyKind::EcdsaP256)
    }

    /// An RSA 2048 PKI.
    pub fn rsa() -> Result<TempPki, TlsError> {
        TempPki::with_kind(KeyKind::Rsa2048)
    }

    /// A PKI with keys of `kind`.
    pub fn with_kind(kind: KeyKind) -> Result<TempPki, TlsError> {
        let ca_key = KeyPair::generate_for(kind.algorithm()).map_err(rc)?;
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(rc)?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "Degu TempPki CA");
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let (not_before, not_after) = default_validity();
        params.not_before = not_before;
        params.not_after = not_after;
        let ca_cert = params.self_signed(&ca_key).map_err(rc)?;
        let ca = CertifiedKey {
            cert_pem: ca_cert.pem(),
            key_pem: ca_key.serialize_pem(),
            cert_der: ca_cert.der().clone(),
            key_der: ca_key.serialize_der(),
        };
        let issuer = Issuer::new(params, ca_key);
        let mut pki = TempPki {
            kind,
            issuer,
            ca: ca.clone(),
            server: ca.clone(),
            client: ca,
        };
        pki.server = pki.issue_server(&SERVER_NAMES)?;
        pki.client = pki.issue_client(CLIENT_NAME, default_validity())?;
        Ok(pki)
    }

    fn issue(
        &self,
        names: &[&str],
        common_name: &str,
        usage: ExtendedKeyUsagePurpose,
        (not_before, not_after): (OffsetDateTime, OffsetDateTime),
    ) -> Result<CertifiedKey, TlsError> {
        let key = KeyPair::generate_for(self.kind.algorithm()).map_err(rc)?;
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let mut params = CertificateParams::new(names).map_err(rc)?;
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![usage];
        params.not_before = not_before;
        params.not_after = not_after;
        let cert = params.signed_by(&key, &self.issuer).map_err(rc)?;
        Ok(CertifiedKey {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            cert_der: cert.der().clone(),
            key_der: key.serialize_der(),
        })
    }

    /// A new server certificate valid for `names` (DNS names or IP addresses).
    pub fn issue_server(&self, names: &[&str]) -> Result<CertifiedKey, TlsError> {
        let cn = names.first().copied().unwrap_or("degu-server");
        self.issue(
            names,
            cn,
            ExtendedKeyUsagePurpose::ServerAuth,
            default_validity(),
        )
    }

    /// A new client certificate with common name `name`, valid from `validity.0` to
    /// `validity.1` (pass dates in the past to make an expired one).
    pub fn issue_client(
        &self,
        name: &str,
        validity: (OffsetDateTime, OffsetDateTime),
    ) -> Result<CertifiedKey, TlsError> {
        self.issue(&[], name, ExtendedKeyUsagePurpose::ClientAuth, validity)
    }

    /// The key algorithm.
    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// The CA certificate and key.
    pub fn ca(&self) -> &CertifiedKey {
        &self.ca
    }

    /// The server certificate and key.
    pub fn server(&self) -> &CertifiedKey {
        &self.server
    }

    /// The client certificate and key.
    pub fn client(&self) -> &CertifiedKey {
        &self.client
    }

    /// A server config that requires client certificates signed by this CA.
    pub fn server_config(&self) -> Result<TlsServerConfig, TlsError> {
        TlsServerConfig::new(
            vec![self.server.cert_der()],
            self.server.key_der(),
            &[self.ca.cert_der()],
        )
    }

    /// A server config that accepts clients without certificates.
    pub fn anonymous_server_config(&self) -> Result<TlsServerConfig, TlsError> {
        TlsServerConfig::allow_anonymous(vec![self.server.cert_der()], self.server.key_der())
    }

    /// A client config that verifies servers against this CA and presents the client
    /// certificate.
    pub fn client_config(&self) -> Result<TlsClientConfig, TlsError> {
        Ok(self
            .anonymous_client_config()?
            .with_client_cert(vec![self.client.cert_der()], self.client.key_der()))
    }

    /// A client config that verifies servers against this CA, without a certificate.
    pub fn anonymous_client_config(&self) -> Result<TlsClientConfig, TlsError> {
        TlsClientConfig::new(&[self.ca.cert_der()])
    }

    /// Write `ca.pem`, `server.pem`, `server.key`, `client.pem` and `client.key` into
    /// `dir` (keys readable by the owner only).
    pub fn write_pem_files(&self, dir: &Path) -> std::io::Result<PemFiles> {
        let files = PemFiles {
            ca: dir.join("ca.pem"),
            server_cert: dir.join("server.pem"),
            server_key: dir.join("server.key"),
            client_cert: dir.join("client.pem"),
            client_key: dir.join("client.key"),
        };
        std::fs::write(&files.ca, &self.ca.cert_pem)?;
        std::fs::write(&files.server_cert, &self.server.cert_pem)?;
        std::fs::write(&files.client_cert, &self.client.cert_pem)?;
        write_private(&files.server_key, &self.server.key_pem)?;
        write_private(&files.client_key, &self.client.key_pem)?;
        Ok(files)
    }
}

fn write_private(path: &Path, pem: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?
        .write_all(pem.as_bytes())
}

/// Where [`TempPki::write_pem_files`] put each file.
#[derive(Clone, Debug)]
pub struct PemFiles {
    /// CA certificate.
    pub ca: PathBuf,
    /// Server certificate.
    pub server_cert: PathBuf,
    /// Server key.
    pub server_key: PathBuf,
    /// Client certificate.
    pub client_cert: PathBuf,
    /// Client key.
    pub client_key: PathBuf,
}

/// From yesterday (clock skew between device and gateway) for ten years.
pub fn default_validity() -> (OffsetDateTime, OffsetDateTime) {
    let now = OffsetDateTime::now_utc();
    (now - Duration::days(1), now + Duration::days(3650))
}
