//! The head parser: request and response heads from a caller's buffer, in one pass.
//!
//! The parser validates every byte against its region's class while it looks for line
//! ends, folds header names to lower case in place (hence `&mut [u8]`), then hands out
//! `&str` views into the same buffer. It never reads past the final `\r\n\r\n`: bytes
//! after it are the body or the next pipelined message.
//!
//! Incremental use: call again with the longer buffer after [`Status::Partial`]. Errors
//! are reported as soon as a byte is known to be wrong, so a hostile head costs at most
//! one pass. Callers that grow a buffer read by read use [`RequestParser`] /
//! [`ResponseParser`], which resume at the first line not yet finished, so no line is
//! parsed twice; [`find_head_end`] only finds where a head ends.
//!
//! Speed: names, the request-target and value ends are found by table lookups eight
//! bytes at a time with a branch per byte, whole blocks of values are skipped with vector
//! tests (`wire/class.rs` has the scans and why); names are folded in the same pass that checks
//! them; the target is checked against [`Target::check`]'s rules in the pass that finds
//! its end; duplicate names are caught by a 64-bit fingerprint filter and compared only on
//! a hit. Checks found early (a bad target, a duplicate) are still reported where the
//! rules put them, after the header lines, so every input gets the same error as a
//! byte-at-a-time parser would give it.

use crate::error::ParseError;
use crate::limits::{MAX_HEAD_LEN, MAX_HEADER_NAME_LEN, MAX_URI_LEN};
use crate::wire::class;
use crate::wire::head::Framing;
use crate::wire::head::{Headers, Method, RequestHead, ResponseHead, Span, Status, ascii_str};
#[cfg(feature = "range")]
use crate::wire::range::Range;
use crate::wire::range::{ContentRange, parse_decimal};
use crate::wire::uri::Target;

/// How a line scan ended.
enum LineEnd {
    /// `\r\n` at this offset (the offset of `\r`).
    Crlf(usize),
    /// A byte outside the class that does not start a CRLF.
    Bad,
    /// Ran out of bytes.
    Partial,
}

/// Scan from `start` while bytes are in `class`; report how the run ended.
#[inline(always)]
fn scan(buf: &[u8], start: usize, in_class: impl Fn(u8) -> bool) -> LineEnd {
    let Some(rest) = buf.get(start..) else {
        return LineEnd::Partial;
    };
    match rest.iter().position(|&b| !in_class(b)) {
        None => LineEnd::Partial,
        Some(i) => line_end(buf, start + i),
    }
}

/// Find the end of a head in `buf` (the offset just past `\r\n\r\n`), starting the search
/// at `*scanned` and leaving there where the next search may resume. `None` when the head
/// has not ended yet.
pub fn find_head_end(buf: &[u8], scanned: &mut usize) -> Option<usize> {
    let from = scanned.saturating_sub(3);
    let hay = buf.get(from..)?;
    match hay.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(i) => Some(from + i + 4),
        None => {
            *scanned = buf.len();
            None
        }
    }
}

/// A head parsed as its bytes arrive, each line once: [`RequestParser`] or
/// [`ResponseParser`], by the start line `L` the head begins with.
///
/// An engine reads into one buffer and calls [`feed`](Self::feed) after every read with
/// all of it: the parser resumes at the first line it has not finished, so a head that
/// arrives in pieces is still scanned once (a partial line is looked at again only when a
/// line end has come in since). Once `feed` gives the head's length, `head` hands out the
/// [`RequestHead`] or [`ResponseHead`] from the same buffer without parsing again.
///
/// ```
/// use degu_core::wire::parse::RequestParser;
///
/// let mut buf = *b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
/// let mut parser = RequestParser::<8>::new();
/// // The first 25 bytes: the request line is in, the host line is not.
/// assert_eq!(parser.feed(&mut buf[..25], 1024), Ok(None));
/// let len = parser.feed(&mut buf, 1024).unwrap().unwrap();
/// let head = parser.head(&buf[..len]).unwrap();
/// assert_eq!((head.uri, head.headers.get("host")), ("/hello", Some("x")));
/// ```
pub struct HeadParser<L, const N: usize> {
    line: Option<L>,
    scan: HeaderScan,
    spans: [Span; N],
}

/// A request head parsed as its bytes arrive (see [`HeadParser`]).
pub type RequestParser<const N: usize = { crate::limits::DEFAULT_MAX_HEADERS }> =
    HeadParser<RequestLine, N>;

/// A response head parsed as its bytes arrive (see [`HeadParser`]), for a request made
/// with some [`Method`] (see [`parse_response`]).
pub type ResponseParser<const N: usize = { crate::limits::DEFAULT_MAX_HEADERS }> =
    HeadParser<StatusLine, N>;

mod sealed {
    use crate::error::ParseError;

    /// The line a head starts with: the request line or the status line.
    pub trait StartLine: Sized {
        /// Parse the start line at the start of `buf`: the line and the offset of its
        /// CR, `None` while it is cut short.
        fn parse(buf: &[u8]) -> Result<Option<(Self, usize)>, ParseError>;
        /// The error for a buffer that filled up before the head ended, with `line`
        /// parsed or not.
        fn overflow(line: Option<&Self>) -> ParseError;
    }
}
use sealed::StartLine;

