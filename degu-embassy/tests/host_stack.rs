//! degu-embassy on a real network path: an embassy-net stack on a Linux tap device serves
//! the demo app with a [`PoolState`] of two workers and one spare socket, and
//! degu-std's blocking client reaches it through the kernel's TCP.
//!
//! The test creates a network namespace with a tap device in it (the kernel's end is
//! 10.0.0.1/24), then runs this test binary again inside the namespace (`ip netns exec`)
//! as the device: [`device_on_tap`] opens the tap and runs embassy-net (10.0.0.2/24,
//! port 80) on embassy-executor's std platform. The client runs on a thread of the test
//! that has entered the namespace (`setns`), so nothing touches the host's interfaces.
//!
//! Everything is bounded: the client's connect, reads and writes time out after
//! [`CLIENT_TIMEOUT`], the device must be listening within [`STARTUP`] and ends by
//! itself when the test closes its stdin (or after [`DEVICE_LIFETIME`]), and guards
//! kill the device and delete the namespace also when an assertion fails. It needs root
//! (CAP_SYS_ADMIN and CAP_NET_ADMIN) and `ip`, so a plain `cargo test` leaves it out
//! (`#[ignore]`); `cargo xtask test` runs it, and where creating a namespace is refused
//! it fails.

use degu_core::engine::{Pump, Read as EngineRead, Response};
use degu_core::{ChunkExt, Framing};
use degu_embassy::{PoolEvents, PoolState, ServeConfig};
use degu_examples::demo::DemoApp;
use degu_std::blocking::{BlockingConnection, Wait};
use degu_std::{Address, BodyExt, Client, ClientConfig};
use embassy_executor::{Executor, Spawner};
use embassy_net::{Ipv4Cidr, Runner, StackResources, StaticConfigV4};
use embassy_net_tuntap::TunTapDevice;
use static_cell::StaticCell;
use std::io::{BufRead, BufReader, ErrorKind, Read};
use std::net::{Ipv4Addr, SocketAddr};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Set (to the tap's name) when this binary runs as the device.
const DEVICE_ENV: &str = "DEGU_EMBASSY_HOST_STACK_TAP";
/// The device's address; the kernel's end of the tap is [`KERNEL_CIDR`].
const DEVICE_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const KERNEL_CIDR: &str = "10.0.0.1/24";
const TAP: &str = "tap0";
const PORT: u16 = 80;
/// Requests the device handles at once (buffer sets); it has one socket more than this.
const WORKERS: usize = 2;
/// The device's pool: two workers, three sockets.
type Pool = PoolState<WORKERS, SOCKET_BUFFER, SOCKET_BUFFER>;
/// Each socket's receive and send buffers, as on the boards.
const SOCKET_BUFFER: usize = 4096;
/// Namespace names start with this, then the test's process id.
const PREFIX: &str = "degu-emb";

/// Bound on the client's connect and on each of its reads and writes.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);
/// The device must be listening this soon after it starts.
const STARTUP: Duration = Duration::from_secs(30);
/// The device exits by itself after this long, should its test vanish without closing
/// its stdin.
const DEVICE_LIFETIME: Duration = Duration::from_secs(120);
/// Bound on each `ip` command.
const STEP: Duration = Duration::from_secs(10);

static CONFIG: ServeConfig = ServeConfig::new();

// --- the device: embassy-net on the tap, run inside the namespace ----------------------

/// The device half of [`embassy_server_on_tap_reached_by_degu_std`]: that test runs this
/// binary again inside its namespace, with only itself selected and [`DEVICE_ENV`] set
/// to the tap's name, and the test's first act there is to become this device.
fn device_on_tap(tap: &str) -> ! {
    let device = TunTapDevice::new(tap).unwrap_or_else(|e| panic!("open tap {tap}: {e}"));
    // End when the test is done with us (it closes our stdin, or dies), or at the latest
    // after DEVICE_LIFETIME.
    std::thread::spawn(|| {
        let _ = std::io::stdin().read_to_end(&mut Vec::new());
        println!("stdin closed: exiting");
        std::process::exit(0);
    });
    std::thread::spawn(|| {
        std::thread::sleep(DEVICE_LIFETIME);
        println!("still running after {DEVICE_LIFETIME:?}: exiting");
        std::process::exit(2);
    });
    static EXECUTOR: StaticCell<Executor> = StaticCell::new();
    EXECUTOR.init(Executor::new()).run(|spawner| {
        spawner.spawn(device_main(spawner, device).expect("spawn the device task"));
    });
}

#[embassy_executor::task]
async fn device_main(spawner: Spawner, device: TunTapDevice) {
    let config = embassy_net::Config::ipv4_static(StaticConfigV4 {
        address: Ipv4Cidr::new(DEVICE_IP, 24),
        gateway: None,
        dns_servers: Default::default(),
    });
    static RESOURCES: StaticCell<StackResources<{ Pool::SOCKETS }>> = StaticCell::new();
    let seed = u64::from(std::process::id()) << 32 | 0x6465_6775;
    let (stack, runner) =
        embassy_net::new(device, config, RESOURCES.init(StackResources::new()), seed);
    spawner.spawn(net_task(runner).expect("spawn the network task"));
    stack.wait_config_up().await;
    println!("listening on {DEVICE_IP}:{PORT}");
    // The workers' memory, as firmware keeps it: one static for all of them.
    static POOL: StaticCell<Pool> = StaticCell::new();
    POOL.init(PoolState::new())
        .run_with(stack, PORT, &DemoApp, &CONFIG, &Log)
        .await
}

/// The device's account of its connections, shown when the test fails.
struct Log;

impl PoolEvents for Log {
    fn accepted(&self, socket: usize, peer: Option<embassy_net::IpEndpoint>) {
        println!("socket {socket}: accepted {peer:?}");
    }

    fn closed(
        &self,
        socket: usize,
        peer: Option<embassy_net::IpEndpoint>,
        end: &Result<degu_core::engine::ServerEnd, degu_core::engine::Error>,
    ) {
        println!("socket {socket}: {peer:?} closed: {end:?}");
    }

    fn evicting(&self, socket: usize, rank: degu_core::pressure::Rank) {
        println!("socket {socket}: closing to make room ({rank:?})");
    }
}

#[embassy_executor::task]
async fn net_task(mut runner: Runner<'static, TunTapDevice>) -> ! {
    runner.run().await
}

// --- the test: namespace, tap, device process, client -----------------------------------

#[test]
#[ignore = "needs root for network namespaces: cargo xtask test"]
fn embassy_server_on_tap_reached_by_degu_std() {
    if let Ok(tap) = std::env::var(DEVICE_ENV) {
        device_on_tap(&tap);
    }
    let started = Instant::now();
    remove_stale_namespaces();
    let ns = format!("{PREFIX}-{}", std::process::id());
    // Dropped last: the device (declared after it) is stopped before its namespace goes.
    let _namespace = match Namespace::add(&ns) {
        Ok(guard) => guard,
        Err(reason) => panic!("cannot create a network namespace (this test needs root): {reason}"),
    };
    ip_ok(&["-n", &ns, "link", "set", "lo", "up"]);
    ip_ok(&["-n", &ns, "tuntap", "add", "dev", TAP, "mode", "tap"]);
    ip_ok(&["-n", &ns, "addr", "add", KERNEL_CIDR, "dev", TAP]);
    ip_ok(&["-n", &ns, "link", "set", TAP, "up"]);

    let device = Device::start(&ns);
    device.wait_for("listening on", STARTUP);
    eprintln!("device listening after {:?}", started.elapsed());

    in_namespace(&ns, exchanges);
    eprintln!("done in {:?}", started.elapsed());
}

/// Everything the client checks, on a thread inside the namespace.
fn exchanges() {
    let address = Address::Ip(SocketAddr::from((DEVICE_IP, PORT)));
    let mut config = ClientConfig::for_address(&address);
    config.timeout = Some(CLIENT_TIMEOUT);
    let client = Client::with_config(address, config);

    let mut first = client.connect_blocking().expect("connect");

    // GET and HEAD /hello: a length body, and its head alone.
    let mut r = first.get("/hello", &[]).wait().expect("GET /hello");
    assert_eq!(r.status, 200);
    assert_eq!(r.headers.get("content-length"), Some("12"));
    assert_eq!(
        r.body.read_to_vec().wait().expect("hello body"),
        b"hello, world"
    );
    let mut r = first.head("/hello", &[]).wait().expect("HEAD /hello");
    assert_eq!(r.status, 200);
    assert_eq!(r.headers.get("content-length"), Some("12"));
    assert_eq!(r.body.read_to_vec().wait().expect("HEAD body"), b"");

    // Chunked echo: the same chunk boundaries and extensions come back, the final chunk's
    // extension included. The 3000-byte chunk is larger than the echo route's 512-byte
    // piece, so the device writes it in pieces.
    let big: Vec<u8> = (0..3000u32).map(|i| b'a' + (i % 26) as u8).collect();
    let sent: [(Option<ChunkExt<'_>>, &[u8]); 4] = [
        (Some(ChunkExt::new("seq", "1")), b"one"),
        (None, b"two, no extension"),
        (Some(ChunkExt::new("K-2", "v.2_~:+")), &big),
        (Some(ChunkExt::new("seq", "4")), b"x"),
    ];
    let last = Some(ChunkExt::new("done", "yes"));
    let (mut w, response) = first
        .send(degu_core::Method::Post, "/echo", &[], Framing::Chunked)
        .expect("POST /echo chunked");
    // Full duplex: the echo answers while the body still goes out.
    let sending = async {
        for (ext, data) in &sent {
            w.write_chunk(*ext, data).await?;
        }
        w.finish(last).await
    };
    let (written, r) = embassy_futures::join::join(sending, response.receive()).wait();
    written.expect("POST /echo chunked");
    let r = r.expect("POST /echo chunked");
    assert_eq!(r.status, 200);
    assert_eq!(r.body.framing(), Framing::Chunked);
    let (chunks, end) = read_chunks(r);
    let expected: Chunks = sent
        .iter()
        .map(|(ext, data)| (ext.map(owned), data.to_vec()))
        .collect();
    assert_eq!(chunks, expected);
    assert_eq!(end, last.map(owned));

    // A 64 KiB length body each way: 16 times the device's TCP windows.
    let body: Vec<u8> = (0..64 * 1024u32).map(|i| (i * 7 % 251) as u8).collect();
    let mut r = first.put("/echo", &[], &body).wait().expect("PUT /echo");
    assert_eq!(r.status, 200);
    assert_eq!(r.body.framing(), Framing::Length(body.len() as u64));
    // Not assert_eq!: 64 KiB on each side of a failure message helps nobody.
    assert!(
        r.body.read_to_vec().wait().expect("echoed body") == body,
        "64 KiB echo differs"
    );

    // A chunked response the device makes up, and a 404, still on the first connection.
    let r = first.get("/chunks?n=3", &[]).wait().expect("GET /chunks");
    assert_eq!(r.status, 200);
    let (chunks, end) = read_chunks(r);
    let expected: Chunks = (0..3)
        .map(|i| {
            let data = format!("chunk {i}").into_bytes();
            (Some(("i".to_string(), i.to_string())), data)
        })
        .collect();
    assert_eq!(chunks, expected);
    assert_eq!(end, None);
    let mut r = first.get("/nowhere", &[]).wait().expect("GET /nowhere");
    assert_eq!(r.status, 404);
    assert_eq!(r.body.read_to_vec().wait().expect("404 body"), b"");

    // A second connection is served while the first stays open (idle)...
    let mut second = client.connect_blocking().expect("connect a second time");
    assert_hello(&mut second);
    // ... and a third takes the spare socket. Then no socket listens, so the device
    // closes the connection that matters least to listen again: the one idle longest,
    // the first.
    let started = Instant::now();
    let mut third = client.connect_blocking().expect("connect a third time");
    assert_hello(&mut third);
    let took = started.elapsed();
    assert!(took < SERVED_WITHIN, "the third client waited {took:?}");
    assert_closed_by_device(&mut first);
    // A fourth is served too: the device now closes the second, idle longest. (The
    // first's socket listens again at once; should this client still come too early,
    // it may try again within the bound.)
    let started = Instant::now();
    let mut fourth = connect_within(&client, SERVED_WITHIN);
    assert_hello(&mut fourth);
    let took = started.elapsed();
    assert!(took < SERVED_WITHIN, "the fourth client waited {took:?}");
    assert_closed_by_device(&mut second);
    assert_hello(&mut third);
    assert_hello(&mut fourth);
}

/// How soon a new client must be served when every worker's connection sits idle.
const SERVED_WITHIN: Duration = Duration::from_secs(1);

/// Connect, trying again while the device refuses (no socket listening for a moment),
/// for at most `limit`.
fn connect_within(client: &Client, limit: Duration) -> BlockingConnection {
    let deadline = Instant::now() + limit;
    loop {
        match client.connect_blocking() {
            Ok(c) => return c,
            Err(e) if e.kind() == ErrorKind::ConnectionRefused && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("connect: {e}"),
        }
    }
}

/// The device has closed `conn`: a request on it fails without an answer (the device
/// dropped the connection, so the request meets no socket that has it and is reset).
fn assert_closed_by_device(conn: &mut BlockingConnection) {
    if let Ok(r) = conn.get("/hello", &[]).wait() {
        panic!("a connection the device closed answered {}", r.status);
    }
}

fn assert_hello(conn: &mut BlockingConnection) {
    let mut r = conn.get("/hello", &[]).wait().expect("GET /hello");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body.read_to_vec().wait().expect("hello body"),
        b"hello, world"
    );
}

fn owned(ext: ChunkExt<'_>) -> (String, String) {
    (ext.key.to_string(), ext.value.to_string())
}

type Chunks = Vec<(Option<(String, String)>, Vec<u8>)>;

/// A chunked body as `(extension, data)` per chunk, and the final chunk's extension.
fn read_chunks<R: EngineRead, P: Pump>(
    mut r: Response<'_, R, P>,
) -> (Chunks, Option<(String, String)>) {
    let mut chunks: Chunks = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        let piece = r
            .body
            .read_chunk(&mut buf)
            .wait()
            .expect("read a chunk")
            .expect("the body ended without its last chunk");
        if piece.is_end() {
            return (chunks, piece.ext.map(owned));
        }
        if piece.first {
            chunks.push((piece.ext.map(owned), Vec::new()));
        }
        let len = piece.len;
        let (_, data) = chunks.last_mut().expect("a piece before its chunk's first");
        data.extend_from_slice(&buf[..len]);
    }
}

