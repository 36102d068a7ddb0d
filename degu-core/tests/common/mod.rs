//! Shared by the integration tests: the Python original's wire vectors (from its
//! specification's test vectors) as tables with Degu's expected outcome for each case,
//! owned views of what the parsers and the body decoder return, and a body feeder that
//! replays a stream in any split.
//!
//! The tables are macros that hand every row to a callback macro, so `tests/vectors.rs`
//! turns each case into its own `#[test]` and `tests/split_reads.rs` replays the same cases
//! at every byte split. A case whose outcome deliberately differs from the Python original
//! (README.md's "Wire rules" win where they disagree) has `differs_` in its name.
#![allow(dead_code, unused_macros, unused_imports)]

pub use degu_core::body::parse_chunk_line;
pub use degu_core::body::{render_chunk_line, render_last_chunk};
pub use degu_core::limits::{
    MAX_CHUNK_LINE_LEN, MAX_CHUNK_SIZE, MAX_HEAD_LEN, MAX_HEADER_NAME_LEN, MAX_LENGTH,
    MAX_OUTPUT_HEADERS, MAX_URI_LEN,
};
pub use degu_core::wire::parse::{RequestParser, ResponseParser};
pub use degu_core::{
    BodyDecoder, BodyEncoder, BodyError, ChunkExt, ContentRange, Decoded, Framing, Header, Method,
    ParseError, Range, RenderError, RequestHead, ResponseHead, Status, Target, find_head_end,
    parse_request, parse_response, render_request, render_response,
};

// ------------------------------------------------------------------------------------
// Expectations.

/// What a request head must parse to.
#[derive(Clone, Debug)]
pub struct Req {
    pub method: Method,
    pub uri: String,
    pub components: Vec<String>,
    pub query: Option<String>,
    pub headers: Vec<(String, String)>,
    pub framing: Framing,
    pub range: Option<Range>,
    /// The bytes after the head (body or next message), untouched by the parser.
    pub rest: Vec<u8>,
}

/// A request expectation: method, URI, path components and query.
pub fn req(method: Method, uri: &str, components: &[&str], query: Option<&str>) -> Req {
    Req {
        method,
        uri: uri.to_owned(),
        components: components.iter().map(|c| (*c).to_owned()).collect(),
        query: query.map(str::to_owned),
        headers: Vec::new(),
        framing: Framing::None,
        range: None,
        rest: Vec::new(),
    }
}

/// `GET /`, no headers.
pub fn get_root() -> Req {
    req(Method::Get, "/", &[], None)
}

impl Req {
    /// Expect this header next (lower-case name).
    pub fn h(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
    pub fn framing(mut self, framing: Framing) -> Self {
        self.framing = framing;
        self
    }
    pub fn range(mut self, start: u64, stop: u64) -> Self {
        self.range = Some(Range::new(start, stop).unwrap());
        self
    }
    /// Expect the open range `bytes=<start>-`.
    pub fn open_range(mut self, start: u64) -> Self {
        self.range = Some(Range::open(start).unwrap());
        self
    }
    pub fn rest(mut self, rest: &[u8]) -> Self {
        self.rest = rest.to_vec();
        self
    }
}

/// What a response head must parse to.
#[derive(Clone, Debug)]
pub struct Resp {
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
    pub framing: Framing,
    pub content_range: Option<ContentRange>,
    pub rest: Vec<u8>,
}

/// A response expectation: status and reason.
pub fn resp(status: u16, reason: &str) -> Resp {
    Resp {
        status,
        reason: reason.to_owned(),
        headers: Vec::new(),
        framing: Framing::None,
        content_range: None,
        rest: Vec::new(),
    }
}

impl Resp {
    pub fn h(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
    pub fn framing(mut self, framing: Framing) -> Self {
        self.framing = framing;
        self
    }
    pub fn content_range(mut self, start: u64, stop: u64, total: u64) -> Self {
        self.content_range = Some(ContentRange::new(start, stop, total).unwrap());
        self
    }
    pub fn rest(mut self, rest: &[u8]) -> Self {
        self.rest = rest.to_vec();
        self
    }
}

/// The expected outcome of parsing a head.
#[derive(Clone, Debug)]
pub enum Expect<T> {
    /// Accepted, with these values.
    Ok(T),
    /// Rejected with this error, which maps to this status.
    Err(ParseError, u16),
    /// Not a head yet (more bytes needed).
    Partial,
}

pub fn ok<T>(t: T) -> Expect<T> {
    Expect::Ok(t)
}
pub fn err<T>(e: ParseError, status: u16) -> Expect<T> {
    Expect::Err(e, status)
}
pub fn partial<T>() -> Expect<T> {
    Expect::Partial
}

// ------------------------------------------------------------------------------------
// Owned views of parser results, comparable across splits.

/// An accepted request head, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReqView {
    pub method: Method,
    pub uri: String,
    pub path: String,
    pub query: Option<String>,
    pub components: Vec<String>,
    pub headers: Vec<(String, String)>,
    pub framing: Framing,
    pub range: Option<Range>,
    pub len: usize,
}

/// An accepted response head, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RespView {
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
    pub framing: Framing,
    pub content_range: Option<ContentRange>,
    pub len: usize,
}

/// What a parser call returned, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome<T> {
    Complete(T),
    Partial,
    Err(ParseError),
}

/// Parse `bytes` (copied: the parser folds names in place) as a request with `N` slots.
pub fn parse_req<const N: usize>(bytes: &[u8]) -> Outcome<ReqView> {
    parse_req_in_place::<N>(&mut bytes.to_vec())
}

/// Parse `buf` in place as a request with `N` slots.
pub fn parse_req_in_place<const N: usize>(buf: &mut [u8]) -> Outcome<ReqView> {
    match parse_request::<N>(buf) {
        Err(e) => Outcome::Err(e),
        Ok(Status::Partial) => Outcome::Partial,
        Ok(Status::Complete(h)) => Outcome::Complete(req_view(h)),
    }
}

/// The owned view of a parsed request head.
pub fn req_view<const N: usize>(h: RequestHead<'_, N>) -> ReqView {
    ReqView {
        method: h.method,
        uri: h.uri.to_owned(),
        path: h.target.path.to_owned(),
        query: h.target.query.map(str::to_owned),
        components: h.target.components().map(str::to_owned).collect(),
        headers: h
            .headers
            .iter()
            .map(|x| (x.name.to_owned(), x.value.to_owned()))
            .collect(),
        framing: h.framing,
        range: h.range,
        len: h.len,
    }
}

/// Feed `bytes` to one [`RequestParser`] as an engine does, in reads that end at each
/// of `ends` (ascending): the outcome where it stops (`Partial` if it never does).
pub fn feed_req<const N: usize>(
    bytes: &[u8],
    ends: impl IntoIterator<Item = usize>,
) -> Outcome<ReqView> {
    fed(
        bytes,
        ends,
        RequestParser::<N>::new(),
        |p, buf| p.feed(buf, usize::MAX),
        |p, head| p.head(head).map(req_view),
    )
}

