//! `server-bench [--transport unix|inet|inet6|all] [--rounds N] [--requests N]
//! [--warmup N] [--pin CPU] [--workers N]`: the servers alone, as the binaries users run,
//! measured from outside.
//!
//! Starts the `demo-server` binary (with `-q`: no request log lines, and `--max-requests`
//! above the run's count: one connection carries it, as with the other server) and `hyper-hello` (hyper 1.x, the same answers, the
//! `date` header off) as separate processes with the same number of worker threads, and
//! drives each from this process with a raw blocking client: one connection, the Python
//! original's benchmark exchange (a 108-byte body each way, 148 bytes on the wire) as
//! `POST /echo`, sequential. Rounds alternate the servers ABBA so a drift in background
//! load hits both alike; the figures are medians.
//!
//! With `--pin CPU` this process pins itself before it starts the servers, so every
//! process and thread runs on that one CPU: on a VM whose cross-CPU wake-ups cost more
//! than the work, that is what keeps the comparison about the servers.
//!
//! Printed per transport: round trips/s of each server (median) and their ratio, and each
//! server process's CPU time per round trip (user + system, from `/proc/PID/stat`) and
//! the ratio hyper/degu (higher: degu leaner); then where the time goes: user and system
//! CPU per round trip of each server and of the client driving it.
//!
//! `--blocking` compares HTTP as IPC with its physical limit instead: degu-std's blocking
//! client against `demo-server --blocking` (a thread per connection), beside a raw
//! blocking-socket ping-pong of the workload's 148 bytes each way between this process
//! and a raw server process (this binary with `--serve-raw`, raw.rs's thread per
//! connection). Both servers are separate processes, driven the same way.

use degu_bench::harness::{median, pin};
use degu_bench::hyper_side::StdListener;
use degu_bench::raw::{self, RawStream, RawTarget};
use degu_bench::workload::{BODY_LEN, MESSAGE_LEN, PING};
use degu_bench::{BoxError, degu_side};
use degu_std::blocking::BlockingConnection;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

const USAGE: &str = "usage: server-bench [--transport unix|inet|inet6|all] [--rounds N] \
[--requests N] [--warmup N] [--pin CPU] [--workers N] [--blocking]
       server-bench --serve-raw --address ADDR
       server-bench --serve-tokio --address ADDR";

/// `demo-server --max-requests`: more than any run sends on one connection.
const MAX_REQUESTS: &str = "4294967295";

/// The request: the benchmark's 108-byte body to the demo app's echo.
const REQUEST_HEAD: &[u8] = b"POST /echo HTTP/1.1\r\ncontent-length: 108\r\n\r\n";
/// What both servers answer, byte for byte.
const RESPONSE_HEAD: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 108\r\n\r\n";
const _: () = assert!(RESPONSE_HEAD.len() + BODY_LEN == MESSAGE_LEN);

#[derive(Clone, Copy, PartialEq)]
enum Transport {
    Unix,
    Inet,
    Inet6,
}

impl Transport {
    fn name(self) -> &'static str {
        match self {
            Transport::Unix => "unix",
            Transport::Inet => "inet",
            Transport::Inet6 => "inet6",
        }
    }
}

struct Args {
    transports: Vec<Transport>,
    rounds: usize,
    requests: usize,
    warmup: usize,
    pin: Option<usize>,
    workers: usize,
    /// Degu's blocking client and server against the raw ping-pong.
    blocking: bool,
    /// Be the raw ping-pong server on this address (a path: AF_UNIX).
    serve_raw: Option<String>,
    /// Be the Tokio ping-pong server (the floor of an epoll server) on this address.
    serve_tokio: Option<String>,
}

