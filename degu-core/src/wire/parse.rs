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
//!
//! Speed: names, the request-target and value ends are found by table lookups eight
//! bytes at a time with a branch per byte, whole blocks of values are skipped with vector
//! tests ([`class`] has the scans and why); names are folded in the same pass that checks
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
/// 431). See README.md, "Wire rules", for every rule and the status each failure maps to.
pub fn parse_request<'b, const N: usize>(
    buf: &'b mut [u8],
) -> Result<Status<RequestHead<'b, N>>, ParseError> {
    let line = match request_line(buf)? {
        Some(l) => l,
        None => return partial(buf, true),
    };
    let mut spans = [Span::default(); N];
    let Some(lines) = header_lines(buf, line.cr, &mut spans)? else {
        return partial(buf, false);
    };
    let len = lines.len;
    if len > MAX_HEAD_LEN {
        return Err(ParseError::HeadTooLarge);
    }
    // From here on the head is only read: every byte of it is ASCII, checked against
    // its class above.
    let head: &'b [u8] = buf.get(..len).ok_or(ParseError::HeadTooLarge)?;
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
            match name {
                // Without the feature a `range` header is an ordinary header, ignored.
                #[cfg(feature = "range")]
                b"range" => range = Some(Range::parse(ascii(Some(value))?)?),
                b"content-range" => return Err(ParseError::ContentRangeInRequest),
                _ => framing.header(name, value)?,
            }
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
    Ok(Status::Complete(RequestHead {
        method: line.method,
        uri,
        target,
        headers: Headers::from_spans(head, spans, lines.count),
        framing,
        #[cfg(feature = "range")]
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
    let mut spans = [Span::default(); N];
    let Some(lines) = header_lines(buf, line_end, &mut spans)? else {
        return partial(buf, false);
    };
    let len = lines.len;
    if len > MAX_HEAD_LEN {
        return Err(ParseError::HeadTooLarge);
    }
    // From here on the head is only read: every byte of it is ASCII.
    let head: &'b [u8] = buf.get(..len).ok_or(ParseError::HeadTooLarge)?;
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
    Ok(Status::Complete(ResponseHead {
        status,
        reason,
        headers: Headers::from_spans(head, spans, lines.count),
        framing,
        declared,
        content_range,
        len,
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
        match name {
            b"content-length" => {
                self.framing = Framing::Length(content_length(value)?);
                self.length = true;
            }
            b"transfer-encoding" => {
                transfer_encoding(value)?;
                self.framing = Framing::Chunked;
                self.chunked = true;
            }
            _ => {}
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

/// What the request line holds.
struct RequestLine {
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

/// The first four bytes of `bytes` as a number to compare with a 4-byte literal.
#[inline(always)]
fn four(bytes: &[u8]) -> Option<u32> {
    bytes.first_chunk::<4>().map(|b| u32::from_le_bytes(*b))
}

/// `method SP origin-form SP HTTP/1.1 CRLF`.
#[inline(always)]
fn request_line(buf: &[u8]) -> Result<Option<RequestLine>, ParseError> {
    // Method token: the five methods followed by SP take the fast way; anything else
    // (including every error and every partial line) the general one.
    const GET: u32 = u32::from_le_bytes(*b"GET ");
    const PUT: u32 = u32::from_le_bytes(*b"PUT ");
    const POST: u32 = u32::from_le_bytes(*b"POST");
    const HEAD: u32 = u32::from_le_bytes(*b"HEAD");
    let sp_at_4 = buf.get(4) == Some(&b' ');
    let (method, m_end) = match four(buf) {
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
        Some(b"HTTP/1.1") => Ok(Some(cr)),
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

/// Header lines from the CR of the start line up to and including the empty line.
/// Lower-cases names in place and records spans. Returns the head length.
#[inline(never)]
fn header_lines<const N: usize>(
    buf: &mut [u8],
    start_line_cr: usize,
    spans: &mut [Span; N],
) -> Result<Option<HeaderLines>, ParseError> {
    let mut pos = start_line_cr + 2;
    let mut count = 0;
    let mut seen = 0u64;
    let mut duplicate = false;
    let mut special = false;
    loop {
        let first = match buf.get(pos) {
            None => return Ok(None),
            Some(&b) => b,
        };
        match first {
            b'\r' => match buf.get(pos + 1) {
                Some(b'\n') => {
                    return Ok(Some(HeaderLines {
                        len: pos + 2,
                        count,
                        special,
                        duplicate,
                    }));
                }
                None => return Ok(None),
                // A name that stops at once: a line error, found below.
                Some(_) => {}
            },
            b' ' | b'\t' => return Err(ParseError::BadHeaderLine),
            _ => {}
        }

        // Name: the token class, folded to lower case on the way, over at most one byte
        // more than the longest name allowed.
        let name_start = pos;
        let cap = buf.len().min(pos + MAX_HEADER_NAME_LEN + 1);
        let name_end = class::fold_name_run(buf.get_mut(..cap).unwrap_or(&mut []), pos);
        let name_len = name_end - name_start;
        if buf.get(name_end) != Some(&b':') || name_len == 0 || name_end == cap {
            return bad_name(buf, name_start, name_end, cap);
        }
        // The last two bytes are loaded one by one: either may have just been written
        // by the fold, and a wider load would have to wait for the writes.
        let (before_last, last) = match buf.get(name_end - 2..name_end) {
            Some(&[a, b]) => (a, b),
            _ => (0, 0),
        };
        let bit = fingerprint(first, before_last, last, name_len);
        special |= matches!(
            (name_len, first | 0x20),
            (5, b'r') | (13 | 14, b'c') | (17, b't')
        );
        let maybe_duplicate = seen & bit != 0;
        seen |= bit;

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
            return bad_value_end(buf, cr);
        }
        let mut value_end = cr;
        if matches!(buf.get(cr - 1), Some(b' ' | b'\t')) {
            while value_end > value_start && matches!(buf.get(value_end - 1), Some(b' ' | b'\t')) {
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
        count += 1;
        pos = cr + 2;
    }
}

/// A value line whose run of field bytes stopped at `at` without a CRLF: cut short
/// (`None`), or a byte outside the class.
#[cold]
fn bad_value_end(buf: &[u8], at: usize) -> Result<Option<HeaderLines>, ParseError> {
    match (buf.get(at), buf.get(at + 1)) {
        (Some(b'\r'), None) | (None, _) => Ok(None),
        _ => Err(ParseError::BadHeaderValue),
    }
}

/// What a header line whose name, starting at `pos`, does not end on a `:` within
/// [`MAX_HEADER_NAME_LEN`] bytes comes to (`end`: the first byte from `pos` on that is
/// not a tchar, or `cap`, one byte past the limit or the buffer's end if sooner): an
/// error, or `None` when the buffer ends first.
#[cold]
fn bad_name(
    buf: &[u8],
    pos: usize,
    end: usize,
    cap: usize,
) -> Result<Option<HeaderLines>, ParseError> {
    match buf.get(end).filter(|_| end < cap) {
        Some(b'\r' | b'\n') => Err(ParseError::BadHeaderLine),
        Some(_) => Err(ParseError::BadHeaderName),
        None if cap - pos > MAX_HEADER_NAME_LEN => Err(ParseError::HeaderNameTooLong),
        None => Ok(None),
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

/// What [`header_lines`] found besides the spans.
struct HeaderLines {
    /// The head's length, final CRLF included.
    len: usize,
    /// Spans recorded.
    count: usize,
    /// Whether a name may be one the parser interprets: `range`, `content-range`,
    /// `content-length` or `transfer-encoding` (judged by length and first byte).
    special: bool,
    /// Whether two names are the same (reported after the whole head has parsed).
    duplicate: bool,
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
    if value == b"chunked" {
        Ok(())
    } else {
        Err(ParseError::BadTransferEncoding)
    }
}
