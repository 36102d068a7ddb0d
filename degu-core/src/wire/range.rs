//! `Range` (requests) and `Content-Range` (responses), one byte range each, with the
//! Python original's rules: Python slice semantics
//! (`stop` exclusive) in the API, inclusive ends on the wire; canonical decimals of
//! 1..=16 digits; no suffix, open or multiple ranges.

use crate::error::ParseError;
use crate::limits::{MAX_CONTENT_RANGE_LEN, MAX_DECIMAL_DIGITS, MAX_LENGTH, MAX_RANGE_LEN};
use core::fmt;

/// Parse a canonical decimal: 1..=16 ASCII digits, no leading zero unless exactly `0`,
/// no sign, no whitespace. `Err(true)` when it only fails for having too many digits.
pub(crate) fn parse_decimal(digits: &[u8]) -> Result<u64, bool> {
    match digits {
        [] => return Err(false),
        [b'0', _, ..] => return Err(false),
        _ => {}
    }
    let mut value: u64 = 0;
    for (i, &b) in digits.iter().enumerate() {
        if !b.is_ascii_digit() {
            return Err(false);
        }
        if i >= MAX_DECIMAL_DIGITS {
            return Err(digits.iter().all(u8::is_ascii_digit));
        }
        value = value * 10 + u64::from(b - b'0');
    }
    Ok(value)
}

/// A request for bytes `start..stop` of a resource (`stop` exclusive).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Range {
    start: u64,
    stop: u64,
}

impl Range {
    /// `start..stop`, requiring `start < stop <= MAX_LENGTH`.
    pub const fn new(start: u64, stop: u64) -> Option<Range> {
        if start < stop && stop <= MAX_LENGTH {
            Some(Range { start, stop })
        } else {
            None
        }
    }

    /// First byte offset.
    pub const fn start(&self) -> u64 {
        self.start
    }

    /// One past the last byte offset.
    pub const fn stop(&self) -> u64 {
        self.stop
    }

    /// Parse a `range` header value: `bytes=<start>-<end>`, inclusive `end`.
    pub fn parse(value: &str) -> Result<Range, ParseError> {
        let v = value.as_bytes();
        if v.len() > MAX_RANGE_LEN {
            return Err(ParseError::BadRange);
        }
        let rest = v.strip_prefix(b"bytes=").ok_or(ParseError::BadRange)?;
        let dash = rest
            .iter()
            .position(|&b| b == b'-')
            .ok_or(ParseError::BadRange)?;
        let (a, b) = rest.split_at(dash);
        let b = b.get(1..).ok_or(ParseError::BadRange)?;
        let start = parse_decimal(a).map_err(|_| ParseError::BadRange)?;
        let end = parse_decimal(b).map_err(|_| ParseError::BadRange)?;
        if end < start {
            return Err(ParseError::BadRange);
        }
        Range::new(start, end + 1).ok_or(ParseError::BadRange)
    }

    /// Length of the part of a `total`-byte resource this range covers, or `None` when
    /// the range starts at or past the end.
    pub const fn content_length(&self, total: u64) -> Option<u64> {
        if total <= self.start {
            return None;
        }
        let stop = if self.stop < total { self.stop } else { total };
        Some(stop - self.start)
    }

    /// The `content-range` that answers this range for a `total`-byte resource.
    pub const fn content_range(&self, total: u64) -> Option<ContentRange> {
        match self.content_length(total) {
            Some(len) => ContentRange::new(self.start, self.start + len, total),
            None => None,
        }
    }

    /// The header value, e.g. `bytes=2-4` for `Range::new(2, 5)`.
    pub fn to_value(&self) -> heapless::String<MAX_RANGE_LEN> {
        let mut s = heapless::String::new();
        // 39 bytes always hold `bytes=` and two numbers of at most 16 digits.
        let _ = fmt::write(&mut s, format_args!("{self}"));
        s
    }
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bytes={}-{}", self.start, self.stop - 1)
    }
}

/// Which bytes of a `total`-byte resource a response carries: `start..stop`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ContentRange {
    start: u64,
    stop: u64,
    total: u64,
}

impl ContentRange {
    /// Requires `start < stop <= total <= MAX_LENGTH`.
    pub const fn new(start: u64, stop: u64, total: u64) -> Option<ContentRange> {
        if start < stop && stop <= total && total <= MAX_LENGTH {
            Some(ContentRange { start, stop, total })
        } else {
            None
        }
    }

    /// First byte offset.
    pub const fn start(&self) -> u64 {
        self.start
    }

    /// One past the last byte offset.
    pub const fn stop(&self) -> u64 {
        self.stop
    }

