//! Zero heap allocations in `degu-core` (it has no `alloc` at all), proved with a counting global
//! allocator.
//!
//! `densa_alloc::CountingAllocator` wraps `std::alloc::System` and counts every heap
//! operation per thread (so the test harness and parallel tests never pollute a window);
//! `densa_alloc::measure` returns what one closure did on this thread. The package lints
//! forbid `unsafe_code` in every target, so the `GlobalAlloc` impl comes from that crate
//! instead of this file.
//!
//! Each test runs one side of a full round through the wire layer on stack buffers and
//! asserts exactly zero allocations, reallocations and deallocations. A sanity test
//! proves the counter counts, so a zero cannot be vacuous.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use degu_core::{
    BodyDecoder, BodyEncoder, ChunkExt, Decoded, Framing, Header, Method, Range, Status, Target,
    parse_request, parse_response, render_request, render_response,
};
use densa_alloc::{AllocStats, CountingAllocator, measure};
use std::hint::black_box;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator::system();

#[track_caller]
fn assert_no_heap(what: &str, stats: AllocStats) {
    assert!(
        stats.is_zero(),
        "{what}: {} allocs, {} reallocs, {} deallocs ({} bytes)",
        stats.allocs,
        stats.reallocs,
        stats.deallocs,
        stats.bytes_allocated
    );
}

#[test]
fn the_counter_counts() {
    assert!(
        densa_alloc::is_active(),
        "CountingAllocator is not installed"
    );
    let (len, stats) = measure(|| black_box(vec![1u8; 100]).len());
    assert_eq!(len, 100);
    assert_eq!(stats.allocs, 1);
    assert_eq!(stats.deallocs, 1);
    let ((), stats) = measure(|| {
        let mut v: Vec<u8> = Vec::with_capacity(1);
        v.extend_from_slice(black_box(b"more than one byte"));
        black_box(&v);
    });
    assert_eq!((stats.allocs, stats.reallocs), (1, 1));
    let (_, stats) = measure(|| black_box(1 + 1));
    assert_no_heap("no-op", stats);
}

