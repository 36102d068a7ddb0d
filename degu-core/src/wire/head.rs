//! Borrowed views of a parsed head: method, target, headers, and the typed values the
//! parser derives (framing, range).

use crate::body::Framing;
use crate::wire::range::{ContentRange, Range};
use crate::wire::uri::Target;

/// The five methods Degu speaks (DESIGN §3). Anything else is 501 on the wire.
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
        match token {
            b"GET" => Some(Method::Get),
            b"HEAD" => Some(Method::Head),
            b"PUT" => Some(Method::Put),
            b"POST" => Some(Method::Post),
            b"DELETE" => Some(Method::Delete),
            _ => None,
        }
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

/// A fixed-capacity list of headers; `N` slots, no allocation.
///
/// Lookup is by name, ignoring ASCII case, so `get("Content-Type")` finds the parsed
/// `content-type`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Headers<'b, const N: usize = { crate::limits::DEFAULT_MAX_HEADERS }> {
    list: heapless::Vec<Header<'b>, N>,
}

impl<'b, const N: usize> Default for Headers<'b, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'b, const N: usize> Headers<'b, N> {
    /// An empty list.
    pub const fn new() -> Self {
        Headers {
            list: heapless::Vec::new(),
        }
    }

    /// Append a header. Gives the header back when all `N` slots are used.
    pub fn push(&mut self, name: &'b str, value: &'b str) -> Result<(), Header<'b>> {
        self.list.push(Header { name, value })
    }

    /// The value of the header called `name` (ASCII case ignored).
    pub fn get(&self, name: &str) -> Option<&'b str> {
        self.list
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value)
    }

    /// Whether a header called `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Remove the header called `name`, returning its value.
    pub fn remove(&mut self, name: &str) -> Option<&'b str> {
        let i = self
            .list
            .iter()
            .position(|h| h.name.eq_ignore_ascii_case(name))?;
        Some(self.list.remove(i).value)
    }

    /// The headers in the order they arrived or were pushed.
    pub fn iter(&self) -> core::slice::Iter<'_, Header<'b>> {
        self.list.iter()
    }

    /// The headers as a slice.
    pub fn as_slice(&self) -> &[Header<'b>] {
        &self.list
    }

    /// Number of headers.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether there are no headers.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Remove every header.
    pub fn clear(&mut self) {
        self.list.clear();
    }
}

impl<'a, 'b, const N: usize> IntoIterator for &'a Headers<'b, N> {
    type Item = &'a Header<'b>;
    type IntoIter = core::slice::Iter<'a, Header<'b>>;
    fn into_iter(self) -> Self::IntoIter {
        self.list.iter()
    }
}

impl<'b, const N: usize> core::ops::Deref for Headers<'b, N> {
    type Target = [Header<'b>];
    fn deref(&self) -> &[Header<'b>] {
        &self.list
    }
}

#[cfg(feature = "defmt")]
impl<const N: usize> defmt::Format for Headers<'_, N> {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "{=[?]}", self.list.as_slice())
    }
}

/// A parsed request head, borrowing the buffer it was parsed from.
#[derive(Clone, Debug, PartialEq, Eq)]
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
    /// The typed `range` header, if present.
    pub range: Option<Range>,
    /// Bytes the head took in the buffer, final CRLF included: the body starts here.
    pub len: usize,
}

/// A parsed response head, borrowing the buffer it was parsed from.
#[derive(Clone, Debug, PartialEq, Eq)]
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
    /// The typed `content-range` header, if present.
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
