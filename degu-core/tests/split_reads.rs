//! Every request and response vector of `tests/vectors.rs` replayed as if it arrived in two
//! reads split at every byte, and as a buffer that grows in place (names already folded by
//! the previous call), plus every chunked vector fed to the body decoder one byte at a time.
//!
//! The rules checked: a prefix that ends before the head does parses as `Partial` or, for a
//! reject the parser can see early, as the very same error (never a success, never another
//! error); a prefix that holds the whole head gives exactly the full result; the chunked
//! decoder yields the same `(ext, data)` sequence and the same error however its input is
//! split; `find_head_end` resumed after any split finds the same end; and the resumable
//! parsers (`RequestParser`, `ResponseParser`) fed the head in two reads split at every
//! byte, or a byte at a time, end with exactly the one-shot parse's result.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[macro_use]
mod common;

use common::*;

/// The prefix lengths to try: every one for vectors up to 4 KiB; for the 32 KiB heads the
/// first and last 512 and every 61st in between (each parse is a full pass, and every
/// split of 32 KiB would be quadratic).
fn splits(len: usize) -> Vec<usize> {
    if len <= 4096 {
        (0..=len).collect()
    } else {
        let mut v: Vec<usize> = (0..512).chain(len - 512..=len).collect();
        v.extend((512..len - 512).step_by(61));
        v.sort_unstable();
        v
    }
}

/// `got` (for a prefix of `k` bytes) is allowed given the full result `full`.
fn check_prefix<T: PartialEq + core::fmt::Debug>(
    name: &str,
    k: usize,
    end: Option<usize>,
    got: &Outcome<T>,
    full: &Outcome<T>,
) {
    if end.is_some_and(|e| k >= e) {
        assert_eq!(
            got, full,
            "{name}: prefix of {k} bytes holds the whole head"
        );
        return;
    }
    match (got, full) {
        (Outcome::Partial, _) => {}
        (Outcome::Err(a), Outcome::Err(b)) if a == b => {}
        _ => panic!("{name}: prefix of {k} bytes gave {got:?}, the whole vector {full:?}"),
    }
}

fn check_head_end(name: &str, bytes: &[u8]) {
    let want = head_end(bytes);
    for k in splits(bytes.len()) {
        let mut scanned = 0;
        let first = find_head_end(&bytes[..k], &mut scanned);
        if want.is_some_and(|e| e <= k) {
            assert_eq!(first, want, "{name}: split {k}");
        } else {
            assert_eq!(first, None, "{name}: split {k}");
            assert!(scanned <= k, "{name}: scanned {scanned} of {k}");
            assert_eq!(
                find_head_end(bytes, &mut scanned),
                want,
                "{name}: resumed at {k}"
            );
        }
    }
    // Grown one byte at a time with one `scanned`: found exactly when it arrives.
    let mut scanned = 0;
    let found =
        (0..=bytes.len()).find_map(|k| find_head_end(&bytes[..k], &mut scanned).map(|e| (k, e)));
    assert_eq!(found, want.map(|e| (e, e)), "{name}: byte by byte");
}

fn request_splits(name: &str, bytes: &[u8]) {
    let full = parse_req::<32>(bytes);
    let end = head_end(bytes);
    for k in splits(bytes.len()) {
        let got = parse_req::<32>(&bytes[..k]);
        check_prefix(name, k, end, &got, &full);
    }
    // One buffer, parsed again after every read, as an engine does.
    let mut buf = bytes.to_vec();
    for k in splits(bytes.len()) {
        let got = parse_req_in_place::<32>(&mut buf[..k]);
        check_prefix(name, k, end, &got, &full);
    }
    // One parser resumed across reads, as the server engine does.
    let len = bytes.len();
    for k in splits(len) {
        assert_eq!(
            feed_req::<32>(bytes, [k, len]),
            full,
            "{name}: fed {k} + rest"
        );
    }
    assert_eq!(
        feed_req::<32>(bytes, 0..=len),
        full,
        "{name}: fed byte by byte"
    );
    check_head_end(name, bytes);
}

fn response_splits(name: &str, method: Method, bytes: &[u8]) {
    let full = parse_resp::<32>(bytes, method);
    let end = head_end(bytes);
    for k in splits(bytes.len()) {
        let got = parse_resp::<32>(&bytes[..k], method);
        check_prefix(name, k, end, &got, &full);
    }
    let mut buf = bytes.to_vec();
    for k in splits(bytes.len()) {
        let got = parse_resp_in_place::<32>(&mut buf[..k], method);
        check_prefix(name, k, end, &got, &full);
    }
    // One parser resumed across reads, as the client engine does.
    let len = bytes.len();
    for k in splits(len) {
        assert_eq!(
            feed_resp::<32>(bytes, method, [k, len]),
            full,
            "{name}: fed {k} + rest"
        );
    }
    assert_eq!(
        feed_resp::<32>(bytes, method, 0..=len),
        full,
        "{name}: fed byte by byte"
    );
    check_head_end(name, bytes);
}

