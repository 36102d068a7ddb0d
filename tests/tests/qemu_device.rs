//! The same app on a device and on a host: `DemoApp` served by the firmware in QEMU
//! (`firmware/qemu-device`, degu-embassy over embassy-net on an emulated Cortex-M) must
//! answer every request byte for byte as `degu-std`'s `TempServer` does.
//! That includes the JSON routes (`GET /status`, `POST /led`: serde-json-core, no
//! allocator, on both).
//!
//! Then a 1 MiB chunked upload to the device's `/echo` from degu's client must come back
//! byte for byte (SHA-256).
//!
//! The firmware is built beforehand (`cargo xtask test` builds it, then runs these
//! `#[ignore]`d tests); how QEMU runs: `qemu/mod.rs`. The device is forwarded from
//! `127.0.0.1:PORT` (`hostfwd=tcp:127.0.0.1:PORT-10.0.2.15:80`); traffic stays on
//! 127.0.0.1 and inside QEMU's user-mode network.

mod qemu;

use degu_examples::demo::DemoApp;
use degu_std::blocking::Wait;
use degu_std::{Address, BodyExt, TempServer};
use qemu::{AN385, AN386, Board, Qemu};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// Bound on every read and write to either server.
const IO_TIMEOUT: Duration = Duration::from_secs(15);

#[test]
#[ignore = "needs QEMU firmware: cargo xtask test"]
fn device_answers_like_std_server_on_an386_thumbv7em() {
    run_board(&AN386);
}

#[test]
#[ignore = "needs QEMU firmware: cargo xtask test"]
fn device_answers_like_std_server_on_an385_thumbv6m() {
    run_board(&AN385);
}

