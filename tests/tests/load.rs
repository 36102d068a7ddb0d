//! Load: 512 concurrent connections x 200 requests each against the `demo-server`
//! binary (2 workers, 600 connection slots), from degu-std's async client on a
//! multi-thread Tokio runtime, over loopback TCP.
//!
//! Requests mix `GET /hello`, `PUT /echo` with a content-length body and `POST /echo`
//! with a chunked body whose chunks carry extensions; every response body is checked
//! byte for byte (chunk boundaries and extensions included). No error is allowed.
//!
//! The server runs as a child process so its memory is its own: the test prints its
//! peak RSS (`VmHWM` of `/proc/<pid>/status`) and its peak socket count, and bounds the
//! RSS. The binary is built for this test's profile by `common::bins()` (cargo only hands
//! `CARGO_BIN_EXE_*` to the tests of the package that owns a binary; see there). The
//! whole run is bounded: more than [`LIMIT`] fails.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{raise_nofile, status_kib};

use degu_core::engine::Error;
use degu_core::{ChunkExt, Framing, Method};
use degu_std::{Address, Client};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Concurrent connections.
const CONNECTIONS: usize = 512;

/// Requests on each connection.
const REQUESTS: usize = 200;

/// The whole run, connecting included, must end within this.
const LIMIT: Duration = Duration::from_secs(120);

/// Peak server RSS allowed. Each connection holds a 32 KiB read and a 16 KiB write
/// buffer (degu-std's defaults) plus its task: 512 of them are 24 MiB if every page were
/// touched (they are not: a small head touches one page of the read buffer); the rest
/// is the binary, the runtimes and the allocator's slack.
const RSS_LIMIT_KIB: u64 = 64 * 1024;

/// Descriptors this process (512 client sockets) and the server child (512 more,
/// inherited limit) may need, with room to spare.
const NOFILE: u64 = 4096;

/// Open descriptors of `pid`.
fn fd_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

/// Deterministic body bytes for request `i` of connection `t`.
fn body(t: usize, i: usize, len: usize) -> Vec<u8> {
    (0..len)
        .map(|k| (k.wrapping_mul(31) ^ t.wrapping_mul(7) ^ i.wrapping_mul(13)) as u8)
        .collect()
}

/// A chunk: its extension's value (key `x`) and its data.
type Chunk = (Option<String>, Vec<u8>);

/// The chunks of chunked request `i` of connection `t`, and the last chunk's extension
/// value.
fn chunks(t: usize, i: usize) -> (Vec<Chunk>, Option<String>) {
    let n = 1 + (t + i) % 4;
    let list = (0..n)
        .map(|j| {
            let len = 1 + (t * 31 + i * 17 + j * 7) % 700;
            let ext = j.is_multiple_of(2).then(|| format!("{t}-{i}-{j}"));
            (ext, body(t, i + j, len))
        })
        .collect();
    let last = i.is_multiple_of(5).then(|| format!("end-{i}"));
    (list, last)
}

/// One connection's 200 requests; the number of body bytes checked.
async fn connection(client: Client, t: usize) -> Result<u64, String> {
    let mut conn = client
        .connect()
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let mut checked = 0u64;
    let mut buf = vec![0u8; 8192];
    for i in 0..REQUESTS {
        let fail = |what: &str, e: Error| format!("conn {t} request {i} {what}: {e}");
        match i % 3 {
            0 => {
                let mut r = conn.get("/hello", &[]).await.map_err(|e| fail("GET", e))?;
                let n = r
                    .body
                    .read_to_end(&mut buf)
                    .await
                    .map_err(|e| fail("GET body", e))?;
                if r.status != 200 || &buf[..n] != b"hello, world" {
                    return Err(format!(
                        "conn {t} request {i}: GET /hello gave {}",
                        r.status
                    ));
                }
                checked += n as u64;
            }
            1 => {
                let data = body(t, i, (t * 131 + i * 29) % 3000);
                let mut r = conn
                    .put("/echo", &[], &data)
                    .await
                    .map_err(|e| fail("PUT", e))?;
                let declared = r.headers.get("content-length").map(str::to_string);
                let n = r
                    .body
                    .read_to_end(&mut buf)
                    .await
                    .map_err(|e| fail("PUT body", e))?;
                if r.status != 200
                    || declared != Some(data.len().to_string())
                    || buf[..n] != data[..]
                {
                    return Err(format!(
                        "conn {t} request {i}: PUT /echo of {} bytes came back as {} \
                         ({n} bytes, content-length {declared:?})",
                        data.len(),
                        r.status
                    ));
                }
                checked += n as u64;
            }
            _ => {
                let (sent, last) = chunks(t, i);
                let (mut w, response) = conn
                    .send(Method::Post, "/echo", &[], Framing::Chunked)
                    .map_err(|e| fail("POST", e))?;
                let sending = async {
                    for (ext, data) in &sent {
                        let ext = ext.as_deref().map(|v| ChunkExt::new("x", v));
                        w.write_chunk(ext, data)
                            .await
                            .map_err(|e| fail("POST chunk", e))?;
                    }
                    let last_ext = last.as_deref().map(|v| ChunkExt::new("x", v));
                    w.finish(last_ext).await.map_err(|e| fail("POST end", e))
                };
                // The echo answers as it reads: send and receive at once.
                let (written, r) = futures::join!(sending, response.receive());
                written?;
                let mut r = r.map_err(|e| fail("POST response", e))?;
                if r.status != 200 || !r.body.is_chunked() {
                    return Err(format!(
                        "conn {t} request {i}: POST /echo gave {}",
                        r.status
                    ));
                }
                let mut got: Vec<Chunk> = Vec::new();
                let mut end = None;
                while let Some(p) = r
                    .body
                    .read_chunk(&mut buf)
                    .await
                    .map_err(|e| fail("POST body", e))?
                {
                    let ext = p.ext.map(|e| {
                        assert_eq!(e.key, "x");
                        e.value.to_string()
                    });
                    if p.is_end() {
                        end = Some(ext);
                        continue;
                    }
                    if p.first {
                        got.push((ext, Vec::new()));
                    }
                    let len = p.len;
                    let Some(chunk) = got.last_mut() else {
                        return Err(format!("conn {t} request {i}: piece before a chunk"));
                    };
                    chunk.1.extend_from_slice(&buf[..len]);
                    checked += len as u64;
                }
                if got != sent || end != Some(last) {
                    return Err(format!(
                        "conn {t} request {i}: chunked echo differs ({} chunks sent, {} back)",
                        sent.len(),
                        got.len()
                    ));
                }
            }
        }
    }
    Ok(checked)
}

