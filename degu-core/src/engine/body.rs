//! Reading a message body from a connection: the bytes already buffered after the head
//! first, then the stream, with the sans-I/O [`BodyDecoder`] keeping the framing.

use super::write::BodyWriter;
use super::{Error, Read, Write};
use crate::body::{BodyDecoder, ChunkExt, Decoded, Framing};
use crate::error::BodyError;
use core::future::Future;
use embassy_futures::select::{Either, select};

/// The part of a body read that outlives the [`Body`] handle: the window of buffered,
/// unread bytes and the decoder. The engine keeps it to drain or to find pipelined bytes.
#[derive(Debug)]
pub(crate) struct ReadState {
    /// Start of unread bytes in the body buffer.
    pub start: usize,
    /// End of buffered bytes in the body buffer.
    pub end: usize,
    pub decoder: BodyDecoder,
    pub framing: Framing,
    /// Total size of the chunk being read.
    chunk_size: u32,
    /// Whether the next piece handed out starts its chunk.
    chunk_start: bool,
    /// A read failed: the stream is out of step and the connection must close.
    pub failed: bool,
}

impl ReadState {
    pub(crate) fn new(framing: Framing, buffered: usize) -> Self {
        ReadState {
            start: 0,
            end: buffered,
            decoder: BodyDecoder::new(framing),
            framing,
            chunk_size: 0,
            chunk_start: false,
            failed: false,
        }
    }
}

/// One piece of a chunked body, as [`Body::read_chunk`] hands it out.
///
/// A chunk that fits the caller's buffer arrives as one piece; a larger one arrives in
/// several, and only the first carries the extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ChunkPiece<'a> {
    /// The chunk's extension; only on the chunk's first piece.
    pub ext: Option<ChunkExt<'a>>,
    /// Data bytes placed at the start of the caller's buffer.
    pub len: usize,
    /// The whole chunk's size (0 for the last chunk).
    pub chunk_size: u32,
    /// Whether this piece starts its chunk.
    pub first: bool,
    /// Whether this piece ends its chunk.
    pub last: bool,
}

impl ChunkPiece<'_> {
    /// Whether this is the body's last (size 0) chunk.
    pub fn is_end(&self) -> bool {
        self.chunk_size == 0
    }
}

/// Work a reader does whenever it waits for the stream. On a client, it is the rest of
/// a request body still being sent ([`Upload`](super::Upload)), so a server that
/// answers early, or echoes a body as it reads it, never deadlocks the exchange. `()` is
/// no work at all (a server's request bodies).
pub trait Pump {
    /// Whether there is nothing (left) to do.
    fn is_idle(&self) -> bool;

    /// One step of the work. It must be safe to drop before it completes (one `write`
    /// call whose effect is recorded only when it returns), because a read that
    /// completes first drops it.
    fn step(&mut self) -> impl Future<Output = ()>;

    /// One `read` from `reader`, with this work going on while it waits. The work is
    /// polled first, so a request that can be written at once is written before the
    /// first read is tried. Keep the default: `()` overrides it only to leave out the
    /// wrapping future when there is never any work.
    fn read_with<'a, R: Read>(
        &'a mut self,
        reader: &'a mut R,
        buf: &'a mut [u8],
    ) -> impl Future<Output = Result<usize, R::Error>> + 'a {
        async move {
            while !self.is_idle() {
                // Dropping the unfinished side is safe: one `read` or one write step.
                match select(self.step(), reader.read(buf)).await {
                    Either::First(()) => {}
                    Either::Second(r) => return r,
                }
            }
            reader.read(buf).await
        }
    }
}

impl Pump for () {
    fn is_idle(&self) -> bool {
        true
    }

    async fn step(&mut self) {}

    /// The read itself: a server's body reads wrap no future around it, which would be
    /// code and state in every connection's future.
    fn read_with<'a, R: Read>(
        &'a mut self,
        reader: &'a mut R,
        buf: &'a mut [u8],
    ) -> impl Future<Output = Result<usize, R::Error>> + 'a {
        reader.read(buf)
    }
}

