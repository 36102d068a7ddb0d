//! The same app on a device and on a host: `DemoApp` served by the firmware in QEMU
//! (`firmware/qemu-device`, degu-embassy over embassy-net on an emulated Cortex-M) must
//! answer every request byte for byte as `degu-std`'s `TempServer` does.
//!
//! The firmware is built beforehand (`.ci/run`'s `firmware` stage; by hand, see
//! `firmware/README.md`): this test only runs it, as building it needs Debian's rustc and
//! takes half a minute. Without the ELF or without `qemu-system-arm` the test fails when
//! `CI=true` and is skipped (with the reason printed) otherwise.
//!
//! QEMU runs with `-nic user,model=lan9118,hostfwd=tcp:127.0.0.1:PORT-10.0.2.15:80`
//! under `timeout`, and is stopped when the test ends (also on panic). Traffic stays on
//! 127.0.0.1 and inside QEMU's user-mode network.

use degu_examples::demo::DemoApp;
use degu_std::{Address, TempServer};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Longest QEMU may live, whatever happens to this test (`timeout -k`).
const QEMU_HARD_LIMIT: &str = "90";
/// How long the firmware may take to boot and print "listening".
const BOOT_WAIT: Duration = Duration::from_secs(30);
/// Bound on every read and write to either server.
const IO_TIMEOUT: Duration = Duration::from_secs(15);

/// One board: the machine and CPU QEMU emulates and the target the firmware is built for.
struct Board {
    machine: &'static str,
    cpu: &'static str,
    target: &'static str,
}

const AN386: Board = Board {
    machine: "mps2-an386",
    cpu: "cortex-m4",
    target: "thumbv7em-none-eabihf",
};

const AN385: Board = Board {
    machine: "mps2-an385",
    cpu: "cortex-m3",
    target: "thumbv6m-none-eabi",
};

#[test]
fn device_answers_like_std_server_on_an386_thumbv7em() {
    run_board(&AN386);
}

#[test]
fn device_answers_like_std_server_on_an385_thumbv6m() {
    run_board(&AN385);
}

fn run_board(board: &Board) {
    let Some(elf) = firmware(board) else { return };
    let std_server = TempServer::ipv4(DemoApp).expect("start the std demo server");
    let Address::Ip(std_addr) = *std_server.address() else {
        panic!("TempServer::ipv4 gave {:?}", std_server.address())
    };

    let started = Instant::now();
    let device = Qemu::start(board, &elf);
    let boot = started.elapsed();
    let device_addr = device.addr;

    for case in cases() {
        let want =
            (case.run)(std_addr).unwrap_or_else(|e| panic!("{}: std server: {e}", case.name));
        (case.check)(&want);
        let got = (case.run)(device_addr).unwrap_or_else(|e| {
            panic!(
                "{}: device: {e}\nQEMU output:\n{}",
                case.name,
                device.output()
            )
        });
        assert_eq!(
            Text(&got),
            Text(&want),
            "{}: the device's response differs from the std server's\nQEMU output:\n{}",
            case.name,
            device.output()
        );
    }
    let output = device.output();
    drop(device);
    println!(
        "{}: {} cases identical; boot {:?}, total {:?}",
        board.machine,
        cases().len(),
        boot,
        started.elapsed()
    );
    assert!(output.contains("net up"), "QEMU output:\n{output}");
    println!("{}: QEMU output:\n{output}", board.machine);
}

/// Bytes shown as escaped text in assertion messages.
#[derive(PartialEq)]
struct Text<'a>(&'a [u8]);

impl std::fmt::Debug for Text<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = self.0.get(..2048).unwrap_or(self.0);
        write!(f, "{} bytes: \"{}\"", self.0.len(), shown.escape_ascii())?;
        if shown.len() < self.0.len() {
            f.write_str("...")?;
        }
        Ok(())
    }
}

// --- the request list ------------------------------------------------------------------

type Run = fn(SocketAddr) -> std::io::Result<Vec<u8>>;