fn parse_args() -> Result<Args, lexopt::Error> {
    use lexopt::prelude::*;
    let mut args = Args {
        transports: vec![Transport::Unix, Transport::Inet, Transport::Inet6],
        rounds: 6,
        requests: 20_000,
        warmup: 2_000,
        pin: None,
        workers: 1,
        blocking: false,
        serve_raw: None,
        serve_tokio: None,
    };
    let (mut serve_raw, mut serve_tokio, mut address) = (false, false, None);
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next()? {
        match arg {
            Long("transport") => {
                args.transports = match parser.value()?.string()?.as_str() {
                    "unix" => vec![Transport::Unix],
                    "inet" => vec![Transport::Inet],
                    "inet6" => vec![Transport::Inet6],
                    "all" => vec![Transport::Unix, Transport::Inet, Transport::Inet6],
                    other => return Err(format!("no transport {other}").into()),
                }
            }
            Long("rounds") => args.rounds = parser.value()?.parse()?,
            Long("requests") => args.requests = parser.value()?.parse()?,
            Long("warmup") => args.warmup = parser.value()?.parse()?,
            Long("pin") => args.pin = Some(parser.value()?.parse()?),
            Long("workers") => args.workers = parser.value()?.parse()?,
            Long("blocking") => args.blocking = true,
            Long("serve-raw") => serve_raw = true,
            Long("serve-tokio") => serve_tokio = true,
            Long("address") => address = Some(parser.value()?.string()?),
            Long("help") | Short('h') => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            _ => return Err(arg.unexpected()),
        }
    }
    if serve_raw {
        args.serve_raw = Some(address.ok_or("--serve-raw needs --address")?);
    } else if serve_tokio {
        args.serve_tokio = Some(address.ok_or("--serve-tokio needs --address")?);
    }
    Ok(args)
}

/// A server process, killed when dropped.
struct Server {
    name: &'static str,
    child: Child,
    address: String,
}

impl Server {
    fn start(
        name: &'static str,
        exe: &Path,
        address: &str,
        workers: usize,
        extra: &[&str],
    ) -> Result<Self, BoxError> {
        let mut child = Command::new(exe)
            .args(["--address", address, "--workers", &workers.to_string()])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("{}: {e}", exe.display()))?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().ok_or("no stdout")?).read_line(&mut line)?;
        let address = line
            .trim()
            .strip_prefix("listening on ")
            .ok_or_else(|| format!("{name}: unexpected first line {line:?}"))?
            .to_string();
        Ok(Server {
            name,
            child,
            address,
        })
    }

    /// User and system CPU time of the whole process so far, in clock ticks.
    fn cpu_ticks(&self) -> Result<[u64; 2], BoxError> {
        cpu_ticks(&self.child.id().to_string())
    }
}

/// User and system CPU time of process `pid` (or `self`) so far, in clock ticks, from
/// `/proc/PID/stat`.
fn cpu_ticks(pid: &str) -> Result<[u64; 2], BoxError> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name (which may hold spaces) in parentheses.
    let rest = stat.rsplit_once(')').ok_or("bad /proc stat")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11).ok_or("no utime")?.parse()?;
    let stime: u64 = fields.get(12).ok_or("no stime")?.parse()?;
    Ok([utime, stime])
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where `address` (as the servers print it) is reached: a path is AF_UNIX.
fn target(address: &str) -> Result<RawTarget, BoxError> {
    Ok(if address.starts_with('/') {
        RawTarget::Unix(address.into())
    } else {
        RawTarget::Tcp(address.parse()?)
    })
}

/// A client connection that reconnects when the server closes it: degu-std closes a
/// connection after `max_requests` (1000 by default, as the Python original), hyper
/// never does, so the reconnections are counted and printed.
struct Conn {
    target: RawTarget,
    stream: RawStream,
    reconnects: usize,
}

impl Conn {
    fn new(address: &str) -> Result<Self, BoxError> {
        let target = target(address)?;
        Ok(Conn {
            stream: RawStream::connect(&target)?,
            target,
            reconnects: 0,
        })
    }

    /// One round trip; on a connection the server closed, one more on a new connection.
    fn round_trip(&mut self, request: &[u8], buf: &mut [u8; MESSAGE_LEN]) -> Result<(), BoxError> {
        let once = |s: &mut RawStream, buf: &mut [u8; MESSAGE_LEN]| {
            s.write_all(request)?;
            s.read_exact(buf)
        };
        if let Err(e) = once(&mut self.stream, buf) {
            use std::io::ErrorKind::{BrokenPipe, ConnectionReset, UnexpectedEof};
            if !matches!(e.kind(), UnexpectedEof | BrokenPipe | ConnectionReset) {
                return Err(e.into());
            }
            self.stream = RawStream::connect(&self.target)?;
            self.reconnects += 1;
            once(&mut self.stream, buf)?;
        }
        Ok(())
    }

