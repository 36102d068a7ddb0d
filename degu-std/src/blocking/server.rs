//! The blocking server: degu-core's server engine
//! ([`serve`](degu_core::engine::serve), the function the Tokio server calls) on a thread
//! per connection, driven by this module's executor, for HTTP as IPC (the Python
//! original's threading model).
//!
//! ```no_run
//! use degu_examples::demo::DemoApp;
//! use degu_std::{Server, ServerConfig};
//!
//! let server = Server::bind(&"/tmp/app.sock".parse()?, ServerConfig::default())?;
//! let running = server.spawn_blocking(DemoApp)?;
//! running.run_until_signal()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Why, and what it costs
//!
//! A request on a blocking connection costs what a raw socket ping-pong costs: one
//! `recv` that sleeps until the request is there and one `send` of the answer, with no
//! `epoll_wait` and no wake-up of a runtime in between. That is what an IPC caller
//! (one process asking another, over AF_UNIX or loopback) waits for. The price is a
//! thread per connection: its stack, and its connection's buffers (`read_buffer +
//! write_buffer`) for the connection's whole life, idle or not. The Tokio [`Server`]
//! stays the one for many connections.
//!
//! # Limits
//!
//! The same [`ServerConfig`] as the Tokio server, as far as it applies:
//!
//! * `max_connections`: threads (connections) at once. When all are taken, a new
//!   connection is accepted and waits up to `accept_wait` for one to end, then it is
//!   closed (the Python original's `max_connections` semaphore, and what the Tokio server
//!   does when every connection is busy). Connections that arrive meanwhile wait in the
//!   listen backlog. A blocked thread cannot be told to stop without a socket operation,
//!   so unlike the Tokio server no idle connection is closed to make room: IPC callers
//!   are few and known, and one that keeps a connection idle holds its slot until
//!   `idle_timeout`.
//! * `idle_timeout`, `head_timeout`, `io_timeout`: degu-core's timeout policy
//!   ([`PhaseClock`]), as `SO_RCVTIMEO` on blocking reads (set only when the phase's
//!   limit changes, so a run of requests sets it once) and as `poll(2)` deadlines on the
//!   rest.
//! * `max_requests`, `drain_limit`, `read_buffer` (the largest head), `write_buffer`,
//!   `shutdown_grace`: as for the Tokio server.
//! * `workers` does not apply (a thread per connection); `tls` is refused: the blocking
//!   server serves plain HTTP (its callers are local).

use super::{BlockingReader, BlockingWriter, Clock, Shared, StdPlain, block_on};
use crate::address::Address;
use crate::client::Deadline;
use crate::server::{
    ACCEPT_RETRY, LINGER_BYTES, LINGER_TIME, Listener, Registry, Server, ServerConfig, unix_peer,
};
use crate::stream::{closed_by_server, timed_out};
use degu_core::app::{App, Credentials, Session};
use degu_core::engine::{KeepAlive, Monitor, Phase, PhaseClock, Readable, Timeouts, Transport};
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use std::io::{self, Read as _, Write as _};
use std::net::Shutdown;
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering, fence};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

impl Server {
    /// Start serving `app` on a thread per connection, with this module's blocking
    /// executor instead of Tokio (see [`crate::blocking::server`]): the lowest latency
    /// per request, for HTTP as IPC. `Err` (`InvalidInput`) when the configuration has
    /// TLS, which the blocking server does not serve.
    pub fn spawn_blocking<A>(self, app: A) -> io::Result<RunningBlockingServer>
    where
        A: App + Send + Sync + 'static,
    {
        let (listener, address, config) = self.into_parts();
        if config.tls.is_some() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the blocking server serves plain HTTP only (no TLS)",
            ));
        }
        let shared = Arc::new(ServerShared {
            config,
            open: Mutex::new(0),
            changed: Condvar::new(),
            conns: Mutex::new(Registry::default()),
            closing: AtomicBool::new(false),
        });
        let (wake, woken) = UnixStream::pair()?;
        let accepting = listener.try_clone()?;
        let app = Arc::new(app);
        let server = shared.clone();
        let acceptor = std::thread::Builder::new()
            .name("degu-accept".into())
            .spawn(move || accept_loop(&accepting, &woken, &server, &app))?;
        Ok(RunningBlockingServer {
            address,
            shared,
            acceptor: Some(acceptor),
            wake,
            _listener: listener,
        })
    }
}

