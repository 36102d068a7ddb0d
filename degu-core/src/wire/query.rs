//! Query strings: `key=value` pairs split without allocation, and percent-decoding
//! into a caller's buffer.
//!
//! ```text
//! query = pair *( "&" pair )
//! pair  = key [ "=" value ]        ; empty pairs ("a=1&&b=2") are skipped
//! ```
//!
//! The request parser already limits a query to `A-Za-z0-9-/?+.:_~%&=` (see
//! `wire/class.rs`); decoding turns `%XX` into the byte `0xXX` and `+` into a
//! space (HTML form encoding), and the result must be UTF-8.
//!
//! ```
//! use degu_core::wire::query::{Query, decode};
//!
//! let mut pairs = Query::new("n=10&name=hello+w%C3%B6rld&flag");
//! assert_eq!(pairs.next(), Some(("n", "10")));
//! let (key, raw) = pairs.next().unwrap();
//! let mut buf = [0u8; 32];
//! assert_eq!((key, decode(raw, &mut buf)?), ("name", "hello wörld"));
//! assert_eq!(pairs.next(), Some(("flag", "")));
//! assert_eq!(pairs.next(), None);
//! assert_eq!(Query::new("a=1&b=2").get("b"), Some("2"));
//! # Ok::<(), degu_core::wire::query::DecodeError>(())
//! ```

use core::fmt;

/// The `key=value` pairs of a query, raw (still percent-encoded), in order.
#[derive(Clone, Debug)]
pub struct Query<'a> {
    rest: &'a str,
}

impl<'a> Query<'a> {
    /// The pairs of `query` (the part after `?`, without it).
    pub const fn new(query: &'a str) -> Self {
        Query { rest: query }
    }

    /// The raw value of the first pair named `key` (compared raw, so name keys
    /// without escapes); `Some("")` for a key without `=`.
    pub fn get(self, key: &str) -> Option<&'a str> {
        self.into_iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }
}

impl<'a> Iterator for Query<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.rest.is_empty() {
                return None;
            }
            let (pair, rest) = self.rest.split_once('&').unwrap_or((self.rest, ""));
            self.rest = rest;
            if !pair.is_empty() {
                return Some(pair.split_once('=').unwrap_or((pair, "")));
            }
        }
    }
}

/// Why a query component cannot be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum DecodeError {
    /// A `%` not followed by two hex digits.
    BadEscape,
    /// The decoded bytes are not UTF-8.
    NotUtf8,
    /// The decoded bytes do not fit the buffer.
    BufferTooSmall,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DecodeError::BadEscape => "bad percent escape",
            DecodeError::NotUtf8 => "decoded query is not UTF-8",
            DecodeError::BufferTooSmall => "decoded query does not fit the buffer",
        })
    }
}

impl core::error::Error for DecodeError {}

/// The value of one hex digit.
const fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-decode `raw` into `buf` (`+` is a space); the decoded text.
pub fn decode<'b>(raw: &str, buf: &'b mut [u8]) -> Result<&'b str, DecodeError> {
    let mut bytes = raw.bytes();
    let mut len = 0;
    while let Some(b) = bytes.next() {
        let out = match b {
            b'%' => {
                let hi = bytes.next().and_then(hex).ok_or(DecodeError::BadEscape)?;
                let lo = bytes.next().and_then(hex).ok_or(DecodeError::BadEscape)?;
                hi << 4 | lo
            }
            b'+' => b' ',
            b => b,
        };
        *buf.get_mut(len).ok_or(DecodeError::BufferTooSmall)? = out;
        len += 1;
    }
    let decoded = buf.get(..len).unwrap_or(&[]);
    core::str::from_utf8(decoded).map_err(|_| DecodeError::NotUtf8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_skip_empty_ones_and_keep_bare_keys() {
        let all: heapless::Vec<_, 8> = Query::new("&a=1&&b=&c&=d&").collect();
        assert_eq!(&all[..], &[("a", "1"), ("b", ""), ("c", ""), ("", "d")]);
        assert_eq!(Query::new("").next(), None);
        assert_eq!(Query::new("x=1=2").get("x"), Some("1=2"));
    }

    #[test]
    fn decoding_is_strict() {
        let mut buf = [0u8; 8];
        assert_eq!(decode("a%2Fb+c", &mut buf), Ok("a/b c"));
        assert_eq!(decode("%2", &mut buf), Err(DecodeError::BadEscape));
        assert_eq!(decode("%zz", &mut buf), Err(DecodeError::BadEscape));
        assert_eq!(decode("%ff", &mut buf), Err(DecodeError::NotUtf8));
        assert_eq!(
            decode("123456789", &mut buf),
            Err(DecodeError::BufferTooSmall)
        );
        assert_eq!(decode("", &mut buf), Ok(""));
    }
}
