//! Testing an app without sockets: the server engine and the client on the two ends of
//! an in-memory connection, in the calling thread, on the host or anywhere else (no
//! `std`, no allocation, no extra dependency).
//!
//! * [`exchange`]: raw request bytes in, the raw response bytes out, as a peer that sends
//!   them and then closes its side would see them;
//! * [`with_client`]: degu's own client ([`Connection`]) against the app, for parsed
//!   responses and streamed bodies;
//! * [`Harness`]: the same with a [`KeepAlive`] and a peer address of your choice,
//!   and [`Harness::serve`] to put the server on an [`End`] you drive yourself;
//! * [`Duplex`] / [`Pipe`]: the in-memory connection itself, over caller storage, with
//!   real back-pressure (a writer waits while the other side has not read).
//!
//! ```
//! use degu_core::app::{App, Request, Session};
//! use degu_core::engine::{Error, Read, Responder, Sent, Write};
//! use degu_core::testing::{exchange, with_client};
//!
//! struct Hello;
//!
//! impl App for Hello {
//!     type State = ();
//!     async fn handle<'r, R: Read, W: Write>(
//!         &self,
//!         _: &mut Session<'_, ()>,
//!         request: Request<'_, R>,
//!         responder: Responder<'r, W>,
//!     ) -> Result<Sent<'r>, Error> {
//!         match request.components().next() {
//!             Some("hello") => responder.send(200, "OK", &[], b"hello, world").await,
//!             _ => responder.send(404, "Not Found", &[], b"").await,
//!         }
//!     }
//! }
//!
//! // Raw bytes: the request, then the peer closes; everything the server wrote.
//! let mut out = [0u8; 256];
//! let answer = exchange(&Hello, b"GET /hello HTTP/1.1\r\n\r\n", &mut out)?;
//! assert_eq!(
//!     &out[..answer.len],
//!     b"HTTP/1.1 200 OK\r\ncontent-length: 12\r\n\r\nhello, world"
//! );
//!
//! // Degu's client over the in-memory connection.
//! let status = with_client(&Hello, async |conn| {
//!     let mut response = conn.get("/hello", &[]).await?;
//!     let mut body = [0u8; 32];
//!     let n = response.body.read_to_end(&mut body).await?;
//!     assert_eq!(&body[..n], b"hello, world");
//!     Ok::<u16, Error>(response.status)
//! })?;
//! assert_eq!(status, 200);
//! # Ok::<(), Box<dyn core::error::Error>>(())
//! ```
//!
//! The blocking functions poll in a busy loop (`embassy_futures::block_on`): an app
//! that waits on a timer still works, and a test that never finishes spins instead of
//! sleeping. The `async` building blocks ([`Harness::serve`], [`Duplex`]) run on any
//! executor.

use crate::app::{App, PeerAddr, Session};
use crate::engine::{
    BufferSource, Buffers, Connection, DEFAULT_READ_BUFFER, DEFAULT_WRITE_BUFFER, Error, KeepAlive,
    Readable, ServerEnd, Transport, serve,
};
use core::cell::Cell;
use core::future::poll_fn;
use core::task::{Poll, Waker};
use embassy_futures::block_on;
use embassy_futures::join::join;
use embedded_io::ErrorKind;

/// Bytes in flight per direction on the connections [`exchange`], [`with_client`] and
/// [`Harness`] make: small, so that a body larger than it has to stream.
pub const PIPE_CAPACITY: usize = 4096;

/// Degu's client over one end of an in-memory connection, as [`with_client`] hands it
/// out (read and write buffers of the engine's default sizes).
pub type TestConnection<'a> = Connection<PipeReader<'a>, PipeWriter<'a>, &'a mut [u8]>;

/// One direction of an in-memory connection: a bounded queue over caller storage.
///
/// A writer waits while the queue is full and a reader while it is empty. Dropping the
/// [`PipeWriter`] is end of stream for the reader; writing after the [`PipeReader`] is
/// gone is [`ErrorKind::BrokenPipe`].
pub struct Pipe<'b> {
    buf: &'b [Cell<u8>],
    /// Index of the oldest queued byte.
    start: Cell<usize>,
    /// Bytes queued.
    len: Cell<usize>,
    writer_gone: Cell<bool>,
    reader_gone: Cell<bool>,
    reader: Cell<Option<Waker>>,
    writer: Cell<Option<Waker>>,
    writes: Cell<usize>,
}

