//! The connection engine: one keep-alive loop for servers ([`serve`]) and one request
//! loop for clients ([`Connection`]), generic over `embedded-io-async` streams, with
//! caller-supplied buffers and no allocation.
//!
//! The engine does I/O but reads no clock: adapters bound reads and writes with their
//! own timers and learn what the connection is waiting for from a [`Monitor`].

pub(crate) mod app;
mod body;
mod client;
mod phase;
mod server;
mod write;

pub use app::{App, Credentials, MAX_UNIX_ADDR_LEN, PeerAddr, PeerIdentity, Request, Session};
pub use body::{Body, ChunkPiece, Pump, RelayError, relay};
pub use client::{
    BaseHeaders, Connection, MAX_INTERIM_RESPONSES, PendingResponse, RequestBody, Response, Upload,
};
pub use phase::{Monitor, Phase, PhaseClock, Timeouts};
pub use server::{KeepAlive, Responder, ResponseBody, Sent, ServerEnd, serve};
pub use write::BodyWriter;

pub use embedded_io_async::{Read, Write};

use crate::error::{BodyError, ParseError, RenderError};

/// Why an exchange failed. Any error closes the connection it happened on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Error {
    /// The stream failed (timeouts surface here, as the adapter reports them).
    Io(embedded_io::ErrorKind),
    /// The peer closed the connection where a new message could have started.
    Closed,
    /// The peer sent a head Degu does not accept.
    Parse(ParseError),
    /// The peer's body framing is broken or the stream ended inside a body.
    Body(BodyError),
    /// The application asked to send something invalid; nothing was written for it.
    Render(RenderError),
    /// A request was started before the previous response body was read to its end.
    BodyNotConsumed,
    /// A chunk-level read on a body that is not chunked.
    NotChunked,
    /// A body did not fit the buffer given to [`Body::read_to_end`].
    BodyTooLarge,
    /// The application's handler failed for its own reasons.
    App,
    /// A relay's upstream server failed (vanished, broke its framing) while its
    /// response was being passed on: `502 Bad Gateway` if no byte of that response
    /// has reached the client yet, a cut-off response otherwise.
    Upstream,
}

impl Error {
    /// The status a server answers with when this error ends a request before any
    /// response byte was written.
    pub const fn status(&self) -> u16 {
        match self {
            Error::Parse(e) => e.status(),
            Error::Body(e) => e.status(),
            Error::BodyTooLarge => 413,
            Error::Upstream => 502,
            _ => 500,
        }
    }

    pub(crate) fn io<E: embedded_io::Error>(e: E) -> Self {
        Error::Io(e.kind())
    }
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Error::Io(kind) => write!(f, "i/o error: {kind:?}"),
            Error::Closed => f.write_str("connection closed by peer"),
            Error::Parse(e) => write!(f, "bad head: {e}"),
            Error::Body(e) => write!(f, "bad body: {e}"),
            Error::Render(e) => write!(f, "cannot send: {e}"),
            Error::BodyNotConsumed => f.write_str("previous body not consumed"),
            Error::NotChunked => f.write_str("body is not chunked"),
            Error::BodyTooLarge => f.write_str("body larger than the buffer"),
            Error::App => f.write_str("application error"),
            Error::Upstream => f.write_str("upstream failed"),
        }
    }
}

impl core::error::Error for Error {}

impl From<ParseError> for Error {
    fn from(e: ParseError) -> Self {
        Error::Parse(e)
    }
}

impl From<BodyError> for Error {
    fn from(e: BodyError) -> Self {
        Error::Body(e)
    }
}

impl From<RenderError> for Error {
    fn from(e: RenderError) -> Self {
        Error::Render(e)
    }
}

/// A read half that can wait for input without taking it, so that a server connection
/// between requests holds no buffers (see [`BufferSource`]).
///
/// The provided method returns at once, which is always correct: the engine then takes
/// its buffers before the request's first byte is there. Adapters whose sockets can wait
/// for readiness (Tokio's `readable`, embassy-net's `wait_read_ready`) override it.
///
/// It is also how the server engine tells its adapter what the connection is waiting
/// for: [`Readable::set_phase`] is called on every change of [`Phase`], so the reader
/// that must pick a timeout (and the pool that must pick a connection to close) learns
/// it from the stream it already holds, with no other handle passed around.
pub trait Readable: Read {
    /// Wait until a read would not wait: input has arrived, the peer has closed, or the
    /// stream has failed (then the error). May return early; the engine then simply
    /// reads.
    fn readable(&mut self) -> impl Future<Output = Result<(), Self::Error>> {
        core::future::ready(Ok(()))
    }

