//! The Tokio client: a [`Client`] (an address and options, cheap to clone, holds no
//! socket) makes [`Connection`]s (one socket, requests one after another).

use crate::address::Address;
use crate::stream::{ClientSocket, Plain, Socket, timed_out};
use crate::tls::TlsClientConfig;
use degu_core::engine::{self, ChunkedRequest, Error, LengthRequest, Response};
use degu_core::{Header, Method};
use std::io;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpStream, UnixStream};

/// Client options.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// Bound on connecting and on each read and write (default 65 s, as the Python
    /// original); `None` waits forever.
    pub timeout: Option<Duration>,
    /// The `host` header sent with every request. Default: derived from an IP or host
    /// address (`host`, or `host:port` when the port is not 80); none for AF_UNIX.
    pub host: Option<String>,
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
            host: address.host_header(80),
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

    /// Open a connection.
    pub async fn connect(&self) -> io::Result<Connection> {
        let connect = async {
            let plain = connect_socket(&self.address).await?;
            match &self.config.tls {
                None => Ok(Socket::Plain(plain)),
                Some(tls) => {
                    let name = tls.name_for(&self.address)?;
                    let stream = tls.connector()?.connect(name, plain).await?;
                    Ok(Socket::TlsClient(Box::new(stream)))
                }
            }
        };
        let socket = match self.config.timeout {
            Some(t) => tokio::time::timeout(t, connect)
                .await
                .unwrap_or_else(|_| Err(timed_out()))?,
            None => connect.await?,
        };
        let io = ClientSocket {
            socket,
            timeout: self.config.timeout,
        };
        Ok(Connection {
            inner: engine::Connection::new(
                io,
                vec![0u8; self.config.read_buffer].into_boxed_slice(),
                vec![0u8; self.config.write_buffer].into_boxed_slice(),
            ),
            host: self.config.host.clone(),
        })
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

/// Most headers a request takes, the client's own `host` included.
pub const MAX_REQUEST_HEADERS: usize = degu_core::limits::MAX_OUTPUT_HEADERS;

/// The caller's headers plus `host` (unless the caller set one), on the stack.
pub(crate) fn with_host<'a>(
    host: Option<&'a str>,
    headers: &[Header<'a>],
) -> Result<heapless::Vec<Header<'a>, MAX_REQUEST_HEADERS>, Error> {
    let mut all = heapless::Vec::new();
    let too_many = Error::Render(degu_core::RenderError::TooManyHeaders);
    if let Some(h) = host
        && !headers.iter().any(|x| x.name == "host")
    {
        all.push(Header::new("host", h)).map_err(|_| too_many)?;
    }
    all.extend_from_slice(headers).map_err(|_| too_many)?;
    Ok(all)
}

/// The response type of an async [`Connection`].
pub type AsyncResponse<'c> = Response<'c, ClientSocket>;

/// One connection to a server. Requests go one after another; a response body must be
/// read to its end before the next request. Any error closes the connection.
pub struct Connection {
    inner: engine::Connection<ClientSocket, Box<[u8]>>,
    host: Option<String>,
}

impl Connection {
    /// Send a request with an optional body and read the response head.
    pub async fn request(
        &mut self,
        method: Method,
        uri: &str,
        headers: &[Header<'_>],
        body: Option<&[u8]>,
    ) -> Result<AsyncResponse<'_>, Error> {
        // The combined header list lives on the stack only while the head is rendered,
        // not in this future.
        let mut w = {
            let all = with_host(self.host.as_deref(), headers)?;
            self.inner
                .begin(method, uri, &all, body.map(|b| b.len() as u64))?
        };
        if let Some(b) = body {
            w.write(b).await?;
        }
        w.finish().await
    }

    /// `GET uri`.
    pub async fn get(
        &mut self,
        uri: &str,
        headers: &[Header<'_>],
    ) -> Result<AsyncResponse<'_>, Error> {
        self.request(Method::Get, uri, headers, None).await
    }

    /// `HEAD uri`.
    pub async fn head(
        &mut self,
        uri: &str,
        headers: &[Header<'_>],
    ) -> Result<AsyncResponse<'_>, Error> {
        self.request(Method::Head, uri, headers, None).await
    }

    /// `DELETE uri`.
    pub async fn delete(
        &mut self,
        uri: &str,
        headers: &[Header<'_>],
    ) -> Result<AsyncResponse<'_>, Error> {
        self.request(Method::Delete, uri, headers, None).await
    }

    /// `PUT uri` with `body`.
    pub async fn put(
        &mut self,
        uri: &str,
        headers: &[Header<'_>],
        body: &[u8],
    ) -> Result<AsyncResponse<'_>, Error> {
        self.request(Method::Put, uri, headers, Some(body)).await
    }

    /// `POST uri` with `body`.
    pub async fn post(
        &mut self,
        uri: &str,
        headers: &[Header<'_>],
        body: &[u8],
    ) -> Result<AsyncResponse<'_>, Error> {
        self.request(Method::Post, uri, headers, Some(body)).await
    }

    /// Start a request whose body of exactly `length` bytes is written in pieces.
    pub fn stream(
        &mut self,
        method: Method,
        uri: &str,
        headers: &[Header<'_>],
        length: u64,
    ) -> Result<LengthRequest<'_, ClientSocket, Box<[u8]>>, Error> {
        let all = with_host(self.host.as_deref(), headers)?;
        self.inner.stream(method, uri, &all, length)
    }

    /// Start a chunked request; chunks may carry an extension each.
    pub fn chunked(
        &mut self,
        method: Method,
        uri: &str,
        headers: &[Header<'_>],
    ) -> Result<ChunkedRequest<'_, ClientSocket, Box<[u8]>>, Error> {
        let all = with_host(self.host.as_deref(), headers)?;
        self.inner.chunked(method, uri, &all)
    }

    /// Whether an error has closed the connection.
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }
}
