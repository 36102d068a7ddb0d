//! The server and client engines against each other over an in-memory duplex stream, in
//! one executor: the body-kind matrix, keep-alive, pipelining, limits, every error path
//! of the wire rules (README.md), 10 MiB streamed through 1 KiB buffers, and unread bodies.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use degu_core::app::{App, Request, Session};
use degu_core::engine::{
    Connection, Error, KeepAlive, Pump, Read, Responder, Response, Sent, ServerEnd, Write,
};
use degu_core::logger::{Clock, RecordSink, RequestLogger, RequestRecord};
use degu_core::testing::{Duplex, End, PipeReader, PipeWriter};
use degu_core::{BodyError, ChunkExt, Framing, Header, Method, ParseError, RenderError};
use degu_examples::demo::DemoApp;
use degu_tests::run::{raw_exchange, split_responses, with_default_server, with_server};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;

const RESPONSE: &[u8] = b"response body";

/// The app the engine tests talk to.
#[derive(Default)]
struct TestApp;

/// Describe a request body as text (a header value the client can check).
async fn summarize<R: Read>(request: &mut Request<'_, R>) -> Result<String, Error> {
    let mut buf = [0u8; 256];
    Ok(match request.body.framing() {
        Framing::None => "none".into(),
        Framing::Length(_) => {
            let n = request.body.read_to_end(&mut buf).await?;
            format!("len={n}:{}", String::from_utf8_lossy(&buf[..n]))
        }
        Framing::Chunked => {
            let mut s = String::from("chunked:");
            let mut first = true;
            while let Some(p) = request.body.read_chunk(&mut buf).await? {
                if !first {
                    s.push('|');
                }
                first = false;
                match p.ext {
                    Some(e) => write!(s, "{}={}/", e.key, e.value).unwrap(),
                    None => s.push_str("-/"),
                }
                s.push_str(&String::from_utf8_lossy(&buf[..p.len]));
            }
            s
        }
    })
}

fn sha_hex(h: Sha256) -> String {
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Deterministic test data: byte `i` of every generated stream.
fn data_byte(i: u64) -> u8 {
    (i.wrapping_mul(2_654_435_761) >> 13) as u8
}

impl App for TestApp {
    type State = ();

    async fn handle<'r, R: Read, W: Write>(
        &self,
        _session: &mut Session<'_, ()>,
        mut request: Request<'_, R>,
        responder: Responder<'r, W>,
    ) -> Result<Sent<'r>, Error> {
        let first = request.shift_path();
        let second = request.shift_path();
        match (first, second) {
            (Some("m"), Some(kind)) => {
                let summary = summarize(&mut request).await?;
                let h = [Header::new("x-request", &summary)];
                match kind {
                    "none" => responder.send(200, "OK", &h, b"").await,
                    "bytes" => responder.send(200, "OK", &h, RESPONSE).await,
                    "stream" => {
                        let mut w = responder
                            .stream(200, "OK", &h, RESPONSE.len() as u64)
                            .await?;
                        w.write(&RESPONSE[..4]).await?;
                        w.write(&RESPONSE[4..]).await?;
                        w.finish(None).await
                    }
                    "chunked" | "chunked-ext" => {
                        let ext = kind == "chunked-ext";
                        let mut w = responder.chunked(200, "OK", &h).await?;
                        w.write_chunk(ext.then(|| ChunkExt::new("n", "1")), b"resp")
                            .await?;
                        w.write_chunk(None, b"onse ").await?;
                        w.write_chunk(ext.then(|| ChunkExt::new("n", "3")), b"body")
                            .await?;
                        w.finish(ext.then(|| ChunkExt::new("end", "yes"))).await
                    }
                    _ => responder.send(404, "Not Found", &[], b"").await,
                }
            }
            (Some("status"), Some(code)) => {
                let code: u16 = code.parse().unwrap();
                responder.send(code, "Status", &[], b"").await
            }
            (Some("keep"), Some(code)) => {
                let code: u16 = code.parse().unwrap();
                responder.keep_alive().send(code, "Kept", &[], b"").await
            }
            (Some("broken"), None) => {
                let mut w = responder.chunked(200, "OK", &[]).await?;
                w.write_chunk(None, b"partial").await?;
                Err(Error::App)
            }
            (Some("noread"), None) => responder.send(200, "OK", &[], b"ignored").await,
            (Some("fail"), None) => Err(Error::App),
            (Some("count"), None) => {
                let n = request.query.unwrap_or("0");
                responder.send(200, "OK", &[], n.as_bytes()).await
            }
            (Some("upload"), None) => {
                let mut h = Sha256::new();
                let mut total = 0u64;
                let mut buf = [0u8; 700];
                if request.body.is_chunked() {
                    while let Some(p) = request.body.read_chunk(&mut buf).await? {
                        h.update(&buf[..p.len]);
                        total += p.len as u64;
                    }
                } else {
                    loop {
                        match request.body.read(&mut buf).await? {
                            0 => break,
                            n => {
                                h.update(&buf[..n]);
                                total += n as u64;
                            }
                        }
                    }
                }
                let body = format!("{total} {}", sha_hex(h));
                responder.send(200, "OK", &[], body.as_bytes()).await
            }
            (Some("download"), None) => {
                let n: u64 = request.query.unwrap().parse().unwrap();
                let mut w = responder.stream(200, "OK", &[], n).await?;
                let mut buf = [0u8; 997];
                let mut i = 0;
                while i < n {
                    let k = (n - i).min(buf.len() as u64) as usize;
                    for (j, b) in buf[..k].iter_mut().enumerate() {
                        *b = data_byte(i + j as u64);
                    }
                    w.write(&buf[..k]).await?;
                    i += k as u64;
                }
                w.finish(None).await
            }
            (Some("download-chunked"), None) => {
                let n: u64 = request.query.unwrap().parse().unwrap();
                let mut w = responder.chunked(200, "OK", &[]).await?;
                let mut buf = vec![0u8; 5000];
                let mut i = 0;
                let mut c = 0u64;
                while i < n {
                    // Chunk sizes vary from 1 to 5000 bytes, some larger than the
                    // client's buffer.
                    let size = ((c * 7919) % 5000 + 1).min(n - i) as usize;
                    for (j, b) in buf[..size].iter_mut().enumerate() {
                        *b = data_byte(i + j as u64);
                    }
                    let v = (c % 97).to_string();
                    w.write_chunk(Some(ChunkExt::new("c", &v)), &buf[..size])
                        .await?;
                    i += size as u64;
                    c += 1;
                }
                w.finish(None).await
            }
            _ => responder.send(404, "Not Found", &[], b"").await,
        }
    }
}

