//! The Tokio server: bind an [`Address`], serve a `degu-core` [`App`] on it.
//!
//! Connections run on worker threads, each with its own current-thread runtime; a
//! connection stays on the thread that accepted it (`spawn_local`), so app futures need
//! not be `Send` and the core trait stays free of `Send` bounds. The app
//! value itself is shared by all workers (`Send + Sync`). Workers share the listening
//! socket; one that has more connections than another (by more than [`ACCEPT_LEAD`])
//! leaves new ones to the others, so a burst of clients is spread over them.
//!
//! Limits: `max_connections` across all workers (thousands by default: an idle or silent
//! connection holds no request buffers, only its socket and its task, see
//! [`ServerConfig::DEFAULT_MAX_CONNECTIONS`]). A connection leases its buffers from its
//! worker's pool when a request's first byte arrives and gives them back when it is idle
//! again. When every slot is taken (or the process is out of descriptors), the server
//! closes the connection that matters least, as [`degu_core::pressure`] decides: the
//! oldest silent or idle one, then the slowest head in progress; a connection handling a
//! request is never closed for room, and when all are, the new one waits up to
//! `accept_wait` and is dropped. Timeouts: idle (between requests), head (from a head's
//! first byte to its end), I/O (each read or write inside a request).

use crate::address::Address;
use crate::buffers::{BufferPool, PoolSource};
use crate::stream::{CloseRequest, ConnShared, Plain, Socket, Timeouts, server_halves};
use crate::tls::{TlsPeer, TlsServerConfig};
use degu_core::app::{App, Credentials, Session};
use degu_core::engine::{KeepAlive, ServerEnd, serve};
use degu_core::pressure::{self, Rank};
use std::io;
use std::net::TcpListener as StdTcpListener;
use std::os::fd::AsFd;
use std::os::unix::net::UnixListener as StdUnixListener;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::Instant;
use tracing::Instrument;

/// Server options; every field has a documented default ([`ServerConfig::default`]).
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Connections open at once, across all workers (default
    /// [`ServerConfig::DEFAULT_MAX_CONNECTIONS`]). Each needs a file descriptor: the
    /// process's `RLIMIT_NOFILE` must allow as many, or the server runs out of
    /// descriptors first (it then closes connections as it would at this limit).
    pub max_connections: usize,
    /// Requests per connection before it is closed (default 1000).
    pub max_requests: u32,
    /// How long a keep-alive connection may wait for its next request (default 30 s).
    pub idle_timeout: Duration,
    /// How long a request head may take to arrive once its first byte has (default 10 s).
    pub head_timeout: Duration,
    /// Bound on each read and write while a request is handled (default 30 s).
    pub io_timeout: Duration,
    /// How long a new connection waits for a free slot when every connection is
    /// handling a request, so none can be closed to make room (default 2 s, as the
    /// Python original); then it is dropped.
    pub accept_wait: Duration,
    /// Read buffer of a connection with a request in progress: the largest request head
    /// accepted (default 32 KiB). Idle connections hold none.
    pub read_buffer: usize,
    /// Write buffer of a connection with a request in progress (default 16 KiB).
    pub write_buffer: usize,
    /// Unread request body the server drains to keep a connection (default 64 KiB).
    pub drain_limit: u64,
    /// Worker threads, each with a current-thread runtime (default 1).
    pub workers: usize,
    /// How long a graceful shutdown waits for in-flight requests (default 10 s).
    pub shutdown_grace: Duration,
    /// TLS for every connection (the handshake is bounded by `head_timeout`); `None`
    /// serves plain HTTP.
    pub tls: Option<TlsServerConfig>,
}

