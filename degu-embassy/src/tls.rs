//! A TLS 1.3 client (`embedded-tls`) under degu-core's client
//! [`Connection`](degu_core::engine::Connection).
//!
//! [`connect`] runs the handshake over any `embedded-io-async` stream (on a device the
//! [`TimedSocket`](crate::client::TimedSocket) from [`client::connect`](crate::client::connect),
//! so every TLS read and write carries its timeout) and gives a [`TlsStream`], itself a
//! stream: degu-core's client runs over it unchanged.
//!
//! * TLS 1.3 only (`embedded-tls` has no TLS 1.2), cipher suite TLS_AES_128_GCM_SHA256.
//! * The server's chain is verified against one CA certificate ([`TlsCredentials::ca`], DER)
//!   with `embedded-tls`'s `rustpki` verifier: P-256 signatures, and the host name
//!   ([`TlsCredentials::server_name`]) against the leaf's DNS names and common name.
//!   Validity dates are not checked: a device without a real-time clock cannot.
//! * A client certificate (mutual TLS) is optional: a DER certificate and its ECDSA
//!   P-256 key as SEC1 DER (from PKCS#8 with the `p256` crate:
//!   `SecretKey::from_pkcs8_der(pkcs8)?.to_sec1_der()`).
//!
//! A received record can be 16 KiB + overhead, so [`TlsBuffers`] are about 21 KB by
//! default (16.6 KB to receive, 4.2 KB to send; a `static` on firmware). A smaller
//! receive buffer works only with a server that sends smaller records.
//!
//! ```no_run
//! use degu_embassy::client::{self, ClientTimeouts, HalfDuplex};
//! use degu_embassy::tls::{self, ClientCert, TlsCredentials, TlsBuffers};
//! use degu_embassy::ClientBuffers;
//! use embassy_net::tcp::TcpSocket;
//! use embassy_net::IpEndpoint;
//!
//! async fn status(
//!     mut socket: TcpSocket<'_>,
//!     gateway: IpEndpoint,
//!     timeouts: &ClientTimeouts,
//!     (ca, cert, key): (&[u8], &[u8], &[u8]),
//!     rng: impl embedded_tls::CryptoRngCore,
//!     tls_buffers: &mut TlsBuffers,
//!     client_buffers: &mut ClientBuffers,
//! ) -> Option<u16> {
//!     let io = client::connect(&mut socket, gateway, timeouts).await.ok()?;
//!     let client = Some(ClientCert { cert, key });
//!     let creds = TlsCredentials { ca, server_name: "gateway.local", client };
//!     let stream = tls::connect(io, tls_buffers, &creds, rng).await.ok()?;
//!     let stream = HalfDuplex::new(stream);
//!     let (reader, writer) = stream.split();
//!     let mut conn = client_buffers.connection(reader, writer);
//!     let response = conn.get("/status", &[]).await.ok()?;
//!     Some(response.status)
//! }
//! ```

use embedded_tls::pki::CertVerifier;
use embedded_tls::{
    Aes128GcmSha256, Certificate, CryptoProvider, CryptoRngCore, FlushPolicy, NoClock,
    SignatureScheme, TlsConfig, TlsConnection, TlsContext, TlsVerifier,
};

pub use embedded_tls::TlsError;

/// The cipher suite offered.
pub type Suite = Aes128GcmSha256;

/// Bytes of the default receive record buffer: the largest TLS 1.3 record (16 KiB of
/// plaintext, 256 bytes of expansion, the 5-byte header). The server decides how large
/// its records are, so this is the safe size; the handshake is encoded in it too.
pub const READ_RECORD: usize = 16_384 + 256 + 5;
/// Bytes of the default send record buffer: writes become records of up to 4 KiB.
/// `embedded-tls` keeps [`TLS_RECORD_OVERHEAD`] of it free for the header and tag, and
/// a record may carry at most 16 KiB, so more than `16_384 + TLS_RECORD_OVERHEAD + 5`
/// would make records the server must refuse (`record_overflow`).
pub const WRITE_RECORD: usize = 4096 + TLS_RECORD_OVERHEAD + 5;
/// Largest server certificate (leaf, DER) the verifier keeps for the signature check.
pub const MAX_SERVER_CERT: usize = 2048;

pub use embedded_tls::TLS_RECORD_OVERHEAD;

/// Record buffers for one TLS connection: `R` bytes to receive, `W` to send
/// (`W` at most `16_384 + TLS_RECORD_OVERHEAD + 5`).
pub struct TlsBuffers<const R: usize = READ_RECORD, const W: usize = WRITE_RECORD> {
    read: [u8; R],
    write: [u8; W],
}

impl<const R: usize, const W: usize> TlsBuffers<R, W> {
    /// Zeroed buffers (`const`, for `static`s).
    pub const fn new() -> Self {
        TlsBuffers {
            read: [0; R],
            write: [0; W],
        }
    }
}

impl<const R: usize, const W: usize> Default for TlsBuffers<R, W> {
    fn default() -> Self {
        Self::new()
    }
}

/// A client certificate and its key.
#[derive(Clone, Copy, Debug)]
pub struct ClientCert<'a> {
    /// The certificate, DER.
    pub cert: &'a [u8],
    /// Its ECDSA P-256 private key, SEC1 DER.
    pub key: &'a [u8],
}

