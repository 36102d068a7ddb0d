//! Faults against a live degu-std server: clients that disconnect mid-head, mid-body,
//! mid-chunk and mid-response, or reset the connection; a handler that fails halfway
//! through a length-framed or chunked response; TLS handshakes aborted halfway (a partial
//! ClientHello, plain bytes, silence, an untrusted server, no client certificate).
//!
//! Each side must report a typed error, not hang: the client gets an
//! `engine::Error` (or an `io::Error` from `connect`), the server's own account (its
//! `closed: ...` and `TLS handshake failed: ...` debug events, captured here from
//! `tracing`, and the errors the app's body reads returned) names what happened. The
//! server keeps serving others meanwhile, and no slot leaks: `RunningServer::connections`
//! is back to 0 soon after the faulty clients are gone.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use degu_core::app::{App, Request, Session};
use degu_core::engine::{Error, Read as EngineRead, Responder, Sent, Write as EngineWrite};
use degu_core::{BodyError, ChunkExt, Method};
use degu_examples::demo::DemoApp;
use degu_std::blocking::Wait;
use degu_std::{Address, BodyExt, Client, ClientConfig, ServerConfig, TempPki, TempServer};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How long the server may take to notice a fault and free the slot.
const SETTLE: Duration = Duration::from_secs(3);

/// Bound on every client read and write, so a hang fails instead of blocking.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(5);

/// Bytes the failing handler writes of its 100,000-byte response: more than the
/// server's 16 KiB write buffer, so they reach the wire before it fails.
const PARTIAL: usize = 40_000;

// --- the server's own account: its tracing events ------------------------------------------

static LOG: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct Capture;

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOG.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Send every debug event of this process (the servers' included) to [`LOG`].
fn capture_server_log() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        tracing_subscriber::fmt()
            .with_max_level(tracing_subscriber::filter::LevelFilter::DEBUG)
            .with_writer(|| Capture)
            .without_time()
            .with_ansi(false)
            .init();
    });
}

/// The server's log line about the connection from `peer` that contains `needle`,
/// waiting up to [`SETTLE`] for one.
fn server_says(peer: SocketAddr, needle: &str) -> String {
    server_says_one_of(peer, &[needle])
}

