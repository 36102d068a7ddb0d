//! The device as a client: firmware in QEMU (`firmware/qemu-device`, degu-embassy's
//! client over embassy-net, and `embedded-tls` in the `qemu-device-tls` build) sends
//! requests to a gateway, a `degu-std` server on the host's 127.0.0.1 that answers with
//! what it saw (the client certificate's common name, the upload's length and pattern).
//!
//! * plain HTTP: `GET /whoami` and a chunked 16 KiB `POST /upload` are answered 200;
//! * mutual TLS 1.3 with the device's P-256 certificate from a `TempPki`: the same, and
//!   the gateway's app sees the device's common name;
//! * a device certificate from a foreign CA: the gateway refuses it, the firmware prints
//!   an `error:` line and exits non-zero (no hang: every step has a timeout), and the app
//!   never sees a request.
//!
//! The device reaches the gateway as 10.0.2.2:PORT (QEMU's user-mode network maps it to
//! 127.0.0.1:PORT). The certificates are made here, at run time, and reach the firmware
//! in a configuration blob that QEMU's loader puts into guest RAM
//! (`firmware/qemu-device/src/config.rs`). How QEMU runs, and why these tests are
//! `#[ignore]`d in a plain `cargo test` (`cargo xtask test` runs them): `qemu/mod.rs`.

mod qemu;

use degu_core::Method;
use degu_core::app::{App, Request, Session};
use degu_core::engine::{Error, Read, Responder, Sent, Write};
use degu_std::pki::default_validity;
use degu_std::{Address, TempPki, TempServer};
use qemu::{AN385, AN386, Blob, Board, Mode, Qemu};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Longest a client run may take, boot to exit (QEMU is killed after it).
const RUN_LIMIT: Duration = Duration::from_secs(60);
/// The device's common name.
const DEVICE_CN: &str = "degu-device";
/// The name the gateway's certificate carries (TempPki's server certificate).
const SERVER_NAME: &str = "localhost";
/// What the firmware uploads (firmware/qemu-device/src/lib.rs, UPLOAD_LEN).
const UPLOAD_LEN: usize = 16 * 1024;

#[test]
#[ignore = "needs QEMU firmware: cargo xtask test"]
fn plain_request_accepted_an386_thumbv7em() {
    plain(&AN386);
}

#[test]
#[ignore = "needs QEMU firmware: cargo xtask test"]
fn plain_request_accepted_an385_thumbv6m() {
    plain(&AN385);
}

#[test]
#[ignore = "needs QEMU firmware: cargo xtask test"]
fn mutual_tls_accepted_an386_thumbv7em() {
    mutual_tls(&AN386);
}

#[test]
#[ignore = "needs QEMU firmware: cargo xtask test"]
fn mutual_tls_accepted_an385_thumbv6m() {
    mutual_tls(&AN385);
}

#[test]
#[ignore = "needs QEMU firmware: cargo xtask test"]
fn foreign_ca_refused_an386_thumbv7em() {
    foreign_ca(&AN386);
}

#[test]
#[ignore = "needs QEMU firmware: cargo xtask test"]
fn foreign_ca_refused_an385_thumbv6m() {
    foreign_ca(&AN385);
}

#[test]
#[ignore = "needs QEMU firmware: cargo xtask test"]
fn wrong_server_name_refused_by_device_an386_thumbv7em() {
    let board = &AN386;
    let elf = qemu::firmware(board, "qemu-device-tls");
    let pki = TempPki::new().expect("TempPki");
    let device = pki
        .issue_client(DEVICE_CN, default_validity())
        .expect("device certificate");
    let app = ReportApp::default();
    let gateway = TempServer::tls(
        &Address::ipv4_loopback(0),
        app.clone(),
        pki.server_config().expect("server config"),
    )
    .expect("start the TLS gateway");
    let (key, cert, ca) = (sec1_key(&device), device.cert_der(), pki.ca().cert_der());
    let blob = Blob {
        mode: Mode::Client,
        tls: true,
        port: port_of(&gateway),
        seed: qemu::rand_seed(),
        path: "/whoami",
        // The gateway's certificate is for localhost and 127.0.0.1 only.
        server_name: "gateway.example",
        ca: &ca,
        cert: &cert,
        key: &key,
    };
    let (status, output) = run_client(board, &elf, &blob);
    assert!(
        !status.success(),
        "the firmware accepted the wrong name:\n{output}"
    );
    assert!(
        output.contains("error: handshake: TLS: InvalidCertificate"),
        "no handshake error:\n{output}"
    );
    assert_eq!(app.seen(), Vec::<String>::new(), "the app saw a request");
    println!("{}: QEMU output:\n{output}", board.machine);
}

