//! `demo-server` and `gateway` log one line per request to stderr (degu-core's
//! `RequestLogger` through `tracing`): peer, method and URI, status, body bytes sent and
//! duration, for what real clients send over real sockets; `-q` silences the lines.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::spawn_listening_with;
use degu_core::Header;
use degu_std::blocking::{BlockingConnection, Wait};
use degu_std::{Address, BodyExt, Client};
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

/// How long a log line may take to appear after its response arrived.
const LINE_WAIT: Duration = Duration::from_secs(5);

/// A server binary whose stderr lines arrive on a channel; killed when dropped.
struct Logged {
    child: Child,
    address: Address,
    lines: Receiver<String>,
}

impl Logged {
    fn start(bin: &str, args: &[&str]) -> Logged {
        let mut all = vec!["--address".to_string(), "127.0.0.1:0".to_string()];
        all.extend(args.iter().map(|a| a.to_string()));
        let (mut child, address) = spawn_listening_with(bin, &all, Stdio::piped());
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Logged {
            child,
            address,
            lines,
        }
    }

    fn conn(&self) -> BlockingConnection {
        Client::new(self.address.clone())
            .connect_blocking()
            .unwrap()
    }

    fn demo(args: &[&str]) -> Logged {
        Logged::start(env!("CARGO_BIN_EXE_demo-server"), args)
    }

    /// The next request line (other stderr lines skipped), taken apart.
    fn next_request(&self) -> Option<Line> {
        loop {
            let line = self.lines.recv_timeout(LINE_WAIT).ok()?;
            if let Some(l) = Line::parse(&line) {
                return Some(l);
            }
        }
    }

    /// Whether no request line appears within half a second.
    fn no_request_line(&self) -> bool {
        let deadline = std::time::Instant::now() + Duration::from_millis(500);
        while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) if Line::parse(&line).is_some() => return false,
                Ok(_) => {}
                Err(_) => break,
            }
        }
        true
    }
}

impl Drop for Logged {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// GET `uri` and read the whole body.
fn get_body(conn: &mut BlockingConnection, uri: &str) -> Vec<u8> {
    let mut response = conn.get(uri, &[]).wait().unwrap();
    response.body.read_to_vec().wait().unwrap()
}

/// One request line: `... INFO degu::request: <peer> "<METHOD> <uri>" <status> <bytes> <n>us`.
#[derive(Debug, PartialEq)]
struct Line {
    peer: String,
    method: String,
    uri: String,
    status: u16,
    bytes: u64,
    micros: u64,
}

impl Line {
    fn parse(line: &str) -> Option<Line> {
        let (_, rest) = line.split_once(" degu::request: ")?;
        let (peer, rest) = rest.split_once(" \"")?;
        let (request, rest) = rest.split_once("\" ")?;
        let (method, uri) = request.split_once(' ')?;
        let mut f = rest.split(' ');
        let status = f.next()?.parse().ok()?;
        let bytes = f.next()?.parse().ok()?;
        let micros = f.next()?.strip_suffix("us")?.parse().ok()?;
        Some(Line {
            peer: peer.to_string(),
            method: method.to_string(),
            uri: uri.to_string(),
            status,
            bytes,
            micros,
        })
    }

    /// (method, uri, status, bytes): what the test checks besides peer and duration.
    fn what(&self) -> (&str, &str, u16, u64) {
        (&self.method, &self.uri, self.status, self.bytes)
    }
}

#[test]
fn demo_server_logs_each_request_with_status_and_bytes() {
    let server = Logged::demo(&[]);
    let mut conn = server.conn();
    let local = "127.0.0.1:";

    let body = get_body(&mut conn, "/hello");
    assert_eq!(body, b"hello, world");
    let line = server.next_request().expect("a line for GET /hello");
    assert_eq!(line.what(), ("GET", "/hello", 200, 12));
    assert!(line.peer.starts_with(local), "peer {:?}", line.peer);
    assert!(line.micros < 5_000_000, "duration {}us", line.micros);

    let r = conn.head("/hello", &[]).wait().unwrap();
    assert_eq!(r.headers.get("content-length"), Some("12"));
    let line = server.next_request().unwrap();
    assert_eq!(
        line.what(),
        ("HEAD", "/hello", 200, 0),
        "HEAD sends no body"
    );

    let data = vec![7u8; 300_000];
    let echoed = conn
        .put("/echo", &[], &data)
        .wait()
        .unwrap()
        .body
        .read_to_vec()
        .wait();
    assert_eq!(echoed.unwrap().len(), data.len());
    let line = server.next_request().unwrap();
    assert_eq!(line.what(), ("PUT", "/echo", 200, 300_000));

    let chunks = get_body(&mut conn, "/chunks?n=3");
    assert_eq!(chunks, b"chunk 0chunk 1chunk 2");
    let line = server.next_request().unwrap();
    assert_eq!(
        line.what(),
        ("GET", "/chunks?n=3", 200, 21),
        "chunk data only"
    );

    assert_eq!(conn.get("/nope", &[]).wait().unwrap().status, 404);
    assert_eq!(
        server.next_request().unwrap().what(),
        ("GET", "/nope", 404, 0)
    );

    // curl, on a connection of its own.
    let out = std::process::Command::new("curl")
        .args(["-sS", "-o", "/dev/null", "-w", "%{http_code}"])
        .arg(format!("http://{}/chunks?n=x", server.address))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "400");
    let line = server.next_request().unwrap();
    assert_eq!(line.what(), ("GET", "/chunks?n=x", 400, 15));
    assert!(line.peer.starts_with(local));
}

