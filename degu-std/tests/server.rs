//! degu-std over real sockets: every address kind, the async and blocking clients,
//! connection limits and eviction, head and idle timeouts, graceful shutdown, AF_UNIX
//! peer credentials.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{raw, read_all};
use degu_core::app::{App, PeerAddr, Request, Session};
use degu_core::engine::{Error, Read, Responder, Sent, Write};
use degu_core::{ChunkExt, Framing, Header, Method};
use degu_examples::demo::DemoApp;
use degu_std::blocking::Wait;
use degu_std::{Address, BodyExt, Client, ServerConfig, TempServer};
use std::io::Write as _;
use std::time::{Duration, Instant};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn servers() -> Vec<TempServer> {
    let abstract_name = format!("@degu-test-{}-{:?}", std::process::id(), Instant::now());
    vec![
        TempServer::ipv4(DemoApp).unwrap(),
        TempServer::ipv6(DemoApp).unwrap(),
        TempServer::unix(DemoApp).unwrap(),
        TempServer::start(&abstract_name.parse().unwrap(), DemoApp).unwrap(),
    ]
}

#[test]
fn the_async_client_talks_to_every_address_kind() {
    for server in servers() {
        let address = server.address().clone();
        rt().block_on(async {
            let client = Client::new(address.clone());
            let mut conn = client.connect().await.unwrap();
            for _ in 0..3 {
                let mut r = conn.get("/hello", &[]).await.unwrap();
                assert_eq!(r.status, 200, "{address}");
                let mut buf = [0u8; 64];
                let n = r.body.read_to_end(&mut buf).await.unwrap();
                assert_eq!(&buf[..n], b"hello, world", "{address}");
            }
            let (mut w, response) = conn
                .send(Method::Post, "/echo", &[], Framing::Chunked)
                .unwrap();
            let sending = async {
                w.write_chunk(Some(ChunkExt::new("k", "v")), b"data")
                    .await?;
                w.finish(None).await
            };
            let (sent, r) = tokio::join!(sending, response.receive());
            sent.unwrap();
            let mut r = r.unwrap();
            let mut buf = [0u8; 64];
            let p = r.body.read_chunk(&mut buf).await.unwrap().unwrap();
            assert_eq!(
                (p.ext, &buf[..p.len]),
                (Some(ChunkExt::new("k", "v")), &b"data"[..])
            );
            assert!(r.body.read_chunk(&mut buf).await.unwrap().unwrap().is_end());
            assert_eq!(r.body.read_chunk(&mut buf).await.unwrap(), None);
        });
        server.stop().unwrap();
    }
}

#[test]
fn the_blocking_client_drives_the_same_engine() {
    for server in servers() {
        let client = Client::new(server.address().clone());
        let mut conn = client.connect_blocking().unwrap();
        let mut r = conn.put("/echo", &[], b"ping").wait().unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.body.read_to_vec().wait().unwrap(), b"ping");
        let (mut w, response) = conn
            .send(Method::Post, "/echo", &[], Framing::Chunked)
            .unwrap();
        // Full duplex: the echo may answer while the body still goes out.
        let sending = async {
            w.write_chunk(Some(ChunkExt::new("a", "1")), b"x").await?;
            w.write_chunk(None, b"yz").await?;
            w.finish(Some(ChunkExt::new("end", "1"))).await
        };
        let (sent, r) = embassy_futures::join::join(sending, response.receive()).wait();
        sent.unwrap();
        let mut r = r.unwrap();
        let mut buf = [0u8; 16];
        let mut got = Vec::new();
        while let Some(p) = r.body.read_chunk(&mut buf).wait().unwrap() {
            got.push((
                p.ext.map(|e| format!("{}={}", e.key, e.value)),
                buf[..p.len].to_vec(),
            ));
        }
        assert_eq!(
            got,
            vec![
                (Some("a=1".into()), b"x".to_vec()),
                (None, b"yz".to_vec()),
                (Some("end=1".into()), vec![]),
            ]
        );
        let r = conn.get("/nope", &[]).wait().unwrap();
        assert_eq!(r.status, 404);
    }
}

#[test]
fn binding_port_zero_reports_the_real_port() {
    let server = TempServer::ipv4(DemoApp).unwrap();
    let port = server.address().port().unwrap();
    assert_ne!(port, 0);
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
}

