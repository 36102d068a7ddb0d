//! Connection pressure on the host (issue 14): floods of connections that never send a
//! request, or trickle one, must not keep a real client from being served, and an idle
//! connection must cost little.
//!
//! * `demo-server` with its defaults (10,000 connections, 30 s idle and 10 s head
//!   timeouts) under 1,000 silent and 1,000 trickling connections: 20 fresh clients, one
//!   after another, are each served within 1 s; the server's memory is printed; every
//!   hostile connection is closed by the server (the silent ones by the idle timeout, the
//!   trickling ones by the head timeout) before the test's bound.
//! * The same floods, 200 + 200, against a server with 64 slots: here only closing what
//!   matters least (`degu_core::pressure`) makes room, and fresh clients are still
//!   served within 1 s.
//! * `demo-server` with its defaults holding 10,000 idle keep-alive connections (its
//!   limit): its RSS stays well under 256 MiB, and a fresh client is served within 1 s
//!   (the server closes the oldest idle connection to admit it).
//!
//! The servers run as child processes (`demo-server`, built by `common::bins()`) so
//! their memory is their own, except the 64-slot one, which needs short timeouts that
//! `demo-server` has no option for. Traffic stays on 127.0.0.1. The tests take turns (one
//! lock), as each holds thousands of sockets; the test raises its descriptor limit, and
//! the server child inherits it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{raise_nofile, status_kib};

use degu_examples::demo::DemoApp;
use degu_std::blocking::Wait;
use degu_std::{Address, BodyExt, Client, ServerConfig, TempServer};
use std::net::SocketAddr;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

/// Silent and trickling connections against `demo-server`'s defaults.
const SILENT: usize = 1000;
const TRICKLING: usize = 1000;
/// Real clients, one after another, while a flood holds its connections.
const FRESH_CLIENTS: usize = 20;
/// The bound for serving each of them.
const SERVED_WITHIN: Duration = Duration::from_secs(1);
/// A trickling connection sends one more byte of its head this often.
const TRICKLE_EVERY: Duration = Duration::from_millis(500);
/// Connection attempts in flight at once while a flood is set up: more would overflow
/// the listen backlog and make the kernel drop SYNs (retried only after a second).
const CONNECTING_AT_ONCE: usize = 64;
/// Idle connections in the memory test: `demo-server`'s default limit.
const IDLE: usize = ServerConfig::DEFAULT_MAX_CONNECTIONS;
/// What 10,000 idle connections may cost the server at most (the bound).
const IDLE_RSS_LIMIT_KIB: u64 = 256 * 1024;
/// Descriptors the test process (and the server child, which inherits the limit) may
/// need: 10,000 connections and a margin.
const NOFILE: u64 = 12_288;
/// Beyond a flood's timeouts, how long the test waits for the server to close it.
const CLOSE_MARGIN: Duration = Duration::from_secs(10);

/// The tests take turns: each holds thousands of sockets.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// Start `demo-server` on a free port of 127.0.0.1 with its defaults.
fn demo_server() -> (common::Proc, SocketAddr) {
    let bins = common::bins();
    let mut cmd = Command::new(&bins.demo_server);
    cmd.args(["--address", "127.0.0.1:0"]);
    let (server, address) = common::start_demo_server(&mut cmd);
    (server, address.parse().expect("address"))
}

/// How a hostile connection ended.
#[derive(Debug)]
struct Closed {
    /// From its first byte (trickling) or its connect (silent) to the server's close.
    after: Duration,
    /// Bytes the server sent it: none, as it never completes a request.
    got: usize,
}

/// What kind of hostile connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Connects and sends nothing.
    Silent,
    /// Sends a request head one byte every [`TRICKLE_EVERY`], never finishing it.
    Trickling,
}

