//! Request-head parsing: degu-core's `parse_request` beside httparse 1.x, on the same three
//! heads in the same run.
//!
//! ```text
//! cargo bench -p degu-core --bench parse -- --warm-up-time 1 --measurement-time 2
//! ```
//!
//! What one iteration does, for every parser alike:
//!
//! * copy the head from a `&[u8; L]` into a stack array of exactly its length (degu-core
//!   lower-cases header names in place, so it needs `&mut [u8]`; httparse gets the same
//!   fresh copy so the two loops differ only in the parse call). The copy alone is timed
//!   too and printed in the `copy` column: subtract it for the bare parse cost;
//! * parse with 32 header slots: `degu_core::parse_request::<32>`, and
//!   `httparse::Request::parse` over a fresh `[EMPTY_HEADER; 32]` (httparse's documented
//!   use; the array is 1 KiB to initialise). The table also shows httparse's
//!   `parse_with_uninit_headers`, which skips that initialising the way degu-core's
//!   `heapless` list does, so the comparison is not flattered by it;
//! * hand the result to `black_box` by reference.
//!
//! Every head is checked to be accepted, completely, by every parser before anything is
//! timed. After criterion's groups a plain table is printed from a simple timed loop (best
//! of 5 interleaved runs of 200,000 iterations each), so the ratio shows even with
//! criterion's shortest settings. `ratio` is httparse time / degu time: above 1.0 means
//! degu-core is faster. The table is printed only in benchmark mode (`cargo bench`), not
//! when `cargo test --benches` runs this file as a test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;
use std::mem::MaybeUninit;
use std::time::Instant;

use criterion::{Criterion, Throughput};
use degu_core::{Method, Status};

/// Header slots for both parsers (degu-core's default, `limits::DEFAULT_MAX_HEADERS`).
const SLOTS: usize = 32;

/// (a) Degu's own benchmark request (the Python original's `benchmark.py`), head only.
const DEGU_POST: &[u8; 40] = b"POST / HTTP/1.1\r\ncontent-length: 108\r\n\r\n";

/// (b) What `curl http://127.0.0.1:8080/hello` sends.
const CURL_GET: &[u8; 82] =
    b"GET /hello HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n";

/// (c) A Chrome navigation with 12 headers. The target stays inside Degu's URI rules (no
/// percent-encoding in the path; `%`, `&` and `=` only in the query).
const BROWSER_GET: &[u8; 671] = b"GET /devices/sensor-12/readings?since=1732406400&limit=50 HTTP/1.1\r\n\
Host: gateway.local:8080\r\n\
Connection: keep-alive\r\n\
sec-ch-ua: \"Google Chrome\";v=\"131\", \"Chromium\";v=\"131\", \"Not_A Brand\";v=\"24\"\r\n\
sec-ch-ua-mobile: ?0\r\n\
sec-ch-ua-platform: \"Linux\"\r\n\
Upgrade-Insecure-Requests: 1\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36\r\n\
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7\r\n\
Sec-Fetch-Site: none\r\n\
Sec-Fetch-Mode: navigate\r\n\
Accept-Encoding: gzip, deflate, br, zstd\r\n\
Accept-Language: en-US,en;q=0.9,de;q=0.8\r\n\
\r\n";

/// Iterations per timed run of the summary table.
const ITERS: u32 = 200_000;
/// Timed runs per parser and head; the fastest counts.
const RUNS: usize = 5;

/// Copy the head into a stack array, the part every iteration shares.
#[inline(always)]
fn copy<const L: usize>(head: &[u8; L]) {
    let buf = *black_box(head);
    black_box(&buf);
}

#[inline(always)]
fn degu<const L: usize>(head: &[u8; L]) {
    let mut buf = *black_box(head);
    let parsed = degu_core::parse_request::<SLOTS>(&mut buf);
    black_box(&parsed);
}

#[inline(always)]
fn httparse<const L: usize>(head: &[u8; L]) {
    let buf = *black_box(head);
    let mut headers = [httparse::EMPTY_HEADER; SLOTS];
    let mut req = httparse::Request::new(&mut headers);
    let parsed = req.parse(&buf);
    black_box(&parsed);
    black_box(&req);
}

#[inline(always)]
fn httparse_uninit<const L: usize>(head: &[u8; L]) {
    let buf = *black_box(head);
    let mut headers = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; SLOTS];
    let mut req = httparse::Request::new(&mut []);
    let parsed = req.parse_with_uninit_headers(&buf, &mut headers);
    black_box(&parsed);
    black_box(&req);
}