/// What the acceptor, the connection threads and the handle share.
struct ServerShared {
    config: ServerConfig,
    /// Connections holding a slot.
    open: Mutex<usize>,
    /// Signalled whenever `open` goes down.
    changed: Condvar,
    /// The open connections, for shutdown to close the idle ones.
    conns: Mutex<Registry<Arc<Conn>>>,
    /// The server is shutting down: no new connections, idle ones close.
    closing: AtomicBool,
}

/// One connection, as shutdown sees it.
struct Conn {
    shared: Arc<Shared>,
    monitor: Monitor,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every value guarded here is left whole by any panic (a count, a slab).
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl ServerShared {
    /// A connection slot: a free one, else one that frees up within `accept_wait`.
    fn slot(self: &Arc<Self>) -> Option<Slot> {
        let max = self.config.max_connections;
        let open = lock(&self.open);
        let (mut open, _) = self
            .changed
            .wait_timeout_while(open, self.config.accept_wait, |n| *n >= max)
            .unwrap_or_else(|p| p.into_inner());
        if *open >= max {
            return None;
        }
        *open += 1;
        Some(Slot(self.clone()))
    }

    /// Set `closing`, then close every idle connection's reading side, so that its
    /// blocked `recv` returns end of stream and the engine ends the connection. A
    /// connection that goes idle after this sees `closing` itself (the fences order the
    /// flag against the phase each side stores).
    fn close_idle(&self) {
        self.closing.store(true, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        for conn in lock(&self.conns).iter() {
            if conn.monitor.phase() == Phase::Idle {
                let _ = conn.shared.socket.shutdown(Shutdown::Read);
            }
        }
    }
}

/// A taken connection slot, given back when dropped.
struct Slot(Arc<ServerShared>);

impl Drop for Slot {
    fn drop(&mut self) {
        *lock(&self.0.open) -= 1;
        self.0.changed.notify_all();
    }
}

/// A blocking server running: an accept thread and a thread per connection. Dropping it
/// stops accepting (without waiting); [`RunningBlockingServer::stop`] also waits for the
/// connections.
pub struct RunningBlockingServer {
    address: Address,
    shared: Arc<ServerShared>,
    acceptor: Option<JoinHandle<io::Result<()>>>,
    /// Written to wake the acceptor for shutdown.
    wake: UnixStream,
    /// Kept so that a path listener's socket file goes when the server does.
    _listener: Listener,
}

impl std::fmt::Debug for RunningBlockingServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningBlockingServer")
            .field("address", &self.address)
            .finish()
    }
}

impl RunningBlockingServer {
    /// The bound address.
    pub fn address(&self) -> &Address {
        &self.address
    }

    /// Connections holding a slot right now.
    pub fn connections(&self) -> usize {
        *lock(&self.shared.open)
    }

    /// Serve until SIGINT or SIGTERM, then stop gracefully (see
    /// [`RunningBlockingServer::stop`]).
    pub fn run_until_signal(self) -> io::Result<()> {
        crate::server::wait_for_signal()?;
        tracing::info!("signal received: shutting down");
        self.stop()
    }

    /// Stop accepting, close idle connections, let requests in progress finish (up to
    /// `shutdown_grace`), then return; an accept thread that failed is reported.
    pub fn stop(mut self) -> io::Result<()> {
        self.shutdown();
        let grace = self.shared.config.shutdown_grace;
        let open = lock(&self.shared.open);
        drop(
            self.shared
                .changed
                .wait_timeout_while(open, grace, |n| *n > 0)
                .unwrap_or_else(|p| p.into_inner()),
        );
        match self.acceptor.take().map(JoinHandle::join) {
            Some(Err(_)) => Err(io::Error::other("the accept thread panicked")),
            Some(Ok(r)) => r,
            None => Ok(()),
        }
    }

    fn shutdown(&mut self) {
        self.shared.close_idle();
        // The acceptor sleeps in poll(2) on the listener and this socket's peer.
        let _ = self.wake.write_all(b"x");
    }
}