/// Feed `bytes` to `parser` (through `feed`) in reads that end at each of `ends`, and
/// take the head (through `head`) where it stops.
fn fed<P, V>(
    bytes: &[u8],
    ends: impl IntoIterator<Item = usize>,
    mut parser: P,
    feed: impl Fn(&mut P, &mut [u8]) -> Result<Option<usize>, ParseError>,
    head: impl Fn(&P, &[u8]) -> Result<V, ParseError>,
) -> Outcome<V> {
    let mut buf = bytes.to_vec();
    for end in ends {
        match feed(&mut parser, &mut buf[..end]) {
            Err(e) => return Outcome::Err(e),
            Ok(None) => {}
            Ok(Some(len)) => {
                return match head(&parser, &buf[..len]) {
                    Ok(h) => Outcome::Complete(h),
                    Err(e) => Outcome::Err(e),
                };
            }
        }
    }
    Outcome::Partial
}

/// Parse `bytes` as a response to `method` with `N` slots.
pub fn parse_resp<const N: usize>(bytes: &[u8], method: Method) -> Outcome<RespView> {
    parse_resp_in_place::<N>(&mut bytes.to_vec(), method)
}

/// Parse `buf` in place as a response to `method` with `N` slots.
pub fn parse_resp_in_place<const N: usize>(buf: &mut [u8], method: Method) -> Outcome<RespView> {
    match parse_response::<N>(buf, method) {
        Err(e) => Outcome::Err(e),
        Ok(Status::Partial) => Outcome::Partial,
        Ok(Status::Complete(h)) => Outcome::Complete(resp_view(h)),
    }
}

/// The owned view of a parsed response head.
pub fn resp_view<const N: usize>(h: ResponseHead<'_, N>) -> RespView {
    RespView {
        status: h.status,
        reason: h.reason.to_owned(),
        headers: h
            .headers
            .iter()
            .map(|x| (x.name.to_owned(), x.value.to_owned()))
            .collect(),
        framing: h.framing,
        content_range: h.content_range,
        len: h.len,
    }
}

/// Feed `bytes` to one [`ResponseParser`] as a client does, in reads that end at each
/// of `ends` (ascending): the outcome where it stops (`Partial` if it never does).
pub fn feed_resp<const N: usize>(
    bytes: &[u8],
    method: Method,
    ends: impl IntoIterator<Item = usize>,
) -> Outcome<RespView> {
    fed(
        bytes,
        ends,
        ResponseParser::<N>::new(),
        |p, buf| p.feed(buf, usize::MAX),
        |p, head| p.head(head, method).map(resp_view),
    )
}

/// Offset just past the first `\r\n\r\n`, if any.
pub fn head_end(bytes: &[u8]) -> Option<usize> {
    bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4)
}

/// Assert that a request vector parses to exactly `expect`.
pub fn check_request<const N: usize>(name: &str, bytes: &[u8], expect: &Expect<Req>) {
    let got = parse_req::<N>(bytes);
    match expect {
        Expect::Partial => assert_eq!(got, Outcome::Partial, "{name}"),
        Expect::Err(e, status) => {
            assert_eq!(got, Outcome::Err(*e), "{name}");
            assert_eq!(e.status(), *status, "{name}: status of {e:?}");
        }
        Expect::Ok(r) => {
            let len = head_end(bytes).unwrap_or_else(|| panic!("{name}: vector has no head end"));
            let path = r.uri.split_once('?').map_or(r.uri.as_str(), |(p, _)| p);
            let want = ReqView {
                method: r.method,
                uri: r.uri.clone(),
                path: path.to_owned(),
                query: r.query.clone(),
                components: r.components.clone(),
                headers: r.headers.clone(),
                framing: r.framing,
                range: r.range,
                len,
            };
            assert_eq!(got, Outcome::Complete(want), "{name}");
            assert_eq!(&bytes[len..], &r.rest[..], "{name}: bytes after the head");
        }
    }
}

/// Assert that a response vector parses to exactly `expect`.
pub fn check_response<const N: usize>(
    name: &str,
    method: Method,
    bytes: &[u8],
    expect: &Expect<Resp>,
) {
    let got = parse_resp::<N>(bytes, method);
    match expect {
        Expect::Partial => assert_eq!(got, Outcome::Partial, "{name}"),
        Expect::Err(e, status) => {
            assert_eq!(got, Outcome::Err(*e), "{name}");
            assert_eq!(e.status(), *status, "{name}: status of {e:?}");
        }
        Expect::Ok(r) => {
            let len = head_end(bytes).unwrap_or_else(|| panic!("{name}: vector has no head end"));
            let want = RespView {
                status: r.status,
                reason: r.reason.clone(),
                headers: r.headers.clone(),
                framing: r.framing,
                content_range: r.content_range,
                len,
            };
            assert_eq!(got, Outcome::Complete(want), "{name}");
            assert_eq!(&bytes[len..], &r.rest[..], "{name}: bytes after the head");
        }
    }
}

// ------------------------------------------------------------------------------------
// Bodies.

/// One decoded chunk: its extension (owned) and its data. A length-framed body is one
/// "chunk" without extension.
pub type Chunk = (Option<(String, String)>, Vec<u8>);

/// A decoded chunk from borrowed parts.
pub fn ch(ext: Option<(&str, &str)>, data: impl AsRef<[u8]>) -> Chunk {
    (
        ext.map(|(k, v)| (k.to_owned(), v.to_owned())),
        data.as_ref().to_vec(),
    )
}

/// The expected outcome of decoding a chunked body.
#[derive(Clone, Debug)]
pub enum BodyExpect {
    /// Every chunk, the last (empty) one included, and the bytes left after the body.
    Ok(Vec<Chunk>, Vec<u8>),
    /// Rejected with this error and status.
    Err(BodyError, u16),
}

pub fn chunks(list: Vec<Chunk>) -> BodyExpect {
    BodyExpect::Ok(list, Vec::new())
}
pub fn chunks_then(list: Vec<Chunk>, rest: &[u8]) -> BodyExpect {
    BodyExpect::Ok(list, rest.to_vec())
}
pub fn body_err(e: BodyError, status: u16) -> BodyExpect {
    BodyExpect::Err(e, status)
}

