//! Slow and idle clients against a live degu-std server (demo app, 32 connection slots):
//!
//! * slowloris: 40 connections trickle a request head one byte every 100 ms; the head
//!   timeout (1 s from a head's first byte) closes each of them, while real clients (the
//!   degu blocking client) keep being served within 2 s each;
//! * an idle keep-alive flood takes every slot; each real client that arrives then makes
//!   the server close one idle connection to admit it (the server's eviction policy), and
//!   is served within 2 s.
//!
//! Both run in a few seconds; the slots are all free again at the end.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use degu_examples::demo::DemoApp;
use degu_std::blocking::{BlockingConnection, Wait};
use degu_std::{Address, BodyExt, Client, ServerConfig, TempServer};
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Connection slots of the servers under test.
const SLOTS: usize = 32;

/// The head timeout of the slowloris server.
const HEAD_TIMEOUT: Duration = Duration::from_secs(1);

/// The longest a real client may wait for its answer.
const SERVED_WITHIN: Duration = Duration::from_secs(2);

/// One real request through degu's blocking client: connect, `GET /hello`, read the body.
/// The connection and how long it all took.
fn real_request(address: &Address) -> (BlockingConnection, Duration) {
    let start = Instant::now();
    let mut conn = Client::new(address.clone())
        .connect_blocking()
        .expect("connect");
    {
        let mut response = conn.get("/hello", &[]).wait().expect("GET /hello");
        assert_eq!(response.status, 200);
        assert_eq!(
            response.body.read_to_vec().wait().expect("body"),
            b"hello, world"
        );
    }
    (conn, start.elapsed())
}

/// Wait until the server holds at most `n` connections.
fn wait_for_connections(server: &TempServer, n: usize, within: Duration) {
    let running = server.running().expect("running");
    let deadline = Instant::now() + within;
    while running.connections() > n {
        assert!(
            Instant::now() < deadline,
            "{} connections still open after {within:?}, expected at most {n}",
            running.connections()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// What one slowloris connection saw.
#[derive(Debug)]
struct Slow {
    /// From its first byte to the server closing it (`None`: never closed).
    closed_after: Option<Duration>,
    /// Bytes it trickled.
    sent: usize,
    /// Bytes the server sent back (it never completes a head, so: none).
    received: usize,
}

/// Connect, send the start of a head, then one more byte every 100 ms until the server
/// closes the connection or `give_up` passes.
fn slowloris(address: &Address, give_up: Duration) -> Slow {
    let Address::Ip(a) = address else {
        panic!("tcp only")
    };
    let mut s = TcpStream::connect(a).expect("connect");
    s.set_nodelay(true).unwrap();
    // Each read waits for the trickle interval: EOF or a reset is the server closing.
    s.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let first = Instant::now();
    let mut sent = 0;
    let mut received = 0;
    let mut buf = [0u8; 256];
    let prefix = b"GET /hello HTTP/1.1\r\nx-slow: ";
    let mut next: &[u8] = &prefix[..1];
    let mut rest = &prefix[1..];
    loop {
        if first.elapsed() > give_up {
            return Slow {
                closed_after: None,
                sent,
                received,
            };
        }
        if s.write_all(next).is_err() {
            break;
        }
        sent += next.len();
        (next, rest) = match rest.split_first() {
            Some((_, tail)) => (&rest[..1], tail),
            None => (&b"a"[..], rest),
        };
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => received += n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => break,
        }
    }
    Slow {
        closed_after: Some(first.elapsed()),
        sent,
        received,
    }
}

#[test]
fn slowloris_is_cut_off_by_the_head_timeout_while_real_clients_are_served() {
    let started = Instant::now();
    let config = ServerConfig {
        max_connections: SLOTS,
        head_timeout: HEAD_TIMEOUT,
        idle_timeout: Duration::from_secs(10),
        io_timeout: Duration::from_secs(5),
        ..ServerConfig::default()
    };
    let server =
        TempServer::with_config(&Address::ipv4_loopback(0), DemoApp, config).expect("server");
    let address = server.address().clone();

    const SLOW: usize = 40;
    let give_up = Duration::from_secs(8);
    let latencies = Mutex::new(Vec::new());
    let slow_done = AtomicUsize::new(0);
    let slows: Vec<Slow> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..SLOW)
            .map(|_| {
                let address = &address;
                let slow_done = &slow_done;
                s.spawn(move || {
                    let r = slowloris(address, give_up);
                    slow_done.fetch_add(1, Ordering::Relaxed);
                    r
                })
            })
            .collect();
        // Real clients, one after another, while the slow ones hold every slot and until
        // the last of them is gone.
        s.spawn(|| {
            std::thread::sleep(Duration::from_millis(200));
            while slow_done.load(Ordering::Relaxed) < SLOW && started.elapsed() < give_up {
                let (conn, took) = real_request(&address);
                drop(conn);
                latencies.lock().unwrap().push(took);
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });

    let latencies = latencies.into_inner().unwrap();
    let worst_real = latencies.iter().max().copied().unwrap_or_default();
    let closed: Vec<Duration> = slows.iter().filter_map(|s| s.closed_after).collect();
    let worst_slow = closed.iter().max().copied().unwrap_or_default();
    println!(
        "slowloris: {SLOW} slow connections on {SLOTS} slots, head timeout {HEAD_TIMEOUT:?}: \
         closed after {:?}..{worst_slow:?} ({} bytes trickled at most); {} real requests, \
         slowest {worst_real:?}; {:.1} s in all",
        closed.iter().min().copied().unwrap_or_default(),
        slows.iter().map(|s| s.sent).max().unwrap_or(0),
        latencies.len(),
        started.elapsed().as_secs_f64()
    );
    assert_eq!(
        closed.len(),
        SLOW,
        "slow connections never closed: {slows:?}"
    );
    assert!(
        slows.iter().all(|s| s.received == 0),
        "a head that never ended got an answer: {slows:?}"
    );
    // Admitted at once: closed one head timeout after the first byte. Queued behind
    // the first 32 (the accept loop waits for a slot): their head starts when a slot
    // frees, one head timeout later, so two head timeouts and some slack at most.
    let bound = 2 * HEAD_TIMEOUT + Duration::from_millis(500);
    assert!(
        worst_slow <= bound,
        "a slow connection lived {worst_slow:?} after its first byte (bound {bound:?})"
    );
    assert!(
        closed
            .iter()
            .filter(|d| **d <= HEAD_TIMEOUT + Duration::from_millis(500))
            .count()
            >= SLOTS - 2,
        "the slow connections holding slots were not cut at the head timeout: {closed:?}"
    );
    assert!(latencies.len() >= 3, "too few real requests: {latencies:?}");
    assert!(
        worst_real <= SERVED_WITHIN,
        "a real client waited {worst_real:?}: {latencies:?}"
    );
    wait_for_connections(&server, 0, Duration::from_secs(2));
}

/// An idle keep-alive connection: one request answered, then silence. A thread notes
/// when the server closes it; dropping it closes it from our side.
struct Idle {
    closed: Arc<AtomicBool>,
    stream: TcpStream,
}

impl Drop for Idle {
    fn drop(&mut self) {
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
    }
}

fn idle_connection(address: &Address, closed_count: &Arc<AtomicUsize>) -> Idle {
    let Address::Ip(a) = address else {
        panic!("tcp only")
    };
    let mut s = TcpStream::connect(a).expect("connect");
    s.write_all(b"GET /hello HTTP/1.1\r\n\r\n").unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    while !got.ends_with(b"hello, world") {
        let n = s.read(&mut buf).expect("response");
        assert!(n > 0, "closed before answering");
        got.extend_from_slice(&buf[..n]);
    }
    assert!(got.starts_with(b"HTTP/1.1 200 OK\r\n"), "{got:?}");
    let closed = Arc::new(AtomicBool::new(false));
    let (flag, count) = (closed.clone(), closed_count.clone());
    s.set_read_timeout(None).unwrap();
    let stream = s.try_clone().unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 64];
        // Nothing more is owed: the next thing a read sees is the server closing.
        let r = s.read(&mut buf);
        assert!(matches!(r, Ok(0) | Err(_)), "unexpected bytes: {r:?}");
        flag.store(true, Ordering::SeqCst);
        count.fetch_add(1, Ordering::SeqCst);
    });
    Idle { closed, stream }
}