type Conn<'a> = Connection<PipeReader<'a>, PipeWriter<'a>, Vec<u8>>;

fn conn(end: End<'_>) -> Conn<'_> {
    Connection::new(end.rx, end.tx, vec![0; 4096], vec![0; 2048])
}

#[derive(Clone, Copy, Debug)]
enum ReqBody {
    None,
    Bytes,
    Stream,
    Chunked,
    ChunkedExt,
}

impl ReqBody {
    const ALL: [ReqBody; 5] = [
        Self::None,
        Self::Bytes,
        Self::Stream,
        Self::Chunked,
        Self::ChunkedExt,
    ];

    fn expected_summary(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Bytes => "len=5:hello",
            Self::Stream => "len=12:hello, world",
            Self::Chunked => "chunked:-/one|-/two|-/",
            Self::ChunkedExt => "chunked:a=1/one|-/two|end=x/",
        }
    }
}

const RESP_KINDS: [&str; 5] = ["none", "bytes", "stream", "chunked", "chunked-ext"];

/// What the matrix checks of one response: status, the `x-request` summary, the
/// framing header, and the body as (ext, data) pieces.
type MatrixResult = (u16, String, Option<String>, Vec<(Option<String>, Vec<u8>)>);

/// One request of the matrix; the response body as (ext, data) pieces.
async fn matrix_request(
    c: &mut Conn<'_>,
    method: Method,
    body: ReqBody,
    kind: &str,
) -> Result<MatrixResult, Error> {
    let uri = format!("/m/{kind}");
    match body {
        ReqBody::None => matrix_response(c.request(method, &uri, &[], None).await?).await,
        ReqBody::Bytes => {
            matrix_response(c.request(method, &uri, &[], Some(b"hello")).await?).await
        }
        ReqBody::Stream => {
            let (mut w, response) = c.send(method, &uri, &[], Framing::Length(12))?;
            w.write(b"hel").await?;
            w.write(b"lo, ").await?;
            w.write(b"world").await?;
            w.finish(None).await?;
            matrix_response(response.receive().await?).await
        }
        ReqBody::Chunked | ReqBody::ChunkedExt => {
            let ext = matches!(body, ReqBody::ChunkedExt);
            let (mut w, response) = c.send(method, &uri, &[], Framing::Chunked)?;
            w.write_chunk(ext.then(|| ChunkExt::new("a", "1")), b"one")
                .await?;
            w.write_chunk(None, b"two").await?;
            w.finish(ext.then(|| ChunkExt::new("end", "x"))).await?;
            matrix_response(response.receive().await?).await
        }
    }
}

/// Take a matrix response apart.
async fn matrix_response<R: Read, P: Pump>(
    mut resp: Response<'_, R, P>,
) -> Result<MatrixResult, Error> {
    let summary = resp.headers.get("x-request").unwrap_or("").to_string();
    let framing_header = resp
        .headers
        .get("content-length")
        .map(|v| format!("content-length: {v}"))
        .or_else(|| {
            resp.headers
                .get("transfer-encoding")
                .map(|v| format!("transfer-encoding: {v}"))
        });
    let mut pieces = Vec::new();
    let mut buf = [0u8; 64];
    if resp.body.is_chunked() {
        while let Some(p) = resp.body.read_chunk(&mut buf).await? {
            pieces.push((
                p.ext.map(|e| format!("{}={}", e.key, e.value)),
                buf[..p.len].to_vec(),
            ));
        }
    } else {
        let n = resp.body.read_to_end(&mut buf).await?;
        pieces.push((None, buf[..n].to_vec()));
    }
    Ok((resp.status, summary, framing_header, pieces))
}

