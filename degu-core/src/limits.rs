//! Every limit the wire layer enforces, named and documented in one place.
//!
//! Capacities that cost RAM (header slots, buffer sizes) are const generics chosen by the
//! caller; the constants here bound lengths and values. Where a value differs from the
//! Python original the doc says so.

/// Largest value of `content-length`, of a `Range`/`Content-Range` bound, and of a
/// length-framed body: sixteen nines, as in the Python original (`MAX_LENGTH`).
pub const MAX_LENGTH: u64 = 9_999_999_999_999_999;

/// Most decimal digits accepted in `content-length` and range numbers (`MAX_CL_LEN`).
pub const MAX_DECIMAL_DIGITS: usize = 16;

/// Largest request or response head, request line and final `\r\n\r\n` included.
///
/// The Python original's 32 KiB. Adapters usually bound the head further by the size of
/// the read buffer they lend the engine; whichever is smaller wins.
pub const MAX_HEAD_LEN: usize = 32 * 1024;

/// Longest request-target (origin-form URI). Longer gives 414 URI Too Long.
///
/// The Python original bounds the URI only by the head size; a named limit lets a server
/// answer 414 before it has buffered a whole oversized head.
pub const MAX_URI_LEN: usize = 4096;

/// Longest header name in bytes. Longer gives 431.
///
/// The Python original allows 32 (its lower-casing scratch buffer). We lower-case in
/// place and allow 64, so real-world names such as
/// `access-control-request-private-network` (38) pass.
pub const MAX_HEADER_NAME_LEN: usize = 64;

/// Default number of header slots in a parsed head (the `N` of [`crate::Headers`]).
///
/// The Python original has no incoming count limit (only its 32 KiB head); an
/// allocation-free parser needs one. More headers than slots gives 431.
pub const DEFAULT_MAX_HEADERS: usize = 32;

/// Most headers a rendered head may carry, the framing header included.
///
/// The Python original allows 20; we allow as many as a default parsed head holds, so a
/// proxy can forward what it accepted.
pub const MAX_OUTPUT_HEADERS: usize = DEFAULT_MAX_HEADERS;

/// Longest chunk-size line, extension and CRLF included (`MAX_LINE_LEN`).
pub const MAX_CHUNK_LINE_LEN: usize = 4096;

/// Most hex digits in a chunk size.
pub const MAX_CHUNK_SIZE_DIGITS: usize = 7;

/// Largest chunk data size: 16 MiB (`MAX_IO_SIZE`). Larger gives 413.
pub const MAX_CHUNK_SIZE: u32 = 16 * 1024 * 1024;

/// Longest `range` header value: `bytes=` plus two 16-digit numbers and a dash.
pub const MAX_RANGE_LEN: usize = 39;

/// Longest `content-range` header value: `bytes ` plus three 16-digit numbers.
pub const MAX_CONTENT_RANGE_LEN: usize = 56;

/// Bytes needed to render any chunk-size line Degu can emit with an extension of at most
/// `ext_len` bytes (`key=value`): 7 hex digits, `;`, the extension and CRLF.
pub const fn chunk_line_len(ext_len: usize) -> usize {
    MAX_CHUNK_SIZE_DIGITS + 1 + ext_len + 2
}
