//! The head parser: request and response heads from a caller's buffer, in one pass.
//!
//! The parser validates every byte against its region's class while it looks for line
//! ends, folds header names to lower case in place (hence `&mut [u8]`), then hands out
//! `&str` views into the same buffer. It never reads past the final `\r\n\r\n`: bytes
//! after it are the body or the next pipelined message.
//!
//! Incremental use: call again with the longer buffer after [`Status::Partial`]. Errors
//! are reported as soon as a byte is known to be wrong, so a hostile head costs at most
//! one pass. Callers that grow a buffer byte by byte should first look for the head's end
//! with [`find_head_end`] (resumable) and parse once.

use crate::body::Framing;
use crate::error::ParseError;
use crate::limits::{MAX_HEAD_LEN, MAX_HEADER_NAME_LEN, MAX_URI_LEN};
use crate::wire::class;
use crate::wire::head::{Headers, Method, RequestHead, ResponseHead, Span, Status};
use crate::wire::range::{ContentRange, Range, parse_decimal};
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
        Some(i) => {
            let at = start + i;
            match (buf.get(at), buf.get(at + 1)) {
                (Some(b'\r'), Some(b'\n')) => LineEnd::Crlf(at),
                (Some(b'\r'), None) => LineEnd::Partial,
                _ => LineEnd::Bad,
            }
        }
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

/// The error for a buffer that filled up before its head ended: 414 while the request
/// line is still open, 431 after it.
pub fn overflow_error(buf: &[u8]) -> ParseError {
    if buf.contains(&b'\n') {
        ParseError::HeadTooLarge
    } else {
        ParseError::UriTooLong
    }
}

/// Parse a request head from the start of `buf`.
///
/// Header names are lower-cased in place. `N` is the number of header slots (more is
/// 431). See DESIGN §3 for every rule and the status each failure maps to.
pub fn parse_request<'b, const N: usize>(
    buf: &'b mut [u8],
) -> Result<Status<RequestHead<'b, N>>, ParseError> {
    let (method, uri, line_end) = match request_line(buf)? {
        Some(l) => l,
        None => return partial(buf, true),
    };
    let mut spans = Spans::<N>::new();
    let Some(len) = header_lines(buf, line_end, &mut spans)? else {
        return partial(buf, false);
    };
    if len > MAX_HEAD_LEN {
        return Err(ParseError::HeadTooLarge);
    }
    let text = head_text(buf, len)?;
    let uri = text.get(uri.0..uri.1).ok_or(ParseError::BadUri)?;
    let target = Target::split(uri);
    target.check()?;
    let headers = collect(text, spans)?;

    let mut framing = Framing::None;
    let mut range = None;
    let mut body_header = false;
    for h in headers.iter() {
        match h.name {
            "content-length" => {
                framing = Framing::Length(content_length(h.value)?);
                body_header = true;
            }
            "transfer-encoding" => {
                transfer_encoding(h.value)?;
                framing = Framing::Chunked;
                body_header = true;
            }
            "range" => range = Some(Range::parse(h.value)?),
            "content-range" => return Err(ParseError::ContentRangeInRequest),
            _ => {}
        }
    }
    if headers.contains("content-length") && headers.contains("transfer-encoding") {
        return Err(ParseError::LengthAndChunked);
    }
    if body_header && !method.allows_body() {
        return Err(ParseError::BodyNotAllowed);
    }
    if body_header && range.is_some() {
        return Err(ParseError::RangeWithBody);
    }
    Ok(Status::Complete(RequestHead {
        method,
        uri,
        target,
        headers,
        framing,
        range,
        len,
    }))
}

