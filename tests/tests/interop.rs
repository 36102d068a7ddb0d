//! Interop with real peers, on loopback and AF_UNIX only: Debian's curl and Python's
//! `http.client` against the demo app served by degu-std (in-process `TempServer`s and
//! the real `demo-server` binary), and degu-std's async and blocking clients against
//! Python's `http.server` (HTTP/1.1 keep-alive, and the HTTP/1.0 default they refuse).
//!
//! Every subprocess runs under a time limit and is killed when its test ends; every
//! socket the clients here open has a timeout.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{Proc, STEP, bins, curl, run_ok, start_demo_server, unique};
use degu_core::ParseError;
use degu_core::engine::Error;
use degu_examples::demo::DemoApp;
use degu_std::blocking::Wait;
use degu_std::{Address, BodyExt, ClientConfig, TempServer};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Socket timeout of the degu clients here.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(5);

// --- curl ---------------------------------------------------------------------------

/// Where curl sends its requests: the URL base and the options that route them.
struct Target {
    base: String,
    route: Vec<String>,
}

impl Target {
    fn of(address: &Address) -> Target {
        match address {
            Address::Ip(a) => Target {
                base: format!("http://{a}"),
                route: vec![],
            },
            Address::Unix(p) => Target {
                base: "http://localhost".into(),
                route: vec!["--unix-socket".into(), p.display().to_string()],
            },
            Address::Abstract(name) => Target {
                base: "http://localhost".into(),
                route: vec![
                    "--abstract-unix-socket".into(),
                    String::from_utf8(name.clone()).unwrap(),
                ],
            },
            Address::Host(..) => panic!("no host names here"),
        }
    }