fn plain(board: &Board) {
    let elf = qemu::firmware(board, "qemu-device");
    let app = ReportApp::default();
    let gateway = TempServer::ipv4(app.clone()).expect("start the gateway");
    let blob = Blob {
        mode: Mode::Client,
        tls: false,
        port: port_of(&gateway),
        seed: [0; 32],
        path: "/whoami",
        server_name: "",
        ca: &[],
        cert: &[],
        key: &[],
    };
    let (status, output) = run_client(board, &elf, &blob);
    assert!(
        status.success(),
        "{}: the firmware failed ({status}):\n{output}",
        board.machine
    );
    assert!(
        output.contains("response 200 ") && output.contains(": cn=- path=/whoami"),
        "{}: no answer to GET /whoami:\n{output}",
        board.machine
    );
    assert!(
        output.contains(&format!(": received {UPLOAD_LEN} bytes, pattern ok, cn=-")),
        "{}: no answer to the upload:\n{output}",
        board.machine
    );
    assert_eq!(
        app.seen(),
        [
            "GET /whoami cn=-".to_string(),
            format!("POST /upload cn=- {UPLOAD_LEN} bytes ok")
        ]
    );
    println!("{}: QEMU output:\n{output}", board.machine);
}

fn mutual_tls(board: &Board) {
    let elf = qemu::firmware(board, "qemu-device-tls");
    let pki = TempPki::new().expect("TempPki");
    let device = pki
        .issue_client(DEVICE_CN, default_validity())
        .expect("device certificate");
    let app = ReportApp::default();
    let gateway = TempServer::tls(
        &Address::ipv4_loopback(0),
        app.clone(),
        pki.server_config().expect("server config"),
    )
    .expect("start the TLS gateway");
    let key = sec1_key(&device);
    let cert = device.cert_der();
    let ca = pki.ca().cert_der();
    let blob = Blob {
        mode: Mode::Client,
        tls: true,
        port: port_of(&gateway),
        seed: qemu::rand_seed(),
        path: "/whoami",
        server_name: SERVER_NAME,
        ca: &ca,
        cert: &cert,
        key: &key,
    };
    let (status, output) = run_client(board, &elf, &blob);
    assert!(
        status.success(),
        "{}: the firmware failed ({status}):\n{output}",
        board.machine
    );
    assert!(
        output.contains("TLS 1.3 up with localhost"),
        "{}: no TLS:\n{output}",
        board.machine
    );
    assert!(
        output.contains(&format!(": cn={DEVICE_CN} path=/whoami")),
        "{}: the gateway did not see the device's certificate:\n{output}",
        board.machine
    );
    assert_eq!(
        app.seen(),
        [
            format!("GET /whoami cn={DEVICE_CN}"),
            format!("POST /upload cn={DEVICE_CN} {UPLOAD_LEN} bytes ok")
        ]
    );
    println!("{}: QEMU output:\n{output}", board.machine);
}

fn foreign_ca(board: &Board) {
    let elf = qemu::firmware(board, "qemu-device-tls");
    let pki = TempPki::new().expect("TempPki");
    let foreign = TempPki::new().expect("foreign TempPki");
    let device = foreign
        .issue_client(DEVICE_CN, default_validity())
        .expect("foreign device certificate");
    let app = ReportApp::default();
    let gateway = TempServer::tls(
        &Address::ipv4_loopback(0),
        app.clone(),
        pki.server_config().expect("server config"),
    )
    .expect("start the TLS gateway");
    let key = sec1_key(&device);
    let cert = device.cert_der();
    // The device trusts the right CA: only its own certificate is foreign.
    let ca = pki.ca().cert_der();
    let blob = Blob {
        mode: Mode::Client,
        tls: true,
        port: port_of(&gateway),
        seed: qemu::rand_seed(),
        path: "/whoami",
        server_name: SERVER_NAME,
        ca: &ca,
        cert: &cert,
        key: &key,
    };
    let (status, output) = run_client(board, &elf, &blob);
    assert!(
        !status.success(),
        "{}: the firmware succeeded with a foreign certificate:\n{output}",
        board.machine
    );
    assert!(
        output
            .lines()
            .any(|l| l.starts_with("error: ") && l.contains("TLS")),
        "{}: no TLS error line:\n{output}",
        board.machine
    );
    assert!(
        !output.contains("response 200"),
        "{}: an answer despite the foreign certificate:\n{output}",
        board.machine
    );
    assert_eq!(app.seen(), Vec::<String>::new(), "the app saw a request");
    println!("{}: QEMU output:\n{output}", board.machine);
}

