//! The client: a [`Client`] (an address and options, cheap to clone, holds no socket)
//! opens connections, async on Tokio ([`Client::connect`]) or blocking
//! ([`Client::connect_blocking`], see [`crate::blocking`]).
//!
//! Both are degu-core's one client, [`degu_core::engine::Connection`], over this
//! crate's socket halves: the verbs (`get`, `put`, `send`, ...) and the [`Response`]
//! type are degu-core's, and every exchange is full duplex.
//!
//! ```
//! use degu_examples::demo::DemoApp;
//! use degu_std::{BodyExt, Client, TempServer};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let server = TempServer::start(&"127.0.0.1:0".parse()?, DemoApp)?;
//! let client = Client::new(server.address().clone());
//! let mut conn = client.connect().await?;
//! let mut response = conn.post("/echo", &[], b"ping").await?;
//! assert_eq!(response.status, 200);
//! assert_eq!(response.body.read_to_vec().await?, b"ping");
//! # Ok(())
//! # }
//! ```
//!
//! [`Response`]: degu_core::engine::Response

use crate::address::Address;
use crate::stream::{Plain, timed_out};
use crate::tls::TlsClientConfig;
use degu_core::engine::{self, BaseHeaders, Body, Error, Pump, Read};
use degu_core::limits::MAX_OUTPUT_HEADERS;
use degu_core::{Header, RenderError};
use std::io;
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UnixStream, tcp, unix};

/// Most base headers a client sends with every request, `host` included (the rest of
/// a request's [`MAX_OUTPUT_HEADERS`] is left to the call).
pub const MAX_BASE_HEADERS: usize = MAX_OUTPUT_HEADERS / 2;

/// Client options.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// Bound on connecting and on each read and write (default 65 s, as the Python
    /// original); `None` waits forever.
    pub timeout: Option<Duration>,
    /// Bound on each whole request, from its start (`get`, `send`, ...) until its
    /// response body is read, however steadily bytes arrive (default `None`: what a
    /// request may take depends on its body, a 200 MB download or a 12-byte status, so
    /// only the caller can say; `timeout` still catches a peer that stops). Past it the
    /// next read or write fails with [`Error::Io`]`(ErrorKind::TimedOut)` and the
    /// connection is closed.
    pub deadline: Option<Duration>,
    /// The `host` header sent with every request. Default: derived from an IP or host
    /// address (`host`, or `host:port` when the port is not 80); none for AF_UNIX.
    pub host: Option<String>,
    /// Headers sent with every request besides `host` (the Python original's
    /// `base_headers`, e.g. `authorization`): lower-case names, at most
    /// [`MAX_BASE_HEADERS`] with `host`. A header a call passes replaces the base
    /// header of the same name.
    pub headers: Vec<(String, String)>,
    /// Read buffer: the largest response head accepted (default 32 KiB).
    pub read_buffer: usize,
    /// Write buffer: the largest request head sent (default 16 KiB).
    pub write_buffer: usize,
    /// TLS: verify the server (and present a client certificate) with this; `None`
    /// for plain connections.
    pub tls: Option<TlsClientConfig>,
}

impl ClientConfig {
    /// The defaults for `address`.
    pub fn for_address(address: &Address) -> Self {
        ClientConfig {
            timeout: Some(Duration::from_secs(65)),
            deadline: None,
            host: address.host_header(80),
            headers: Vec::new(),
            read_buffer: 32 * 1024,
            write_buffer: 16 * 1024,
            tls: None,
        }
    }

    /// The defaults for a TLS connection to `address`: as [`ClientConfig::for_address`],
    /// with `tls` and a `host` header that leaves out the port when it is 443.
    pub fn for_tls(address: &Address, tls: TlsClientConfig) -> Self {
        ClientConfig {
            host: address.host_header(443),
            tls: Some(tls),
            ..ClientConfig::for_address(address)
        }
    }

    /// With a whole-request deadline of `limit` (see [`ClientConfig::deadline`]).
    pub fn with_deadline(mut self, limit: Duration) -> Self {
        self.deadline = Some(limit);
        self
    }

    /// With `name: value` sent on every request (`name` is lower-cased).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers
            .push((name.to_ascii_lowercase(), value.to_string()));
        self
    }
}

/// A client's base headers (`host` and [`ClientConfig::headers`]) as degu-core's
/// connection takes them; as each request starts they also start its deadline
/// ([`ClientConfig::deadline`]).
#[derive(Clone, Debug)]
pub struct ClientHeaders {
    config: Arc<ClientConfig>,
    deadline: Arc<Deadline>,
}