impl Drop for RunningBlockingServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Accept until the server closes, handing each connection a thread and a slot.
fn accept_loop<A: App + Send + Sync + 'static>(
    listener: &Listener,
    woken: &UnixStream,
    server: &Arc<ServerShared>,
    app: &Arc<A>,
) -> io::Result<()> {
    let fd = match listener {
        Listener::Tcp(l) => l.as_fd(),
        Listener::Unix(l, _) => l.as_fd(),
    };
    loop {
        let mut fds = [
            PollFd::new(fd, PollFlags::POLLIN),
            PollFd::new(woken.as_fd(), PollFlags::POLLIN),
        ];
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => return Err(e.into()),
        }
        if server.closing.load(Ordering::SeqCst) {
            return Ok(());
        }
        // The listener is non-blocking (bound for any runtime): a connection that went
        // away between poll and accept is `WouldBlock`.
        let (socket, peer, creds) = match accept(listener) {
            Ok(a) => a,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                std::thread::sleep(ACCEPT_RETRY);
                continue;
            }
        };
        let Some(slot) = server.slot() else {
            tracing::warn!(%peer, "too many connections: refusing");
            continue;
        };
        let (server, app) = (server.clone(), app.clone());
        let spawned = std::thread::Builder::new()
            .name("degu-conn".into())
            .spawn(move || {
                let _span = tracing::info_span!("conn", %peer).entered();
                let conn = connection(socket, &peer, creds, &*app, &server);
                drop(slot);
                linger(&conn.shared.socket);
            });
        if let Err(e) = spawned {
            tracing::warn!("cannot start a connection thread: {e}");
        }
    }
}

/// Accept one connection (a blocking socket: accept4 does not pass on `O_NONBLOCK`).
fn accept(listener: &Listener) -> io::Result<(StdPlain, Address, Option<Credentials>)> {
    match listener {
        Listener::Tcp(l) => {
            let (s, peer) = l.accept()?;
            s.set_nodelay(true)?;
            Ok((StdPlain::Tcp(s), Address::Ip(peer), None))
        }
        Listener::Unix(l, _) => {
            let (s, addr) = l.accept()?;
            let (peer, creds) = unix_peer(s.as_fd(), addr.as_pathname());
            Ok((StdPlain::Unix(s), peer, creds))
        }
    }
}

/// Serve one connection with the engine until it ends; the connection, to linger on.
fn connection<A: App>(
    socket: StdPlain,
    peer: &Address,
    creds: Option<Credentials>,
    app: &A,
    server: &Arc<ServerShared>,
) -> Arc<Conn> {
    let conn = Arc::new(Conn {
        shared: Arc::new(Shared {
            socket,
            writer_waiting: AtomicBool::new(false),
            tls: None,
        }),
        monitor: Monitor::new(),
    });
    let index = lock(&server.conns).insert(conn.clone());
    let cfg = &server.config;
    let mut session = Session::new(peer.into(), A::State::default());
    if let Some(c) = creds {
        session = session.with_credentials(c);
    }
    let mut io = ServerSocket {
        conn: conn.clone(),
        server: server.clone(),
        opened: Instant::now(),
    };
    // The connection's own buffers, for its life: its thread is the bigger cost.
    let mut buffers = (
        vec![0u8; cfg.read_buffer].into_boxed_slice(),
        vec![0u8; cfg.write_buffer].into_boxed_slice(),
    );
    let engine = KeepAlive::new()
        .max_requests(cfg.max_requests)
        .drain_limit(cfg.drain_limit);
    tracing::debug!("connected");
    let served = degu_core::engine::serve(&mut io, &mut buffers, app, &mut session, &engine);
    match block_on(served) {
        Ok(end) => tracing::debug!(requests = session.requests(), "closed: {end:?}"),
        Err(e) => tracing::debug!(requests = session.requests(), "closed: {e}"),
    }
    lock(&server.conns).remove(index);
    conn
}

