//! Writing a message: the head rendered into the write buffer, small bodies coalesced
//! with it into one write, large bodies written straight from the caller's slice.
//!
//! [`BodyWriter`] is the one body writer: a server's response body and a client's
//! request body are both written through it, and [`relay`](super::relay) copies any
//! [`Body`](super::Body) into one with its framing kept.

use super::{Error, Write};
use crate::body::{BodyEncoder, ChunkExt, Framing};
use crate::error::RenderError;
use crate::limits::chunk_line_len;

/// How far a message has gone out, for the server to know what it may still do when
/// its handler fails: answer with a status of its own ([`Progress::Pending`]), or only
/// close ([`Progress::Started`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) enum Progress {
    /// No byte written yet (a head may be rendered in the buffer).
    #[default]
    Pending,
    /// Some byte has been handed to the stream.
    Started,
    /// Written completely and flushed.
    Complete,
}

impl Progress {
    /// A byte is handed to the stream: `Pending` → `Started`.
    fn start(&mut self) {
        if *self == Progress::Pending {
            *self = Progress::Started;
        }
    }

    /// The message is out whole: any state → `Complete`.
    fn complete(&mut self) {
        *self = Progress::Complete;
    }
}

/// The write side of one message: buffer, staged bytes and body encoder.
pub(crate) struct Out<'a, W> {
    writer: &'a mut W,
    buf: &'a mut [u8],
    /// Bytes staged in `buf[sent..staged]` but not yet written. `sent` moves only after
    /// a write returned, so a write that is dropped half-way loses nothing.
    sent: usize,
    staged: usize,
    pub(crate) encoder: BodyEncoder,
    framing: Framing,
    /// Whether body bytes are accounted but not sent (responses to HEAD).
    discard_body: bool,
    /// The message's progress, moved to [`Progress::Started`] when a byte is handed to
    /// the stream (servers track it; clients need not).
    progress: Option<&'a mut Progress>,
    /// Body data bytes of a response written through [`Out::data`] (none for a
    /// response to HEAD): what a [`Sent`](super::Sent) reports once the message is
    /// flushed. A client's request body is not counted.
    body_bytes: u64,
}

impl<'a, W: Write> Out<'a, W> {
    /// Start a message whose head `render` writes into the buffer.
    pub(crate) fn new(
        writer: &'a mut W,
        buf: &'a mut [u8],
        framing: Framing,
        discard_body: bool,
        render: impl FnOnce(&mut [u8]) -> Result<usize, RenderError>,
    ) -> Result<Self, Error> {
        let staged = render(buf)?;
        Ok(Out {
            writer,
            buf,
            sent: 0,
            staged,
            encoder: BodyEncoder::new(framing),
            framing,
            discard_body,
            progress: None,
            body_bytes: 0,
        })
    }

    /// Record the message's progress in `progress`.
    pub(crate) fn track(mut self, progress: &'a mut Progress) -> Self {
        self.progress = Some(progress);
        self
    }

    /// Body data bytes sent so far (framing bytes not counted).
    pub(crate) fn body_bytes(&self) -> u64 {
        self.body_bytes
    }

    /// The message went out whole: its tracked progress becomes [`Progress::Complete`].
    pub(crate) fn complete(&mut self) {
        if let Some(p) = self.progress.as_deref_mut() {
            p.complete();
        }
    }

    fn mark_written(&mut self) {
        if let Some(p) = self.progress.as_deref_mut() {
            p.start();
        }
    }

    async fn write_all(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.mark_written();
        self.writer.write_all(bytes).await.map_err(Error::io)
    }

    /// One `write` call from the staged bytes; how many it took.
    async fn write_staged_once(&mut self) -> Result<usize, Error> {
        self.mark_written();
        let bytes = self.buf.get(self.sent..self.staged).unwrap_or(&[]);
        let n = wrote(self.writer.write(bytes).await)?;
        self.took_staged(n);
        Ok(n)
    }

    /// Whether staged bytes wait to be written.
    pub(crate) fn has_staged(&self) -> bool {
        self.sent < self.staged
    }

    /// `n` staged bytes were written.
    fn took_staged(&mut self, n: usize) {
        self.sent += n;
        if self.sent >= self.staged {
            self.sent = 0;
            self.staged = 0;
        }
    }

    /// Write the staged bytes.
    pub(crate) async fn flush_pending(&mut self) -> Result<(), Error> {
        while self.sent < self.staged {
            self.write_staged_once().await?;
        }
        Ok(())
    }

    /// Queue framing bytes (never discarded for HEAD: see `put`).
    fn stage(&mut self, bytes: &[u8]) -> bool {
        match self.buf.get_mut(self.staged..self.staged + bytes.len()) {
            Some(dst) => {
                dst.copy_from_slice(bytes);
                self.staged += bytes.len();
                true
            }
            None => false,
        }
    }