#[test]
fn every_method_with_every_body_kind_both_ways() {
    let ((), end) = with_default_server(&TestApp, KeepAlive::new(), async move |end| {
        let mut c = conn(end);
        let mut combos = 0;
        for method in Method::ALL {
            for body in ReqBody::ALL {
                for kind in RESP_KINDS {
                    let r = matrix_request(&mut c, method, body, kind).await;
                    if !method.allows_body() && !matches!(body, ReqBody::None) {
                        assert_eq!(
                            r.unwrap_err(),
                            Error::Render(RenderError::BodyNotAllowed),
                            "{method} with a body is refused before anything is sent"
                        );
                        assert!(
                            !c.is_closed(),
                            "a refused request leaves the connection usable"
                        );
                        continue;
                    }
                    let (status, summary, framing, pieces) = r.unwrap();
                    let ctx = format!("{method} {body:?} -> {kind}");
                    assert_eq!(status, 200, "{ctx}");
                    assert_eq!(summary, body.expected_summary(), "{ctx}");
                    let chunked = kind.starts_with("chunked");
                    let want_framing = match kind {
                        "none" => "content-length: 0".to_string(),
                        k if k.starts_with("chunked") => "transfer-encoding: chunked".into(),
                        _ => format!("content-length: {}", RESPONSE.len()),
                    };
                    assert_eq!(framing.as_deref(), Some(want_framing.as_str()), "{ctx}");
                    if method == Method::Head {
                        assert_eq!(pieces, vec![(None, vec![])], "HEAD never has a body: {ctx}");
                    } else if chunked {
                        let ext = kind == "chunked-ext";
                        let e = |s: &str| ext.then(|| s.to_string());
                        assert_eq!(
                            pieces,
                            vec![
                                (e("n=1"), b"resp".to_vec()),
                                (None, b"onse ".to_vec()),
                                (e("n=3"), b"body".to_vec()),
                                (e("end=yes"), vec![]),
                            ],
                            "{ctx}"
                        );
                    } else if kind == "none" {
                        assert_eq!(pieces, vec![(None, vec![])], "{ctx}");
                    } else {
                        assert_eq!(pieces, vec![(None, RESPONSE.to_vec())], "{ctx}");
                    }
                    combos += 1;
                }
            }
        }
        // 3 bodiless methods x 1 body kind + 2 body methods x 5 kinds, x 5 responses.
        assert_eq!(combos, (3 + 2 * 5) * 5);
    });
    assert_eq!(end.unwrap(), ServerEnd::PeerClosed);
}

#[test]
fn one_hundred_sequential_requests_share_one_connection() {
    let ((), end) = with_default_server(&TestApp, KeepAlive::new(), async move |end| {
        let mut c = conn(end);
        for i in 0..100 {
            let mut r = c.get(&format!("/count?{i}"), &[]).await.unwrap();
            let mut buf = [0u8; 16];
            let n = r.body.read_to_end(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], i.to_string().as_bytes());
        }
    });
    assert_eq!(end.unwrap(), ServerEnd::PeerClosed);
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let input = b"GET /count?1 HTTP/1.1\r\n\r\n\
        PUT /m/bytes HTTP/1.1\r\ncontent-length: 3\r\n\r\nabc\
        POST /m/none HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n1;k=v\r\nx\r\n0\r\n\r\n\
        GET /count?4 HTTP/1.1\r\n\r\n";
    let (out, end) = with_default_server(&TestApp, KeepAlive::new(), async |e| {
        raw_exchange(e, input).await
    });
    let r = split_responses(&out, &[Method::Get]);
    assert_eq!(r.len(), 4);
    assert_eq!(r[0].body, b"1");
    assert_eq!(r[1].header("x-request"), Some("len=3:abc"));
    assert_eq!(r[1].body, RESPONSE);
    assert_eq!(r[2].header("x-request"), Some("chunked:k=v/x|-/"));
    assert_eq!(r[3].body, b"4");
    assert_eq!(end.unwrap(), ServerEnd::PeerClosed);
}

#[test]
fn pipelined_bytes_split_into_one_byte_reads_give_the_same_answers() {
    let input = b"GET /count?1 HTTP/1.1\r\n\r\nPUT /m/chunked-ext HTTP/1.1\r\ncontent-length: 3\r\n\r\nabcGET /count?3 HTTP/1.1\r\n\r\n";
    let (whole, _) = with_default_server(&TestApp, KeepAlive::new(), async |e| {
        raw_exchange(e, input).await
    });
    let (bytewise, end) = with_default_server(&TestApp, KeepAlive::new(), async |mut e| {
        e.rx.max_read = 1;
        raw_exchange(e, input).await
    });
    assert_eq!(whole, bytewise);
    assert_eq!(split_responses(&whole, &[Method::Get]).len(), 3);
    assert_eq!(end.unwrap(), ServerEnd::PeerClosed);
}

