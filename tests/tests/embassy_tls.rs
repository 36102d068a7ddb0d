//! degu-embassy's TLS client (`embedded-tls`, the code the firmware runs) on the host,
//! against degu-std's rustls server: no QEMU needed, so it runs everywhere.
//!
//! The stream under it is a tokio `TcpStream` through `embedded-io-adapters`; on a device
//! it is degu-embassy's `TimedSocket`. Mutual TLS with a P-256 client certificate from
//! `TempPki`, then the refusals: the server's certificate checked against another CA, or
//! against another name, and a client certificate from a foreign CA.

use degu_embassy::tls::{self, ClientCert, TlsBuffers, TlsCredentials, TlsError};
use degu_embassy::{ClientBuffers, HalfDuplex};
use degu_examples::demo::DemoApp;
use degu_std::pki::{CertifiedKey, default_validity};
use degu_std::{Address, TempPki, TempServer};
use embedded_io_adapters::tokio_1::FromTokio;
use rand_chacha::rand_core::SeedableRng;
use std::net::SocketAddr;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn sec1_key(cert: &CertifiedKey) -> Vec<u8> {
    use p256::pkcs8::DecodePrivateKey;
    let key = cert.key_der();
    p256::SecretKey::from_pkcs8_der(key.secret_der())
        .expect("a P-256 PKCS#8 key")
        .to_sec1_der()
        .expect("SEC1 DER")
        .to_vec()
}

fn gateway(pki: &TempPki) -> (TempServer, SocketAddr) {
    let server = TempServer::tls(
        &Address::ipv4_loopback(0),
        DemoApp,
        pki.server_config().expect("server config"),
    )
    .expect("TLS server");
    let Address::Ip(addr) = *server.address() else {
        panic!("not on IP")
    };
    (server, addr)
}

/// Connect with `credentials` and `GET /hello`: the body, or the TLS error (of the
/// handshake, or of the exchange).
fn hello(addr: SocketAddr, credentials: &TlsCredentials<'_>) -> Result<Vec<u8>, TlsError> {
    runtime().block_on(async {
        let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let mut buffers =
            Box::new(TlsBuffers::<{ tls::READ_RECORD }, { tls::WRITE_RECORD }>::new());
        let rng = rand_chacha::ChaCha20Rng::from_seed([7; 32]);
        let stream = tls::connect(FromTokio::new(stream), &mut buffers, credentials, rng).await?;
        let mut client = Box::new(ClientBuffers::<2048, 1024>::new());
        let mut stream = HalfDuplex::new(stream);
        let (reader, writer) = stream.split();
        let mut conn = client.connection(reader, writer);
        let mut body = vec![0u8; 64];
        let result = match conn.get("/hello", &[]).await {
            Ok(mut response) => match response.body.read_to_end(&mut body).await {
                Ok(n) => Ok(body[..n].to_vec()),
                Err(_) => Err(()),
            },
            Err(_) => Err(()),
        };
        // The connection is done with the stream: its halves borrowed it.
        let last = stream.get_mut().last_error();
        result.map_err(|()| last.unwrap_or(TlsError::ConnectionClosed))
    })
}

#[test]
fn mutual_tls_with_a_p256_client_certificate() {
    let pki = TempPki::new().expect("pki");
    let (_server, addr) = gateway(&pki);
    let (ca, cert, key) = (
        pki.ca().cert_der(),
        pki.client().cert_der(),
        sec1_key(pki.client()),
    );
    let credentials = TlsCredentials {
        ca: &ca,
        server_name: "localhost",
        client: Some(ClientCert {
            cert: &cert,
            key: &key,
        }),
    };
    assert_eq!(hello(addr, &credentials).expect("hello"), b"hello, world");
}

#[test]
fn server_certificate_from_another_ca_is_refused() {
    let pki = TempPki::new().expect("pki");
    let other = TempPki::new().expect("other pki");
    let (_server, addr) = gateway(&pki);
    let (ca, cert, key) = (
        other.ca().cert_der(),
        pki.client().cert_der(),
        sec1_key(pki.client()),
    );
    let credentials = TlsCredentials {
        ca: &ca,
        server_name: "localhost",
        client: Some(ClientCert {
            cert: &cert,
            key: &key,
        }),
    };
    let result = hello(addr, &credentials);
    assert!(
        matches!(
            result,
            Err(TlsError::InvalidCertificate | TlsError::InvalidSignature)
        ),
        "{result:?}"
    );
}

#[test]
fn server_certificate_for_another_name_is_refused() {
    let pki = TempPki::new().expect("pki");
    let (_server, addr) = gateway(&pki);
    let (ca, cert, key) = (
        pki.ca().cert_der(),
        pki.client().cert_der(),
        sec1_key(pki.client()),
    );
    let credentials = TlsCredentials {
        ca: &ca,
        server_name: "gateway.example",
        client: Some(ClientCert {
            cert: &cert,
            key: &key,
        }),
    };
    let result = hello(addr, &credentials);
    assert!(
        matches!(result, Err(TlsError::InvalidCertificate)),
        "{result:?}"
    );
}

#[test]
fn client_certificate_from_a_foreign_ca_is_refused_by_the_server() {
    let pki = TempPki::new().expect("pki");
    let foreign = TempPki::new().expect("foreign pki");
    let device = foreign
        .issue_client("degu-device", default_validity())
        .expect("foreign client cert");
    let (_server, addr) = gateway(&pki);
    let (ca, cert, key) = (pki.ca().cert_der(), device.cert_der(), sec1_key(&device));
    let credentials = TlsCredentials {
        ca: &ca,
        server_name: "localhost",
        client: Some(ClientCert {
            cert: &cert,
            key: &key,
        }),
    };
    // TLS 1.3: the client's handshake is over before the server checks its certificate;
    // the refusal is an alert on the first read (InternalError: embedded-tls's name for
    // any alert), or the request's write fails when the server has already closed.
    let result = hello(addr, &credentials);
    assert!(
        matches!(result, Err(TlsError::InternalError | TlsError::Io(_))),
        "{result:?}"
    );
}

#[test]
fn no_client_certificate_is_refused_by_a_server_that_requires_one() {
    let pki = TempPki::new().expect("pki");
    let (_server, addr) = gateway(&pki);
    let ca = pki.ca().cert_der();
    let credentials = TlsCredentials {
        ca: &ca,
        server_name: "localhost",
        client: None,
    };
    assert!(hello(addr, &credentials).is_err());
}
