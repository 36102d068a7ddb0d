//! Blocking connections: degu-core's one client over std sockets, driven by a small
//! blocking executor ([`Wait::wait`]), for CLIs, scripts, tests and IPC, like the
//! Python original's client.
//!
//! ```no_run
//! use degu_std::Client;
//! use degu_std::blocking::Wait;
//!
//! let client = Client::new("127.0.0.1:8080".parse()?);
//! let mut conn = client.connect_blocking()?;
//! let mut response = conn.get("/hello", &[]).wait()?;
//! let mut body = [0u8; 64];
//! let n = response.body.read_to_end(&mut body).wait()?;
//! assert_eq!(&body[..n], b"hello, world");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # How it blocks
//!
//! The sockets stay in blocking mode, so a plain request costs what it costs on a raw
//! socket: one `send` and one blocking `recv`. Only when an exchange is full duplex does
//! it poll: a write that would block (`MSG_DONTWAIT`) registers the socket for
//! writing and makes the reads of the same connection non-blocking too, and
//! [`Wait::wait`] sleeps in `poll(2)` until either side can go on. Timeouts are the
//! client's: `SO_RCVTIMEO`/`SO_SNDTIMEO` on blocking calls, a deadline on polled ones;
//! with a whole-request deadline (`ClientConfig::deadline`) every read that would block
//! is polled, so that it ends at the deadline.
//!
//! The executor drives only futures that wait on this module's sockets; a future that
//! waits on anything else (a Tokio timer, a channel) is polled again every
//! [`FOREIGN_POLL_INTERVAL`].

use crate::address::Address;
use crate::client::{Client, ClientHeaders, Deadline, deadline_passed};
use crate::stream::timed_out as timed_out_error;
use degu_core::engine;
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::socket::{MsgFlags, recv, send};
use std::cell::RefCell;
use std::future::{Future, IntoFuture};
use std::io::{self, Read as _, Write as _};
use std::net::TcpStream;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

pub mod server;

pub use server::RunningBlockingServer;

/// How often [`Wait::wait`] polls a future that waits on something other than this
/// module's sockets.
pub const FOREIGN_POLL_INTERVAL: Duration = Duration::from_millis(1);

/// A blocking socket before TLS.
#[derive(Debug)]
pub enum StdPlain {
    /// TCP.
    Tcp(TcpStream),
    /// AF_UNIX.
    Unix(UnixStream),
}

impl StdPlain {
    fn fd(&self) -> BorrowedFd<'_> {
        match self {
            StdPlain::Tcp(s) => s.as_fd(),
            StdPlain::Unix(s) => s.as_fd(),
        }
    }

    fn raw(&self) -> RawFd {
        self.fd().as_raw_fd()
    }

    fn shutdown(&self, how: std::net::Shutdown) -> io::Result<()> {
        match self {
            StdPlain::Tcp(s) => s.shutdown(how),
            StdPlain::Unix(s) => s.shutdown(how),
        }
    }

    /// `SO_RCVTIMEO`: how long a blocking read may wait (`None`: forever).
    fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        match self {
            StdPlain::Tcp(s) => s.set_read_timeout(t),
            StdPlain::Unix(s) => s.set_read_timeout(t),
        }
    }
}

impl io::Read for &StdPlain {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            StdPlain::Tcp(s) => (&*s).read(buf),
            StdPlain::Unix(s) => (&*s).read(buf),
        }
    }
}

