//! Sockets as `embedded-io-async` streams for the core engine: TCP or AF_UNIX, split
//! into halves that borrow the socket (no lock), every operation bounded by a timeout.
//!
//! The server's read half keeps the connection's [`PhaseClock`] from the phases the engine
//! reports, and bounds each read as degu-core's one timeout policy says (idle wait, whole
//! head, each I/O: see [`degu_core::engine::Timeouts`]); it publishes the phase to the
//! connection's [`Monitor`] for the server's pressure policy. Waiting for a new request
//! it waits for readiness without taking bytes (so the engine leases its buffers only
//! when a request arrives) and gives way when the server closes the connection to make
//! room or shuts down; inside a head it still gives way to the server.

use degu_core::engine::{Monitor, Phase, PhaseClock};
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpStream, UnixStream, tcp, unix};
use tokio::time::{Instant, sleep_until, timeout};

/// A connected socket before any TLS: TCP (IPv4 or IPv6) or AF_UNIX.
#[derive(Debug)]
pub enum Plain {
    /// TCP over IPv4 or IPv6.
    Tcp(TcpStream),
    /// AF_UNIX, path or abstract.
    Unix(UnixStream),
}

impl AsyncRead for Plain {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Plain::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            Plain::Unix(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Plain {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Plain::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            Plain::Unix(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Plain::Tcp(s) => Pin::new(s).poll_flush(cx),
            Plain::Unix(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Plain::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            Plain::Unix(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

/// A connected socket, plain or TLS.
#[derive(Debug)]
pub enum Socket {
    /// No TLS.
    Plain(Plain),
    /// The server side of a TLS connection.
    TlsServer(Box<tokio_rustls::server::TlsStream<Plain>>),
    /// The client side of a TLS connection.
    TlsClient(Box<tokio_rustls::client::TlsStream<Plain>>),
}

impl Socket {
    pub(crate) fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        match self {
            Socket::Plain(Plain::Tcp(s)) => {
                let (r, w) = s.split();
                (ReadHalf::Tcp(r), WriteHalf::Tcp(w))
            }
            Socket::Plain(Plain::Unix(s)) => {
                let (r, w) = s.split();
                (ReadHalf::Unix(r), WriteHalf::Unix(w))
            }
            Socket::TlsServer(s) => {
                let (r, w) = tokio::io::split(&mut **s);
                (ReadHalf::TlsServer(r), WriteHalf::TlsServer(w))
            }
            Socket::TlsClient(s) => {
                let (r, w) = tokio::io::split(&mut **s);
                (ReadHalf::TlsClient(r), WriteHalf::TlsClient(w))
            }
        }
    }

    pub(crate) async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Socket::Plain(s) => s.read(buf).await,
            Socket::TlsServer(s) => s.read(buf).await,
            Socket::TlsClient(s) => s.read(buf).await,
        }
    }

    /// Close gracefully: shut down the sending side (TLS `close_notify`, then FIN) and
    /// read what the peer still sends, until it closes, `limit` passes or `max` bytes
    /// came, so unread input does not make the kernel reset the connection.
    pub(crate) async fn linger(mut self, limit: Duration, max: usize) {
        let _ = timeout(limit, async {
            let _ = match &mut self {
                Socket::Plain(s) => s.shutdown().await,
                Socket::TlsServer(s) => s.shutdown().await,
                Socket::TlsClient(s) => s.shutdown().await,
            };
            let mut scratch = [0u8; 4096];
            let mut seen = 0;
            while seen < max {
                match self.read(&mut scratch).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => seen += n,
                }
            }
        })
        .await;
    }
}

type TlsServerStream<'a> = &'a mut tokio_rustls::server::TlsStream<Plain>;
type TlsClientStream<'a> = &'a mut tokio_rustls::client::TlsStream<Plain>;

/// The read half of a [`Socket`].
pub(crate) enum ReadHalf<'a> {
    Tcp(tcp::ReadHalf<'a>),
    Unix(unix::ReadHalf<'a>),
    TlsServer(tokio::io::ReadHalf<TlsServerStream<'a>>),
    TlsClient(tokio::io::ReadHalf<TlsClientStream<'a>>),
}

impl ReadHalf<'_> {
    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            ReadHalf::Tcp(r) => r.read(buf).await,
            ReadHalf::Unix(r) => r.read(buf).await,
            ReadHalf::TlsServer(r) => r.read(buf).await,
            ReadHalf::TlsClient(r) => r.read(buf).await,
        }
    }
}

/// The write half of a [`Socket`].
pub(crate) enum WriteHalf<'a> {
    Tcp(tcp::WriteHalf<'a>),
    Unix(unix::WriteHalf<'a>),
    TlsServer(tokio::io::WriteHalf<TlsServerStream<'a>>),
    TlsClient(tokio::io::WriteHalf<TlsClientStream<'a>>),
}

impl WriteHalf<'_> {
    async fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            WriteHalf::Tcp(w) => w.write(buf).await,
            WriteHalf::Unix(w) => w.write(buf).await,
            WriteHalf::TlsServer(w) => w.write(buf).await,
            WriteHalf::TlsClient(w) => w.write(buf).await,
        }
    }

    async fn flush(&mut self) -> io::Result<()> {
        match self {
            WriteHalf::Tcp(_) | WriteHalf::Unix(_) => Ok(()),
            WriteHalf::TlsServer(w) => w.flush().await,
            WriteHalf::TlsClient(w) => w.flush().await,
        }
    }
}

/// `op` bounded by `limit`; the timer (and the clock read) only when `op` does not
/// complete on its first poll, as a write to a socket with buffer space does.
pub(crate) async fn bounded<T>(
    limit: Duration,
    op: impl std::future::Future<Output = io::Result<T>>,
) -> io::Result<T> {
    bounded_by(|| Instant::now() + limit, op).await
}

/// `op` bounded by the deadline `deadline()` gives, asked for only when `op` does not
/// complete on its first poll.
async fn bounded_by<T>(
    deadline: impl FnOnce() -> Instant,
    op: impl std::future::Future<Output = io::Result<T>>,
) -> io::Result<T> {
    let mut op = std::pin::pin!(op);
    let first = std::future::poll_fn(|cx| Poll::Ready(op.as_mut().poll(cx))).await;
    match first {
        Poll::Ready(r) => r,
        Poll::Pending => tokio::time::timeout_at(deadline(), op)
            .await
            .unwrap_or_else(|_| Err(timed_out())),
    }
}

pub(crate) fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "timed out")
}

