//! Mutual TLS with real handshakes: every address kind, refusals (no certificate,
//! foreign CA, expired, wrong name, TLS 1.1), TLS 1.2 peers, the identity in
//! `on_connect`, and curl and openssl as peers.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use degu_core::app::{App, Request, Session};
use degu_core::engine::{Error, Read, Responder, Sent, Write};
use degu_examples::demo::DemoApp;
use degu_std::blocking::Wait;
use degu_std::pki::default_validity;
use degu_std::{Address, BodyExt, Client, TempPki, TempServer, TlsClientConfig};
use std::process::{Command, Stdio};
use std::time::Duration;

fn get_hello(address: &Address, tls: TlsClientConfig) -> Result<Vec<u8>, String> {
    let client = Client::tls(address.clone(), tls);
    let mut conn = client
        .connect_blocking()
        .map_err(|e| format!("connect: {e}"))?;
    let mut r = conn
        .get("/hello", &[])
        .wait()
        .map_err(|e| format!("get: {e}"))?;
    r.body
        .read_to_vec()
        .wait()
        .map_err(|e| format!("read: {e}"))
}

#[test]
fn mutual_tls_works_over_every_address_kind() {
    let pki = TempPki::new().unwrap();
    for address in [
        Address::ipv4_loopback(0),
        Address::ipv6_loopback(0),
        Address::Unix(Default::default()),
    ] {
        let server = TempServer::tls(&address, DemoApp, pki.server_config().unwrap()).unwrap();
        let mut tls = pki.client_config().unwrap();
        if server.address().is_unix() {
            tls = tls.with_server_name("localhost");
        }
        assert_eq!(
            get_hello(server.address(), tls.clone()).unwrap(),
            b"hello, world"
        );
        // And with the async client, several requests on one connection.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let client = degu_std::Client::tls(server.address().clone(), tls);
            let mut conn = client.connect().await.unwrap();
            for i in 0..3 {
                let body = format!("ping {i}");
                let mut r = conn.put("/echo", &[], body.as_bytes()).await.unwrap();
                let mut buf = [0u8; 64];
                let n = r.body.read_to_end(&mut buf).await.unwrap();
                assert_eq!(&buf[..n], body.as_bytes());
            }
        });
    }
}

#[test]
fn a_client_without_a_certificate_is_refused() {
    let pki = TempPki::new().unwrap();
    let server = TempServer::tls(
        &Address::ipv4_loopback(0),
        DemoApp,
        pki.server_config().unwrap(),
    )
    .unwrap();
    // Under TLS 1.3 the client's handshake completes before the server has checked the
    // (missing) certificate: the refusal surfaces on the first read.
    let err = get_hello(server.address(), pki.anonymous_client_config().unwrap()).unwrap_err();
    assert!(
        err.starts_with("get:") || err.starts_with("connect:"),
        "{err}"
    );
}

#[test]
fn anonymous_clients_need_an_explicit_server_config() {
    let pki = TempPki::new().unwrap();
    let server = TempServer::tls(
        &Address::ipv4_loopback(0),
        DemoApp,
        pki.anonymous_server_config().unwrap(),
    )
    .unwrap();
    assert_eq!(
        get_hello(server.address(), pki.anonymous_client_config().unwrap()).unwrap(),
        b"hello, world"
    );
}

#[test]
fn a_certificate_from_another_ca_is_refused() {
    let pki = TempPki::new().unwrap();
    let other = TempPki::new().unwrap();
    let server = TempServer::tls(
        &Address::ipv4_loopback(0),
        DemoApp,
        pki.server_config().unwrap(),
    )
    .unwrap();
    let foreign = pki
        .anonymous_client_config()
        .unwrap()
        .with_client_cert(vec![other.client().cert_der()], other.client().key_der());
    assert!(get_hello(server.address(), foreign).is_err());
    // The server still serves good clients.
    assert_eq!(
        get_hello(server.address(), pki.client_config().unwrap()).unwrap(),
        b"hello, world"
    );
}

#[test]
fn an_expired_certificate_is_refused() {
    let pki = TempPki::new().unwrap();
    let server = TempServer::tls(
        &Address::ipv4_loopback(0),
        DemoApp,
        pki.server_config().unwrap(),
    )
    .unwrap();
    let (now, _) = default_validity();
    let expired = pki
        .issue_client(
            "old-device",
            (
                now - time::Duration::days(30),
                now - time::Duration::days(2),
            ),
        )
        .unwrap();
    let tls = pki
        .anonymous_client_config()
        .unwrap()
        .with_client_cert(vec![expired.cert_der()], expired.key_der());
    assert!(get_hello(server.address(), tls).is_err());
}

