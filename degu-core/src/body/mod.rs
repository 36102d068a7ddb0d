//! Body framing: a sans-I/O decoder and encoder that mirror each other.
//!
//! Neither touches data bytes. The decoder parses framing (chunk lines, CRLFs) and says
//! how many data bytes may be taken next; the caller takes them from its buffer or reads
//! them straight into the application's, then reports how many it took. The encoder
//! renders framing and counts data so a body can never be longer or shorter than it
//! declared. Memory stays bounded whatever the body size.

pub mod chunked;

pub use chunked::{ChunkExt, ChunkHead, parse_chunk_line, render_chunk_line, render_last_chunk};

pub use crate::wire::head::Framing;

use crate::error::{BodyError, RenderError};

/// What the decoder found next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Decoded<'a> {
    /// Framing is incomplete: supply more bytes (nothing was consumed).
    NeedMore,
    /// A chunk begins. Its data follows as `Data`; a size-0 chunk is the last one.
    Chunk(ChunkHead<'a>),
    /// Up to this many data bytes may be taken now; report them with
    /// [`BodyDecoder::consume`].
    Data(u64),
    /// The body is complete.
    End,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
enum DecodeState {
    Length { remaining: u64 },
    ChunkLine,
    ChunkData { remaining: u32 },
    ChunkDataEnd,
    LastChunkEnd,
    Done,
}

/// Sans-I/O body decoder for one message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct BodyDecoder {
    state: DecodeState,
}

impl BodyDecoder {
    /// A decoder for a body with this framing.
    pub const fn new(framing: Framing) -> Self {
        let state = match framing {
            Framing::None | Framing::Length(0) => DecodeState::Done,
            Framing::Length(n) => DecodeState::Length { remaining: n },
            Framing::Chunked => DecodeState::ChunkLine,
        };
        BodyDecoder { state }
    }

    /// Look at `input` (the bytes received and not yet consumed) and say what comes next,
    /// with how many bytes of framing it consumed. Data is never consumed here.
    pub fn decode<'a>(&mut self, input: &'a [u8]) -> Result<(usize, Decoded<'a>), BodyError> {
        match self.state {
            DecodeState::Done => Ok((0, Decoded::End)),
            DecodeState::Length { remaining } => Ok((0, Decoded::Data(remaining))),
            DecodeState::ChunkData { remaining } => Ok((0, Decoded::Data(u64::from(remaining)))),
            DecodeState::ChunkLine => self.chunk_line(input, 0),
            // The CRLF after chunk data is taken together with the next chunk line, so
            // `NeedMore` never consumes anything (the state stays put until both are in).
            DecodeState::ChunkDataEnd => match crlf(input, BodyError::BadChunkTerminator)? {
                None => Ok((0, Decoded::NeedMore)),
                Some(n) => self.chunk_line(input.get(n..).unwrap_or(&[]), n),
            },
            DecodeState::LastChunkEnd => match crlf(input, BodyError::TrailersNotSupported)? {
                None => Ok((0, Decoded::NeedMore)),
                Some(n) => {
                    self.state = DecodeState::Done;
                    Ok((n, Decoded::End))
                }
            },
        }
    }

    /// Parse a chunk line at the start of `line`, which sits `before` bytes into the input.
    fn chunk_line<'a>(
        &mut self,
        line: &'a [u8],
        before: usize,
    ) -> Result<(usize, Decoded<'a>), BodyError> {
        match parse_chunk_line(line)? {
            None => Ok((0, Decoded::NeedMore)),
            Some((head, n)) => {
                self.state = match head.size {
                    0 => DecodeState::LastChunkEnd,
                    size => DecodeState::ChunkData { remaining: size },
                };
                Ok((before + n, Decoded::Chunk(head)))
            }
        }
    }

    /// Record that `n` data bytes were taken after [`Decoded::Data`]. Taking more than
    /// was offered is clamped to what was offered.
    pub fn consume(&mut self, n: usize) {
        let n = n as u64;
        match &mut self.state {
            DecodeState::Length { remaining } => {
                *remaining = remaining.saturating_sub(n);
                if *remaining == 0 {
                    self.state = DecodeState::Done;
                }
            }
            DecodeState::ChunkData { remaining } => {
                *remaining = remaining.saturating_sub(u32::try_from(n).unwrap_or(u32::MAX));
                if *remaining == 0 {
                    self.state = DecodeState::ChunkDataEnd;
                }
            }
            _ => {}
        }
    }

    /// Data bytes that may be taken right now without parsing more framing.
    pub const fn data_remaining(&self) -> u64 {
        match self.state {
            DecodeState::Length { remaining } => remaining,
            DecodeState::ChunkData { remaining } => remaining as u64,
            _ => 0,
        }
    }

    /// Whether the whole body has been decoded.
    pub const fn is_done(&self) -> bool {
        matches!(self.state, DecodeState::Done)
    }

    /// Whether the body is chunked.
    pub const fn is_chunked(&self) -> bool {
        !matches!(self.state, DecodeState::Length { .. } | DecodeState::Done)
    }

    /// The error for a stream that ended now: none when the body is complete.
    pub const fn eof(&self) -> Result<(), BodyError> {
        match self.state {
            DecodeState::Done => Ok(()),
            _ => Err(BodyError::UnexpectedEof),
        }
    }
}