    /// `n` sequential round trips; the first answer is checked byte for byte.
    fn round_trips(&mut self, n: usize, request: &[u8], expected: &[u8]) -> Result<(), BoxError> {
        let mut buf = [0u8; MESSAGE_LEN];
        for i in 0..n {
            self.round_trip(request, &mut buf)?;
            if i == 0 && buf[..] != *expected {
                return Err(
                    format!("unexpected answer: {:?}", String::from_utf8_lossy(&buf)).into(),
                );
            }
        }
        Ok(())
    }
}

/// How a round's client talks to its server.
#[derive(Clone, Copy)]
enum Client {
    /// The raw blocking client sending the HTTP request bytes ([`Conn`]).
    RawHttp,
    /// degu-std's blocking client, `POST /echo` with the ping body.
    DeguBlocking,
    /// The raw ping-pong of the workload's 148 bytes, no HTTP.
    PingPong,
}

/// What one round measured.
struct Round {
    /// Round trips per second.
    rate: f64,
    /// The server process's CPU seconds per round trip: user, system.
    server: [f64; 2],
    /// This process's (the client's) CPU seconds per round trip: user, system.
    client: [f64; 2],
    /// Reconnections the timed part needed.
    reconnects: usize,
}

/// One round: connect `client`, warm up, time `requests` round trips.
fn round(
    server: &Server,
    client: Client,
    args: &Args,
    request: &[u8],
    expected: &[u8],
) -> Result<Round, BoxError> {
    let mut run: Box<dyn FnMut(usize) -> Result<usize, BoxError>> = match client {
        Client::RawHttp => {
            let mut c = Conn::new(&server.address)?;
            Box::new(move |n| {
                c.reconnects = 0;
                c.round_trips(n, request, expected)?;
                Ok(c.reconnects)
            })
        }
        Client::DeguBlocking => {
            let mut c = DeguConn::new(&server.address)?;
            Box::new(move |n| c.round_trips(n))
        }
        Client::PingPong => {
            let mut s = RawStream::connect(&target(&server.address)?)?;
            Box::new(move |n| Ok(s.ping_pong(n).map(|()| 0)?))
        }
    };
    run(args.warmup)?;
    let (server_ticks, client_ticks) = (server.cpu_ticks()?, cpu_ticks("self")?);
    let started = Instant::now();
    let reconnects = run(args.requests)?;
    let took = started.elapsed().as_secs_f64();
    let (server_after, client_after) = (server.cpu_ticks()?, cpu_ticks("self")?);
    let per_rt = |after: [u64; 2], before: [u64; 2]| {
        [0, 1].map(|i| (after[i] - before[i]) as f64 / ticks_per_second() / args.requests as f64)
    };
    Ok(Round {
        rate: args.requests as f64 / took,
        server: per_rt(server_after, server_ticks),
        client: per_rt(client_after, client_ticks),
        reconnects,
    })
}

/// A degu-std blocking connection that reconnects when the server closes it after
/// `max_requests`, as [`Conn`] does.
struct DeguConn {
    address: degu_std::Address,
    conn: BlockingConnection,
}

impl DeguConn {
    fn new(address: &str) -> Result<Self, BoxError> {
        let address: degu_std::Address = address.parse()?;
        Ok(DeguConn {
            conn: degu_side::blocking_connect(&address, None)?,
            address,
        })
    }

    /// `n` sequential round trips; the reconnections they needed.
    fn round_trips(&mut self, n: usize) -> Result<usize, BoxError> {
        let mut reconnects = 0;
        for _ in 0..n {
            if degu_side::blocking_requests(&mut self.conn, "/echo", 1).is_err() {
                self.conn = degu_side::blocking_connect(&self.address, None)?;
                reconnects += 1;
                degu_side::blocking_requests(&mut self.conn, "/echo", 1)?;
            }
        }
        Ok(reconnects)
    }
}

fn ticks_per_second() -> f64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .map_or(100.0, |t| t as f64)
}