    /// Size of the whole resource.
    pub const fn total(&self) -> u64 {
        self.total
    }

    /// Parse a `content-range` value: `bytes <start>-<end>/<total>`, inclusive `end`.
    pub fn parse(value: &str) -> Result<ContentRange, ParseError> {
        let v = value.as_bytes();
        if v.len() > MAX_CONTENT_RANGE_LEN {
            return Err(ParseError::BadContentRange);
        }
        let rest = v
            .strip_prefix(b"bytes ")
            .ok_or(ParseError::BadContentRange)?;
        let (range, total) = split_once(rest, b'/').ok_or(ParseError::BadContentRange)?;
        let (a, b) = split_once(range, b'-').ok_or(ParseError::BadContentRange)?;
        let bad = |_| ParseError::BadContentRange;
        let start = parse_decimal(a).map_err(bad)?;
        let end = parse_decimal(b).map_err(bad)?;
        let total = parse_decimal(total).map_err(bad)?;
        if end < start || end >= total {
            return Err(ParseError::BadContentRange);
        }
        ContentRange::new(start, end + 1, total).ok_or(ParseError::BadContentRange)
    }

    /// The header value, e.g. `bytes 2-4/7` for `ContentRange::new(2, 5, 7)`.
    pub fn to_value(&self) -> heapless::String<MAX_CONTENT_RANGE_LEN> {
        let mut s = heapless::String::new();
        // 56 bytes always hold `bytes `, three numbers of at most 16 digits, `-` and `/`.
        let _ = fmt::write(&mut s, format_args!("{self}"));
        s
    }
}

impl fmt::Display for ContentRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bytes {}-{}/{}", self.start, self.stop - 1, self.total)
    }
}

fn split_once(v: &[u8], sep: u8) -> Option<(&[u8], &[u8])> {
    let i = v.iter().position(|&b| b == sep)?;
    Some((v.get(..i)?, v.get(i + 1..)?))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn range_round_trips_and_clamps_like_the_original() {
        let r = Range::new(2, 5).unwrap();
        assert_eq!(r.to_value().as_str(), "bytes=2-4");
        assert_eq!(Range::parse("bytes=2-4"), Ok(r));
        let r = Range::new(5, 15).unwrap();
        assert_eq!(r.content_length(14), Some(9));
        assert_eq!(
            r.content_range(14).unwrap().to_value().as_str(),
            "bytes 5-13/14"
        );
        assert_eq!(r.content_length(5), None);
        assert_eq!(Range::new(5, 5), None);
        assert_eq!(Range::new(0, MAX_LENGTH + 1), None);
    }

    #[test]
    fn range_values_the_original_accepts_and_rejects() {
        assert_eq!(Range::parse("bytes=0-0"), Ok(Range::new(0, 1).unwrap()));
        assert_eq!(
            Range::parse("bytes=9999999999999998-9999999999999998"),
            Ok(Range::new(9_999_999_999_999_998, MAX_LENGTH).unwrap())
        );
        for bad in [
            "bytes=0-",
            "bytes=-500",
            "bytes=0-1,5-6",
            "bytes=5-4",
            "Bytes=0-1",
            "bytes=00-1",
            "bytes=0-9999999999999999",
            "bytes= 0-1",
            "bytes=0-1 ",
            "bytes=+0-1",
            "bytes=0-99999999999999999",
        ] {
            assert_eq!(Range::parse(bad), Err(ParseError::BadRange), "{bad}");
        }
    }

    #[test]
    fn content_range_values_the_original_accepts_and_rejects() {
        let cr = ContentRange::parse("bytes 0-4/10").unwrap();
        assert_eq!((cr.start(), cr.stop(), cr.total()), (0, 5, 10));
        assert_eq!(cr.to_value().as_str(), "bytes 0-4/10");
        for bad in [
            "bytes 0-4/*",
            "bytes */10",
            "bytes 0-10/10",
            "bytes 5-4/10",
            "bytes=0-4/10",
        ] {
            assert_eq!(
                ContentRange::parse(bad),
                Err(ParseError::BadContentRange),
                "{bad}"
            );
        }
    }

    #[test]
    fn decimals_are_canonical() {
        assert_eq!(parse_decimal(b"0"), Ok(0));
        assert_eq!(parse_decimal(b"9999999999999999"), Ok(MAX_LENGTH));
        assert_eq!(parse_decimal(b"10000000000000000"), Err(true));
        assert_eq!(parse_decimal(b"05"), Err(false));
        assert_eq!(parse_decimal(b"+5"), Err(false));
        assert_eq!(parse_decimal(b"5 "), Err(false));
        assert_eq!(parse_decimal(b""), Err(false));
    }
}
