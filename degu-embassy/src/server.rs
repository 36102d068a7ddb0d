//! Serving one `embassy-net` TCP connection with Degu's engine.
//!
//! Embassy has no listener: a server makes N sockets and N tasks, and each task loops
//! `accept` → [`serve_socket`] on its own socket (embassy-net's `tcp` module docs). A task
//! owns its socket's rx/tx buffers and its [`Buffers`](degu_core::engine::Buffers), all
//! `static` on firmware:
//!
//! ```ignore
//! #[embassy_executor::task(pool_size = WORKERS)]
//! async fn worker(stack: Stack<'static>, res: &'static mut WorkerResources) -> ! {
//!     let mut socket = TcpSocket::new(stack, &mut res.rx, &mut res.tx);
//!     loop {
//!         if socket.accept(80).await.is_ok() {
//!             let _ = serve_socket(&mut socket, &mut res.buffers, &DemoApp, &CONFIG).await;
//!         }
//!     }
//! }
//! ```
//!
//! Timeouts follow the connection's [`Phase`] as `degu-std` does: the idle timeout while
//! waiting for a request, a head deadline from a head's first byte, an I/O timeout for
//! each read and write inside a request.

use degu_core::app::{App, PeerAddr, Session};
use degu_core::engine::{ConnBuffers, Error, Monitor, Phase, ServerConfig, ServerEnd, Transport};
use embassy_net::tcp::{self, TcpReader, TcpSocket, TcpWriter};
use embassy_time::{Duration, Instant, with_deadline, with_timeout};

/// How long a connection may wait at each stage. A plain struct with `const fn`
/// defaults, so firmware can keep it in a `static`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// Waiting for the first byte of a request (keep-alive idle).
    pub idle: Duration,
    /// From a head's first byte until the head is complete.
    pub head: Duration,
    /// Each read and each write inside a request.
    pub io: Duration,
    /// After the server closes its side: time for the peer to read the rest, acknowledge
    /// and close its side, before the connection is reset.
    pub linger: Duration,
}

impl Timeouts {
    /// The defaults: idle 30 s, head 10 s, I/O 30 s (as `degu-std`), linger 2 s.
    pub const fn new() -> Self {
        Timeouts {
            idle: Duration::from_secs(30),
            head: Duration::from_secs(10),
            io: Duration::from_secs(30),
            linger: Duration::from_secs(2),
        }
    }
}

impl Default for Timeouts {
    fn default() -> Self {
        Self::new()
    }
}

/// Everything [`serve_socket`] needs besides the socket, buffers and app.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServeConfig {
    /// The engine's limits.
    pub server: ServerConfig,
    /// The adapter's timeouts.
    pub timeouts: Timeouts,
}

impl ServeConfig {
    /// The defaults.
    pub const fn new() -> Self {
        ServeConfig {
            server: ServerConfig::new(),
            timeouts: Timeouts::new(),
        }
    }

    /// With different engine limits.
    pub const fn server(mut self, server: ServerConfig) -> Self {
        self.server = server;
        self
    }

    /// With different timeouts.
    pub const fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }
}

impl Default for ServeConfig {
    fn default() -> Self {
        Self::new()
    }
}

/// Serve the connection `socket` has accepted until it ends, then close it: gracefully
/// (FIN, then wait up to [`Timeouts::linger`] for the peer's FIN), else with a reset.
///
/// Afterwards the socket is closed and can `accept` again.
pub async fn serve_socket<A: App, B: ConnBuffers>(
    socket: &mut TcpSocket<'_>,
    buffers: &mut B,
    app: &A,
    config: &ServeConfig,
) -> Result<ServerEnd, Error> {
    let monitor = Monitor::new();
    let peer = socket
        .remote_endpoint()
        .map_or(PeerAddr::Unnamed, |ep| PeerAddr::Ip(ep.into()));
    let mut session = Session::new(peer, A::State::default()).with_monitor(&monitor);
    let result = {
        let mut transport = TcpTransport::new(socket, &monitor, config.timeouts);
        degu_core::engine::serve(&mut transport, buffers, app, &mut session, &config.server).await
    };
    close(socket, config.timeouts.linger).await;
    result
}

/// Close `socket`: send FIN after what is queued, read and drop what the peer still
/// sends until its FIN, and reset the connection if that takes longer than `linger`.
///
/// Reading to the peer's FIN (a "lingering close") matters after an error response: a
/// reset while the peer's request bytes are still unread could make it lose the
/// response.
pub async fn close(socket: &mut TcpSocket<'_>, linger: Duration) {
    socket.close();
    let graceful = with_timeout(linger, async {
        let mut scratch = [0u8; 64];
        while let Ok(n) = socket.read(&mut scratch).await {
            if n == 0 {
                break;
            }
        }
        // Our FIN acknowledged (LAST-ACK → CLOSED, FIN-WAIT → TIME-WAIT).
        let _ = socket.flush().await;
    })
    .await;
    let open = !matches!(socket.state(), tcp::State::Closed | tcp::State::TimeWait);
    if graceful.is_err() || open {
        socket.abort();
        // Until the RST is out; bounded, as a dead link never takes it.
        let _ = with_timeout(linger, socket.flush()).await;
    }
}