#[test]
fn max_requests_closes_after_that_many() {
    let input = b"GET /count?1 HTTP/1.1\r\n\r\n".repeat(5);
    let config = KeepAlive::new().max_requests(3);
    let (out, end) = with_default_server(&TestApp, config, async |e| raw_exchange(e, &input).await);
    assert_eq!(split_responses(&out, &[Method::Get]).len(), 3);
    assert_eq!(end.unwrap(), ServerEnd::MaxRequests);
}

#[test]
fn connection_close_is_honoured() {
    let input = b"GET /count?1 HTTP/1.1\r\nconnection: keep-alive, Close\r\n\r\nGET /count?2 HTTP/1.1\r\n\r\n";
    let (out, end) = with_default_server(&TestApp, KeepAlive::new(), async |e| {
        raw_exchange(e, input).await
    });
    assert_eq!(split_responses(&out, &[Method::Get]).len(), 1);
    assert_eq!(end.unwrap(), ServerEnd::CloseRequested);
}

#[test]
fn app_statuses_close_per_design_except_404_409_412() {
    for (code, closes) in [
        (200, false),
        (204, false),
        (301, false),
        (400, true),
        (404, false),
        (405, true),
        (409, false),
        (410, true),
        (412, false),
        (416, true),
        (500, true),
        (503, true),
    ] {
        let input = format!("GET /status/{code} HTTP/1.1\r\n\r\nGET /count?2 HTTP/1.1\r\n\r\n");
        let (out, end) = with_default_server(&TestApp, KeepAlive::new(), async |e| {
            raw_exchange(e, input.as_bytes()).await
        });
        let r = split_responses(&out, &[Method::Get]);
        assert_eq!(r[0].status, code);
        if code == 204 {
            assert_eq!(
                r[0].header("content-length"),
                None,
                "204 has no framing header"
            );
        }
        if closes {
            assert_eq!(
                r.len(),
                1,
                "{code} closes; the pipelined request is dropped"
            );
            assert_eq!(end.unwrap(), ServerEnd::StatusClose(code));
        } else {
            assert_eq!(r.len(), 2, "{code} keeps the connection");
            assert_eq!(end.unwrap(), ServerEnd::PeerClosed);
        }
    }
}

#[test]
fn an_app_can_keep_the_connection_after_an_error_status() {
    let input = b"GET /keep/502 HTTP/1.1\r\n\r\nGET /count?2 HTTP/1.1\r\n\r\n";
    let (out, end) = with_default_server(&TestApp, KeepAlive::new(), async |e| {
        raw_exchange(e, input).await
    });
    let r = split_responses(&out, &[Method::Get]);
    assert_eq!((r.len(), r[0].status, r[1].status), (2, 502, 200));
    assert_eq!(end.unwrap(), ServerEnd::PeerClosed);
}

/// Every error of the wire rules: the status, `connection: close`, then EOF; a pipelined
/// request after it is never answered.
#[test]
fn bad_requests_get_their_status_then_a_close() {
    let long_uri = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(5000));
    let many_headers: String = (0..40).map(|i| format!("x-h{i}: v\r\n")).collect();
    let many_headers = format!("GET / HTTP/1.1\r\n{many_headers}\r\n");
    let huge_head = format!("GET / HTTP/1.1\r\nx-big: {}\r\n\r\n", "b".repeat(5000));
    let cases: Vec<(&str, Vec<u8>, u16, Error)> = vec![
        ("bad request line", b"GET\t/ HTTP/1.1\r\n\r\n".to_vec(), 400, Error::Parse(ParseError::BadRequestLine)),
        ("http/1.0", b"GET / HTTP/1.0\r\n\r\n".to_vec(), 505, Error::Parse(ParseError::UnsupportedVersion)),
        ("patch", b"PATCH / HTTP/1.1\r\n\r\n".to_vec(), 501, Error::Parse(ParseError::UnsupportedMethod)),
        ("http/2 preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec(), 501, Error::Parse(ParseError::UnsupportedMethod)),
        ("uri too long", long_uri.into_bytes(), 414, Error::Parse(ParseError::UriTooLong)),
        ("too many headers", many_headers.into_bytes(), 431, Error::Parse(ParseError::TooManyHeaders)),
        ("head too large", huge_head.into_bytes(), 431, Error::Parse(ParseError::HeadTooLarge)),
        ("cl too large", b"PUT / HTTP/1.1\r\ncontent-length: 99999999999999999\r\n\r\n".to_vec(), 413, Error::Parse(ParseError::ContentLengthTooLarge)),
        ("get with body", b"GET / HTTP/1.1\r\ncontent-length: 1\r\n\r\nx".to_vec(), 400, Error::Parse(ParseError::BodyNotAllowed)),
        ("cl and te", b"PUT / HTTP/1.1\r\ncontent-length: 1\r\ntransfer-encoding: chunked\r\n\r\n".to_vec(), 400, Error::Parse(ParseError::LengthAndChunked)),
        ("duplicate", b"GET / HTTP/1.1\r\nhost: a\r\nHost: a\r\n\r\n".to_vec(), 400, Error::Parse(ParseError::DuplicateHeader)),
        ("obs-fold", b"GET / HTTP/1.1\r\nx-a: b\r\n c\r\n\r\n".to_vec(), 400, Error::Parse(ParseError::BadHeaderLine)),
        ("bad chunk size", b"PUT /m/none HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n".to_vec(), 400, Error::Body(BodyError::BadChunkSize)),
        ("chunk too large", b"PUT /m/none HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n1000001\r\n".to_vec(), 413, Error::Body(BodyError::ChunkTooLarge)),
        ("trailer", b"PUT /m/none HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n1\r\nx\r\n0\r\nx-t: 1\r\n\r\n".to_vec(), 400, Error::Body(BodyError::TrailersNotSupported)),
        ("app error", b"GET /fail HTTP/1.1\r\n\r\n".to_vec(), 500, Error::App),
    ];
    for (name, mut input, status, error) in cases {
        input.extend_from_slice(b"GET /count?9 HTTP/1.1\r\n\r\n");
        let (out, end) = with_default_server(&TestApp, KeepAlive::new(), async |e| {
            raw_exchange(e, &input).await
        });
        let r = split_responses(&out, &[Method::Get]);
        assert_eq!(
            r.len(),
            1,
            "{name}: exactly one response, then close: {:?}",
            String::from_utf8_lossy(&out)
        );
        assert_eq!(r[0].status, status, "{name}");
        assert_eq!(r[0].header("connection"), Some("close"), "{name}");
        assert_eq!(end.unwrap_err(), error, "{name}");
    }
}