/// One exchange, run against both servers; `check` states what the std server must
/// answer, so two equally wrong servers cannot agree.
struct Case {
    name: &'static str,
    run: Run,
    check: fn(&[u8]),
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "GET /hello",
            run: |a| exchange(a, b"GET /hello HTTP/1.1\r\nconnection: close\r\n\r\n"),
            check: |r| {
                assert_starts(r, "HTTP/1.1 200 OK\r\n");
                assert!(r.ends_with(b"\r\n\r\nhello, world"));
            },
        },
        Case {
            name: "HEAD /hello",
            run: |a| exchange(a, b"HEAD /hello HTTP/1.1\r\nconnection: close\r\n\r\n"),
            check: |r| {
                assert_starts(r, "HTTP/1.1 200 OK\r\n");
                assert!(r.ends_with(b"content-length: 12\r\n\r\n"));
            },
        },
        Case {
            name: "PUT /echo, content-length",
            run: |a| {
                exchange(
                    a,
                    b"PUT /echo HTTP/1.1\r\ncontent-length: 11\r\nconnection: close\r\n\r\nhello degu!",
                )
            },
            check: |r| {
                assert_starts(r, "HTTP/1.1 200 OK\r\n");
                assert!(r.ends_with(b"content-length: 11\r\n\r\nhello degu!"));
            },
        },
        Case {
            name: "PUT /echo, 64 KiB (larger than every buffer)",
            run: |a| {
                let body = pattern(64 * 1024);
                let mut req =
                    b"PUT /echo HTTP/1.1\r\ncontent-length: 65536\r\nconnection: close\r\n\r\n"
                        .to_vec();
                req.extend_from_slice(&body);
                exchange(a, &req)
            },
            check: |r| {
                assert_starts(r, "HTTP/1.1 200 OK\r\n");
                assert!(r.ends_with(&pattern(64 * 1024)));
            },
        },
        Case {
            name: "POST /echo, chunked with extensions",
            run: |a| {
                exchange(
                    a,
                    b"POST /echo HTTP/1.1\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n\
                      5;a=1\r\nhello\r\n6;key=value\r\n world\r\n1\r\n!\r\n0;end=yes\r\n\r\n",
                )
            },
            check: |r| {
                assert_starts(r, "HTTP/1.1 200 OK\r\n");
                assert!(r.ends_with(
                    b"5;a=1\r\nhello\r\n6;key=value\r\n world\r\n1\r\n!\r\n0;end=yes\r\n\r\n"
                ));
            },
        },
        Case {
            name: "GET /chunks?n=3",
            run: |a| exchange(a, b"GET /chunks?n=3 HTTP/1.1\r\nconnection: close\r\n\r\n"),
            check: |r| {
                assert_starts(r, "HTTP/1.1 200 OK\r\n");
                assert!(r.ends_with(
                    b"7;i=0\r\nchunk 0\r\n7;i=1\r\nchunk 1\r\n7;i=2\r\nchunk 2\r\n0\r\n\r\n"
                ));
            },
        },
        Case {
            name: "GET /nowhere (404)",
            run: |a| exchange(a, b"GET /nowhere HTTP/1.1\r\nconnection: close\r\n\r\n"),
            check: |r| assert_starts(r, "HTTP/1.1 404 Not Found\r\n"),
        },
        Case {
            name: "GET /chunks?n=x (the app's 400)",
            run: |a| exchange(a, b"GET /chunks?n=x HTTP/1.1\r\n\r\n"),
            check: |r| assert_starts(r, "HTTP/1.1 400 Bad Request\r\n"),
        },
        Case {
            name: "pipelined pair in one write",
            run: |a| {
                exchange(
                    a,
                    b"GET /hello HTTP/1.1\r\n\r\nGET /chunks?n=2 HTTP/1.1\r\nconnection: close\r\n\r\n",
                )
            },
            check: |r| {
                assert_starts(r, "HTTP/1.1 200 OK\r\n");
                assert_eq!(count(r, b"HTTP/1.1 200 OK\r\n"), 2);
            },
        },
        Case {
            name: "keep-alive: three requests, each sent after the previous answer",
            run: keep_alive,
            check: |r| assert_eq!(count(r, b"HTTP/1.1 200 OK\r\n"), 3),
        },
        Case {
            name: "bad request: header without colon (400, close)",
            run: |a| exchange(a, b"GET /hello HTTP/1.1\r\nno colon here\r\n\r\n"),
            check: |r| {
                assert_starts(r, "HTTP/1.1 400 Bad Request\r\n");
                assert!(count(r, b"connection: close\r\n") == 1);
            },
        },
        Case {
            name: "bad request: HTTP/1.0 (505)",
            run: |a| exchange(a, b"GET /hello HTTP/1.0\r\n\r\n"),
            check: |r| assert_starts(r, "HTTP/1.1 505 "),
        },
        Case {
            name: "two connections at once",
            run: two_connections,
            check: |r| assert_eq!(count(r, b"HTTP/1.1 200 OK\r\n"), 2),
        },
    ]
}