/// Server-side timeouts: degu-core's policy in Tokio's durations.
pub(crate) type Timeouts = degu_core::engine::Timeouts<Duration>;

/// Why the server asks a connection to close; later variants are stronger.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub(crate) enum CloseRequest {
    /// Not asked.
    None = 0,
    /// The server shuts down: close when idle, after any request in progress (a head
    /// in progress included).
    Shutdown = 1,
    /// The server needs the slot ([`degu_core::pressure`]): close when idle or inside a
    /// head; a request being handled still finishes.
    Evict = 2,
}

/// What a connection shares with its server: the engine's phase and since when it is in
/// it (for [`degu_core::pressure`]), and the request to close that the server makes when
/// it needs the connection's slot or shuts down.
#[derive(Debug)]
pub(crate) struct ConnShared {
    pub monitor: Monitor,
    opened: Instant,
    /// Nanoseconds from `opened` to the start of the current phase, as the reader's
    /// [`PhaseClock`] last saw it begin.
    since: AtomicU64,
    /// A [`CloseRequest`].
    close: AtomicU8,
    wake: atomic_waker::AtomicWaker,
}

impl ConnShared {
    /// A connection accepted at `opened` (silent, so idle, since then).
    pub(crate) fn new(opened: Instant) -> Self {
        ConnShared {
            monitor: Monitor::new(),
            opened,
            since: AtomicU64::new(0),
            close: AtomicU8::new(CloseRequest::None as u8),
            wake: atomic_waker::AtomicWaker::new(),
        }
    }

    /// When the connection entered its current phase.
    pub(crate) fn since(&self) -> Instant {
        self.opened + Duration::from_nanos(self.since.load(Ordering::Relaxed))
    }