/// The whole-request deadline of one connection, shared by its halves and its
/// [`ClientHeaders`], which arm it as each request starts.
#[derive(Debug)]
pub(crate) struct Deadline {
    limit: Option<Duration>,
    at: Mutex<Option<Instant>>,
}

impl Deadline {
    pub(crate) fn new(limit: Option<Duration>) -> Arc<Deadline> {
        Arc::new(Deadline {
            limit,
            at: Mutex::new(None),
        })
    }

    fn at(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        // The guarded value is a plain `Option<Instant>`: a panic cannot leave it torn.
        self.at.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn arm(&self) {
        if let Some(limit) = self.limit {
            *self.at() = Some(Instant::now() + limit);
        }
    }

    /// Whether the client has a deadline at all.
    pub(crate) fn is_set(&self) -> bool {
        self.limit.is_some()
    }

    /// The instant the current request must be done by, if it has one.
    pub(crate) fn current(&self) -> Option<Instant> {
        self.limit?;
        *self.at()
    }

    /// `Err` once the current request's deadline has passed.
    pub(crate) fn check(&self) -> io::Result<()> {
        match self.current() {
            Some(at) if Instant::now() >= at => Err(deadline_passed()),
            _ => Ok(()),
        }
    }

    /// When an I/O that starts now must end, and the error it fails with then: the
    /// per-I/O `timeout` or the request's deadline, whichever comes first.
    pub(crate) fn io_limit(
        &self,
        timeout: Option<Duration>,
    ) -> Option<(Instant, fn() -> io::Error)> {
        let io = timeout.map(|t| (Instant::now() + t, timed_out as fn() -> io::Error));
        let request = self
            .current()
            .map(|at| (at, deadline_passed as fn() -> io::Error));
        match (io, request) {
            (Some(a), Some(b)) => Some(if b.0 < a.0 { b } else { a }),
            (a, b) => a.or(b),
        }
    }
}

/// The error of an I/O cut off by the whole-request deadline.
pub(crate) fn deadline_passed() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "request deadline passed")
}

impl ClientHeaders {
    /// No base headers (not even `host`): a gateway's attachments forward the client's.
    pub(crate) fn none() -> Self {
        ClientHeaders {
            config: Arc::new(ClientConfig::for_address(&Address::Unix(
                std::path::PathBuf::new(),
            ))),
            // No whole-request deadline: the gateway bounds each I/O by its timeout.
            deadline: Deadline::new(None),
        }
    }
}

impl BaseHeaders for ClientHeaders {
    fn on_request(&self) {
        self.deadline.arm();
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&[Header<'_>]) -> Result<T, RenderError>,
    ) -> Result<T, RenderError> {
        let mut all: heapless::Vec<Header<'_>, MAX_BASE_HEADERS> = heapless::Vec::new();
        let host = self.config.host.as_deref().map(|h| Header::new("host", h));
        let rest = self.config.headers.iter().map(|(n, v)| Header::new(n, v));
        for h in host.into_iter().chain(rest) {
            all.push(h).map_err(|_| RenderError::TooManyHeaders)?;
        }
        f(&all)
    }
}

/// A client for one server address. Cloning is cheap; it holds no socket.
#[derive(Clone, Debug)]
pub struct Client {
    address: Address,
    config: Arc<ClientConfig>,
}

impl Client {
    /// A client for `address` with default options.
    pub fn new(address: Address) -> Self {
        let config = ClientConfig::for_address(&address);
        Client::with_config(address, config)
    }

    /// A client for `address` with `config`.
    pub fn with_config(address: Address, config: ClientConfig) -> Self {
        Client {
            address,
            config: Arc::new(config),
        }
    }

    /// A TLS client for `address` with default options.
    pub fn tls(address: Address, tls: TlsClientConfig) -> Self {
        let config = ClientConfig::for_tls(&address, tls);
        Client::with_config(address, config)
    }

    /// The server address.
    pub fn address(&self) -> &Address {
        &self.address
    }

    /// The options.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// The base headers of a new connection, arming `deadline`.
    pub(crate) fn base_headers(&self, deadline: Arc<Deadline>) -> ClientHeaders {
        ClientHeaders {
            config: self.config.clone(),
            deadline,
        }
    }

