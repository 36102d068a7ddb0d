//! A Degu client over an `embassy-net` TCP socket.
//!
//! [`connect`] opens the socket to an [`IpEndpoint`] within [`ClientTimeouts::connect`]
//! and gives a [`TimedSocket`]: the socket whose reads and writes each end after
//! [`ClientTimeouts::io`]. degu-core's one client, [`Connection`], runs over its halves
//! ([`TimedSocket::split`]: full duplex, a request body goes out while the response
//! comes in), or over a TLS stream on top of it through [`HalfDuplex`] (see the `tls`
//! module), with buffers the caller owns:
//!
//! ```no_run
//! use degu_embassy::{ClientBuffers, ClientTimeouts, connect};
//! use embassy_net::tcp::TcpSocket;
//! use embassy_net::{Ipv4Address, Stack};
//! use embassy_time::Duration;
//!
//! static TIMEOUTS: ClientTimeouts = ClientTimeouts {
//!     connect: Duration::from_secs(10),
//!     io: Duration::from_secs(20),
//!     linger: Duration::from_secs(2),
//! };
//!
//! async fn status(
//!     stack: Stack<'_>,
//!     buffers: &mut ClientBuffers,
//!     body: &mut [u8],
//! ) -> Result<usize, degu_core::engine::Error> {
//!     let (mut rx, mut tx) = ([0u8; 1024], [0u8; 1024]);
//!     let mut socket = TcpSocket::new(stack, &mut rx, &mut tx);
//!     let gateway = (Ipv4Address::new(10, 0, 2, 2), 8080);
//!     let Ok(mut io) = connect(&mut socket, gateway, &TIMEOUTS).await else {
//!         return Err(degu_core::engine::Error::Closed);
//!     };
//!     let (reader, writer) = io.split();
//!     let mut conn = buffers.connection(reader, writer);
//!     let mut response = conn.get("/status", &[]).await?;
//!     let n = response.body.read_to_end(body).await?;
//!     drop(conn);
//!     io.close().await;
//!     Ok(n)
//! }
//! ```
//!
//! ## IPv6 link-local addresses: the scope is the interface
//!
//! An IPv6 link-local address (`fe80::/10`) names a peer only together with the link
//! it is on: every interface has its own `fe80::/64`. On a host the link is a scope id
//! (`[fe80::1%eth0]:80`, degu-std's `Address`). On a device every `embassy-net`
//! [`Stack`] is one interface, so the scope is the stack a socket is made on. A
//! [`Remote`] is an endpoint with that scope: it makes its socket on its interface
//! ([`Remote::socket`]), and [`connect`] takes it (feature `ipv6` for IPv6 addresses):
//!
//! ```ignore
//! let remote = Remote::new(stack, (peer_link_local, 80));
//! let mut socket = remote.socket(&mut rx, &mut tx);
//! let mut io = connect(&mut socket, remote, &TIMEOUTS).await?;
//! ```

use crate::server::{IoError, TimedWriter, close, flatten};
use degu_core::engine::Connection;
use embassy_net::tcp::{ConnectError, TcpReader, TcpSocket};
use embassy_net::{IpAddress, IpEndpoint, Stack};
use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use embassy_sync::mutex::Mutex;
use embassy_time::{Duration, with_timeout};

/// How long a client waits at each stage; `const fn` defaults for `static`s.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ClientTimeouts {
    /// From SYN to an established connection.
    pub connect: Duration,
    /// Each read and each write.
    pub io: Duration,
    /// After [`TimedSocket::close`] sends FIN: time for the peer's FIN before a reset.
    pub linger: Duration,
}

impl ClientTimeouts {
    /// The defaults: connect 10 s, I/O 30 s, linger 2 s.
    pub const fn new() -> Self {
        ClientTimeouts {
            connect: Duration::from_secs(10),
            io: Duration::from_secs(30),
            linger: Duration::from_secs(2),
        }
    }
}

impl Default for ClientTimeouts {
    fn default() -> Self {
        Self::new()
    }
}

/// An endpoint and its scope: the interface (an `embassy-net` [`Stack`]) through which
/// it is reached.
///
/// For an IPv6 link-local address the interface is part of the address (another
/// interface's `fe80::1` is another peer); for any other address it is the interface
/// the route goes out of. Either way a [`TcpSocket`] reaches only what its own stack
/// reaches, so [`Remote::socket`] makes the socket on the scope's stack, and
/// [`connect`] takes the remote (it converts into its [`IpEndpoint`]).
#[derive(Clone, Copy)]
pub struct Remote<'d> {
    interface: Stack<'d>,
    endpoint: IpEndpoint,
}

impl<'d> Remote<'d> {
    /// `endpoint` (an `(address, port)` pair or an [`IpEndpoint`]) on `interface`.
    pub fn new(interface: Stack<'d>, endpoint: impl Into<IpEndpoint>) -> Self {
        Remote {
            interface,
            endpoint: endpoint.into(),
        }
    }