/// The server's log line about the connection from `peer` that contains one of
/// `needles`, waiting up to [`SETTLE`] for one.
fn server_says_one_of(peer: SocketAddr, needles: &[&str]) -> String {
    let tag = format!("peer={peer}");
    let deadline = Instant::now() + SETTLE;
    loop {
        let log = String::from_utf8_lossy(&LOG.lock().unwrap()).into_owned();
        if let Some(line) = log
            .lines()
            .find(|l| l.contains(&tag) && needles.iter().any(|n| l.contains(n)))
        {
            return line.to_string();
        }
        if Instant::now() > deadline {
            let about: Vec<&str> = log.lines().filter(|l| l.contains(&tag)).collect();
            panic!("the server never said any of {needles:?} about {peer}; it said: {about:#?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

// --- an app that fails on purpose ------------------------------------------------------------

/// The demo app, plus:
/// * `GET /partial-length`: 200 with `content-length: 100000`, 40,000 bytes, then an error;
/// * `GET /partial-chunked`: 200 chunked, one chunk, then an error;
/// * `PUT /sink`: reads the body and records how the read ended, under the request's
///   `x-case` header.
#[derive(Clone, Default)]
struct FaultApp {
    reads: Arc<Mutex<Vec<BodyRead>>>,
}

/// A `PUT /sink` case's name and how reading its body ended.
type BodyRead = (String, Result<u64, Error>);

impl FaultApp {
    /// How the body read of case `name` ended, waiting up to [`SETTLE`].
    fn read_result(&self, name: &str) -> Result<u64, Error> {
        let deadline = Instant::now() + SETTLE;
        loop {
            if let Some((_, r)) = self.reads.lock().unwrap().iter().find(|(n, _)| n == name) {
                return *r;
            }
            assert!(Instant::now() < deadline, "the app never read case {name}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl App for FaultApp {
    type State = ();

    async fn handle<'r, R: EngineRead, W: EngineWrite>(
        &self,
        session: &mut Session<'_, ()>,
        mut request: Request<'_, R>,
        responder: Responder<'r, W>,
    ) -> Result<Sent<'r>, Error> {
        let route = request.components().next().unwrap_or("");
        match (request.method, route) {
            (Method::Get, "partial-length") => {
                let mut w = responder.stream(200, "OK", &[], 100_000).await?;
                w.write(&[b'x'; PARTIAL]).await?;
                Err(Error::App)
            }
            (Method::Get, "partial-chunked") => {
                let mut w = responder.chunked(200, "OK", &[]).await?;
                w.write_chunk(Some(ChunkExt::new("n", "1")), b"first")
                    .await?;
                Err(Error::App)
            }
            (Method::Put, "sink") => {
                let case = request.header("x-case").unwrap_or("").to_string();
                let mut buf = [0u8; 1024];
                let mut total = 0u64;
                let result = loop {
                    match request.body.read(&mut buf).await {
                        Ok(0) => break Ok(total),
                        Ok(n) => total += n as u64,
                        Err(e) => break Err(e),
                    }
                };
                self.reads.lock().unwrap().push((case, result));
                result?;
                responder.send(200, "OK", &[], b"").await
            }
            _ => DemoApp.handle(session, request, responder).await,
        }
    }
}

// --- helpers -----------------------------------------------------------------------------------

fn config() -> ServerConfig {
    ServerConfig {
        max_connections: 16,
        head_timeout: Duration::from_secs(1),
        idle_timeout: Duration::from_secs(2),
        io_timeout: Duration::from_secs(1),
        ..ServerConfig::default()
    }
}

fn tcp_address(server: &TempServer) -> SocketAddr {
    match server.address() {
        Address::Ip(a) => *a,
        other => panic!("not tcp: {other}"),
    }
}

fn client(server: &TempServer) -> Client {
    let mut config = ClientConfig::for_address(server.address());
    config.timeout = Some(CLIENT_TIMEOUT);
    Client::with_config(server.address().clone(), config)
}

/// A good client gets its answer: the server is still serving.
fn still_serving(server: &TempServer) {
    let mut conn = client(server).connect_blocking().expect("connect");
    let mut r = conn.get("/hello", &[]).wait().expect("GET /hello");
    assert_eq!(r.status, 200);
    assert_eq!(r.body.read_to_vec().wait().expect("body"), b"hello, world");
}

/// Every slot is free again within [`SETTLE`].
fn no_slot_leaks(server: &TempServer) {
    let running = server.running().expect("running");
    let deadline = Instant::now() + SETTLE;
    while running.connections() > 0 {
        assert!(
            Instant::now() < deadline,
            "{} connection slots still taken {SETTLE:?} after the faults",
            running.connections()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Connect, send `bytes`, close (abortively with a reset if `reset`); our address.
fn send_and_vanish(to: SocketAddr, bytes: &[u8], reset: bool) -> SocketAddr {
    let mut s = TcpStream::connect(to).expect("connect");
    let me = s.local_addr().unwrap();
    s.write_all(bytes).unwrap();
    // Let the server read what there is before the connection goes.
    std::thread::sleep(Duration::from_millis(50));
    if reset {
        let linger = nix::libc::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        nix::sys::socket::setsockopt(&s, nix::sys::socket::sockopt::Linger, &linger)
            .expect("SO_LINGER");
    }
    drop(s);
    me
}

// --- the tests ----------------------------------------------------------------------------------

#[test]
fn clients_vanishing_mid_request_are_typed_errors_and_free_their_slots() {
    capture_server_log();
    let app = FaultApp::default();
    let server =
        TempServer::with_config(&Address::ipv4_loopback(0), app.clone(), config()).expect("server");
    let to = tcp_address(&server);

    // Mid-head: the engine's read of the head meets EOF.
    let peer = send_and_vanish(to, b"GET /hello HTTP/1.1\r\nhost: x", false);
    server_says(peer, "closed: connection closed by peer");
    still_serving(&server);

    // Mid-head, reset.
    let peer = send_and_vanish(to, b"GET /hello HTTP/1.1\r\nhost: x", true);
    server_says(peer, "closed: i/o error: ConnectionReset");

    // Mid-body (content-length): the app's read sees the body end early.
    let peer = send_and_vanish(
        to,
        b"PUT /sink HTTP/1.1\r\nx-case: mid-body\r\ncontent-length: 1000\r\n\r\n0123456789",
        false,
    );
    assert_eq!(
        app.read_result("mid-body"),
        Err(Error::Body(BodyError::UnexpectedEof))
    );
    server_says(peer, "closed: bad body: body ended early");

    // Mid-body, reset.
    let peer = send_and_vanish(
        to,
        b"PUT /sink HTTP/1.1\r\nx-case: mid-body-reset\r\ncontent-length: 1000\r\n\r\n0123",
        true,
    );
    assert!(
        matches!(
            app.read_result("mid-body-reset"),
            Err(Error::Io(embedded_io::ErrorKind::ConnectionReset))
        ),
        "{:?}",
        app.read_result("mid-body-reset")
    );
    server_says(peer, "closed: i/o error: ConnectionReset");
    still_serving(&server);

    // Mid-chunk: inside a chunk's data, and inside a chunk-size line.
    let peer = send_and_vanish(
        to,
        b"PUT /sink HTTP/1.1\r\nx-case: mid-chunk\r\ntransfer-encoding: chunked\r\n\r\n\
          5;k=v\r\nhello\r\n10\r\n12345",
        false,
    );
    assert_eq!(
        app.read_result("mid-chunk"),
        Err(Error::Body(BodyError::UnexpectedEof))
    );
    server_says(peer, "closed: bad body: body ended early");
    let peer = send_and_vanish(
        to,
        b"PUT /sink HTTP/1.1\r\nx-case: mid-chunk-line\r\ntransfer-encoding: chunked\r\n\r\n\
          5\r\nhello\r\n1",
        false,
    );
    assert_eq!(
        app.read_result("mid-chunk-line"),
        Err(Error::Body(BodyError::UnexpectedEof))
    );
    server_says(peer, "closed: bad body: body ended early");

    // Mid-body of the demo app's echo, which has echoed the first chunk: that chunk
    // reaches a socket already closed, whose reset may beat the EOF to the server.
    let peer = send_and_vanish(
        to,
        b"POST /echo HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n",
        false,
    );
    server_says_one_of(
        peer,
        &[
            "closed: bad body: body ended early",
            "closed: i/o error: ConnectionReset",
        ],
    );

    // Mid-response: the client reads a little of a large answer and goes away; the
    // server's writes fail.
    let mut s = TcpStream::connect(to).unwrap();
    let peer = s.local_addr().unwrap();
    s.write_all(b"GET /chunks?n=10000 HTTP/1.1\r\n\r\n")
        .unwrap();
    let mut first = [0u8; 100];
    s.read_exact(&mut first).unwrap();
    assert!(first.starts_with(b"HTTP/1.1 200 OK\r\n"));
    drop(s);
    server_says(peer, "closed: i/o error:");

    still_serving(&server);
    no_slot_leaks(&server);
}

#[test]
fn a_handler_failing_mid_response_is_a_typed_error_for_the_client() {
    capture_server_log();
    let server = TempServer::with_config(&Address::ipv4_loopback(0), FaultApp::default(), config())
        .expect("server");
    let started = Instant::now();

    // Blocking client, length-framed: the head and 40,000 of 100,000 bytes, then EOF.
    let mut conn = client(&server).connect_blocking().expect("connect");
    let mut r = conn.get("/partial-length", &[]).wait().expect("head");
    assert_eq!(r.status, 200);
    assert_eq!(r.headers.get("content-length"), Some("100000"));
    let mut got = 0;
    let mut buf = vec![0u8; 8192];
    let err = loop {
        match r.body.read(&mut buf).wait() {
            Ok(0) => panic!("the body ended cleanly after {got} bytes"),
            Ok(n) => got += n,
            Err(e) => break e,
        }
    };
    assert_eq!(err, Error::Body(BodyError::UnexpectedEof));
    assert_eq!(got, PARTIAL);
    // The connection is done for: the next request is refused at once.
    let next = conn.get("/hello", &[]).wait().err();
    assert!(
        matches!(next, Some(Error::BodyNotConsumed | Error::Closed)),
        "{next:?}"
    );
    assert!(conn.is_closed());

    // Blocking client, chunked: the first chunk with its extension, then EOF.
    let mut conn = client(&server).connect_blocking().expect("connect");
    let mut r = conn.get("/partial-chunked", &[]).wait().expect("head");
    assert_eq!(r.status, 200);
    let piece = r
        .body
        .read_chunk(&mut buf)
        .wait()
        .expect("first chunk")
        .expect("a chunk");
    assert_eq!((piece.ext, piece.len), (Some(ChunkExt::new("n", "1")), 5));
    assert_eq!(
        r.body.read_chunk(&mut buf).wait().err(),
        Some(Error::Body(BodyError::UnexpectedEof))
    );

    // The async client over the same engine.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let address = server.address().clone();
    let async_err = rt.block_on(async {
        let mut config = ClientConfig::for_address(&address);
        config.timeout = Some(CLIENT_TIMEOUT);
        let client = Client::with_config(address.clone(), config);
        let mut conn = client.connect().await.expect("connect");
        let mut r = conn.get("/partial-length", &[]).await.expect("head");
        let mut buf = vec![0u8; 8192];
        loop {
            match r.body.read(&mut buf).await {
                Ok(0) => panic!("the body ended cleanly"),
                Ok(_) => {}
                Err(e) => break e,
            }
        }
    });
    assert_eq!(async_err, Error::Body(BodyError::UnexpectedEof));
    assert!(
        started.elapsed() < CLIENT_TIMEOUT,
        "the client waited for a timeout instead of seeing the close"
    );

    // On the wire: the head, exactly the bytes written, then the close; and the
    // server's side of it.
    let mut s = TcpStream::connect(tcp_address(&server)).unwrap();
    let peer = s.local_addr().unwrap();
    s.set_read_timeout(Some(CLIENT_TIMEOUT)).unwrap();
    s.write_all(b"GET /partial-length HTTP/1.1\r\n\r\n")
        .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read to the close");
    let head = b"HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\n";
    assert!(raw.starts_with(head), "{:?}", raw.get(..60));
    assert_eq!(raw.len(), head.len() + PARTIAL);
    server_says(peer, "closed: application error");
    still_serving(&server);
    no_slot_leaks(&server);
}

#[test]
fn tls_handshakes_aborted_halfway_are_typed_errors_and_free_their_slots() {
    capture_server_log();
    let pki = TempPki::new().expect("pki");
    let config = ServerConfig {
        tls: Some(pki.server_config().expect("server config")),
        ..config()
    };
    let server =
        TempServer::with_config(&Address::ipv4_loopback(0), DemoApp, config).expect("server");
    let to = tcp_address(&server);
    let good = || {
        let mut config = ClientConfig::for_address(server.address());
        config.timeout = Some(CLIENT_TIMEOUT);
        config.tls = Some(pki.client_config().unwrap());
        let mut conn = Client::with_config(server.address().clone(), config)
            .connect_blocking()
            .expect("TLS connect");
        let mut r = conn.get("/hello", &[]).wait().expect("GET over TLS");
        assert_eq!(r.status, 200);
        assert_eq!(r.body.read_to_vec().wait().unwrap(), b"hello, world");
    };
    good();

    // Half a ClientHello: a handshake record of 512 bytes of which 43 arrive.
    let mut hello = vec![
        0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03,
    ];
    hello.extend((0..32u8).map(|i| i.wrapping_mul(37)));
    let peer = send_and_vanish(to, &hello, false);
    server_says(peer, "TLS handshake failed");

    // Plain HTTP to the TLS port.
    let peer = send_and_vanish(to, b"GET /hello HTTP/1.1\r\n\r\n", false);
    server_says(peer, "TLS handshake failed");

    // Random bytes, then a reset.
    let noise: Vec<u8> = (0..200u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 7) as u8)
        .collect();
    let peer = send_and_vanish(to, &noise, true);
    server_says(peer, "TLS handshake failed");

    // Connect and close at once.
    let peer = send_and_vanish(to, b"", false);
    server_says(peer, "TLS handshake failed");
    good();

    // Connect and say nothing: the head timeout bounds the handshake, and the client
    // sees the close.
    let mut s = TcpStream::connect(to).unwrap();
    let peer = s.local_addr().unwrap();
    s.set_read_timeout(Some(CLIENT_TIMEOUT)).unwrap();
    let t = Instant::now();
    let mut buf = [0u8; 64];
    let r = s.read(&mut buf);
    assert!(matches!(r, Ok(0) | Err(_)), "{r:?}");
    assert!(
        t.elapsed() < Duration::from_millis(2500),
        "a silent TLS client held its slot for {:?}",
        t.elapsed()
    );
    server_says(peer, "TLS handshake failed: timed out");

    // A client that does not trust the server: its connect fails with the reason.
    let other = TempPki::new().unwrap();
    let mut untrusting = ClientConfig::for_address(server.address());
    untrusting.timeout = Some(CLIENT_TIMEOUT);
    untrusting.tls = Some(other.client_config().unwrap());
    let err = Client::with_config(server.address().clone(), untrusting)
        .connect_blocking()
        .err()
        .expect("a client with another CA must not connect");
    assert!(
        err.to_string().contains("certificate"),
        "unexpected error: {err}"
    );

    // A client without a certificate: mutual TLS refuses it. With TLS 1.3 the client
    // learns it on its first read; either way it is an error, not an answer.
    let mut anonymous = ClientConfig::for_address(server.address());
    anonymous.timeout = Some(CLIENT_TIMEOUT);
    anonymous.tls = Some(pki.anonymous_client_config().unwrap());
    match Client::with_config(server.address().clone(), anonymous).connect_blocking() {
        Err(e) => println!("anonymous TLS client: connect failed: {e}"),
        Ok(mut conn) => {
            let err = conn.get("/hello", &[]).wait().err().expect("refused");
            assert!(matches!(err, Error::Io(_) | Error::Closed), "{err:?}");
            println!("anonymous TLS client: request failed: {err}");
        }
    }

    good();
    no_slot_leaks(&server);
}

#[test]
fn slots_never_leak_under_repeated_faults() {
    capture_server_log();
    let app = FaultApp::default();
    let server =
        TempServer::with_config(&Address::ipv4_loopback(0), app, config()).expect("server");
    let to = tcp_address(&server);
    let faults: [(&[u8], bool); 6] = [
        (b"GET /hello HTTP/1.1\r\nhost:", false),
        (b"GET /hello HTTP/1.1\r\nhost:", true),
        (
            b"PUT /sink HTTP/1.1\r\nx-case: r\r\ncontent-length: 99\r\n\r\nabc",
            false,
        ),
        (
            b"POST /echo HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n3\r\nab",
            true,
        ),
        (b"GET /partial-length HTTP/1.1\r\n\r\n", false),
        (b"GET /chunks?n=10000 HTTP/1.1\r\n\r\n", true),
    ];
    // Three times the slots, from a few threads at once.
    let rounds = 3 * config().max_connections / faults.len() + 1;
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..rounds {
                    for (bytes, reset) in faults {
                        send_and_vanish(to, bytes, reset);
                    }
                }
            });
        }
    });
    still_serving(&server);
    no_slot_leaks(&server);
}
