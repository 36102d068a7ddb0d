//! The head renderer: validate everything the application gave, measure, then emit.
//!
//! Validation uses the parser's own classes, so whatever Degu renders, Degu parses back
//! to the same head. Invalid input is an `Err` before any byte is written; the emit step
//! cannot fail once the measured length fits `out`.
//!
//! Headers are emitted in the order given; the framing header (`content-length: n` or
//! `transfer-encoding: chunked`) comes last and is derived from [`Framing`], never taken
//! from the header list.

use crate::error::RenderError;
use crate::limits::{MAX_HEADER_NAME_LEN, MAX_OUTPUT_HEADERS};
use crate::wire::class;
use crate::wire::head::Framing;
use crate::wire::head::{Header, Method};
#[cfg(feature = "range")]
use crate::wire::range::ContentRange;
use crate::wire::range::Range;
use crate::wire::uri::Target;

/// A bounds-checked writer over a caller's buffer. Overflow is remembered, not a panic.
pub(crate) struct Cursor<'a> {
    out: &'a mut [u8],
    pos: usize,
    overflow: bool,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(out: &'a mut [u8]) -> Self {
        Cursor {
            out,
            pos: 0,
            overflow: false,
        }
    }

    /// Inlined on a host; on a microcontroller one copy (a head is rendered from a
    /// dozen pieces, and each inlined copy is flash).
    #[cfg_attr(any(target_arch = "x86_64", target_arch = "aarch64"), inline)]
    #[cfg_attr(
        not(any(target_arch = "x86_64", target_arch = "aarch64")),
        inline(never)
    )]
    pub(crate) fn put(&mut self, bytes: &[u8]) {
        match self.out.get_mut(self.pos..self.pos + bytes.len()) {
            Some(dst) => {
                dst.copy_from_slice(bytes);
                self.pos += bytes.len();
            }
            None => self.overflow = true,
        }
    }

    pub(crate) fn put_decimal(&mut self, mut v: u64) {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        loop {
            i -= 1;
            if let Some(d) = digits.get_mut(i) {
                *d = b'0' + (v % 10) as u8;
            }
            v /= 10;
            if v == 0 || i == 0 {
                break;
            }
        }
        self.put(digits.get(i..).unwrap_or(b"0"));
    }

    pub(crate) fn finish(self) -> Result<usize, RenderError> {
        if self.overflow {
            Err(RenderError::BufferTooSmall)
        } else {
            Ok(self.pos)
        }
    }
}

fn check_name(name: &str) -> Result<(), RenderError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_HEADER_NAME_LEN
        && name
            .bytes()
            .all(|b| class::is_tchar(b) && !b.is_ascii_uppercase());
    if ok {
        Ok(())
    } else {
        Err(RenderError::BadHeaderName)
    }
}

fn check_value(value: &str) -> Result<(), RenderError> {
    let b = value.as_bytes();
    let padded = matches!(b.first(), Some(b' ' | b'\t')) || matches!(b.last(), Some(b' ' | b'\t'));
    if b.is_empty() || padded || !b.iter().all(|&c| class::is_field(c)) {
        return Err(RenderError::BadHeaderValue);
    }
    Ok(())
}

/// Check a header list for a request (`is_request`) or a response; returns the bytes it
/// takes on the wire.
/// What a head being rendered is: a request, or a response with its status.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Request,
    Response(u16),
}