fn assert_starts(response: &[u8], prefix: &str) {
    assert!(
        response.starts_with(prefix.as_bytes()),
        "expected {prefix:?} first, got {:?}",
        Text(response)
    );
}

fn count(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .filter(|w| *w == needle)
        .count()
}

/// `len` bytes of a pattern that shows misplaced or lost pieces.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

fn connect(addr: SocketAddr) -> std::io::Result<TcpStream> {
    let stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT)?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    Ok(stream)
}

/// Send `request` (from a second thread, so a large body and its echo cannot block each
/// other) and read until the server closes.
fn exchange(addr: SocketAddr, request: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut stream = connect(addr)?;
    let mut writer = stream.try_clone()?;
    let request = request.to_vec();
    let sender = std::thread::spawn(move || writer.write_all(&request));
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    sender
        .join()
        .map_err(|_| std::io::Error::other("writer thread panicked"))??;
    Ok(response)
}

/// Read one response with a `content-length` body (all this test needs mid-connection).
fn read_response(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut response = Vec::new();
    let mut byte = [0u8];
    while !response.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte)? == 0 {
            return Err(std::io::Error::other("closed inside a response head"));
        }
        response.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&response).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .ok_or_else(|| std::io::Error::other("no content-length"))?;
    let start = response.len();
    response.resize(start + length, 0);
    stream.read_exact(&mut response[start..])?;
    Ok(response)
}

fn keep_alive(addr: SocketAddr) -> std::io::Result<Vec<u8>> {
    let mut stream = connect(addr)?;
    stream.write_all(b"GET /hello HTTP/1.1\r\n\r\n")?;
    let mut all = read_response(&mut stream)?;
    stream.write_all(b"HEAD /hello HTTP/1.1\r\n\r\n")?;
    all.extend(read_response_head(&mut stream)?);
    stream.write_all(b"GET /hello HTTP/1.1\r\nconnection: close\r\n\r\n")?;
    stream.read_to_end(&mut all)?;
    Ok(all)
}

/// Read a head only (the answer to HEAD has no body).
fn read_response_head(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::new();
    let mut byte = [0u8];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte)? == 0 {
            return Err(std::io::Error::other("closed inside a response head"));
        }
        head.push(byte[0]);
    }
    Ok(head)
}

/// Two connections open together: the second is answered while the first is still
/// open, so two workers serve at once.
fn two_connections(addr: SocketAddr) -> std::io::Result<Vec<u8>> {
    let mut first = connect(addr)?;
    first.write_all(b"GET /hello HTTP/1.1\r\n\r\n")?;
    let mut all = read_response(&mut first)?;
    let mut second = connect(addr)?;
    second.write_all(b"GET /chunks?n=1 HTTP/1.1\r\nconnection: close\r\n\r\n")?;
    second.read_to_end(&mut all)?;
    first.write_all(b"GET /nowhere HTTP/1.1\r\nconnection: close\r\n\r\n")?;
    first.read_to_end(&mut all)?;
    Ok(all)
}