impl<L: StartLine, const N: usize> HeadParser<L, N> {
    /// A parser at the start of a head.
    pub const fn new() -> Self {
        HeadParser {
            line: None,
            scan: HeaderScan::new(),
            spans: [Span::EMPTY; N],
        }
    }

    /// Parse on in `buf`, the head so far (the bytes of earlier calls unchanged, more
    /// after them), whose buffer holds at most `limit` bytes: the head's length once
    /// its blank line is in, `None` while more is needed, or the error as soon as a
    /// line that has ended is wrong, or when `buf` is full without a head (a request:
    /// 414 while the request line is open, 431 after it; a response: 431).
    ///
    /// It parses on only when a line has ended since the last call, so a head that
    /// trickles in a byte at a time costs one look per byte, not a scan of its open
    /// line: a bad byte in a line not yet ended is reported when the line ends (or the
    /// buffer fills, or the engine's head timeout fires).
    #[inline]
    pub fn feed(&mut self, buf: &mut [u8], limit: usize) -> Result<Option<usize>, ParseError> {
        if self.scan.line_ended(buf) {
            let found = self.advance(buf)?;
            if found.is_some() {
                return Ok(found);
            }
        }
        if buf.len() >= limit.min(MAX_HEAD_LEN) {
            return Err(L::overflow(self.line.as_ref()));
        }
        Ok(None)
    }

    /// The start line (again, until it is whole), then the header lines from the first
    /// one not yet finished.
    #[inline(always)]
    fn advance(&mut self, buf: &mut [u8]) -> Result<Option<usize>, ParseError> {
        if self.line.is_none() {
            let Some((line, cr)) = L::parse(buf)? else {
                return Ok(None);
            };
            self.scan.start(cr);
            self.line = Some(line);
        }
        self.scan.header_lines(buf, &mut self.spans)
    }
}

impl<L: StartLine, const N: usize> Default for HeadParser<L, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> HeadParser<RequestLine, N> {
    /// The head [`feed`](Self::feed) found: `head` is the buffer's first `len` bytes.
    /// What only the whole head can tell (the target's rules, duplicate names, the
    /// framing and range headers) is checked here, in that order, after the line
    /// errors, as a byte-at-a-time parser would report them.
    ///
    /// By reference: an engine that keeps the parser and the head in one slot (for a
    /// smaller connection future) makes the head without first moving the parser out.
    #[inline]
    pub fn head<'b>(&self, head: &'b [u8]) -> Result<RequestHead<'b, N>, ParseError> {
        let line = self.line.ok_or(ParseError::BadRequestLine)?;
        request_head(line, &self.scan, &self.spans, head, |h| h)
    }
}

impl<const N: usize> HeadParser<StatusLine, N> {
    /// The status, once the status line is in.
    pub fn status(&self) -> Option<u16> {
        self.line.as_ref().map(|l| l.status)
    }

    /// The head [`feed`](Self::feed) found, for a request made with `method`: `head` is
    /// the buffer's first `len` bytes. A response to HEAD, and any 1xx, 204 or 304
    /// response, has no body whatever its headers say.
    #[inline]
    pub fn head<'b>(
        &self,
        head: &'b [u8],
        method: Method,
    ) -> Result<ResponseHead<'b, N>, ParseError> {
        let line = self.line.ok_or(ParseError::BadStatusLine)?;
        response_head(line, &self.scan, &self.spans, head, method, |h| h)
    }
}

/// Parse a request head from the start of `buf`, in one call.
///
/// Header names are lower-cased in place. `N` is the number of header slots (more is
/// 431). See README.md, "Wire rules", for every rule and the status each failure maps to.
/// An engine reading a head in pieces uses a [`RequestParser`], which gives the same
/// results without parsing a line twice.
#[inline]
pub fn parse_request<'b, const N: usize>(
    buf: &'b mut [u8],
) -> Result<Status<RequestHead<'b, N>>, ParseError> {
    let mut spans = [Span::EMPTY; N];
    let Some((line, scan)) = parse_whole::<RequestLine, N>(buf, &mut spans)? else {
        return Ok(Status::Partial);
    };
    let buf: &'b [u8] = buf;
    let head = buf.get(..scan.pos).unwrap_or(&[]);
    request_head(line, &scan, &spans, head, Status::Complete)
}

/// Parse a response head from the start of `buf`, in one call, for a request made with
/// `method` (a [`ResponseParser`] reads one in pieces).
///
/// A response to HEAD, and any 1xx, 204 or 304 response, has no body whatever its
/// headers say; otherwise `content-length` or `transfer-encoding: chunked` frames the
/// body and neither means no body (no read-until-close, as in the Python original).
#[inline]
pub fn parse_response<'b, const N: usize>(
    buf: &'b mut [u8],
    method: Method,
) -> Result<Status<ResponseHead<'b, N>>, ParseError> {
    let mut spans = [Span::EMPTY; N];
    let Some((line, scan)) = parse_whole::<StatusLine, N>(buf, &mut spans)? else {
        return Ok(Status::Partial);
    };
    let buf: &'b [u8] = buf;
    let head = buf.get(..scan.pos).unwrap_or(&[]);
    response_head(line, &scan, &spans, head, method, Status::Complete)
}