    /// Publish the reader's phase and its start, for the server's pressure policy.
    fn publish(&self, clock: &PhaseClock<Instant>) {
        self.monitor.set(clock.phase());
        let at = clock.since();
        let nanos = u64::try_from(at.saturating_duration_since(self.opened).as_nanos());
        self.since
            .store(nanos.unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// Ask the connection to close, for `why` (a weaker request never replaces a
    /// stronger one).
    pub(crate) fn close(&self, why: CloseRequest) {
        self.close.fetch_max(why as u8, Ordering::AcqRel);
        self.wake.wake();
    }

    /// What the server asked of this connection.
    pub(crate) fn close_requested(&self) -> CloseRequest {
        match self.close.load(Ordering::Acquire) {
            0 => CloseRequest::None,
            1 => CloseRequest::Shutdown,
            _ => CloseRequest::Evict,
        }
    }

    /// Wait until the server asks this connection to close for `at_least` or stronger.
    pub(crate) async fn close_asked(&self, at_least: CloseRequest) {
        std::future::poll_fn(|cx| {
            self.wake.register(cx.waker());
            if self.close_requested() >= at_least {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
    }
}

pub(crate) fn closed_by_server() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionAborted,
        "closed by the server (room for a new connection, or shutdown)",
    )
}

/// A server connection's socket, split, as the engine's
/// [`Transport`](degu_core::engine::Transport): a reader that keeps the phase clock of
/// `conn` and bounds reads by `timeouts`, and a writer bounded by the I/O timeout.
pub(crate) fn server_halves<'a>(
    socket: &'a mut Socket,
    conn: &'a ConnShared,
    timeouts: Timeouts,
) -> (ServerReader<'a>, TimedWriter<'a>) {
    let (r, w) = socket.split();
    let reader = ServerReader {
        inner: r,
        conn,
        timeouts,
        idle_sleep: None,
        clock: PhaseClock::new(conn.since()),
        stash: Stash::Empty,
    };
    let writer = TimedWriter {
        inner: w,
        timeout: timeouts.io,
    };
    (reader, writer)
}

/// What a TLS connection's wait for its next request read ahead (TLS has no readiness
/// without reading: the bytes may already sit decrypted in rustls).
#[derive(Clone, Copy, Debug)]
enum Stash {
    Empty,
    Byte(u8),
    Eof,
}

/// The read half of a server connection, with phase-aware timeouts.
pub(crate) struct ServerReader<'a> {
    inner: ReadHalf<'a>,
    conn: &'a ConnShared,
    timeouts: Timeouts,
    /// The idle timer, made at the first idle wait and reset (not re-created) after.
    idle_sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    clock: PhaseClock<Instant>,
    stash: Stash,
}

/// Wait for input on the socket itself: readiness for plain sockets (no bytes taken), a
/// one-byte read into the stash for TLS.
async fn wait_input(inner: &mut ReadHalf<'_>, stash: &mut Stash) -> io::Result<()> {
    match inner {
        // The socket's own read-waker slot, as a read uses (no waiter list to join).
        ReadHalf::Tcp(r) => std::future::poll_fn(|cx| r.as_ref().poll_read_ready(cx)).await,
        ReadHalf::Unix(r) => std::future::poll_fn(|cx| r.as_ref().poll_read_ready(cx)).await,
        ReadHalf::TlsServer(_) | ReadHalf::TlsClient(_) => {
            if let Stash::Empty = stash {
                let mut byte = [0u8; 1];
                *stash = match inner.read(&mut byte).await? {
                    0 => Stash::Eof,
                    _ => Stash::Byte(byte[0]),
                };
            }
            Ok(())
        }
    }
}

/// Read into `buf`, the stashed byte (or end of stream) first.
async fn read_stashed(
    inner: &mut ReadHalf<'_>,
    stash: &mut Stash,
    buf: &mut [u8],
) -> io::Result<usize> {
    match std::mem::replace(stash, Stash::Empty) {
        Stash::Empty => inner.read(buf).await,
        Stash::Eof => Ok(0),
        Stash::Byte(b) => {
            let Some((first, rest)) = buf.split_first_mut() else {
                *stash = Stash::Byte(b);
                return Ok(0);
            };
            *first = b;
            // And what else rustls has decrypted already, without waiting for more; an
            // error here shows again on the next read.
            let mut more = std::pin::pin!(inner.read(rest));
            match std::future::poll_fn(|cx| Poll::Ready(more.as_mut().poll(cx))).await {
                Poll::Ready(Ok(n)) => Ok(1 + n),
                Poll::Ready(Err(_)) | Poll::Pending => Ok(1),
            }
        }
    }
}

/// `op` bounded by the idle deadline and given up when the server asks the connection to
/// close. `op` is polled once per wake-up, first; the timer is armed (and `deadline`
/// asked) only when it does not finish on its first poll, so a request already waiting
/// costs neither.
async fn idle_wait<T>(
    conn: &ConnShared,
    deadline: impl FnOnce() -> Instant,
    idle_sleep: &mut Option<Pin<Box<tokio::time::Sleep>>>,
    op: impl std::future::Future<Output = io::Result<T>>,
) -> io::Result<T> {
    if conn.close_requested() != CloseRequest::None {
        return Err(closed_by_server());
    }
    let mut op = std::pin::pin!(op);
    let mut deadline = Some(deadline);
    std::future::poll_fn(|cx| {
        if let Poll::Ready(r) = op.as_mut().poll(cx) {
            return Poll::Ready(r);
        }
        // Armed on the first pending poll (the deadline is taken then), kept after.
        let sleep = match (deadline.take(), &mut *idle_sleep) {
            (None, Some(sleep)) => sleep,
            (armed, idle_sleep) => {
                let deadline = armed.map_or_else(Instant::now, |d| d());
                match idle_sleep {
                    Some(sleep) => {
                        // A later deadline only updates the registered timer.
                        sleep.as_mut().reset(deadline);
                        sleep
                    }
                    None => idle_sleep.insert(Box::pin(tokio::time::sleep_until(deadline))),
                }
            }
        };
        if sleep.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Err(timed_out()));
        }
        conn.wake.register(cx.waker());
        if conn.close_requested() != CloseRequest::None {
            return Poll::Ready(Err(closed_by_server()));
        }
        Poll::Pending
    })
    .await
}

