//! Typed errors. Each is a small `Copy + Eq` enum; what the peer did wrong
//! ([`ParseError`], [`BodyError`]) maps to the HTTP status a server answers with through
//! one `status()` match, and what the application asked for ([`RenderError`]) never
//! reaches the wire.

use core::fmt;

/// An HTTP status a server sends for a malformed request before it closes.
///
/// One of 400, 413, 414, 431, 501 or 505 (README.md, "Wire rules").
pub type ErrorStatus = u16;

macro_rules! error_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident => ($status:expr, $text:literal), )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[cfg_attr(feature = "defmt", derive(defmt::Format))]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )*
        }

        impl $name {
            /// The HTTP status a server answers with for this error.
            pub const fn status(self) -> ErrorStatus {
                match self { $( Self::$variant => $status, )* }
            }

            /// A short, lower-case, static description.
            pub const fn as_str(self) -> &'static str {
                match self { $( Self::$variant => $text, )* }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl core::error::Error for $name {}
    };
}

error_enum! {
    /// A request or response head the peer sent is not acceptable.
    pub enum ParseError {
        /// The head did not end within [`crate::limits::MAX_HEAD_LEN`] or the buffer.
        HeadTooLarge => (431, "head too large"),
        /// More headers than the parser has slots for.
        TooManyHeaders => (431, "too many headers"),
        /// A header name longer than [`crate::limits::MAX_HEADER_NAME_LEN`].
        HeaderNameTooLong => (431, "header name too long"),
        /// A request-target longer than [`crate::limits::MAX_URI_LEN`].
        UriTooLong => (414, "uri too long"),
        /// A request line that is not `METHOD SP /target SP HTTP/x.y`.
        BadRequestLine => (400, "bad request line"),
        /// A well-formed method token that is not GET, HEAD, PUT, POST or DELETE.
        UnsupportedMethod => (501, "unsupported method"),
        /// A well-formed `HTTP/x.y` other than `HTTP/1.1`.
        UnsupportedVersion => (505, "unsupported http version"),
        /// A request-target that is not origin-form or has bytes outside the URI class.
        BadUri => (400, "bad uri"),
        /// A path with an empty (`//`) or `..` component or bytes outside the path class.
        BadPath => (400, "bad path"),
        /// A query with bytes outside the query class.
        BadQuery => (400, "bad query"),
        /// A header line that is not `name ":" OWS value OWS` (obs-fold included).
        BadHeaderLine => (400, "bad header line"),
        /// A header name with bytes outside the token class.
        BadHeaderName => (400, "bad header name"),
        /// A header value with control bytes, bare CR/LF or non-ASCII bytes.
        BadHeaderValue => (400, "bad header value"),
        /// A header whose value is empty after trimming.
        EmptyHeaderValue => (400, "empty header value"),
        /// The same header name twice (compared after lower-casing).
        DuplicateHeader => (400, "duplicate header"),
        /// A `content-length` that is not a canonical decimal.
        BadContentLength => (400, "bad content-length"),
        /// A `content-length` above [`crate::limits::MAX_LENGTH`].
        ContentLengthTooLarge => (413, "content-length too large"),
        /// A `transfer-encoding` other than exactly `chunked`.
        BadTransferEncoding => (400, "bad transfer-encoding"),
        /// Both `content-length` and `transfer-encoding`.
        LengthAndChunked => (400, "both content-length and transfer-encoding"),
        /// A body on a GET, HEAD or DELETE request.
        BodyNotAllowed => (400, "body not allowed for this method"),
        /// A `range` value that is not `bytes=start-end`.
        BadRange => (400, "bad range"),
        /// A `range` together with a request body.
        RangeWithBody => (400, "range with a body"),
        /// A `content-range` header in a request.
        ContentRangeInRequest => (400, "content-range in a request"),
        /// A `range` header in a response.
        RangeInResponse => (400, "range in a response"),
        /// A `content-range` value that is not `bytes start-end/total`.
        BadContentRange => (400, "bad content-range"),
        /// A status line that is not `HTTP/1.1 SP ddd SP reason`.
        BadStatusLine => (400, "bad status line"),
        /// A status code outside 100..=599.
        BadStatus => (400, "bad status code"),
        /// A reason phrase with bytes outside visible ASCII, space and tab.
        BadReason => (400, "bad reason phrase"),
    }
}

error_enum! {
    /// A body's framing on the wire is broken: a chunk line, a chunk terminator or a
    /// length that does not hold.
    pub enum BodyError {
        /// A chunk size that is empty, not hex, has a leading zero or whitespace.
        BadChunkSize => (400, "bad chunk size"),
        /// A chunk size of more than 7 hex digits or above
        /// [`crate::limits::MAX_CHUNK_SIZE`].
        ChunkTooLarge => (413, "chunk too large"),
        /// A chunk-size line longer than [`crate::limits::MAX_CHUNK_LINE_LEN`].
        ChunkLineTooLong => (400, "chunk line too long"),
        /// A chunk extension that is not one `key=value`.
        BadChunkExtension => (400, "bad chunk extension"),
        /// Chunk data not followed by exactly CRLF.
        BadChunkTerminator => (400, "bad chunk data termination"),
        /// Trailer fields after the last chunk (unsupported).
        TrailersNotSupported => (400, "trailers not supported"),
        /// The stream ended before the body did.
        UnexpectedEof => (400, "body ended early"),
    }
}

error_enum! {
    /// What the application asked to send is not valid HTTP as Degu speaks it; nothing
    /// was written.
    pub enum RenderError {
        /// The output buffer is too small for the head or chunk line.
        BufferTooSmall => (500, "output buffer too small"),
        /// A status outside 100..=599.
        BadStatus => (500, "bad status code"),
        /// An empty reason or one with bytes outside visible ASCII and space.
        BadReason => (500, "bad reason phrase"),
        /// A URI that Degu's own parser would reject.
        BadUri => (500, "bad uri"),
        /// A header name that is not a lower-case token of 1..=64 bytes.
        BadHeaderName => (500, "bad header name"),
        /// A header value that is empty, padded, or has control or non-ASCII bytes.
        BadHeaderValue => (500, "bad header value"),
        /// The same header name twice.
        DuplicateHeader => (500, "duplicate header"),
        /// More than [`crate::limits::MAX_OUTPUT_HEADERS`] headers.
        TooManyHeaders => (500, "too many headers"),
        /// `content-length` or `transfer-encoding` in the header list: framing comes
        /// from the body, never from the app's headers.
        FramingHeader => (500, "framing header set by the application"),
        /// A `range` header in a response or an invalid `range` value.
        BadRange => (500, "bad range header"),
        /// A `content-range` header in a request or an invalid `content-range` value.
        BadContentRange => (500, "bad content-range header"),
        /// A body on a method that cannot carry one.
        BodyNotAllowed => (500, "body not allowed for this method"),
        /// A chunk extension whose key or value is outside the extension classes.
        BadChunkExtension => (500, "bad chunk extension"),
        /// A chunk larger than [`crate::limits::MAX_CHUNK_SIZE`].
        ChunkTooLarge => (500, "chunk too large"),
        /// A length-framed body written past its declared length.
        BodyTooLong => (500, "body longer than declared"),
        /// A length-framed body finished before its declared length.
        BodyTooShort => (500, "body shorter than declared"),
        /// A chunk written after the last chunk, or data past a chunk's size.
        ChunkOrder => (500, "chunk written out of order"),
    }
}