    /// The address and port.
    pub fn endpoint(&self) -> IpEndpoint {
        self.endpoint
    }

    /// The scope: the interface the endpoint is reached through.
    pub fn interface(&self) -> Stack<'d> {
        self.interface
    }

    /// Whether the address means something only on its interface: IPv6 link-local
    /// (`fe80::/10`).
    pub fn is_link_local(&self) -> bool {
        needs_scope(self.endpoint.addr)
    }

    /// A closed socket on the remote's interface, with `rx` and `tx` as its receive
    /// and send buffers, for [`connect`].
    pub fn socket<'a>(&self, rx: &'a mut [u8], tx: &'a mut [u8]) -> TcpSocket<'a>
    where
        'd: 'a,
    {
        TcpSocket::new(self.interface, rx, tx)
    }
}

impl From<Remote<'_>> for IpEndpoint {
    fn from(remote: Remote<'_>) -> IpEndpoint {
        remote.endpoint
    }
}

impl core::fmt::Debug for Remote<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // A stack has no name: the scope shows as "link" for an address that needs one.
        match self.is_link_local() {
            true => write!(f, "[{}%link]:{}", self.endpoint.addr, self.endpoint.port),
            false => write!(f, "{}", self.endpoint),
        }
    }
}

/// Whether `addr` needs a scope: an IPv6 unicast link-local address (`fe80::/10`).
fn needs_scope(addr: IpAddress) -> bool {
    #[cfg(feature = "ipv6")]
    if let IpAddress::Ipv6(v6) = addr {
        return v6.is_unicast_link_local();
    }
    let _ = addr;
    false
}

/// Connect `socket` (closed, not listening) to `remote` within `timeouts.connect`.
///
/// `remote` is an [`IpEndpoint`], an `(address, port)` pair, or a [`Remote`]; for an
/// IPv6 link-local address, make `socket` with [`Remote::socket`], so that it is on the
/// address's interface. An address the socket's stack has no route to (an IPv6 address
/// on a stack without IPv6 or without a link-local address of its own) is
/// [`ConnectError::NoRoute`].
///
/// On failure the socket is reset and can be used again; a connect that takes too long
/// is [`ConnectError::TimedOut`].
pub async fn connect<'s, 'd>(
    socket: &'s mut TcpSocket<'d>,
    remote: impl Into<IpEndpoint>,
    timeouts: &ClientTimeouts,
) -> Result<TimedSocket<'s, 'd>, ConnectError> {
    let remote = remote.into();
    debug!("connecting to {:?}", remote);
    let result = match with_timeout(timeouts.connect, socket.connect(remote)).await {
        Ok(r) => r,
        Err(_) => Err(ConnectError::TimedOut),
    };
    match result {
        Ok(()) => Ok(TimedSocket {
            socket,
            io: timeouts.io,
            linger: timeouts.linger,
        }),
        Err(e) => {
            warn!("connect to {:?}: {:?}", remote, e);
            // A SYN-SENT socket would stay busy; a reset socket can connect again.
            socket.abort();
            let _ = with_timeout(timeouts.linger, socket.flush()).await;
            Err(e)
        }
    }
}

/// A connected socket as one stream: each read and write bounded by the I/O timeout.
///
/// `flush` returns at once: smoltcp sends what is queued on its own, and embassy's own
/// flush would wait for the peer's acknowledgement. [`TimedSocket::close`] waits for it
/// once, at the end.
pub struct TimedSocket<'s, 'd> {
    socket: &'s mut TcpSocket<'d>,
    io: Duration,
    linger: Duration,
}

impl<'s, 'd> TimedSocket<'s, 'd> {
    /// The socket.
    pub fn socket(&mut self) -> &mut TcpSocket<'d> {
        self.socket
    }

    /// Close gracefully (FIN, read to the peer's FIN), resetting after the linger time;
    /// the socket can connect again afterwards.
    pub async fn close(self) {
        close(self.socket, self.linger).await;
    }

    /// The read and write halves, each with the I/O timeout, for a full-duplex
    /// [`Connection`].
    pub fn split(&mut self) -> (TimedReader<'_>, TimedWriter<'_>) {
        let (reader, writer) = self.socket.split();
        (
            TimedReader {
                reader,
                io: self.io,
            },
            TimedWriter::new(writer, self.io),
        )
    }
}

/// The read half of a [`TimedSocket`]: each read bounded by the I/O timeout.
pub struct TimedReader<'a> {
    reader: TcpReader<'a>,
    io: Duration,
}

impl embedded_io::ErrorType for TimedReader<'_> {
    type Error = IoError;
}

/// Served on, as a device serves its gateway over an attachment, it has no readiness
/// to add: the engine reads at once, each read bounded by the I/O timeout.
impl degu_core::engine::Readable for TimedReader<'_> {}