impl ServerConfig {
    /// 10,000 connections. An idle or silent connection costs its task (the connection
    /// future), its timer and bookkeeping, and a socket in the kernel; request buffers
    /// (`read_buffer + write_buffer`, 48 KiB by default) are held only while a request is
    /// in progress. Measured with `demo-server` (`tests/tests/pressure.rs`, release
    /// build): 10,000 idle keep-alive connections take its RSS from 3 MiB to 57 MiB,
    /// about 5.5 KiB each; 1,000 trickling heads (holding buffers) and 1,000 silent
    /// connections, 46 MiB.
    pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
            max_requests: 1000,
            idle_timeout: Duration::from_secs(30),
            head_timeout: Duration::from_secs(10),
            io_timeout: Duration::from_secs(30),
            accept_wait: Duration::from_secs(2),
            read_buffer: 32 * 1024,
            write_buffer: 16 * 1024,
            drain_limit: 64 * 1024,
            workers: 1,
            shutdown_grace: Duration::from_secs(10),
            tls: None,
        }
    }
}

/// A bound listener (std, not yet registered with any runtime).
#[derive(Debug)]
pub(crate) enum Listener {
    Tcp(StdTcpListener),
    Unix(StdUnixListener, Option<PathBuf>),
}

impl Listener {
    pub(crate) fn try_clone(&self) -> io::Result<Listener> {
        Ok(match self {
            Listener::Tcp(l) => Listener::Tcp(l.try_clone()?),
            Listener::Unix(l, _) => Listener::Unix(l.try_clone()?, None),
        })
    }

    /// A clone registered with the current Tokio runtime.
    pub(crate) fn to_async(&self) -> io::Result<AsyncListener> {
        Ok(match self {
            Listener::Tcp(l) => AsyncListener::Tcp(TcpListener::from_std(l.try_clone()?)?),
            Listener::Unix(l, _) => AsyncListener::Unix(UnixListener::from_std(l.try_clone()?)?),
        })
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        // The socket file of a path listener goes with the listener that bound it.
        if let Listener::Unix(_, Some(path)) = self {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// A bound, not yet running server.
#[derive(Debug)]
pub struct Server {
    listener: Listener,
    address: Address,
    config: ServerConfig,
}

/// Bind `address` to a std listener: non-blocking, ready for any runtime.
pub(crate) fn bind(address: &Address) -> io::Result<(Listener, Address)> {
    match address {
        Address::Ip(a) => {
            let l = StdTcpListener::bind(a)?;
            l.set_nonblocking(true)?;
            let local = Address::Ip(l.local_addr()?);
            Ok((Listener::Tcp(l), local))
        }
        Address::Host(h, p) => {
            let l = StdTcpListener::bind((h.as_str(), *p))?;
            l.set_nonblocking(true)?;
            let local = Address::Ip(l.local_addr()?);
            Ok((Listener::Tcp(l), local))
        }
        Address::Unix(path) => {
            let l = StdUnixListener::bind(path)?;
            l.set_nonblocking(true)?;
            Ok((Listener::Unix(l, Some(path.clone())), address.clone()))
        }
        Address::Abstract(name) => {
            use std::os::linux::net::SocketAddrExt;
            let sa = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
            let l = StdUnixListener::bind_addr(&sa)?;
            l.set_nonblocking(true)?;
            let local = Address::from(&l.local_addr()?);
            Ok((Listener::Unix(l, None), local))
        }
    }
}

impl Server {
    /// Bind `address` (port 0: the kernel picks one; see [`Server::address`]).
    pub fn bind(address: &Address, config: ServerConfig) -> io::Result<Server> {
        if config.max_connections == 0 || config.workers == 0 || config.read_buffer < 64 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "max_connections and workers must be > 0, read_buffer >= 64",
            ));
        }
        let (listener, address) = bind(address)?;
        Ok(Server {
            listener,
            address,
            config,
        })
    }

    /// The bound address, with the real port.
    pub fn address(&self) -> &Address {
        &self.address
    }

    /// The listener, the bound address and the configuration (for the blocking server).
    pub(crate) fn into_parts(self) -> (Listener, Address, ServerConfig) {
        (self.listener, self.address, self.config)
    }