/// A [`HeadParser`]'s steps over a whole buffer, into the caller's `spans` (a local that
/// then moves into the head where it is, not copied out of a parser): the start line and
/// the finished scan (its `pos` is the head's length), `None` for a head cut short, or the
/// error (the overflow error once `buf` is as long as a head may be).
#[inline(always)]
fn parse_whole<L: StartLine, const N: usize>(
    buf: &mut [u8],
    spans: &mut [Span; N],
) -> Result<Option<(L, HeaderScan)>, ParseError> {
    let Some((line, cr)) = L::parse(buf)? else {
        return partial(buf, L::overflow(None));
    };
    let mut scan = HeaderScan::new();
    scan.start(cr);
    match scan.header_lines(buf, spans)? {
        Some(_) => Ok(Some((line, scan))),
        None => partial(buf, L::overflow(Some(&line))),
    }
}

/// The request head of a whole `head` whose request line and header lines are parsed:
/// what only the whole head can tell (the target's rules, duplicate names, the framing
/// and range headers), checked in that order.
#[inline(always)]
fn request_head<'b, const N: usize, T>(
    line: RequestLine,
    lines: &HeaderScan,
    spans: &[Span; N],
    head: &'b [u8],
    wrap: impl FnOnce(RequestHead<'b, N>) -> T,
) -> Result<T, ParseError> {
    let (u_start, u_end) = line.uri;
    let uri = ascii(head.get(u_start..u_end))?;
    let target = match line.query {
        None => Target {
            path: uri,
            query: None,
        },
        // `?` is one byte: both sides are on character boundaries.
        Some(q) => Target {
            path: uri.get(..q - u_start).ok_or(ParseError::BadUri)?,
            query: Some(uri.get(q + 1 - u_start..).ok_or(ParseError::BadUri)?),
        },
    };
    line.target?;
    if lines.duplicate {
        return Err(ParseError::DuplicateHeader);
    }

    let mut framing = FramingHeaders::default();
    #[cfg(feature = "range")]
    let mut range = None;
    if lines.special {
        for s in spans.get(..lines.count).unwrap_or(&[]) {
            let (name, value) = (span(head, s.name), span(head, s.value));
            // Without the feature a `range` header is an ordinary header, ignored.
            #[cfg(feature = "range")]
            if class::same(name, b"range") {
                range = Some(Range::parse(ascii(Some(value))?)?);
                continue;
            }
            if class::same(name, b"content-range") {
                return Err(ParseError::ContentRangeInRequest);
            }
            framing.header(name, value)?;
        }
    }
    let body_header = framing.any();
    let framing = framing.framing()?;
    if body_header && !line.method.allows_body() {
        return Err(ParseError::BodyNotAllowed);
    }
    #[cfg(feature = "range")]
    if body_header && range.is_some() {
        return Err(ParseError::RangeWithBody);
    }
    Ok(wrap(RequestHead {
        method: line.method,
        uri,
        target,
        headers: Headers::from_spans(head, *spans, lines.count),
        framing,
        #[cfg(feature = "range")]
        range,
        len: lines.pos,
    }))
}

/// The response head of a whole `head` whose status line (`(status, CR offset)`) and
/// header lines are parsed, for a request made with `method`.
#[inline(always)]
fn response_head<'b, const N: usize, T>(
    StatusLine {
        status,
        cr: line_end,
    }: StatusLine,
    lines: &HeaderScan,
    spans: &[Span; N],
    head: &'b [u8],
    method: Method,
    wrap: impl FnOnce(ResponseHead<'b, N>) -> T,
) -> Result<T, ParseError> {
    let reason = ascii(head.get(13..line_end)).unwrap_or("");
    if lines.duplicate {
        return Err(ParseError::DuplicateHeader);
    }

    let mut framing = FramingHeaders::default();
    let mut content_range = None;
    if lines.special {
        for s in spans.get(..lines.count).unwrap_or(&[]) {
            let (name, value) = (span(head, s.name), span(head, s.value));
            match name {
                b"content-range" => {
                    let value = ascii(Some(value))?;
                    // A 416's `bytes */<total>` is valid but not a range: left untyped.
                    if !(status == 416 && ContentRange::parse_unsatisfied(value).is_ok()) {
                        content_range = Some(ContentRange::parse(value)?);
                    }
                }
                b"range" => return Err(ParseError::RangeInResponse),
                _ => framing.header(name, value)?,
            }
        }
    }
    let declared = framing.framing()?;
    let framing = if method == Method::Head || status < 200 || status == 204 || status == 304 {
        Framing::None
    } else {
        declared
    };
    Ok(wrap(ResponseHead {
        status,
        reason,
        headers: Headers::from_spans(head, *spans, lines.count),
        framing,
        declared,
        content_range,
        len: lines.pos,
    }))
}