#[test]
fn idle_keep_alive_flood_is_evicted_to_admit_real_clients() {
    let started = Instant::now();
    let config = ServerConfig {
        max_connections: SLOTS,
        // Long: here only eviction frees a slot.
        idle_timeout: Duration::from_secs(60),
        head_timeout: HEAD_TIMEOUT,
        ..ServerConfig::default()
    };
    let server =
        TempServer::with_config(&Address::ipv4_loopback(0), DemoApp, config).expect("server");
    let address = server.address().clone();
    let running = server.running().expect("running");

    let closed_count = Arc::new(AtomicUsize::new(0));
    let flood: Vec<Idle> = (0..SLOTS)
        .map(|_| idle_connection(&address, &closed_count))
        .collect();
    assert_eq!(
        running.connections(),
        SLOTS,
        "the flood should fill every slot"
    );

    // Each real client keeps its connection, so each needs a slot of its own.
    const REAL: usize = 10;
    let mut kept = Vec::new();
    let mut latencies = Vec::new();
    for i in 0..REAL {
        let (conn, took) = real_request(&address);
        kept.push(conn);
        latencies.push(took);
        assert!(
            took <= SERVED_WITHIN,
            "real client {i} waited {took:?} with every slot idle"
        );
        assert!(running.connections() <= SLOTS);
        // One idle connection made room for this client.
        let deadline = Instant::now() + SERVED_WITHIN;
        while closed_count.load(Ordering::SeqCst) < i + 1 {
            assert!(
                Instant::now() < deadline,
                "no idle connection closed for real client {i}"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    // And no more than one each.
    std::thread::sleep(Duration::from_millis(300));
    let evicted = flood
        .iter()
        .filter(|c| c.closed.load(Ordering::SeqCst))
        .count();
    println!(
        "idle flood: {SLOTS} idle connections on {SLOTS} slots; {REAL} real clients served \
         in {:?} at worst, {evicted} idle connections evicted to admit them; {:.1} s in all",
        latencies.iter().max().unwrap(),
        started.elapsed().as_secs_f64()
    );
    assert_eq!(evicted, REAL, "one idle connection closed per real client");
    assert_eq!(running.connections(), SLOTS);

    // The real clients' kept connections are idle too now: the next newcomer evicts one
    // of the flood first (the oldest idle connection), then, once the flood is gone,
    // the real clients' own.
    drop(kept);
    drop(flood);
    wait_for_connections(&server, 0, Duration::from_secs(2));
}