fn wake(w: &Cell<Option<Waker>>) {
    if let Some(w) = w.take() {
        w.wake();
    }
}

impl<'b> Pipe<'b> {
    /// A pipe holding at most `storage.len()` bytes in flight.
    pub fn new(storage: &'b mut [u8]) -> Self {
        Pipe {
            buf: Cell::from_mut(storage).as_slice_of_cells(),
            start: Cell::new(0),
            len: Cell::new(0),
            writer_gone: Cell::new(false),
            reader_gone: Cell::new(false),
            reader: Cell::new(None),
            writer: Cell::new(None),
            writes: Cell::new(0),
        }
    }

    /// The read and write ends, on an empty queue (a pipe split again starts over).
    pub fn split(&mut self) -> (PipeReader<'_>, PipeWriter<'_>) {
        self.start.set(0);
        self.len.set(0);
        self.writer_gone.set(false);
        self.reader_gone.set(false);
        self.writes.set(0);
        let pipe: &Pipe<'_> = self;
        (
            PipeReader {
                pipe,
                max_read: usize::MAX,
            },
            PipeWriter { pipe },
        )
    }
}

/// The read end of a [`Pipe`].
pub struct PipeReader<'a> {
    pipe: &'a Pipe<'a>,
    /// Most bytes one `read` returns (1 makes the engine see every byte split).
    pub max_read: usize,
}

/// The write end of a [`Pipe`].
pub struct PipeWriter<'a> {
    pipe: &'a Pipe<'a>,
}

impl PipeWriter<'_> {
    /// Write calls that moved at least one byte so far (how many writes a message took).
    pub fn writes(&self) -> usize {
        self.pipe.writes.get()
    }
}

impl Drop for PipeWriter<'_> {
    fn drop(&mut self) {
        self.pipe.writer_gone.set(true);
        wake(&self.pipe.reader);
    }
}

impl Drop for PipeReader<'_> {
    fn drop(&mut self) {
        self.pipe.reader_gone.set(true);
        wake(&self.pipe.writer);
    }
}

impl embedded_io::ErrorType for PipeReader<'_> {
    type Error = ErrorKind;
}

/// The provided methods: a pipe cannot wait for input without taking it (the engine
/// reads at once), and nothing times a test's phases.
impl Readable for PipeReader<'_> {}

impl embedded_io::ErrorType for PipeWriter<'_> {
    type Error = ErrorKind;
}

impl embedded_io_async::Read for PipeReader<'_> {
    async fn read(&mut self, out: &mut [u8]) -> Result<usize, ErrorKind> {
        let max = self.max_read.min(out.len());
        let p = self.pipe;
        poll_fn(|cx| {
            if max == 0 {
                return Poll::Ready(Ok(0));
            }
            let len = p.len.get();
            if len > 0 {
                let n = max.min(len);
                let cap = p.buf.len();
                let start = p.start.get();
                for (i, dst) in out.iter_mut().take(n).enumerate() {
                    *dst = p.buf.get((start + i) % cap).map_or(0, Cell::get);
                }
                p.start.set((start + n) % cap);
                p.len.set(len - n);
                wake(&p.writer);
                return Poll::Ready(Ok(n));
            }
            if p.writer_gone.get() {
                return Poll::Ready(Ok(0));
            }
            p.reader.set(Some(cx.waker().clone()));
            Poll::Pending
        })
        .await
    }
}

