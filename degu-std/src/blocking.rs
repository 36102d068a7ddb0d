//! A blocking client over std sockets that drives the same `degu-core` engine as the
//! async one: for CLIs, scripts and tests, like the Python original's client.
//!
//! ```no_run
//! use degu_std::blocking::Client;
//!
//! let client = Client::new("127.0.0.1:8080".parse()?);
//! let mut conn = client.connect()?;
//! let mut response = conn.get("/hello", &[])?;
//! let mut body = [0u8; 64];
//! let n = response.read_to_end(&mut body)?;
//! assert_eq!(&body[..n], b"hello, world");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::address::Address;
use crate::client::{ClientConfig, with_host};
use degu_core::engine::{self, ChunkPiece, Error};
use degu_core::{ChunkExt, ContentRange, Framing, Header, Headers, Method};
use futures_executor::block_on;
use std::io::{self, Read as _, Write as _};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::sync::Arc;

/// A blocking socket before TLS.
#[derive(Debug)]
pub enum StdPlain {
    /// TCP.
    Tcp(TcpStream),
    /// AF_UNIX.
    Unix(UnixStream),
}

impl io::Read for StdPlain {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            StdPlain::Tcp(s) => s.read(buf),
            StdPlain::Unix(s) => s.read(buf),
        }
    }
}

impl io::Write for StdPlain {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            StdPlain::Tcp(s) => s.write(buf),
            StdPlain::Unix(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A blocking socket as an `embedded-io-async` stream: every call completes on its first
/// poll, so the engine runs to completion under `block_on` without a reactor.
#[derive(Debug)]
pub enum BlockingSocket {
    /// TCP.
    Tcp(TcpStream),
    /// AF_UNIX.
    Unix(UnixStream),
    /// TLS over either.
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, StdPlain>>),
}

impl embedded_io::ErrorType for BlockingSocket {
    type Error = io::Error;
}

impl embedded_io_async::Read for BlockingSocket {
    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            BlockingSocket::Tcp(s) => s.read(buf),
            BlockingSocket::Unix(s) => s.read(buf),
            BlockingSocket::Tls(s) => s.read(buf),
        }
    }
}

impl embedded_io_async::Write for BlockingSocket {
    async fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            BlockingSocket::Tcp(s) => s.write(buf),
            BlockingSocket::Unix(s) => s.write(buf),
            BlockingSocket::Tls(s) => s.write(buf),
        }
    }

    async fn flush(&mut self) -> io::Result<()> {
        match self {
            BlockingSocket::Tls(s) => s.flush(),
            _ => Ok(()),
        }
    }
}

/// A blocking client for one server address; cheap to clone, holds no socket.
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
    pub fn tls(address: Address, tls: crate::TlsClientConfig) -> Self {
        let config = ClientConfig::for_tls(&address, tls);
        Client::with_config(address, config)
    }

    /// Open a connection.
    pub fn connect(&self) -> io::Result<Connection> {
        let plain = self.connect_plain()?;
        let socket = match (&self.config.tls, plain) {
            (None, s) => s,
            (Some(tls), s) => {
                let plain = match s {
                    BlockingSocket::Tcp(s) => StdPlain::Tcp(s),
                    BlockingSocket::Unix(s) => StdPlain::Unix(s),
                    BlockingSocket::Tls(_) => return Err(io::Error::other("TLS over TLS")),
                };
                let name = tls.name_for(&self.address)?;
                let conn = rustls::ClientConnection::new(tls.rustls_config()?, name)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
                let mut stream = rustls::StreamOwned::new(conn, plain);
                // Handshake now, so a refused certificate is an error of `connect`.
                while stream.conn.is_handshaking() {
                    stream.conn.complete_io(&mut stream.sock)?;
                }
                BlockingSocket::Tls(Box::new(stream))
            }
        };
        Ok(Connection {
            inner: engine::Connection::new(
                socket,
                vec![0u8; self.config.read_buffer].into_boxed_slice(),
                vec![0u8; self.config.write_buffer].into_boxed_slice(),
            ),
            host: self.config.host.clone(),
        })
    }

    fn connect_plain(&self) -> io::Result<BlockingSocket> {
        let t = self.config.timeout;
        Ok(match &self.address {
            Address::Ip(a) => {
                let s = match t {
                    Some(t) => TcpStream::connect_timeout(a, t)?,
                    None => TcpStream::connect(a)?,
                };
                s.set_nodelay(true)?;
                s.set_read_timeout(t)?;
                s.set_write_timeout(t)?;
                BlockingSocket::Tcp(s)
            }
            Address::Host(h, p) => {
                let s = TcpStream::connect((h.as_str(), *p))?;
                s.set_nodelay(true)?;
                s.set_read_timeout(t)?;
                s.set_write_timeout(t)?;
                BlockingSocket::Tcp(s)
            }
            Address::Unix(path) => {
                let s = UnixStream::connect(path)?;
                s.set_read_timeout(t)?;
                s.set_write_timeout(t)?;
                BlockingSocket::Unix(s)
            }
            Address::Abstract(name) => {
                use std::os::linux::net::SocketAddrExt;
                let sa = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
                let s = UnixStream::connect_addr(&sa)?;
                s.set_read_timeout(t)?;
                s.set_write_timeout(t)?;
                BlockingSocket::Unix(s)
            }
        })
    }
}