type Decoding = Result<(Vec<Chunk>, usize), BodyError>;

fn same_decoding(name: &str, how: &str, got: &Decoding, want: &Decoding) {
    // Not `assert_eq!`: a 16 MiB chunk must not end up in a panic message.
    if got != want {
        let brief = |d: &Decoding| match d {
            Ok((c, n)) => format!("Ok({} chunks, {n} consumed)", c.len()),
            Err(e) => format!("Err({e:?})"),
        };
        panic!(
            "{name}: {how} gave {}, whole gave {}",
            brief(got),
            brief(want)
        );
    }
}

/// Decode `body` (after a chunked head) whole, one byte at a time and in a few other
/// split patterns; all must agree.
fn chunked_splits(name: &str, body: &[u8]) {
    let len = body.len();
    let whole = decode_chunked_request(body, &mut || len);
    let patterns: &[(&str, &[usize])] = if len <= 64 * 1024 {
        &[
            ("one byte at a time", &[1]),
            ("two at a time", &[2]),
            ("1,2,3,5,7", &[1, 2, 3, 5, 7]),
        ]
    } else {
        // 16 MiB one byte at a time is too slow in debug: mix tiny and large reads.
        &[("1,2,3,65521", &[1, 2, 3, 65521]), ("4093,1", &[4093, 1])]
    };
    for (how, steps) in patterns {
        let mut i = 0;
        let got = decode_chunked_request(body, &mut || {
            i += 1;
            steps[(i - 1) % steps.len()]
        });
        same_decoding(name, how, &got, &whole);
    }
    // Every single split point into two reads.
    if len <= 4096 {
        for k in 1..len {
            let mut first = true;
            let got = decode_chunked_request(body, &mut || {
                if first {
                    first = false;
                    k
                } else {
                    len
                }
            });
            same_decoding(name, &format!("split at {k}"), &got, &whole);
        }
    }
}

macro_rules! request_split_tests {
    ($($name:ident: $bytes:expr => $expect:expr,)*) => {
        mod request {
            use super::*;
            $(
                #[test]
                fn $name() {
                    request_splits(stringify!($name), &$bytes[..]);
                }
            )*
        }
    };
}
request_vectors!(request_split_tests);

macro_rules! response_split_tests {
    ($($name:ident: $method:expr, $bytes:expr => $expect:expr,)*) => {
        mod response {
            use super::*;
            $(
                #[test]
                fn $name() {
                    response_splits(stringify!($name), $method, &$bytes[..]);
                }
            )*
        }
    };
}
response_vectors!(response_split_tests);

macro_rules! chunked_split_tests {
    ($($name:ident: $bytes:expr => $expect:expr,)*) => {
        mod chunked {
            use super::*;
            $(
                #[test]
                fn $name() {
                    chunked_splits(stringify!($name), &$bytes[..]);
                }
            )*
        }
    };
}
chunked_vectors!(chunked_split_tests);

/// Longer chunked bodies than the vectors: many chunks, extensions on some, sizes that
/// straddle every split.
#[test]
fn chunked_bodies_with_many_chunks() {
    let mut body = Vec::new();
    let mut want: Vec<Chunk> = Vec::new();
    for (i, size) in [1usize, 2, 15, 16, 17, 255, 256, 1000, 3]
        .iter()
        .enumerate()
    {
        let data = pattern(*size);
        if i % 3 == 0 {
            let value = format!("v{i}");
            body.extend_from_slice(format!("{size:X};K{i}={value}\r\n").as_bytes());
            want.push(ch(Some((&format!("K{i}"), &value)), &data));
        } else {
            body.extend_from_slice(format!("{size:x}\r\n").as_bytes());
            want.push(ch(None, &data));
        }
        body.extend_from_slice(&data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"0;end=\"yes\"\r\n\r\n");
    want.push(ch(Some(("end", "\"yes\"")), ""));
    check_chunked("many chunks", &body, &chunks(want));
    chunked_splits("many chunks", &body);

    // The same body followed by a pipelined request: the decoder stops at its end.
    let mut piped = body.clone();
    piped.extend_from_slice(b"GET / HTTP/1.1\r\n\r\n");
    chunked_splits("many chunks, then a request", &piped);
    let (_, used) = decode_chunked_request(&piped, &mut || 1).unwrap();
    assert_eq!(&piped[used..], b"GET / HTTP/1.1\r\n\r\n");
}

/// A length-framed body at every split, with a pipelined request after it.
#[test]
fn length_body_at_every_split() {
    let mut input = pattern(300);
    input.extend_from_slice(b"GET / HTTP/1.1\r\n\r\n");
    let whole = decode_whole(Framing::Length(300), &input).unwrap();
    assert_eq!(whole.1, 300);
    for k in 1..input.len() {
        let mut first = true;
        let got = decode_stream(Framing::Length(300), &input, &mut || {
            if first {
                first = false;
                k
            } else {
                1
            }
        })
        .unwrap();
        assert_eq!(got, whole, "split at {k}");
    }
}