fn check_headers(
    headers: &[Header<'_>],
    framing: Framing,
    kind: Kind,
) -> Result<usize, RenderError> {
    let is_request = kind == Kind::Request;
    let framing_count = usize::from(framing != Framing::None);
    if headers.len() + framing_count > MAX_OUTPUT_HEADERS {
        return Err(RenderError::TooManyHeaders);
    }
    let mut len = 0;
    for (i, h) in headers.iter().enumerate() {
        check_name(h.name)?;
        check_value(h.value)?;
        // Compared through `class::same`: one compare on a microcontroller, not four
        // inlined ones.
        let name = h.name.as_bytes();
        if class::same(name, b"content-length") || class::same(name, b"transfer-encoding") {
            return Err(RenderError::FramingHeader);
        }
        if class::same(name, b"range")
            && (!is_request || Range::parse(h.value).is_err() || framing != Framing::None)
        {
            return Err(RenderError::BadRange);
        }
        if class::same(name, b"content-range") {
            // Without Range requests (feature `range`) no response is partial.
            #[cfg(not(feature = "range"))]
            return Err(RenderError::BadContentRange);
            // A 416 says how long the resource is: `bytes */<total>`.
            #[cfg(feature = "range")]
            if is_request
                || !(kind == Kind::Response(416)
                    && ContentRange::parse_unsatisfied(h.value).is_ok())
                    && ContentRange::parse(h.value).is_err()
            {
                return Err(RenderError::BadContentRange);
            }
        }
        if headers.iter().take(i).any(|o| o.name == h.name) {
            return Err(RenderError::DuplicateHeader);
        }
        len += h.name.len() + h.value.len() + 4;
    }
    Ok(len + framing_len(framing))
}

fn framing_len(framing: Framing) -> usize {
    match framing {
        Framing::None => 0,
        Framing::Length(n) => "\r\ncontent-length: ".len() + decimal_len(n),
        Framing::Chunked => "\r\ntransfer-encoding: chunked".len(),
    }
}

fn decimal_len(mut v: u64) -> usize {
    let mut n = 1;
    while v >= 10 {
        v /= 10;
        n += 1;
    }
    n
}

fn emit_headers(w: &mut Cursor<'_>, headers: &[Header<'_>], framing: Framing) {
    for h in headers {
        w.put(b"\r\n");
        w.put(h.name.as_bytes());
        w.put(b": ");
        w.put(h.value.as_bytes());
    }
    match framing {
        Framing::None => {}
        Framing::Length(n) => {
            w.put(b"\r\ncontent-length: ");
            w.put_decimal(n);
        }
        Framing::Chunked => w.put(b"\r\ntransfer-encoding: chunked"),
    }
    w.put(b"\r\n\r\n");
}

/// Render a request head into `out`; returns the bytes written.
///
/// Only PUT and POST may have a body framing. `range` is checked as a [`Range`] and may
/// not come with a body; `content-range` is refused.
pub fn render_request(
    out: &mut [u8],
    method: Method,
    target: Target<'_>,
    headers: &[Header<'_>],
    framing: Framing,
) -> Result<usize, RenderError> {
    if framing != Framing::None && !method.allows_body() {
        return Err(RenderError::BodyNotAllowed);
    }
    if target.wire_len() > crate::limits::MAX_URI_LEN
        || !target.path.bytes().all(class::is_uri)
        || target.check().is_err()
    {
        return Err(RenderError::BadUri);
    }
    let len = method.as_str().len()
        + 1
        + target.wire_len()
        + " HTTP/1.1".len()
        + check_headers(headers, framing, Kind::Request)?
        + 4;
    if len > out.len() {
        return Err(RenderError::BufferTooSmall);
    }
    let mut w = Cursor::new(out);
    w.put(method.as_str().as_bytes());
    w.put(b" ");
    w.put(target.path.as_bytes());
    if let Some(q) = target.query {
        w.put(b"?");
        w.put(q.as_bytes());
    }
    w.put(b" HTTP/1.1");
    emit_headers(&mut w, headers, framing);
    w.finish()
}

/// Render a response head into `out`; returns the bytes written.
///
/// The reason must be non-empty visible ASCII and spaces; `content-range` (refused
/// without feature `range`) is checked as
/// a [`ContentRange`] (or, on a 416, as `bytes */<total>`: see
/// [`ContentRange::parse_unsatisfied`]); `range` is refused.
pub fn render_response(
    out: &mut [u8],
    status: u16,
    reason: &str,
    headers: &[Header<'_>],
    framing: Framing,
) -> Result<usize, RenderError> {
    if !(100..=599).contains(&status) {
        return Err(RenderError::BadStatus);
    }
    if reason.is_empty() || !reason.bytes().all(|b| class::is_field(b) && b != b'\t') {
        return Err(RenderError::BadReason);
    }
    let len = "HTTP/1.1 200 ".len()
        + reason.len()
        + check_headers(headers, framing, Kind::Response(status))?
        + 4;
    if len > out.len() {
        return Err(RenderError::BufferTooSmall);
    }
    let mut w = Cursor::new(out);
    w.put(b"HTTP/1.1 ");
    w.put_decimal(u64::from(status));
    w.put(b" ");
    w.put(reason.as_bytes());
    emit_headers(&mut w, headers, framing);
    w.finish()
}