/// The framing headers of one head, as its header loop meets them.
#[derive(Default)]
struct FramingHeaders {
    framing: Framing,
    length: bool,
    chunked: bool,
}

impl FramingHeaders {
    /// Take `content-length` or `transfer-encoding`; ignore any other header.
    #[inline]
    fn header(&mut self, name: &[u8], value: &[u8]) -> Result<(), ParseError> {
        if class::same(name, b"content-length") {
            self.framing = Framing::Length(content_length(value)?);
            self.length = true;
        } else if class::same(name, b"transfer-encoding") {
            transfer_encoding(value)?;
            self.framing = Framing::Chunked;
            self.chunked = true;
        }
        Ok(())
    }

    /// Whether either framing header was present.
    fn any(&self) -> bool {
        self.length || self.chunked
    }

    /// The body's framing; both headers at once is an error.
    fn framing(&self) -> Result<Framing, ParseError> {
        if self.length && self.chunked {
            return Err(ParseError::LengthAndChunked);
        }
        Ok(self.framing)
    }
}

/// `None` for a head cut short, or `overflow` once `buf` is as long as a head may be.
fn partial<T>(buf: &[u8], overflow: ParseError) -> Result<Option<T>, ParseError> {
    if buf.len() >= MAX_HEAD_LEN {
        Err(overflow)
    } else {
        Ok(None)
    }
}

/// Bytes of the parsed head as text. They are ASCII, so this cannot fail in practice; it
/// is still an error, not a panic, if it ever did.
#[inline]
fn ascii(bytes: Option<&[u8]>) -> Result<&str, ParseError> {
    bytes.and_then(ascii_str).ok_or(ParseError::BadHeaderValue)
}

/// A span's bytes in the head (empty if it were ever out of range).
#[inline]
fn span(head: &[u8], (a, b): (u16, u16)) -> &[u8] {
    head.get(usize::from(a)..usize::from(b)).unwrap_or(&[])
}

/// What a request line holds (the start line of a [`RequestParser`]).
#[derive(Clone, Copy)]
pub struct RequestLine {
    method: Method,
    /// The request-target's offsets.
    uri: (usize, usize),
    /// The offset of the target's first `?`, if any.
    query: Option<usize>,
    /// The verdict of [`Target::check`] on the target, found while scanning it and
    /// reported only once the whole head has parsed (header errors come first).
    target: Result<(), ParseError>,
    /// The offset of the line's CR.
    cr: usize,
}

impl StartLine for RequestLine {
    #[inline(always)]
    fn parse(buf: &[u8]) -> Result<Option<(Self, usize)>, ParseError> {
        Ok(request_line(buf)?.map(|l| {
            let cr = l.cr;
            (l, cr)
        }))
    }

    fn overflow(line: Option<&Self>) -> ParseError {
        match line {
            None => ParseError::UriTooLong,
            Some(_) => ParseError::HeadTooLarge,
        }
    }
}

/// What a status line holds (the start line of a [`ResponseParser`]).
#[derive(Clone, Copy)]
pub struct StatusLine {
    status: u16,
    /// The offset of the line's CR.
    cr: usize,
}

impl StartLine for StatusLine {
    #[inline(always)]
    fn parse(buf: &[u8]) -> Result<Option<(Self, usize)>, ParseError> {
        Ok(status_line(buf)?.map(|(status, cr)| (StatusLine { status, cr }, cr)))
    }

    fn overflow(_: Option<&Self>) -> ParseError {
        ParseError::HeadTooLarge
    }
}

/// The first four bytes of `bytes` as a number to compare with a 4-byte literal.
#[inline(always)]
fn four(bytes: &[u8]) -> Option<u32> {
    bytes.first_chunk::<4>().map(|b| u32::from_le_bytes(*b))
}

/// `method SP origin-form SP HTTP/1.1 CRLF`.
#[inline(always)]
fn request_line(buf: &[u8]) -> Result<Option<RequestLine>, ParseError> {
    request_line_with::<FAST_LINE>(buf)
}

/// Whether the request line's method and version are first compared as whole words
/// (`GET `, `HTTP/1.1` + CRLF) before the general, byte-by-byte way: on the out-of-order
/// cores that `class` unrolls its scans for, where the compares save time. On a
/// microcontroller they are only more flash beside the general way, which gives the
/// same answers (the tests run both).
const FAST_LINE: bool = class::UNROLL;

