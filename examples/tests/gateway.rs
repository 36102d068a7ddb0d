//! The gateway binary in front of real servers: every address kind, 100 MiB bodies both
//! ways (content-length and chunked, checked by SHA-256 and by the list of chunk
//! extensions and sizes) with the gateway's peak RSS bounded, 502 for a device that is
//! down and 504 for one that stalls.
//!
//! Full duplex, with the `demo-server` binary as the device on AF_UNIX and on TCP: a
//! 100 MiB streaming echo (the device answers as it reads), a 20 MiB upload the device
//! refuses at once (its own 404 within a second), curl and Python's `http.client`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use degu_core::app::{App, Request, Session};
use degu_core::engine::{Error, Read, Responder, Sent, Write};
use degu_core::{ChunkExt, Framing, Method};
use degu_examples::demo::DemoApp;
use degu_std::blocking::{BlockingConnection, Wait};
use degu_std::{Address, BodyExt, Client, ProxyApp, TempServer};

mod common;
use common::{Device, Gateway, Rng, expected_echo, hex, plan, plan_digest, stream_echo};
use sha2::{Digest, Sha256};
use std::process::Command;
use std::time::{Duration, Instant};

#[test]
fn the_gateway_reaches_devices_on_every_address_kind() {
    let abs = format!("@degu-gw-{}", std::process::id());
    let devices = [
        TempServer::ipv4(DemoApp).unwrap(),
        TempServer::ipv6(DemoApp).unwrap(),
        TempServer::unix(DemoApp).unwrap(),
        TempServer::start(&abs.parse().unwrap(), DemoApp).unwrap(),
    ];
    let names = ["v4", "v6", "unix", "abstract"];
    let table: Vec<(&str, &Address)> = names
        .iter()
        .copied()
        .zip(devices.iter().map(|d| d.address()))
        .collect();
    let gw = Gateway::start(&table, &[]);
    let mut conn = gw.client();
    for name in names {
        let mut r = conn
            .get(&format!("/device/{name}/hello"), &[])
            .wait()
            .unwrap();
        assert_eq!(
            (r.status, r.body.read_to_vec().wait().unwrap()),
            (200, b"hello, world".to_vec()),
            "{name}"
        );
        let (status, got) = chunked_exchange(
            &mut conn,
            Method::Post,
            &format!("/device/{name}/echo"),
            &[(Some(ChunkExt::new("a", "1")), b"xy"), (None, b"z")],
            Some(ChunkExt::new("end", "2")),
        );
        assert_eq!(status, 200);
        assert_eq!(
            got,
            vec![
                (Some("a=1".into()), b"xy".to_vec()),
                (None, b"z".to_vec()),
                (Some("end=2".into()), vec![])
            ],
            "{name}: chunks and extensions kept"
        );
        let r = conn
            .head(&format!("/device/{name}/hello"), &[])
            .wait()
            .unwrap();
        assert_eq!(
            r.headers.get("content-length"),
            Some("12"),
            "{name}: HEAD keeps the length"
        );
    }
    for uri in ["/device/nope/hello", "/elsewhere"] {
        assert_eq!(conn.get(uri, &[]).wait().unwrap().status, 404, "{uri}");
    }
}

/// A chunked request whose response is read while the chunks go out (full duplex):
/// the status and the response's chunks as (`key=value`, data), the last one included
/// (a length body is one piece).
type Chunks = Vec<(Option<String>, Vec<u8>)>;