impl io::Write for &StdPlain {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            StdPlain::Tcp(s) => (&*s).write(buf),
            StdPlain::Unix(s) => (&*s).write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// What the two halves of one blocking connection share.
struct Shared {
    socket: StdPlain,
    /// A write is waiting for buffer space: reads must not block the thread, or the
    /// exchange could deadlock (each side waiting for the other to read).
    writer_waiting: AtomicBool,
    /// The TLS session, when there is one; both halves go through it.
    tls: Option<Mutex<rustls::ClientConnection>>,
}

impl Shared {
    fn tls(&self) -> Option<MutexGuard<'_, rustls::ClientConnection>> {
        // A poisoned lock means a panic mid-record: the session is unusable either way,
        // and rustls reports that as an error on the next call.
        self.tls
            .as_ref()
            .map(|m| m.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// One socket a pending operation waits on.
struct Registration {
    shared: Arc<Shared>,
    events: PollFlags,
    deadline: Option<Instant>,
}

thread_local! {
    /// What the futures polled by [`Wait::wait`] on this thread are waiting for.
    static WAITING: RefCell<Vec<Registration>> = const { RefCell::new(Vec::new()) };
}

/// Driving a future to completion on the calling thread: the blocking client's
/// executor.
pub trait Wait: IntoFuture {
    /// Poll the future until it completes, sleeping in `poll(2)` while it waits on a
    /// blocking connection's socket.
    fn wait(self) -> Self::Output;
}

impl<F: IntoFuture> Wait for F {
    fn wait(self) -> Self::Output {
        block_on(self.into_future())
    }
}

/// Sockets a wait polls without allocating: a connection's two halves, with room to spare.
const POLL_INLINE: usize = 4;

// Inlined into each `wait`: otherwise the future is copied once more on its way in,
// a measurable share of a blocking round trip's user time (callgrind: -4% of the
// client's instructions).
#[inline(always)]
fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    // The last wait's registrations, swapped with the thread's list so that both keep
    // their allocation: a full-duplex exchange polls without allocating.
    let mut waiting = Vec::new();
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            WAITING.with(|w| w.borrow_mut().clear());
            return v;
        }
        waiting.clear();
        WAITING.with(|w| std::mem::swap(&mut *w.borrow_mut(), &mut waiting));
        if waiting.is_empty() {
            std::thread::sleep(FOREIGN_POLL_INTERVAL);
            continue;
        }
        let now = Instant::now();
        let timeout = waiting
            .iter()
            .filter_map(|r| r.deadline)
            .min()
            .map(|d| d.saturating_duration_since(now));
        let timeout = match timeout {
            // Rounded up, so a deadline is never polled a millisecond early forever.
            Some(t) => {
                PollTimeout::try_from(t + Duration::from_micros(999)).unwrap_or(PollTimeout::MAX)
            }
            None => PollTimeout::NONE,
        };
        let mut inline = heapless::Vec::<PollFd<'_>, POLL_INLINE>::new();
        let mut spilled;
        let fds = waiting
            .iter()
            .map(|r| PollFd::new(r.shared.socket.fd(), r.events));
        let fds: &mut [PollFd<'_>] = if waiting.len() <= POLL_INLINE {
            inline.extend(fds);
            &mut inline
        } else {
            spilled = fds.collect::<Vec<_>>();
            &mut spilled
        };
        // EINTR or a timeout: the next poll of the future sorts it out.
        let _ = poll(fds, timeout);
    }
}

/// The per-operation deadline of one half, and the connection's whole-request one.
struct Clock {
    timeout: Option<Duration>,
    deadline: Option<Instant>,
    request: Arc<Deadline>,
}

impl Clock {
    fn new(timeout: Option<Duration>, request: &Arc<Deadline>) -> Clock {
        Clock {
            timeout,
            deadline: None,
            request: request.clone(),
        }
    }

    /// Register `shared` for `events`; `Err` once the operation has waited its timeout
    /// or the request's deadline has passed.
    fn wait(&mut self, shared: &Arc<Shared>, events: PollFlags) -> io::Result<()> {
        let now = Instant::now();
        if let Some(t) = self.timeout {
            let deadline = *self.deadline.get_or_insert(now + t);
            if now >= deadline {
                self.deadline = None;
                return Err(timed_out_error());
            }
        }
        let request = self.request.current();
        if request.is_some_and(|at| now >= at) {
            self.deadline = None;
            return Err(deadline_passed());
        }
        let deadline = match (self.deadline, request) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        WAITING.with(|w| {
            w.borrow_mut().push(Registration {
                shared: shared.clone(),
                events,
                deadline,
            })
        });
        Ok(())
    }

    fn done<T>(&mut self, r: io::Result<T>) -> Poll<io::Result<T>> {
        self.deadline = None;
        Poll::Ready(r)
    }
}

/// `recv` that blocks unless `dontwait`; a blocking one that times out
/// (`SO_RCVTIMEO`) is [`io::ErrorKind::TimedOut`].
fn recv_from(socket: &StdPlain, buf: &mut [u8], dontwait: bool) -> io::Result<usize> {
    if dontwait {
        return recv(socket.raw(), buf, MsgFlags::MSG_DONTWAIT).map_err(io::Error::from);
    }
    let mut s = socket;
    match s.read(buf) {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Err(timed_out_error()),
        r => r,
    }
}

