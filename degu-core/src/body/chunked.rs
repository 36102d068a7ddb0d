//! Chunked transfer coding with Degu's per-chunk extension (RFC 9112 §7.1, narrowed to
//! the Python original's grammar):
//!
//! ```text
//! chunk      = size [ ";" key "=" value ] CRLF data CRLF
//! last-chunk = "0"  [ ";" key "=" value ] CRLF CRLF      ; no trailers
//! size       = 1*7HEXDIG, no leading zero, at most 0x1000000
//! key        = 1*( ALPHA / DIGIT / "-" )
//! value      = 1*( ALPHA / DIGIT / "-+.:_~\"'()*,;<>[]" )   ; no "=", so one extension
//! ```
//!
//! The size line, CRLF included, is at most [`MAX_CHUNK_LINE_LEN`] bytes. Extension keys
//! keep their case. Boundaries and extensions are application data: relays keep them.

use crate::error::{BodyError, RenderError};
use crate::limits::{MAX_CHUNK_LINE_LEN, MAX_CHUNK_SIZE, MAX_CHUNK_SIZE_DIGITS};
use crate::wire::class;

/// One chunk extension, `key=value`, borrowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ChunkExt<'a> {
    /// Key: letters, digits and `-`, case kept.
    pub key: &'a str,
    /// Value: letters, digits and `-+.:_~"'()*,;<>[]`.
    pub value: &'a str,
}

impl<'a> ChunkExt<'a> {
    /// An extension from a key and a value (checked when rendered).
    pub const fn new(key: &'a str, value: &'a str) -> Self {
        ChunkExt { key, value }
    }

    /// Whether key and value are in their classes and non-empty.
    pub fn is_valid(&self) -> bool {
        !self.key.is_empty()
            && !self.value.is_empty()
            && self.key.bytes().all(class::is_ext_key)
            && self.value.bytes().all(class::is_ext_value)
    }

    /// Bytes on the wire: `;key=value`.
    pub fn wire_len(&self) -> usize {
        2 + self.key.len() + self.value.len()
    }
}

/// The size line of one chunk: its data size and extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ChunkHead<'a> {
    /// Data bytes that follow; 0 for the last chunk.
    pub size: u32,
    /// The extension, if any.
    pub ext: Option<ChunkExt<'a>>,
}

/// Parse a chunk-size line at the start of `input`. `Ok(None)`: the line has not ended.
/// `Ok(Some((head, n)))`: the line took `n` bytes, CRLF included.
pub fn parse_chunk_line(input: &[u8]) -> Result<Option<(ChunkHead<'_>, usize)>, BodyError> {
    let window = input.get(..MAX_CHUNK_LINE_LEN).unwrap_or(input);
    let Some(cr) = window.iter().position(|&b| b == b'\r' || b == b'\n') else {
        return if input.len() >= MAX_CHUNK_LINE_LEN {
            Err(BodyError::ChunkLineTooLong)
        } else {
            Ok(None)
        };
    };
    match input.get(cr..cr + 2) {
        Some(b"\r\n") => {}
        Some(_) => return Err(BodyError::BadChunkSize),
        None if input.get(cr) == Some(&b'\r') => {
            return if cr + 2 > MAX_CHUNK_LINE_LEN {
                Err(BodyError::ChunkLineTooLong)
            } else {
                Ok(None)
            };
        }
        None => return Err(BodyError::BadChunkSize),
    }
    if cr + 2 > MAX_CHUNK_LINE_LEN {
        return Err(BodyError::ChunkLineTooLong);
    }
    let line = input.get(..cr).ok_or(BodyError::BadChunkSize)?;
    let (size, ext) = match line.iter().position(|&b| b == b';') {
        Some(i) => (
            line.get(..i).unwrap_or(&[]),
            Some(line.get(i + 1..).unwrap_or(&[])),
        ),
        None => (line, None),
    };
    let size = parse_size(size)?;
    let ext = match ext {
        None => None,
        Some(e) => Some(parse_ext(e)?),
    };
    Ok(Some((ChunkHead { size, ext }, cr + 2)))
}

fn parse_size(digits: &[u8]) -> Result<u32, BodyError> {
    match digits {
        [] => return Err(BodyError::BadChunkSize),
        [b'0', _, ..] => return Err(BodyError::BadChunkSize),
        _ => {}
    }
    let mut size: u32 = 0;
    for (i, &b) in digits.iter().enumerate() {
        let v = class::hex_value(b).ok_or(BodyError::BadChunkSize)?;
        if i >= MAX_CHUNK_SIZE_DIGITS {
            return Err(BodyError::ChunkTooLarge);
        }
        size = (size << 4) | u32::from(v);
    }
    if size > MAX_CHUNK_SIZE {
        return Err(BodyError::ChunkTooLarge);
    }
    Ok(size)
}

