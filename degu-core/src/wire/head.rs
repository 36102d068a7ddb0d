//! Borrowed views of a parsed head: method, target, headers, and the typed values the
//! parser derives (framing, range).

use crate::wire::range::ContentRange;
#[cfg(feature = "range")]
use crate::wire::range::Range;
use crate::wire::uri::Target;

/// How a message body is delimited on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Framing {
    /// No body.
    #[default]
    None,
    /// `content-length: n`.
    Length(u64),
    /// `transfer-encoding: chunked`.
    Chunked,
}

/// The five methods Degu speaks. Anything else is 501 on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Method {
    /// `GET`
    Get,
    /// `HEAD`
    Head,
    /// `PUT`
    Put,
    /// `POST`
    Post,
    /// `DELETE`
    Delete,
}

impl Method {
    /// All methods, in the Python original's bit order.
    pub const ALL: [Method; 5] = [
        Method::Get,
        Method::Put,
        Method::Post,
        Method::Head,
        Method::Delete,
    ];

    /// The method's token as sent on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Put => "PUT",
            Method::Post => "POST",
            Method::Delete => "DELETE",
        }
    }

    /// The method for an exact, case-sensitive token.
    pub fn from_token(token: &[u8]) -> Option<Method> {
        // Each token through the one compare: a loop, not five inlined compares (a
        // request line's common methods are matched before this on a host).
        Method::ALL
            .into_iter()
            .find(|m| crate::wire::class::same(m.as_str().as_bytes(), token))
    }

    /// Whether a request with this method may carry a body (only PUT and POST).
    pub const fn allows_body(self) -> bool {
        matches!(self, Method::Put | Method::Post)
    }
}

impl core::fmt::Display for Method {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One header: a lower-case name and its value, both borrowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Header<'b> {
    /// Lower-case name (parsed heads fold it; rendered heads require it).
    pub name: &'b str,
    /// Value without surrounding whitespace.
    pub value: &'b str,
}

impl<'b> Header<'b> {
    /// A header from a name and a value.
    pub const fn new(name: &'b str, value: &'b str) -> Self {
        Header { name, value }
    }
}

/// Where one header's name and value sit in a head (byte offsets; heads are at most
/// [`crate::limits::MAX_HEAD_LEN`] bytes, so `u16` holds any offset).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) name: (u16, u16),
    pub(crate) value: (u16, u16),
}

impl Span {
    /// An unused slot.
    pub(crate) const EMPTY: Span = Span {
        name: (0, 0),
        value: (0, 0),
    };
}

/// Bytes the parser checked to be ASCII as a `&str` (`None` only if they were not).
///
/// `from_utf8` has a fixed cost of a few dozen instructions before its word-at-a-time
/// loop; for the short strings of a head (a name, most values, a short target) the
/// byte-at-a-time check of `utf8_chunks` is cheaper where speed is what counts (the
/// SIMD hosts the byte scans are unrolled for). A microcontroller keeps one validator,
/// `from_utf8`: `utf8_chunks` is a second UTF-8 decoder with a 256-byte width table
/// (588 bytes of flash on a Cortex-M4).
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
#[inline]
pub(crate) fn ascii_str(bytes: &[u8]) -> Option<&str> {
    if bytes.len() < 32 {
        match bytes.utf8_chunks().next() {
            None => Some(""),
            Some(c) if c.invalid().is_empty() && c.valid().len() == bytes.len() => Some(c.valid()),
            Some(_) => None,
        }
    } else {
        core::str::from_utf8(bytes).ok()
    }
}

/// Bytes the parser checked to be ASCII as a `&str`: one validator on a microcontroller.
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
#[inline]
pub(crate) fn ascii_str(bytes: &[u8]) -> Option<&str> {
    core::str::from_utf8(bytes).ok()
}

/// The headers of a parsed head: `N` slots of offsets into the head, no allocation, no
/// destructor (so a head stops borrowing its buffer at its last use).
///
/// Names are lower case; lookup ignores ASCII case, so `get("Content-Type")` finds
/// `content-type`. Each slot costs 8 bytes.
///
/// The head is kept as bytes, every one of them ASCII (the parser checked each against
/// its class), and a name or value becomes a `&str` when it is handed out: that is a
/// check of just those bytes, where making the whole head a `&str` up front would check
/// every byte again on every parse.
#[derive(Clone, Copy)]
pub struct Headers<'b, const N: usize = { crate::limits::DEFAULT_MAX_HEADERS }> {
    head: &'b [u8],
    spans: [Span; N],
    len: usize,
}

impl<'b, const N: usize> Headers<'b, N> {
    /// Headers from spans into `head`, which must be all ASCII.
    pub(crate) fn from_spans(head: &'b [u8], spans: [Span; N], len: usize) -> Self {
        Headers { head, spans, len }
    }