/// Parse a response head from the start of `buf`, for a request made with `method`.
///
/// A response to HEAD, and any 1xx, 204 or 304 response, has no body whatever its
/// headers say; otherwise `content-length` or `transfer-encoding: chunked` frames the
/// body and neither means no body (no read-until-close, as in the Python original).
pub fn parse_response<'b, const N: usize>(
    buf: &'b mut [u8],
    method: Method,
) -> Result<Status<ResponseHead<'b, N>>, ParseError> {
    let (status, line_end) = match status_line(buf)? {
        Some(l) => l,
        None => return partial(buf, false),
    };
    let mut spans = Spans::<N>::new();
    let Some(len) = header_lines(buf, line_end, &mut spans)? else {
        return partial(buf, false);
    };
    if len > MAX_HEAD_LEN {
        return Err(ParseError::HeadTooLarge);
    }
    let text = head_text(buf, len)?;
    let reason = text.get(13..line_end).unwrap_or("");
    let headers = collect(text, spans)?;

    let mut framing = Framing::None;
    let mut content_range = None;
    for h in headers.iter() {
        match h.name {
            "content-length" => framing = Framing::Length(content_length(h.value)?),
            "transfer-encoding" => {
                transfer_encoding(h.value)?;
                framing = Framing::Chunked;
            }
            "content-range" => content_range = Some(ContentRange::parse(h.value)?),
            "range" => return Err(ParseError::RangeInResponse),
            _ => {}
        }
    }
    if headers.contains("content-length") && headers.contains("transfer-encoding") {
        return Err(ParseError::LengthAndChunked);
    }
    if method == Method::Head || status < 200 || status == 204 || status == 304 {
        framing = Framing::None;
    }
    Ok(Status::Complete(ResponseHead {
        status,
        reason,
        headers,
        framing,
        content_range,
        len,
    }))
}

fn partial<T>(buf: &[u8], in_request_line: bool) -> Result<Status<T>, ParseError> {
    if buf.len() >= MAX_HEAD_LEN {
        Err(if in_request_line {
            ParseError::UriTooLong
        } else {
            ParseError::HeadTooLarge
        })
    } else {
        Ok(Status::Partial)
    }
}

/// What the request line holds: the method, the URI's offsets and the line's CR offset.
type RequestLine = (Method, (usize, usize), usize);

/// `method SP origin-form SP HTTP/1.1 CRLF`.
fn request_line(buf: &[u8]) -> Result<Option<RequestLine>, ParseError> {
    // Method token.
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

    // Request-target.
    let u_start = m_end + 1;
    let rest = buf.get(u_start..).unwrap_or(&[]);
    let u_len = match rest.iter().position(|&b| !class::is_uri(b)) {
        None if rest.len() > MAX_URI_LEN => return Err(ParseError::UriTooLong),
        None => return Ok(None),
        Some(i) => i,
    };
    if u_len > MAX_URI_LEN {
        return Err(ParseError::UriTooLong);
    }
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

    // Version.
    let v_start = u_end + 1;
    let cr = match scan(buf, v_start, |b| class::is_tchar(b) || b == b'/') {
        LineEnd::Partial => return Ok(None),
        LineEnd::Bad => return Err(ParseError::BadRequestLine),
        LineEnd::Crlf(cr) => cr,
    };
    match buf.get(v_start..cr) {
        Some(b"HTTP/1.1") => Ok(Some((method, (u_start, u_end), cr))),
        Some([b'H', b'T', b'T', b'P', b'/', major, b'.', minor])
            if major.is_ascii_digit() && minor.is_ascii_digit() =>
        {
            Err(ParseError::UnsupportedVersion)
        }
        _ => Err(ParseError::BadRequestLine),
    }
}