/// A message body being read: request bodies on the server, response bodies on the
/// client. Read it with [`Body::read`] (data only, any framing) or chunk by chunk with
/// [`Body::read_chunk`] (chunked bodies: boundaries and extensions kept), or copy it to
/// a [`BodyWriter`] with [`relay`].
///
/// `P` is work done while the body waits for the stream (see [`Pump`]); on a client it
/// sends the rest of the request body.
pub struct Body<'a, R, P = ()> {
    reader: &'a mut R,
    buf: &'a mut [u8],
    st: &'a mut ReadState,
    pump: P,
}

impl<'a, R: Read> Body<'a, R> {
    pub(crate) fn new(reader: &'a mut R, buf: &'a mut [u8], st: &'a mut ReadState) -> Self {
        Body::with_pump(reader, buf, st, ())
    }
}

impl<'a, R: Read, P: Pump> Body<'a, R, P> {
    pub(crate) fn with_pump(
        reader: &'a mut R,
        buf: &'a mut [u8],
        st: &'a mut ReadState,
        pump: P,
    ) -> Self {
        Body {
            reader,
            buf,
            st,
            pump,
        }
    }

    /// The work going on while this body is read (on a client's simple verbs, the
    /// [`Upload`](super::Upload) of the request body: whether it was all sent).
    pub fn pump(&self) -> &P {
        &self.pump
    }

    /// How the body is framed: none, a length, or chunked.
    pub fn framing(&self) -> Framing {
        self.st.framing
    }

    /// Whether the body is chunked.
    pub fn is_chunked(&self) -> bool {
        self.st.framing == Framing::Chunked
    }

    /// The declared length of a length-framed body.
    pub fn content_length(&self) -> Option<u64> {
        match self.st.framing {
            Framing::Length(n) => Some(n),
            _ => None,
        }
    }

    /// Whether the whole body has been read.
    pub fn is_done(&self) -> bool {
        self.st.decoder.is_done()
    }

    /// Read more bytes into the body buffer, compacting it first when it is full.
    async fn fill(&mut self) -> Result<(), Error> {
        let n = self.read_more()?.await;
        self.filled(n)
    }

    /// Before a read: an empty window starts over at the buffer's start, and a window
    /// at the buffer's end moves to its start.
    fn make_room(&mut self) -> Result<(), Error> {
        let st = &mut *self.st;
        if st.start == st.end {
            st.start = 0;
            st.end = 0;
        }
        if st.end == self.buf.len() {
            if st.start == 0 {
                // A chunk line larger than the whole buffer.
                return Err(Error::Body(BodyError::ChunkLineTooLong));
            }
            shift_down(self.buf, st.start, st.end);
            st.end -= st.start;
            st.start = 0;
        }
        Ok(())
    }

    /// After a read of `n` bytes into the window's end (0: the stream ended early).
    pub(crate) fn filled(&mut self, n: Result<usize, R::Error>) -> Result<(), Error> {
        match n.map_err(Error::io)? {
            0 => Err(Error::Body(BodyError::UnexpectedEof)),
            n => {
                self.st.end += n;
                Ok(())
            }
        }
    }

    /// Read body data into `out`; `Ok(0)` at the end of the body (or when `out` is
    /// empty). Chunk boundaries and extensions are not reported: use
    /// [`Body::read_chunk`] to keep them.
    pub async fn read(&mut self, out: &mut [u8]) -> Result<usize, Error> {
        let r = self.read_data(out).await;
        self.st.failed |= r.is_err();
        r
    }