    /// Send body bytes (or framing bytes that belong to the body): coalesced into the
    /// buffer when they fit, otherwise the buffer is topped up, written, and the rest
    /// goes straight from `data`.
    async fn put(&mut self, data: &[u8]) -> Result<(), Error> {
        if self.discard_body || data.is_empty() || self.stage(data) {
            return Ok(());
        }
        let room = self.buf.len() - self.staged;
        let (head, tail) = data.split_at(room.min(data.len()));
        // `head` is exactly the room left, so staging it cannot fail.
        self.stage(head);
        self.flush_pending().await?;
        self.write_all(tail).await
    }

    /// Length-framed body data, or data inside the current chunk.
    pub(crate) async fn data(&mut self, data: &[u8]) -> Result<(), Error> {
        self.encoder.data(data.len())?;
        self.put(data).await?;
        if !self.discard_body {
            self.body_bytes += data.len() as u64;
        }
        if self.encoder.chunk_complete() {
            self.end_chunk().await?;
        }
        Ok(())
    }

    /// Stage as much of a length-framed `body` as fits after the head, so a small
    /// request leaves in one write; the part that did not fit.
    pub(crate) fn stage_body<'d>(&mut self, body: &'d [u8]) -> Result<&'d [u8], Error> {
        let room = self.buf.len() - self.staged;
        let (now, later) = body.split_at(room.min(body.len()));
        self.encoder.data(now.len())?;
        self.stage(now);
        Ok(later)
    }

    /// Take the whole of a length-framed `body` after the head: staged with the head as
    /// far as it fits (so a small response leaves in one write); the rest, returned, is
    /// written straight from `body` by [`Out::step`] until it reports the message sent.
    /// A response to HEAD accounts for the body and sends none of it. One await point,
    /// `step`, where [`Out::data`] then [`Out::finish`] nest five futures: less code
    /// and a smaller future on a device.
    pub(crate) fn whole_body<'d>(&mut self, body: &'d [u8]) -> Result<&'d [u8], Error> {
        if self.discard_body {
            self.encoder.data(body.len())?;
            return Ok(&[]);
        }
        // Only a completed message makes a `Sent`, so counting it now is exact.
        self.body_bytes = body.len() as u64;
        self.stage_body(body)
    }

    /// One step of sending a length-framed body: one `write` call (staged bytes first,
    /// then `rest`), or the final flush. Every step is safe to drop before it
    /// completes: state changes only after the call returns. `Ok(true)` once all is sent.
    pub(crate) async fn step(&mut self, rest: &mut &[u8]) -> Result<bool, Error> {
        // One `write` await for both sources (not `write_staged_once` for the staged
        // bytes): one future less nested in every response, and less code.
        let staged = self.sent < self.staged;
        let Some(write) = self.step_write(rest) else {
            self.end_length()?.await.map_err(Error::io)?;
            return Ok(true);
        };
        let n = write.await;
        self.stepped(staged, n, rest)?;
        Ok(false)
    }

    /// [`Out::step`]'s write, for a caller that awaits it itself: the `write` call of
    /// the next bytes (staged bytes first, then `rest`), or `None` once all is written
    /// (then [`Out::end_length`]). Its result goes to [`Out::stepped`] with whether staged
    /// bytes were written (`self.sent < self.staged` before the call).
    pub(crate) fn step_write<'s>(
        &'s mut self,
        rest: &'s [u8],
    ) -> Option<impl Future<Output = Result<usize, W::Error>> + 's> {
        let bytes = if self.sent < self.staged {
            self.buf.get(self.sent..self.staged).unwrap_or(&[])
        } else {
            rest
        };
        if bytes.is_empty() {
            return None;
        }
        if let Some(p) = self.progress.as_deref_mut() {
            p.start();
        }
        Some(self.writer.write(bytes))
    }

    /// A [`Out::step_write`] write returned `n`: the staged bytes or `rest` move on.
    pub(crate) fn stepped<E: embedded_io::Error>(
        &mut self,
        staged: bool,
        n: Result<usize, E>,
        rest: &mut &[u8],
    ) -> Result<(), Error> {
        let n = wrote(n)?;
        if staged {
            self.took_staged(n);
        } else {
            self.encoder.data(n)?;
            *rest = rest.get(n..).unwrap_or(&[]);
        }
        Ok(())
    }

    /// A length body is all written: check it is whole, then the writer's flush.
    pub(crate) fn end_length(
        &mut self,
    ) -> Result<impl Future<Output = Result<(), W::Error>> + '_, Error> {
        self.encoder.finish()?;
        Ok(self.writer.flush())
    }

    /// Begin a chunk of `size` bytes.
    pub(crate) async fn begin_chunk(
        &mut self,
        size: usize,
        ext: Option<ChunkExt<'_>>,
    ) -> Result<(), Error> {
        if let Some(e) = ext
            && !e.is_valid()
        {
            return Err(Error::Render(RenderError::BadChunkExtension));
        }
        if self.discard_body {
            // Keep the encoder honest without sending anything.
            let mut line = [0u8; chunk_line_len(0)];
            self.encoder.begin_chunk(&mut line, size, None)?;
            return Ok(());
        }
        let need = chunk_line_len(ext.map_or(0, |e| e.wire_len()));
        if self.buf.len() - self.staged < need {
            self.flush_pending().await?;
        }
        let at = self.staged;
        let out = self.buf.get_mut(at..).unwrap_or(&mut []);
        let n = self.encoder.begin_chunk(out, size, ext)?;
        self.staged += n;
        Ok(())
    }

    async fn end_chunk(&mut self) -> Result<(), Error> {
        let mut crlf = [0u8; 2];
        self.encoder.end_chunk(&mut crlf)?;
        self.put(&crlf).await?;
        // A chunk is a unit of meaning (an event, a record): send it now.
        self.flush_pending().await
    }

    /// One whole chunk: its line, its data, its CRLF; sent at once.
    pub(crate) async fn chunk(
        &mut self,
        ext: Option<ChunkExt<'_>>,
        data: &[u8],
    ) -> Result<(), Error> {
        self.begin_chunk(data.len(), ext).await?;
        self.data(data).await
    }

    /// Write the last chunk, then everything pending.
    pub(crate) async fn last_chunk(&mut self, ext: Option<ChunkExt<'_>>) -> Result<(), Error> {
        if let Some(e) = ext
            && !e.is_valid()
        {
            return Err(Error::Render(RenderError::BadChunkExtension));
        }
        let mut line = [0u8; chunk_line_len(0) + 2];
        if self.discard_body {
            self.encoder.last_chunk(&mut line, None)?;
            return Ok(());
        }
        let need = chunk_line_len(ext.map_or(0, |e| e.wire_len())) + 2;
        if self.buf.len() - self.staged < need {
            self.flush_pending().await?;
        }
        let at = self.staged;
        let out = self.buf.get_mut(at..).unwrap_or(&mut []);
        let n = self.encoder.last_chunk(out, ext)?;
        self.staged += n;
        Ok(())
    }

    /// Check the body is complete (except for HEAD), write what is pending and flush.
    pub(crate) async fn finish(&mut self) -> Result<(), Error> {
        // A response to HEAD declares its body but never sends it: nothing is owed.
        if !self.discard_body {
            self.encoder.finish()?;
        }
        self.flush_pending().await?;
        self.writer.flush().await.map_err(Error::io)
    }
}