/// Both parsers must accept the whole head, agree on method, target and header count.
fn check<const L: usize>(name: &str, head: &[u8; L], method: Method, headers: usize) {
    let mut buf = *head;
    let Ok(Status::Complete(h)) = degu_core::parse_request::<SLOTS>(&mut buf) else {
        panic!("{name}: degu-core does not accept the head");
    };
    assert_eq!(
        (h.len, h.method, h.headers.len()),
        (L, method, headers),
        "{name}"
    );

    let mut slots = [httparse::EMPTY_HEADER; SLOTS];
    let mut req = httparse::Request::new(&mut slots);
    assert_eq!(
        req.parse(head).unwrap(),
        httparse::Status::Complete(L),
        "{name}"
    );
    assert_eq!(req.method, Some(method.as_str()), "{name}");
    assert_eq!(req.path, Some(h.uri), "{name}");
    assert_eq!(req.headers.len(), headers, "{name}");

    let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; SLOTS];
    let mut req = httparse::Request::new(&mut []);
    let parsed = req.parse_with_uninit_headers(head, &mut slots).unwrap();
    assert_eq!(parsed, httparse::Status::Complete(L), "{name}");
}

fn criterion_group<const L: usize>(c: &mut Criterion, name: &str, head: &'static [u8; L]) {
    let mut group = c.benchmark_group(format!("parse/{name}"));
    group.throughput(Throughput::Bytes(L as u64));
    group.bench_function("degu", |b| b.iter(|| degu(head)));
    group.bench_function("httparse", |b| b.iter(|| httparse(head)));
    group.finish();
}

/// Nanoseconds per iteration of the fastest of `RUNS` runs, for each of `fns`, with the
/// runs interleaved so slow drift of the machine hits every parser alike.
fn best_ns<const K: usize>(fns: [&dyn Fn(); K]) -> [f64; K] {
    let mut best = [f64::INFINITY; K];
    for _ in 0..RUNS {
        for (f, best) in fns.iter().zip(best.iter_mut()) {
            let start = Instant::now();
            for _ in 0..ITERS {
                f();
            }
            let ns = start.elapsed().as_nanos() as f64 / f64::from(ITERS);
            *best = best.min(ns);
        }
    }
    best
}

fn table_row<const L: usize>(name: &str, head: &'static [u8; L]) {
    let [copy, degu, httparse, uninit] =
        best_ns([&|| copy(head), &|| degu(head), &|| httparse(head), &|| {
            httparse_uninit(head)
        }]);
    println!(
        "{name:<12} {L:>5} {copy:>8.1} {degu:>8.1} {httparse:>10.1} {:>7.2} {uninit:>17.1} {:>7.2}",
        httparse / degu,
        uninit / degu,
    );
}

/// Whether criterion was started to measure (`cargo bench`), not to test or list
/// (`cargo test --benches`, `--list`): the same decision criterion makes from its flags.
fn benchmark_mode() -> bool {
    let args: Vec<String> = std::env::args().collect();
    let has = |flag: &str| args.iter().any(|a| a == flag);
    has("--bench") && !has("--test") && !has("--list") && !has("--profile-time")
}

fn main() {
    check("degu-post", DEGU_POST, Method::Post, 1);
    check("curl-get", CURL_GET, Method::Get, 3);
    check("browser-get", BROWSER_GET, Method::Get, 12);

    let mut c = Criterion::default().configure_from_args();
    criterion_group(&mut c, "degu-post", DEGU_POST);
    criterion_group(&mut c, "curl-get", CURL_GET);
    criterion_group(&mut c, "browser-get", BROWSER_GET);
    c.final_summary();

    if !benchmark_mode() {
        return;
    }
    println!();
    println!(
        "head parse, ns/iter (best of {RUNS} x {ITERS} iterations; every column includes the copy)"
    );
    println!(
        "{:<12} {:>5} {:>8} {:>8} {:>10} {:>7} {:>17} {:>7}",
        "head", "bytes", "copy", "degu", "httparse", "ratio", "httparse-uninit", "ratio"
    );
    table_row("degu-post", DEGU_POST);
    table_row("curl-get", CURL_GET);
    table_row("browser-get", BROWSER_GET);
    println!("ratio = httparse ns / degu ns; above 1.0 means degu-core is faster");
}