/// Decode a body of `framing` from `input`, made available `step()` bytes at a time as a
/// socket would. Returns the chunks and the bytes consumed, or the first error; a stream
/// that ends before the body does gives the decoder's `eof()` error.
///
/// Checks on the way that no call consumes more than it was given and that the decoder
/// never offers data it does not own.
pub fn decode_stream(
    framing: Framing,
    input: &[u8],
    step: &mut dyn FnMut() -> usize,
) -> Result<(Vec<Chunk>, usize), BodyError> {
    let mut dec = BodyDecoder::new(framing);
    let mut out: Vec<Chunk> = Vec::new();
    if matches!(framing, Framing::Length(_)) {
        out.push((None, Vec::new()));
    }
    let mut pos = 0;
    let mut fed = step().max(1).min(input.len());
    let mut guard = 0usize;
    loop {
        guard += 1;
        assert!(
            guard <= 4 * input.len() + 64,
            "decoder makes no progress at {pos}/{fed}"
        );
        let avail = &input[pos..fed];
        let (n, d) = dec.decode(avail)?;
        assert!(n <= avail.len(), "consumed {n} of {} bytes", avail.len());
        pos += n;
        let mut need_more = false;
        match d {
            Decoded::NeedMore => {
                assert_eq!(n, 0, "NeedMore consumed bytes");
                need_more = true;
            }
            Decoded::Chunk(head) => {
                let ext = head.ext.map(|e| (e.key.to_owned(), e.value.to_owned()));
                out.push((ext, Vec::new()));
            }
            Decoded::Data(k) => {
                assert_eq!(n, 0);
                assert_eq!(k, dec.data_remaining());
                let take = usize::try_from(k).unwrap_or(usize::MAX).min(fed - pos);
                if take == 0 {
                    need_more = true;
                } else {
                    out.last_mut()
                        .expect("data before any chunk")
                        .1
                        .extend_from_slice(&input[pos..pos + take]);
                    pos += take;
                    dec.consume(take);
                }
            }
            Decoded::End => {
                assert!(dec.is_done());
                assert_eq!(dec.eof(), Ok(()));
                return Ok((out, pos));
            }
        }
        if need_more {
            if fed == input.len() {
                let e = dec.eof();
                assert!(e.is_err(), "eof() is Ok while the decoder wants more");
                return Err(e.unwrap_err());
            }
            fed = (fed + step().max(1)).min(input.len());
        }
    }
}

/// Decode with everything available at once.
pub fn decode_whole(framing: Framing, input: &[u8]) -> Result<(Vec<Chunk>, usize), BodyError> {
    let len = input.len();
    decode_stream(framing, input, &mut || len)
}

/// The request head every chunked vector is sent under.
pub const CHUNKED_HEAD: &[u8] = b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";

/// Parse `CHUNKED_HEAD` + `body` as a request and decode the body after the head.
pub fn decode_chunked_request(
    body: &[u8],
    step: &mut dyn FnMut() -> usize,
) -> Result<(Vec<Chunk>, usize), BodyError> {
    let mut msg = CHUNKED_HEAD.to_vec();
    msg.extend_from_slice(body);
    let len = match parse_request::<8>(&mut msg) {
        Ok(Status::Complete(h)) => {
            assert_eq!(h.framing, Framing::Chunked);
            h.len
        }
        other => panic!("chunked head did not parse: {other:?}"),
    };
    assert_eq!(len, CHUNKED_HEAD.len());
    decode_stream(Framing::Chunked, &msg[len..], step)
}

/// Assert that a chunked vector decodes to exactly `expect` (everything available at once).
pub fn check_chunked(name: &str, body: &[u8], expect: &BodyExpect) {
    let len = body.len();
    let got = decode_chunked_request(body, &mut || len);
    match expect {
        BodyExpect::Ok(list, rest) => {
            let (got, consumed) = got.unwrap_or_else(|e| panic!("{name}: {e:?}"));
            assert_eq!(got.len(), list.len(), "{name}: chunk count");
            for (i, (g, w)) in got.iter().zip(list).enumerate() {
                assert_eq!(g.0, w.0, "{name}: ext of chunk {i}");
                assert!(g.1 == w.1, "{name}: data of chunk {i} differs");
            }
            assert_eq!(&body[consumed..], &rest[..], "{name}: bytes after the body");
        }
        BodyExpect::Err(e, status) => {
            assert_eq!(got.map(|(c, n)| (c.len(), n)), Err(*e), "{name}");
            assert_eq!(e.status(), *status, "{name}: status of {e:?}");
        }
    }
}

// ------------------------------------------------------------------------------------
// Generated vector bytes.

/// `GET / HTTP/1.1` with these header lines.
pub fn get_with(lines: &[&str]) -> Vec<u8> {
    let mut s = String::from("GET / HTTP/1.1\r\n");
    for l in lines {
        s.push_str(l);
        s.push_str("\r\n");
    }
    s.push_str("\r\n");
    s.into_bytes()
}

/// `GET / HTTP/1.1\r\n\r\n` with the request line's byte `i` deleted (vector 21).
pub fn deleted(i: usize) -> Vec<u8> {
    let mut line = b"GET / HTTP/1.1".to_vec();
    line.remove(i);
    line.extend_from_slice(b"\r\n\r\n");
    line
}

/// A header name of `len` bytes: `X-` then upper-case letters (folded by the parser).
pub fn long_name(len: usize) -> String {
    let mut s = String::from("X-");
    s.extend((0..len - 2).map(|i| char::from(b'A' + (i % 26) as u8)));
    s
}

/// A `GET /` head of exactly `len` bytes: one `x-pad` header fills it.
pub fn head_of_len(len: usize) -> Vec<u8> {
    let fixed = "GET / HTTP/1.1\r\nx-pad: \r\n\r\n".len();
    get_with(&[&format!("x-pad: {}", "p".repeat(len - fixed))])
}

/// The `x-pad` value of `head_of_len(len)`.
pub fn pad_of_len(len: usize) -> String {
    "p".repeat(len - "GET / HTTP/1.1\r\nx-pad: \r\n\r\n".len())
}

/// `GET /` with `n` distinct headers `x-h0: 0` .. (vector 38).
pub fn many_headers(n: usize) -> Vec<u8> {
    let lines: Vec<String> = (0..n).map(|i| format!("X-H{i}: {i}")).collect();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    get_with(&refs)
}

/// A request line whose URI is `/` followed by `n - 1` `a`s (so the URI is `n` bytes).
pub fn uri_of_len(n: usize) -> Vec<u8> {
    format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(n - 1)).into_bytes()
}

/// `len` data bytes of a recognisable pattern.
pub fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| b'a' + (i % 23) as u8).collect()
}

/// A chunk-size line of exactly `len` bytes (CRLF included) for a 5-byte chunk, then the
/// chunk and the last chunk (vector 62).
pub fn chunk_line_of_len(len: usize) -> Vec<u8> {
    let value = "v".repeat(len - "5;k=\r\n".len());
    format!("5;k={value}\r\nhello\r\n0\r\n\r\n").into_bytes()
}

/// One chunk of `size` pattern bytes and the last chunk (vector 58).
pub fn one_chunk_of(size: usize) -> Vec<u8> {
    let mut v = format!("{size:x}\r\n").into_bytes();
    v.extend_from_slice(&pattern(size));
    v.extend_from_slice(b"\r\n0\r\n\r\n");
    v
}

// ------------------------------------------------------------------------------------
// The tables. Each hands `name: bytes => expectation,` rows to the callback macro `$m`.