    /// Start serving `app` on background worker threads.
    pub fn spawn<A>(self, app: A) -> io::Result<RunningServer>
    where
        A: App + Send + Sync + 'static,
    {
        let (shutdown, _) = watch::channel(false);
        let shared = Arc::new(Shared {
            permits: Arc::new(Semaphore::new(self.config.max_connections)),
            conns: Mutex::new(Registry::default()),
            shutdown,
            config: self.config.clone(),
            started: Instant::now(),
            balance: Notify::new(),
            loads: (0..self.config.workers)
                .map(|_| AtomicUsize::new(0))
                .collect(),
        });
        let app = Arc::new(app);
        let mut workers = Vec::new();
        for i in 0..self.config.workers {
            let listener = self.listener.try_clone()?;
            let shared = shared.clone();
            let app = app.clone();
            let thread = std::thread::Builder::new()
                .name(format!("degu-worker-{i}"))
                .spawn(move || worker(i, listener, shared, app))?;
            workers.push(thread);
        }
        Ok(RunningServer {
            address: self.address,
            shared,
            workers,
            _listener: self.listener,
        })
    }

    /// Serve `app` until [`ShutdownHandle::shutdown`] is called (or forever).
    pub fn serve<A>(self, app: A) -> io::Result<()>
    where
        A: App + Send + Sync + 'static,
    {
        self.spawn(app)?.join()
    }
}

struct Shared {
    permits: Arc<Semaphore>,
    conns: Mutex<Registry<Arc<ConnShared>>>,
    shutdown: watch::Sender<bool>,
    config: ServerConfig,
    started: Instant,
    /// Connections open on each worker, for [`Shared::ahead`].
    loads: Box<[AtomicUsize]>,
    /// Told whenever a worker's load changes, so a worker that is ahead waits for that
    /// instead of looking again on a timer.
    balance: Notify,
}

impl Shared {
    /// Whether worker `me` has more connections than another worker by more than
    /// [`ACCEPT_LEAD`]: it then leaves the next `accept` to the others. Every worker polls
    /// the one listening socket, and the first to wake takes the connection, so without
    /// this one runtime can end up with most of a burst of clients while another idles
    /// (each connection stays on the runtime that accepted it).
    fn ahead(&self, me: usize) -> bool {
        let mine = self.loads.get(me).map_or(0, |l| l.load(Ordering::Relaxed));
        self.loads
            .iter()
            .any(|l| l.load(Ordering::Relaxed) + ACCEPT_LEAD < mine)
    }

    /// A connection opened (`true`) or closed on worker `me`.
    fn load(&self, me: usize, opened: bool) {
        if let Some(l) = self.loads.get(me) {
            if opened {
                l.fetch_add(1, Ordering::Relaxed);
            } else {
                l.fetch_sub(1, Ordering::Relaxed);
            }
            self.balance.notify_waiters();
        }
    }
}

/// Connections a worker may have beyond the least loaded worker and still accept.
pub const ACCEPT_LEAD: usize = 1;

/// How often a new connection that found every slot taken and nothing to close looks
/// again for a connection that has become closable (one that finished its request).
pub const PRESSURE_RECHECK: Duration = Duration::from_millis(100);

/// How long the accept loop pauses after a failed `accept` (out of descriptors, say)
/// before it tries again.
pub const ACCEPT_RETRY: Duration = Duration::from_millis(50);

/// Buffer pairs each worker keeps for reuse once their connections went idle (more are
/// freed): enough for the requests a worker has in flight at once under ordinary load, at
/// most 3 MiB a worker with the default 48 KiB pairs.
pub const BUFFERS_KEPT_PER_WORKER: usize = 64;

/// The open connections, for the pressure policy and for shutdown: a slab, so adding
/// and removing one costs no scan. The blocking server keeps its connections in one too.
pub(crate) struct Registry<T> {
    slots: Vec<Option<T>>,
    free: Vec<usize>,
}

impl<T> Default for Registry<T> {
    fn default() -> Self {
        Registry {
            slots: Vec::new(),
            free: Vec::new(),
        }
    }
}

impl<T> Registry<T> {
    pub(crate) fn insert(&mut self, conn: T) -> usize {
        match self.free.pop() {
            Some(i) => {
                if let Some(slot) = self.slots.get_mut(i) {
                    *slot = Some(conn);
                }
                i
            }
            None => {
                self.slots.push(Some(conn));
                self.slots.len() - 1
            }
        }
    }