/// Connect (at most [`CONNECTING_AT_ONCE`] at a time), count the connection in
/// `connected`, then be silent or trickle until the server closes the connection.
async fn hostile(
    addr: SocketAddr,
    kind: Kind,
    gate: Arc<Semaphore>,
    connected: Arc<AtomicUsize>,
) -> Result<Closed, String> {
    let permit = gate.acquire().await.map_err(|e| e.to_string())?;
    let mut s = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("{kind:?} connect: {e}"))?;
    drop(permit);
    connected.fetch_add(1, Ordering::SeqCst);
    let start = Instant::now();
    let head = b"GET /hello HTTP/1.1\r\nx-slow: ";
    let mut sent = 0;
    let mut got = 0;
    let mut buf = [0u8; 256];
    let mut tick = tokio::time::interval(TRICKLE_EVERY);
    loop {
        tokio::select! {
            r = s.read(&mut buf) => match r {
                Ok(0) | Err(_) => return Ok(Closed { after: start.elapsed(), got }),
                Ok(n) => got += n,
            },
            _ = tick.tick(), if kind == Kind::Trickling => {
                let byte = head.get(sent).copied().unwrap_or(b'a');
                if s.write_all(&[byte]).await.is_err() {
                    return Ok(Closed { after: start.elapsed(), got });
                }
                sent += 1;
            }
        }
    }
}