#[test]
fn a_wrong_server_name_is_refused() {
    let pki = TempPki::new().unwrap();
    let server = TempServer::tls(
        &Address::ipv4_loopback(0),
        DemoApp,
        pki.server_config().unwrap(),
    )
    .unwrap();
    let tls = pki
        .client_config()
        .unwrap()
        .with_server_name("not-the-server.example");
    let err = get_hello(server.address(), tls).unwrap_err();
    assert!(err.starts_with("connect:"), "{err}");
    // The name a certificate has is accepted even when the address differs.
    let tls = pki.client_config().unwrap().with_server_name("localhost");
    assert_eq!(get_hello(server.address(), tls).unwrap(), b"hello, world");
    // AF_UNIX has no name to check: one must be given.
    let unix = TempServer::tls(
        &Address::Unix(Default::default()),
        DemoApp,
        pki.server_config().unwrap(),
    )
    .unwrap();
    let err = get_hello(unix.address(), pki.client_config().unwrap()).unwrap_err();
    assert!(err.contains("server name"), "{err}");
}

#[test]
fn a_tls12_only_client_is_accepted_and_rsa_works() {
    for pki in [TempPki::new().unwrap(), TempPki::rsa().unwrap()] {
        let server = TempServer::tls(
            &Address::ipv4_loopback(0),
            DemoApp,
            pki.server_config().unwrap(),
        )
        .unwrap();
        let mut roots = rustls::RootCertStore::empty();
        roots.add(pki.ca().cert_der()).unwrap();
        let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_protocol_versions(&[&rustls::version::TLS12])
        .unwrap()
        .with_root_certificates(roots)
        .with_client_auth_cert(vec![pki.client().cert_der()], pki.client().key_der())
        .unwrap();
        let Address::Ip(a) = server.address() else {
            unreachable!()
        };
        let tcp = std::net::TcpStream::connect(a).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let conn = rustls::ClientConnection::new(
            std::sync::Arc::new(config),
            "localhost".try_into().unwrap(),
        )
        .unwrap();
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        use std::io::{Read as _, Write as _};
        tls.write_all(b"GET /hello HTTP/1.1\r\nconnection: close\r\n\r\n")
            .unwrap();
        let mut out = Vec::new();
        let _ = tls.read_to_end(&mut out);
        assert_eq!(
            tls.conn.protocol_version(),
            Some(rustls::ProtocolVersion::TLSv1_2)
        );
        assert!(
            out.ends_with(b"\r\n\r\nhello, world"),
            "{:?} {}",
            pki.kind(),
            String::from_utf8_lossy(&out)
        );
    }
}

fn openssl(address: &Address, args: &[&str], pem: &degu_std::pki::PemFiles) -> (bool, String) {
    let Address::Ip(a) = address else {
        unreachable!()
    };
    let mut cmd = Command::new("timeout");
    cmd.args([
        "10",
        "openssl",
        "s_client",
        "-connect",
        &a.to_string(),
        "-servername",
        "localhost",
    ])
    .args(["-CAfile", pem.ca.to_str().unwrap()])
    .args([
        "-cert",
        pem.client_cert.to_str().unwrap(),
        "-key",
        pem.client_key.to_str().unwrap(),
    ])
    .args(args)
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .expect("openssl (Debian's openssl package) is installed");
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().unwrap();
        let _ = stdin.write_all(b"GET /hello HTTP/1.1\r\nconnection: close\r\n\r\n");
    }
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (text.contains("hello, world"), text)
}

#[test]
fn openssl_tls12_is_served_and_tls11_is_refused() {
    let pki = TempPki::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pem = pki.write_pem_files(dir.path()).unwrap();
    let server = TempServer::tls(
        &Address::ipv4_loopback(0),
        DemoApp,
        pki.server_config().unwrap(),
    )
    .unwrap();
    let (served, text) = openssl(server.address(), &["-tls1_2", "-ign_eof"], &pem);
    assert!(
        served,
        "TLS 1.2 with a client certificate is served:\n{text}"
    );
    let (served, text) = openssl(server.address(), &["-tls1_3", "-ign_eof"], &pem);
    assert!(served, "TLS 1.3 is served:\n{text}");
    let (served, text) = openssl(
        server.address(),
        &["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0", "-ign_eof"],
        &pem,
    );
    assert!(!served, "TLS 1.1 is refused:\n{text}");
    assert!(
        text.contains("alert")
            || text.contains("no protocols available")
            || text.contains("unsupported protocol"),
        "the refusal is a handshake failure:\n{text}"
    );
}