#[test]
fn a_truncated_body_closes_without_a_response_once_one_was_started() {
    // The body ends early: the handler fails before responding, so the error status
    // is sent; the connection is closed.
    let input = b"PUT /m/bytes HTTP/1.1\r\ncontent-length: 10\r\n\r\nabc";
    let (out, end) = with_default_server(&TestApp, KeepAlive::new(), async |e| {
        raw_exchange(e, input).await
    });
    let r = split_responses(&out, &[Method::Get]);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].status, 400);
    assert_eq!(end.unwrap_err(), Error::Body(BodyError::UnexpectedEof));
}

#[test]
fn an_unread_body_is_drained_when_small_and_closes_when_large() {
    let small =
        b"PUT /noread HTTP/1.1\r\ncontent-length: 5\r\n\r\nhelloGET /count?2 HTTP/1.1\r\n\r\n";
    let (out, end) = with_default_server(&TestApp, KeepAlive::new(), async |e| {
        raw_exchange(e, small).await
    });
    let r = split_responses(&out, &[Method::Get]);
    assert_eq!(r.len(), 2, "drained, never parsed as a request");
    assert_eq!(r[1].body, b"2");
    assert_eq!(end.unwrap(), ServerEnd::PeerClosed);

    let mut large = b"PUT /noread HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
    // The chunk data looks like a request: it must never be answered.
    let fake = b"GET /count?666 HTTP/1.1\r\n\r\n".repeat(20);
    for _ in 0..4 {
        large.extend_from_slice(format!("{:x}\r\n", fake.len()).as_bytes());
        large.extend_from_slice(&fake);
        large.extend_from_slice(b"\r\n");
    }
    large.extend_from_slice(b"0\r\n\r\n");
    let config = KeepAlive::new().drain_limit(1000);
    let (out, end) = with_default_server(&TestApp, config, async |e| raw_exchange(e, &large).await);
    let r = split_responses(&out, &[Method::Get]);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].body, b"ignored");
    assert_eq!(end.unwrap(), ServerEnd::BodyNotRead);
}

#[test]
fn the_client_refuses_a_new_request_before_the_body_is_read() {
    let ((), _) = with_default_server(&TestApp, KeepAlive::new(), async move |end| {
        let mut c = conn(end);
        let status = c.get("/m/bytes", &[]).await.unwrap().status;
        assert_eq!(status, 200, "the body is left unread");
        assert_eq!(
            c.get("/count?1", &[]).await.err(),
            Some(Error::BodyNotConsumed)
        );
        assert!(c.is_closed());
        assert_eq!(c.get("/count?1", &[]).await.err(), Some(Error::Closed));
    });
}

#[test]
fn a_body_read_error_closes_the_client_connection() {
    let ((), _) = with_default_server(&TestApp, KeepAlive::new(), async move |end| {
        let mut c = conn(end);
        let mut r = c.get("/broken", &[]).await.unwrap();
        let mut buf = [0u8; 64];
        let p = r.body.read_chunk(&mut buf).await.unwrap().unwrap();
        assert_eq!(&buf[..p.len], b"partial");
        assert_eq!(
            r.body.read_chunk(&mut buf).await.err(),
            Some(Error::Body(BodyError::UnexpectedEof))
        );
        assert!(c.is_closed());
        assert_eq!(c.get("/count?1", &[]).await.err(), Some(Error::Closed));
    });
}