    /// The connection entered `phase`: [`serve`] calls it on each change (a connection
    /// starts [`Phase::Idle`]) and with [`Phase::Done`] when it returns. The provided
    /// method ignores it.
    fn set_phase(&mut self, phase: Phase) {
        let _ = phase;
    }
}

/// A borrowed reader waits and tracks phases as the reader itself does: what lets a
/// `(reader, writer)` pair lend its halves to the engine as they are.
impl<R: Readable + ?Sized> Readable for &mut R {
    fn readable(&mut self) -> impl Future<Output = Result<(), Self::Error>> {
        (**self).readable()
    }

    fn set_phase(&mut self, phase: Phase) {
        (**self).set_phase(phase);
    }
}

/// A byte stream the server engine can read and write at the same time: split into a
/// read half and a write half for the life of a connection, so a handler can stream a
/// request body in while it streams a response out.
///
/// Implemented for any `(reader, writer)` pair: adapters split their sockets (embassy's
/// `TcpSocket::split`, Tokio's `split`) into a reader that is [`Readable`] in its own
/// right (readiness, phase clock) and a writer, and lend the engine the pair; a reader
/// with nothing to add implements [`Readable`] with the provided methods.
pub trait Transport {
    /// The read half.
    type Reader<'a>: Readable
    where
        Self: 'a;
    /// The write half.
    type Writer<'a>: Write
    where
        Self: 'a;
    /// Borrow both halves.
    fn split(&mut self) -> (Self::Reader<'_>, Self::Writer<'_>);
}

impl<R: Readable, W: Write> Transport for (R, W) {
    type Reader<'a>
        = Half<'a, R>
    where
        Self: 'a;
    type Writer<'a>
        = Half<'a, W>
    where
        Self: 'a;
    fn split(&mut self) -> (Half<'_, R>, Half<'_, W>) {
        (Half(&mut self.0), Half(&mut self.1))
    }
}

/// One half of a `(reader, writer)` [`Transport`], lent to the engine: it reads, writes
/// and waits as the half itself does. Not a plain `&mut`: embedded-io-async forwards a
/// `&mut` reader's or writer's calls through an `async fn` of its own, a state machine
/// around every read and write (code in every connection's future on a device); this
/// hands out the half's own futures.
pub struct Half<'a, T: ?Sized>(&'a mut T);

impl<T: embedded_io::ErrorType + ?Sized> embedded_io::ErrorType for Half<'_, T> {
    type Error = T::Error;
}

impl<T: Read + ?Sized> Read for Half<'_, T> {
    fn read(&mut self, buf: &mut [u8]) -> impl Future<Output = Result<usize, Self::Error>> {
        self.0.read(buf)
    }
}

impl<T: Readable + ?Sized> Readable for Half<'_, T> {
    fn readable(&mut self) -> impl Future<Output = Result<(), Self::Error>> {
        self.0.readable()
    }

    fn set_phase(&mut self, phase: Phase) {
        self.0.set_phase(phase);
    }
}

impl<T: Write + ?Sized> Write for Half<'_, T> {
    fn write(&mut self, buf: &[u8]) -> impl Future<Output = Result<usize, Self::Error>> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> impl Future<Output = Result<(), Self::Error>> {
        self.0.flush()
    }
}

/// The buffers one connection needs: `R` bytes to read heads and bodies into (the largest
/// head a peer may send), `W` bytes to render heads into and coalesce small writes.
///
/// `const fn new()` lets firmware keep them in a `static`. RAM per connection is
/// `R + W` plus the connection future (see the README for measured sizes).
pub struct Buffers<
    const R: usize = { DEFAULT_READ_BUFFER },
    const W: usize = { DEFAULT_WRITE_BUFFER },
> {
    /// Read buffer.
    pub read: [u8; R],
    /// Write buffer.
    pub write: [u8; W],
}

/// Default read buffer: 4 KiB, the largest head (and chunk line) a default connection
/// accepts.
pub const DEFAULT_READ_BUFFER: usize = 4096;