impl embedded_io_async::Read for TimedReader<'_> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, IoError> {
        flatten(with_timeout(self.io, self.reader.read(buf)).await)
    }
}

/// A stream that cannot be split (an `embedded-tls` connection, whose halves need a
/// cloneable socket) shared by a read half and a write half that take turns: each read
/// or write holds the stream for its duration. A [`Connection`] runs over it half
/// duplex: a request body and its response still interleave, but a write that waits
/// for the peer to read holds up the reads until the I/O timeout.
pub struct HalfDuplex<T>(Mutex<NoopRawMutex, T>);

impl<T> HalfDuplex<T> {
    /// Share `io`.
    pub const fn new(io: T) -> Self {
        HalfDuplex(Mutex::new(io))
    }

    /// The two halves.
    pub fn split(&self) -> (HalfDuplexReader<'_, T>, HalfDuplexWriter<'_, T>) {
        (HalfDuplexReader(&self.0), HalfDuplexWriter(&self.0))
    }

    /// The stream.
    pub fn into_inner(self) -> T {
        self.0.into_inner()
    }

    /// The stream, while no half uses it.
    pub fn get_mut(&mut self) -> &mut T {
        self.0.get_mut()
    }
}

/// The read half of a [`HalfDuplex`] stream.
pub struct HalfDuplexReader<'a, T>(&'a Mutex<NoopRawMutex, T>);

/// The write half of a [`HalfDuplex`] stream.
pub struct HalfDuplexWriter<'a, T>(&'a Mutex<NoopRawMutex, T>);

impl<T: embedded_io::ErrorType> embedded_io::ErrorType for HalfDuplexReader<'_, T> {
    type Error = T::Error;
}

impl<T: embedded_io::ErrorType> embedded_io::ErrorType for HalfDuplexWriter<'_, T> {
    type Error = T::Error;
}

impl<T: embedded_io_async::Read> embedded_io_async::Read for HalfDuplexReader<'_, T> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, T::Error> {
        self.0.lock().await.read(buf).await
    }
}

/// Served on (an attachment over TLS), it has no readiness to add: waiting would hold
/// the shared stream.
impl<T: embedded_io_async::Read> degu_core::engine::Readable for HalfDuplexReader<'_, T> {}

impl<T: embedded_io_async::Write> embedded_io_async::Write for HalfDuplexWriter<'_, T> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, T::Error> {
        self.0.lock().await.write(buf).await
    }

    async fn flush(&mut self) -> Result<(), T::Error> {
        self.0.lock().await.flush().await
    }
}

impl embedded_io::ErrorType for TimedSocket<'_, '_> {
    type Error = IoError;
}

impl embedded_io_async::Read for TimedSocket<'_, '_> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, IoError> {
        flatten(with_timeout(self.io, self.socket.read(buf)).await)
    }
}

impl embedded_io_async::Write for TimedSocket<'_, '_> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, IoError> {
        flatten(with_timeout(self.io, self.socket.write(buf)).await)
    }

    async fn flush(&mut self) -> Result<(), IoError> {
        Ok(())
    }
}

/// A client's read buffer (`R` bytes: the largest response head it accepts, also what
/// body reads are served from) and write buffer (`W` bytes: the largest request head).
pub struct ClientBuffers<const R: usize = 2048, const W: usize = 1024> {
    read: [u8; R],
    write: [u8; W],
}

impl<const R: usize, const W: usize> ClientBuffers<R, W> {
    /// Zeroed buffers (`const`, for `static`s).
    pub const fn new() -> Self {
        ClientBuffers {
            read: [0; R],
            write: [0; W],
        }
    }

    /// A degu-core client connection over a stream's read and write halves with these
    /// buffers.
    pub fn connection<In, Out>(&mut self, reader: In, writer: Out) -> Connection<In, Out, &mut [u8]>
    where
        In: embedded_io_async::Read,
        Out: embedded_io_async::Write,
    {
        Connection::new(reader, writer, &mut self.read[..], &mut self.write[..])
    }
}

impl<const R: usize, const W: usize> Default for ClientBuffers<R, W> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(all(test, feature = "ipv6"))]
mod tests {
    use super::needs_scope;
    use embassy_net::{IpAddress, Ipv4Address, Ipv6Address};

    fn v6(text: &str) -> IpAddress {
        IpAddress::Ipv6(text.parse::<Ipv6Address>().expect("an IPv6 address"))
    }

    #[test]
    fn only_unicast_link_local_addresses_need_their_interface() {
        assert!(needs_scope(v6("fe80::1")));
        assert!(needs_scope(v6("fe80::5054:ff:fede:900a")));
        assert!(!needs_scope(v6("2001:db8::1")));
        assert!(!needs_scope(v6("::1")));
        // Link-local multicast is scoped too, but a TCP peer is never multicast.
        assert!(!needs_scope(v6("ff02::1")));
        assert!(!needs_scope(IpAddress::Ipv4(Ipv4Address::new(10, 0, 3, 1))));
    }
}