#[test]
fn ten_mib_streams_through_one_kib_buffers_both_ways() {
    const N: u64 = 10 * 1024 * 1024;
    let expected = {
        let mut h = Sha256::new();
        let data: Vec<u8> = (0..N).map(data_byte).collect();
        h.update(&data);
        sha_hex(h)
    };
    let want = format!("{N} {expected}");
    let ((), end) =
        with_server::<_, _, 1024, 1024>(&TestApp, KeepAlive::new(), 8192, async move |end| {
            {
                let mut c = Connection::new(end.rx, end.tx, vec![0u8; 1024], vec![0u8; 1024]);
                let mut piece = [0u8; 1000];
                // Up, length-framed.
                let (mut w, response) = c
                    .send(Method::Put, "/upload", &[], Framing::Length(N))
                    .unwrap();
                let mut i = 0;
                while i < N {
                    let k = (N - i).min(piece.len() as u64) as usize;
                    for (j, b) in piece[..k].iter_mut().enumerate() {
                        *b = data_byte(i + j as u64);
                    }
                    w.write(&piece[..k]).await.unwrap();
                    i += k as u64;
                }
                w.finish(None).await.unwrap();
                let mut r = response.receive().await.unwrap();
                let mut buf = [0u8; 128];
                let n = r.body.read_to_end(&mut buf).await.unwrap();
                assert_eq!(std::str::from_utf8(&buf[..n]).unwrap(), want);

                // Up, chunked, chunks of varying size.
                let (mut w, response) = c
                    .send(Method::Post, "/upload", &[], Framing::Chunked)
                    .unwrap();
                let mut i = 0;
                let mut c_no = 0u64;
                while i < N {
                    let size = ((c_no * 331) % 1000 + 1).min(N - i) as usize;
                    for (j, b) in piece[..size].iter_mut().enumerate() {
                        *b = data_byte(i + j as u64);
                    }
                    w.write_chunk(None, &piece[..size]).await.unwrap();
                    i += size as u64;
                    c_no += 1;
                }
                w.finish(None).await.unwrap();
                let mut r = response.receive().await.unwrap();
                let n = r.body.read_to_end(&mut buf).await.unwrap();
                assert_eq!(std::str::from_utf8(&buf[..n]).unwrap(), want);

                // Down, length-framed and chunked.
                for uri in [format!("/download?{N}"), format!("/download-chunked?{N}")] {
                    let mut r = c.get(&uri, &[]).await.unwrap();
                    let mut h = Sha256::new();
                    let mut total = 0;
                    loop {
                        match r.body.read(&mut piece).await.unwrap() {
                            0 => break,
                            n => {
                                h.update(&piece[..n]);
                                total += n as u64;
                            }
                        }
                    }
                    assert_eq!(total, N, "{uri}");
                    assert_eq!(sha_hex(h), expected, "{uri}");
                }
            }
        });
    assert_eq!(end.unwrap(), ServerEnd::PeerClosed);
}

#[test]
fn chunks_larger_than_the_buffer_arrive_in_pieces_with_the_extension_once() {
    let ((), _) = with_default_server(&TestApp, KeepAlive::new(), async move |end| {
        let mut c = conn(end);
        let mut r = c.get("/download-chunked?20000", &[]).await.unwrap();
        let mut buf = [0u8; 1024];
        let mut chunks = 0;
        let mut total = 0;
        let mut in_chunk = 0u32;
        while let Some(p) = r.body.read_chunk(&mut buf).await.unwrap() {
            if p.is_end() {
                break;
            }
            if p.first {
                assert_eq!(in_chunk, 0);
                let ext = p.ext.expect("every data chunk has c=<n>");
                assert_eq!(ext.key, "c");
                assert_eq!(ext.value, (chunks % 97).to_string());
                chunks += 1;
            } else {
                assert_eq!(p.ext, None, "the extension comes with the first piece only");
            }
            in_chunk += p.len as u32;
            assert!(p.len <= buf.len());
            if p.last {
                assert_eq!(in_chunk, p.chunk_size);
                in_chunk = 0;
            }
            total += p.len;
        }
        assert_eq!(total, 20000);
        assert!(chunks > 1);
        assert_eq!(r.body.read_chunk(&mut buf).await.unwrap(), None);
    });
}