    /// Options for one transfer (curl resets them at `--next`).
    fn opts(&self) -> Vec<String> {
        let mut v: Vec<String> = ["-sS", "-g", "--max-time", "10", "--connect-timeout", "5"]
            .map(String::from)
            .to_vec();
        v.extend(self.route.iter().cloned());
        v
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `curl` with this target's options.
    fn curl(&self) -> Command {
        let mut c = curl();
        c.args(self.opts());
        c
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Check from curl's verbose output that its second request went over the first
/// one's connection. curl 7.x writes "Re-using existing connection", curl 8 "Reusing
/// existing connection".
///
/// curl 7.88 never reuses a connection to an *abstract* AF_UNIX socket: it says
/// "Connection #0 is still name resolving, can't reuse" and connects anew (curl's own
/// matching, the server is not asked; the message curl/curl#9664 reported for path
/// sockets). Then only that refusal is accepted; keep-alive over abstract sockets is
/// shown by the Python client instead.
fn assert_reused(address: &Address, stderr: &str) {
    if stderr.contains("Re-using existing connection")
        || stderr.contains("Reusing existing connection")
    {
        assert_eq!(
            stderr.matches("* Connected to").count(),
            1,
            "{address}: reused, yet more than one connection:\n{stderr}"
        );
        return;
    }
    let curl_refused = matches!(address, Address::Abstract(_))
        && stderr.contains("is still name resolving, can't reuse");
    assert!(curl_refused, "{address}: connection not reused:\n{stderr}");
}

/// A head and a body split at the first empty line.
fn split_head(out: &str) -> (&str, &str) {
    out.split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no end of head in {out:?}"))
}

/// Bytes that are not all text, of a size that is not a multiple of any buffer.
fn upload_data() -> Vec<u8> {
    (0..100_017u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

/// curl against one server: GET /hello with its head; HEAD /hello then GET on one
/// connection; chunked POST and PUT and a content-length POST to /echo, echoed byte for
/// byte in the same framing; /chunks?n=5 decoded and raw (with extensions); two URLs in
/// one curl over one connection. Every curl must exit 0.
fn curl_suite(address: &Address) {
    let t = Target::of(address);
    let dir = tempfile::tempdir().unwrap();
    let what = address.to_string();

    // GET /hello with the head shown.
    let out = run_ok(t.curl().args(["-i", &t.url("/hello")]), STEP);
    let stdout = text(&out.stdout);
    let (head, body) = split_head(&stdout);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{what}: {head:?}");
    assert!(
        head.to_ascii_lowercase().contains("\r\ncontent-length: 12"),
        "{what}: {head:?}"
    );
    assert_eq!(body, "hello, world", "{what}");

    // HEAD /hello, then GET /hello on the same connection: a body after the HEAD
    // response would be read as the start of the second response and break it.
    let mut cmd = t.curl();
    cmd.args(["-v", "-I", &t.url("/hello"), "--next"])
        .args(t.opts())
        .args(["-v", &t.url("/hello")]);
    let out = run_ok(&mut cmd, STEP);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    let (head, body) = split_head(&stdout);
    assert!(
        head.starts_with("HTTP/1.1 200 OK\r\n"),
        "{what}: {stdout:?}"
    );
    assert!(
        head.to_ascii_lowercase().contains("\r\ncontent-length: 12"),
        "{what}: {stdout:?}"
    );
    assert_eq!(body, "hello, world", "{what}: HEAD sent a body?");
    assert_reused(address, &stderr);

    // Uploads to /echo: chunked POST (--data-binary), chunked PUT (-T), and a plain
    // content-length POST; the echo comes back byte for byte.
    let data = upload_data();
    let file = dir.path().join("upload.bin");
    std::fs::write(&file, &data).unwrap();
    let at_file = format!("@{}", file.display());
    let uploads: [(&str, Vec<&str>, &str); 3] = [
        (
            "chunked POST",
            vec![
                "-H",
                "transfer-encoding: chunked",
                "--data-binary",
                &at_file,
            ],
            "transfer-encoding: chunked",
        ),
        (
            "chunked PUT",
            vec![
                "-H",
                "transfer-encoding: chunked",
                "-T",
                file.to_str().unwrap(),
            ],
            "transfer-encoding: chunked",
        ),
        (
            "content-length POST",
            vec!["--data-binary", &at_file],
            "content-length: 100017",
        ),
    ];
    for (kind, args, framing) in uploads {
        let echoed = dir.path().join("echoed.bin");
        let headers = dir.path().join("headers.txt");
        let mut cmd = t.curl();
        cmd.arg("-v")
            .args(&args)
            .arg("-o")
            .arg(&echoed)
            .arg("-D")
            .arg(&headers)
            .arg(t.url("/echo"));
        let out = run_ok(&mut cmd, STEP);
        let stderr = text(&out.stderr).to_ascii_lowercase();
        // What curl sent (`> ` lines) and what it got back (the dumped head).
        assert!(
            stderr.contains(&format!("> {framing}")),
            "{what}: {kind}: curl did not send {framing}:\n{stderr}"
        );
        // The dump holds every head received: a `100 continue` first when curl sent
        // `expect: 100-continue` (it does for -T), then the response.
        let dump = std::fs::read_to_string(&headers)
            .unwrap()
            .to_ascii_lowercase();
        let head = dump
            .split("\r\n\r\n")
            .filter(|h| !h.is_empty())
            .last()
            .unwrap_or_default();
        if stderr.contains("> expect: 100-continue") {
            assert!(
                dump.starts_with("http/1.1 100 continue\r\n\r\n"),
                "{what}: {kind}: no 100 continue: {dump}"
            );
        }
        assert!(
            head.starts_with("http/1.1 200 ok\r\n"),
            "{what}: {kind}: {head}"
        );
        assert!(
            head.split("\r\n").any(|line| line == framing),
            "{what}: {kind}: echo not in the same framing: {head}"
        );
        let got = std::fs::read(&echoed).unwrap();
        assert!(
            got == data,
            "{what}: {kind}: echo differs ({} bytes back)",
            got.len()
        );
    }

    // GET /chunks?n=5, decoded by curl, and raw to see the extensions.
    let out = run_ok(t.curl().arg(t.url("/chunks?n=5")), STEP);
    assert_eq!(
        text(&out.stdout),
        "chunk 0chunk 1chunk 2chunk 3chunk 4",
        "{what}"
    );
    let out = run_ok(t.curl().args(["--raw", &t.url("/chunks?n=5")]), STEP);
    let raw: String = (0..5)
        .map(|i| format!("7;i={i}\r\nchunk {i}\r\n"))
        .chain(["0\r\n\r\n".to_string()])
        .collect();
    assert_eq!(text(&out.stdout), raw, "{what}");

    // Keep-alive: one curl, two URLs, one connection.
    let out = run_ok(
        t.curl()
            .args(["-v", &t.url("/hello"), &t.url("/chunks?n=2")]),
        STEP,
    );
    let stderr = text(&out.stderr);
    assert_eq!(text(&out.stdout), "hello, worldchunk 0chunk 1", "{what}");
    assert_reused(address, &stderr);
}

#[test]
fn curl_against_temp_server_ipv4() {
    let server = TempServer::ipv4(DemoApp).unwrap();
    curl_suite(server.address());
}

#[test]
fn curl_against_temp_server_ipv6() {
    let server = TempServer::ipv6(DemoApp).unwrap();
    curl_suite(server.address());
}

#[test]
fn curl_against_temp_server_unix_path() {
    let server = TempServer::unix(DemoApp).unwrap();
    assert!(matches!(server.address(), Address::Unix(_)));
    curl_suite(server.address());
}

#[test]
fn curl_against_temp_server_unix_abstract() {
    let address = Address::Abstract(unique("degu-interop").into_bytes());
    let server = TempServer::start(&address, DemoApp).unwrap();
    curl_suite(server.address());
}

/// The real `demo-server` binary (built by `common::bins`, which says why that way) on
/// every address kind: the curl suite, then SIGTERM ends it gracefully with status 0.
#[test]
fn curl_against_demo_server_binary() {
    let bins = bins();
    let dir = tempfile::tempdir().unwrap();
    let unix = dir.path().join("demo.sock");
    let abstract_name = format!("@{}", unique("degu-demo"));
    for asked in [
        "127.0.0.1:0",
        "[::1]:0",
        unix.to_str().unwrap(),
        &abstract_name,
    ] {
        let (mut server, printed) =
            start_demo_server(Command::new(&bins.demo_server).args(["--address", asked]));
        let address: Address = printed.parse().unwrap();
        match (&address, asked) {
            (Address::Ip(a), _) => {
                assert_ne!(a.port(), 0, "demo-server printed port 0");
                assert_eq!(a.is_ipv6(), asked.starts_with('['), "{printed}");
            }
            _ => assert_eq!(printed, asked),
        }
        curl_suite(&address);
        let status = server.terminate(Duration::from_secs(10));
        assert!(status.success(), "{asked}: demo-server ended with {status}");
        if let Address::Unix(p) = &address {
            assert!(
                !p.exists(),
                "demo-server left its socket file {}",
                p.display()
            );
        }
    }
}

// --- Python's http.client as the client ------------------------------------------------

/// A few requests on one `HTTPConnection` (TCP, or AF_UNIX through a subclass); prints
/// what came back as JSON. argv: `tcp HOST:PORT`, `unix PATH` or `unix @NAME`.
const PY_CLIENT: &str = r#"
import http.client, json, socket, sys

kind, where = sys.argv[1], sys.argv[2]

class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = "\0" + path[1:] if path.startswith("@") else path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.unix_path)
        self.sock = sock

if kind == "unix":
    conn = UnixHTTPConnection(where, 10)
else:
    conn = http.client.HTTPConnection(where, timeout=10)

upload = bytes(range(256)) * 40
pieces = [b"first chunk,", b"second,", upload]
sockets = []
results = []

def exchange(method, url, **kw):
    conn.request(method, url, **kw)
    r = conn.getresponse()
    body = r.read()
    sockets.append(conn.sock)
    results.append({
        "request": method + " " + url,
        "status": r.status,
        "reason": r.reason,
        "version": r.version,
        "headers": {k.lower(): v for k, v in r.getheaders()},
        "body": body.hex(),
    })

exchange("GET", "/hello")
exchange("HEAD", "/hello")
exchange("PUT", "/echo", body=upload)
exchange("POST", "/echo", body=(p for p in pieces), encode_chunked=True)
exchange("GET", "/chunks?n=3")
exchange("GET", "/nope")
exchange("GET", "/hello")
conn.close()
print(json.dumps({
    "results": results,
    "connections": len({id(s) for s in sockets}),
    "upload": upload.hex(),
    "pieces": b"".join(pieces).hex(),
}))
"#;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn python_client(address: &Address) {
    let (kind, target) = match address {
        Address::Ip(a) => ("tcp", a.to_string()),
        _ => ("unix", address.to_string()),
    };
    let out = run_ok(
        Command::new("python3").args(["-c", PY_CLIENT, kind, &target]),
        STEP,
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", text(&out.stdout)));
    let what = address.to_string();
    assert_eq!(
        v["connections"], 1,
        "{what}: requests did not share one connection"
    );
    let results = v["results"].as_array().unwrap();
    let expect = [
        (
            "GET /hello",
            200,
            "OK",
            hex(b"hello, world"),
            Some("12"),
            None,
        ),
        ("HEAD /hello", 200, "OK", String::new(), Some("12"), None),
        (
            "PUT /echo",
            200,
            "OK",
            v["upload"].as_str().unwrap().to_string(),
            Some("10240"),
            None,
        ),
        (
            "POST /echo",
            200,
            "OK",
            v["pieces"].as_str().unwrap().to_string(),
            None,
            Some("chunked"),
        ),
        (
            "GET /chunks?n=3",
            200,
            "OK",
            hex(b"chunk 0chunk 1chunk 2"),
            None,
            Some("chunked"),
        ),
        (
            "GET /nope",
            404,
            "Not Found",
            String::new(),
            Some("0"),
            None,
        ),
        (
            "GET /hello",
            200,
            "OK",
            hex(b"hello, world"),
            Some("12"),
            None,
        ),
    ];
    assert_eq!(results.len(), expect.len(), "{what}");
    for (r, (request, status, reason, body, length, te)) in results.iter().zip(expect) {
        assert_eq!(r["request"], request, "{what}");
        assert_eq!(r["version"], 11, "{what}: {request}");
        assert_eq!(r["status"], status, "{what}: {request}");
        assert_eq!(r["reason"], reason, "{what}: {request}");
        assert_eq!(r["body"], body.as_str(), "{what}: {request}");
        assert_eq!(
            r["headers"]["content-length"].as_str(),
            length,
            "{what}: {request}"
        );
        assert_eq!(
            r["headers"]["transfer-encoding"].as_str(),
            te,
            "{what}: {request}"
        );
    }
}

#[test]
fn python_http_client_ipv4() {
    let server = TempServer::ipv4(DemoApp).unwrap();
    python_client(server.address());
}

#[test]
fn python_http_client_ipv6() {
    let server = TempServer::ipv6(DemoApp).unwrap();
    python_client(server.address());
}

#[test]
fn python_http_client_unix() {
    let server = TempServer::unix(DemoApp).unwrap();
    python_client(server.address());
    let address = Address::Abstract(unique("degu-py").into_bytes());
    let server = TempServer::start(&address, DemoApp).unwrap();
    python_client(server.address());
}

// --- degu clients against Python's http.server ---------------------------------------

/// argv: `4|6 HOST 1.1|1.0`. Prints the bound port, serves until stdin closes.
/// `1.1`: a keep-alive HTTP/1.1 handler that names the peer port and counts requests
/// per connection in headers. `1.0`: `SimpleHTTPRequestHandler`, what
/// `python3 -m http.server` runs (HTTP/1.0), on the current directory.
const PY_SERVER: &str = r#"
import os, socket, socketserver, sys, threading
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler

family = socket.AF_INET6 if sys.argv[1] == "6" else socket.AF_INET

class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    address_family = family
    daemon_threads = True
    allow_reuse_address = True

class KeepAlive(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        self.count = 0

    def reply(self, body, send_body=True):
        self.count += 1
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Peer-Port", str(self.client_address[1]))
        self.send_header("X-Request-Number", str(self.count))
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def do_GET(self):
        self.reply(("python says hello to " + self.path).encode())

    def do_HEAD(self):
        self.reply(b"7 bytes", send_body=False)

    def do_PUT(self):
        self.reply(self.rfile.read(int(self.headers["Content-Length"])))

    def log_message(self, *args):
        pass

class Default(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass

server = Server((sys.argv[2], 0), KeepAlive if sys.argv[3] == "1.1" else Default)
print(server.server_address[1], flush=True)
threading.Thread(target=server.serve_forever, daemon=True).start()
sys.stdin.read()
os._exit(0)
"#;

/// A Python server and the address to reach it.
fn python_server(ipv6: bool, version: &str, dir: &Path) -> (Proc, Address) {
    let (family, host) = if ipv6 {
        ("6", "::1")
    } else {
        ("4", "127.0.0.1")
    };
    let server = Proc::spawn(
        Command::new("python3")
            .args(["-c", PY_SERVER, family, host, version])
            .current_dir(dir),
    );
    let port: u16 = server.line(common::STARTUP).trim().parse().unwrap();
    let address = if ipv6 {
        Address::ipv6_loopback(port)
    } else {
        Address::ipv4_loopback(port)
    };
    (server, address)
}

fn client_config(address: &Address) -> ClientConfig {
    ClientConfig {
        timeout: Some(CLIENT_TIMEOUT),
        ..ClientConfig::for_address(address)
    }
}

/// What one response from the keep-alive Python server must look like.
fn check_python_response(
    what: &str,
    status: u16,
    reason: &str,
    headers: &degu_core::Headers<'_>,
    number: u32,
    peer_port: &mut Option<String>,
) {
    assert_eq!((status, reason), (200, "OK"), "{what}");
    let server = headers.get("server").unwrap_or_default();
    assert!(server.starts_with("BaseHTTP/"), "{what}: server {server:?}");
    let date = headers.get("date").unwrap_or_default();
    assert!(
        date.ends_with(" GMT") && date.len() == 29,
        "{what}: date {date:?}"
    );
    assert_eq!(
        headers.get("content-type"),
        Some("text/plain; charset=utf-8"),
        "{what}"
    );
    assert_eq!(
        headers.get("x-request-number"),
        Some(number.to_string().as_str()),
        "{what}: not the same connection"
    );
    let port = headers.get("x-peer-port").unwrap().to_string();
    match peer_port {
        Some(p) => assert_eq!(*p, port, "{what}: a new connection"),
        None => *peer_port = Some(port),
    }
}

fn blocking_against_python(address: &Address) {
    let client = degu_std::Client::with_config(address.clone(), client_config(address));
    let mut conn = client.connect_blocking().unwrap();
    let mut peer = None;
    let mut number = 0;
    for i in 0..3 {
        number += 1;
        let uri = format!("/blocking/{i}?x=1");
        let mut r = conn.get(&uri, &[]).wait().unwrap();
        check_python_response(
            &format!("{address} GET {uri}"),
            r.status,
            r.reason,
            &r.headers,
            number,
            &mut peer,
        );
        let body = r.body.read_to_vec().wait().unwrap();
        assert_eq!(text(&body), format!("python says hello to {uri}"));
    }
    number += 1;
    let mut r = conn.head("/head", &[]).wait().unwrap();
    check_python_response("HEAD", r.status, r.reason, &r.headers, number, &mut peer);
    assert_eq!(r.headers.get("content-length"), Some("7"));
    assert!(
        r.body.read_to_vec().wait().unwrap().is_empty(),
        "a body on HEAD"
    );
    number += 1;
    let data = upload_data();
    let mut r = conn.put("/echo", &[], &data).wait().unwrap();
    check_python_response("PUT", r.status, r.reason, &r.headers, number, &mut peer);
    assert!(
        r.body.read_to_vec().wait().unwrap() == data,
        "PUT echo differs"
    );
    number += 1;
    let mut r = conn.get("/last", &[]).wait().unwrap();
    check_python_response("GET", r.status, r.reason, &r.headers, number, &mut peer);
    assert_eq!(
        r.body.read_to_vec().wait().unwrap(),
        b"python says hello to /last"
    );
    assert!(!conn.is_closed());
}

fn async_against_python(address: &Address) {
    let client = degu_std::Client::with_config(address.clone(), client_config(address));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(20), async {
            let mut conn = client.connect().await.unwrap();
            let mut peer = None;
            let mut buf = vec![0u8; 256 * 1024];
            for i in 1..=5u32 {
                let uri = format!("/async/{i}");
                let mut r = conn.get(&uri, &[]).await.unwrap();
                check_python_response(
                    &format!("{address} GET {uri}"),
                    r.status,
                    r.reason,
                    &r.headers,
                    i,
                    &mut peer,
                );
                let n = r.body.read_to_end(&mut buf).await.unwrap();
                assert_eq!(text(&buf[..n]), format!("python says hello to {uri}"));
            }
            let data = upload_data();
            let mut r = conn.put("/echo", &[], &data).await.unwrap();
            check_python_response("PUT", r.status, r.reason, &r.headers, 6, &mut peer);
            let n = r.body.read_to_end(&mut buf).await.unwrap();
            assert!(buf[..n] == data[..], "PUT echo differs");
            assert!(!conn.is_closed());
        })
        .await
        .expect("async client against Python timed out");
    });
}

#[test]
fn degu_clients_against_python_http11_ipv4() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, address) = python_server(false, "1.1", dir.path());
    blocking_against_python(&address);
    async_against_python(&address);
}

#[test]
fn degu_clients_against_python_http11_ipv6() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, address) = python_server(true, "1.1", dir.path());
    blocking_against_python(&address);
    async_against_python(&address);
}