/// The binaries beside this one (`cargo build --release -p degu-examples --bins -p
/// degu-bench` puts them all in one target directory).
fn sibling(name: &str) -> Result<PathBuf, BoxError> {
    let me = std::env::current_exe()?;
    let path = me.with_file_name(name);
    if path.exists() {
        Ok(path)
    } else {
        Err(format!(
            "{} not found: build it first (cargo build --release -p degu-examples --bins)",
            path.display()
        )
        .into())
    }
}

/// `--serve-raw`: the raw ping-pong server on `address`, until killed; `--serve-tokio`
/// (`tokio`): the same ping-pong served by a task on a current-thread Tokio runtime.
fn serve_raw(address: &str, tokio: bool) -> Result<(), BoxError> {
    let target = match (target(address)?, tokio) {
        (RawTarget::Unix(path), false) => raw::start_unix(&path)?,
        (RawTarget::Tcp(a), false) => raw::start_tcp(a)?,
        (RawTarget::Unix(path), true) => raw::start_tokio(StdListener::unix(&path)?)?,
        (RawTarget::Tcp(a), true) => raw::start_tokio(StdListener::tcp(a)?)?,
    };
    match &target {
        RawTarget::Unix(path) => println!("listening on {}", path.display()),
        RawTarget::Tcp(a) => println!("listening on {a}"),
    }
    std::io::stdout().flush()?;
    loop {
        std::thread::park();
    }
}