#[inline(always)]
fn request_line_with<const FAST: bool>(buf: &[u8]) -> Result<Option<RequestLine>, ParseError> {
    // Method token: the five methods followed by SP take the fast way; anything else
    // (including every error and every partial line) the general one.
    const GET: u32 = u32::from_le_bytes(*b"GET ");
    const PUT: u32 = u32::from_le_bytes(*b"PUT ");
    const POST: u32 = u32::from_le_bytes(*b"POST");
    const HEAD: u32 = u32::from_le_bytes(*b"HEAD");
    let sp_at_4 = buf.get(4) == Some(&b' ');
    let (method, m_end) = match four(buf).filter(|_| FAST) {
        Some(GET) if buf.len() > 4 => (Method::Get, 3),
        Some(PUT) if buf.len() > 4 => (Method::Put, 3),
        Some(POST) if sp_at_4 => (Method::Post, 4),
        Some(HEAD) if sp_at_4 => (Method::Head, 4),
        _ => match method_token(buf)? {
            Some(m) => m,
            None => return Ok(None),
        },
    };

    // Request-target, checked against Target::check's rules in the same pass.
    let u_start = m_end + 1;
    let rest = buf.get(u_start..).unwrap_or(&[]);
    let window = rest.get(..=MAX_URI_LEN).unwrap_or(rest);
    let scan = scan_target(window);
    let u_len = match scan.len {
        None if window.len() > MAX_URI_LEN => return Err(ParseError::UriTooLong),
        None => return Ok(None),
        Some(i) => i,
    };
    let u_end = u_start + u_len;
    match buf.get(u_end) {
        Some(b' ') => {}
        // The line ended without a version (`GET /x\r\n`): a line error, not a URI one.
        Some(b'\r' | b'\n') => return Err(ParseError::BadRequestLine),
        _ if u_len == 0 => return Err(ParseError::BadRequestLine),
        _ => return Err(ParseError::BadUri),
    }
    if buf.get(u_start) != Some(&b'/') {
        return Err(ParseError::BadRequestLine);
    }

    // Version: `HTTP/1.1\r\n` the fast way, everything else the general one.
    const HTTP: u64 = u64::from_le_bytes(*b"HTTP/1.1");
    const CRLF: u16 = u16::from_le_bytes(*b"\r\n");
    let v_start = u_end + 1;
    let version_line = buf
        .get(v_start..)
        .filter(|_| FAST)
        .and_then(|v| v.split_first_chunk::<8>())
        .and_then(|(v, rest)| Some((u64::from_le_bytes(*v), rest.first_chunk::<2>()?)));
    let cr = match version_line {
        Some((HTTP, crlf)) if u16::from_le_bytes(*crlf) == CRLF => v_start + 8,
        _ => match version(buf, v_start)? {
            Some(cr) => cr,
            None => return Ok(None),
        },
    };
    Ok(Some(RequestLine {
        method,
        uri: (u_start, u_end),
        query: scan.query.map(|q| u_start + q),
        target: scan.verdict,
        cr,
    }))
}

/// The method token of a request line the fast way did not take: the method and the
/// offset of the SP after it, `None` for a partial line.
#[cold]
fn method_token(buf: &[u8]) -> Result<Option<(Method, usize)>, ParseError> {
    let m_end = match buf.iter().position(|&b| !class::is_tchar(b)) {
        None => return Ok(None),
        Some(i) => i,
    };
    if m_end == 0 || buf.get(m_end) != Some(&b' ') {
        return Err(ParseError::BadRequestLine);
    }
    let method = buf
        .get(..m_end)
        .and_then(Method::from_token)
        .ok_or(ParseError::UnsupportedMethod)?;
    Ok(Some((method, m_end)))
}

/// The version of a request line that is not exactly `HTTP/1.1\r\n` (or not complete):
/// the offset of the line's CR, `None` for a partial line, or the error.
#[cold]
fn version(buf: &[u8], v_start: usize) -> Result<Option<usize>, ParseError> {
    let cr = match scan(buf, v_start, |b| class::is_tchar(b) || b == b'/') {
        LineEnd::Partial => return Ok(None),
        LineEnd::Bad => return Err(ParseError::BadRequestLine),
        LineEnd::Crlf(cr) => cr,
    };
    match buf.get(v_start..cr) {
        Some(v) if class::same(v, b"HTTP/1.1") => Ok(Some(cr)),
        Some([b'H', b'T', b'T', b'P', b'/', major, b'.', minor])
            if major.is_ascii_digit() && minor.is_ascii_digit() =>
        {
            Err(ParseError::UnsupportedVersion)
        }
        _ => Err(ParseError::BadRequestLine),
    }
}

/// One pass over a request-target.
struct TargetScan {
    /// Length of the run of URI-class bytes; `None` if it fills the whole window.
    len: Option<usize>,
    /// Offset of the first `?` in the run.
    query: Option<usize>,
    /// [`Target::check`]'s verdict on the run, meaningful when it starts with `/`.
    verdict: Result<(), ParseError>,
}