#[test]
fn the_client_sends_a_host_header_for_ip_addresses_only() {
    struct EchoHost;
    impl App for EchoHost {
        type State = ();
        async fn handle<'r, R: Read, W: Write>(
            &self,
            _: &mut Session<'_, ()>,
            request: Request<'_, R>,
            responder: Responder<'r, W>,
        ) -> Result<Sent<'r>, Error> {
            let host = request.header("host").unwrap_or("-");
            responder.send(200, "OK", &[], host.as_bytes()).await
        }
    }
    let tcp = TempServer::ipv4(EchoHost).unwrap();
    let mut conn = Client::new(tcp.address().clone())
        .connect_blocking()
        .unwrap();
    let want = format!("127.0.0.1:{}", tcp.address().port().unwrap());
    assert_eq!(
        conn.get("/", &[])
            .wait()
            .unwrap()
            .body
            .read_to_vec()
            .wait()
            .unwrap(),
        want.as_bytes()
    );
    let mine = [Header::new("host", "device.local")];
    assert_eq!(
        conn.get("/", &mine)
            .wait()
            .unwrap()
            .body
            .read_to_vec()
            .wait()
            .unwrap(),
        b"device.local"
    );
    let unix = TempServer::unix(EchoHost).unwrap();
    let mut conn = Client::new(unix.address().clone())
        .connect_blocking()
        .unwrap();
    assert_eq!(
        conn.get("/", &[])
            .wait()
            .unwrap()
            .body
            .read_to_vec()
            .wait()
            .unwrap(),
        b"-"
    );
}

/// Reports what the session knows about the peer.
struct WhoAmI;

impl App for WhoAmI {
    type State = ();
    async fn handle<'r, R: Read, W: Write>(
        &self,
        session: &mut Session<'_, ()>,
        _: Request<'_, R>,
        responder: Responder<'r, W>,
    ) -> Result<Sent<'r>, Error> {
        let peer = match session.peer() {
            PeerAddr::Ip(a) => format!("ip {}", a.ip()),
            PeerAddr::UnixPath(p) => format!("unix {p}"),
            PeerAddr::UnixAbstract(_) => "abstract".into(),
            PeerAddr::Unnamed => "unnamed".into(),
        };
        let creds = session
            .credentials()
            .map(|c| format!("pid={} uid={} gid={}", c.pid, c.uid, c.gid))
            .unwrap_or_default();
        let body = format!("{peer}; {creds}; requests={}", session.requests());
        responder.send(200, "OK", &[], body.as_bytes()).await
    }
}

#[test]
fn unix_peers_come_with_their_credentials() {
    let server = TempServer::unix(WhoAmI).unwrap();
    let mut conn = Client::new(server.address().clone())
        .connect_blocking()
        .unwrap();
    let body = String::from_utf8(
        conn.get("/", &[])
            .wait()
            .unwrap()
            .body
            .read_to_vec()
            .wait()
            .unwrap(),
    )
    .unwrap();
    let me = format!(
        "pid={} uid={} gid={}",
        std::process::id(),
        nix::unistd::getuid(),
        nix::unistd::getgid()
    );
    assert_eq!(body, format!("unnamed; {me}; requests=0"));
    let body = String::from_utf8(
        conn.get("/", &[])
            .wait()
            .unwrap()
            .body
            .read_to_vec()
            .wait()
            .unwrap(),
    )
    .unwrap();
    assert!(body.ends_with("requests=1"), "{body}");

    let tcp = TempServer::ipv6(WhoAmI).unwrap();
    let mut conn = Client::new(tcp.address().clone())
        .connect_blocking()
        .unwrap();
    let body = String::from_utf8(
        conn.get("/", &[])
            .wait()
            .unwrap()
            .body
            .read_to_vec()
            .wait()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(body, "ip ::1; ; requests=0");
}

#[test]
fn a_slow_head_is_cut_off_by_the_head_timeout() {
    let config = ServerConfig {
        head_timeout: Duration::from_millis(300),
        idle_timeout: Duration::from_secs(5),
        ..ServerConfig::default()
    };
    let server = TempServer::with_config(&Address::ipv4_loopback(0), DemoApp, config).unwrap();
    let mut s = raw(server.address());
    s.write_all(b"GET /hello HTTP/1.1\r\nx-a: 1\r\n").unwrap();
    let (out, took) = read_all(s);
    assert!(out.is_empty(), "no response to a head that never ends");
    assert!(
        took < Duration::from_secs(3),
        "closed by the head timeout, not idle: {took:?}"
    );
}

#[test]
fn an_idle_connection_is_closed_by_the_idle_timeout() {
    let config = ServerConfig {
        idle_timeout: Duration::from_millis(300),
        ..ServerConfig::default()
    };
    let server = TempServer::with_config(&Address::ipv4_loopback(0), DemoApp, config).unwrap();
    let mut s = raw(server.address());
    s.write_all(b"GET /hello HTTP/1.1\r\n\r\n").unwrap();
    let (out, took) = read_all(s);
    assert!(out.starts_with(b"HTTP/1.1 200 OK\r\n"));
    assert!(took < Duration::from_secs(3), "{took:?}");
}

#[test]
fn a_full_server_evicts_an_idle_connection_to_admit_a_new_one() {
    let config = ServerConfig {
        max_connections: 2,
        ..ServerConfig::default()
    };
    let server = TempServer::with_config(&Address::ipv4_loopback(0), DemoApp, config).unwrap();
    let client = Client::new(server.address().clone());
    let mut a = client.connect_blocking().unwrap();
    let mut b = client.connect_blocking().unwrap();
    assert_eq!(
        a.get("/hello", &[])
            .wait()
            .unwrap()
            .body
            .read_to_vec()
            .wait()
            .unwrap(),
        b"hello, world"
    );
    assert_eq!(
        b.get("/hello", &[])
            .wait()
            .unwrap()
            .body
            .read_to_vec()
            .wait()
            .unwrap(),
        b"hello, world"
    );
    let start = Instant::now();
    let mut c = client.connect_blocking().unwrap();
    assert_eq!(
        c.get("/hello", &[])
            .wait()
            .unwrap()
            .body
            .read_to_vec()
            .wait()
            .unwrap(),
        b"hello, world"
    );
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "admitted at once: {:?}",
        start.elapsed()
    );
    assert_eq!(server.running().unwrap().connections(), 2);
    // One of the first two was closed to make room.
    let a_ok = a.get("/hello", &[]).wait().is_ok();
    let b_ok = b.get("/hello", &[]).wait().is_ok();
    assert!(
        a_ok ^ b_ok,
        "exactly one idle connection was evicted ({a_ok}, {b_ok})"
    );
}

