//! degu-std's blocking server (a thread per connection, the engine on the blocking
//! executor) from outside: every listener kind with keep-alive, a streaming echo larger
//! than every socket buffer, head and idle timeouts, the connection bound, bad input,
//! shutdown, and the refusal of TLS. Every wait is bounded.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{raw, read_all};
use degu_core::app::App;
use degu_core::engine::Error;
use degu_examples::demo::DemoApp;
use degu_std::blocking::{BlockingConnection, RunningBlockingServer, Wait};
use degu_std::{Address, Client, ServerConfig, TempPki};
use std::io::Write as _;
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn start_with<A: App + Send + Sync + 'static>(
    address: &Address,
    app: A,
    config: ServerConfig,
) -> RunningBlockingServer {
    degu_std::Server::bind(address, config)
        .unwrap()
        .spawn_blocking(app)
        .unwrap()
}

fn start(address: &Address) -> RunningBlockingServer {
    start_with(address, DemoApp, ServerConfig::default())
}

fn connect(server: &RunningBlockingServer) -> BlockingConnection {
    let mut config = degu_std::ClientConfig::for_address(server.address());
    // No test waits longer than this for an answer.
    config.timeout = Some(Duration::from_secs(10));
    Client::with_config(server.address().clone(), config)
        .connect_blocking()
        .unwrap()
}

fn hello(conn: &mut BlockingConnection) -> Result<Vec<u8>, Error> {
    let mut r = conn.get("/hello", &[]).wait()?;
    assert_eq!(r.status, 200);
    let mut body = [0u8; 64];
    let n = r.body.read_to_end(&mut body).wait()?;
    Ok(body[..n].to_vec())
}

