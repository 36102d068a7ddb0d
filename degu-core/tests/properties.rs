//! Property tests of the wire layer.
//!
//! * Render, then parse, is the identity: random valid request heads (method, target from
//!   random path components and query, distinct lower-case headers, a range, the framing
//!   the method allows), random valid response heads (status, reason, headers, a
//!   content-range, framing; HEAD, 1xx, 204 and 304 responses parse with no body), and
//!   random chunk streams (sizes up to 16 MiB, optional extensions) encoded with
//!   `BodyEncoder` and decoded with `BodyDecoder` fed in random splits.
//! * Arbitrary bytes, token soup and mutated valid heads never make `parse_request`,
//!   `parse_response` or `BodyDecoder` panic, and never yield a head length or a consumed
//!   count larger than the input.
//!
//! Case counts are set per test to keep the file well under 20 s in a debug build.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[macro_use]
mod common;

use common::*;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use std::collections::HashSet;

// ------------------------------------------------------------------------------------
// Strategies.

fn method() -> impl Strategy<Value = Method> {
    select(Method::ALL.to_vec())
}

/// A path component: the path class, never `..`.
fn component() -> impl Strategy<Value = String> {
    "[A-Za-z0-9+.:_~-]{1,8}".prop_filter("no ..", |c| c != "..")
}

/// `(path, query, components)` of a valid origin-form target.
fn target() -> impl Strategy<Value = (String, Option<String>, Vec<String>)> {
    (
        vec(component(), 0..5),
        any::<bool>(),
        proptest::option::of("[A-Za-z0-9+.:_~%&=-]{0,12}"),
    )
        .prop_map(|(mut comps, trailing, query)| {
            let mut path = format!("/{}", comps.join("/"));
            if trailing && !comps.is_empty() {
                path.push('/');
                comps.push(String::new());
            }
            (path, query, comps)
        })
}

/// Names the header strategy must not produce: framing and range headers are added
/// separately, with valid values.
const SPECIAL: [&str; 4] = [
    "content-length",
    "transfer-encoding",
    "range",
    "content-range",
];

/// Distinct lower-case token names with RFC 9110 field values (no padding).
fn headers(max: usize) -> impl Strategy<Value = Vec<(String, String)>> {
    let name =
        "[a-z0-9!#$%&'*+.^_`|~-]{1,24}".prop_filter("special", |n| !SPECIAL.contains(&n.as_str()));
    let value = "[!-~]([ \t!-~]{0,30}[!-~])?";
    vec((name, value), 0..=max).prop_map(|list| {
        let mut seen = HashSet::new();
        list.into_iter()
            .filter(|(n, _)| seen.insert(n.clone()))
            .collect()
    })
}

fn length() -> impl Strategy<Value = u64> {
    prop_oneof![0u64..=100, 0u64..=MAX_LENGTH, Just(MAX_LENGTH)]
}

fn framing() -> impl Strategy<Value = Framing> {
    prop_oneof![
        Just(Framing::None),
        length().prop_map(Framing::Length),
        Just(Framing::Chunked),
    ]
}

fn range() -> impl Strategy<Value = Range> {
    prop_oneof![
        (0u64..MAX_LENGTH, 1u64..=MAX_LENGTH)
            .prop_map(|(start, len)| Range::new(start, start.saturating_add(len).min(MAX_LENGTH)))
            .prop_filter_map("empty", |r| r),
        (0u64..MAX_LENGTH).prop_filter_map("past max", Range::open),
    ]
}

fn content_range() -> impl Strategy<Value = ContentRange> {
    (0u64..MAX_LENGTH, 1u64..=1000, 0u64..=1000).prop_filter_map(
        "out of bounds",
        |(start, len, extra)| {
            let stop = start.checked_add(len)?;
            ContentRange::new(start, stop, stop.checked_add(extra)?)
        },
    )
}

fn framing_header(framing: Framing) -> Option<(String, String)> {
    match framing {
        Framing::None => None,
        Framing::Length(n) => Some(("content-length".into(), n.to_string())),
        Framing::Chunked => Some(("transfer-encoding".into(), "chunked".into())),
    }
}

fn as_headers(list: &[(String, String)]) -> Vec<Header<'_>> {
    list.iter().map(|(n, v)| Header::new(n, v)).collect()
}

