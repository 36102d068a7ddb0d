//! Sockets as `embedded-io-async` streams for the core engine: TCP or AF_UNIX, split
//! into halves that borrow the socket (no lock), every operation bounded by a timeout.
//!
//! The server's read half also watches the connection's [`Monitor`]: waiting for a new
//! request it uses the idle timeout and gives way to eviction and shutdown; inside a
//! head it uses the head deadline (counted from the head's first byte); otherwise the
//! I/O timeout.

use degu_core::engine::{Monitor, Phase};
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UnixStream, tcp, unix};
use tokio::sync::{Notify, watch};
use tokio::time::{Instant, sleep_until, timeout};

/// A connected socket.
#[derive(Debug)]
pub enum Socket {
    /// TCP over IPv4 or IPv6.
    Tcp(TcpStream),
    /// AF_UNIX, path or abstract.
    Unix(UnixStream),
}

impl Socket {
    pub(crate) fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        match self {
            Socket::Tcp(s) => {
                let (r, w) = s.split();
                (ReadHalf::Tcp(r), WriteHalf::Tcp(w))
            }
            Socket::Unix(s) => {
                let (r, w) = s.split();
                (ReadHalf::Unix(r), WriteHalf::Unix(w))
            }
        }
    }

    pub(crate) async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Socket::Tcp(s) => s.read(buf).await,
            Socket::Unix(s) => s.read(buf).await,
        }
    }

    pub(crate) async fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Socket::Tcp(s) => s.write(buf).await,
            Socket::Unix(s) => s.write(buf).await,
        }
    }
}

/// The read half of a [`Socket`].
pub(crate) enum ReadHalf<'a> {
    Tcp(tcp::ReadHalf<'a>),
    Unix(unix::ReadHalf<'a>),
}

impl ReadHalf<'_> {
    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            ReadHalf::Tcp(r) => r.read(buf).await,
            ReadHalf::Unix(r) => r.read(buf).await,
        }
    }
}

/// The write half of a [`Socket`].
pub(crate) enum WriteHalf<'a> {
    Tcp(tcp::WriteHalf<'a>),
    Unix(unix::WriteHalf<'a>),
}

impl WriteHalf<'_> {
    async fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            WriteHalf::Tcp(w) => w.write(buf).await,
            WriteHalf::Unix(w) => w.write(buf).await,
        }
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
    wake: Notify,
}

impl ConnShared {
    /// Ask the connection to close if it is idle; whether it was.
    pub(crate) fn evict_if_idle(&self) -> bool {
        if self.monitor.phase() != Phase::Idle {
            return false;
        }
        self.evict.store(true, Ordering::Release);
        self.wake.notify_one();
        true
    }

    fn evicted(&self) -> bool {
        self.evict.load(Ordering::Acquire)
    }
}

/// A server connection's socket as the engine's [`degu_core::engine::Transport`].
pub(crate) struct ServerSocket<'c> {
    pub socket: Socket,
    pub conn: &'c ConnShared,
    pub timeouts: Timeouts,
    pub shutdown: watch::Receiver<bool>,
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
                shutdown: &mut self.shutdown,
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
    shutdown: &'a mut watch::Receiver<bool>,
    head_started: &'a mut Option<Instant>,
}

impl embedded_io::ErrorType for ServerReader<'_> {
    type Error = io::Error;
}

impl embedded_io_async::Read for ServerReader<'_> {
    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let now = Instant::now();
        match self.conn.monitor.phase() {
            Phase::Idle => {
                *self.head_started = None;
                if *self.shutdown.borrow() || self.conn.evicted() {
                    return Err(io::Error::new(
                        io::ErrorKind::ConnectionAborted,
                        "closing idle connection",
                    ));
                }
                let n = tokio::select! {
                    r = self.inner.read(buf) => r?,
                    () = sleep_until(now + self.timeouts.idle) => return Err(timed_out()),
                    () = self.conn.wake.notified() => {
                        return Err(io::Error::new(io::ErrorKind::ConnectionAborted, "evicted while idle"));
                    }
                    _ = self.shutdown.changed() => {
                        return Err(io::Error::new(io::ErrorKind::ConnectionAborted, "server shutting down"));
                    }
                };
                if n > 0 {
                    *self.head_started = Some(Instant::now());
                }
                Ok(n)
            }
            Phase::Head => {
                let deadline = self.head_started.unwrap_or(now) + self.timeouts.head;
                tokio::select! {
                    r = self.inner.read(buf) => r,
                    () = sleep_until(deadline) => Err(timed_out()),
                }
            }
            Phase::Busy | Phase::Done => timeout(self.timeouts.io, self.inner.read(buf))
                .await
                .unwrap_or_else(|_| Err(timed_out())),
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
        timeout(self.timeout, self.inner.write(buf))
            .await
            .unwrap_or_else(|_| Err(timed_out()))
    }

    async fn flush(&mut self) -> io::Result<()> {
        // Sockets have no user-space buffer to flush.
        Ok(())
    }
}

/// A client's socket: every read and write bounded by one timeout (`None`: no bound).
pub struct ClientSocket {
    pub(crate) socket: Socket,
    pub(crate) timeout: Option<Duration>,
}

impl embedded_io::ErrorType for ClientSocket {
    type Error = io::Error;
}

impl embedded_io_async::Read for ClientSocket {
    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.timeout {
            Some(t) => timeout(t, self.socket.read(buf))
                .await
                .unwrap_or_else(|_| Err(timed_out())),
            None => self.socket.read(buf).await,
        }
    }
}

impl embedded_io_async::Write for ClientSocket {
    async fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.timeout {
            Some(t) => timeout(t, self.socket.write(buf))
                .await
                .unwrap_or_else(|_| Err(timed_out())),
            None => self.socket.write(buf).await,
        }
    }

    async fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