impl embedded_io_async::Write for PipeWriter<'_> {
    async fn write(&mut self, data: &[u8]) -> Result<usize, ErrorKind> {
        let p = self.pipe;
        poll_fn(|cx| {
            if p.reader_gone.get() {
                return Poll::Ready(Err(ErrorKind::BrokenPipe));
            }
            if data.is_empty() {
                return Poll::Ready(Ok(0));
            }
            let cap = p.buf.len();
            let len = p.len.get();
            if len == cap {
                p.writer.set(Some(cx.waker().clone()));
                return Poll::Pending;
            }
            let n = (cap - len).min(data.len());
            let end = p.start.get() + len;
            for (i, &b) in data.iter().take(n).enumerate() {
                if let Some(c) = p.buf.get((end + i) % cap) {
                    c.set(b);
                }
            }
            p.len.set(len + n);
            p.writes.set(p.writes.get() + 1);
            wake(&p.reader);
            Poll::Ready(Ok(n))
        })
        .await
    }

    async fn flush(&mut self) -> Result<(), ErrorKind> {
        // Bytes are visible to the reader as soon as they are written.
        Ok(())
    }
}

/// Two pipes, one each way: an in-memory connection over caller storage.
pub struct Duplex<'b> {
    there: Pipe<'b>,
    back: Pipe<'b>,
}

impl<'b> Duplex<'b> {
    /// A connection carrying at most `there.len()` bytes in flight from the first end
    /// to the second and `back.len()` the other way.
    pub fn new(there: &'b mut [u8], back: &'b mut [u8]) -> Self {
        Duplex {
            there: Pipe::new(there),
            back: Pipe::new(back),
        }
    }

    /// The two ends (a server's and a client's, say).
    pub fn split(&mut self) -> (End<'_>, End<'_>) {
        let (a_rx, b_tx) = self.back.split();
        let (b_rx, a_tx) = self.there.split();
        (End { rx: a_rx, tx: a_tx }, End { rx: b_rx, tx: b_tx })
    }
}

/// One end of a [`Duplex`]: a stream to read from and write to, and a [`Transport`]
/// for the server engine.
pub struct End<'a> {
    /// Bytes from the other end.
    pub rx: PipeReader<'a>,
    /// Bytes to the other end.
    pub tx: PipeWriter<'a>,
}

impl embedded_io::ErrorType for End<'_> {
    type Error = ErrorKind;
}

impl embedded_io_async::Read for End<'_> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, ErrorKind> {
        self.rx.read(buf).await
    }
}

impl embedded_io_async::Write for End<'_> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, ErrorKind> {
        self.tx.write(buf).await
    }

    async fn flush(&mut self) -> Result<(), ErrorKind> {
        self.tx.flush().await
    }
}

impl<'a> Transport for End<'a> {
    type Reader<'r>
        = &'r mut PipeReader<'a>
    where
        Self: 'r;
    type Writer<'w>
        = &'w mut PipeWriter<'a>
    where
        Self: 'w;
    fn split(&mut self) -> (&mut PipeReader<'a>, &mut PipeWriter<'a>) {
        (&mut self.rx, &mut self.tx)
    }
}

/// Why an [`exchange`] could not hand back the whole answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum HarnessError {
    /// The server wrote more than the response buffer holds; the connection was closed
    /// on it when the buffer was full.
    ResponseTooLarge,
}

impl core::fmt::Display for HarnessError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            HarnessError::ResponseTooLarge => f.write_str("response larger than the buffer"),
        }
    }
}

impl core::error::Error for HarnessError {}

/// What the server did in an [`exchange`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exchange {
    /// Bytes the server wrote (at the front of the response buffer).
    pub len: usize,
    /// How the server's connection ended: an error for a request the engine refused
    /// (after answering it with its status), otherwise why it closed.
    pub end: Result<ServerEnd, Error>,
}

/// An app with the server options and the peer address its tests see.
pub struct Harness<'a, A> {
    app: &'a A,
    config: KeepAlive,
    peer: PeerAddr,
}

impl<'a, A: App> Harness<'a, A> {
    /// `app` with the default [`KeepAlive`], seeing an unnamed peer.
    pub fn new(app: &'a A) -> Self {
        Harness {
            app,
            config: KeepAlive::new(),
            peer: PeerAddr::Unnamed,
        }
    }

    /// With server options `config`.
    pub fn config(mut self, config: KeepAlive) -> Self {
        self.config = config;
        self
    }

    /// With connections from `peer` (what [`Session::peer`] says).
    pub fn peer(mut self, peer: PeerAddr) -> Self {
        self.peer = peer;
        self
    }