#[test]
fn quiet_demo_server_and_gateway_log_no_request_lines() {
    let server = Logged::demo(&["-q"]);
    let mut conn = server.conn();
    assert_eq!(conn.get("/hello", &[]).wait().unwrap().status, 200);
    assert!(server.no_request_line(), "-q: no request lines");

    let device = format!("dev={}", server.address);
    let gateway = Logged::start(
        env!("CARGO_BIN_EXE_gateway"),
        &["--device", &device, "--quiet"],
    );
    let mut conn = gateway.conn();
    let body = get_body(&mut conn, "/device/dev/hello");
    assert_eq!(body, b"hello, world");
    assert!(
        gateway.no_request_line(),
        "gateway --quiet: no request lines"
    );
}

#[test]
fn gateway_logs_relayed_requests_and_its_own_errors() {
    let device = Logged::demo(&[]);
    let spec = format!("dev={}", device.address);
    let gateway = Logged::start(env!("CARGO_BIN_EXE_gateway"), &["--device", &spec]);
    let mut conn = gateway.conn();

    let body = get_body(&mut conn, "/device/dev/hello");
    assert_eq!(body, b"hello, world");
    let line = gateway.next_request().unwrap();
    assert_eq!(line.what(), ("GET", "/device/dev/hello", 200, 12));
    // The device logs the forwarded request, from the gateway's address.
    let line = device.next_request().unwrap();
    assert_eq!(line.what(), ("GET", "/hello", 200, 12));

    let data = vec![1u8; 100_000];
    let headers = [Header::new("x-test", "1")];
    let r = conn
        .post("/device/dev/echo", &headers, &data)
        .wait()
        .unwrap();
    assert_eq!(r.status, 200);
    let mut r = r;
    assert_eq!(r.body.read_to_vec().wait().unwrap().len(), 100_000);
    assert_eq!(
        gateway.next_request().unwrap().what(),
        ("POST", "/device/dev/echo", 200, 100_000)
    );

    let r = conn.get("/device/nobody/hello", &[]).wait().unwrap();
    let status = r.status;
    let line = gateway.next_request().unwrap();
    assert_eq!(
        (line.method.as_str(), line.uri.as_str(), line.status),
        ("GET", "/device/nobody/hello", status)
    );
    assert!(status >= 400, "an unknown device is refused: {status}");
}

#[test]
fn files_requests_are_logged_with_their_status() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("image.bin"), vec![9u8; 100_000]).unwrap();
    let root = dir.path().display().to_string();
    let server = Logged::demo(&["--files", &root]);
    let mut conn = server.conn();

    let body = get_body(&mut conn, "/files/image.bin");
    assert_eq!(body.len(), 100_000);
    assert_eq!(
        server.next_request().unwrap().what(),
        ("GET", "/files/image.bin", 200, 100_000)
    );

    let mut r = conn
        .get_range("/files/image.bin", &[], 1000, 1500)
        .wait()
        .unwrap();
    assert_eq!(r.status, 206);
    assert_eq!(r.body.read_to_vec().wait().unwrap().len(), 500);
    assert_eq!(
        server.next_request().unwrap().what(),
        ("GET", "/files/image.bin", 206, 500)
    );

    // curl's resume form, `bytes=N-`.
    let out = std::process::Command::new("curl")
        .args([
            "-sS",
            "-r",
            "99000-",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
        ])
        .arg(format!("http://{}/files/image.bin", server.address))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "206");
    assert_eq!(
        server.next_request().unwrap().what(),
        ("GET", "/files/image.bin", 206, 1000)
    );

    let mut conn = server.conn();
    let r = conn
        .get_range("/files/image.bin", &[], 200_000, 200_010)
        .wait()
        .unwrap();
    assert_eq!(r.status, 416);
    assert_eq!(
        server.next_request().unwrap().what(),
        ("GET", "/files/image.bin", 416, 0)
    );

    let mut conn = server.conn();
    assert_eq!(conn.get("/files/missing", &[]).wait().unwrap().status, 404);
    assert_eq!(
        server.next_request().unwrap().what(),
        ("GET", "/files/missing", 404, 0)
    );
    // A symlink out of the directory is an escape.
    std::os::unix::fs::symlink("/etc", dir.path().join("out")).unwrap();
    let r = conn.get("/files/out/passwd", &[]).wait().unwrap();
    assert_eq!(r.status, 400);
    assert_eq!(
        server.next_request().unwrap().what(),
        ("GET", "/files/out/passwd", 400, 0)
    );
}