// --- namespace, device process and client thread ---------------------------------------

fn ip(args: &[&str]) -> Output {
    let mut cmd = Command::new("ip");
    cmd.args(args);
    run(cmd, STEP)
}

fn ip_ok(args: &[&str]) {
    let out = ip(args);
    assert!(
        out.status.success(),
        "ip {} failed ({}): {}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Run `cmd` to its end, killing it after `limit`.
fn run(mut cmd: Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let deadline = Instant::now() + limit;
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() >= deadline {
            let _ = child.kill();
            panic!("{cmd:?} still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.wait_with_output().expect("collect output")
}

/// A network namespace, deleted (with the tap in it) when this is dropped, also when the
/// test fails.
struct Namespace {
    name: String,
}

impl Namespace {
    /// `ip netns add NAME`; `Err(reason)` when the system forbids it.
    fn add(name: &str) -> Result<Self, String> {
        let out = ip(&["netns", "add", name]);
        if out.status.success() {
            return Ok(Namespace {
                name: name.to_string(),
            });
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        if stderr.contains("Permission denied") || stderr.contains("Operation not permitted") {
            return Err(stderr.trim().to_string());
        }
        panic!("ip netns add {name} failed ({}): {stderr}", out.status);
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let out = ip(&["netns", "del", &self.name]);
        if !out.status.success() {
            eprintln!(
                "cannot delete netns {}: {}",
                self.name,
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

/// Delete namespaces left by runs of this test that were killed before their guard ran
/// (named with a process id that no longer exists).
fn remove_stale_namespaces() {
    let out = ip(&["netns", "list"]);
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let name = line.split_whitespace().next().unwrap_or_default();
        let Some(pid) = name.strip_prefix(&format!("{PREFIX}-")) else {
            continue;
        };
        if !pid.is_empty()
            && pid.bytes().all(|b| b.is_ascii_digit())
            && !std::path::Path::new(&format!("/proc/{pid}")).exists()
        {
            let _ = ip(&["netns", "del", name]);
        }
    }
}

/// The device process: this binary running [`device_on_tap`] in the namespace. Dropping
/// this closes its stdin (it exits), kills it should it linger, and prints its output
/// when the test is failing.
struct Device {
    child: Child,
    lines: mpsc::Receiver<String>,
    log: Arc<Mutex<Vec<String>>>,
}

impl Device {
    fn start(ns: &str) -> Device {
        let exe = std::env::current_exe().expect("the test binary's path");
        let mut child = Command::new("ip")
            .args(["netns", "exec", ns])
            .arg(exe)
            .args([
                "embassy_server_on_tap_reached_by_degu_std",
                "--exact",
                "--include-ignored",
                "--nocapture",
            ])
            .env(DEVICE_ENV, TAP)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the device");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (send, lines) = mpsc::channel();
        let stdout = child.stdout.take().expect("device stdout");
        let stderr = child.stderr.take().expect("device stderr");
        for (stream, tag) in [
            (Box::new(stdout) as Box<dyn Read + Send>, "out"),
            (Box::new(stderr), "err"),
        ] {
            let (send, log) = (send.clone(), Arc::clone(&log));
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    log.lock()
                        .expect("log")
                        .push(format!("[device {tag}] {line}"));
                    let _ = send.send(line);
                }
            });
        }
        Device { child, lines, log }
    }

    /// Wait until the device prints a line containing `text`.
    fn wait_for(&self, text: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(text) => return,
                Ok(_) => {}
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    panic!("the device did not print {text:?} within {limit:?}")
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    panic!("the device ended before printing {text:?}")
                }
            }
        }
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            for line in self.log.lock().map(|l| l.clone()).unwrap_or_default() {
                eprintln!("{line}");
            }
        }
    }
}

/// Run `f` on a thread inside network namespace `ns` (a namespace is per thread for
/// `setns`), passing on its panic.
fn in_namespace(ns: &str, f: impl FnOnce() + Send) {
    let path = format!("/run/netns/{ns}");
    std::thread::scope(|s| {
        let thread = s.spawn(|| {
            let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("open {path}: {e}"));
            nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET)
                .unwrap_or_else(|e| panic!("setns {path}: {e}"));
            f();
        });
        if let Err(panic) = thread.join() {
            std::panic::resume_unwind(panic);
        }
    });
}