/// One chunk to send: its size (at least 1) and extension.
type ChunkSpec = (usize, Option<(String, String)>);

fn ext() -> impl Strategy<Value = Option<(String, String)>> {
    proptest::option::of((
        "[A-Za-z0-9-]{1,10}",
        "[A-Za-z0-9+.:_~\"'()*,;<>\\[\\]-]{1,16}",
    ))
}

fn chunk_size() -> impl Strategy<Value = usize> {
    let max = MAX_CHUNK_SIZE as usize;
    prop_oneof![
        12 => 1usize..=64,
        6 => 65usize..=5000,
        1 => 0x10000usize..=max,
        1 => Just(max),
    ]
}

/// Read sizes a socket might return, cycled over a stream.
fn steps() -> impl Strategy<Value = Vec<usize>> {
    vec(
        prop_oneof![1usize..=8, 1usize..=512, 1usize..=100_000],
        1..12,
    )
}

fn cycle(steps: &[usize]) -> impl FnMut() -> usize + '_ {
    let mut i = 0;
    move || {
        i += 1;
        steps[(i - 1) % steps.len()]
    }
}

/// Encode a chunk stream with `BodyEncoder`; returns the wire bytes and the chunks a
/// decoder must yield (the last, empty one included).
fn encode_chunks(specs: &[ChunkSpec], last: &Option<(String, String)>) -> (Vec<u8>, Vec<Chunk>) {
    let mut wire = Vec::new();
    let mut want = Vec::new();
    let mut enc = BodyEncoder::new(Framing::Chunked);
    let mut line = [0u8; 64];
    for (i, (size, ext)) in specs.iter().enumerate() {
        let e = ext.as_ref().map(|(k, v)| ChunkExt::new(k, v));
        let n = enc.begin_chunk(&mut line, *size, e).unwrap();
        wire.extend_from_slice(&line[..n]);
        // Distinct bytes per chunk, with marks at both ends, cheap for 16 MiB.
        let mut data = vec![b'a' + (i % 26) as u8; *size];
        data[0] = b'<';
        data[*size - 1] = b'>';
        enc.data(*size).unwrap();
        assert_eq!(enc.remaining(), 0);
        wire.extend_from_slice(&data);
        let n = enc.end_chunk(&mut line).unwrap();
        wire.extend_from_slice(&line[..n]);
        want.push((ext.clone(), data));
    }
    let e = last.as_ref().map(|(k, v)| ChunkExt::new(k, v));
    let n = enc.last_chunk(&mut line, e).unwrap();
    wire.extend_from_slice(&line[..n]);
    enc.finish().unwrap();
    want.push((last.clone(), Vec::new()));
    (wire, want)
}

// ------------------------------------------------------------------------------------
// (a) Render, then parse, is the identity.

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn request_heads_round_trip(
        method in method(),
        (path, query, comps) in target(),
        list in headers(12),
        body_framing in framing(),
        range in proptest::option::of(range()),
    ) {
        let framing = if method.allows_body() { body_framing } else { Framing::None };
        let mut list = list;
        // A range only without a body (README.md, "Wire rules").
        let range = range.filter(|_| framing == Framing::None);
        if let Some(r) = range {
            list.push(("range".into(), r.to_value().as_str().to_owned()));
        }
        let target = Target { path: &path, query: query.as_deref() };
        let mut out = [0u8; 4096];
        let n = render_request(&mut out, method, target, &as_headers(&list), framing).unwrap();

        // Whatever follows the head in the buffer is not read.
        out[n..n + 8].copy_from_slice(b"\x00body\r\n\r");
        let got = parse_req_in_place::<32>(&mut out[..n + 8]);
        let uri = target.to_string();
        let mut want_headers = list.clone();
        want_headers.extend(framing_header(framing));
        let want = ReqView {
            method,
            uri: uri.clone(),
            path: path.clone(),
            query: query.clone(),
            components: comps,
            headers: want_headers,
            framing,
            range,
            len: n,
        };
        prop_assert_eq!(got, Outcome::Complete(want));
    }

    #[test]
    fn response_heads_round_trip(
        request_method in method(),
        status in 100u16..=599,
        reason in "[ !-~]{1,30}",
        list in headers(12),
        framing in framing(),
        content_range in proptest::option::of(content_range()),
    ) {
        let mut list = list;
        if let Some(cr) = content_range {
            list.push(("content-range".into(), cr.to_value().as_str().to_owned()));
        }
        let mut out = [0u8; 4096];
        let n = render_response(&mut out, status, &reason, &as_headers(&list), framing).unwrap();
        out[n..n + 4].copy_from_slice(b"junk");
        let got = parse_resp_in_place::<32>(&mut out[..n + 4], request_method);
        let no_body = request_method == Method::Head
            || status < 200
            || status == 204
            || status == 304;
        let mut want_headers = list.clone();
        want_headers.extend(framing_header(framing));
        let want = RespView {
            status,
            reason,
            headers: want_headers,
            framing: if no_body { Framing::None } else { framing },
            content_range,
            len: n,
        };
        prop_assert_eq!(got, Outcome::Complete(want));
    }
}