/// Scan the URI-class run at the start of `window` and check it as an origin-form target
/// on the way: path components in the path class, no empty component but a trailing one,
/// no `..`; the query (after the first `?`) in the query class. Exactly
/// [`Target::check`]'s rules, in one pass.
#[inline]
fn scan_target(window: &[u8]) -> TargetScan {
    let mut bad_path = false;
    let mut bad_query = false;
    let mut query = None;
    let mut len = None;
    // Byte 0 is the path's `/` in any target that can pass; any other URI byte there is
    // a request-line error found by the caller, whatever this pass concludes.
    match window.first() {
        Some(&b) if class::is_uri(b) => {}
        Some(_) => len = Some(0),
        None => {}
    }
    let mut seg_start = 1;
    let mut i = 1;
    if len.is_none() {
        // Path: runs of path bytes, then a look at the byte that ended each run.
        loop {
            i = class::path_run(window, i);
            match window.get(i) {
                None => break,
                Some(b'/') => {
                    let seg = window.get(seg_start..i).unwrap_or(&[]);
                    bad_path |= seg.is_empty() || seg == b"..";
                    seg_start = i + 1;
                }
                Some(b'?') => {
                    query = Some(i);
                    break;
                }
                Some(&b) if class::is_uri(b) => bad_path = true,
                Some(_) => {
                    len = Some(i);
                    break;
                }
            }
            i += 1;
        }
        bad_path |= window.get(seg_start..i) == Some(b"..");
    }
    if query.is_some() {
        // Query: runs of query bytes; a `/` or `?` in it is not one.
        loop {
            i = class::query_run(window, i + 1);
            match window.get(i) {
                None => break,
                Some(&b) if class::is_uri(b) => bad_query = true,
                Some(_) => {
                    len = Some(i);
                    break;
                }
            }
        }
    }
    let verdict = if bad_path {
        Err(ParseError::BadPath)
    } else if bad_query {
        Err(ParseError::BadQuery)
    } else {
        Ok(())
    };
    TargetScan {
        len,
        query,
        verdict,
    }
}
/// `HTTP/1.1 SP ddd SP reason CRLF`. Returns the status and the offset of the CR.
#[inline]
fn status_line(buf: &[u8]) -> Result<Option<(u16, usize)>, ParseError> {
    let cr = match line_end(buf, class::field_run(buf, 0)) {
        LineEnd::Partial => return Ok(None),
        LineEnd::Bad => return Err(bad_status_line(buf)),
        LineEnd::Crlf(cr) => cr,
    };
    let line = buf.get(..cr).unwrap_or(&[]);
    let Some(([d0, d1, d2], rest)) = line
        .strip_prefix(b"HTTP/1.1 ")
        .and_then(|r| r.split_first_chunk::<3>())
    else {
        return Err(ParseError::BadStatusLine);
    };
    if !(d0.is_ascii_digit() && d1.is_ascii_digit() && d2.is_ascii_digit()) {
        return Err(ParseError::BadStatusLine);
    }
    if rest.first() != Some(&b' ') {
        return Err(ParseError::BadStatusLine);
    }
    let status = u16::from(d0 - b'0') * 100 + u16::from(d1 - b'0') * 10 + u16::from(d2 - b'0');
    if !(100..=599).contains(&status) {
        return Err(ParseError::BadStatus);
    }
    Ok(Some((status, cr)))
}

/// The error for a status line with a byte outside the field class: `BadReason` when the
/// byte sits in the reason after a well-formed `HTTP/1.1 ddd ` and is not a line end,
/// `BadStatusLine` otherwise.
#[cold]
fn bad_status_line(buf: &[u8]) -> ParseError {
    let at = buf.iter().position(|&b| !class::is_field(b)).unwrap_or(0);
    let prefix_ok = buf
        .strip_prefix(b"HTTP/1.1 ")
        .and_then(|r| r.first_chunk::<4>())
        .is_some_and(|[d0, d1, d2, sp]| {
            d0.is_ascii_digit() && d1.is_ascii_digit() && d2.is_ascii_digit() && *sp == b' '
        });
    if at >= 13 && prefix_ok && !matches!(buf.get(at), Some(b'\r' | b'\n')) {
        ParseError::BadReason
    } else {
        ParseError::BadStatusLine
    }
}

/// How a run of class bytes that stopped at `at` (or ran to the end of `buf`) ends its
/// line.
#[inline(always)]
fn line_end(buf: &[u8], at: usize) -> LineEnd {
    match (buf.get(at), buf.get(at + 1)) {
        (Some(b'\r'), Some(b'\n')) => LineEnd::Crlf(at),
        (Some(b'\r'), None) | (None, _) => LineEnd::Partial,
        _ => LineEnd::Bad,
    }
}

/// The header lines of a head, scanned as they arrive: where the next line starts and
/// what the finished lines held. Only whole lines count: a line cut short is scanned
/// again from its start when more has come.
struct HeaderScan {
    /// Where the next header line (or the blank line) starts; once the head is
    /// complete, its length, final CRLF included.
    pos: usize,
    /// How far the buffer has been looked at for a line end.
    looked: usize,
    /// Spans recorded.
    count: usize,
    /// The name fingerprints seen (see [`fingerprint`]).
    seen: u64,
    /// Whether a name may be one the parser interprets: `range`, `content-range`,
    /// `content-length` or `transfer-encoding` (judged by length and first byte).
    special: bool,
    /// Whether two names are the same (reported after the whole head has parsed).
    duplicate: bool,
}

impl HeaderScan {
    const fn new() -> Self {
        HeaderScan {
            pos: 0,
            looked: 0,
            count: 0,
            seen: 0,
            special: false,
            duplicate: false,
        }
    }

    /// The start line ended with the CR at `cr`: header lines start after it.
    #[inline(always)]
    fn start(&mut self, cr: usize) {
        self.pos = cr + 2;
    }

