//! Serving one `embassy-net` TCP connection with Degu's engine.
//!
//! Embassy has no listener: a server makes N sockets and N tasks, and each task loops
//! `accept` → [`serve_socket`] on its own socket (embassy-net's `tcp` module docs). A task
//! owns its socket's rx/tx buffers and its [`Buffers`](degu_core::engine::Buffers), all
//! `static` on firmware:
//!
//! ```no_run
//! use degu_core::engine::Buffers;
//! use degu_embassy::{ServeConfig, serve_socket};
//! use degu_examples::demo::DemoApp;
//! use embassy_net::Stack;
//! use embassy_net::tcp::TcpSocket;
//!
//! static CONFIG: ServeConfig = ServeConfig::new();
//!
//! // On firmware: an `#[embassy_executor::task(pool_size = WORKERS)]`, its memory static.
//! async fn worker(stack: Stack<'_>, rx: &mut [u8], tx: &mut [u8], buffers: &mut Buffers) -> ! {
//!     let mut socket = TcpSocket::new(stack, rx, tx);
//!     loop {
//!         if socket.accept(80).await.is_ok() {
//!             let _ = serve_socket(&mut socket, buffers, &DemoApp, &CONFIG).await;
//!         }
//!     }
//! }
//! ```
//!
//! [`PoolState`](crate::PoolState) does this for a whole pool of sockets, in one task.
//!
//! Timeouts follow degu-core's one policy ([`Timeouts`], kept by a [`PhaseClock`] from the
//! phases the engine reports), as in `degu-std`: each idle wait, the whole head from its
//! first bytes, each read and write inside a request. Between requests the connection waits for
//! readiness without taking its buffers ([`Readable`]), so several sockets can share a
//! few buffer sets ([`crate::pool`]).

use core::cell::Cell;
use core::future::poll_fn;
use core::pin::{Pin, pin};
use core::task::{Context, Poll, Waker};
use degu_core::app::{App, PeerAddr, Session};
use degu_core::engine::{
    BufferSource, Error, KeepAlive, Monitor, Phase, PhaseClock, Readable, ServerEnd, Timeouts,
};
use embassy_futures::select::{Either, select};
use embassy_net::tcp::{self, TcpReader, TcpSocket, TcpWriter};
use embassy_time::{Duration, Instant, Timer};
use embedded_io_async::ReadReady;

/// Everything [`serve_socket`] needs besides the socket, buffers and app.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServeConfig {
    /// The engine's keep-alive limits.
    pub keep_alive: KeepAlive,
    /// How long a connection may wait in each phase (degu-core's policy).
    pub timeouts: Timeouts<Duration>,
    /// After the server closes its side: time for the peer to read the rest, acknowledge
    /// and close its side, before the connection is reset.
    pub linger: Duration,
}

impl ServeConfig {
    /// The default timeouts: idle 30 s, head 10 s, I/O 30 s (as `degu-std`'s).
    pub const DEFAULT_TIMEOUTS: Timeouts<Duration> = Timeouts {
        idle: Duration::from_secs(30),
        head: Duration::from_secs(10),
        io: Duration::from_secs(30),
    };
    /// The default linger: 2 s.
    pub const DEFAULT_LINGER: Duration = Duration::from_secs(2);

    /// The defaults.
    pub const fn new() -> Self {
        ServeConfig {
            keep_alive: KeepAlive::new(),
            timeouts: Self::DEFAULT_TIMEOUTS,
            linger: Self::DEFAULT_LINGER,
        }
    }

    /// With different keep-alive limits.
    pub const fn keep_alive(mut self, keep_alive: KeepAlive) -> Self {
        self.keep_alive = keep_alive;
        self
    }

    /// With different timeouts.
    pub const fn timeouts(mut self, timeouts: Timeouts<Duration>) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// With a different linger.
    pub const fn linger(mut self, linger: Duration) -> Self {
        self.linger = linger;
        self
    }
}

impl Default for ServeConfig {
    fn default() -> Self {
        Self::new()
    }
}