/// `HTTP/1.1 SP ddd SP reason CRLF`. Returns the status and the offset of the CR.
fn status_line(buf: &[u8]) -> Result<Option<(u16, usize)>, ParseError> {
    let cr = match scan(buf, 0, class::is_field) {
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

/// Header lines from the CR of the start line up to and including the empty line.
/// Lower-cases names in place and records spans. Returns the head length.
fn header_lines<const N: usize>(
    buf: &mut [u8],
    start_line_cr: usize,
    spans: &mut Spans<N>,
) -> Result<Option<usize>, ParseError> {
    let mut pos = start_line_cr + 2;
    loop {
        match (buf.get(pos), buf.get(pos + 1)) {
            (None, _) | (Some(b'\r'), None) => return Ok(None),
            (Some(b'\r'), Some(b'\n')) => return Ok(Some(pos + 2)),
            (Some(b' ' | b'\t'), _) => return Err(ParseError::BadHeaderLine),
            _ => {}
        }

        // Name: fold to lower case while checking the token class.
        let name_start = pos;
        let Some(rest) = buf.get_mut(pos..) else {
            return Ok(None);
        };
        let mut name_len = None;
        for (i, b) in rest.iter_mut().enumerate() {
            match class::fold_name(*b) {
                Some(f) => *b = f,
                None => {
                    name_len = Some((i, *b));
                    break;
                }
            }
            if i >= MAX_HEADER_NAME_LEN {
                return Err(ParseError::HeaderNameTooLong);
            }
        }
        let (name_len, stop) = match name_len {
            None => return Ok(None),
            Some(x) => x,
        };
        if name_len > MAX_HEADER_NAME_LEN {
            return Err(ParseError::HeaderNameTooLong);
        }
        match stop {
            b':' if name_len > 0 => {}
            b'\r' | b'\n' => return Err(ParseError::BadHeaderLine),
            _ => return Err(ParseError::BadHeaderName),
        }
        pos = name_start + name_len + 1;

        // Value: OWS, field bytes, OWS, CRLF.
        while matches!(buf.get(pos), Some(b' ' | b'\t')) {
            pos += 1;
        }
        let value_start = pos;
        let cr = match scan(buf, pos, class::is_field) {
            LineEnd::Partial => return Ok(None),
            LineEnd::Bad => return Err(ParseError::BadHeaderValue),
            LineEnd::Crlf(cr) => cr,
        };
        let mut value_end = cr;
        while value_end > value_start && matches!(buf.get(value_end - 1), Some(b' ' | b'\t')) {
            value_end -= 1;
        }
        if value_end == value_start {
            return Err(ParseError::EmptyHeaderValue);
        }
        let span = Span {
            name: (offset(name_start)?, offset(name_start + name_len)?),
            value: (offset(value_start)?, offset(value_end)?),
        };
        spans.push(span)?;
        pos = cr + 2;
    }
}

/// Header spans gathered while parsing, at most `N`.
struct Spans<const N: usize> {
    arr: [Span; N],
    len: usize,
}

impl<const N: usize> Spans<N> {
    fn new() -> Self {
        Spans {
            arr: [Span::default(); N],
            len: 0,
        }
    }

    fn push(&mut self, span: Span) -> Result<(), ParseError> {
        let slot = self
            .arr
            .get_mut(self.len)
            .ok_or(ParseError::TooManyHeaders)?;
        *slot = span;
        self.len += 1;
        Ok(())
    }
}

/// A head offset as stored in a [`Span`]; past `u16` the head is too large anyway.
fn offset(i: usize) -> Result<u16, ParseError> {
    u16::try_from(i).map_err(|_| ParseError::HeadTooLarge)
}

/// The head as text. Every byte was checked against an ASCII class, so this cannot fail
/// in practice; it is still an error, not a panic, if it ever did.
fn head_text(buf: &[u8], len: usize) -> Result<&str, ParseError> {
    let bytes = buf.get(..len).ok_or(ParseError::HeadTooLarge)?;
    core::str::from_utf8(bytes).map_err(|_| ParseError::BadHeaderValue)
}

/// The headers, once every name is checked for a duplicate.
fn collect<'b, const N: usize>(
    text: &'b str,
    spans: Spans<N>,
) -> Result<Headers<'b, N>, ParseError> {
    let used = spans.arr.get(..spans.len).unwrap_or(&[]);
    let name = |s: &Span| text.get(usize::from(s.name.0)..usize::from(s.name.1));
    for (i, s) in used.iter().enumerate() {
        // Names are already folded, so compare bytes; lengths first.
        let len = s.name.1 - s.name.0;
        let dup = used
            .iter()
            .take(i)
            .any(|o| o.name.1 - o.name.0 == len && name(o) == name(s));
        if dup {
            return Err(ParseError::DuplicateHeader);
        }
    }
    Ok(Headers::from_spans(text, spans.arr, spans.len))
}

fn content_length(value: &str) -> Result<u64, ParseError> {
    match parse_decimal(value.as_bytes()) {
        Ok(n) => Ok(n),
        Err(true) => Err(ParseError::ContentLengthTooLarge),
        Err(false) => Err(ParseError::BadContentLength),
    }
}

fn transfer_encoding(value: &str) -> Result<(), ParseError> {
    if value == "chunked" {
        Ok(())
    } else {
        Err(ParseError::BadTransferEncoding)
    }
}