proptest! {
    // Chunks up to 16 MiB: few cases.
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn chunk_streams_round_trip(
        specs in vec((chunk_size(), ext()), 0..6),
        last in ext(),
        steps in steps(),
        trailing in vec(any::<u8>(), 0..8),
    ) {
        // At most two 16 MiB-class chunks per stream.
        let big = specs.iter().filter(|(s, _)| *s >= 0x10000).count();
        prop_assume!(big <= 2);
        let (mut wire, want) = encode_chunks(&specs, &last);
        let body_len = wire.len();
        wire.extend_from_slice(&trailing);
        let got = decode_stream(Framing::Chunked, &wire, &mut cycle(&steps));
        let (got, used) = got.unwrap();
        prop_assert_eq!(used, body_len);
        prop_assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            prop_assert_eq!(&g.0, &w.0);
            prop_assert!(g.1 == w.1, "data differs");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn small_chunk_streams_round_trip_one_byte_at_a_time(
        specs in vec((1usize..=40, ext()), 0..8),
        last in ext(),
    ) {
        let (wire, want) = encode_chunks(&specs, &last);
        let got = decode_stream(Framing::Chunked, &wire, &mut || 1).unwrap();
        prop_assert_eq!(got.1, wire.len());
        prop_assert_eq!(got.0, want);
    }

    #[test]
    fn length_bodies_round_trip(
        pieces in vec(vec(any::<u8>(), 0..200), 0..8),
        steps in steps(),
    ) {
        let total: usize = pieces.iter().map(Vec::len).sum();
        let mut enc = BodyEncoder::new(Framing::Length(total as u64));
        let mut wire = Vec::new();
        for p in &pieces {
            enc.data(p.len()).unwrap();
            wire.extend_from_slice(p);
        }
        prop_assert_eq!(enc.finish(), Ok(()));
        prop_assert_eq!(enc.data(1), Err(RenderError::BodyTooLong));
        wire.extend_from_slice(b"next");
        let (got, used) =
            decode_stream(Framing::Length(total as u64), &wire, &mut cycle(&steps)).unwrap();
        prop_assert_eq!(used, total);
        prop_assert_eq!(&got[0].1[..], &wire[..total]);
    }
}

// ------------------------------------------------------------------------------------
// (b) Hostile input never panics and never over-reports.

/// Pieces that reach deep into the parsers when strung together at random.
const TOKENS: &[&[u8]] = &[
    b"GET",
    b"HEAD",
    b"PUT",
    b"POST",
    b"DELETE",
    b"PATCH",
    b" ",
    b"  ",
    b"\t",
    b"/",
    b"/a",
    b"?",
    b"q=1",
    b"..",
    b"%",
    b"HTTP/1.1",
    b"HTTP/1.0",
    b"HTTP/1.1 ",
    b"200",
    b"099",
    b" OK",
    b"\r\n",
    b"\r",
    b"\n",
    b"\r\n\r\n",
    b":",
    b": ",
    b"Host",
    b"content-length",
    b"5",
    b"transfer-encoding",
    b"chunked",
    b"range",
    b"bytes=0-1",
    b"content-range",
    b"bytes 0-4/10",
    b"\x00",
    b"\x7f",
    b"\xc3\xa9",
    b"X_Y",
    b"a",
];

fn soup() -> impl Strategy<Value = Vec<u8>> {
    vec(select(TOKENS.to_vec()), 0..40).prop_map(|t| t.concat())
}

/// A valid head with one byte replaced, inserted or deleted.
fn mutated() -> impl Strategy<Value = Vec<u8>> {
    const SEEDS: &[&[u8]] = &[
        b"PUT /a/b?x=1 HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5\r\n\r\nhello",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;k=v\r\nhello\r\n0\r\n\r\n",
        b"GET / HTTP/1.1\r\nRange: bytes=0-9\r\nX-A: a\tb\r\n\r\n",
        b"HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-4/10\r\nContent-Length: 5\r\n\r\nhello",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
    ];
    (
        select(SEEDS.to_vec()),
        any::<prop::sample::Index>(),
        any::<u8>(),
        0u8..3,
    )
        .prop_map(|(seed, at, byte, op)| {
            let mut v = seed.to_vec();
            let i = at.index(v.len());
            match op {
                0 => v[i] = byte,
                1 => v.insert(i, byte),
                _ => {
                    v.remove(i);
                }
            }
            v
        })
}

fn hostile() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![vec(any::<u8>(), 0..300), soup(), mutated()]
}

