//! `Range` (requests) and `Content-Range` (responses), one byte range each, with the
//! Python original's rules: Python slice semantics
//! (`stop` exclusive) in the API, inclusive ends on the wire; canonical decimals of
//! 1..=16 digits; no suffix or multiple ranges. Beyond the original, the open form
//! `bytes=N-` (everything from `N` on, how `curl -C -` resumes a download) is accepted.

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

/// A request for bytes `start..stop` of a resource (`stop` exclusive), or for every byte
/// from `start` on (the open form `bytes=N-`).
///
/// ```
/// use degu_core::Range;
///
/// let closed = Range::parse("bytes=100-199").unwrap();
/// assert_eq!((closed.start(), closed.stop()), (100, Some(200)));
/// let open = Range::parse("bytes=100-").unwrap();
/// assert_eq!((open.start(), open.stop()), (100, None));
/// assert_eq!(open.content_length(150), Some(50));
/// assert_eq!(open.content_range(150).unwrap().to_value().as_str(), "bytes 100-149/150");
/// assert_eq!(open.to_value().as_str(), "bytes=100-");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Range {
    start: u64,
    /// `None`: open, up to the end of the resource.
    stop: Option<u64>,
}

impl Range {
    /// `start..stop`, requiring `start < stop <= MAX_LENGTH`.
    pub const fn new(start: u64, stop: u64) -> Option<Range> {
        if start < stop && stop <= MAX_LENGTH {
            Some(Range {
                start,
                stop: Some(stop),
            })
        } else {
            None
        }
    }

    /// `start..` (to the end of the resource), requiring `start < MAX_LENGTH`.
    pub const fn open(start: u64) -> Option<Range> {
        if start < MAX_LENGTH {
            Some(Range { start, stop: None })
        } else {
            None
        }
    }

    /// First byte offset.
    pub const fn start(&self) -> u64 {
        self.start
    }

    /// One past the last byte offset; `None` for an open range.
    pub const fn stop(&self) -> Option<u64> {
        self.stop
    }

    /// Whether this is the open form `bytes=N-`.
    pub const fn is_open(&self) -> bool {
        self.stop.is_none()
    }

    /// Parse a `range` header value: `bytes=<start>-<end>` (inclusive `end`) or
    /// `bytes=<start>-` (open).
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
        if b.is_empty() {
            return Range::open(start).ok_or(ParseError::BadRange);
        }
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
        let stop = match self.stop {
            Some(stop) if stop < total => stop,
            _ => total,
        };
        Some(stop - self.start)
    }

    /// The `content-range` that answers this range for a `total`-byte resource.
    pub const fn content_range(&self, total: u64) -> Option<ContentRange> {
        match self.content_length(total) {
            Some(len) => ContentRange::new(self.start, self.start + len, total),
            None => None,
        }
    }

    /// The header value, e.g. `bytes=2-4` for `Range::new(2, 5)`, `bytes=2-` for
    /// `Range::open(2)`.
    pub fn to_value(&self) -> heapless::String<MAX_RANGE_LEN> {
        let mut s = heapless::String::new();
        // 39 bytes always hold `bytes=` and two numbers of at most 16 digits.
        let _ = fmt::write(&mut s, format_args!("{self}"));
        s
    }
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.stop {
            Some(stop) => write!(f, "bytes={}-{}", self.start, stop - 1),
            None => write!(f, "bytes={}-", self.start),
        }
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

    /// Parse the `content-range` of a `416 Range Not Satisfiable`: `bytes */<total>`;
    /// the total.
    ///
    /// ```
    /// use degu_core::ContentRange;
    ///
    /// assert_eq!(ContentRange::parse_unsatisfied("bytes */1000"), Ok(1000));
    /// assert!(ContentRange::parse_unsatisfied("bytes 0-1/1000").is_err());
    /// assert_eq!(ContentRange::unsatisfied(1000).as_str(), "bytes */1000");
    /// ```
    pub fn parse_unsatisfied(value: &str) -> Result<u64, ParseError> {
        let v = value.as_bytes();
        if v.len() > MAX_CONTENT_RANGE_LEN {
            return Err(ParseError::BadContentRange);
        }
        let digits = v
            .strip_prefix(b"bytes */")
            .ok_or(ParseError::BadContentRange)?;
        parse_decimal(digits).map_err(|_| ParseError::BadContentRange)
    }

    /// The `content-range` value a `416` answers with for a `total`-byte resource:
    /// `bytes */<total>` (`total` is clamped to [`MAX_LENGTH`]).
    pub fn unsatisfied(total: u64) -> heapless::String<MAX_CONTENT_RANGE_LEN> {
        let mut s = heapless::String::new();
        // `bytes */` and at most 16 digits fit in 56 bytes.
        let _ = fmt::write(&mut s, format_args!("bytes */{}", total.min(MAX_LENGTH)));
        s
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
    fn open_ranges_run_to_the_end() {
        let r = Range::open(5).unwrap();
        assert!(r.is_open());
        assert_eq!(r.stop(), None);
        assert_eq!(r.to_value().as_str(), "bytes=5-");
        assert_eq!(Range::parse(r.to_value().as_str()), Ok(r));
        assert_eq!(r.content_length(14), Some(9));
        assert_eq!(
            r.content_range(14).unwrap().to_value().as_str(),
            "bytes 5-13/14"
        );
        assert_eq!(r.content_length(5), None);
        assert_eq!(r.content_range(5), None);
        assert_eq!(Range::open(MAX_LENGTH), None);
        assert!(!Range::new(0, 1).unwrap().is_open());
    }

    #[test]
    fn range_values_the_original_accepts_and_rejects() {
        assert_eq!(Range::parse("bytes=0-0"), Ok(Range::new(0, 1).unwrap()));
        assert_eq!(
            Range::parse("bytes=9999999999999998-9999999999999998"),
            Ok(Range::new(9_999_999_999_999_998, MAX_LENGTH).unwrap())
        );
        assert_eq!(Range::parse("bytes=0-"), Ok(Range::open(0).unwrap()));
        assert_eq!(
            Range::parse("bytes=9999999999999998-"),
            Ok(Range::open(9_999_999_999_999_998).unwrap())
        );
        for bad in [
            "bytes=9999999999999999-",
            "bytes=-",
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
        assert_eq!(ContentRange::parse_unsatisfied("bytes */0"), Ok(0));
        for bad in [
            "bytes */",
            "bytes */*",
            "bytes */01",
            "bytes */10000000000000000",
            "bytes 0-1/2",
            "bytes  */2",
        ] {
            assert_eq!(
                ContentRange::parse_unsatisfied(bad),
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