/// Wait (bounded) until the server counts `n` connections.
fn wait_for_connections(server: &RunningBlockingServer, n: usize) {
    let until = Instant::now() + Duration::from_secs(5);
    while server.connections() != n {
        assert!(
            Instant::now() < until,
            "{} connections, expected {n}",
            server.connections()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn every_listener_kind_serves_keep_alive_requests() {
    let dir = tempfile::tempdir().unwrap();
    for address in [
        Address::ipv4_loopback(0),
        Address::ipv6_loopback(0),
        Address::Unix(dir.path().join("blocking.sock")),
    ] {
        let server = start(&address);
        let mut conn = connect(&server);
        for _ in 0..3 {
            assert_eq!(hello(&mut conn).unwrap(), b"hello, world", "{address}");
        }
        // Three requests, one connection (thread) the whole time.
        assert_eq!(server.connections(), 1, "{address}");
        drop(conn);
        wait_for_connections(&server, 0);
        server.stop().unwrap();
    }
}

#[test]
fn a_20_mib_echo_streams_through_both_directions_at_once() {
    // More than the socket buffers of both ends together: the server echoes while the
    // client is still sending.
    let body: Vec<u8> = (0..20 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
    let dir = tempfile::tempdir().unwrap();
    for address in [
        Address::ipv4_loopback(0),
        Address::Unix(dir.path().join("echo.sock")),
    ] {
        let server = start(&address);
        let mut conn = connect(&server);
        let mut r = conn.put("/echo", &[], &body).wait().unwrap();
        assert_eq!(r.status, 200);
        let mut echoed = vec![0u8; body.len() + 1];
        let n = r.body.read_to_end(&mut echoed).wait().unwrap();
        assert_eq!(n, body.len(), "{address}");
        assert!(echoed[..n] == body[..], "{address}: the same bytes back");
        // And the connection is still good.
        assert_eq!(hello(&mut conn).unwrap(), b"hello, world");
        server.stop().unwrap();
    }
}

#[test]
fn a_stalled_head_is_cut_off_by_the_head_timeout() {
    let config = ServerConfig {
        head_timeout: Duration::from_millis(300),
        idle_timeout: Duration::from_secs(8),
        ..ServerConfig::default()
    };
    let server = start_with(&Address::ipv4_loopback(0), DemoApp, config);
    let mut s = raw(server.address());
    s.write_all(b"GET /hello HTTP/1.1\r\nx-a: 1\r\n").unwrap();
    let (out, took) = read_all(s);
    assert!(out.is_empty(), "no response to a head that never ends");
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_secs(3),
        "closed by the head timeout, not the idle one: {took:?}"
    );
    // A head trickling in one byte at a time is cut off by the same deadline.
    let mut s = raw(server.address());
    let started = Instant::now();
    for b in b"GET /hello HTTP/1.1\r\nx-a: 1\r\n" {
        if s.write_all(&[*b]).is_err() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let (out, _) = read_all(s);
    assert!(out.is_empty());
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn an_idle_connection_is_closed_by_the_idle_timeout() {
    let config = ServerConfig {
        idle_timeout: Duration::from_millis(300),
        ..ServerConfig::default()
    };
    let server = start_with(&Address::ipv4_loopback(0), DemoApp, config);
    // Silent from the start.
    let (out, took) = read_all(raw(server.address()));
    assert!(out.is_empty());
    assert!(took < Duration::from_secs(3), "{took:?}");
    // Idle after a request.
    let mut s = raw(server.address());
    s.write_all(b"GET /hello HTTP/1.1\r\n\r\n").unwrap();
    let (out, took) = read_all(s);
    assert!(out.starts_with(b"HTTP/1.1 200 OK\r\n"));
    assert!(out.ends_with(b"hello, world"));
    assert!(took < Duration::from_secs(3), "{took:?}");
    wait_for_connections(&server, 0);
}

#[test]
fn a_full_server_serves_a_new_client_once_one_leaves_and_nothing_hangs() {
    let config = ServerConfig {
        max_connections: 2,
        accept_wait: Duration::from_millis(1500),
        ..ServerConfig::default()
    };
    let server = start_with(&Address::ipv4_loopback(0), DemoApp, config);
    let mut a = connect(&server);
    let mut b = connect(&server);
    assert_eq!(hello(&mut a).unwrap(), b"hello, world");
    assert_eq!(hello(&mut b).unwrap(), b"hello, world");
    assert_eq!(server.connections(), 2);

    // Nobody leaves: the third waits `accept_wait`, then is closed unanswered.
    let mut c = raw(server.address());
    c.write_all(b"GET /hello HTTP/1.1\r\n\r\n").unwrap();
    let (out, took) = read_all(c);
    assert!(out.is_empty(), "{}", String::from_utf8_lossy(&out));
    assert!(
        took >= Duration::from_millis(1000) && took < Duration::from_secs(5),
        "{took:?}"
    );
    // Both first connections still work: none was closed for room.
    assert_eq!(hello(&mut a).unwrap(), b"hello, world");
    assert_eq!(hello(&mut b).unwrap(), b"hello, world");

    // One leaves while a fourth waits: the fourth is served.
    let address = server.address().clone();
    let fourth = std::thread::spawn(move || {
        let mut d = raw(&address);
        d.write_all(b"GET /hello HTTP/1.1\r\nconnection: close\r\n\r\n")
            .unwrap();
        read_all(d)
    });
    std::thread::sleep(Duration::from_millis(200));
    drop(a);
    let (out, took) = fourth.join().unwrap();
    assert!(
        out.starts_with(b"HTTP/1.1 200 OK\r\n"),
        "{}",
        String::from_utf8_lossy(&out)
    );
    assert!(out.ends_with(b"hello, world"));
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert_eq!(hello(&mut b).unwrap(), b"hello, world");
}

#[test]
fn bad_input_gets_its_status_then_the_connection_closes() {
    let server = start(&Address::ipv4_loopback(0));
    for (request, status) in [
        (&b"GARBAGE\r\n\r\n"[..], "400"),
        (b"GET /hello HTTP/1.0\r\n\r\n", "505"),
        (b"PUT /echo HTTP/1.1\r\ncontent-length: x\r\n\r\n", "400"),
    ] {
        let mut s = raw(server.address());
        s.write_all(request).unwrap();
        let (out, took) = read_all(s);
        let text = String::from_utf8_lossy(&out);
        assert!(
            text.starts_with(&format!("HTTP/1.1 {status} ")),
            "{status}: {text}"
        );
        assert!(text.contains("connection: close\r\n"), "{text}");
        assert!(took < Duration::from_secs(3), "closed at once: {took:?}");
    }
}

#[test]
fn stop_closes_idle_connections_and_finishes_requests_in_flight() {
    let server = start(&Address::ipv4_loopback(0));
    let address = server.address().clone();
    let idle = raw(&address);
    // In flight: the head is in, the body comes only once the server is stopping.
    let mut busy = raw(&address);
    busy.write_all(b"PUT /echo HTTP/1.1\r\ncontent-length: 8\r\n\r\n")
        .unwrap();
    wait_for_connections(&server, 2);
    let finishing = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        busy.write_all(b"finished").unwrap();
        read_all(busy)
    });
    let start = Instant::now();
    server.stop().unwrap();
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_secs(3),
        "stop waited for the request in flight, no longer: {took:?}"
    );
    let (out, _) = finishing.join().unwrap();
    assert!(
        out.starts_with(b"HTTP/1.1 200 OK\r\n"),
        "{}",
        String::from_utf8_lossy(&out)
    );
    assert!(out.ends_with(b"finished"));
    let (out, took) = read_all(idle);
    assert!(out.is_empty(), "the idle connection closes unanswered");
    assert!(took < Duration::from_secs(3), "{took:?}");
    let Address::Ip(a) = address else {
        unreachable!()
    };
    assert!(TcpStream::connect(a).is_err(), "no longer listening");
}

#[test]
fn tls_is_refused() {
    let pki = TempPki::new().unwrap();
    let config = ServerConfig {
        tls: Some(pki.server_config().unwrap()),
        ..ServerConfig::default()
    };
    let err = degu_std::Server::bind(&Address::ipv4_loopback(0), config)
        .unwrap()
        .spawn_blocking(DemoApp)
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
}