/// A blocking connection: requests one after another.
pub struct Connection {
    inner: engine::Connection<BlockingSocket, Box<[u8]>>,
    host: Option<String>,
}

/// A response read through a blocking connection.
pub struct Response<'c> {
    /// Status code.
    pub status: u16,
    /// Reason phrase.
    pub reason: &'c str,
    /// Headers, names lower-cased.
    pub headers: Headers<'c>,
    /// The typed `content-range` header.
    pub content_range: Option<ContentRange>,
    body: engine::Body<'c, BlockingSocket>,
}

impl<'c> Response<'c> {
    fn from(r: engine::Response<'c, BlockingSocket>) -> Self {
        Response {
            status: r.status,
            reason: r.reason,
            headers: r.headers,
            content_range: r.content_range,
            body: r.body,
        }
    }

    /// How the body is framed.
    pub fn framing(&self) -> Framing {
        self.body.framing()
    }

    /// Read body data; 0 at the end.
    pub fn read(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        block_on(self.body.read(buf))
    }

    /// Read the whole body into `buf`; its length.
    pub fn read_to_end(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        block_on(self.body.read_to_end(buf))
    }

    /// Read the whole body into a vector.
    pub fn read_to_vec(&mut self) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            match self.read(&mut buf)? {
                0 => return Ok(out),
                n => out.extend_from_slice(buf.get(..n).unwrap_or(&[])),
            }
        }
    }

    /// Read the next piece of a chunked body (see `degu_core::engine::Body::read_chunk`).
    pub fn read_chunk(&mut self, buf: &mut [u8]) -> Result<Option<ChunkPiece<'_>>, Error> {
        block_on(self.body.read_chunk(buf))
    }
}

impl Connection {
    /// Send a request with an optional body and read the response head.
    pub fn request(
        &mut self,
        method: Method,
        uri: &str,
        headers: &[Header<'_>],
        body: Option<&[u8]>,
    ) -> Result<Response<'_>, Error> {
        let all = with_host(self.host.as_deref(), headers)?;
        block_on(self.inner.request(method, uri, &all, body)).map(Response::from)
    }

    /// `GET uri`.
    pub fn get(&mut self, uri: &str, headers: &[Header<'_>]) -> Result<Response<'_>, Error> {
        self.request(Method::Get, uri, headers, None)
    }

    /// `HEAD uri`.
    pub fn head(&mut self, uri: &str, headers: &[Header<'_>]) -> Result<Response<'_>, Error> {
        self.request(Method::Head, uri, headers, None)
    }

    /// `DELETE uri`.
    pub fn delete(&mut self, uri: &str, headers: &[Header<'_>]) -> Result<Response<'_>, Error> {
        self.request(Method::Delete, uri, headers, None)
    }

    /// `PUT uri` with `body`.
    pub fn put(
        &mut self,
        uri: &str,
        headers: &[Header<'_>],
        body: &[u8],
    ) -> Result<Response<'_>, Error> {
        self.request(Method::Put, uri, headers, Some(body))
    }

    /// `POST uri` with `body`.
    pub fn post(
        &mut self,
        uri: &str,
        headers: &[Header<'_>],
        body: &[u8],
    ) -> Result<Response<'_>, Error> {
        self.request(Method::Post, uri, headers, Some(body))
    }

    /// Send a chunked request from `(extension, data)` pairs (data non-empty), ending
    /// with `last` as the final chunk's extension, and read the response head.
    pub fn request_chunked(
        &mut self,
        method: Method,
        uri: &str,
        headers: &[Header<'_>],
        chunks: &[(Option<ChunkExt<'_>>, &[u8])],
        last: Option<ChunkExt<'_>>,
    ) -> Result<Response<'_>, Error> {
        let all = with_host(self.host.as_deref(), headers)?;
        block_on(async {
            let mut w = self.inner.chunked(method, uri, &all)?;
            for (ext, data) in chunks {
                w.write_chunk(*ext, data).await?;
            }
            w.finish(last).await
        })
        .map(Response::from)
    }

    /// Whether an error has closed the connection.
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }
}