// --- QEMU ------------------------------------------------------------------------------

/// Why the test cannot run; fails under CI, skips otherwise.
fn unavailable(why: String) -> Option<PathBuf> {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{why} (CI=true: the firmware stage must run before the tests)");
    }
    eprintln!("skipped: {why}");
    None
}

/// The firmware ELF for `board`, or why it is missing.
fn firmware(board: &Board) -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let elf = root
        .join("firmware/target")
        .join(board.target)
        .join("release/qemu-device");
    if !elf.is_file() {
        return unavailable(format!(
            "no firmware at {}: build it in firmware/ with \
             `RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 cargo build --release --target {}` \
             (rust-lld on PATH; see firmware/README.md)",
            elf.display(),
            board.target
        ));
    }
    if Command::new("qemu-system-arm")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .map(|s| !s.success())
        .unwrap_or(true)
    {
        return unavailable(
            "qemu-system-arm is not installed (apt-get install qemu-system-arm)".into(),
        );
    }
    Some(elf)
}

/// A running QEMU with the device reachable at `addr`; stopped on drop.
struct Qemu {
    child: Child,
    addr: SocketAddr,
    lines: mpsc::Receiver<String>,
    seen: std::cell::RefCell<Vec<String>>,
}

impl Qemu {
    fn start(board: &Board, elf: &Path) -> Qemu {
        // A free port for the forward; QEMU binds it itself, so another process could
        // take it in between: then QEMU exits at once and we try another.
        for _ in 0..3 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("pick a free port")
                .port();
            let mut qemu = Qemu::spawn(board, elf, port);
            match qemu.wait_for("listening on 10.0.2.15:80") {
                Ok(()) => return qemu,
                Err(e) if qemu.output().contains("Could not set up host forwarding") => {
                    eprintln!("port {port}: {e}, retrying:\n{}", qemu.output());
                }
                Err(e) => panic!("{e}\nQEMU output:\n{}", qemu.output()),
            }
        }
        panic!("QEMU could not forward a free port after 3 tries");
    }

    fn spawn(board: &Board, elf: &Path, port: u16) -> Qemu {
        let nic = format!("user,model=lan9118,hostfwd=tcp:127.0.0.1:{port}-10.0.2.15:80");
        let mut child = Command::new("timeout")
            .args(["-k", "5", QEMU_HARD_LIMIT, "qemu-system-arm"])
            .args(["-machine", board.machine, "-cpu", board.cpu])
            .args(["-nographic", "-monitor", "none"])
            .args(["-semihosting-config", "enable=on,target=native"])
            .args(["-nic", &nic])
            .arg("-kernel")
            .arg(elf)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn timeout qemu-system-arm");
        let (tx, lines) = mpsc::channel();
        for pipe in [
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        Qemu {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            lines,
            seen: Default::default(),
        }
    }

    /// Wait until QEMU prints a line containing `text`.
    fn wait_for(&mut self, text: &str) -> Result<(), String> {
        let deadline = Instant::now() + BOOT_WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let found = line.contains(text);
                    self.seen.borrow_mut().push(line);
                    if found {
                        return Ok(());
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    return Err(format!("no {text:?} from QEMU within {BOOT_WAIT:?}"));
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait();
                    return Err(format!("QEMU exited ({status:?}) before {text:?}"));
                }
            }
        }
    }

    /// Everything QEMU printed so far.
    fn output(&self) -> String {
        let mut seen = self.seen.borrow_mut();
        seen.extend(self.lines.try_iter());
        seen.join("\n")
    }
}

impl Drop for Qemu {
    fn drop(&mut self) {
        // TERM to `timeout` reaches QEMU too; `timeout` itself would die of a KILL and
        // leave QEMU behind.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