    pub(crate) fn remove(&mut self, index: usize) {
        if let Some(slot) = self.slots.get_mut(index)
            && slot.take().is_some()
        {
            self.free.push(index);
        }
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> {
        self.slots.iter().flatten()
    }
}

impl Shared {
    fn register(&self, conn: Arc<ConnShared>) -> Option<usize> {
        self.conns.lock().ok().map(|mut r| r.insert(conn))
    }

    fn unregister(&self, index: Option<usize>) {
        if let (Some(i), Ok(mut r)) = (index, self.conns.lock()) {
            r.remove(i);
        }
    }

    /// Close the connection [`pressure::victim`] picks among those not yet asked to
    /// close; its rank, or `None` when every connection is handling a request.
    fn evict_one(&self) -> Option<Rank> {
        let conns = self.conns.lock().ok()?;
        let fresh_since = Instant::now()
            .checked_sub(pressure::FRESH)
            .unwrap_or(self.started);
        let candidates = conns
            .iter()
            .filter(|c| c.close_requested() != CloseRequest::Evict)
            .map(|c| {
                let (phase, since) = (c.monitor.phase(), c.since());
                ((c, phase, since), phase, since)
            });
        let (conn, phase, since) = pressure::victim(candidates, fresh_since)?;
        conn.close(CloseRequest::Evict);
        pressure::rank(phase, &since, &fresh_since)
    }

    /// A connection slot for a new connection: a free one, else one freed by closing
    /// the connection that matters least, else one that frees up within `accept_wait`.
    async fn slot(&self) -> Option<OwnedSemaphorePermit> {
        if let Ok(p) = self.permits.clone().try_acquire_owned() {
            return Some(p);
        }
        let deadline = Instant::now() + self.config.accept_wait;
        loop {
            // Again after each recheck: a connection chosen a moment ago may have turned
            // busy before it saw the request, and busy ones may have gone idle since.
            if let Some(rank) = self.evict_one() {
                tracing::debug!(
                    "all {} connection slots taken: closing a connection ({rank:?}) to admit a new one",
                    self.config.max_connections
                );
            }
            let wait = self.permits.clone().acquire_owned();
            let until = deadline.min(Instant::now() + PRESSURE_RECHECK);
            match tokio::time::timeout_at(until, wait).await {
                Ok(Ok(p)) => return Some(p),
                Ok(Err(_)) => return None,
                Err(_) if Instant::now() >= deadline => return None,
                Err(_) => {}
            }
        }
    }
}

/// Handle to stop a running server.
#[derive(Clone)]
pub struct ShutdownHandle {
    shared: Arc<Shared>,
}

impl ShutdownHandle {
    /// Stop accepting, close idle connections, let in-flight requests finish (up to
    /// `shutdown_grace`), then stop.
    pub fn shutdown(&self) {
        self.shared.shutdown.send_replace(true);
        if let Ok(conns) = self.shared.conns.lock() {
            conns.iter().for_each(|c| c.close(CloseRequest::Shutdown));
        }
    }
}

impl std::fmt::Debug for ShutdownHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ShutdownHandle")
    }
}

/// A server running on its worker threads.
pub struct RunningServer {
    address: Address,
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<io::Result<()>>>,
    _listener: Listener,
}

impl std::fmt::Debug for RunningServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningServer")
            .field("address", &self.address)
            .finish()
    }
}

impl RunningServer {
    /// The bound address.
    pub fn address(&self) -> &Address {
        &self.address
    }

    /// A handle that stops the server from anywhere.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle {
            shared: self.shared.clone(),
        }
    }

    /// Connections open right now.
    pub fn connections(&self) -> usize {
        self.shared.config.max_connections - self.shared.permits.available_permits()
    }

    /// Wait for the workers to stop (after a shutdown).
    pub fn join(mut self) -> io::Result<()> {
        for w in self.workers.drain(..) {
            w.join()
                .map_err(|_| io::Error::other("a server worker panicked"))??;
        }
        Ok(())
    }

    /// Serve until SIGINT or SIGTERM, then shut down gracefully and wait (for
    /// programs like `demo-server` and `gateway`).
    pub fn run_until_signal(self) -> io::Result<()> {
        wait_for_signal()?;
        tracing::info!("signal received: shutting down");
        self.stop()
    }

    /// Shut down gracefully and wait.
    pub fn stop(self) -> io::Result<()> {
        self.shutdown_handle().shutdown();
        self.join()
    }
}

