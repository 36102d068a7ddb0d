//! Writing a message: the head rendered into the write buffer, small bodies coalesced
//! with it into one write, large bodies written straight from the caller's slice.

use super::{Error, Write};
use crate::body::{BodyEncoder, ChunkExt, Framing};
use crate::error::RenderError;
use crate::limits::chunk_line_len;

/// The write side of one message: buffer, pending bytes and body encoder.
pub(crate) struct Out<'a, W> {
    writer: &'a mut W,
    buf: &'a mut [u8],
    /// Bytes rendered into `buf` but not yet written.
    pending: usize,
    pub(crate) encoder: BodyEncoder,
    /// Whether body bytes are accounted but not sent (responses to HEAD).
    discard_body: bool,
    /// Set once any byte of this message has been handed to the stream, so the server
    /// knows whether an error can still be answered with a status of its own.
    wrote: Option<&'a mut bool>,
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
        let pending = render(buf)?;
        Ok(Out {
            writer,
            buf,
            pending,
            encoder: BodyEncoder::new(framing),
            discard_body,
            wrote: None,
        })
    }

    /// Record in `flag` whether any byte has been written.
    pub(crate) fn track(mut self, flag: &'a mut bool) -> Self {
        self.wrote = Some(flag);
        self
    }

    fn mark_written(&mut self) {
        if let Some(w) = self.wrote.as_deref_mut() {
            *w = true;
        }
    }

    async fn write_all(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.mark_written();
        self.writer.write_all(bytes).await.map_err(Error::io)
    }

    /// Write the pending bytes.
    pub(crate) async fn flush_pending(&mut self) -> Result<(), Error> {
        if self.pending > 0 {
            let n = core::mem::take(&mut self.pending);
            self.mark_written();
            let bytes = self.buf.get(..n).unwrap_or(&[]);
            self.writer.write_all(bytes).await.map_err(Error::io)?;
        }
        Ok(())
    }

    /// Queue framing bytes (never discarded for HEAD: see `put`).
    fn stage(&mut self, bytes: &[u8]) -> bool {
        match self.buf.get_mut(self.pending..self.pending + bytes.len()) {
            Some(dst) => {
                dst.copy_from_slice(bytes);
                self.pending += bytes.len();
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
        let room = self.buf.len() - self.pending;
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
        if self.encoder.chunk_complete() {
            self.end_chunk().await?;
        }
        Ok(())
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
        if self.buf.len() - self.pending < need {
            self.flush_pending().await?;
        }
        let at = self.pending;
        let out = self.buf.get_mut(at..).unwrap_or(&mut []);
        let n = self.encoder.begin_chunk(out, size, ext)?;
        self.pending += n;
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
        if self.buf.len() - self.pending < need {
            self.flush_pending().await?;
        }
        let at = self.pending;
        let out = self.buf.get_mut(at..).unwrap_or(&mut []);
        let n = self.encoder.last_chunk(out, ext)?;
        self.pending += n;
        Ok(())
    }

    /// The stream, once the message is written.
    pub(crate) fn into_writer(self) -> &'a mut W {
        self.writer
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