/// Parse `bytes` both ways; check the length contract of every complete head.
fn parse_never_overreports(bytes: &[u8], method: Method) -> Result<(), TestCaseError> {
    let mut buf = bytes.to_vec();
    if let Ok(Status::Complete(h)) = parse_request::<8>(&mut buf) {
        prop_assert!(h.len <= bytes.len());
        prop_assert_eq!(Some(h.len), head_end(bytes));
        prop_assert!(h.uri.len() <= MAX_URI_LEN);
    }
    let mut buf = bytes.to_vec();
    if let Ok(Status::Complete(h)) = parse_response::<8>(&mut buf, method) {
        prop_assert!(h.len <= bytes.len());
        prop_assert_eq!(Some(h.len), head_end(bytes));
        prop_assert!((100..=599).contains(&h.status));
    }
    let mut scanned = 0;
    if let Some(end) = find_head_end(bytes, &mut scanned) {
        prop_assert!(end <= bytes.len());
    }
    // Resumed across reads (split in thirds), the parsers end as one-shot parsing does,
    // but that a bad byte in a line not yet ended waits for its line end.
    let (len, third) = (bytes.len(), bytes.len() / 3);
    let fed = feed_req::<8>(bytes, [third, 2 * third, len]);
    let whole = parse_req::<8>(bytes);
    prop_assert!(fed == whole || (fed == Outcome::Partial && !bytes.ends_with(b"\n")));
    let fed = feed_resp::<8>(bytes, method, [third, 2 * third, len]);
    let whole = parse_resp::<8>(bytes, method);
    prop_assert!(fed == whole || (fed == Outcome::Partial && !bytes.ends_with(b"\n")));
    Ok(())
}

/// Drive a decoder over `bytes` in `steps`; `decode_stream` asserts every consumed count
/// and data offer against what it was given.
fn decode_never_overreports(framing: Framing, bytes: &[u8], steps: &[usize]) {
    if let Ok((_, used)) = decode_stream(framing, bytes, &mut cycle(steps)) {
        assert!(used <= bytes.len());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn hostile_heads_never_panic(bytes in hostile(), method in method()) {
        parse_never_overreports(&bytes, method)?;
        // A head that fits in N = 0 slots or none: still no panic.
        let _ = parse_request::<0>(&mut bytes.clone());
        let _ = parse_response::<0>(&mut bytes.clone(), method);
    }

    #[test]
    fn hostile_bodies_never_panic(
        bytes in prop_oneof![
            vec(any::<u8>(), 0..300),
            vec(select(vec![&b"0"[..], b"5", b"a", b"F", b";", b"k", b"=", b"v", b"\r\n", b"\r", b"\n", b"hello", b" ", b"\x00"]), 0..60)
                .prop_map(|t| t.concat()),
        ],
        steps in steps(),
        len in 0u64..400,
    ) {
        decode_never_overreports(Framing::Chunked, &bytes, &steps);
        decode_never_overreports(Framing::Length(len), &bytes, &steps);
        decode_never_overreports(Framing::None, &bytes, &steps);
        // The raw line parser too.
        if let Ok(Some((head, n))) = parse_chunk_line(&bytes) {
            prop_assert!(n <= bytes.len());
            prop_assert!(head.size <= MAX_CHUNK_SIZE);
        }
    }
}