/// Block until SIGINT or SIGTERM arrives.
pub(crate) fn wait_for_signal() -> io::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        io::Result::Ok(())
    })
}

pub(crate) enum AsyncListener {
    Tcp(TcpListener),
    Unix(UnixListener),
}

fn worker<A: App + Send + Sync + 'static>(
    me: usize,
    listener: Listener,
    shared: Arc<Shared>,
    app: Arc<A>,
) -> io::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async {
        let listener = listener.to_async()?;
        let mut shutdown = shared.shutdown.subscribe();
        // This worker's request buffers, shared by its connections.
        let pool = BufferPool::new(shared.config.read_buffer, shared.config.write_buffer);
        loop {
            // Registered before the loads are read, so no change between the two is
            // missed; judged once, so both branches' conditions agree.
            let balanced = shared.balance.notified();
            tokio::pin!(balanced);
            balanced.as_mut().enable();
            let ahead = shared.ahead(me);
            let accepted = tokio::select! {
                a = accept(&listener), if !ahead => a,
                () = &mut balanced, if ahead => continue,
                _ = shutdown.wait_for(|s| *s) => break,
            };
            let (socket, peer, creds) = match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors: the same pressure as a full server, so make
                    // room the same way, then breathe and go on.
                    if out_of_descriptors(&e) {
                        if let Some(rank) = shared.evict_one() {
                            tracing::warn!(
                                "accept failed: {e}: closing a connection ({rank:?}) to make room"
                            );
                        } else {
                            tracing::warn!("accept failed: {e}; every connection is busy");
                        }
                    } else {
                        tracing::warn!("accept failed: {e}");
                    }
                    tokio::time::sleep(ACCEPT_RETRY).await;
                    continue;
                }
            };
            let Some(permit) = shared.slot().await else {
                tracing::warn!(%peer, "too many connections: refusing");
                continue;
            };
            let shared = shared.clone();
            let app = app.clone();
            let pool = pool.clone();
            let span = tracing::info_span!("conn", %peer);
            shared.load(me, true);
            tokio::task::spawn_local(
                async move {
                    connection(socket, peer, creds, &*app, &shared, pool, permit).await;
                    shared.load(me, false);
                }
                .instrument(span),
            );
        }
        io::Result::Ok(())
    })?;
    // Let in-flight requests finish, within the grace period.
    let grace = shared.config.shutdown_grace;
    local.block_on(&rt, async {
        let _ = tokio::time::timeout(grace, async {
            while shared.permits.available_permits() < shared.config.max_connections {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
    });
    drop(listener);
    Ok(())
}

/// Whether `accept` failed for want of file descriptors (the process's or the system's).
fn out_of_descriptors(e: &io::Error) -> bool {
    use nix::errno::Errno;
    matches!(e.raw_os_error(), Some(n) if n == Errno::EMFILE as i32 || n == Errno::ENFILE as i32)
}

pub(crate) async fn accept(
    listener: &AsyncListener,
) -> io::Result<(Plain, Address, Option<Credentials>)> {
    match listener {
        AsyncListener::Tcp(l) => {
            let (s, peer) = l.accept().await?;
            s.set_nodelay(true)?;
            Ok((Plain::Tcp(s), Address::Ip(peer), None))
        }
        AsyncListener::Unix(l) => {
            let (s, addr) = l.accept().await?;
            let (peer, creds) = unix_peer(s.as_fd(), addr.as_pathname());
            Ok((Plain::Unix(s), peer, creds))
        }
    }
}

/// An accepted AF_UNIX connection's peer: its path (empty when it has none) and its
/// process's credentials (`SO_PEERCRED`).
pub(crate) fn unix_peer(
    socket: std::os::fd::BorrowedFd<'_>,
    path: Option<&std::path::Path>,
) -> (Address, Option<Credentials>) {
    use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};
    let creds = getsockopt(&socket, PeerCredentials)
        .ok()
        .map(|c| Credentials {
            pid: u32::try_from(c.pid()).unwrap_or(0),
            uid: c.uid(),
            gid: c.gid(),
        });
    let peer = Address::Unix(path.map_or_else(PathBuf::new, |p| p.to_path_buf()));
    (peer, creds)
}

/// The TLS handshake, bounded by the head timeout; the socket and the verified peer.
pub(crate) async fn handshake(
    plain: Plain,
    tls: &TlsServerConfig,
    limit: Duration,
) -> io::Result<(Socket, Option<TlsPeer>)> {
    let stream = tokio::time::timeout(limit, tls.acceptor().accept(plain))
        .await
        .map_err(|_| crate::stream::timed_out())??;
    let peer = stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(TlsPeer::from_chain);
    Ok((Socket::TlsServer(Box::new(stream)), peer))
}

async fn connection<A: App>(
    plain: Plain,
    peer: Address,
    creds: Option<Credentials>,
    app: &A,
    shared: &Shared,
    pool: Rc<BufferPool>,
    permit: OwnedSemaphorePermit,
) {
    // Registered from the start: a connection still in its TLS handshake can be closed
    // like a silent one, so silent handshakes cannot hold every slot.
    let conn = Arc::new(ConnShared::new(Instant::now()));
    let index = shared.register(conn.clone());
    if *shared.shutdown.borrow() {
        conn.close(CloseRequest::Shutdown);
    }
    let socket = serve_connection(plain, &peer, creds, app, shared, &conn, pool).await;
    shared.unregister(index);
    drop(permit);
    if let Some(socket) = socket {
        socket.linger(LINGER_TIME, LINGER_BYTES).await;
    }
}

/// How long a closing connection keeps reading what the client still sends, so that
/// unread bytes do not turn the close into a reset that could destroy the last response.
pub const LINGER_TIME: Duration = Duration::from_millis(500);

/// Most bytes a closing connection reads and discards while it lingers: room for a
/// client still uploading (say a 20 MB PUT answered early with 404) to be scheduled,
/// read the answer and stop, which on loopback can take tens of megabytes under load;
/// with only 64 KiB the close came first, as a reset, and curl lost the answer now and
/// then. [`LINGER_TIME`] is what bounds the work.
pub const LINGER_BYTES: usize = 16 * 1024 * 1024;

/// The TLS handshake (if any) and the engine; the socket to close, if one was made.
async fn serve_connection<A: App>(
    plain: Plain,
    peer: &Address,
    creds: Option<Credentials>,
    app: &A,
    shared: &Shared,
    conn: &ConnShared,
    pool: Rc<BufferPool>,
) -> Option<Socket> {
    let cfg = &shared.config;
    let (mut socket, identity) = match &cfg.tls {
        None => (Socket::Plain(plain), None),
        Some(tls) => tokio::select! {
            r = handshake(plain, tls, cfg.head_timeout) => match r {
                Ok(s) => s,
                Err(e) => {
                    tracing::debug!("TLS handshake failed: {e}");
                    return None;
                }
            },
            () = conn.close_asked(CloseRequest::Shutdown) => {
                tracing::debug!("closed by the server during the TLS handshake");
                return None;
            }
        },
    };
    let mut session = Session::new(peer.into(), A::State::default());
    if let Some(c) = creds {
        session = session.with_credentials(c);
    }
    if let Some(id) = &identity {
        session = session.with_identity(id);
    }
    let timeouts = Timeouts {
        idle: cfg.idle_timeout,
        head: cfg.head_timeout,
        io: cfg.io_timeout,
    };
    let mut io = server_halves(&mut socket, conn, timeouts);
    let mut buffers = PoolSource(pool);
    let engine = KeepAlive::new()
        .max_requests(cfg.max_requests)
        .drain_limit(cfg.drain_limit);
    tracing::debug!("connected");
    let result = serve(&mut io, &mut buffers, app, &mut session, &engine).await;
    match result {
        Ok(end) => log_end(end, session.requests()),
        Err(e) => tracing::debug!(requests = session.requests(), "closed: {e}"),
    }
    Some(socket)
}

fn log_end(end: ServerEnd, requests: u32) {
    tracing::debug!(requests, "closed: {end:?}");
}