/// Request vectors 1–48 and 63–67, every case of every row.
macro_rules! request_vectors {
    ($m:ident) => { $m! {
        // ---- 1–21: request line and URI ----
        v01_get_root: b"GET / HTTP/1.1\r\n\r\n" => ok(get_root()),
        v01_head_root: b"HEAD / HTTP/1.1\r\n\r\n" => ok(req(Method::Head, "/", &[], None)),
        v01_put_root: b"PUT / HTTP/1.1\r\n\r\n" => ok(req(Method::Put, "/", &[], None)),
        v01_post_root: b"POST / HTTP/1.1\r\n\r\n" => ok(req(Method::Post, "/", &[], None)),
        v01_delete_root: b"DELETE / HTTP/1.1\r\n\r\n" => ok(req(Method::Delete, "/", &[], None)),
        v02_differs_http10_is_505: b"GET / HTTP/1.0\r\n\r\n" => err(ParseError::UnsupportedVersion, 505),
        v02_differs_http20_is_505: b"GET / HTTP/2.0\r\n\r\n" => err(ParseError::UnsupportedVersion, 505),
        v02_differs_http09_is_505: b"GET / HTTP/0.9\r\n\r\n" => err(ParseError::UnsupportedVersion, 505),
        v02_lowercase_protocol: b"GET / http/1.1\r\n\r\n" => err(ParseError::BadRequestLine, 400),
        v02_two_digit_major: b"GET / HTTP/11.1\r\n\r\n" => err(ParseError::BadRequestLine, 400),
        v02_version_suffix: b"GET / HTTP/1.1x\r\n\r\n" => err(ParseError::BadRequestLine, 400),
        v02_version_missing: b"GET / \r\n\r\n" => err(ParseError::BadRequestLine, 400),
        v03_differs_lowercase_get_is_501: b"get / HTTP/1.1\r\n\r\n" => err(ParseError::UnsupportedMethod, 501),
        v04_differs_patch_is_501: b"PATCH /foo HTTP/1.1\r\n\r\n" => err(ParseError::UnsupportedMethod, 501),
        v04_differs_trace_is_501: b"TRACE / HTTP/1.1\r\n\r\n" => err(ParseError::UnsupportedMethod, 501),
        v04_differs_connect_is_501: b"CONNECT / HTTP/1.1\r\n\r\n" => err(ParseError::UnsupportedMethod, 501),
        v04_method_with_bad_byte: b"G@T / HTTP/1.1\r\n\r\n" => err(ParseError::BadRequestLine, 400),
        v05_differs_options_star_is_501: b"OPTIONS * HTTP/1.1\r\n\r\n" => err(ParseError::UnsupportedMethod, 501),
        v05_get_star: b"GET * HTTP/1.1\r\n\r\n" => err(ParseError::BadRequestLine, 400),
        v06_absolute_form: b"GET http://example.com/ HTTP/1.1\r\n\r\n" => err(ParseError::BadRequestLine, 400),
        v07_differs_two_spaces_is_bad_request_line: b"GET  / HTTP/1.1\r\n\r\n" => err(ParseError::BadRequestLine, 400),
        v08_tab_separator: b"GET\t/ HTTP/1.1\r\n\r\n" => err(ParseError::BadRequestLine, 400),
        v09_space_after_version: b"GET / HTTP/1.1 \r\n\r\n" => err(ParseError::BadRequestLine, 400),
        v10_differs_space_in_uri_is_bad_request_line: b"GET /foo bar HTTP/1.1\r\n\r\n" => err(ParseError::BadRequestLine, 400),
        v11_percent_in_path: b"GET /foo%20bar HTTP/1.1\r\n\r\n" => err(ParseError::BadPath, 400),
        v12_percent_in_query: b"GET /a?b=c&d=e%20f HTTP/1.1\r\n\r\n"
            => ok(req(Method::Get, "/a?b=c&d=e%20f", &["a"], Some("b=c&d=e%20f"))),
        v13_fragment: b"GET /foo#frag HTTP/1.1\r\n\r\n" => err(ParseError::BadUri, 400),
        v13_at_sign: b"GET /@foo HTTP/1.1\r\n\r\n" => err(ParseError::BadUri, 400),
        v13_utf8: b"GET /\xc3\xa9 HTTP/1.1\r\n\r\n" => err(ParseError::BadUri, 400),
        v13_nul: b"GET /\x00 HTTP/1.1\r\n\r\n" => err(ParseError::BadUri, 400),
        v14_question_in_query: b"GET /a?b=c?d HTTP/1.1\r\n\r\n" => err(ParseError::BadQuery, 400),
        v14_slash_in_query: b"GET /a?b/c HTTP/1.1\r\n\r\n" => err(ParseError::BadQuery, 400),
        v15_dotdot_component: b"GET /a/../b HTTP/1.1\r\n\r\n" => err(ParseError::BadPath, 400),
        v15_dotdot_only: b"GET /.. HTTP/1.1\r\n\r\n" => err(ParseError::BadPath, 400),
        v15_dotdot_last: b"GET /a/.. HTTP/1.1\r\n\r\n" => err(ParseError::BadPath, 400),
        v16_dots_inside_component: b"GET /a..b HTTP/1.1\r\n\r\n" => ok(req(Method::Get, "/a..b", &["a..b"], None)),
        v16_three_dots: b"GET /... HTTP/1.1\r\n\r\n" => ok(req(Method::Get, "/...", &["..."], None)),
        v16_single_dot: b"GET /a/./b HTTP/1.1\r\n\r\n" => ok(req(Method::Get, "/a/./b", &["a", ".", "b"], None)),
        v17_leading_double_slash: b"GET //a HTTP/1.1\r\n\r\n" => err(ParseError::BadPath, 400),
        v17_inner_double_slash: b"GET /a//b HTTP/1.1\r\n\r\n" => err(ParseError::BadPath, 400),
        v17_trailing_double_slash: b"GET /a// HTTP/1.1\r\n\r\n" => err(ParseError::BadPath, 400),
        v18_trailing_slash: b"GET /a/ HTTP/1.1\r\n\r\n" => ok(req(Method::Get, "/a/", &["a", ""], None)),
        v19_empty_query: b"GET /a? HTTP/1.1\r\n\r\n" => ok(req(Method::Get, "/a?", &["a"], Some(""))),
        v19_root_with_query: b"GET /?a=b HTTP/1.1\r\n\r\n" => ok(req(Method::Get, "/?a=b", &[], Some("a=b"))),
        v20_leading_empty_line: b"\r\nGET / HTTP/1.1\r\n\r\n" => err(ParseError::BadRequestLine, 400),
        v21_deleted_00_differs_et_is_501: deleted(0) => err(ParseError::UnsupportedMethod, 501),
        v21_deleted_01_differs_gt_is_501: deleted(1) => err(ParseError::UnsupportedMethod, 501),
        v21_deleted_02_differs_ge_is_501: deleted(2) => err(ParseError::UnsupportedMethod, 501),
        v21_deleted_03: deleted(3) => err(ParseError::BadRequestLine, 400),
        v21_deleted_04: deleted(4) => err(ParseError::BadRequestLine, 400),
        v21_deleted_05: deleted(5) => err(ParseError::BadRequestLine, 400),
        v21_deleted_06: deleted(6) => err(ParseError::BadRequestLine, 400),
        v21_deleted_07: deleted(7) => err(ParseError::BadRequestLine, 400),
        v21_deleted_08: deleted(8) => err(ParseError::BadRequestLine, 400),
        v21_deleted_09: deleted(9) => err(ParseError::BadRequestLine, 400),
        v21_deleted_10: deleted(10) => err(ParseError::BadRequestLine, 400),
        v21_deleted_11: deleted(11) => err(ParseError::BadRequestLine, 400),
        v21_deleted_12: deleted(12) => err(ParseError::BadRequestLine, 400),
        v21_deleted_13: deleted(13) => err(ParseError::BadRequestLine, 400),

        // ---- 22–39: headers ----
        v22_name_folded: b"GET / HTTP/1.1\r\nHOST: example.com\r\n\r\n"
            => ok(get_root().h("host", "example.com")),
        v22_value_case_kept: b"GET / HTTP/1.1\r\nhOsT: Example.COM\r\n\r\n"
            => ok(get_root().h("host", "Example.COM")),
        v23_differs_no_space_after_colon: b"GET / HTTP/1.1\r\nHost:example.com\r\n\r\n"
            => ok(get_root().h("host", "example.com")),
        v24_differs_two_spaces_trimmed: b"GET / HTTP/1.1\r\nHost:  example.com\r\n\r\n"
            => ok(get_root().h("host", "example.com")),
        v25_differs_trailing_space_trimmed: b"GET / HTTP/1.1\r\nHost: example.com \r\n\r\n"
            => ok(get_root().h("host", "example.com")),
        v25_differs_trailing_tab_trimmed: b"GET / HTTP/1.1\r\nHost: example.com\t\r\n\r\n"
            => ok(get_root().h("host", "example.com")),
        v26_space_before_colon: b"GET / HTTP/1.1\r\nHost : example.com\r\n\r\n"
            => err(ParseError::BadHeaderName, 400),
        v27_differs_tab_after_colon: b"GET / HTTP/1.1\r\nHost:\texample.com\r\n\r\n"
            => ok(get_root().h("host", "example.com")),
        v28_obs_fold_space: b"GET / HTTP/1.1\r\nX-Foo: bar\r\n baz\r\n\r\n"
            => err(ParseError::BadHeaderLine, 400),
        v28_obs_fold_tab: b"GET / HTTP/1.1\r\nX-Foo: bar\r\n\tbaz\r\n\r\n"
            => err(ParseError::BadHeaderLine, 400),
        v29_duplicate_after_folding: b"GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n"
            => err(ParseError::DuplicateHeader, 400),
        v30_differs_underscore_name_accepted: b"GET / HTTP/1.1\r\nX_Foo: bar\r\n\r\n"
            => ok(get_root().h("x_foo", "bar")),
        v30_colon_only_name: b"GET / HTTP/1.1\r\n: bar\r\n\r\n" => err(ParseError::BadHeaderName, 400),
        v30_name_without_colon: b"GET / HTTP/1.1\r\nX-Foo\r\n\r\n" => err(ParseError::BadHeaderLine, 400),
        v31_differs_json_value_accepted: b"GET / HTTP/1.1\r\nX-Foo: {\"a\":1}\r\n\r\n"
            => ok(get_root().h("x-foo", "{\"a\":1}")),
        v31_differs_at_sign_value_accepted: b"GET / HTTP/1.1\r\nX-Foo: a@b\r\n\r\n"
            => ok(get_root().h("x-foo", "a@b")),
        v31_differs_inner_tab_value_accepted: b"GET / HTTP/1.1\r\nX-Foo: a\tb\r\n\r\n"
            => ok(get_root().h("x-foo", "a\tb")),
        v31_utf8_value: b"GET / HTTP/1.1\r\nX-Foo: caf\xc3\xa9\r\n\r\n" => err(ParseError::BadHeaderValue, 400),
        v31_nul_value: b"GET / HTTP/1.1\r\nX-A: \x00\r\n\r\n" => err(ParseError::BadHeaderValue, 400),
        v31_del_value: b"GET / HTTP/1.1\r\nX-A: a\x7fb\r\n\r\n" => err(ParseError::BadHeaderValue, 400),
        v32_name_32_bytes: get_with(&[&format!("{}: v", long_name(32))])
            => ok(get_root().h(&long_name(32).to_ascii_lowercase(), "v")),
        v32_differs_name_33_bytes_accepted: get_with(&[&format!("{}: v", long_name(33))])
            => ok(get_root().h(&long_name(33).to_ascii_lowercase(), "v")),
        v32_differs_name_64_bytes_accepted: get_with(&[&format!("{}: v", long_name(MAX_HEADER_NAME_LEN))])
            => ok(get_root().h(&long_name(MAX_HEADER_NAME_LEN).to_ascii_lowercase(), "v")),
        v32_name_65_bytes_is_431: get_with(&[&format!("{}: v", long_name(MAX_HEADER_NAME_LEN + 1))])
            => err(ParseError::HeaderNameTooLong, 431),
        v33_empty_value: b"GET / HTTP/1.1\r\nX-Empty: \r\n\r\n" => err(ParseError::EmptyHeaderValue, 400),
        v33_empty_value_no_space: b"GET / HTTP/1.1\r\nX-Empty:\r\n\r\n" => err(ParseError::EmptyHeaderValue, 400),
        v33_differs_whitespace_only_value_is_empty: b"GET / HTTP/1.1\r\nX-Empty: \t \r\n\r\n"
            => err(ParseError::EmptyHeaderValue, 400),
        v34_four_byte_line: b"GET / HTTP/1.1\r\nK: V\r\n\r\n" => ok(get_root().h("k", "V")),
        v34_differs_three_byte_line_is_empty_value: b"GET / HTTP/1.1\r\nK: \r\n\r\n"
            => err(ParseError::EmptyHeaderValue, 400),
        v35_differs_bare_lf_only_rejected_at_once: b"GET / HTTP/1.1\nHost: a\n\n"
            => err(ParseError::BadRequestLine, 400),
        v36_bare_lf_in_value: b"GET / HTTP/1.1\r\nHost: a\nX-B: c\r\n\r\n" => err(ParseError::BadHeaderValue, 400),
        v36_bare_cr_in_value: b"GET / HTTP/1.1\r\nHost: a\rX-B: c\r\n\r\n" => err(ParseError::BadHeaderValue, 400),
        v37_head_of_exactly_32768_bytes: head_of_len(MAX_HEAD_LEN)
            => ok(get_root().h("x-pad", &pad_of_len(MAX_HEAD_LEN))),
        v37_head_of_32769_bytes_is_431: head_of_len(MAX_HEAD_LEN + 1) => err(ParseError::HeadTooLarge, 431),
        v38_differs_100_headers_over_32_slots_is_431: many_headers(100) => err(ParseError::TooManyHeaders, 431),
        v38_32_headers_fill_32_slots: many_headers(32) => ok({
            let mut r = get_root();
            for i in 0..32 { r = r.h(&format!("x-h{i}"), &i.to_string()); }
            r
        }),
        v39_colon_in_value: b"GET / HTTP/1.1\r\nX-A: a:b\r\n\r\n" => ok(get_root().h("x-a", "a:b")),
        v39_differs_colon_space_value_trimmed: b"GET / HTTP/1.1\r\nX-A: : \r\n\r\n" => ok(get_root().h("x-a", ":")),

        // ---- URI length (limits::MAX_URI_LEN) ----
        vx_uri_of_4096_bytes: uri_of_len(MAX_URI_LEN) => ok({
            let uri = format!("/{}", "a".repeat(MAX_URI_LEN - 1));
            let comp = "a".repeat(MAX_URI_LEN - 1);
            req(Method::Get, &uri, &[comp.as_str()], None)
        }),
        vx_differs_uri_of_4097_bytes_is_414: uri_of_len(MAX_URI_LEN + 1) => err(ParseError::UriTooLong, 414),

        // ---- 40–48: framing ----
        v40_get_with_content_length: b"GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n" => err(ParseError::BodyNotAllowed, 400),
        v40_head_with_content_length: b"HEAD / HTTP/1.1\r\nContent-Length: 0\r\n\r\n" => err(ParseError::BodyNotAllowed, 400),
        v40_delete_with_content_length: b"DELETE /x HTTP/1.1\r\nContent-Length: 0\r\n\r\n" => err(ParseError::BodyNotAllowed, 400),
        v40_get_chunked: b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" => err(ParseError::BodyNotAllowed, 400),
        v40_delete_chunked: b"DELETE /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" => err(ParseError::BodyNotAllowed, 400),
        v41_post_content_length_5: b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
            => ok(req(Method::Post, "/", &[], None).h("content-length", "5").framing(Framing::Length(5)).rest(b"hello")),
        v41_put_chunked: b"PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
            => ok(req(Method::Put, "/x", &["x"], None).h("transfer-encoding", "chunked").framing(Framing::Chunked)
                .rest(b"5\r\nhello\r\n0\r\n\r\n")),
        v42_post_content_length_0: b"POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n"
            => ok(req(Method::Post, "/", &[], None).h("content-length", "0").framing(Framing::Length(0))),
        v42_put_without_body: b"PUT /x HTTP/1.1\r\n\r\n" => ok(req(Method::Put, "/x", &["x"], None)),
        v43_content_length_leading_zero: b"POST / HTTP/1.1\r\nContent-Length: 05\r\n\r\n" => err(ParseError::BadContentLength, 400),
        v43_content_length_plus: b"POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\n" => err(ParseError::BadContentLength, 400),
        v43_differs_content_length_trailing_space_trimmed: b"POST / HTTP/1.1\r\nContent-Length: 5 \r\n\r\n"
            => ok(req(Method::Post, "/", &[], None).h("content-length", "5").framing(Framing::Length(5))),
        v43_content_length_minus_one: b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n" => err(ParseError::BadContentLength, 400),
        v43_content_length_hex: b"POST / HTTP/1.1\r\nContent-Length: 0x5\r\n\r\n" => err(ParseError::BadContentLength, 400),
        v43_content_length_inner_space: b"POST / HTTP/1.1\r\nContent-Length: 5 5\r\n\r\n" => err(ParseError::BadContentLength, 400),
        v43_content_length_empty: b"POST / HTTP/1.1\r\nContent-Length: \r\n\r\n" => err(ParseError::EmptyHeaderValue, 400),
        v44_content_length_17_digits_is_413: b"POST / HTTP/1.1\r\nContent-Length: 10000000000000000\r\n\r\n"
            => err(ParseError::ContentLengthTooLarge, 413),
        v45_content_length_max: b"POST / HTTP/1.1\r\nContent-Length: 9999999999999999\r\n\r\n"
            => ok(req(Method::Post, "/", &[], None).h("content-length", "9999999999999999").framing(Framing::Length(MAX_LENGTH))),
        v46_content_length_and_chunked: b"POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
            => err(ParseError::LengthAndChunked, 400),
        v46_chunked_and_content_length: b"PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"
            => err(ParseError::LengthAndChunked, 400),
        v47_differs_content_length_5_twice_is_duplicate: b"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n"
            => err(ParseError::DuplicateHeader, 400),
        v47_content_length_300_twice: b"POST / HTTP/1.1\r\nContent-Length: 300\r\nContent-Length: 300\r\n\r\n"
            => err(ParseError::DuplicateHeader, 400),
        v47_differs_chunked_twice_is_duplicate: b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
            => err(ParseError::DuplicateHeader, 400),
        v47_differs_same_short_value_twice_is_duplicate: b"GET / HTTP/1.1\r\nX-A: h\r\nX-A: h\r\n\r\n"
            => err(ParseError::DuplicateHeader, 400),
        v48_capitalised_chunked: b"POST / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n" => err(ParseError::BadTransferEncoding, 400),
        v48_gzip_chunked: b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n" => err(ParseError::BadTransferEncoding, 400),

        // ---- 63–66: range headers ----
        v63_range_first_byte: b"GET / HTTP/1.1\r\nRange: bytes=0-0\r\n\r\n"
            => ok(get_root().h("range", "bytes=0-0").range(0, 1)),
        v63_range_last_possible: b"GET / HTTP/1.1\r\nRange: bytes=9999999999999998-9999999999999998\r\n\r\n"
            => ok(get_root().h("range", "bytes=9999999999999998-9999999999999998").range(9_999_999_999_999_998, MAX_LENGTH)),
        v64_differs_range_open_end: b"GET / HTTP/1.1\r\nRange: bytes=0-\r\n\r\n"
            => ok(get_root().h("range", "bytes=0-").open_range(0)),
        v64_differs_range_open_end_last: b"GET / HTTP/1.1\r\nRange: bytes=9999999999999998-\r\n\r\n"
            => ok(get_root().h("range", "bytes=9999999999999998-").open_range(9_999_999_999_999_998)),
        v64_range_open_end_past_max: b"GET / HTTP/1.1\r\nRange: bytes=9999999999999999-\r\n\r\n" => err(ParseError::BadRange, 400),
        v64_range_bare_dash: b"GET / HTTP/1.1\r\nRange: bytes=-\r\n\r\n" => err(ParseError::BadRange, 400),
        v64_range_suffix: b"GET / HTTP/1.1\r\nRange: bytes=-500\r\n\r\n" => err(ParseError::BadRange, 400),
        v64_range_multiple: b"GET / HTTP/1.1\r\nRange: bytes=0-1,5-6\r\n\r\n" => err(ParseError::BadRange, 400),
        v64_range_reversed: b"GET / HTTP/1.1\r\nRange: bytes=5-4\r\n\r\n" => err(ParseError::BadRange, 400),
        v64_range_capital_unit: b"GET / HTTP/1.1\r\nRange: Bytes=0-1\r\n\r\n" => err(ParseError::BadRange, 400),
        v64_range_leading_zero: b"GET / HTTP/1.1\r\nRange: bytes=00-1\r\n\r\n" => err(ParseError::BadRange, 400),
        v64_range_past_max: b"GET / HTTP/1.1\r\nRange: bytes=0-9999999999999999\r\n\r\n" => err(ParseError::BadRange, 400),
        v64_range_inner_space: b"GET / HTTP/1.1\r\nRange: bytes= 0-1\r\n\r\n" => err(ParseError::BadRange, 400),
        v64_differs_range_trailing_space_trimmed: b"GET / HTTP/1.1\r\nRange: bytes=0-1 \r\n\r\n"
            => ok(get_root().h("range", "bytes=0-1").range(0, 2)),
        v65_put_range_and_content_length: b"PUT /x HTTP/1.1\r\nRange: bytes=0-1\r\nContent-Length: 5\r\n\r\n"
            => err(ParseError::RangeWithBody, 400),
        v65_post_range_and_chunked: b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\nRange: bytes=0-1\r\n\r\n"
            => err(ParseError::RangeWithBody, 400),
        v66_put_content_range: b"PUT /x HTTP/1.1\r\nContent-Range: bytes 0-4/10\r\n\r\n"
            => err(ParseError::ContentRangeInRequest, 400),
        v66_get_content_range: b"GET / HTTP/1.1\r\nContent-Range: bytes 0-4/10\r\n\r\n"
            => err(ParseError::ContentRangeInRequest, 400),

        // ---- 67: connection level ----
        v67_empty_stream_is_partial: b"" => partial(),
    } };
}