    async fn read_data(&mut self, out: &mut [u8]) -> Result<usize, Error> {
        if out.is_empty() {
            return Ok(0);
        }
        loop {
            let window = self.buf.get(self.st.start..self.st.end).unwrap_or(&[]);
            let (n, step) = self.st.decoder.decode(window)?;
            self.st.start += n;
            match step {
                Decoded::NeedMore => self.fill().await?,
                Decoded::Chunk(_) => {}
                Decoded::End => return Ok(0),
                Decoded::Data(max) => {
                    let want = clamp(max, out.len());
                    let buffered = self.st.end - self.st.start;
                    if buffered == 0 && want < self.buf.len() {
                        // Small reads go through the buffer: fewer, larger reads.
                        self.fill().await?;
                        continue;
                    }
                    let k = if buffered > 0 {
                        self.take_buffered(out, want)
                    } else {
                        self.read_direct(out.get_mut(..want).unwrap_or(&mut []))
                            .await?
                    };
                    return Ok(k);
                }
            }
        }
    }

    fn take_buffered(&mut self, out: &mut [u8], want: usize) -> usize {
        let k = want.min(self.st.end - self.st.start);
        if let (Some(dst), Some(src)) = (
            out.get_mut(..k),
            self.buf.get(self.st.start..self.st.start + k),
        ) {
            dst.copy_from_slice(src);
        }
        self.st.start += k;
        self.st.decoder.consume(k);
        k
    }

    async fn read_direct(&mut self, out: &mut [u8]) -> Result<usize, Error> {
        let k = self
            .pump
            .read_with(self.reader, out)
            .await
            .map_err(Error::io)?;
        if k == 0 && !out.is_empty() {
            return Err(Error::Body(BodyError::UnexpectedEof));
        }
        self.st.decoder.consume(k);
        Ok(k)
    }

    /// Read the whole body into `out`, returning its length; [`Error::BodyTooLarge`] if
    /// it does not fit.
    pub async fn read_to_end(&mut self, out: &mut [u8]) -> Result<usize, Error> {
        let mut len = 0;
        loop {
            let Some(rest) = out.get_mut(len..) else {
                return Err(Error::BodyTooLarge);
            };
            if rest.is_empty() {
                // Full: the body must end exactly here.
                let mut probe = [0u8; 1];
                return match self.read(&mut probe).await? {
                    0 => Ok(len),
                    _ => Err(Error::BodyTooLarge),
                };
            }
            match self.read(rest).await? {
                0 => return Ok(len),
                n => len += n,
            }
        }
    }