/// What a `write` call returned, as the engine's error: a write that took nothing is
/// [`WriteZero`](embedded_io::ErrorKind::WriteZero).
fn wrote<E: embedded_io::Error>(result: Result<usize, E>) -> Result<usize, Error> {
    match result.map_err(Error::io)? {
        0 => Err(Error::Io(embedded_io::ErrorKind::WriteZero)),
        n => Ok(n),
    }
}

/// A message body being written in its framing: a response body on a server, a
/// request body on a client.
///
/// A `content-length` body takes exactly its declared bytes through
/// [`BodyWriter::write`]; a chunked body takes whole chunks through
/// [`BodyWriter::write_chunk`], or a chunk line through [`BodyWriter::begin_chunk`] and its
/// data in pieces through [`BodyWriter::write`] (as a relay does with a chunk larger than
/// its buffer). The body ends with the `finish` of the type that holds the writer.
pub struct BodyWriter<'a, W> {
    pub(crate) out: Out<'a, W>,
}

impl<'a, W: Write> BodyWriter<'a, W> {
    pub(crate) fn new(out: Out<'a, W>) -> Self {
        BodyWriter { out }
    }

    /// The body's framing.
    pub fn framing(&self) -> Framing {
        self.out.framing
    }

    /// Data bytes still owed: the rest of a length-framed body or of the open chunk.
    pub fn remaining(&self) -> u64 {
        self.out.encoder.remaining()
    }

    /// Write body data: of a length-framed body (more than declared is an error and
    /// nothing is written), or of the chunk begun with [`BodyWriter::begin_chunk`] (the
    /// chunk ends, and is sent, when its size is reached).
    pub async fn write(&mut self, data: &[u8]) -> Result<(), Error> {
        self.out.data(data).await
    }

    /// Begin a chunk of `size` bytes (more than zero) whose data follows through
    /// [`BodyWriter::write`].
    pub async fn begin_chunk(
        &mut self,
        size: usize,
        ext: Option<ChunkExt<'_>>,
    ) -> Result<(), Error> {
        self.out.begin_chunk(size, ext).await
    }

    /// Write one whole chunk (non-empty `data`) with an optional extension; it is sent
    /// at once.
    pub async fn write_chunk(
        &mut self,
        ext: Option<ChunkExt<'_>>,
        data: &[u8],
    ) -> Result<(), Error> {
        self.out.chunk(ext, data).await
    }

    /// End the body: the last chunk with `last` as its extension (chunked bodies whose
    /// last chunk was not written yet, e.g. by a relay), the length check (length
    /// bodies, where `last` must be `None`), then write and flush what is pending.
    pub(crate) async fn end(&mut self, last: Option<ChunkExt<'_>>) -> Result<(), Error> {
        match self.out.framing {
            Framing::Chunked if !self.out.encoder.is_done() => self.out.last_chunk(last).await?,
            _ if last.is_some() => return Err(Error::Render(RenderError::ChunkOrder)),
            _ => {}
        }
        self.out.finish().await
    }
}