/// Default write buffer: 2 KiB, enough for any head Degu renders with typical headers
/// plus a small body in the same write.
pub const DEFAULT_WRITE_BUFFER: usize = 2048;

impl<const R: usize, const W: usize> Buffers<R, W> {
    /// Zeroed buffers.
    pub const fn new() -> Self {
        Buffers {
            read: [0; R],
            write: [0; W],
        }
    }
}

/// Storage for a connection's read and write buffers: [`Buffers`] (fixed, `static`-able)
/// or any pair of byte slices or vectors, e.g. `(vec![0; 32768], vec![0; 8192])`.
pub trait ConnBuffers {
    /// The read and write buffers.
    fn split(&mut self) -> (&mut [u8], &mut [u8]);
}

impl<const R: usize, const W: usize> ConnBuffers for Buffers<R, W> {
    fn split(&mut self) -> (&mut [u8], &mut [u8]) {
        (&mut self.read, &mut self.write)
    }
}

impl<A: AsMut<[u8]>, B: AsMut<[u8]>> ConnBuffers for (A, B) {
    fn split(&mut self) -> (&mut [u8], &mut [u8]) {
        (self.0.as_mut(), self.1.as_mut())
    }
}

impl<B: ConnBuffers + ?Sized> ConnBuffers for &mut B {
    fn split(&mut self) -> (&mut [u8], &mut [u8]) {
        (**self).split()
    }
}

/// Where a server connection gets its buffers: [`serve`] leases them when a request's
/// first byte has arrived (see [`Readable`]) and drops the lease when the connection goes
/// idle again with nothing pipelined, so an idle or silent connection holds none.
///
/// Every [`ConnBuffers`] is a source that lends itself (a connection that owns its
/// buffers, as before); `degu-std` lends from a per-thread pool, `degu-embassy` shares a
/// few static sets among more sockets than sets.
pub trait BufferSource {
    /// The buffers while a connection holds them; dropping it gives them back.
    type Lease<'a>: ConnBuffers
    where
        Self: 'a;

    /// Buffers for one request, or a run of pipelined requests. May wait until a set is
    /// free; while it does, the connection is still [`Phase::Idle`].
    fn lease(&mut self) -> impl Future<Output = Self::Lease<'_>>;
}

impl<B: ConnBuffers> BufferSource for B {
    type Lease<'a>
        = &'a mut B
    where
        Self: 'a;

    fn lease(&mut self) -> impl Future<Output = &mut B> {
        core::future::ready(self)
    }
}

impl<const R: usize, const W: usize> Default for Buffers<R, W> {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether a Degu server closes the connection after answering with `status` (the
/// README's wire rules): any status from 400 on but 404, 409 and 412. The server applies it (unless the
/// app asked to keep the connection); a gateway uses it to know that a Degu upstream
/// is about to close.
pub const fn status_closes(status: u16) -> bool {
    status >= 400 && !matches!(status, 404 | 409 | 412)
}

/// Whether `name` belongs to one hop only and is never forwarded by a relay (RFC 9110
/// §7.6.1): the connection-management headers, the options the message's `connection`
/// header lists (`connection`), and the framing headers the engine writes itself.
/// `expect` is answered by the engine of each hop.
pub fn is_hop_by_hop(name: &str, connection: Option<&str>) -> bool {
    matches!(
        name,
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "te"
            | "trailer"
            | "upgrade"
            | "expect"
            | "content-length"
            | "transfer-encoding"
    ) || connection.is_some_and(|list| lists_option(list, name))
}

/// Whether a `connection` header value lists the `close` option (RFC 9110 §7.6.1).
pub(crate) fn has_close(value: &str) -> bool {
    lists_option(value, "close")
}

/// Whether the comma-separated `list` holds `option` (ASCII case ignored, blanks around
/// each element trimmed). Bytes, not `str::split` and `trim_matches`: their `char`
/// patterns decode UTF-8 and cost the firmware over half a kilobyte of flash for what is
/// a byte search (header values are ASCII).
#[inline(never)]
fn lists_option(list: &str, option: &str) -> bool {
    list.as_bytes()
        .split(|&b| b == b',')
        .any(|opt| trim_blanks(opt).eq_ignore_ascii_case(option.as_bytes()))
}

/// `bytes` without the spaces and tabs (OWS) at either end.
fn trim_blanks(mut bytes: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = bytes {
        bytes = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = bytes {
        bytes = rest;
    }
    bytes
}