fn chunked_exchange(
    conn: &mut BlockingConnection,
    method: Method,
    uri: &str,
    chunks: &[(Option<ChunkExt<'_>>, &[u8])],
    last: Option<ChunkExt<'_>>,
) -> (u16, Chunks) {
    async {
        let (mut body, response) = conn.send(method, uri, &[], Framing::Chunked).unwrap();
        let sending = async {
            for (ext, data) in chunks {
                body.write_chunk(*ext, data).await.unwrap();
            }
            body.finish(last).await.unwrap();
        };
        let receiving = async {
            let mut r = response.receive().await.unwrap();
            let mut buf = vec![0u8; 64 * 1024];
            let mut got = Vec::new();
            if !r.body.is_chunked() {
                // A length body: one piece.
                got.push((None, r.body.read_to_vec().await.unwrap()));
                return (r.status, got);
            }
            while let Some(p) = r.body.read_chunk(&mut buf).await.unwrap() {
                got.push((
                    p.ext.map(|e| format!("{}={}", e.key, e.value)),
                    buf[..p.len].to_vec(),
                ));
            }
            (r.status, got)
        };
        embassy_futures::join::join(sending, receiving).await.1
    }
    .wait()
}

#[test]
fn proxy_app_forwards_everything_in_process() {
    let device = TempServer::unix(DemoApp).unwrap();
    let proxy = TempServer::ipv4(ProxyApp::new(device.address().clone())).unwrap();
    let mut conn = Client::new(proxy.address().clone())
        .connect_blocking()
        .unwrap();
    for _ in 0..3 {
        let mut r = conn.get("/hello", &[]).wait().unwrap();
        assert_eq!(r.body.read_to_vec().wait().unwrap(), b"hello, world");
        let mut r = conn.put("/echo", &[], b"abc").wait().unwrap();
        assert_eq!(r.body.read_to_vec().wait().unwrap(), b"abc");
    }
    let mut r = conn.get("/chunks?n=2", &[]).wait().unwrap();
    let mut buf = [0u8; 32];
    let p = r.body.read_chunk(&mut buf).wait().unwrap().unwrap();
    assert_eq!(
        (p.ext, &buf[..p.len]),
        (Some(ChunkExt::new("i", "0")), &b"chunk 0"[..])
    );
    while r.body.read_chunk(&mut buf).wait().unwrap().is_some() {}
    assert_eq!(conn.get("/missing", &[]).wait().unwrap().status, 404);
}

/// `PUT /sink` reports `<bytes> <sha256> <sha256 of the chunk plan>`; `GET
/// /source?<total>&<seed>[&chunked]` sends a generated body.
struct Store;

impl App for Store {
    type State = ();

    async fn handle<'r, R: Read, W: Write>(
        &self,
        _: &mut Session<'_, ()>,
        mut request: Request<'_, R>,
        responder: Responder<'r, W>,
    ) -> Result<Sent<'r>, Error> {
        let mut buf = vec![0u8; 256 * 1024];
        match request.shift_path() {
            Some("sink") => {
                let mut data = Sha256::new();
                let mut chunks = Vec::new();
                let mut total = 0u64;
                if request.body.framing() == Framing::Chunked {
                    let mut current: Option<(Option<String>, usize)> = None;
                    while let Some(p) = request.body.read_chunk(&mut buf).await? {
                        if p.is_end() {
                            break;
                        }
                        if p.first {
                            chunks.extend(current.take());
                            current = Some((p.ext.map(|e| e.value.to_string()), 0));
                        }
                        data.update(&buf[..p.len]);
                        total += p.len as u64;
                        if let Some(c) = current.as_mut() {
                            c.1 += p.len;
                        }
                    }
                    chunks.extend(current.take());
                } else {
                    loop {
                        let n = request.body.read(&mut buf).await?;
                        if n == 0 {
                            break;
                        }
                        data.update(&buf[..n]);
                        total += n as u64;
                    }
                }
                let body = format!("{total} {} {}", hex(data), plan_digest(&chunks));
                responder.send(200, "OK", &[], body.as_bytes()).await
            }
            Some("source") => {
                let q = request.query.unwrap_or("");
                let mut parts = q.split('&');
                let total: u64 = parts.next().unwrap().parse().unwrap();
                let seed: u64 = parts.next().unwrap().parse().unwrap();
                let chunked = parts.next() == Some("chunked");
                let mut rng = Rng(seed ^ 0xdead_beef);
                if chunked {
                    let mut out = responder.chunked(200, "OK", &[]).await?;
                    for (ext, size) in plan(total, seed) {
                        rng.fill(&mut buf[..size]);
                        let ext = ext.as_deref().map(|v| ChunkExt::new("c", v));
                        out.write_chunk(ext, &buf[..size]).await?;
                    }
                    out.finish(None).await
                } else {
                    let mut out = responder.stream(200, "OK", &[], total).await?;
                    let mut left = total;
                    while left > 0 {
                        let k = (buf.len() as u64).min(left) as usize;
                        rng.fill(&mut buf[..k]);
                        out.write(&buf[..k]).await?;
                        left -= k as u64;
                    }
                    out.finish(None).await
                }
            }
            _ => responder.send(404, "Not Found", &[], b"").await,
        }
    }
}