/// Response vectors R1–R13 (method GET unless stated), every case, plus the framing rules
/// of the wire rules (README.md) for HEAD, 1xx, 204 and 304.
macro_rules! response_vectors {
    ($m:ident) => { $m! {
        r01_ok_without_body: Method::Get, b"HTTP/1.1 200 OK\r\n\r\n" => ok(resp(200, "OK")),
        r02_extra_bytes_stay_buffered: Method::Get, b"HTTP/1.1 200 OK\r\n\r\nextra-bytes"
            => ok(resp(200, "OK").rest(b"extra-bytes")),
        r03_head_response_with_content_length: Method::Head, b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"
            => ok(resp(200, "OK").h("content-length", "5")),
        r03_get_response_with_content_length: Method::Get, b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
            => ok(resp(200, "OK").h("content-length", "5").framing(Framing::Length(5)).rest(b"hello")),
        r03_head_response_chunked: Method::Head, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            => ok(resp(200, "OK").h("transfer-encoding", "chunked")),
        r03_get_response_chunked: Method::Get, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            => ok(resp(200, "OK").h("transfer-encoding", "chunked").framing(Framing::Chunked)),
        r04_http10: Method::Get, b"HTTP/1.0 200 OK\r\n\r\n" => err(ParseError::BadStatusLine, 400),
        r04_lowercase_protocol: Method::Get, b"http/1.1 200 OK\r\n\r\n" => err(ParseError::BadStatusLine, 400),
        r05_differs_one_byte_reason_accepted: Method::Get, b"HTTP/1.1 200 A\r\n\r\n" => ok(resp(200, "A")),
        r05_no_space_after_status: Method::Get, b"HTTP/1.1 200\r\n\r\n" => err(ParseError::BadStatusLine, 400),
        r05_differs_empty_reason_accepted: Method::Get, b"HTTP/1.1 200 \r\n\r\n" => ok(resp(200, "")),
        r06_status_099: Method::Get, b"HTTP/1.1 099 OK\r\n\r\n" => err(ParseError::BadStatus, 400),
        r06_status_600: Method::Get, b"HTTP/1.1 600 OK\r\n\r\n" => err(ParseError::BadStatus, 400),
        r06_four_digit_status: Method::Get, b"HTTP/1.1 2000 OK\r\n\r\n" => err(ParseError::BadStatusLine, 400),
        r06_status_not_digits: Method::Get, b"HTTP/1.1 2x0 OK\r\n\r\n" => err(ParseError::BadStatusLine, 400),
        r06_status_599: Method::Get, b"HTTP/1.1 599 Whatever\r\n\r\n" => ok(resp(599, "Whatever")),
        r07_differs_reason_with_period_accepted: Method::Get, b"HTTP/1.1 200 OK.\r\n\r\n" => ok(resp(200, "OK.")),
        r07_differs_teapot_accepted: Method::Get, b"HTTP/1.1 418 I'm a teapot\r\n\r\n" => ok(resp(418, "I'm a teapot")),
        r07_differs_reason_with_tab_accepted: Method::Get, b"HTTP/1.1 200 O\tK\r\n\r\n" => ok(resp(200, "O\tK")),
        r07_reason_with_del: Method::Get, b"HTTP/1.1 200 O\x7fK\r\n\r\n" => err(ParseError::BadReason, 400),
        r07_reason_with_utf8: Method::Get, b"HTTP/1.1 200 Caf\xc3\xa9\r\n\r\n" => err(ParseError::BadReason, 400),
        r08_long_reason: Method::Get, b"HTTP/1.1 203 Non-Authoritative Information\r\n\r\n"
            => ok(resp(203, "Non-Authoritative Information")),
        r09_content_range: Method::Get, b"HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-4/10\r\nContent-Length: 5\r\n\r\n"
            => ok(resp(206, "Partial Content").h("content-range", "bytes 0-4/10").h("content-length", "5")
                .framing(Framing::Length(5)).content_range(0, 5, 10)),
        r10_content_range_star_total: Method::Get, b"HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-4/*\r\n\r\n"
            => err(ParseError::BadContentRange, 400),
        r10_content_range_star_range: Method::Get, b"HTTP/1.1 206 Partial Content\r\nContent-Range: bytes */10\r\n\r\n"
            => err(ParseError::BadContentRange, 400),
        r10_differs_content_range_unsatisfied: Method::Get, b"HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */10\r\nContent-Length: 0\r\n\r\n"
            => ok(resp(416, "Range Not Satisfiable").h("content-range", "bytes */10").h("content-length", "0")
                .framing(Framing::Length(0))),
        r10_content_range_unsatisfied_bad_total: Method::Get, b"HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */01\r\n\r\n"
            => err(ParseError::BadContentRange, 400),
        r10_content_range_end_at_total: Method::Get, b"HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-10/10\r\n\r\n"
            => err(ParseError::BadContentRange, 400),
        r11_range_in_response: Method::Get, b"HTTP/1.1 200 OK\r\nRange: bytes=0-4\r\n\r\n" => err(ParseError::RangeInResponse, 400),
        r12_content_length_and_chunked: Method::Get, b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
            => err(ParseError::LengthAndChunked, 400),
        r13_differs_bare_lf_rejected_at_once: Method::Get, b"HTTP/1.1 200 OK\n\r\nContent-Length: 5\r\n\r\n"
            => err(ParseError::BadStatusLine, 400),
        rx_100_continue_has_no_body: Method::Put, b"HTTP/1.1 100 Continue\r\n\r\n" => ok(resp(100, "Continue")),
        rx_differs_101_with_content_length_has_no_body: Method::Get, b"HTTP/1.1 101 Switching\r\nContent-Length: 5\r\n\r\n"
            => ok(resp(101, "Switching").h("content-length", "5")),
        rx_differs_204_with_content_length_has_no_body: Method::Delete, b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n"
            => ok(resp(204, "No Content").h("content-length", "5")),
        rx_differs_304_chunked_has_no_body: Method::Get, b"HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n"
            => ok(resp(304, "Not Modified").h("transfer-encoding", "chunked")),
        rx_duplicate_header: Method::Get, b"HTTP/1.1 200 OK\r\nX-A: 1\r\nx-a: 2\r\n\r\n" => err(ParseError::DuplicateHeader, 400),
        rx_differs_headers_folded_and_trimmed: Method::Get, b"HTTP/1.1 200 OK\r\nContent-Type:\ttext/plain \r\nX_Y: z\r\n\r\n"
            => ok(resp(200, "OK").h("content-type", "text/plain").h("x_y", "z")),
    } };
}