/// Why a read or write on a [`TcpTransport`] failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IoError {
    /// The timeout for the connection's phase passed.
    TimedOut,
    /// The connection was reset (by the peer, or by smoltcp's own timeout).
    Reset,
}

impl core::fmt::Display for IoError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            IoError::TimedOut => "timed out",
            IoError::Reset => "connection reset",
        })
    }
}

impl core::error::Error for IoError {}

impl embedded_io::Error for IoError {
    fn kind(&self) -> embedded_io::ErrorKind {
        match self {
            IoError::TimedOut => embedded_io::ErrorKind::TimedOut,
            IoError::Reset => embedded_io::ErrorKind::ConnectionReset,
        }
    }
}

impl From<tcp::Error> for IoError {
    fn from(e: tcp::Error) -> Self {
        match e {
            tcp::Error::ConnectionReset => IoError::Reset,
        }
    }
}

/// An accepted socket as the engine's [`Transport`]: split into a [`ServerReader`] with
/// phase-aware timeouts and a [`TimedWriter`].
pub struct TcpTransport<'s, 'd> {
    socket: &'s mut TcpSocket<'d>,
    monitor: &'s Monitor,
    timeouts: Timeouts,
    head_started: Option<Instant>,
}

impl<'s, 'd> TcpTransport<'s, 'd> {
    /// Wrap `socket`; `monitor` must be the one the connection's `Session` reports to.
    pub fn new(socket: &'s mut TcpSocket<'d>, monitor: &'s Monitor, timeouts: Timeouts) -> Self {
        TcpTransport {
            socket,
            monitor,
            timeouts,
            head_started: None,
        }
    }
}

impl Transport for TcpTransport<'_, '_> {
    type Reader<'a>
        = ServerReader<'a>
    where
        Self: 'a;
    type Writer<'a>
        = TimedWriter<'a>
    where
        Self: 'a;

    fn split(&mut self) -> (ServerReader<'_>, TimedWriter<'_>) {
        let (reader, writer) = self.socket.split();
        (
            ServerReader {
                inner: reader,
                monitor: self.monitor,
                timeouts: self.timeouts,
                head_started: &mut self.head_started,
            },
            TimedWriter {
                inner: writer,
                timeout: self.timeouts.io,
            },
        )
    }
}

/// The read half of a server connection: each read is bounded by the timeout of the
/// connection's current [`Phase`].
pub struct ServerReader<'a> {
    inner: TcpReader<'a>,
    monitor: &'a Monitor,
    timeouts: Timeouts,
    head_started: &'a mut Option<Instant>,
}

impl embedded_io::ErrorType for ServerReader<'_> {
    type Error = IoError;
}

impl embedded_io_async::Read for ServerReader<'_> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, IoError> {
        let read = match self.monitor.phase() {
            Phase::Idle => {
                *self.head_started = None;
                let n = with_timeout(self.timeouts.idle, self.inner.read(buf)).await;
                if let Ok(Ok(n)) = n
                    && n > 0
                {
                    *self.head_started = Some(Instant::now());
                }
                n
            }
            Phase::Head => {
                let started = self.head_started.unwrap_or_else(Instant::now);
                with_deadline(started + self.timeouts.head, self.inner.read(buf)).await
            }
            Phase::Busy | Phase::Done => with_timeout(self.timeouts.io, self.inner.read(buf)).await,
        };
        flatten(read)
    }
}

/// A socket operation's result under a timeout, as an [`IoError`].
pub(crate) fn flatten<T>(
    r: Result<Result<T, tcp::Error>, embassy_time::TimeoutError>,
) -> Result<T, IoError> {
    match r {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(e.into()),
        Err(_) => Err(IoError::TimedOut),
    }
}

/// The write half of a connection (server or client): each write is bounded by the
/// I/O timeout.
pub struct TimedWriter<'a> {
    inner: TcpWriter<'a>,
    timeout: Duration,
}

impl<'a> TimedWriter<'a> {
    pub(crate) fn new(inner: TcpWriter<'a>, timeout: Duration) -> Self {
        TimedWriter { inner, timeout }
    }
}

impl embedded_io::ErrorType for TimedWriter<'_> {
    type Error = IoError;
}

impl embedded_io_async::Write for TimedWriter<'_> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, IoError> {
        flatten(with_timeout(self.timeout, self.inner.write(buf)).await)
    }

    /// Nothing to do: bytes written are in the socket's buffer, and smoltcp sends them on
    /// its own. (embassy's `TcpWriter::flush` waits until the peer has acknowledged
    /// everything, a round trip per response, which no caller of this needs; [`close`]
    /// waits for that once, at the end.)
    async fn flush(&mut self) -> Result<(), IoError> {
        Ok(())
    }
}