/// Close gracefully: FIN, then read (and drop) what the peer still sends, until it
/// closes, [`LINGER_TIME`] passes or [`LINGER_BYTES`] came, so that unread input does
/// not turn the close into a reset that could destroy the last response.
fn linger(socket: &StdPlain) {
    if socket.shutdown(Shutdown::Write).is_err() {
        return;
    }
    let until = Instant::now() + LINGER_TIME;
    let mut scratch = [0u8; 4096];
    let (mut seen, mut input) = (0, socket);
    while seen < LINGER_BYTES {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() || socket.set_read_timeout(Some(left)).is_err() {
            return;
        }
        match input.read(&mut scratch) {
            Ok(0) | Err(_) => return,
            Ok(n) => seen += n,
        }
    }
}

/// A server connection's socket as the engine's [`Transport`]: the blocking client's
/// halves, the read half keeping the phase.
struct ServerSocket {
    conn: Arc<Conn>,
    server: Arc<ServerShared>,
    opened: Instant,
}

impl Transport for ServerSocket {
    type Reader<'a> = PhaseReader;
    type Writer<'a> = BlockingWriter;

    fn split(&mut self) -> (PhaseReader, BlockingWriter) {
        let cfg = &self.server.config;
        // No whole-request deadline: the server bounds each phase instead.
        let request = Deadline::new(None);
        let shared = &self.conn.shared;
        (
            PhaseReader {
                inner: BlockingReader {
                    shared: shared.clone(),
                    clock: Clock::new(None, &request),
                },
                clock: PhaseClock::new(self.opened),
                timeouts: Timeouts {
                    idle: cfg.idle_timeout,
                    head: cfg.head_timeout,
                    io: cfg.io_timeout,
                },
                rcvtimeo: None,
                conn: self.conn.clone(),
                server: self.server.clone(),
            },
            BlockingWriter {
                shared: shared.clone(),
                clock: Clock::new(Some(cfg.io_timeout), &request),
            },
        )
    }
}

/// The read half of a server connection: the blocking client's, each read bounded by
/// the limit degu-core's policy gives the engine's current phase.
struct PhaseReader {
    inner: BlockingReader,
    clock: PhaseClock<Instant>,
    timeouts: Timeouts<Duration>,
    /// The socket's `SO_RCVTIMEO` as last set (`None`: not yet).
    rcvtimeo: Option<Duration>,
    conn: Arc<Conn>,
    server: Arc<ServerShared>,
}

impl PhaseReader {
    /// How long a read starting now may wait; `Err` when the server is closing and the
    /// connection idle, or the head's time is up.
    fn limit(&mut self) -> io::Result<Duration> {
        if self.clock.phase() == Phase::Idle {
            // Pairs with the fence in `close_idle`: either it saw this connection idle
            // (and shut its reading side) or this sees `closing`.
            fence(Ordering::SeqCst);
            if self.server.closing.load(Ordering::SeqCst) {
                return Err(closed_by_server());
            }
        }
        // The policy's deadline, measured from any instant when it is relative (idle,
        // busy: no clock read per request); from now only inside a head, whose deadline
        // is fixed.
        let base = self.clock.since();
        let mut relative = false;
        let deadline = self.clock.deadline(&self.timeouts, || {
            relative = true;
            base
        });
        let from = if relative { base } else { Instant::now() };
        let limit = deadline.saturating_duration_since(from);
        if limit.is_zero() {
            // Zero would be no timeout at all for SO_RCVTIMEO.
            return Err(timed_out());
        }
        if self.rcvtimeo != Some(limit) {
            self.inner.shared.socket.set_read_timeout(Some(limit))?;
            self.rcvtimeo = Some(limit);
        }
        Ok(limit)
    }
}

impl Readable for PhaseReader {
    // `readable` stays the provided one (ready at once): the connection owns its
    // buffers, and waiting for readiness first would cost a poll per request.

    fn set_phase(&mut self, phase: Phase) {
        if self.clock.enter(phase, Instant::now) {
            self.conn.monitor.set(phase);
        }
    }
}

impl embedded_io::ErrorType for PhaseReader {
    type Error = io::Error;
}

impl embedded_io_async::Read for PhaseReader {
    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.clock.timeout = Some(self.limit()?);
        self.inner.read(buf).await
    }
}