    /// Whether a line has ended in `buf` since the last look, which is when parsing on
    /// can get further (or find a bad byte the line holds); a head trickling in a byte
    /// at a time is then scanned once for line ends and once per line.
    #[inline(always)]
    fn line_ended(&mut self, buf: &[u8]) -> bool {
        let new = buf.get(self.looked..).unwrap_or(&[]);
        self.looked = buf.len();
        // `contains` is core's word-at-a-time memchr: fast on a host, 140 bytes of
        // flash on a core without SIMD, where a byte loop is as good for a read's bytes.
        if class::UNROLL {
            new.contains(&b'\n')
        } else {
            #[allow(clippy::manual_contains)] // the loop is the point: see above
            new.iter().any(|&b| b == b'\n')
        }
    }

    /// Header lines from `self.pos` up to and including the empty line. Lower-cases
    /// names in place and records spans. Returns the head length once it is whole.
    #[inline(never)]
    fn header_lines<const N: usize>(
        &mut self,
        buf: &mut [u8],
        spans: &mut [Span; N],
    ) -> Result<Option<usize>, ParseError> {
        // The scan runs on locals, written back when a line is cut short.
        let mut pos = self.pos;
        let mut count = self.count;
        let mut seen = self.seen;
        let mut duplicate = self.duplicate;
        let mut special = self.special;
        loop {
            let first = match buf.get(pos) {
                None => break,
                Some(&b) => b,
            };
            match first {
                b'\r' => match buf.get(pos + 1) {
                    Some(b'\n') => {
                        let len = pos + 2;
                        if len > MAX_HEAD_LEN {
                            return Err(ParseError::HeadTooLarge);
                        }
                        (self.pos, self.count) = (len, count);
                        (self.duplicate, self.special) = (duplicate, special);
                        return Ok(Some(len));
                    }
                    None => break,
                    // A name that stops at once: a line error, found below.
                    Some(_) => {}
                },
                b' ' | b'\t' => return Err(ParseError::BadHeaderLine),
                _ => {}
            }

            // Name: the token class, folded to lower case on the way, over at most one
            // byte more than the longest name allowed.
            let name_start = pos;
            let cap = buf.len().min(pos + MAX_HEADER_NAME_LEN + 1);
            let name_end = class::fold_name_run(buf.get_mut(..cap).unwrap_or(&mut []), pos);
            let name_len = name_end - name_start;
            if buf.get(name_end) != Some(&b':') || name_len == 0 || name_end == cap {
                bad_name(buf, name_start, name_end, cap)?;
                break;
            }
            // The last two bytes are loaded one by one: either may have just been
            // written by the fold, and a wider load would have to wait for the writes.
            let (before_last, last) = match buf.get(name_end - 2..name_end) {
                Some(&[a, b]) => (a, b),
                _ => (0, 0),
            };
            let bit = fingerprint(first, before_last, last, name_len);
            let maybe_duplicate = seen & bit != 0;

            // Value: OWS, field bytes, OWS, CRLF. OWS is field bytes too: skip it first,
            // then find the end of the run, then take OWS back off its end.
            let mut value_start = name_end + 1;
            if buf.get(value_start) == Some(&b' ') {
                value_start += 1;
            }
            while let Some(b' ' | b'\t') = buf.get(value_start) {
                value_start += 1;
            }
            let cr = class::field_run(buf, value_start);
            if buf.get(cr..cr + 2) != Some(b"\r\n") {
                bad_value_end(buf, cr)?;
                break;
            }
            let mut value_end = cr;
            if matches!(buf.get(cr - 1), Some(b' ' | b'\t')) {
                while value_end > value_start
                    && matches!(buf.get(value_end - 1), Some(b' ' | b'\t'))
                {
                    value_end -= 1;
                }
            }
            if value_end == value_start {
                return Err(ParseError::EmptyHeaderValue);
            }
            // The largest of a line's offsets.
            offset(value_end)?;
            let span = Span {
                name: (name_start as u16, name_end as u16),
                value: (value_start as u16, value_end as u16),
            };
            if maybe_duplicate {
                let name = buf.get(name_start..name_end);
                duplicate |= spans
                    .get(..count)
                    .unwrap_or(&[])
                    .iter()
                    .any(|o| buf.get(usize::from(o.name.0)..usize::from(o.name.1)) == name);
            }
            let slot = spans.get_mut(count).ok_or(ParseError::TooManyHeaders)?;
            *slot = span;
            // The line is whole: what it holds counts from here on.
            seen |= bit;
            special |= matches!(
                (name_len, first | 0x20),
                (5, b'r') | (13 | 14, b'c') | (17, b't')
            );
            count += 1;
            pos = cr + 2;
        }
        // Cut short: resume at the start of the line.
        (self.pos, self.count, self.seen) = (pos, count, seen);
        (self.duplicate, self.special) = (duplicate, special);
        Ok(None)
    }
}

/// A value line whose run of field bytes stopped at `at` without a CRLF: cut short
/// (`Ok`), or a byte outside the class.
#[cold]
fn bad_value_end(buf: &[u8], at: usize) -> Result<(), ParseError> {
    match (buf.get(at), buf.get(at + 1)) {
        (Some(b'\r'), None) | (None, _) => Ok(()),
        _ => Err(ParseError::BadHeaderValue),
    }
}