    /// Serve one connection on `end` with `buffers`, as an adapter would, until it
    /// closes; `end` is dropped then, so the other end sees the close.
    pub async fn serve<B: BufferSource>(
        &self,
        mut end: End<'_>,
        buffers: &mut B,
    ) -> Result<ServerEnd, Error> {
        let mut session = Session::new(self.peer.clone(), A::State::default());
        serve(&mut end, buffers, self.app, &mut session, &self.config).await
    }

    /// Send `request` (any bytes: one request, several pipelined, a broken one), close
    /// the sending side, and collect everything the server writes until it closes into
    /// `response`.
    pub fn exchange(&self, request: &[u8], response: &mut [u8]) -> Result<Exchange, HarnessError> {
        let (mut there, mut back) = ([0u8; PIPE_CAPACITY], [0u8; PIPE_CAPACITY]);
        let mut duplex = Duplex::new(&mut there, &mut back);
        let (server, client) = duplex.split();
        let mut buffers = Buffers::<DEFAULT_READ_BUFFER, DEFAULT_WRITE_BUFFER>::new();
        let (got, end) = block_on(join(
            raw_exchange(client, request, response),
            self.serve(server, &mut buffers),
        ));
        match got {
            Some(len) => Ok(Exchange { len, end }),
            None => Err(HarnessError::ResponseTooLarge),
        }
    }

    /// Run `client` with degu's client connected to the app; the connection closes when
    /// `client` returns, and so does the server's side.
    pub fn with_client<T>(&self, client: impl AsyncFnOnce(&mut TestConnection<'_>) -> T) -> T {
        let (mut there, mut back) = ([0u8; PIPE_CAPACITY], [0u8; PIPE_CAPACITY]);
        let mut duplex = Duplex::new(&mut there, &mut back);
        let (server, end) = duplex.split();
        let mut buffers = Buffers::<DEFAULT_READ_BUFFER, DEFAULT_WRITE_BUFFER>::new();
        let (mut rbuf, mut wbuf) = ([0u8; DEFAULT_READ_BUFFER], [0u8; DEFAULT_WRITE_BUFFER]);
        let run_client = async {
            let mut conn = Connection::new(end.rx, end.tx, &mut rbuf[..], &mut wbuf[..]);
            client(&mut conn).await
            // `conn` drops here: the server sees the close.
        };
        block_on(join(run_client, self.serve(server, &mut buffers))).0
    }
}

/// Write `request` to `end` and close its sending side, while collecting what comes
/// back into `response` until the other side closes; the length, or `None` when
/// `response` filled up first (the end is dropped then, so the other side's writes
/// fail instead of waiting forever).
pub async fn raw_exchange(end: End<'_>, request: &[u8], response: &mut [u8]) -> Option<usize> {
    use embedded_io_async::{Read as _, Write as _};
    let End { mut rx, mut tx } = end;
    let send = async move {
        // A server that closes early makes the rest of the writes fail: that is its
        // answer, not the test's failure.
        let _ = tx.write_all(request).await;
        drop(tx);
    };
    let receive = async move {
        let mut len = 0;
        loop {
            let Some(space) = response.get_mut(len..).filter(|s| !s.is_empty()) else {
                // Full: one more byte means too large; the read end drops either way.
                let mut probe = [0u8; 1];
                return match rx.read(&mut probe).await {
                    Ok(0) | Err(_) => Some(len),
                    Ok(_) => None,
                };
            };
            match rx.read(space).await {
                Ok(0) | Err(_) => return Some(len),
                Ok(n) => len += n,
            }
        }
    };
    join(send, receive).await.1
}

/// [`Harness::exchange`] with the defaults.
pub fn exchange<A: App>(
    app: &A,
    request: &[u8],
    response: &mut [u8],
) -> Result<Exchange, HarnessError> {
    Harness::new(app).exchange(request, response)
}

/// [`Harness::with_client`] with the defaults.
pub fn with_client<A: App, T>(
    app: &A,
    client: impl AsyncFnOnce(&mut TestConnection<'_>) -> T,
) -> T {
    Harness::new(app).with_client(client)
}