/// `Some(2)` when `input` starts with CRLF, `None` when it may still, else `err`.
fn crlf(input: &[u8], err: BodyError) -> Result<Option<usize>, BodyError> {
    match input {
        [b'\r', b'\n', ..] => Ok(Some(2)),
        [] | [b'\r'] => Ok(None),
        _ => Err(err),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
enum EncodeState {
    Length { remaining: u64 },
    ChunkIdle,
    ChunkOpen { remaining: u32 },
    Done,
}

/// Body encoder for one outgoing message: renders chunk framing and counts data, so a
/// body that is longer or shorter than declared is an error before it reaches the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct BodyEncoder {
    state: EncodeState,
}

impl BodyEncoder {
    /// An encoder for a body with this framing.
    pub const fn new(framing: Framing) -> Self {
        let state = match framing {
            Framing::None | Framing::Length(0) => EncodeState::Done,
            Framing::Length(n) => EncodeState::Length { remaining: n },
            Framing::Chunked => EncodeState::ChunkIdle,
        };
        BodyEncoder { state }
    }

    /// Account for `n` data bytes about to be written (length-framed body, or inside the
    /// current chunk). Errors without changing state if that is more than declared.
    pub fn data(&mut self, n: usize) -> Result<(), RenderError> {
        let n64 = n as u64;
        match &mut self.state {
            EncodeState::Length { remaining } if n64 <= *remaining => {
                *remaining -= n64;
                if *remaining == 0 {
                    self.state = EncodeState::Done;
                }
                Ok(())
            }
            EncodeState::ChunkOpen { remaining } if n64 <= u64::from(*remaining) => {
                *remaining -= n as u32;
                Ok(())
            }
            EncodeState::ChunkOpen { .. } | EncodeState::ChunkIdle => Err(RenderError::ChunkOrder),
            _ if n == 0 => Ok(()),
            _ => Err(RenderError::BodyTooLong),
        }
    }

    /// Begin a chunk of `size > 0` bytes: renders its size line into `out`.
    pub fn begin_chunk(
        &mut self,
        out: &mut [u8],
        size: usize,
        ext: Option<ChunkExt<'_>>,
    ) -> Result<usize, RenderError> {
        if self.state != EncodeState::ChunkIdle || size == 0 {
            return Err(RenderError::ChunkOrder);
        }
        let n = render_chunk_line(out, size, ext)?;
        self.state = EncodeState::ChunkOpen {
            remaining: size as u32,
        };
        Ok(n)
    }

    /// End the current chunk once all its data was written: renders CRLF into `out`.
    pub fn end_chunk(&mut self, out: &mut [u8]) -> Result<usize, RenderError> {
        if self.state != (EncodeState::ChunkOpen { remaining: 0 }) {
            return Err(RenderError::ChunkOrder);
        }
        let crlf = out.get_mut(..2).ok_or(RenderError::BufferTooSmall)?;
        crlf.copy_from_slice(b"\r\n");
        self.state = EncodeState::ChunkIdle;
        Ok(2)
    }

    /// Write the last chunk (`0[;ext]\r\n\r\n`), ending the body.
    pub fn last_chunk(
        &mut self,
        out: &mut [u8],
        ext: Option<ChunkExt<'_>>,
    ) -> Result<usize, RenderError> {
        if self.state != EncodeState::ChunkIdle {
            return Err(RenderError::ChunkOrder);
        }
        let n = render_last_chunk(out, ext)?;
        self.state = EncodeState::Done;
        Ok(n)
    }

    /// Data bytes still owed: the rest of a length-framed body or of the open chunk.
    pub const fn remaining(&self) -> u64 {
        match self.state {
            EncodeState::Length { remaining } => remaining,
            EncodeState::ChunkOpen { remaining } => remaining as u64,
            _ => 0,
        }
    }

    /// Whether the body is complete.
    pub const fn is_done(&self) -> bool {
        matches!(self.state, EncodeState::Done)
    }

    /// Whether a chunk is open and all its data has been written (time for
    /// [`BodyEncoder::end_chunk`]).
    pub const fn chunk_complete(&self) -> bool {
        matches!(self.state, EncodeState::ChunkOpen { remaining: 0 })
    }

    /// `Ok` when the body is complete; otherwise why not.
    pub const fn finish(&self) -> Result<(), RenderError> {
        match self.state {
            EncodeState::Done => Ok(()),
            EncodeState::Length { .. } => Err(RenderError::BodyTooShort),
            _ => Err(RenderError::ChunkOrder),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn length_encoder_refuses_too_much_and_too_little() {
        let mut e = BodyEncoder::new(Framing::Length(5));
        assert_eq!(e.finish(), Err(RenderError::BodyTooShort));
        e.data(3).unwrap();
        assert_eq!(e.data(3), Err(RenderError::BodyTooLong));
        assert_eq!(e.remaining(), 2);
        e.data(2).unwrap();
        assert_eq!(e.finish(), Ok(()));
        assert_eq!(e.data(1), Err(RenderError::BodyTooLong));
    }

    #[test]
    fn chunk_encoder_enforces_order() {
        let mut out = [0u8; 32];
        let mut e = BodyEncoder::new(Framing::Chunked);
        assert_eq!(e.data(1), Err(RenderError::ChunkOrder));
        assert_eq!(
            e.begin_chunk(&mut out, 0, None),
            Err(RenderError::ChunkOrder)
        );
        let n = e
            .begin_chunk(&mut out, 5, Some(ChunkExt::new("a", "b")))
            .unwrap();
        assert_eq!(&out[..n], b"5;a=b\r\n");
        assert_eq!(e.end_chunk(&mut out), Err(RenderError::ChunkOrder));
        e.data(5).unwrap();
        assert_eq!(e.data(1), Err(RenderError::ChunkOrder));
        assert_eq!(e.last_chunk(&mut out, None), Err(RenderError::ChunkOrder));
        assert_eq!(e.end_chunk(&mut out), Ok(2));
        assert_eq!(e.finish(), Err(RenderError::ChunkOrder));
        let n = e.last_chunk(&mut out, None).unwrap();
        assert_eq!(&out[..n], b"0\r\n\r\n");
        assert_eq!(e.finish(), Ok(()));
    }
}