/// One connection as its server and a pool see it: the engine's [`Phase`] (through its
/// [`Monitor`]), since when it is in it, and whether it was asked to close to make room.
///
/// Single-task: the pool runs every connection in one task, so this is plain `Cell`s.
pub struct ConnState {
    monitor: Monitor,
    since: Cell<Instant>,
    close: Cell<bool>,
    waker: Cell<Option<Waker>>,
}

impl ConnState {
    /// A connection that is not open yet.
    pub const fn new() -> Self {
        ConnState {
            monitor: Monitor::new(),
            since: Cell::new(Instant::MIN),
            close: Cell::new(false),
            waker: Cell::new(None),
        }
    }

    /// The monitor the engine reports this connection's phase to.
    pub fn monitor(&self) -> &Monitor {
        &self.monitor
    }

    /// The engine's phase.
    pub fn phase(&self) -> Phase {
        self.monitor.phase()
    }

    /// When the connection entered its phase: accepted, idle wait begun, first byte of a
    /// head, close begun.
    pub fn since(&self) -> Instant {
        self.since.get()
    }

    /// Note that a phase began at `at`.
    pub fn mark(&self, at: Instant) {
        self.since.set(at);
    }

    /// Ask the connection to close now if it is idle, silent, inside a head or lingering
    /// in its close (it is dropped, see [`drop_connection`]); a request being handled
    /// finishes first.
    pub fn close(&self) {
        self.close.set(true);
        if let Some(w) = self.waker.take() {
            w.wake();
        }
    }

    /// Whether [`ConnState::close`] was called since the connection opened.
    pub fn close_requested(&self) -> bool {
        self.close.get()
    }

    /// A fresh connection accepted at `at`: idle since then, not asked to close. (The
    /// last connection left the monitor at [`Phase::Done`], which would rank the new one
    /// as closing.)
    pub fn open(&self, at: Instant) {
        self.monitor.reset();
        self.close.set(false);
        self.since.set(at);
    }

    /// Ready once [`ConnState::close`] is called (a waker registered until then). Every
    /// wait of a connection polls it in a `poll_fn`, not an `async fn`, which would wrap
    /// each in a state machine of its own.
    fn poll_closed(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.close.get() {
            return Poll::Ready(());
        }
        match self.waker.take() {
            Some(w) if w.will_wake(cx.waker()) => self.waker.set(Some(w)),
            _ => self.waker.set(Some(cx.waker().clone())),
        }
        Poll::Pending
    }
}

impl Default for ConnState {
    fn default() -> Self {
        Self::new()
    }
}

impl core::fmt::Debug for ConnState {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ConnState")
            .field("phase", &self.phase())
            .field("since", &self.since())
            .field("close", &self.close_requested())
            .finish()
    }
}

/// Serve the connection `socket` has accepted until it ends, then close it: gracefully
/// (FIN, then wait up to [`ServeConfig::linger`] for the peer's FIN), else with a reset.
///
/// `buffers` is any [`BufferSource`]: a connection's own [`Buffers`](degu_core::engine::Buffers)
/// (lent for every request), or a share of a pool's. Afterwards the socket is closed and
/// can `accept` again.
pub async fn serve_socket<A: App, B: BufferSource>(
    socket: &mut TcpSocket<'_>,
    buffers: &mut B,
    app: &A,
    config: &ServeConfig,
) -> Result<ServerEnd, Error> {
    let conn = ConnState::new();
    conn.open(now());
    // No pool can ask this connection to close: `serve_with` leaves those checks out.
    serve_with::<A, B, false>(socket, buffers, app, config, &conn).await
}

/// [`serve_socket`] with the connection's state kept by the caller (a pool), which may
/// ask it to close ([`ConnState::close`]): it is then dropped at once instead of closed
/// gracefully (see [`drop_connection`]). `conn` must have been
/// [`opened`](ConnState::open).
pub async fn serve_conn<A: App, B: BufferSource>(
    socket: &mut TcpSocket<'_>,
    buffers: &mut B,
    app: &A,
    config: &ServeConfig,
    conn: &ConnState,
) -> Result<ServerEnd, Error> {
    serve_with::<A, B, true>(socket, buffers, app, config, conn).await
}