fn parse_ext(ext: &[u8]) -> Result<ChunkExt<'_>, BodyError> {
    let eq = ext
        .iter()
        .position(|&b| b == b'=')
        .ok_or(BodyError::BadChunkExtension)?;
    let key = ext.get(..eq).ok_or(BodyError::BadChunkExtension)?;
    let value = ext.get(eq + 1..).ok_or(BodyError::BadChunkExtension)?;
    let ok = !key.is_empty()
        && !value.is_empty()
        && key.iter().all(|&b| class::is_ext_key(b))
        && value.iter().all(|&b| class::is_ext_value(b));
    if !ok {
        return Err(BodyError::BadChunkExtension);
    }
    // Both checked against ASCII classes above.
    let key = core::str::from_utf8(key).map_err(|_| BodyError::BadChunkExtension)?;
    let value = core::str::from_utf8(value).map_err(|_| BodyError::BadChunkExtension)?;
    Ok(ChunkExt { key, value })
}

/// Render the size line of a chunk of `size` bytes: `size[;key=value]\r\n`. For the last
/// chunk (`size == 0`) this is not enough: use [`render_last_chunk`].
pub fn render_chunk_line(
    out: &mut [u8],
    size: usize,
    ext: Option<ChunkExt<'_>>,
) -> Result<usize, RenderError> {
    if size > MAX_CHUNK_SIZE as usize {
        return Err(RenderError::ChunkTooLarge);
    }
    if let Some(e) = ext
        && !e.is_valid()
    {
        return Err(RenderError::BadChunkExtension);
    }
    let mut hex = [0u8; 8];
    let digits = hex_digits(size as u32, &mut hex);
    let mut w = crate::wire::render::Cursor::new(out);
    w.put(digits);
    if let Some(e) = ext {
        w.put(b";");
        w.put(e.key.as_bytes());
        w.put(b"=");
        w.put(e.value.as_bytes());
    }
    w.put(b"\r\n");
    w.finish()
}

/// Render the last chunk and the end of the body: `0[;key=value]\r\n\r\n`.
pub fn render_last_chunk(out: &mut [u8], ext: Option<ChunkExt<'_>>) -> Result<usize, RenderError> {
    let n = render_chunk_line(out, 0, ext)?;
    let tail = out.get_mut(n..n + 2).ok_or(RenderError::BufferTooSmall)?;
    tail.copy_from_slice(b"\r\n");
    Ok(n + 2)
}

/// Lower-case hex digits of `v` without leading zeros, into `buf`.
fn hex_digits(v: u32, buf: &mut [u8; 8]) -> &[u8] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut i = buf.len();
    let mut v = v;
    loop {
        i -= 1;
        if let (Some(slot), Some(&d)) = (buf.get_mut(i), HEX.get((v & 0xf) as usize)) {
            *slot = d;
        }
        v >>= 4;
        if v == 0 || i == 0 {
            break;
        }
    }
    buf.get(i..).unwrap_or(b"0")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn hex_digits_have_no_leading_zeros() {
        let mut b = [0u8; 8];
        assert_eq!(hex_digits(0, &mut b), b"0");
        assert_eq!(hex_digits(0xc, &mut b), b"c");
        assert_eq!(hex_digits(0x1000000, &mut b), b"1000000");
        assert_eq!(hex_digits(u32::MAX, &mut b), b"ffffffff");
    }

    #[test]
    fn lines_render_like_the_original() {
        let mut out = [0u8; 64];
        let n = render_chunk_line(&mut out, 12, None).unwrap();
        assert_eq!(&out[..n], b"c\r\n");
        let n = render_last_chunk(&mut out, Some(ChunkExt::new("k", "v"))).unwrap();
        assert_eq!(&out[..n], b"0;k=v\r\n\r\n");
        let n = render_chunk_line(&mut out, 0x1000000, Some(ChunkExt::new("k", "v"))).unwrap();
        assert_eq!(&out[..n], b"1000000;k=v\r\n");
        assert_eq!(
            render_chunk_line(&mut out, 5, Some(ChunkExt::new("k k", "v"))),
            Err(RenderError::BadChunkExtension)
        );
        assert_eq!(
            render_chunk_line(&mut out, 5, Some(ChunkExt::new("k", "v\r\n"))),
            Err(RenderError::BadChunkExtension)
        );
        assert_eq!(
            render_chunk_line(&mut out, 0x1000001, None),
            Err(RenderError::ChunkTooLarge)
        );
        assert_eq!(
            render_chunk_line(&mut out[..2], 5, None),
            Err(RenderError::BufferTooSmall)
        );
    }
}