/// `HTTP/1.0 200 OK` is not a status line Degu accepts: both clients fail with a typed
/// parse error, at once, and the connection is closed.
#[test]
fn degu_clients_refuse_python_http10() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hello.txt"), b"hello from python").unwrap();
    let (_server, address) = python_server(false, "1.0", dir.path());
    // The server really is the HTTP/1.0 one.
    let out = run_ok(
        curl()
            .args(["-sS", "-i", "--max-time", "10"])
            .arg(format!("http://{address}/hello.txt")),
        STEP,
    );
    assert!(text(&out.stdout).starts_with("HTTP/1.0 200 OK\r\n"));

    let refused = |e: Error| {
        assert!(
            matches!(
                e,
                Error::Parse(ParseError::BadStatusLine | ParseError::UnsupportedVersion)
            ),
            "HTTP/1.0 response: expected a status-line parse error, got {e:?}"
        );
    };

    let client = degu_std::Client::with_config(address.clone(), client_config(&address));
    let mut conn = client.connect_blocking().unwrap();
    let start = Instant::now();
    let e = conn
        .get("/hello.txt", &[])
        .wait()
        .err()
        .expect("blocking client accepted HTTP/1.0");
    refused(e);
    assert!(
        start.elapsed() < CLIENT_TIMEOUT,
        "refused only after a timeout"
    );
    assert!(conn.is_closed());

    let client = degu_std::Client::with_config(address.clone(), client_config(&address));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        tokio::time::timeout(CLIENT_TIMEOUT, async {
            let mut conn = client.connect().await.unwrap();
            let e = conn
                .get("/hello.txt", &[])
                .await
                .err()
                .expect("async client accepted HTTP/1.0");
            refused(e);
            assert!(conn.is_closed());
        })
        .await
        .expect("async client hung on an HTTP/1.0 response");
    });
}