    /// The spans in use.
    #[inline]
    fn used(&self) -> &[Span] {
        self.spans.get(..self.len).unwrap_or(&[])
    }

    /// The bytes at `(a, b)` (empty if out of range, which the parser never makes).
    #[inline]
    fn bytes(&self, (a, b): (u16, u16)) -> &'b [u8] {
        self.head.get(usize::from(a)..usize::from(b)).unwrap_or(&[])
    }

    /// The text at `(a, b)` (empty if not text, which the parser never lets through).
    #[inline]
    fn text(&self, at: (u16, u16)) -> &'b str {
        ascii_str(self.bytes(at)).unwrap_or("")
    }

    fn header(&self, s: &Span) -> Header<'b> {
        Header {
            name: self.text(s.name),
            value: self.text(s.value),
        }
    }

    /// The value of the header called `name` (ASCII case ignored).
    pub fn get(&self, name: &str) -> Option<&'b str> {
        self.used()
            .iter()
            .find(|s| self.bytes(s.name).eq_ignore_ascii_case(name.as_bytes()))
            .map(|s| self.text(s.value))
    }

    /// Whether a header called `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.used()
            .iter()
            .any(|s| self.bytes(s.name).eq_ignore_ascii_case(name.as_bytes()))
    }

    /// The `i`-th header in arrival order.
    pub fn index(&self, i: usize) -> Option<Header<'b>> {
        self.used().get(i).map(|s| self.header(s))
    }

    /// The headers in arrival order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Header<'b>> + '_ {
        self.used().iter().map(|s| self.header(s))
    }

    /// Number of headers.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no headers.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl<const N: usize> core::fmt::Debug for Headers<'_, N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<const N: usize, const M: usize> PartialEq<Headers<'_, M>> for Headers<'_, N> {
    fn eq(&self, other: &Headers<'_, M>) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl<const N: usize> Eq for Headers<'_, N> {}

#[cfg(feature = "defmt")]
impl<const N: usize> defmt::Format for Headers<'_, N> {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "[");
        for h in self.iter() {
            defmt::write!(f, "{}: {}, ", h.name, h.value);
        }
        defmt::write!(f, "]");
    }
}

/// A parsed request head, borrowing the buffer it was parsed from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RequestHead<'b, const N: usize = { crate::limits::DEFAULT_MAX_HEADERS }> {
    /// The method.
    pub method: Method,
    /// The request-target exactly as sent (origin-form).
    pub uri: &'b str,
    /// The request-target split into path and query.
    pub target: Target<'b>,
    /// Headers, names lower-cased, in arrival order (framing headers included).
    pub headers: Headers<'b, N>,
    /// How the body is framed.
    pub framing: Framing,
    /// The typed `range` header, if present (feature `range`).
    #[cfg(feature = "range")]
    pub range: Option<Range>,
    /// Bytes the head took in the buffer, final CRLF included: the body starts here.
    pub len: usize,
}

/// A parsed response head, borrowing the buffer it was parsed from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ResponseHead<'b, const N: usize = { crate::limits::DEFAULT_MAX_HEADERS }> {
    /// Status code, 100..=599.
    pub status: u16,
    /// Reason phrase (may be empty).
    pub reason: &'b str,
    /// Headers, names lower-cased, in arrival order (framing headers included).
    pub headers: Headers<'b, N>,
    /// How the body is framed (`None` for HEAD, 1xx, 204 and 304 whatever the headers).
    pub framing: Framing,
    /// The framing the headers declare, even where no body follows: for a response to
    /// HEAD, the framing its GET would have (what a proxy must pass on).
    pub declared: Framing,
    /// The typed `content-range` header, if present (a 416's `bytes */<total>` is not
    /// a range and stays untyped: read it with
    /// [`ContentRange::parse_unsatisfied`](crate::ContentRange::parse_unsatisfied)).
    pub content_range: Option<ContentRange>,
    /// Bytes the head took in the buffer, final CRLF included: the body starts here.
    pub len: usize,
}

/// The outcome of parsing a head that may not have fully arrived yet.
///
/// "Need more bytes" is not an error (httparse's `Status`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Status<T> {
    /// The head is complete.
    Complete(T),
    /// The head has not ended yet; call again with more bytes.
    Partial,
}

impl<T> Status<T> {
    /// The complete value, if any.
    pub fn complete(self) -> Option<T> {
        match self {
            Status::Complete(t) => Some(t),
            Status::Partial => None,
        }
    }

    /// Whether more bytes are needed.
    pub fn is_partial(&self) -> bool {
        matches!(self, Status::Partial)
    }
}