#[test]
fn the_demo_app_echoes_in_the_same_framing() {
    let ((), _) = with_default_server(&DemoApp, KeepAlive::new(), async move |end| {
        let mut c = conn(end);
        let mut r = c.put("/echo", &[], b"ping").await.unwrap();
        assert_eq!(r.headers.get("content-length"), Some("4"));
        let mut buf = [0u8; 2000];
        let n = r.body.read_to_end(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"ping");

        let big = vec![7u8; 1500];
        let (mut w, response) = c
            .send(Method::Post, "/echo", &[], Framing::Chunked)
            .unwrap();
        let sending = async {
            w.write_chunk(Some(ChunkExt::new("a", "1")), b"x").await?;
            w.write_chunk(None, &big).await?;
            w.write_chunk(Some(ChunkExt::new("K-2", "v.2_~:+")), b"yz")
                .await?;
            w.finish(Some(ChunkExt::new("done", "1"))).await
        };
        // The echo streams back as it reads: send and receive at once.
        let (sent, r) = futures::join!(sending, response.receive());
        sent.unwrap();
        let mut r = r.unwrap();
        let mut got = Vec::new();
        while let Some(p) = r.body.read_chunk(&mut buf).await.unwrap() {
            got.push((
                p.ext.map(|e| format!("{}={}", e.key, e.value)),
                p.chunk_size,
                p.len,
            ));
        }
        assert_eq!(
            got,
            vec![
                (Some("a=1".into()), 1, 1),
                (None, 1500, 1500),
                (Some("K-2=v.2_~:+".into()), 2, 2),
                (Some("done=1".into()), 0, 0),
            ],
            "same boundaries and extensions, even for a chunk larger than the app's piece"
        );

        let mut r = c.get("/chunks?n=3", &[]).await.unwrap();
        let mut got = Vec::new();
        while let Some(p) = r.body.read_chunk(&mut buf).await.unwrap() {
            got.push((
                p.ext.map(|e| format!("{}={}", e.key, e.value)),
                String::from_utf8_lossy(&buf[..p.len]).to_string(),
            ));
        }
        assert_eq!(got[0], (Some("i=0".into()), "chunk 0".into()));
        assert_eq!(got[2], (Some("i=2".into()), "chunk 2".into()));
        assert_eq!(got[3], (None, String::new()));

        let mut r = c.head("/hello", &[]).await.unwrap();
        assert_eq!(r.headers.get("content-length"), Some("12"));
        assert_eq!(r.body.read(&mut buf).await.unwrap(), 0);
        let r = c.get("/nope", &[]).await.unwrap();
        assert_eq!(r.status, 404);
    });
}

#[test]
fn a_head_and_small_body_go_out_in_one_write() {
    let (writes, _) = with_default_server(&TestApp, KeepAlive::new(), async move |end| {
        let before = end.tx.writes();
        let mut c = conn(end);
        let mut r = c.post("/m/bytes", &[], b"hello").await.unwrap();
        let mut buf = [0u8; 64];
        r.body.read_to_end(&mut buf).await.unwrap();
        c.into_inner().1.writes() - before
    });
    assert_eq!(writes, 1, "request head and body in one write");

    let input = b"GET /m/bytes HTTP/1.1\r\n\r\n";
    let (_, _) = with_default_server(&TestApp, KeepAlive::new(), async |e| {
        raw_exchange(e, input).await
    });
}

#[test]
fn on_connect_can_refuse_before_any_request() {
    struct Refuse;
    impl App for Refuse {
        type State = u32;
        fn on_connect(&self, session: &mut Session<'_, u32>) -> bool {
            session.state = 7;
            false
        }
        async fn handle<'r, R: Read, W: Write>(
            &self,
            _: &mut Session<'_, u32>,
            _: Request<'_, R>,
            responder: Responder<'r, W>,
        ) -> Result<Sent<'r>, Error> {
            responder.send(200, "OK", &[], b"").await
        }
    }
    let (out, end) = with_default_server(&Refuse, KeepAlive::new(), async |e| {
        raw_exchange(e, b"GET / HTTP/1.1\r\n\r\n").await
    });
    assert!(out.is_empty());
    assert_eq!(end.unwrap(), ServerEnd::Refused);
}