/// Start `silent` silent and `trickling` trickling connections to `addr` (silent ones
/// first) and wait until all are connected.
fn flood(
    rt: &tokio::runtime::Runtime,
    addr: SocketAddr,
    silent: usize,
    trickling: usize,
) -> Vec<(Kind, tokio::task::JoinHandle<Result<Closed, String>>)> {
    let gate = Arc::new(Semaphore::new(CONNECTING_AT_ONCE));
    let connected = Arc::new(AtomicUsize::new(0));
    let kinds = std::iter::repeat_n(Kind::Silent, silent)
        .chain(std::iter::repeat_n(Kind::Trickling, trickling));
    let tasks: Vec<_> = kinds
        .map(|kind| {
            let task = hostile(addr, kind, gate.clone(), connected.clone());
            (kind, rt.spawn(task))
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    while connected.load(Ordering::SeqCst) < silent + trickling {
        assert!(
            Instant::now() < deadline,
            "only {} of {} hostile connections connected within 60 s",
            connected.load(Ordering::SeqCst),
            silent + trickling
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    tasks
}

/// One real client: connect, `GET /hello`, read the body; how long it all took.
fn fresh_client(addr: SocketAddr) -> Duration {
    let started = Instant::now();
    let mut conn = Client::new(Address::Ip(addr))
        .connect_blocking()
        .expect("a fresh client connects");
    let mut response = conn.get("/hello", &[]).wait().expect("GET /hello");
    assert_eq!(response.status, 200);
    assert_eq!(
        response.body.read_to_vec().wait().expect("body"),
        b"hello, world"
    );
    started.elapsed()
}

/// [`FRESH_CLIENTS`] real clients one after another; each must be served within
/// [`SERVED_WITHIN`]. Their times.
fn fresh_clients(addr: SocketAddr, what: &str) -> Vec<Duration> {
    (0..FRESH_CLIENTS)
        .map(|i| {
            let took = fresh_client(addr);
            assert!(
                took <= SERVED_WITHIN,
                "{what}: fresh client {i} waited {took:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
            took
        })
        .collect()
}

/// Wait (at most until `deadline`) for every hostile connection to be closed by the
/// server; the close times of each kind.
fn all_closed(
    rt: &tokio::runtime::Runtime,
    tasks: Vec<(Kind, tokio::task::JoinHandle<Result<Closed, String>>)>,
    deadline: Instant,
    what: &str,
) -> (Vec<Duration>, Vec<Duration>) {
    let (mut silent, mut trickling) = (Vec::new(), Vec::new());
    rt.block_on(async {
        for (kind, task) in tasks {
            let closed = tokio::time::timeout_at(deadline.into(), task)
                .await
                .unwrap_or_else(|_| panic!("{what}: a {kind:?} connection still open"))
                .expect("task")
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(closed.got, 0, "{what}: a {kind:?} connection got an answer");
            match kind {
                Kind::Silent => silent.push(closed.after),
                Kind::Trickling => trickling.push(closed.after),
            }
        }
    });
    (silent, trickling)
}

/// Whether the server has closed `s` (FIN or reset), looking without taking bytes.
fn closed_by_peer(s: &TcpStream) -> bool {
    use nix::errno::Errno;
    use nix::sys::socket::{MsgFlags, recv};
    use std::os::fd::AsRawFd;
    let mut buf = [0u8; 1];
    match recv(
        s.as_raw_fd(),
        &mut buf,
        MsgFlags::MSG_PEEK | MsgFlags::MSG_DONTWAIT,
    ) {
        Ok(0) => true,
        Ok(_) => panic!("an idle connection received unexpected bytes"),
        Err(Errno::EAGAIN) => false,
        Err(_) => true,
    }
}

fn range(times: &[Duration]) -> String {
    let min = times.iter().min().copied().unwrap_or_default();
    let max = times.iter().max().copied().unwrap_or_default();
    format!("{min:.1?}..{max:.1?}")
}

#[test]
fn floods_of_silent_and_trickling_connections_leave_fresh_clients_served() {
    let _turn = one_at_a_time();
    raise_nofile(NOFILE);
    let defaults = ServerConfig::default();
    let (mut server, addr) = demo_server();
    let pid = server.pid();
    let rss_before = status_kib(pid, "VmRSS");
    let rt = runtime();

    let started = Instant::now();
    let tasks = flood(&rt, addr, SILENT, TRICKLING);
    let connected_in = started.elapsed();
    let rss_flooded = status_kib(pid, "VmRSS");
    let served = fresh_clients(addr, "defaults");
    let rss_after_clients = status_kib(pid, "VmRSS");
    // Silent connections end at the idle timeout, trickling ones at the head timeout
    // (counted from their first byte); all are connected by now.
    let deadline = Instant::now() + defaults.idle_timeout.max(defaults.head_timeout) + CLOSE_MARGIN;
    let (silent, trickling) = all_closed(&rt, tasks, deadline, "defaults");
    let hwm = status_kib(pid, "VmHWM");
    println!(
        "demo-server defaults ({} slots, idle {:?}, head {:?}): {SILENT} silent + \
         {TRICKLING} trickling connections, all connected in {connected_in:.1?}; \
         {FRESH_CLIENTS} fresh clients served in {} (each within {SERVED_WITHIN:?}); \
         server closed the silent ones after {}, the trickling ones after {}; server RSS \
         {rss_before} KiB idle, {rss_flooded} KiB flooded, {rss_after_clients} KiB after \
         the fresh clients, peak (VmHWM) {hwm} KiB; {:.1} s in all",
        defaults.max_connections,
        defaults.idle_timeout,
        defaults.head_timeout,
        range(&served),
        range(&silent),
        range(&trickling),
        started.elapsed().as_secs_f64()
    );
    let status = server.terminate(Duration::from_secs(15));
    assert!(status.success(), "demo-server exited with {status}");
}

#[test]
fn a_full_server_closes_what_matters_least_to_serve_fresh_clients() {
    let _turn = one_at_a_time();
    raise_nofile(NOFILE);
    const SLOTS: usize = 64;
    let config = ServerConfig {
        max_connections: SLOTS,
        idle_timeout: Duration::from_secs(3),
        head_timeout: Duration::from_secs(2),
        ..ServerConfig::default()
    };
    let (idle_timeout, head_timeout) = (config.idle_timeout, config.head_timeout);
    let server =
        TempServer::with_config(&Address::ipv4_loopback(0), DemoApp, config).expect("server");
    let Address::Ip(addr) = *server.address() else {
        panic!("TempServer on 127.0.0.1 gave {:?}", server.address())
    };
    let running = server.running().expect("running");
    let rt = runtime();

    let started = Instant::now();
    let tasks = flood(&rt, addr, 200, 200);
    let served = fresh_clients(addr, "64 slots");
    assert!(running.connections() <= SLOTS);
    let deadline = Instant::now() + idle_timeout.max(head_timeout) + CLOSE_MARGIN;
    let (silent, trickling) = all_closed(&rt, tasks, deadline, "64 slots");
    let early = |times: &[Duration], timeout| times.iter().filter(|t| **t < timeout).count();
    println!(
        "{SLOTS} slots (idle {idle_timeout:?}, head {head_timeout:?}): 200 silent + 200 \
         trickling connections; {FRESH_CLIENTS} fresh clients served in {}; silent closed \
         after {} ({} before the idle timeout: closed for room), trickling closed after {} \
         ({} before the head timeout); {:.1} s in all",
        range(&served),
        range(&silent),
        early(&silent, idle_timeout),
        range(&trickling),
        early(&trickling, head_timeout),
        started.elapsed().as_secs_f64()
    );
    // With 400 connections for 64 slots, most had to make room before their timeout.
    assert!(
        early(&silent, idle_timeout) + early(&trickling, head_timeout) >= 400 - SLOTS,
        "too few connections were closed to make room"
    );
}

#[test]
fn ten_thousand_idle_connections_fit_in_256_mib_and_a_fresh_client_is_served() {
    let _turn = one_at_a_time();
    raise_nofile(NOFILE);
    let (mut server, addr) = demo_server();
    let pid = server.pid();
    let rss_before = status_kib(pid, "VmRSS");
    let rt = runtime();

    // Each connection makes one request, reads the answer and stays open: idle.
    let started = Instant::now();
    let gate = Arc::new(Semaphore::new(CONNECTING_AT_ONCE));
    let conns: Vec<TcpStream> = rt.block_on(async {
        let tasks: Vec<_> = (0..IDLE)
            .map(|i| {
                let gate = gate.clone();
                tokio::spawn(async move {
                    let _permit = gate.acquire().await.map_err(|e| e.to_string())?;
                    let mut s = TcpStream::connect(addr)
                        .await
                        .map_err(|e| format!("connection {i}: {e}"))?;
                    s.write_all(b"GET /hello HTTP/1.1\r\n\r\n")
                        .await
                        .map_err(|e| format!("connection {i}: {e}"))?;
                    let mut got = Vec::new();
                    let mut buf = [0u8; 256];
                    while !got.ends_with(b"hello, world") {
                        match s.read(&mut buf).await {
                            Ok(0) => return Err(format!("connection {i}: closed early")),
                            Ok(n) => got.extend_from_slice(&buf[..n]),
                            Err(e) => return Err(format!("connection {i}: {e}")),
                        }
                    }
                    Ok::<_, String>(s)
                })
            })
            .collect();
        let mut conns = Vec::new();
        for t in tasks {
            conns.push(t.await.expect("task").unwrap_or_else(|e| panic!("{e}")));
        }
        conns
    });
    let opened_in = started.elapsed();
    // Let the server settle (each connection back in its idle wait).
    std::thread::sleep(Duration::from_millis(500));
    let rss_idle = status_kib(pid, "VmRSS");
    let took = fresh_client(addr);
    let hwm = status_kib(pid, "VmHWM");
    println!(
        "demo-server defaults: {IDLE} idle keep-alive connections (one request each) opened \
         in {opened_in:.1?}; server RSS {rss_before} KiB before, {rss_idle} KiB with them \
         ({:.1} KiB per idle connection), peak (VmHWM) {hwm} KiB; a fresh client beyond \
         the limit served in {took:.1?}",
        (rss_idle.saturating_sub(rss_before)) as f64 / IDLE as f64
    );
    assert!(
        rss_idle <= IDLE_RSS_LIMIT_KIB,
        "{IDLE} idle connections took the server to {rss_idle} KiB"
    );
    assert!(
        took <= SERVED_WITHIN,
        "a fresh client waited {took:?} with {IDLE} idle connections"
    );
    // The server made room by closing one idle connection, and only one.
    std::thread::sleep(Duration::from_millis(300));
    let closed = conns.iter().filter(|s| closed_by_peer(s)).count();
    assert_eq!(
        closed, 1,
        "idle connections closed to admit one fresh client"
    );
    drop(conns);
    let status = server.terminate(Duration::from_secs(15));
    assert!(status.success(), "demo-server exited with {status}");
}