    /// Open a connection (on a Tokio runtime).
    pub async fn connect(&self) -> io::Result<ClientConnection> {
        let connect = async {
            let plain = connect_socket(&self.address).await?;
            match &self.config.tls {
                None => Ok(split_plain(plain)),
                Some(tls) => {
                    let name = tls.name_for(&self.address)?;
                    let stream = tls.connector()?.connect(name, plain).await?;
                    let (r, w) = tokio::io::split(stream);
                    Ok((ReadPart::Tls(r), WritePart::Tls(w)))
                }
            }
        };
        let (r, w) = match self.config.timeout {
            Some(t) => tokio::time::timeout(t, connect)
                .await
                .unwrap_or_else(|_| Err(timed_out()))?,
            None => connect.await?,
        };
        let limits = IoLimits {
            timeout: self.config.timeout,
            deadline: Deadline::new(self.config.deadline),
        };
        let conn = engine::Connection::new(
            ClientReader {
                inner: r,
                limits: limits.clone(),
            },
            ClientWriter {
                inner: w,
                limits: limits.clone(),
            },
            vec![0u8; self.config.read_buffer].into_boxed_slice(),
            vec![0u8; self.config.write_buffer].into_boxed_slice(),
        );
        Ok(conn.with_base_headers(self.base_headers(limits.deadline)))
    }
}

pub(crate) async fn connect_socket(address: &Address) -> io::Result<Plain> {
    Ok(match address {
        Address::Ip(a) => {
            let s = TcpStream::connect(a).await?;
            s.set_nodelay(true)?;
            Plain::Tcp(s)
        }
        Address::Host(h, p) => {
            let s = TcpStream::connect((h.as_str(), *p)).await?;
            s.set_nodelay(true)?;
            Plain::Tcp(s)
        }
        Address::Unix(path) => Plain::Unix(UnixStream::connect(path).await?),
        Address::Abstract(name) => {
            use std::os::linux::net::SocketAddrExt;
            let sa = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
            let s = std::os::unix::net::UnixStream::connect_addr(&sa)?;
            s.set_nonblocking(true)?;
            Plain::Unix(UnixStream::from_std(s)?)
        }
    })
}

type TlsStream = tokio_rustls::client::TlsStream<Plain>;
type TlsServerStream = tokio_rustls::server::TlsStream<Plain>;

/// The halves of a connection this side did not open as a client: a device's link
/// accepted by a gateway's attach listener (plain or the server side of TLS), over
/// which the gateway sends requests. Every read and write is bounded by `timeout`.
pub(crate) fn halves(
    socket: crate::stream::Socket,
    timeout: Option<Duration>,
) -> (ClientReader, ClientWriter) {
    use crate::stream::Socket;
    let (r, w) = match socket {
        Socket::Plain(plain) => split_plain(plain),
        Socket::TlsServer(s) => {
            let (r, w) = tokio::io::split(*s);
            (ReadPart::TlsServer(r), WritePart::TlsServer(w))
        }
        Socket::TlsClient(s) => {
            let (r, w) = tokio::io::split(*s);
            (ReadPart::Tls(r), WritePart::Tls(w))
        }
    };
    let limits = IoLimits {
        timeout,
        deadline: Deadline::new(None),
    };
    (
        ClientReader {
            inner: r,
            limits: limits.clone(),
        },
        ClientWriter { inner: w, limits },
    )
}

/// A plain socket's owned halves (no lock: Tokio splits TCP and AF_UNIX sockets by
/// reference count).
fn split_plain(plain: Plain) -> (ReadPart, WritePart) {
    match plain {
        Plain::Tcp(s) => {
            let (r, w) = s.into_split();
            (ReadPart::Tcp(r), WritePart::Tcp(w))
        }
        Plain::Unix(s) => {
            let (r, w) = s.into_split();
            (ReadPart::Unix(r), WritePart::Unix(w))
        }
    }
}

enum ReadPart {
    Tcp(tcp::OwnedReadHalf),
    Unix(unix::OwnedReadHalf),
    Tls(tokio::io::ReadHalf<TlsStream>),
    TlsServer(tokio::io::ReadHalf<TlsServerStream>),
}

enum WritePart {
    Tcp(tcp::OwnedWriteHalf),
    Unix(unix::OwnedWriteHalf),
    Tls(tokio::io::WriteHalf<TlsStream>),
    TlsServer(tokio::io::WriteHalf<TlsServerStream>),
}

/// What bounds each I/O of an async connection: the per-I/O timeout and the current
/// request's deadline.
#[derive(Clone, Debug)]
struct IoLimits {
    timeout: Option<Duration>,
    deadline: Arc<Deadline>,
}

impl IoLimits {
    /// `op` bounded by the limits; the timer (and the clock read, without a deadline)
    /// only when `op` does not complete on its first poll, as a write to a socket with
    /// buffer space does.
    async fn run<T>(&self, op: impl Future<Output = io::Result<T>>) -> io::Result<T> {
        self.deadline.check()?;
        let mut op = std::pin::pin!(op);
        let first = std::future::poll_fn(|cx| Poll::Ready(op.as_mut().poll(cx))).await;
        match first {
            Poll::Ready(r) => r,
            Poll::Pending => match self.deadline.io_limit(self.timeout) {
                None => op.await,
                Some((at, error)) => tokio::time::timeout_at(at.into(), op)
                    .await
                    .unwrap_or_else(|_| Err(error())),
            },
        }
    }
}

/// The read half of an async client connection: every read bounded by the client's
/// timeout and the request's deadline.
pub struct ClientReader {
    inner: ReadPart,
    limits: IoLimits,
}

/// The write half of an async client connection: every write bounded by the client's
/// timeout and the request's deadline.
pub struct ClientWriter {
    inner: WritePart,
    limits: IoLimits,
}

impl ClientReader {
    /// Whether a read would not wait right now (the peer closed, failed, or sent bytes
    /// nobody asked for): on a connection idle between exchanges, it is unusable.
    /// Polls one read once, without waiting.
    pub(crate) fn hung_up(&mut self) -> bool {
        let mut byte = [0u8; 1];
        let read = async {
            match &mut self.inner {
                ReadPart::Tcp(r) => r.read(&mut byte).await,
                ReadPart::Unix(r) => r.read(&mut byte).await,
                ReadPart::Tls(r) => r.read(&mut byte).await,
                ReadPart::TlsServer(r) => r.read(&mut byte).await,
            }
        };
        let mut read = std::pin::pin!(read);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        read.as_mut().poll(&mut cx).is_ready()
    }
}

impl embedded_io::ErrorType for ClientReader {
    type Error = io::Error;
}

impl embedded_io::ErrorType for ClientWriter {
    type Error = io::Error;
}

/// Served on (a device's attachment, the gateway's hand-over), it has no readiness to
/// add: the engine reads at once, each read bounded by the client's limits.
impl engine::Readable for ClientReader {}

impl embedded_io_async::Read for ClientReader {
    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = async {
            match &mut self.inner {
                ReadPart::Tcp(r) => r.read(buf).await,
                ReadPart::Unix(r) => r.read(buf).await,
                ReadPart::Tls(r) => r.read(buf).await,
                ReadPart::TlsServer(r) => r.read(buf).await,
            }
        };
        self.limits.run(read).await
    }
}