/// What a header line whose name, starting at `pos`, does not end on a `:` within
/// [`MAX_HEADER_NAME_LEN`] bytes comes to (`end`: the first byte from `pos` on that is
/// not a tchar, or `cap`, one byte past the limit or the buffer's end if sooner): an
/// error, or `Ok` when the buffer ends first.
#[cold]
fn bad_name(buf: &[u8], pos: usize, end: usize, cap: usize) -> Result<(), ParseError> {
    match buf.get(end).filter(|_| end < cap) {
        Some(b'\r' | b'\n') => Err(ParseError::BadHeaderLine),
        Some(_) => Err(ParseError::BadHeaderName),
        None if cap - pos > MAX_HEADER_NAME_LEN => Err(ParseError::HeaderNameTooLong),
        None => Ok(()),
    }
}

/// One of 64 bits for a name, from its length and its first and last two bytes with
/// case ignored (`| 0x20` maps a letter's two cases together and no two other tchars
/// together): names equal once folded have equal bits, so a name whose bit is new is
/// not a duplicate. (For a one-byte name `before_last` is the `\n` that ends the line
/// before, the same for every name.)
#[inline(always)]
const fn fingerprint(first: u8, before_last: u8, last: u8, len: usize) -> u64 {
    let key = u32::from_le_bytes([first | 0x20, before_last | 0x20, last | 0x20, len as u8]);
    1 << (key.wrapping_mul(0x9E37_79B1) >> 26)
}

/// A head offset as stored in a [`Span`]; past `u16` the head is too large anyway.
#[inline(always)]
fn offset(i: usize) -> Result<u16, ParseError> {
    u16::try_from(i).map_err(|_| ParseError::HeadTooLarge)
}

fn content_length(value: &[u8]) -> Result<u64, ParseError> {
    match parse_decimal(value) {
        Ok(n) => Ok(n),
        Err(true) => Err(ParseError::ContentLengthTooLarge),
        Err(false) => Err(ParseError::BadContentLength),
    }
}

fn transfer_encoding(value: &[u8]) -> Result<(), ParseError> {
    if class::same(value, b"chunked") {
        Ok(())
    } else {
        Err(ParseError::BadTransferEncoding)
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    type Line = (
        Method,
        (usize, usize),
        Option<usize>,
        Result<(), ParseError>,
        usize,
    );

    fn line<const FAST: bool>(buf: &[u8]) -> Result<Option<Line>, ParseError> {
        Ok(request_line_with::<FAST>(buf)?.map(|l| (l.method, l.uri, l.query, l.target, l.cr)))
    }

    /// The word compares (hosts) and the byte-by-byte way (microcontrollers) give the
    /// same answer for every prefix of each line: the five methods with and without
    /// their SP, other tokens, every version form, and bad bytes in each place.
    #[test]
    fn request_line_with_and_without_the_word_compares_agree() {
        let lines: &[&[u8]] = &[
            b"GET /hello HTTP/1.1\r\n",
            b"PUT /a/b?x=1 HTTP/1.1\r\n",
            b"POST /echo HTTP/1.1\r\n",
            b"HEAD / HTTP/1.1\r\n",
            b"DELETE /x HTTP/1.1\r\n",
            b"OPTIONS /x HTTP/1.1\r\n",
            b"GETX /x HTTP/1.1\r\n",
            b"POSTED /x HTTP/1.1\r\n",
            b"HEADY /x HTTP/1.1\r\n",
            b"get /x HTTP/1.1\r\n",
            b"GET  /x HTTP/1.1\r\n",
            b"GET\t/x HTTP/1.1\r\n",
            b"GET /x HTTP/1.0\r\n",
            b"GET /x HTTP/2.0\r\n",
            b"GET /x HTTP/1.1\n",
            b"GET /x HTTP/1.1\rX",
            b"GET /x HTTP/1.11\r\n",
            b"GET /x http/1.1\r\n",
            b"GET /x\r\n",
            b"GET x HTTP/1.1\r\n",
            b"GET /a//b/../c HTTP/1.1\r\n",
            b"GET /a?b?c HTTP/1.1\r\n",
            b"GET /\x80 HTTP/1.1\r\n",
            b" GET / HTTP/1.1\r\n",
            b"\r\n",
        ];
        for full in lines {
            for end in 0..=full.len() {
                let buf = &full[..end];
                assert_eq!(
                    line::<true>(buf),
                    line::<false>(buf),
                    "{:?}",
                    buf.escape_ascii()
                );
            }
        }
        // And the answers themselves, for the ones the fast way takes.
        let get = line::<false>(b"GET /hello HTTP/1.1\r\n");
        assert_eq!(get, Ok(Some((Method::Get, (4, 10), None, Ok(()), 19))));
        assert_eq!(
            line::<false>(b"GET /x HTTP/1.0\r\n"),
            Err(ParseError::UnsupportedVersion)
        );
        assert_eq!(line::<false>(b"GET /hello HTTP/1.1\r"), Ok(None));
    }
}