/// `send` that never blocks (and never raises SIGPIPE).
fn send_to(socket: &StdPlain, buf: &[u8]) -> io::Result<usize> {
    send(
        socket.raw(),
        buf,
        MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_NOSIGNAL,
    )
    .map_err(io::Error::from)
}

fn would_block(e: &io::Error) -> bool {
    e.raw_os_error() == Some(Errno::EAGAIN as i32)
}

/// A socket as `io::Read` for rustls, blocking or not.
struct TlsIn<'a> {
    socket: &'a StdPlain,
    dontwait: bool,
}

impl io::Read for TlsIn<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        recv_from(self.socket, buf, self.dontwait)
    }
}

/// A socket as `io::Write` for rustls, never blocking.
struct TlsOut<'a> {
    socket: &'a StdPlain,
}

impl io::Write for TlsOut<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        send_to(self.socket, buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The read half of a blocking connection.
pub struct BlockingReader {
    shared: Arc<Shared>,
    clock: Clock,
}

/// The write half of a blocking connection.
pub struct BlockingWriter {
    shared: Arc<Shared>,
    clock: Clock,
}

impl BlockingReader {
    fn poll_read(&mut self, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        if let Err(e) = self.clock.request.check() {
            return self.clock.done(Err(e));
        }
        let shared = &*self.shared;
        // With a request deadline every read that would block is polled, so that the
        // wait ends at the deadline (a blocking read ends only at SO_RCVTIMEO).
        let dontwait = shared.writer_waiting.load(Ordering::Acquire) || self.clock.request.is_set();
        let r = match shared.tls() {
            None => recv_from(&shared.socket, buf, dontwait),
            Some(mut tls) => tls_read(&mut tls, &shared.socket, buf, dontwait),
        };
        match r {
            Err(e) if would_block(&e) => match self.clock.wait(&self.shared, PollFlags::POLLIN) {
                Ok(()) => Poll::Pending,
                Err(e) => self.clock.done(Err(e)),
            },
            r => self.clock.done(r),
        }
    }
}

/// Plaintext from a TLS session: what it holds, else one read of records from the
/// socket.
fn tls_read(
    tls: &mut rustls::ClientConnection,
    socket: &StdPlain,
    buf: &mut [u8],
    dontwait: bool,
) -> io::Result<usize> {
    loop {
        match tls.reader().read(buf) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            r => return r,
        }
        // Alerts or key updates the session owes the peer go first, if they can.
        while tls.wants_write() {
            match tls.write_tls(&mut TlsOut { socket }) {
                Err(e) if would_block(&e) => break,
                r => r.map(drop)?,
            }
        }
        let n = tls.read_tls(&mut TlsIn { socket, dontwait })?;
        tls.process_new_packets()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        if n == 0 {
            // The peer closed: the next `reader().read` says how (EOF or an error).
            return match tls.reader().read(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(0),
                r => r,
            };
        }
    }
}

impl BlockingWriter {
    fn poll_write(&mut self, buf: &[u8]) -> Poll<io::Result<usize>> {
        if let Err(e) = self.clock.request.check() {
            return self.clock.done(Err(e));
        }
        let shared = &*self.shared;
        let r = match shared.tls() {
            None => send_to(&shared.socket, buf),
            Some(mut tls) => match tls_push(&mut tls, &shared.socket) {
                Ok(()) => tls.writer().write(buf),
                Err(e) => Err(e),
            },
        };
        self.settle(r)
    }

    fn poll_flush(&mut self) -> Poll<io::Result<()>> {
        let shared = &*self.shared;
        let r = match shared.tls() {
            None => Ok(()),
            Some(mut tls) => tls_push(&mut tls, &shared.socket),
        };
        self.settle(r)
    }

    fn settle<T>(&mut self, r: io::Result<T>) -> Poll<io::Result<T>> {
        let waiting = matches!(&r, Err(e) if would_block(e));
        self.shared.writer_waiting.store(waiting, Ordering::Release);
        if !waiting {
            return self.clock.done(r);
        }
        match self.clock.wait(&self.shared, PollFlags::POLLOUT) {
            Ok(()) => Poll::Pending,
            Err(e) => {
                self.shared.writer_waiting.store(false, Ordering::Release);
                self.clock.done(Err(e))
            }
        }
    }
}