#[test]
fn expect_100_continue_is_answered_before_the_body() {
    let input = b"PUT /m/bytes HTTP/1.1\r\nexpect: 100-continue\r\ncontent-length: 2\r\n\r\nhi";
    let (out, _) = with_default_server(&TestApp, KeepAlive::new(), async |e| {
        raw_exchange(e, input).await
    });
    assert!(out.starts_with(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"));
}

#[test]
fn future_sizes_with_default_buffers() {
    let (mut s1, mut s2) = ([0u8; 16], [0u8; 16]);
    let mut pipes = Duplex::new(&mut s1, &mut s2);
    let (mut a, c_end) = pipes.split();
    let mut buffers = degu_core::engine::Buffers::<4096, 2048>::new();
    let mut session = Session::new(degu_core::app::PeerAddr::Unnamed, ());
    let config = KeepAlive::new();
    let serve = degu_core::engine::serve(&mut a, &mut buffers, &DemoApp, &mut session, &config);
    let serve_size = std::mem::size_of_val(&serve);
    drop(serve);
    let (mut rb, mut wb) = ([0u8; 4096], [0u8; 2048]);
    let mut c = Connection::new(c_end.rx, c_end.tx, &mut rb[..], &mut wb[..]);
    let get = c.get("/hello", &[]);
    let get_size = std::mem::size_of_val(&get);
    drop(get);
    println!("server connection future (DemoApp, default config): {serve_size} bytes");
    println!("client request future (get): {get_size} bytes");
    println!("server buffers: {} bytes", std::mem::size_of_val(&buffers));
    assert!(
        serve_size < 16 * 1024,
        "the serve future stays small: {serve_size}"
    );
    assert!(
        get_size < 4 * 1024,
        "the request future stays small: {get_size}"
    );
}

#[test]
fn a_chunked_body_is_complete_once_its_last_chunk_is_read_at_any_split() {
    // Small client buffers and short reads put the last chunk's line and the final CRLF
    // at every position relative to the buffer's end.
    for max_read in 1..=9 {
        for rbuf in [90usize, 96, 101, 110, 128, 160] {
            let ((), _) = with_default_server(&TestApp, KeepAlive::new(), async move |mut end| {
                end.rx.max_read = max_read;
                let mut c = Connection::new(end.rx, end.tx, vec![0u8; rbuf], vec![0u8; 256]);
                for _ in 0..3 {
                    let mut r = c.get("/m/chunked-ext", &[]).await.unwrap();
                    let mut buf = [0u8; 8];
                    let mut last = None;
                    while let Some(p) = r.body.read_chunk(&mut buf).await.unwrap() {
                        if p.is_end() {
                            last = p.ext.map(|e| format!("{}={}", e.key, e.value));
                            break;
                        }
                    }
                    assert_eq!(
                        last.as_deref(),
                        Some("end=yes"),
                        "max_read {max_read}, buffer {rbuf}"
                    );
                    assert!(r.body.is_done(), "max_read {max_read}, buffer {rbuf}");
                }
            });
        }
    }
}

/// One record, owned: (method, uri, status, body bytes, micros, error).
type Owned = (Method, String, u16, u64, u64, Option<Error>);

/// Every record a [`RequestLogger`] made.
#[derive(Default)]
struct Records(std::cell::RefCell<Vec<Owned>>);

impl RecordSink for Records {
    fn record(&self, r: &RequestRecord<'_>) {
        self.0.borrow_mut().push((
            r.method,
            r.uri.to_string(),
            r.status,
            r.body_bytes,
            r.micros,
            r.error,
        ));
    }
}

/// A clock that advances 100 µs per reading.
#[derive(Default)]
struct Ticks(std::cell::Cell<u64>);

impl Clock for Ticks {
    fn now_micros(&self) -> u64 {
        self.0.replace(self.0.get() + 100)
    }
}

#[test]
fn sent_tells_a_request_logger_the_status_and_body_bytes_of_every_body_kind() {
    let logged = RequestLogger::new(TestApp, Ticks::default()).with_sink(Records::default());
    let ((), end) = with_default_server(&logged, KeepAlive::new(), async move |end| {
        let mut c = conn(end);
        let mut buf = [0u8; 256];
        for uri in ["/m/none", "/m/bytes", "/m/stream", "/m/chunked-ext"] {
            let mut r = c.get(uri, &[]).await.unwrap();
            r.body.read_to_end(&mut buf).await.unwrap();
            let mut r = c.head(uri, &[]).await.unwrap();
            assert_eq!(r.body.read(&mut buf).await.unwrap(), 0);
        }
        let mut r = c.get("/status/404", &[]).await.unwrap();
        r.body.read_to_end(&mut buf).await.unwrap();
        let mut r = c.get("/download?100000", &[]).await.unwrap();
        while r.body.read(&mut buf).await.unwrap() > 0 {}
        // A handler error before any byte: the engine answers 500 and closes.
        let r = c.get("/fail", &[]).await.unwrap();
        assert_eq!(r.status, 500);
    });
    assert!(end.is_err());
    let body = RESPONSE.len() as u64;
    let want: Vec<(Method, &str, u16, u64)> = vec![
        (Method::Get, "/m/none", 200, 0),
        (Method::Head, "/m/none", 200, 0),
        (Method::Get, "/m/bytes", 200, body),
        (Method::Head, "/m/bytes", 200, 0),
        (Method::Get, "/m/stream", 200, body),
        (Method::Head, "/m/stream", 200, 0),
        // Chunk data only: "resp" + "onse " + "body".
        (Method::Get, "/m/chunked-ext", 200, 13),
        (Method::Head, "/m/chunked-ext", 200, 0),
        (Method::Get, "/status/404", 404, 0),
        (Method::Get, "/download?100000", 200, 100_000),
        (Method::Get, "/fail", 500, 0),
    ];
    let records = logged.sink().0.borrow();
    let got: Vec<(Method, &str, u16, u64)> = records
        .iter()
        .map(|r| (r.0, r.1.as_str(), r.2, r.3))
        .collect();
    assert_eq!(got, want);
    assert!(records.iter().all(|r| r.4 == 100), "one tick per request");
    let errors: Vec<_> = records.iter().map(|r| r.5).collect();
    assert_eq!(errors.last(), Some(&Some(Error::App)));
    assert!(errors[..errors.len() - 1].iter().all(Option::is_none));
}