#[test]
fn hundred_mib_bodies_stream_through_the_gateway_both_ways_in_bounded_memory() {
    const TOTAL: u64 = 100 * 1024 * 1024;
    let store = TempServer::ipv4(Store).unwrap();
    let gw = Gateway::start(&[("store", store.address())], &[]);
    let mut conn = gw.client();
    let seed = 7;
    let chunks = plan(TOTAL, seed);
    let expected_data = {
        let mut rng = Rng(seed ^ 0xdead_beef);
        let mut h = Sha256::new();
        let mut buf = vec![0u8; 256 * 1024];
        for (_, size) in &chunks {
            rng.fill(&mut buf[..*size]);
            h.update(&buf[..*size]);
        }
        hex(h)
    };
    let started = Instant::now();

    // Up, chunked: the store sees the same data and the same chunks and extensions.
    let mut rng = Rng(seed ^ 0xdead_beef);
    let mut buf = vec![0u8; 256 * 1024];
    let pieces: Vec<(Option<String>, Vec<u8>)> = Vec::new();
    drop(pieces);
    let body = {
        let all: Vec<(Option<String>, Vec<u8>)> = chunks
            .iter()
            .map(|(e, s)| {
                rng.fill(&mut buf[..*s]);
                (e.clone(), buf[..*s].to_vec())
            })
            .collect();
        let refs: Vec<(Option<ChunkExt<'_>>, &[u8])> = all
            .iter()
            .map(|(e, d)| (e.as_deref().map(|v| ChunkExt::new("c", v)), d.as_slice()))
            .collect();
        let (_, got) = chunked_exchange(&mut conn, Method::Put, "/device/store/sink", &refs, None);
        got.into_iter().flat_map(|(_, d)| d).collect::<Vec<u8>>()
    };
    let want = format!("{TOTAL} {expected_data} {}", plan_digest(&chunks));
    assert_eq!(String::from_utf8(body).unwrap(), want, "chunked upload");

    // Up, content-length: the same bytes, one "chunk" plan of nothing.
    let mut rng = Rng(seed ^ 0xdead_beef);
    let mut whole = Vec::with_capacity(TOTAL as usize);
    for (_, size) in &chunks {
        rng.fill(&mut buf[..*size]);
        whole.extend_from_slice(&buf[..*size]);
    }
    let body = conn
        .put("/device/store/sink", &[], &whole)
        .wait()
        .unwrap()
        .body
        .read_to_vec()
        .wait()
        .unwrap();
    drop(whole);
    assert_eq!(
        String::from_utf8(body).unwrap(),
        format!("{TOTAL} {expected_data} {}", plan_digest(&[]))
    );

    // Down, chunked and content-length.
    for chunked in [true, false] {
        let uri = format!(
            "/device/store/source?{TOTAL}&{seed}{}",
            if chunked { "&chunked" } else { "" }
        );
        let mut r = conn.get(&uri, &[]).wait().unwrap();
        let mut h = Sha256::new();
        let mut seen = Vec::new();
        let mut total = 0u64;
        if chunked {
            let mut current: Option<(Option<String>, usize)> = None;
            while let Some(p) = r.body.read_chunk(&mut buf).wait().unwrap() {
                if p.is_end() {
                    break;
                }
                if p.first {
                    seen.extend(current.take());
                    current = Some((p.ext.map(|e| e.value.to_string()), 0));
                }
                h.update(&buf[..p.len]);
                total += p.len as u64;
                current.as_mut().unwrap().1 += p.len;
            }
            seen.extend(current.take());
            assert_eq!(
                seen, chunks,
                "chunk boundaries and extensions kept downstream"
            );
        } else {
            assert_eq!(
                r.headers.get("content-length"),
                Some(TOTAL.to_string().as_str())
            );
            loop {
                let n = r.body.read(&mut buf).wait().unwrap();
                if n == 0 {
                    break;
                }
                h.update(&buf[..n]);
                total += n as u64;
            }
        }
        assert_eq!(
            (total, hex(h)),
            (TOTAL, expected_data.clone()),
            "download, chunked={chunked}"
        );
    }
    let rss = gw.peak_rss_kib();
    println!(
        "400 MiB through the gateway in {:?}; gateway peak RSS {} KiB",
        started.elapsed(),
        rss
    );
    assert!(
        rss < 64 * 1024,
        "gateway peak RSS {rss} KiB must stay under 64 MiB"
    );
}

#[test]
fn a_device_that_is_down_is_502_and_the_connection_survives() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let down: Address = format!("127.0.0.1:{port}").parse().unwrap();
    let up = TempServer::ipv4(DemoApp).unwrap();
    let gw = Gateway::start(&[("down", &down), ("up", up.address())], &[]);
    let mut conn = gw.client();
    let mut r = conn.get("/device/down/hello", &[]).wait().unwrap();
    assert_eq!(r.status, 502);
    assert_eq!(r.headers.get("content-type"), Some("text/plain"));
    let text = String::from_utf8(r.body.read_to_vec().wait().unwrap()).unwrap();
    assert!(
        text.starts_with("502 Bad Gateway: cannot connect upstream"),
        "{text}"
    );
    let mut r = conn.get("/device/up/hello", &[]).wait().unwrap();
    assert_eq!(
        r.body.read_to_vec().wait().unwrap(),
        b"hello, world",
        "same connection, still usable"
    );
}