impl degu_core::engine::Readable for ServerReader<'_> {
    fn set_phase(&mut self, phase: Phase) {
        if self.clock.enter(phase, Instant::now) {
            self.conn.publish(&self.clock);
        }
    }

    async fn readable(&mut self) -> io::Result<()> {
        let deadline = || self.clock.deadline(&self.timeouts, Instant::now);
        let input = wait_input(&mut self.inner, &mut self.stash);
        idle_wait(self.conn, deadline, &mut self.idle_sleep, input).await
    }
}

impl embedded_io::ErrorType for ServerReader<'_> {
    type Error = io::Error;
}

impl embedded_io_async::Read for ServerReader<'_> {
    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let deadline = || self.clock.deadline(&self.timeouts, Instant::now);
        let (inner, stash, conn) = (&mut self.inner, &mut self.stash, self.conn);
        match self.clock.phase() {
            Phase::Idle => {
                let read = read_stashed(inner, stash, buf);
                idle_wait(conn, deadline, &mut self.idle_sleep, read).await
            }
            Phase::Head => {
                tokio::select! {
                    r = read_stashed(inner, stash, buf) => r,
                    () = sleep_until(deadline()) => Err(timed_out()),
                    // A slow head may be closed to make room (not for a shutdown: the
                    // head is a request in flight).
                    () = conn.close_asked(CloseRequest::Evict) => Err(closed_by_server()),
                }
            }
            Phase::Busy | Phase::Done => {
                bounded_by(deadline, read_stashed(inner, stash, buf)).await
            }
        }
    }
}

/// A write half whose every write is bounded by a timeout.
pub(crate) struct TimedWriter<'a> {
    inner: WriteHalf<'a>,
    timeout: Duration,
}

impl embedded_io::ErrorType for TimedWriter<'_> {
    type Error = io::Error;
}

impl embedded_io_async::Write for TimedWriter<'_> {
    async fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        bounded(self.timeout, self.inner.write(buf)).await
    }

    async fn flush(&mut self) -> io::Result<()> {
        // A plain socket has nothing to flush; TLS may hold a record.
        bounded(self.timeout, self.inner.flush()).await
    }
}