/// Chunked vectors 49–62: the bytes after a `transfer-encoding: chunked` head.
macro_rules! chunked_vectors {
    ($m:ident) => { $m! {
        c49_one_chunk: b"5\r\nhello\r\n0\r\n\r\n" => chunks(vec![ch(None, "hello"), ch(None, "")]),
        c49_next_message_stays: b"5\r\nhello\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n"
            => chunks_then(vec![ch(None, "hello"), ch(None, "")], b"GET / HTTP/1.1\r\n\r\n"),
        c50_extensions: b"5;foo=bar\r\nhello\r\n0;k=v\r\n\r\n"
            => chunks(vec![ch(Some(("foo", "bar")), "hello"), ch(Some(("k", "v")), "")]),
        c51_extension_case_kept: b"5;K-1=V.2_~:+\r\nhello\r\n0\r\n\r\n"
            => chunks(vec![ch(Some(("K-1", "V.2_~:+")), "hello"), ch(None, "")]),
        c52_extension_without_value: b"5;foo\r\nhello\r\n0\r\n\r\n" => body_err(BodyError::BadChunkExtension, 400),
        c52_empty_extension_on_last_chunk: b"0;\r\n\r\n" => body_err(BodyError::BadChunkExtension, 400),
        c52_extension_empty_key: b"5;=v\r\nhello\r\n0\r\n\r\n" => body_err(BodyError::BadChunkExtension, 400),
        c52_extension_empty_value: b"5;k=\r\nhello\r\n0\r\n\r\n" => body_err(BodyError::BadChunkExtension, 400),
        c53_two_extensions: b"5;a=b;c=d\r\nhello\r\n0\r\n\r\n" => body_err(BodyError::BadChunkExtension, 400),
        c53_semicolon_in_value: b"5;a=b;c\r\nhello\r\n0\r\n\r\n"
            => chunks(vec![ch(Some(("a", "b;c")), "hello"), ch(None, "")]),
        c54_quotes_are_literal: b"5;foo=\"bar\"\r\nhello\r\n0\r\n\r\n"
            => chunks(vec![ch(Some(("foo", "\"bar\"")), "hello"), ch(None, "")]),
        c55_space_in_value: b"5;k=v w\r\nhello\r\n0\r\n\r\n" => body_err(BodyError::BadChunkExtension, 400),
        c55_underscore_in_key: b"5;k_x=v\r\nhello\r\n0\r\n\r\n" => body_err(BodyError::BadChunkExtension, 400),
        c56_space_before_semicolon: b"5 ;a=b\r\nhello\r\n0\r\n\r\n" => body_err(BodyError::BadChunkSize, 400),
        c56_leading_zero: b"05\r\nhello\r\n0\r\n\r\n" => body_err(BodyError::BadChunkSize, 400),
        c56_hex_prefix: b"0x5\r\nhello\r\n0\r\n\r\n" => body_err(BodyError::BadChunkSize, 400),
        c56_negative: b"-1\r\nh\r\n0\r\n\r\n" => body_err(BodyError::BadChunkSize, 400),
        c56_bare_lf: b"5\nhello\r\n0\r\n\r\n" => body_err(BodyError::BadChunkSize, 400),
        c56_empty_size: b"\r\nhello\r\n0\r\n\r\n" => body_err(BodyError::BadChunkSize, 400),
        c57_uppercase_hex: b"A\r\nhelloworld\r\n0\r\n\r\n" => chunks(vec![ch(None, "helloworld"), ch(None, "")]),
        c57_lowercase_hex: b"a\r\nhelloworld\r\n0\r\n\r\n" => chunks(vec![ch(None, "helloworld"), ch(None, "")]),
        c58_chunk_of_16_mib: one_chunk_of(MAX_CHUNK_SIZE as usize)
            => chunks(vec![ch(None, pattern(MAX_CHUNK_SIZE as usize)), ch(None, "")]),
        c58_chunk_over_16_mib_is_413: b"1000001\r\n" => body_err(BodyError::ChunkTooLarge, 413),
        c58_eight_hex_digits_is_413: b"10000000\r\n" => body_err(BodyError::ChunkTooLarge, 413),
        c58_seven_f_is_413: b"fffffff\r\n" => body_err(BodyError::ChunkTooLarge, 413),
        c59_bad_data_terminator: b"5\r\nhelloXX0\r\n\r\n" => body_err(BodyError::BadChunkTerminator, 400),
        c59_lf_only_terminator: b"5\r\nhello\n0\r\n\r\n" => body_err(BodyError::BadChunkTerminator, 400),
        c60_differs_trailer_is_trailers_not_supported: b"5\r\nhello\r\n0\r\nX-Trailer: a\r\n\r\n"
            => body_err(BodyError::TrailersNotSupported, 400),
        c61_eof_before_last_chunk: b"5\r\nhello\r\n" => body_err(BodyError::UnexpectedEof, 400),
        c61_eof_inside_data: b"5\r\nhel" => body_err(BodyError::UnexpectedEof, 400),
        c61_eof_after_last_chunk_line: b"5\r\nhello\r\n0\r\n" => body_err(BodyError::UnexpectedEof, 400),
        c61_eof_before_any_chunk: b"" => body_err(BodyError::UnexpectedEof, 400),
        c62_chunk_line_of_4096_bytes: chunk_line_of_len(MAX_CHUNK_LINE_LEN)
            => chunks(vec![ch(Some(("k", "v".repeat(MAX_CHUNK_LINE_LEN - 6).as_str())), "hello"), ch(None, "")]),
        c62_chunk_line_of_4097_bytes: chunk_line_of_len(MAX_CHUNK_LINE_LEN + 1)
            => body_err(BodyError::ChunkLineTooLong, 400),
    } };
}