impl embedded_io_async::Write for ClientWriter {
    async fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let write = async {
            match &mut self.inner {
                WritePart::Tcp(w) => w.write(buf).await,
                WritePart::Unix(w) => w.write(buf).await,
                WritePart::Tls(w) => w.write(buf).await,
                WritePart::TlsServer(w) => w.write(buf).await,
            }
        };
        self.limits.run(write).await
    }

    async fn flush(&mut self) -> io::Result<()> {
        let flush = async {
            match &mut self.inner {
                // A plain socket has nothing to flush; TLS may hold a record.
                WritePart::Tcp(_) | WritePart::Unix(_) => Ok(()),
                WritePart::Tls(w) => w.flush().await,
                WritePart::TlsServer(w) => w.flush().await,
            }
        };
        self.limits.run(flush).await
    }
}

/// An async connection: degu-core's [`Connection`](engine::Connection) over a Tokio
/// socket's halves, with the client's base headers.
pub type ClientConnection =
    engine::Connection<ClientReader, ClientWriter, Box<[u8]>, ClientHeaders>;

/// The response a simple verb of a [`ClientConnection`] returns.
pub type ClientResponse<'c> = engine::Response<'c, ClientReader, engine::Upload<'c, ClientWriter>>;

/// Reading a whole body into a vector (degu-core reads into caller buffers only).
pub trait BodyExt {
    /// Read the rest of the body into a new vector.
    fn read_to_vec(&mut self) -> impl Future<Output = Result<Vec<u8>, Error>>;
}

impl<R: Read, P: Pump> BodyExt for Body<'_, R, P> {
    async fn read_to_vec(&mut self) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            match self.read(&mut buf).await? {
                0 => return Ok(out),
                n => out.extend_from_slice(buf.get(..n).unwrap_or(&[])),
            }
        }
    }
}