#[test]
fn load_512_connections_x_200_requests() {
    raise_nofile(NOFILE);
    let bins = common::bins();
    let mut cmd = Command::new(&bins.demo_server);
    cmd.args([
        "--address",
        "127.0.0.1:0",
        "--workers",
        "2",
        "--max-connections",
        "600",
    ]);
    let (mut server, address) = common::start_demo_server(&mut cmd);
    let pid = server.pid();
    let address: Address = address.parse().expect("address");
    let rss_before = status_kib(pid, "VmRSS");

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let peak_fds = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let results: Vec<Result<u64, String>> = rt.block_on(async {
        // The server's sockets, sampled while the load runs.
        let sampler = {
            let peak = peak_fds.clone();
            tokio::spawn(async move {
                loop {
                    peak.fetch_max(fd_count(pid), Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            })
        };
        let client = Client::new(address.clone());
        let tasks: Vec<_> = (0..CONNECTIONS)
            .map(|t| tokio::spawn(connection(client.clone(), t)))
            .collect();
        let all = async {
            let mut out = Vec::new();
            for task in tasks {
                out.push(task.await.unwrap_or_else(|e| Err(format!("task: {e}"))));
            }
            out
        };
        let out = tokio::time::timeout(LIMIT, all)
            .await
            .unwrap_or_else(|_| panic!("the load did not finish within {LIMIT:?}"));
        sampler.abort();
        out
    });
    let elapsed = started.elapsed();
    let hwm = status_kib(pid, "VmHWM");
    let rss_after = status_kib(pid, "VmRSS");
    drop(rt);

    let errors: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    let checked: u64 = results.iter().filter_map(|r| r.as_ref().ok()).sum();
    let requests = CONNECTIONS * REQUESTS;
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    println!(
        "load ({profile} build): {CONNECTIONS} connections x {REQUESTS} requests = {requests} \
         in {:.1} s ({:.0} requests/s), {:.1} MiB of bodies checked, {} errors; server: \
         peak {} descriptors, RSS {} KiB before, {} KiB after, peak (VmHWM) {} KiB",
        elapsed.as_secs_f64(),
        requests as f64 / elapsed.as_secs_f64(),
        checked as f64 / (1024.0 * 1024.0),
        errors.len(),
        peak_fds.load(Ordering::Relaxed),
        rss_before,
        rss_after,
        hwm
    );
    assert!(
        errors.is_empty(),
        "{} of {CONNECTIONS} connections failed; first: {}",
        errors.len(),
        errors[0]
    );
    assert!(
        peak_fds.load(Ordering::Relaxed) >= CONNECTIONS,
        "the server never held {CONNECTIONS} connections at once (peak {} descriptors)",
        peak_fds.load(Ordering::Relaxed)
    );
    assert!(
        hwm <= RSS_LIMIT_KIB,
        "server peak RSS {hwm} KiB is over {RSS_LIMIT_KIB} KiB"
    );
    let status = server.terminate(Duration::from_secs(15));
    assert!(status.success(), "demo-server exited with {status}");
}
