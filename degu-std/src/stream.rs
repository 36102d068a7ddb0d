//! Sockets as `embedded-io-async` streams for the core engine: TCP or AF_UNIX, split
//! into halves that borrow the socket (no lock), every operation bounded by a timeout.
//!
//! The server's read half also watches the connection's [`Monitor`]: waiting for a new
//! request it uses the idle timeout and gives way to eviction and shutdown; inside a
//! head it uses the head deadline (counted from the head's first byte); otherwise the
//! I/O timeout.

use degu_core::engine::{Monitor, Phase};
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
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
    let mut op = std::pin::pin!(op);
    let first = std::future::poll_fn(|cx| Poll::Ready(op.as_mut().poll(cx))).await;
    match first {
        Poll::Ready(r) => r,
        Poll::Pending => timeout(limit, op)
            .await
            .unwrap_or_else(|_| Err(timed_out())),
    }
}

pub(crate) fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "timed out")
}

/// Server-side timeouts.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Timeouts {
    pub idle: Duration,
    pub head: Duration,
    pub io: Duration,
}

/// What a connection shares with its server: the engine's phase, and the eviction
/// request the server makes of an idle connection when all slots are taken.
#[derive(Debug, Default)]
pub(crate) struct ConnShared {
    pub monitor: Monitor,
    evict: AtomicBool,
    wake: atomic_waker::AtomicWaker,
}

impl ConnShared {
    /// Ask the connection to close if it is idle; whether it was.
    pub(crate) fn evict_if_idle(&self) -> bool {
        if self.monitor.phase() != Phase::Idle {
            return false;
        }
        self.close();
        true
    }

    /// Close at the connection's next idle moment (at once if it is idle): eviction
    /// and server shutdown.
    pub(crate) fn close(&self) {
        self.evict.store(true, Ordering::Release);
        self.wake.wake();
    }

    fn is_evicted(&self) -> bool {
        self.evict.load(Ordering::Acquire)
    }

    /// Wait until the server asks this connection to close.
    pub(crate) async fn evicted(&self) {
        std::future::poll_fn(|cx| {
            self.wake.register(cx.waker());
            if self.is_evicted() {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
    }
}

/// A server connection's socket as the engine's [`degu_core::engine::Transport`].
pub(crate) struct ServerSocket<'c> {
    pub socket: Socket,
    pub conn: &'c ConnShared,
    pub timeouts: Timeouts,
    /// The idle timer, reset (not re-created) for every idle wait.
    pub idle_sleep: Pin<Box<tokio::time::Sleep>>,
    pub head_started: Option<Instant>,
}

impl degu_core::engine::Transport for ServerSocket<'_> {
    type Reader<'a>
        = ServerReader<'a>
    where
        Self: 'a;
    type Writer<'a>
        = TimedWriter<'a>
    where
        Self: 'a;

    fn split(&mut self) -> (ServerReader<'_>, TimedWriter<'_>) {
        let (r, w) = self.socket.split();
        (
            ServerReader {
                inner: r,
                conn: self.conn,
                timeouts: self.timeouts,
                idle_sleep: &mut self.idle_sleep,
                head_started: &mut self.head_started,
            },
            TimedWriter {
                inner: w,
                timeout: self.timeouts.io,
            },
        )
    }
}

/// The read half of a server connection, with phase-aware timeouts.
pub(crate) struct ServerReader<'a> {
    inner: ReadHalf<'a>,
    conn: &'a ConnShared,
    timeouts: Timeouts,
    idle_sleep: &'a mut Pin<Box<tokio::time::Sleep>>,
    head_started: &'a mut Option<Instant>,
}

impl embedded_io::ErrorType for ServerReader<'_> {
    type Error = io::Error;
}

impl embedded_io_async::Read for ServerReader<'_> {
    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.conn.monitor.phase() {
            Phase::Idle => {
                *self.head_started = None;
                let conn = self.conn;
                if conn.is_evicted() {
                    return Err(io::Error::new(
                        io::ErrorKind::ConnectionAborted,
                        "closing idle connection",
                    ));
                }
                // A later deadline only updates the registered timer (no wheel work).
                self.idle_sleep
                    .as_mut()
                    .reset(Instant::now() + self.timeouts.idle);
                tokio::select! {
                    biased;
                    r = self.inner.read(buf) => r,
                    () = self.idle_sleep.as_mut() => Err(timed_out()),
                    () = conn.evicted() => Err(io::Error::new(
                        io::ErrorKind::ConnectionAborted,
                        "evicted or shutting down while idle",
                    )),
                }
            }
            Phase::Head => {
                // The head's clock starts with its first byte's read.
                let started = *self.head_started.get_or_insert_with(Instant::now);
                tokio::select! {
                    r = self.inner.read(buf) => r,
                    () = sleep_until(started + self.timeouts.head) => Err(timed_out()),
                }
            }
            Phase::Busy | Phase::Done => bounded(self.timeouts.io, self.inner.read(buf)).await,
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