    /// Read the next piece of a chunked body into `out`: `Ok(None)` once the body has
    /// ended. The last chunk (size 0, possibly with an extension) is handed out as a
    /// piece of its own ([`ChunkPiece::is_end`]) before that; once it is, the body has
    /// been read to its end, so a loop may stop there.
    ///
    /// A piece fills `out` as far as the chunk allows, so a chunk no larger than `out`
    /// arrives whole. An empty `out` is refused with [`Error::BodyTooLarge`] for any
    /// chunk with data.
    pub async fn read_chunk(&mut self, out: &mut [u8]) -> Result<Option<ChunkPiece<'_>>, Error> {
        // Cleared on the way out with a piece; any error leaves the body failed.
        self.st.failed = true;
        if self.st.framing != Framing::Chunked {
            return Err(Error::NotChunked);
        }
        // Phase 1: parse framing up to a chunk line or data, filling as needed. Nothing
        // is borrowed from the buffer across a fill.
        let mut ext_at = None;
        loop {
            let window = self.buf.get(self.st.start..self.st.end).unwrap_or(&[]);
            let (n, step) = self.st.decoder.decode(window)?;
            match step {
                Decoded::NeedMore => {
                    self.st.start += n;
                    self.fill().await?;
                }
                Decoded::End => {
                    self.st.start += n;
                    self.st.failed = false;
                    return Ok(None);
                }
                Decoded::Data(_) => break,
                Decoded::Chunk(head) => {
                    let base = window.as_ptr() as usize;
                    ext_at = head.ext.map(|e| {
                        let k = e.key.as_ptr() as usize - base + self.st.start;
                        let v = e.value.as_ptr() as usize - base + self.st.start;
                        (k, e.key.len(), v, e.value.len())
                    });
                    self.st.start += n;
                    self.st.chunk_size = head.size;
                    self.st.chunk_start = true;
                    if head.size == 0 {
                        // Keep the line (its extension) while the final CRLF comes in.
                        let shift = self.finish_last_chunk(self.st.start - n).await?;
                        ext_at = ext_at.map(|(k, kl, v, vl)| (k - shift, kl, v - shift, vl));
                        break;
                    }
                    continue;
                }
            }
        }
        // Phase 2: data, from the buffer then straight from the stream. The buffer is
        // only read from here on, so the extension's bytes stay where they were.
        let first = core::mem::replace(&mut self.st.chunk_start, false);
        let mut len = 0;
        if self.st.chunk_size > 0 {
            let want = clamp(self.st.decoder.data_remaining(), out.len());
            if want == 0 {
                return Err(Error::BodyTooLarge);
            }
            len = self.take_buffered(out, want);
            while len < want {
                let dst = out.get_mut(len..want).unwrap_or(&mut []);
                len += self.read_direct(dst).await?;
            }
        }
        let last = self.st.decoder.data_remaining() == 0;
        let ext = match ext_at {
            Some((k, kl, v, vl)) if first => {
                let key = str_at(self.buf, k, kl)?;
                let value = str_at(self.buf, v, vl)?;
                Some(ChunkExt { key, value })
            }
            _ => None,
        };
        self.st.failed = false;
        Ok(Some(ChunkPiece {
            ext,
            len,
            chunk_size: self.st.chunk_size,
            first,
            last,
        }))
    }

    /// After the last chunk's line (which starts at `line`): take the body's final CRLF
    /// too, so the body is complete when its last piece is handed out. When the buffer
    /// must make room, everything from `line` on moves to the front; returns how far
    /// it moved, so the caller can find the line's extension again.
    async fn finish_last_chunk(&mut self, line: usize) -> Result<usize, Error> {
        let mut shift = 0;
        loop {
            let window = self.buf.get(self.st.start..self.st.end).unwrap_or(&[]);
            let (n, step) = self.st.decoder.decode(window)?;
            self.st.start += n;
            if step != Decoded::NeedMore {
                return Ok(shift);
            }
            if self.st.end == self.buf.len() {
                let from = line - shift;
                if from == 0 {
                    // The line fills the buffer: the CRLF waits for the next read.
                    return Ok(shift);
                }
                self.buf.copy_within(from..self.st.end, 0);
                self.st.start -= from;
                self.st.end -= from;
                shift += from;
            }
            let space = self.buf.get_mut(self.st.end..).unwrap_or(&mut []);
            let k = self
                .pump
                .read_with(self.reader, space)
                .await
                .map_err(Error::io)?;
            if k == 0 {
                return Err(Error::Body(BodyError::UnexpectedEof));
            }
            self.st.end += k;
        }
    }

    /// One step of discarding the rest of the body, at most `left` more data bytes
    /// (counted down): `Some(true)` once the body has ended, `Some(false)` when more than
    /// `left` is left, `None` when the window is used up and [`Body::read_more`] must
    /// read. Not an `async fn`: the server awaits the read in its own loop, one nested
    /// future less in every connection's future.
    pub(crate) fn drain_step(&mut self, left: &mut u64) -> Result<Option<bool>, Error> {
        loop {
            let window = self.buf.get(self.st.start..self.st.end).unwrap_or(&[]);
            let (n, step) = self.st.decoder.decode(window)?;
            self.st.start += n;
            match step {
                Decoded::End => return Ok(Some(true)),
                Decoded::Chunk(_) => {}
                // The decoder asks again for data after a read, taking nothing.
                Decoded::NeedMore => return Ok(None),
                Decoded::Data(_) if *left == 0 => return Ok(Some(false)),
                Decoded::Data(_) if self.st.start == self.st.end => return Ok(None),
                Decoded::Data(max) => {
                    let k = clamp(max.min(*left), self.st.end - self.st.start);
                    self.st.start += k;
                    self.st.decoder.consume(k);
                    *left -= k as u64;
                }
            }
        }
    }

    /// The read of [`Body::fill`] (room made first), as a future for a caller that awaits
    /// it itself and hands its result to [`Body::filled`].
    pub(crate) fn read_more(
        &mut self,
    ) -> Result<impl Future<Output = Result<usize, R::Error>> + '_, Error> {
        self.make_room()?;
        let space = self.buf.get_mut(self.st.end..).unwrap_or(&mut []);
        Ok(self.pump.read_with(self.reader, space))
    }
}

