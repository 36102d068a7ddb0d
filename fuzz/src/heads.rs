//! Owned copies of parsed heads, and the invariants every parsed head keeps.

use degu_core::limits::{MAX_HEAD_LEN, MAX_HEADER_NAME_LEN};
use degu_core::wire::class;
use degu_core::{
    ContentRange, Framing, Headers, Method, ParseError, Range, RequestHead, RequestParser, Status,
    find_head_end, parse_request, parse_response,
};

/// A parse outcome without borrows: `Ok(None)` is [`Status::Partial`].
pub type Parsed<T> = Result<Option<T>, ParseError>;

/// A [`degu_core::RequestHead`], owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// Method.
    pub method: Method,
    /// The request-target as sent.
    pub uri: String,
    /// Path part of the target.
    pub path: String,
    /// Query part of the target.
    pub query: Option<String>,
    /// Path components.
    pub components: Vec<String>,
    /// Headers in arrival order.
    pub headers: Vec<(String, String)>,
    /// Body framing.
    pub framing: Framing,
    /// Typed range header.
    pub range: Option<Range>,
    /// Head length.
    pub len: usize,
}

/// A [`degu_core::ResponseHead`], owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Reason phrase.
    pub reason: String,
    /// Headers in arrival order.
    pub headers: Vec<(String, String)>,
    /// Body framing (none for HEAD, 1xx, 204, 304).
    pub framing: Framing,
    /// Typed content-range header.
    pub content_range: Option<ContentRange>,
    /// Head length.
    pub len: usize,
}

fn owned_headers<const N: usize>(h: &Headers<'_, N>) -> Vec<(String, String)> {
    h.iter()
        .map(|h| (h.name.to_owned(), h.value.to_owned()))
        .collect()
}

/// Parse a request head from `buf` (names are folded in place) and copy it out.
pub fn request<const N: usize>(buf: &mut [u8]) -> Parsed<Request> {
    Ok(match parse_request::<N>(buf)? {
        Status::Partial => None,
        Status::Complete(h) => Some(owned_request(h)),
    })
}

/// Feed `data` to one [`RequestParser`] in reads that end at each of `ends` (ascending),
/// as the server engine does, and copy out where it stops.
pub fn request_fed<const N: usize>(data: &[u8], ends: &[usize]) -> Parsed<Request> {
    let mut buf = data.to_vec();
    let mut parser = RequestParser::<N>::new();
    for &end in ends {
        if let Some(len) = parser.feed(buf.get_mut(..end).unwrap_or(&mut []), usize::MAX)? {
            return Ok(Some(owned_request(
                parser.head(buf.get(..len).unwrap_or(&[]))?,
            )));
        }
    }
    Ok(None)
}

fn owned_request<const N: usize>(h: RequestHead<'_, N>) -> Request {
    Request {
        method: h.method,
        uri: h.uri.to_owned(),
        path: h.target.path.to_owned(),
        query: h.target.query.map(str::to_owned),
        components: h.target.components().map(str::to_owned).collect(),
        headers: owned_headers(&h.headers),
        framing: h.framing,
        range: h.range,
        len: h.len,
    }
}

/// Parse a response head from `buf` for a request made with `method`, and copy it out.
pub fn response<const N: usize>(buf: &mut [u8], method: Method) -> Parsed<Response> {
    Ok(match parse_response::<N>(buf, method)? {
        Status::Partial => None,
        Status::Complete(h) => Some(Response {
            status: h.status,
            reason: h.reason.to_owned(),
            headers: owned_headers(&h.headers),
            framing: h.framing,
            content_range: h.content_range,
            len: h.len,
        }),
    })
}

/// Where a complete head of `len` bytes sits in `data`: inside it, no longer than the
/// limit, ending with the first `\r\n\r\n` of the input (the one the engine looks for).
pub fn check_head_end(data: &[u8], len: usize) {
    assert!(
        len <= data.len(),
        "head len {len} > input len {}",
        data.len()
    );
    assert!(len <= MAX_HEAD_LEN, "head len {len} > MAX_HEAD_LEN");
    assert!(
        data.get(..len).is_some_and(|h| h.ends_with(b"\r\n\r\n")),
        "head does not end with CRLF CRLF"
    );
    let mut scanned = 0;
    assert_eq!(
        find_head_end(data, &mut scanned),
        Some(len),
        "find_head_end disagrees with the parser"
    );
}

/// Header invariants: folded, in-class, trimmed, non-empty names and values; no name
/// twice; no more than `n` of them.
pub fn check_headers(headers: &[(String, String)], n: usize) {
    assert!(
        headers.len() <= n,
        "{} headers with {n} slots",
        headers.len()
    );
    for (i, (name, value)) in headers.iter().enumerate() {
        assert!(!name.is_empty(), "empty header name");
        assert!(name.len() <= MAX_HEADER_NAME_LEN, "name too long: {name:?}");
        assert!(
            name.bytes()
                .all(|b| class::is_tchar(b) && !b.is_ascii_uppercase()),
            "bad name {name:?}"
        );
        assert!(!value.is_empty(), "empty value for {name:?}");
        assert!(value.bytes().all(class::is_field), "bad value {value:?}");
        assert!(
            !value.starts_with([' ', '\t']) && !value.ends_with([' ', '\t']),
            "untrimmed value {value:?}"
        );
        assert!(
            headers.iter().take(i).all(|(other, _)| other != name),
            "duplicate header {name:?}"
        );
    }
}

/// The framing the headers call for (before HEAD/1xx/204/304 take the body away).
pub fn framing_from_headers(headers: &[(String, String)]) -> Framing {
    let mut framing = Framing::None;
    for (name, value) in headers {
        match name.as_str() {
            "content-length" => framing = Framing::Length(value.parse().unwrap_or(u64::MAX)),
            "transfer-encoding" => framing = Framing::Chunked,
            _ => {}
        }
    }
    framing
}

/// Offsets `k < len` just past a `\n` in `data[..len]`: the prefixes the server engine
/// re-parses while a head arrives (and refuses at once if they fail).
pub fn line_end_prefixes(data: &[u8], len: usize) -> impl Iterator<Item = usize> + '_ {
    data.iter()
        .take(len.saturating_sub(1))
        .enumerate()
        .filter(|&(_, &b)| b == b'\n')
        .map(|(i, _)| i + 1)
}