/// Sleeps before answering, so a request is in flight during shutdown.
struct Slow;

impl App for Slow {
    type State = ();
    async fn handle<'r, R: Read, W: Write>(
        &self,
        _: &mut Session<'_, ()>,
        _: Request<'_, R>,
        responder: Responder<'r, W>,
    ) -> Result<Sent<'r>, Error> {
        tokio::time::sleep(Duration::from_millis(300)).await;
        responder.send(200, "OK", &[], b"finished").await
    }
}

#[test]
fn graceful_shutdown_finishes_in_flight_requests() {
    let server = TempServer::ipv4(Slow).unwrap();
    let address = server.address().clone();
    let idle = raw(&address);
    let mut busy = raw(&address);
    busy.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let start = Instant::now();
    server.stop().unwrap();
    assert!(start.elapsed() < Duration::from_secs(3));
    let (out, _) = read_all(busy);
    assert!(
        out.starts_with(b"HTTP/1.1 200 OK\r\n"),
        "{}",
        String::from_utf8_lossy(&out)
    );
    assert!(out.ends_with(b"finished"));
    let (out, _) = read_all(idle);
    assert!(
        out.is_empty(),
        "the idle connection is closed without a response"
    );
    assert!(
        std::net::TcpStream::connect(match &address {
            Address::Ip(a) => *a,
            _ => unreachable!(),
        })
        .is_err()
    );
}

#[test]
fn many_workers_share_one_listener() {
    let config = ServerConfig {
        workers: 2,
        ..ServerConfig::default()
    };
    let server = TempServer::with_config(&Address::ipv6_loopback(0), DemoApp, config).unwrap();
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let client = Client::new(server.address().clone());
            std::thread::spawn(move || {
                let mut conn = client.connect_blocking().unwrap();
                for _ in 0..50 {
                    let body = conn
                        .put("/echo", &[], b"abc")
                        .wait()
                        .unwrap()
                        .body
                        .read_to_vec()
                        .wait()
                        .unwrap();
                    assert_eq!(body, b"abc");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

/// Answers with the name of the worker thread that serves the connection.
struct WhichWorker;

impl App for WhichWorker {
    type State = ();

    async fn handle<'r, R: Read, W: Write>(
        &self,
        _session: &mut Session<'_, ()>,
        _request: Request<'_, R>,
        responder: Responder<'r, W>,
    ) -> Result<Sent<'r>, Error> {
        let name = std::thread::current().name().unwrap_or("").to_owned();
        responder.send(200, "OK", &[], name.as_bytes()).await
    }
}

#[test]
fn connections_are_spread_over_the_workers() {
    let config = ServerConfig {
        workers: 2,
        ..ServerConfig::default()
    };
    let server = TempServer::with_config(&Address::ipv4_loopback(0), WhichWorker, config).unwrap();
    let client = Client::new(server.address().clone());
    // A burst of connections, as a load generator opens them, then a request on each:
    // whichever worker wakes first takes a connection, but none may get ahead of the
    // other by more than ACCEPT_LEAD + 1 (the one it took while level, plus the lead).
    let mut conns: Vec<_> = (0..16)
        .map(|_| client.connect_blocking().unwrap())
        .collect();
    let mut per_worker = std::collections::BTreeMap::<String, usize>::new();
    for conn in &mut conns {
        let mut r = conn.get("/", &[]).wait().unwrap();
        let name = String::from_utf8(r.body.read_to_vec().wait().unwrap()).unwrap();
        *per_worker.entry(name).or_default() += 1;
    }
    let counts: Vec<usize> = per_worker.values().copied().collect();
    assert_eq!(counts.len(), 2, "{per_worker:?}");
    let spread = counts.iter().max().unwrap() - counts.iter().min().unwrap();
    assert!(
        spread <= degu_std::server::ACCEPT_LEAD + 1,
        "{per_worker:?}"
    );
}