/// Write out every record the session holds; `WouldBlock` when the socket is full.
fn tls_push(tls: &mut rustls::ClientConnection, socket: &StdPlain) -> io::Result<()> {
    while tls.wants_write() {
        tls.write_tls(&mut TlsOut { socket })?;
    }
    Ok(())
}

impl embedded_io::ErrorType for BlockingReader {
    type Error = io::Error;
}

impl embedded_io::ErrorType for BlockingWriter {
    type Error = io::Error;
}

impl embedded_io_async::Read for BlockingReader {
    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        std::future::poll_fn(|_| self.poll_read(buf)).await
    }
}

impl embedded_io_async::Write for BlockingWriter {
    async fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        std::future::poll_fn(|_| self.poll_write(buf)).await
    }

    async fn flush(&mut self) -> io::Result<()> {
        std::future::poll_fn(|_| self.poll_flush()).await
    }
}

/// A blocking connection: degu-core's [`Connection`](engine::Connection) over a std
/// socket's halves, with the client's base headers. Drive its futures with
/// [`Wait::wait`].
pub type BlockingConnection =
    engine::Connection<BlockingReader, BlockingWriter, Box<[u8]>, ClientHeaders>;

/// The response a simple verb of a [`BlockingConnection`] returns.
pub type BlockingResponse<'c> =
    engine::Response<'c, BlockingReader, engine::Upload<'c, BlockingWriter>>;

impl Client {
    /// Open a blocking connection (no runtime needed; see [`crate::blocking`]).
    pub fn connect_blocking(&self) -> io::Result<BlockingConnection> {
        let config = self.config();
        let socket = connect_plain(self.address(), config.timeout)?;
        let tls = match &config.tls {
            None => None,
            Some(tls) => {
                let name = tls.name_for(self.address())?;
                let mut conn = rustls::ClientConnection::new(tls.rustls_config()?, name)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
                // Handshake now (blocking), so a refused certificate is an error of
                // `connect_blocking`.
                let mut io = &socket;
                while conn.is_handshaking() {
                    conn.complete_io(&mut io)?;
                }
                Some(Mutex::new(conn))
            }
        };
        let shared = Arc::new(Shared {
            socket,
            writer_waiting: AtomicBool::new(false),
            tls,
        });
        let request = Deadline::new(config.deadline);
        let clock = || Clock::new(config.timeout, &request);
        let conn = engine::Connection::new(
            BlockingReader {
                shared: shared.clone(),
                clock: clock(),
            },
            BlockingWriter {
                shared,
                clock: clock(),
            },
            vec![0u8; config.read_buffer].into_boxed_slice(),
            vec![0u8; config.write_buffer].into_boxed_slice(),
        );
        Ok(conn.with_base_headers(self.base_headers(request)))
    }
}

fn connect_plain(address: &Address, t: Option<Duration>) -> io::Result<StdPlain> {
    Ok(match address {
        Address::Ip(a) => {
            let s = match t {
                Some(t) => TcpStream::connect_timeout(a, t)?,
                None => TcpStream::connect(a)?,
            };
            s.set_nodelay(true)?;
            s.set_read_timeout(t)?;
            s.set_write_timeout(t)?;
            StdPlain::Tcp(s)
        }
        Address::Host(h, p) => {
            let s = TcpStream::connect((h.as_str(), *p))?;
            s.set_nodelay(true)?;
            s.set_read_timeout(t)?;
            s.set_write_timeout(t)?;
            StdPlain::Tcp(s)
        }
        Address::Unix(path) => {
            let s = UnixStream::connect(path)?;
            s.set_read_timeout(t)?;
            s.set_write_timeout(t)?;
            StdPlain::Unix(s)
        }
        Address::Abstract(name) => {
            use std::os::linux::net::SocketAddrExt;
            let sa = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
            let s = UnixStream::connect_addr(&sa)?;
            s.set_read_timeout(t)?;
            s.set_write_timeout(t)?;
            StdPlain::Unix(s)
        }
    })
}