/// The chunks the round trips send: sizes, data and extensions.
const CHUNKS: [(&[u8], Option<ChunkExt<'static>>); 3] = [
    (b"hello", Some(ChunkExt::new("seq", "1"))),
    (b", ", None),
    (b"world", Some(ChunkExt::new("K-2", "\"v;2\""))),
];
const LAST_EXT: Option<ChunkExt<'static>> = Some(ChunkExt::new("done", "yes"));

/// Write a chunked body with `BodyEncoder` into `out`; returns its length.
fn encode_chunked(out: &mut [u8]) -> usize {
    let mut enc = BodyEncoder::new(Framing::Chunked);
    let mut at = 0;
    for (data, ext) in CHUNKS {
        at += enc.begin_chunk(&mut out[at..], data.len(), ext).unwrap();
        enc.data(data.len()).unwrap();
        out[at..at + data.len()].copy_from_slice(data);
        at += data.len();
        at += enc.end_chunk(&mut out[at..]).unwrap();
    }
    at += enc.last_chunk(&mut out[at..], LAST_EXT).unwrap();
    enc.finish().unwrap();
    at
}

/// Decode a body of `framing` from `input` (all available at once), copying its data into
/// `data` and checking each chunk's extension against `CHUNKS`; returns (data length,
/// bytes consumed).
fn decode_body(framing: Framing, input: &[u8], data: &mut [u8]) -> (usize, usize) {
    let mut dec = BodyDecoder::new(framing);
    let (mut pos, mut filled, mut chunk) = (0, 0, 0);
    loop {
        let (n, d) = dec.decode(&input[pos..]).unwrap();
        pos += n;
        match d {
            Decoded::Chunk(head) => {
                let want = CHUNKS.get(chunk).map_or(LAST_EXT, |c| c.1);
                assert_eq!(head.ext, want);
                chunk += 1;
            }
            Decoded::Data(k) => {
                let k = usize::try_from(k).unwrap().min(input.len() - pos);
                data[filled..filled + k].copy_from_slice(&input[pos..pos + k]);
                filled += k;
                pos += k;
                dec.consume(k);
            }
            Decoded::End => return (filled, pos),
            Decoded::NeedMore => panic!("body incomplete"),
        }
    }
}

#[test]
fn parsing_a_request_head_allocates_nothing() {
    let mut buf = *b"PUT /a/b?x=1 HTTP/1.1\r\nHost: example.com\r\nX-A: a\tb\r\nContent-Length: 5\r\n\r\nhello";
    let (summary, stats) = measure(|| match parse_request::<16>(&mut buf) {
        Ok(Status::Complete(h)) => {
            assert_eq!(h.method, Method::Put);
            assert_eq!(h.headers.get("host"), Some("example.com"));
            assert!(h.target.components().eq(["a", "b"]));
            (h.framing, h.len, h.headers.len())
        }
        other => panic!("{other:?}"),
    });
    assert_no_heap("parse_request", stats);
    assert_eq!(summary, (Framing::Length(5), 73, 3));
}

#[test]
fn rendering_heads_allocates_nothing() {
    let headers = [
        Header::new("host", "example.com"),
        Header::new("range", "bytes=0-9"),
    ];
    let mut out = [0u8; 512];
    let (n, stats) = measure(|| {
        let target = Target::parse("/a/b?x=1").unwrap();
        render_request(&mut out, Method::Get, target, &headers, Framing::None).unwrap()
    });
    assert_no_heap("render_request", stats);
    assert_eq!(
        &out[..n],
        b"GET /a/b?x=1 HTTP/1.1\r\nhost: example.com\r\nrange: bytes=0-9\r\n\r\n"
    );

    let headers = [Header::new("content-range", "bytes 0-4/10")];
    let (n, stats) = measure(|| {
        render_response(
            &mut out,
            206,
            "Partial Content",
            &headers,
            Framing::Length(5),
        )
        .unwrap()
    });
    assert_no_heap("render_response", stats);
    assert_eq!(
        &out[..n],
        b"HTTP/1.1 206 Partial Content\r\ncontent-range: bytes 0-4/10\r\ncontent-length: 5\r\n\r\n"
    );
}

#[test]
fn chunked_body_with_extensions_allocates_nothing() {
    let mut wire = [0u8; 256];
    let mut data = [0u8; 64];
    let ((len, filled, used), stats) = measure(|| {
        let len = encode_chunked(&mut wire);
        let (filled, used) = decode_body(Framing::Chunked, &wire[..len], &mut data);
        (len, filled, used)
    });
    assert_no_heap("chunked encode + decode", stats);
    assert_eq!(used, len);
    assert_eq!(&data[..filled], b"hello, world");
}

/// A whole exchange on stack buffers: the client renders a chunked PUT, the server parses
/// it and decodes the body, renders a length-framed response, and the client parses that
/// and decodes its body. Also a ranged GET and its 206.
#[test]
fn a_full_request_and_response_round_allocates_nothing() {
    let mut wire = [0u8; 1024];
    let mut data = [0u8; 64];
    let (result, stats) = measure(|| {
        // Client: request head + chunked body.
        let target = Target::parse("/files/doc?rev=2").unwrap();
        let headers = [
            Header::new("host", "device.local"),
            Header::new("x-id", "7"),
        ];
        let mut at =
            render_request(&mut wire, Method::Put, target, &headers, Framing::Chunked).unwrap();
        at += encode_chunked(&mut wire[at..]);
        let request_len = at;

        // Server: parse, decode.
        let (framing, head_len) = match parse_request::<8>(&mut wire[..request_len]) {
            Ok(Status::Complete(h)) => {
                assert_eq!(h.method, Method::Put);
                assert_eq!(h.target.query, Some("rev=2"));
                assert_eq!(h.headers.get("X-Id"), Some("7"));
                (h.framing, h.len)
            }
            other => panic!("{other:?}"),
        };
        assert_eq!(framing, Framing::Chunked);
        let (filled, used) = decode_body(framing, &wire[head_len..request_len], &mut data);
        assert_eq!(head_len + used, request_len);
        assert_eq!(&data[..filled], b"hello, world");

        // Server: response head + length body.
        let body = b"stored";
        let headers = [Header::new("content-type", "text/plain")];
        let mut at =
            render_response(&mut wire, 201, "Created", &headers, Framing::Length(6)).unwrap();
        let mut enc = BodyEncoder::new(Framing::Length(6));
        enc.data(body.len()).unwrap();
        enc.finish().unwrap();
        wire[at..at + body.len()].copy_from_slice(body);
        at += body.len();
        let response_len = at;

        // Client: parse, decode.
        let (framing, head_len) = match parse_response::<8>(&mut wire[..response_len], Method::Put)
        {
            Ok(Status::Complete(h)) => {
                assert_eq!((h.status, h.reason), (201, "Created"));
                (h.framing, h.len)
            }
            other => panic!("{other:?}"),
        };
        let (filled, used) = decode_body(framing, &wire[head_len..response_len], &mut data);
        assert_eq!(&data[..filled], b"stored");
        assert_eq!(head_len + used, response_len);

        // A ranged GET and its partial response.
        let range = Range::new(2, 5).unwrap();
        let value = range.to_value();
        let headers = [Header::new("range", value.as_str())];
        let n = render_request(
            &mut wire,
            Method::Get,
            Target::parse("/x").unwrap(),
            &headers,
            Framing::None,
        )
        .unwrap();
        let got = match parse_request::<4>(&mut wire[..n]) {
            Ok(Status::Complete(h)) => h.range,
            other => panic!("{other:?}"),
        };
        assert_eq!(got, Some(range));
        let cr = range.content_range(7).unwrap().to_value();
        let headers = [Header::new("content-range", cr.as_str())];
        let n = render_response(
            &mut wire,
            206,
            "Partial Content",
            &headers,
            Framing::Length(3),
        )
        .unwrap();
        let got = match parse_response::<4>(&mut wire[..n], Method::Get) {
            Ok(Status::Complete(h)) => h.content_range.map(|c| (c.start(), c.stop(), c.total())),
            other => panic!("{other:?}"),
        };
        assert_eq!(got, Some((2, 5, 7)));
        (request_len, response_len)
    });
    assert_no_heap("full round", stats);
    assert!(result.0 > 0 && result.1 > 0);
}