/// [`serve_conn`], and with `POOLED` false [`serve_socket`]: a connection no pool can
/// ask to close, whose reads and close wait for nothing but the socket and the clock
/// (that wait and its checks are flash on every device that serves without a pool).
async fn serve_with<A: App, B: BufferSource, const POOLED: bool>(
    socket: &mut TcpSocket<'_>,
    buffers: &mut B,
    app: &A,
    config: &ServeConfig,
    conn: &ConnState,
) -> Result<ServerEnd, Error> {
    let peer = socket
        .remote_endpoint()
        .map_or(PeerAddr::Unnamed, |ep| PeerAddr::Ip(ep.into()));
    let mut session = Session::new(peer, A::State::default());
    let result = {
        let mut transport = transport::<POOLED>(socket, conn, &config.timeouts);
        degu_core::engine::serve(
            &mut transport,
            buffers,
            app,
            &mut session,
            &config.keep_alive,
        )
        .await
    };
    if POOLED {
        conn.mark(now());
    }
    // One await either way (each is code in the connection's future): without a pool,
    // the close is never asked for, and the select's second future is always pending.
    let closed = poll_fn(|cx| {
        if POOLED {
            conn.poll_closed(cx)
        } else {
            Poll::Pending
        }
    });
    if POOLED && conn.close_requested() {
        drop_connection(socket);
    } else if let Either::Second(()) = select(close(socket, config.linger), closed).await {
        // Its lingering close is what mattered least.
        drop_connection(socket);
    }
    result
}

/// The clock, read in one place: `Instant::now` is the time driver's read (a critical
/// section and the timer's registers), inlined into every caller; one copy of it is
/// flash saved on every device.
#[inline(never)]
pub(crate) fn now() -> Instant {
    Instant::now()
}

/// A timer that fires `timeout` from now: `Timer::after` with the clock read through
/// [`now`] (embassy's reads it inlined), one copy, and no panic on overflow (embassy's
/// `Instant + Duration` has one, and its message, in flash): past the clock's end is
/// the end.
#[inline(never)]
fn after(timeout: Duration) -> Timer {
    Timer::at(now().checked_add(timeout).unwrap_or(Instant::MAX))
}

/// Forget the connection at once, so the socket can `accept` again before anything else
/// happens: it is the one a pool closes to listen again, and every moment no socket
/// listens, a new client is refused. No reset is sent (smoltcp would have to send it
/// before the socket could listen); the peer gets one with its next segment, which no
/// socket accepts, and a peer that never sends again costs the device nothing.
pub fn drop_connection(socket: &mut TcpSocket<'_>) {
    socket.abort();
}

/// Close `socket`: send FIN after what is queued, read and drop what the peer still
/// sends until its FIN, and reset the connection if that takes longer than `linger`
/// (then wait, at most `linger` again, until the RST is out).
///
/// Reading to the peer's FIN (a "lingering close") matters after an error response: a
/// reset while the peer's request bytes are still unread could make it lose the
/// response.
pub async fn close(socket: &mut TcpSocket<'_>, linger: Duration) {
    socket.close();
    // The graceful round and, if it fails, the reset round, through one future (a poll
    // of the socket, which keeps no state between polls, and a timer): a second, or
    // futures in futures, would be more code in every firmware.
    let mut graceful = true;
    loop {
        let mut reading = graceful;
        let mut scratch = [0u8; 64];
        let (mut reader, mut writer) = socket.split();
        let round = timed(after(linger), |cx| {
            while reading {
                match pin!(reader.read(&mut scratch)).poll(cx) {
                    Poll::Ready(Ok(n)) if n > 0 => {}
                    Poll::Ready(_) => reading = false,
                    Poll::Pending => return Poll::Pending,
                }
            }
            // Our FIN acknowledged (LAST-ACK → CLOSED, FIN-WAIT → TIME-WAIT), or the RST
            // sent.
            pin!(writer.flush()).poll(cx).map(|_| Ok(()))
        })
        .await;
        let open = !matches!(socket.state(), tcp::State::Closed | tcp::State::TimeWait);
        if !graceful || (round.is_ok() && !open) {
            return;
        }
        socket.abort();
        graceful = false;
    }
}