/// Boot `elf` with `blob` and wait for it to exit; its status and output.
fn run_client(
    board: &Board,
    elf: &std::path::Path,
    blob: &Blob<'_>,
) -> (std::process::ExitStatus, String) {
    let file = blob.file();
    let started = Instant::now();
    let mut qemu = Qemu::spawn(board, elf, None, Some(file.path()));
    let status = qemu
        .wait_exit(RUN_LIMIT)
        .unwrap_or_else(|e| panic!("{}: {e}\nQEMU output:\n{}", board.machine, qemu.output()));
    println!(
        "{}: QEMU ran {:?}, {status}",
        board.machine,
        started.elapsed()
    );
    (status, qemu.output())
}

fn port_of(server: &TempServer) -> u16 {
    match server.address() {
        Address::Ip(addr) => addr.port(),
        other => panic!("the gateway is not on IP: {other:?}"),
    }
}

/// The device's key as embedded-tls takes it: SEC1 DER (rcgen gives PKCS#8).
fn sec1_key(cert: &degu_std::pki::CertifiedKey) -> Vec<u8> {
    use p256::pkcs8::DecodePrivateKey;
    let key = cert.key_der();
    let secret = p256::SecretKey::from_pkcs8_der(key.secret_der()).expect("a P-256 PKCS#8 key");
    secret.to_sec1_der().expect("SEC1 DER").to_vec()
}

/// 32 bytes for the device's TLS random generator (QEMU has no TRNG).
/// The gateway's app: answers with what it saw, and keeps a line per request.
#[derive(Clone, Default)]
struct ReportApp {
    seen: Arc<Mutex<Vec<String>>>,
}

impl ReportApp {
    fn seen(&self) -> Vec<String> {
        self.seen.lock().expect("lock").clone()
    }
}

impl App for ReportApp {
    type State = ();

    async fn handle<'r, R: Read, W: Write>(
        &self,
        session: &mut Session<'_, ()>,
        mut request: Request<'_, R>,
        responder: Responder<'r, W>,
    ) -> Result<Sent<'r>, Error> {
        let cn = session
            .identity()
            .and_then(|id| id.common_name())
            .unwrap_or("-")
            .to_string();
        let method = request.method;
        match (method, request.shift_path()) {
            (Method::Get, Some("whoami")) => {
                let path = request.uri.to_string();
                self.seen
                    .lock()
                    .expect("lock")
                    .push(format!("GET {path} cn={cn}"));
                let body = format!("cn={cn} path={path}");
                responder.send(200, "OK", &[], body.as_bytes()).await
            }
            (Method::Post, Some("upload")) => {
                let mut piece = [0u8; 4096];
                let (mut len, mut ok) = (0usize, true);
                loop {
                    let n = request.body.read(&mut piece).await?;
                    if n == 0 {
                        break;
                    }
                    ok &= piece[..n]
                        .iter()
                        .enumerate()
                        .all(|(i, &b)| b == ((len + i) % 251) as u8);
                    len += n;
                }
                let verdict = if ok { "ok" } else { "bad" };
                self.seen
                    .lock()
                    .expect("lock")
                    .push(format!("POST /upload cn={cn} {len} bytes {verdict}"));
                let body = format!("received {len} bytes, pattern {verdict}, cn={cn}");
                responder.send(200, "OK", &[], body.as_bytes()).await
            }
            _ => responder.send(404, "Not Found", &[], b"").await,
        }
    }
}