fn run(args: &Args) -> Result<(), BoxError> {
    if let Some(cpu) = args.pin {
        pin(cpu).map_err(|e| format!("cannot pin to CPU {cpu}: {e}"))?;
    }
    let demo = sibling("demo-server")?;
    // The second server and how both are driven: hyper over HTTP, or (--blocking) the
    // raw ping-pong server that this binary is with --serve-raw.
    let (other, other_name, extra, clients): (PathBuf, &str, &[&str], _) = if args.blocking {
        let clients = [Client::DeguBlocking, Client::PingPong];
        (std::env::current_exe()?, "raw", &["--serve-raw"], clients)
    } else {
        let clients = [Client::RawHttp, Client::RawHttp];
        (sibling("hyper-hello")?, "hyper", &[], clients)
    };
    let dir = tempfile::tempdir()?;
    let request = [REQUEST_HEAD, PING].concat();
    let expected = [RESPONSE_HEAD, PING].concat();
    println!(
        "server-bench: {} rounds × {} round trips (after {} untimed) per server and transport, \
         POST /echo with {BODY_LEN} bytes each way, {}{}",
        args.rounds,
        args.requests,
        args.warmup,
        if args.blocking {
            "degu's blocking client and server against a raw 148-byte ping-pong, \
             a thread per connection"
                .to_string()
        } else {
            format!("{} worker thread(s) each", args.workers)
        },
        args.pin.map_or(String::new(), |c| format!(
            ", every process pinned to CPU {c}"
        ))
    );
    println!(
        "{:<6} {:>12} {:>12} {:>8}   {:>11} {:>11} {:>8}",
        "",
        "degu rt/s",
        format!("{other_name} rt/s"),
        "ratio",
        "degu µs",
        format!("{other_name} µs"),
        "ratio"
    );
    // -q: no request log lines (hyper-hello writes none either); --max-requests: one
    // connection carries the whole run, as hyper's and the raw server's do (degu-std's
    // default closes after 1000, as the Python original).
    let degu_extra: &[&str] = if args.blocking {
        &["-q", "--max-requests", MAX_REQUESTS, "--blocking"]
    } else {
        &["-q", "--max-requests", MAX_REQUESTS]
    };
    let mut splits = Vec::new();
    let mut floors = Vec::new();
    for &t in &args.transports {
        let address = |name: &str| match t {
            Transport::Unix => dir
                .path()
                .join(format!("{name}.sock"))
                .display()
                .to_string(),
            Transport::Inet => "127.0.0.1:0".to_string(),
            Transport::Inet6 => "[::1]:0".to_string(),
        };
        let mut servers = vec![
            Server::start("degu", &demo, &address("degu"), args.workers, degu_extra)?,
            Server::start(
                other_name,
                &other,
                &address(other_name),
                args.workers,
                extra,
            )?,
        ];
        let mut clients = clients.to_vec();
        if !args.blocking {
            // The floor of any epoll server: no HTTP, one task on a current-thread runtime.
            let me = std::env::current_exe()?;
            servers.push(Server::start(
                "floor",
                &me,
                &address("floor"),
                1,
                &["--serve-tokio"],
            )?);
            clients.push(Client::PingPong);
        }
        let mut rounds: Vec<Vec<Round>> = servers.iter().map(|_| Vec::new()).collect();
        for r in 0..args.rounds {
            // ABBA: degu, hyper, (floor,) (floor,) hyper, degu, ...
            let mut order: Vec<usize> = (0..servers.len()).collect();
            if r % 2 == 1 {
                order.reverse();
            }
            for i in order {
                let got = round(&servers[i], clients[i], args, &request, &expected)
                    .map_err(|e| format!("{} over {}: {e}", servers[i].name, t.name()))?;
                rounds[i].push(got);
            }
        }
        let of = |i: usize, f: &dyn Fn(&Round) -> f64| {
            median(&rounds[i].iter().map(f).collect::<Vec<_>>())
        };
        let [degu_rate, hyper_rate] = [0, 1].map(|i| of(i, &|r| r.rate));
        let [degu_cpu, hyper_cpu] = [0, 1].map(|i| of(i, &|r| r.server[0] + r.server[1]));
        let reconnects = [0, 1].map(|i| rounds[i].iter().map(|r| r.reconnects).sum::<usize>());
        // Where the time goes, µs per round trip: user and system, server and client.
        let split = [0, 1].map(|i| {
            [
                of(i, &|r| r.server[0]),
                of(i, &|r| r.server[1]),
                of(i, &|r| r.client[0]),
                of(i, &|r| r.client[1]),
            ]
            .map(|x| x * 1e6)
        });
        splits.push((t, split));
        println!(
            "{:<6} {:>12.0} {:>12.0} {:>8.2}   {:>11.2} {:>11.2} {:>8.2}",
            t.name(),
            degu_rate,
            hyper_rate,
            degu_rate / hyper_rate,
            degu_cpu * 1e6,
            hyper_cpu * 1e6,
            hyper_cpu / degu_cpu,
        );
        if let Some(floor) = rounds.get(2) {
            let rate = median(&floor.iter().map(|r| r.rate).collect::<Vec<_>>());
            floors.push((t, rate, rate / hyper_rate, degu_rate / rate));
        }
        if reconnects != [0, 0] {
            println!(
                "       (reconnections in the timed parts: degu {}, {other_name} {})",
                reconnects[0], reconnects[1]
            );
        }
    }
    println!(
        "rt/s ratio: degu's over {other_name}'s (higher: degu faster); µs: server CPU per \
         round trip, ratio {other_name}'s over degu's (higher: degu leaner)."
    );
    if !floors.is_empty() {
        println!(
            "\nThe floor of an epoll server (the 148-byte ping-pong without HTTP, one Tokio \
             task on a current-thread runtime, this binary with --serve-tokio):\n\
             {:<6} {:>12} {:>12} {:>12}",
            "", "floor rt/s", "floor/hyper", "degu/floor"
        );
        for (t, rate, over_hyper, degu_share) in &floors {
            println!(
                "{:<6} {:>12.0} {:>12.2} {:>12.2}",
                t.name(),
                rate,
                over_hyper,
                degu_share
            );
        }
    }
    println!(
        "\nCPU µs per round trip, user / system (medians; the client is this process):\n\
         {:<6} {:>17} {:>17} {:>17} {:>17}",
        "",
        "degu server",
        format!("{other_name} server"),
        "client of degu",
        format!("client of {other_name}")
    );
    for (t, [degu, other]) in &splits {
        let pair = |u: f64, s: f64| format!("{u:.2} / {s:.2}");
        println!(
            "{:<6} {:>17} {:>17} {:>17} {:>17}",
            t.name(),
            pair(degu[0], degu[1]),
            pair(other[0], other[1]),
            pair(degu[2], degu[3]),
            pair(other[2], other[3]),
        );
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("server-bench: {e}\n{USAGE}");
            return std::process::ExitCode::from(2);
        }
    };
    let result = match (&args.serve_raw, &args.serve_tokio) {
        (Some(address), _) => serve_raw(address, false),
        (None, Some(address)) => serve_raw(address, true),
        (None, None) => run(&args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("server-bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