/// Which end of a [`relay`] failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum RelayError {
    /// Reading the body being copied.
    Source(Error),
    /// Writing the copy.
    Sink(Error),
}

impl From<RelayError> for Error {
    fn from(e: RelayError) -> Self {
        match e {
            RelayError::Source(e) | RelayError::Sink(e) => e,
        }
    }
}

/// Copy the rest of `from` into `to` through `buf`, keeping its framing exactly: a
/// length body stays the same length, a chunked body keeps every chunk boundary and
/// extension, the last chunk's included (chunks larger than `buf` pass in pieces).
/// Returns the data bytes copied; `to` still needs its `finish` (with no extension:
/// the last chunk has been written).
///
/// `to` must have been started with the same framing as `from` (a response to HEAD
/// declares a framing but has no body to copy: nothing is read or written). No
/// allocation; `buf` bounds the memory whatever the body's size.
///
/// ```
/// # use degu_core::engine::{Body, BodyWriter, Error, Read, Write, relay};
/// async fn echo<R: Read, W: Write>(
///     body: &mut Body<'_, R>,
///     out: &mut BodyWriter<'_, W>,
/// ) -> Result<u64, Error> {
///     let mut buf = [0u8; 512];
///     Ok(relay(body, out, &mut buf).await?)
/// }
/// ```
pub async fn relay<R: Read, P: Pump, W: Write>(
    from: &mut Body<'_, R, P>,
    to: &mut BodyWriter<'_, W>,
    buf: &mut [u8],
) -> Result<u64, RelayError> {
    let mut total = 0u64;
    match from.framing() {
        Framing::None => {}
        Framing::Length(_) => loop {
            let k = from.read(buf).await.map_err(RelayError::Source)?;
            if k == 0 {
                break;
            }
            let data = buf.get(..k).unwrap_or(&[]);
            to.write(data).await.map_err(RelayError::Sink)?;
            total += k as u64;
        },
        Framing::Chunked => loop {
            let piece = from.read_chunk(buf).await.map_err(RelayError::Source)?;
            let Some(p) = piece else {
                // The last chunk was handed out (and written) before the end.
                break;
            };
            if p.is_end() {
                to.out.last_chunk(p.ext).await.map_err(RelayError::Sink)?;
                continue;
            }
            if p.first {
                let size = p.chunk_size as usize;
                to.begin_chunk(size, p.ext)
                    .await
                    .map_err(RelayError::Sink)?;
            }
            let data = buf.get(..p.len).unwrap_or(&[]);
            to.write(data).await.map_err(RelayError::Sink)?;
            total += p.len as u64;
        },
    }
    Ok(total)
}

/// Move `buf[from..to]` to the buffer's start: `copy_within` with the range checked
/// here, so that a range the engine never makes is nothing rather than a panic (and its
/// message) in flash.
pub(crate) fn shift_down(buf: &mut [u8], from: usize, to: usize) {
    if let Some(window) = buf.get_mut(..to)
        && from <= to
    {
        window.copy_within(from.., 0);
    }
}

fn clamp(v: u64, max: usize) -> usize {
    usize::try_from(v).map_or(max, |v| v.min(max))
}

fn str_at(buf: &[u8], at: usize, len: usize) -> Result<&str, Error> {
    let bytes = buf
        .get(at..at + len)
        .ok_or(Error::Body(BodyError::BadChunkExtension))?;
    core::str::from_utf8(bytes).map_err(|_| Error::Body(BodyError::BadChunkExtension))
}
