//! A bounded, in-memory duplex byte stream implementing `embedded-io-async`.
//!
//! Each direction is a queue of at most `capacity` bytes: a writer waits while it is
//! full, a reader waits while it is empty, so back-pressure is real and a body larger
//! than every buffer has to stream. Dropping a writer is EOF for its reader; writing
//! after the reader is gone is `BrokenPipe`. `max_read` caps the bytes one `read`
//! returns (1 replays every byte split). Write calls are counted so tests can check
//! how many writes a message took.

use core::future::poll_fn;
use core::task::{Poll, Waker};
use embedded_io::ErrorKind;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

struct Queue {
    bytes: VecDeque<u8>,
    capacity: usize,
    writer_gone: bool,
    reader_gone: bool,
    reader: Option<Waker>,
    writer: Option<Waker>,
    writes: usize,
}

fn wake(w: &mut Option<Waker>) {
    if let Some(w) = w.take() {
        w.wake();
    }
}

/// The read end of one direction.
pub struct PipeReader {
    q: Rc<RefCell<Queue>>,
    /// Most bytes one `read` returns.
    pub max_read: usize,
}

/// The write end of one direction.
pub struct PipeWriter {
    q: Rc<RefCell<Queue>>,
}

/// One direction: bytes written to the writer come out of the reader.
pub fn pipe(capacity: usize) -> (PipeReader, PipeWriter) {
    let q = Rc::new(RefCell::new(Queue {
        bytes: VecDeque::with_capacity(capacity),
        capacity,
        writer_gone: false,
        reader_gone: false,
        reader: None,
        writer: None,
        writes: 0,
    }));
    (
        PipeReader {
            q: q.clone(),
            max_read: usize::MAX,
        },
        PipeWriter { q },
    )
}

impl PipeWriter {
    /// Write calls that moved at least one byte so far.
    pub fn writes(&self) -> usize {
        self.q.borrow().writes
    }
}

impl Drop for PipeWriter {
    fn drop(&mut self) {
        let mut q = self.q.borrow_mut();
        q.writer_gone = true;
        wake(&mut q.reader);
    }
}

impl Drop for PipeReader {
    fn drop(&mut self) {
        let mut q = self.q.borrow_mut();
        q.reader_gone = true;
        wake(&mut q.writer);
    }
}

impl embedded_io::ErrorType for PipeReader {
    type Error = ErrorKind;
}

impl embedded_io::ErrorType for PipeWriter {
    type Error = ErrorKind;
}

impl embedded_io_async::Read for PipeReader {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, ErrorKind> {
        let max = self.max_read.min(buf.len());
        poll_fn(|cx| {
            let mut q = self.q.borrow_mut();
            if max == 0 {
                return Poll::Ready(Ok(0));
            }
            if !q.bytes.is_empty() {
                let n = max.min(q.bytes.len());
                for (dst, src) in buf.iter_mut().zip(q.bytes.drain(..n)) {
                    *dst = src;
                }
                wake(&mut q.writer);
                return Poll::Ready(Ok(n));
            }
            if q.writer_gone {
                return Poll::Ready(Ok(0));
            }
            q.reader = Some(cx.waker().clone());
            Poll::Pending
        })
        .await
    }
}

impl embedded_io_async::Write for PipeWriter {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, ErrorKind> {
        poll_fn(|cx| {
            let mut q = self.q.borrow_mut();
            if q.reader_gone {
                return Poll::Ready(Err(ErrorKind::BrokenPipe));
            }
            if buf.is_empty() {
                return Poll::Ready(Ok(0));
            }
            let room = q.capacity - q.bytes.len();
            if room == 0 {
                q.writer = Some(cx.waker().clone());
                return Poll::Pending;
            }
            let n = room.min(buf.len());
            q.bytes.extend(&buf[..n]);
            q.writes += 1;
            wake(&mut q.reader);
            Poll::Ready(Ok(n))
        })
        .await
    }

    async fn flush(&mut self) -> Result<(), ErrorKind> {
        // Bytes are visible to the reader as soon as they are written.
        Ok(())
    }
}

/// One end of a duplex stream.
pub struct Duplex {
    /// Bytes from the other end.
    pub rx: PipeReader,
    /// Bytes to the other end.
    pub tx: PipeWriter,
}

/// Two connected ends, each direction holding at most `capacity` bytes in flight.
pub fn duplex(capacity: usize) -> (Duplex, Duplex) {
    let (a_rx, b_tx) = pipe(capacity);
    let (b_rx, a_tx) = pipe(capacity);
    (Duplex { rx: a_rx, tx: a_tx }, Duplex { rx: b_rx, tx: b_tx })
}

impl embedded_io::ErrorType for Duplex {
    type Error = ErrorKind;
}

impl embedded_io_async::Read for Duplex {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, ErrorKind> {
        self.rx.read(buf).await
    }
}

impl embedded_io_async::Write for Duplex {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, ErrorKind> {
        self.tx.write(buf).await
    }

    async fn flush(&mut self) -> Result<(), ErrorKind> {
        self.tx.flush().await
    }
}

impl degu_core::engine::Transport for Duplex {
    type Reader<'a> = &'a mut PipeReader;
    type Writer<'a> = &'a mut PipeWriter;
    fn split(&mut self) -> (&mut PipeReader, &mut PipeWriter) {
        (&mut self.rx, &mut self.tx)
    }
}