/// Why a read or write on a [`TcpTransport`] failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IoError {
    /// The timeout for the connection's phase passed.
    TimedOut,
    /// The connection was reset (by the peer, or by smoltcp's own timeout).
    Reset,
    /// The server closed the connection to make room for another
    /// ([`ConnState::close`]).
    Closed,
}

impl core::fmt::Display for IoError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            IoError::TimedOut => "timed out",
            IoError::Reset => "connection reset",
            IoError::Closed => "closed to make room for another connection",
        })
    }
}

impl core::error::Error for IoError {}

impl embedded_io::Error for IoError {
    fn kind(&self) -> embedded_io::ErrorKind {
        match self {
            IoError::TimedOut => embedded_io::ErrorKind::TimedOut,
            IoError::Reset => embedded_io::ErrorKind::ConnectionReset,
            IoError::Closed => embedded_io::ErrorKind::ConnectionAborted,
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

/// An accepted socket as the engine's [`Transport`](degu_core::engine::Transport): split
/// into a [`ServerReader`] with phase-aware timeouts and a [`TimedWriter`].
pub type TcpTransport<'s> = (ServerReader<'s>, TimedWriter<'s>);

/// Split `socket` into a [`TcpTransport`]; its reader keeps `conn`'s phase (and since
/// when) as the engine reports it.
pub fn tcp_transport<'s>(
    socket: &'s mut TcpSocket<'_>,
    conn: &'s ConnState,
    // By reference, here and in the reader: 24 bytes each in every connection's future.
    timeouts: &'s Timeouts<Duration>,
) -> TcpTransport<'s> {
    transport::<true>(socket, conn, timeouts)
}

/// [`tcp_transport`], whose reader gives way to a close asked through `conn` if `POOLED`.
fn transport<'s, const POOLED: bool>(
    socket: &'s mut TcpSocket<'_>,
    conn: &'s ConnState,
    timeouts: &'s Timeouts<Duration>,
) -> (ServerReader<'s, POOLED>, TimedWriter<'s>) {
    let (reader, writer) = socket.split();
    let reader = ServerReader {
        inner: reader,
        conn,
        timeouts,
        clock: PhaseClock::new(conn.since()),
    };
    (reader, TimedWriter::new(writer, timeouts.io))
}

/// The read half of a server connection: each read is bounded by the timeout of the
/// connection's current [`Phase`], and gives way when the connection is asked to close
/// while it is idle or inside a head.
///
/// `POOLED` (the default) says that someone (a pool) may ask it to close and is told its
/// phase; [`serve_socket`]'s reader is one no one can ask, and leaves that out.
pub struct ServerReader<'a, const POOLED: bool = true> {
    inner: TcpReader<'a>,
    conn: &'a ConnState,
    timeouts: &'a Timeouts<Duration>,
    clock: PhaseClock<Instant>,
}

impl<const POOLED: bool> ServerReader<'_, POOLED> {
    /// Whether the connection was asked to close (never, unless `POOLED`).
    fn close_requested(&self) -> bool {
        POOLED && self.conn.close_requested()
    }

    /// The deadline of a read (or wait) that begins now.
    fn deadline(&self) -> Instant {
        // Never a panic: a deadline past the clock's end is the end.
        let (start, timeout) = self.clock.wait(self.timeouts, now);
        start.checked_add(timeout).unwrap_or(Instant::MAX)
    }
}

impl<const POOLED: bool> embedded_io::ErrorType for ServerReader<'_, POOLED> {
    type Error = IoError;
}