/// What a TLS client needs to know.
#[derive(Clone, Copy, Debug)]
pub struct TlsCredentials<'a> {
    /// The CA that signed the server's certificate, DER.
    pub ca: &'a [u8],
    /// The name the server's certificate must carry (SNI and host-name check).
    pub server_name: &'a str,
    /// A certificate to present when the server asks for one.
    pub client: Option<ClientCert<'a>>,
}

/// The crypto `embedded-tls` asks for: randomness, the CA verifier, the client key.
struct Provider<'a, R> {
    rng: R,
    verifier: CertVerifier<'a, Suite, NoClock, MAX_SERVER_CERT>,
    client: Option<ClientCert<'a>>,
}

impl<R: CryptoRngCore> CryptoProvider for Provider<'_, R> {
    type CipherSuite = Suite;
    type Signature = p256::ecdsa::DerSignature;

    fn rng(&mut self) -> impl CryptoRngCore {
        &mut self.rng
    }

    fn verifier(&mut self) -> Result<&mut impl TlsVerifier<Suite>, TlsError> {
        Ok(&mut self.verifier)
    }

    fn signer(
        &mut self,
    ) -> Result<(impl signature::SignerMut<Self::Signature>, SignatureScheme), TlsError> {
        let client = self.client.ok_or(TlsError::InvalidPrivateKey)?;
        let key = p256::SecretKey::from_sec1_der(client.key).map_err(|_| {
            error!("client key: not an ECDSA P-256 key in SEC1 DER");
            TlsError::InvalidPrivateKey
        })?;
        Ok((
            p256::ecdsa::SigningKey::from(&key),
            SignatureScheme::EcdsaSecp256r1Sha256,
        ))
    }

    fn client_cert(&mut self) -> Option<Certificate<impl AsRef<[u8]>>> {
        self.client.map(|c| Certificate::X509(c.cert))
    }
}

/// Run a TLS 1.3 handshake over `io` with `credentials`; `rng` must be a cryptographic
/// generator (on a device: seeded from its TRNG).
///
/// Note that in TLS 1.3 a server that refuses the client certificate says so after the
/// client's handshake is done: the refusal (an alert) is the error of the first read.
pub async fn connect<'a, S, R, const RB: usize, const WB: usize>(
    io: S,
    buffers: &'a mut TlsBuffers<RB, WB>,
    credentials: &TlsCredentials<'_>,
    rng: R,
) -> Result<TlsStream<'a, S>, TlsError>
where
    S: embedded_io_async::Read + embedded_io_async::Write + 'a,
    R: CryptoRngCore,
{
    let config = TlsConfig::new().with_server_name(credentials.server_name);
    let provider = Provider {
        rng,
        verifier: CertVerifier::new(Certificate::X509(credentials.ca)),
        client: credentials.client,
    };
    let mut tls = TlsConnection::new(io, &mut buffers.read, &mut buffers.write);
    // The stream's flush is what would wait for the peer's acknowledgement: not needed.
    tls.set_flush_policy(FlushPolicy::Relaxed);
    match tls.open(TlsContext::new(&config, provider)).await {
        Ok(()) => {
            debug!("TLS 1.3 up with {}", credentials.server_name);
            Ok(TlsStream {
                inner: tls,
                last_error: None,
            })
        }
        Err(e) => {
            warn!("TLS handshake with {}: {:?}", credentials.server_name, e);
            Err(e)
        }
    }
}

/// An open TLS connection as an `embedded-io-async` stream, which keeps the last TLS
/// error: degu-core reports a stream error by its [`ErrorKind`](embedded_io::ErrorKind)
/// alone (`Other` for all TLS failures), [`TlsStream::last_error`] says which.
pub struct TlsStream<'a, S>
where
    S: embedded_io_async::Read + embedded_io_async::Write + 'a,
{
    inner: TlsConnection<'a, S, Suite>,
    last_error: Option<TlsError>,
}

impl<'a, S> TlsStream<'a, S>
where
    S: embedded_io_async::Read + embedded_io_async::Write + 'a,
{
    /// The error of the last read or write that failed. (`embedded-tls` reports an alert
    /// from the server, other than close_notify, as [`TlsError::InternalError`].)
    pub fn last_error(&self) -> Option<TlsError> {
        self.last_error
    }

    /// Send close_notify and give back the stream underneath.
    pub async fn close(self) -> Result<S, (S, TlsError)> {
        self.inner.close().await
    }

    fn note<T>(&mut self, r: Result<T, TlsError>) -> Result<T, TlsError> {
        if let Err(e) = &r {
            self.last_error = Some(*e);
        }
        r
    }
}

impl<'a, S> embedded_io::ErrorType for TlsStream<'a, S>
where
    S: embedded_io_async::Read + embedded_io_async::Write + 'a,
{
    type Error = TlsError;
}

impl<'a, S> embedded_io_async::Read for TlsStream<'a, S>
where
    S: embedded_io_async::Read + embedded_io_async::Write + 'a,
{
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, TlsError> {
        let r = self.inner.read(buf).await;
        self.note(r)
    }
}

impl<'a, S> embedded_io_async::Write for TlsStream<'a, S>
where
    S: embedded_io_async::Read + embedded_io_async::Write + 'a,
{
    async fn write(&mut self, buf: &[u8]) -> Result<usize, TlsError> {
        let r = self.inner.write(buf).await;
        self.note(r)
    }

    async fn flush(&mut self) -> Result<(), TlsError> {
        let r = self.inner.flush().await;
        self.note(r)
    }
}