fn run_board(board: &Board) {
    let elf = qemu::firmware(board, "qemu-device");
    let std_server = TempServer::ipv4(DemoApp).expect("start the std demo server");
    let Address::Ip(std_addr) = *std_server.address() else {
        panic!("TempServer::ipv4 gave {:?}", std_server.address())
    };

    let started = Instant::now();
    let device = Qemu::serve(board, &elf);
    let boot = started.elapsed();
    let device_addr = device.addr.expect("forwarded");

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
    let upload = Instant::now();
    let (sent, echoed) = echo_upload(device_addr, UPLOAD_LEN).unwrap_or_else(|e| {
        panic!(
            "1 MiB chunked upload to /echo: {e}\nQEMU output:\n{}",
            device.output()
        )
    });
    assert_eq!(
        echoed, sent,
        "the device's echo of 1 MiB differs (sha256, length)"
    );
    println!(
        "{}: 1 MiB chunked upload echoed identically in {:?}",
        board.machine,
        upload.elapsed()
    );
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

/// Bytes of the chunked upload to `/echo`, and of each chunk.
const UPLOAD_LEN: usize = 1024 * 1024;
const UPLOAD_CHUNK: usize = 4000;

/// POST `len` bytes (varied, in chunks with an extension each) to `/echo` with degu's
/// client; the (sha256, length) of what was sent and of what came back.
fn echo_upload(addr: SocketAddr, len: usize) -> Result<(Digest, Digest), String> {
    let data: Vec<u8> = (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[3])
        .collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let echoed = runtime.block_on(async {
        let client = degu_std::Client::new(Address::Ip(addr));
        let mut conn = client
            .connect()
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let (mut request, response) = conn
            .send(
                degu_core::Method::Post,
                "/echo",
                &[],
                degu_core::Framing::Chunked,
            )
            .map_err(|e| e.to_string())?;
        // The echo streams back as it reads: the upload and the download run at once.
        let sending = async {
            for (i, piece) in data.chunks(UPLOAD_CHUNK).enumerate() {
                let n = i.to_string();
                request
                    .write_chunk(Some(degu_core::ChunkExt::new("n", &n)), piece)
                    .await
                    .map_err(|e| format!("chunk {i}: {e}"))?;
            }
            request
                .finish(None)
                .await
                .map_err(|e| format!("finish: {e}"))
        };
        let receiving = async {
            let mut response = response
                .receive()
                .await
                .map_err(|e| format!("response: {e}"))?;
            if response.status != 200 {
                return Err(format!("status {}", response.status));
            }
            let mut echoed = Vec::with_capacity(len);
            let mut piece = vec![0u8; 64 * 1024];
            loop {
                match response.body.read(&mut piece).await {
                    Ok(0) => break,
                    Ok(n) => echoed.extend_from_slice(&piece[..n]),
                    Err(e) => {
                        return Err(format!("response body after {} bytes: {e}", echoed.len()));
                    }
                }
            }
            Ok(echoed)
        };
        match futures::join!(sending, receiving) {
            (Ok(()), Ok(echoed)) => Ok(echoed),
            (Err(sent), Ok(_)) => Err(sent),
            (Ok(()), Err(received)) => Err(received),
            (Err(sent), Err(received)) => Err(format!("{sent}; {received}")),
        }
    })?;
    Ok((Digest::of(&data), Digest::of(&echoed)))
}

/// SHA-256 and length, shown as hex.
#[derive(PartialEq)]
struct Digest([u8; 32], usize);

impl Digest {
    fn of(data: &[u8]) -> Digest {
        use sha2::Digest as _;
        Digest(sha2::Sha256::digest(data).into(), data.len())
    }
}

impl std::fmt::Debug for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        write!(f, " ({} bytes)", self.1)
    }
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
            name: "GET /status (JSON, serde-json-core)",
            run: |a| {
                exchange(
                    a,
                    b"GET /status HTTP/1.1\r\n\r\nGET /status HTTP/1.1\r\nconnection: close\r\n\r\n",
                )
            },
            check: |r| {
                assert_starts(r, "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n");
                let first = br#"{"app":"degu-demo","version":"0.1.0","requests":0}"#;
                let second = br#"{"app":"degu-demo","version":"0.1.0","requests":1}"#;
                assert_eq!(count(r, first), 1);
                assert!(r.ends_with(second));
            },
        },
        Case {
            name: "POST /led (JSON body parsed into a bounded buffer)",
            run: |a| {
                exchange(
                    a,
                    b"POST /led HTTP/1.1\r\ncontent-length: 34\r\nconnection: close\r\n\r\n\
                      { \"brightness\": 40, \"on\": true }  ",
                )
            },
            check: |r| {
                assert_starts(r, "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n");
                assert!(r.ends_with(br#"{"on":true,"brightness":40}"#));
            },
        },
        Case {
            name: "POST /led, bad JSON (400 with a JSON error)",
            run: |a| {
                exchange(
                    a,
                    b"POST /led HTTP/1.1\r\ncontent-length: 8\r\n\r\n{\"on\":1}",
                )
            },
            check: |r| {
                assert_starts(r, "HTTP/1.1 400 Bad Request\r\n");
                assert!(
                    r.ends_with(br#"{"error":"expected {\"on\":bool,\"brightness\":0..=100}"}"#)
                );
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

/// Issue 7's last check: the gateway in front of the device. `/device/qemu/...` through
/// degu-std's `GatewayApp` reaches the firmware, chunk extensions included.
#[test]
#[ignore = "needs QEMU firmware: cargo xtask test"]
fn the_gateway_reaches_the_device() {
    let elf = qemu::firmware(&AN386, "qemu-device");
    let device = Qemu::serve(&AN386, &elf);
    let device_addr = device.addr.expect("forwarded");
    let mut gateway = degu_std::GatewayApp::new();
    gateway.add("qemu", degu_std::Proxy::new(Address::Ip(device_addr)));
    let server = TempServer::ipv4(gateway).expect("start the gateway");
    let mut conn = degu_std::Client::new(server.address().clone())
        .connect_blocking()
        .expect("connect to the gateway");
    let mut r = conn
        .get("/device/qemu/hello", &[])
        .wait()
        .expect("GET through the gateway");
    assert_eq!(r.status, 200, "QEMU output:\n{}", device.output());
    assert_eq!(r.body.read_to_vec().wait().expect("body"), b"hello, world");
    let ext = degu_core::ChunkExt::new("k", "v");
    let mut r = {
        let (mut request, response) = conn
            .send(
                degu_core::Method::Post,
                "/device/qemu/echo",
                &[],
                degu_core::Framing::Chunked,
            )
            .expect("chunked POST through the gateway");
        request
            .write_chunk(Some(ext), b"through the gateway")
            .wait()
            .expect("chunked POST through the gateway");
        request
            .finish(None)
            .wait()
            .expect("chunked POST through the gateway");
        response
            .receive()
            .wait()
            .expect("chunked POST through the gateway")
    };
    let mut buf = [0u8; 64];
    let p = r
        .body
        .read_chunk(&mut buf)
        .wait()
        .expect("chunk")
        .expect("a data chunk");
    assert_eq!(
        (p.ext, &buf[..p.len]),
        (Some(ext), &b"through the gateway"[..])
    );
    while r.body.read_chunk(&mut buf).wait().expect("chunk").is_some() {}
    assert_eq!(
        conn.get("/device/qemu/nope", &[])
            .wait()
            .expect("404")
            .status,
        404
    );
}