impl<const POOLED: bool> Readable for ServerReader<'_, POOLED> {
    /// Not inlined: the engine reports a phase from several places in its loop, and each
    /// inlined copy is flash on every device.
    #[inline(never)]
    fn set_phase(&mut self, phase: Phase) {
        if self.clock.enter(phase, now) && POOLED {
            self.conn.monitor.set(phase);
            self.conn.mark(self.clock.since());
        }
    }

    /// Wait for a request's first byte, or the peer's FIN or reset, taking nothing
    /// (`TcpReader::wait_read_ready` alone would miss a FIN).
    ///
    /// One poll for every end of the wait (data or the peer's close, the pool's close,
    /// the deadline), not futures in futures: less code in every firmware.
    fn readable(&mut self) -> impl Future<Output = Result<(), IoError>> {
        let closed = self.close_requested();
        let timer = Timer::at(self.deadline());
        let (inner, conn) = (&mut self.inner, self.conn);
        timed(timer, move |cx| {
            if closed {
                return Poll::Ready(Err(IoError::Closed));
            }
            if inner.read_ready() == Ok(true) {
                return Poll::Ready(Ok(()));
            }
            if POOLED && conn.poll_closed(cx).is_ready() {
                return Poll::Ready(Err(IoError::Closed));
            }
            // Registers for the next data or state change; pending, as nothing is there.
            let _ = pin!(inner.wait_read_ready()).poll(cx);
            Poll::Pending
        })
    }
}

impl<const POOLED: bool> embedded_io_async::Read for ServerReader<'_, POOLED> {
    /// A read bounded by the phase's deadline; waiting for a request or inside a head,
    /// also given up when the pool asks. One poll for all of it (embassy's read future
    /// keeps no state between polls, so each poll makes it anew), not an `async fn`
    /// around a `select`: less code in every firmware.
    fn read(&mut self, buf: &mut [u8]) -> impl Future<Output = Result<usize, IoError>> {
        let phase = self.clock.phase();
        let closed = self.close_requested() && phase != Phase::Busy;
        let interruptible = POOLED && matches!(phase, Phase::Idle | Phase::Head);
        let timer = Timer::at(self.deadline());
        let (inner, conn) = (&mut self.inner, self.conn);
        timed(timer, move |cx| {
            if closed {
                return Poll::Ready(Err(IoError::Closed));
            }
            if let Poll::Ready(r) = pin!(inner.read(buf)).poll(cx) {
                return Poll::Ready(r.map_err(IoError::from));
            }
            if interruptible && conn.poll_closed(cx).is_ready() {
                return Poll::Ready(Err(IoError::Closed));
            }
            Poll::Pending
        })
    }
}

/// A socket wait as one future: `op` until it is ready, else a timeout when `timer`
/// fires (`op` is polled first, as `with_timeout` polls its future first).
fn timed<T>(
    mut timer: Timer,
    mut op: impl FnMut(&mut Context<'_>) -> Poll<Result<T, IoError>>,
) -> impl Future<Output = Result<T, IoError>> {
    poll_fn(move |cx| {
        if let Poll::Ready(r) = op(cx) {
            return Poll::Ready(r);
        }
        match Pin::new(&mut timer).poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(IoError::TimedOut)),
            Poll::Pending => Poll::Pending,
        }
    })
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
    /// A `poll_fn`, not an `async fn`: no state machine around every write (flash on
    /// every device). embassy's write future keeps no state between polls (each poll
    /// tries the socket's buffer and registers the waker), so each poll makes it anew.
    fn write(&mut self, buf: &[u8]) -> impl Future<Output = Result<usize, IoError>> {
        let inner = &mut self.inner;
        timed(after(self.timeout), move |cx| {
            pin!(inner.write(buf)).poll(cx).map_err(IoError::from)
        })
    }

    /// Nothing to do: bytes written are in the socket's buffer, and smoltcp sends them on
    /// its own. (embassy's `TcpWriter::flush` waits until the peer has acknowledged
    /// everything, a round trip per response, which no caller of this needs; [`close`]
    /// waits for that once, at the end.)
    async fn flush(&mut self) -> Result<(), IoError> {
        Ok(())
    }
}