#[test]
fn curl_with_a_client_certificate_gets_the_demo_app() {
    let pki = TempPki::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pem = pki.write_pem_files(dir.path()).unwrap();
    let server = TempServer::tls(
        &Address::ipv4_loopback(0),
        DemoApp,
        pki.server_config().unwrap(),
    )
    .unwrap();
    let port = server.address().port().unwrap();
    let url = format!("https://localhost:{port}/hello");
    let curl = |extra: &[&str]| {
        Command::new("curl")
            .args([
                "-sS",
                "--max-time",
                "10",
                "--resolve",
                &format!("localhost:{port}:127.0.0.1"),
            ])
            .args(["--cacert", pem.ca.to_str().unwrap()])
            .args(extra)
            .arg(&url)
            .output()
            .expect("curl is installed")
    };
    let out = curl(&[
        "--cert",
        pem.client_cert.to_str().unwrap(),
        "--key",
        pem.client_key.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, b"hello, world");
    let out = curl(&[]);
    assert!(
        !out.status.success(),
        "curl without a certificate is refused"
    );
}

/// Admits only the client certificate whose fingerprint it was given, and reports the
/// identity it saw.
struct Pinned {
    fingerprint: [u8; 32],
}

impl App for Pinned {
    type State = String;

    fn on_connect(&self, session: &mut Session<'_, String>) -> bool {
        let Some(id) = session.identity() else {
            return false;
        };
        session.state = format!(
            "cn={} fp-ok={}",
            id.common_name().unwrap_or("-"),
            id.fingerprint() == self.fingerprint
        );
        id.fingerprint() == self.fingerprint
    }

    async fn handle<'r, R: Read, W: Write>(
        &self,
        session: &mut Session<'_, String>,
        _: Request<'_, R>,
        responder: Responder<'r, W>,
    ) -> Result<Sent<'r>, Error> {
        let body = session.state.clone();
        responder.send(200, "OK", &[], body.as_bytes()).await
    }
}

#[test]
fn on_connect_sees_the_common_name_and_fingerprint_and_can_refuse() {
    use sha2::Digest;
    let pki = TempPki::new().unwrap();
    let fingerprint: [u8; 32] = sha2::Sha256::digest(pki.client().cert_der().as_ref()).into();
    let server = TempServer::tls(
        &Address::ipv4_loopback(0),
        Pinned { fingerprint },
        pki.server_config().unwrap(),
    )
    .unwrap();
    let client = Client::tls(server.address().clone(), pki.client_config().unwrap());
    let mut conn = client.connect_blocking().unwrap();
    let body = conn
        .get("/", &[])
        .wait()
        .unwrap()
        .body
        .read_to_vec()
        .wait()
        .unwrap();
    assert_eq!(
        String::from_utf8(body).unwrap(),
        "cn=degu-client fp-ok=true"
    );

    // Another certificate from the same CA: verified by TLS, refused by the app.
    let (from, to) = default_validity();
    let other = pki.issue_client("intruder", (from, to)).unwrap();
    let tls = pki
        .anonymous_client_config()
        .unwrap()
        .with_client_cert(vec![other.cert_der()], other.key_der());
    assert!(get_hello(server.address(), tls).is_err());
}

#[test]
fn silent_handshakes_cannot_hold_every_slot() {
    let pki = TempPki::new().unwrap();
    let config = degu_std::ServerConfig {
        max_connections: 2,
        head_timeout: Duration::from_secs(20),
        tls: Some(pki.server_config().unwrap()),
        ..degu_std::ServerConfig::default()
    };
    let server = TempServer::with_config(&Address::ipv4_loopback(0), DemoApp, config).unwrap();
    let Address::Ip(a) = server.address() else {
        unreachable!()
    };
    // Two connections that never start their handshake take both slots.
    let silent: Vec<_> = (0..2)
        .map(|_| std::net::TcpStream::connect(a).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let start = std::time::Instant::now();
    assert_eq!(
        get_hello(server.address(), pki.client_config().unwrap()).unwrap(),
        b"hello, world"
    );
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "served at once: {:?}",
        start.elapsed()
    );
    drop(silent);
}