#[test]
fn a_device_that_stalls_is_504_within_the_timeout() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address: Address = silent.local_addr().unwrap().into();
    // Accept and hold connections without ever answering.
    let holder = std::thread::spawn(move || {
        let mut held = Vec::new();
        silent.set_nonblocking(true).unwrap();
        let until = Instant::now() + Duration::from_secs(10);
        while Instant::now() < until {
            if let Ok((s, _)) = silent.accept() {
                held.push(s);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    });
    let up = TempServer::ipv4(DemoApp).unwrap();
    let gw = Gateway::start(
        &[("stuck", &address), ("up", up.address())],
        &["--timeout", "1"],
    );
    let mut conn = gw.client();
    let start = Instant::now();
    let mut r = conn.get("/device/stuck/hello", &[]).wait().unwrap();
    let took = start.elapsed();
    assert_eq!(r.status, 504);
    assert!(
        String::from_utf8(r.body.read_to_vec().wait().unwrap())
            .unwrap()
            .starts_with("504 Gateway Timeout")
    );
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(3),
        "{took:?}"
    );
    let mut r = conn.get("/device/up/hello", &[]).wait().unwrap();
    assert_eq!(r.body.read_to_vec().wait().unwrap(), b"hello, world");
    drop(holder);
}

/// The demo device on AF_UNIX and on TCP, each behind its own gateway process.
fn devices_behind_gateways(tag: &str) -> Vec<(&'static str, Device, Gateway)> {
    let sock = std::env::temp_dir().join(format!("degu-dev-{tag}-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&sock);
    [
        ("unix", Device::start(sock.to_str().unwrap())),
        ("tcp", Device::start("127.0.0.1:0")),
    ]
    .into_iter()
    .map(|(kind, device)| {
        let gw = Gateway::start(&[("dev", &device.address)], &[]);
        (kind, device, gw)
    })
    .collect()
}

#[test]
fn a_streaming_echo_of_100_mib_passes_the_gateway_full_duplex_on_unix_and_tcp() {
    const TOTAL: u64 = 100 * 1024 * 1024;
    for (kind, _device, gw) in devices_behind_gateways("echo") {
        let mut conn = gw.client();
        for chunked in [false, true] {
            let started = Instant::now();
            let (status, got) = stream_echo(&mut conn, "/device/dev/echo", TOTAL, 11, chunked);
            assert_eq!(status, 200, "{kind}, chunked={chunked}");
            assert_eq!(
                got,
                expected_echo(TOTAL, 11, chunked),
                "{kind}, chunked={chunked}: byte-identical and chunk-list identical"
            );
            println!(
                "{kind}: 100 MiB echoed through the gateway (chunked={chunked}) in {:?}",
                started.elapsed()
            );
        }
        let rss = gw.peak_rss_kib();
        println!("{kind}: gateway peak RSS {rss} KiB");
        assert!(
            rss < 64 * 1024,
            "gateway peak RSS {rss} KiB must stay under 64 MiB"
        );
    }
}

#[test]
fn a_device_that_refuses_a_20_mib_put_at_once_is_heard_within_a_second() {
    let body = vec![b'x'; 20 * 1024 * 1024];
    for (kind, _device, gw) in devices_behind_gateways("refuse") {
        for round in 0..3 {
            let mut conn = gw.client();
            let started = Instant::now();
            let mut r = conn.put("/device/dev/hello", &[], &body).wait().unwrap();
            let took = started.elapsed();
            assert_eq!(r.status, 404, "{kind}: the device's own status");
            assert!(r.body.read_to_vec().wait().unwrap().is_empty());
            assert!(took < Duration::from_secs(1), "{kind}: took {took:?}");
            assert!(
                !r.body.pump().is_sent(),
                "{kind}: answered before the body was all sent"
            );
            assert!(conn.is_closed(), "the unsent body closes the connection");
            println!("{kind}, round {round}: 404 for a 20 MiB PUT in {took:?}");
            // The gateway keeps serving.
            let mut conn = gw.client();
            let mut r = conn.get("/device/dev/hello", &[]).wait().unwrap();
            assert_eq!(r.body.read_to_vec().wait().unwrap(), b"hello, world");
        }
    }
}

/// `curl ARGS...` with a 60 s bound; a failed run fails the test.
fn curl(args: &[&str]) -> Vec<u8> {
    common::curl_ok(60, args)
}

fn sha256_hex(data: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(data);
    hex(h)
}

#[test]
fn curl_through_the_gateway_echoes_5_mb_and_hears_an_early_refusal() {
    let dir = tempfile_dir("curl");
    let big = dir.join("big.bin");
    let mut data = vec![0u8; 5_000_000];
    Rng(5).fill(&mut data);
    std::fs::write(&big, &data).unwrap();
    let huge = dir.join("huge.bin");
    std::fs::write(&huge, vec![b'x'; 20_000_000]).unwrap();
    for (kind, _device, gw) in devices_behind_gateways("curl") {
        let base = format!("http://{}/device/dev", gw.address);
        // content-length upload (curl -T FILE), echoed back.
        let echoed = curl(&["-T", big.to_str().unwrap(), &format!("{base}/echo")]);
        assert_eq!(sha256_hex(&echoed), sha256_hex(&data), "{kind}: -T FILE");
        // chunked upload (curl -T - reads stdin and sends it chunked).
        let out = Command::new("curl")
            .args([
                "-sS",
                "--max-time",
                "60",
                "-T",
                "-",
                &format!("{base}/echo"),
            ])
            .stdin(std::fs::File::open(&big).unwrap())
            .output()
            .unwrap();
        assert!(out.status.success(), "{kind}: curl -T -");
        assert_eq!(sha256_hex(&out.stdout), sha256_hex(&data), "{kind}: -T -");
        // The device refuses at once; curl sees its 404 while still uploading.
        let started = Instant::now();
        let code = curl(&[
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-T",
            huge.to_str().unwrap(),
            &format!("{base}/hello"),
        ]);
        let took = started.elapsed();
        assert_eq!(String::from_utf8(code).unwrap(), "404", "{kind}");
        assert!(took < Duration::from_secs(1), "{kind}: 404 took {took:?}");
        println!("{kind}: curl got the device's 404 for a 20 MB upload in {took:?}");
        assert_eq!(curl(&[&format!("{base}/hello")]), b"hello, world");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn python_http_client_through_the_gateway() {
    const SCRIPT: &str = r#"
import hashlib, http.client, os, sys
host, port = sys.argv[1], int(sys.argv[2])
conn = http.client.HTTPConnection(host, port, timeout=30)
conn.request("GET", "/device/dev/hello")
r = conn.getresponse()
assert (r.status, r.read()) == (200, b"hello, world")
body = os.urandom(256 * 1024)
conn.request("POST", "/device/dev/echo", body=body)
r = conn.getresponse()
assert (r.status, r.read()) == (200, body)
chunks = [os.urandom(n) for n in (1, 1000, 65536, 7)]
conn.request("PUT", "/device/dev/echo", body=iter(chunks), encode_chunked=True)
r = conn.getresponse()
assert r.getheader("transfer-encoding") == "chunked"
assert (r.status, r.read()) == (200, b"".join(chunks))
conn.request("HEAD", "/device/dev/hello")
r = conn.getresponse()
assert (r.status, r.getheader("content-length"), r.read()) == (200, "12", b"")
conn.request("GET", "/device/dev/nope")
r = conn.getresponse()
assert (r.status, r.read()) == (404, b"")
print("ok")
"#;
    for (kind, _device, gw) in devices_behind_gateways("python") {
        let Address::Ip(addr) = &gw.address else {
            panic!("the gateway listens on TCP")
        };
        let out = Command::new("python3")
            .args([
                "-c",
                SCRIPT,
                &addr.ip().to_string(),
                &addr.port().to_string(),
            ])
            .output()
            .expect("python3 must be installed (.ci/run installs it)");
        assert!(
            out.status.success() && out.stdout == b"ok\n",
            "{kind}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// A fresh directory under the system temp dir for this test.
fn tempfile_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("degu-gw-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A fake device on TCP that reads one request head, then does `then` with the socket.
fn vanishing_device(then: fn(&mut std::net::TcpStream)) -> (Address, std::thread::JoinHandle<()>) {
    use std::io::Read as _;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address: Address = listener.local_addr().unwrap().into();
    let handle = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            if s.read(&mut byte).unwrap() == 0 {
                return;
            }
            head.push(byte[0]);
        }
        then(&mut s);
    });
    (address, handle)
}

#[test]
fn a_device_that_vanishes_before_answering_is_502() {
    let (address, device) = vanishing_device(|s| {
        s.shutdown(std::net::Shutdown::Both).unwrap();
    });
    let gw = Gateway::start(&[("gone", &address)], &[]);
    let mut conn = gw.client();
    let started = Instant::now();
    let mut r = conn.get("/device/gone/hello", &[]).wait().unwrap();
    assert_eq!(r.status, 502);
    let text = String::from_utf8(r.body.read_to_vec().wait().unwrap()).unwrap();
    assert!(
        text.starts_with("502 Bad Gateway: upstream failed"),
        "{text}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    device.join().unwrap();
}

#[test]
fn a_device_that_vanishes_after_its_head_is_502() {
    // The gateway holds the head until body bytes follow, so none reached the client.
    let (address, device) = vanishing_device(|s| {
        use std::io::Write as _;
        s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly this")
            .unwrap();
        s.shutdown(std::net::Shutdown::Both).unwrap();
    });
    let gw = Gateway::start(&[("gone", &address)], &[]);
    let mut conn = gw.client();
    let started = Instant::now();
    let r = conn.get("/device/gone/big", &[]).wait().unwrap();
    assert_eq!(r.status, 502);
    assert_eq!(r.headers.get("connection"), Some("close"));
    assert!(started.elapsed() < Duration::from_secs(2), "never a hang");
    device.join().unwrap();
}

#[test]
fn a_device_that_vanishes_mid_response_cuts_the_response_off() {
    let (address, device) = vanishing_device(|s| {
        use std::io::Write as _;
        s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 1000000\r\n\r\n")
            .unwrap();
        // More than the gateway buffers: part of the body reaches the client.
        s.write_all(&[b'x'; 200_000]).unwrap();
        s.shutdown(std::net::Shutdown::Both).unwrap();
    });
    let gw = Gateway::start(&[("gone", &address)], &[]);
    let mut conn = gw.client();
    let started = Instant::now();
    let mut r = conn.get("/device/gone/big", &[]).wait().unwrap();
    assert_eq!(r.status, 200, "the device's head went through");
    assert_eq!(r.headers.get("content-length"), Some("1000000"));
    let cut = r.body.read_to_vec().wait();
    assert!(
        matches!(cut, Err(Error::Body(degu_core::BodyError::UnexpectedEof))),
        "a cut-off body, not a complete one: {cut:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(2), "never a hang");
    device.join().unwrap();
}
