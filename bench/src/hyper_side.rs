//! hyper's side of the benchmark: a hyper 1.x HTTP/1 server answering the workload with
//! the same bytes as Degu (`auto_date_header(false)`), on either runtime flavour, and a
//! client on hyper's connection API (`client::conn::http1::handshake`) over `TokioIo`.
//!
//! hyper runs as documented and with its defaults: no timer (so none of its timeouts is
//! armed), `TCP_NODELAY` on every TCP socket (as Degu sets it), one task per connection
//! on the server, the client's connection future spawned as its own task.

use crate::BoxError;
use crate::workload::{PING, PONG};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::CONTENT_LENGTH;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::io;
use std::net::{SocketAddr, TcpListener as StdTcpListener};
use std::os::unix::net::UnixListener as StdUnixListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use tokio_rustls::{TlsAcceptor, TlsConnector};

/// How a hyper server runs its connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavour {
    /// One thread with a current-thread runtime, as degu-std's server worker.
    CurrentThread,
    /// A multi-thread runtime (one worker per core of the machine), a task per connection.
    MultiThread,
}

/// A bound listener, before any runtime.
#[derive(Debug)]
pub enum StdListener {
    /// TCP.
    Tcp(StdTcpListener),
    /// AF_UNIX.
    Unix(StdUnixListener),
}

impl StdListener {
    /// Bind TCP on `address` (port 0: any free port).
    pub fn tcp(address: SocketAddr) -> io::Result<StdListener> {
        let l = StdTcpListener::bind(address)?;
        l.set_nonblocking(true)?;
        Ok(StdListener::Tcp(l))
    }

    /// Bind AF_UNIX on `path`.
    pub fn unix(path: &Path) -> io::Result<StdListener> {
        let l = StdUnixListener::bind(path)?;
        l.set_nonblocking(true)?;
        Ok(StdListener::Unix(l))
    }

    /// Where clients connect.
    pub fn target(&self) -> io::Result<Target> {
        Ok(match self {
            StdListener::Tcp(l) => Target::Tcp(l.local_addr()?),
            StdListener::Unix(l) => Target::Unix(
                l.local_addr()?
                    .as_pathname()
                    .ok_or_else(|| io::Error::other("unnamed AF_UNIX listener"))?
                    .to_path_buf(),
            ),
        })
    }
}

/// Where a hyper client connects.
#[derive(Clone, Debug)]
pub enum Target {
    /// TCP.
    Tcp(SocketAddr),
    /// AF_UNIX path.
    Unix(PathBuf),
}

/// The service: `POST` with a 108-byte body gets `200 OK` and the pong body.
pub async fn pong(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let status = |s: StatusCode| {
        let mut r = Response::new(Full::new(Bytes::new()));
        *r.status_mut() = s;
        Ok(r)
    };
    if request.method() != Method::POST {
        return status(StatusCode::METHOD_NOT_ALLOWED);
    }
    let body = request.into_body().collect().await?.to_bytes();
    if body.len() != PING.len() {
        return status(StatusCode::BAD_REQUEST);
    }
    Ok(Response::new(Full::new(Bytes::from_static(PONG))))
}

/// Serve one connection with hyper's HTTP/1 server (no `date` header).
pub async fn serve_connection<I>(io: I)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let _ = hyper::server::conn::http1::Builder::new()
        .auto_date_header(false)
        .serve_connection(TokioIo::new(io), service_fn(pong))
        .await;
}

/// Accept connections forever, one task each; TLS first when `tls` is given.
pub async fn accept_loop(listener: StdListener, tls: Option<TlsAcceptor>) -> io::Result<()> {
    match listener {
        StdListener::Tcp(l) => {
            let l = TcpListener::from_std(l)?;
            loop {
                let (s, _) = l.accept().await?;
                s.set_nodelay(true)?;
                match &tls {
                    None => {
                        tokio::spawn(serve_connection(s));
                    }
                    Some(acceptor) => {
                        let accept = acceptor.accept(s);
                        tokio::spawn(async move {
                            if let Ok(s) = accept.await {
                                serve_connection(s).await;
                            }
                        });
                    }
                }
            }
        }
        StdListener::Unix(l) => {
            let l = UnixListener::from_std(l)?;
            loop {
                let (s, _) = l.accept().await?;
                tokio::spawn(serve_connection(s));
            }
        }
    }
}

/// Start a hyper server on `listener` in the background; it runs until the process ends.
pub fn start_server(
    listener: StdListener,
    flavour: Flavour,
    tls: Option<Arc<rustls::ServerConfig>>,
) -> io::Result<()> {
    let tls = tls.map(TlsAcceptor::from);
    match flavour {
        Flavour::CurrentThread => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            std::thread::Builder::new()
                .name("hyper-server".into())
                .spawn(move || rt.block_on(accept_loop(listener, tls)))?;
        }
        Flavour::MultiThread => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(crate::harness::workers())
                .enable_all()
                .thread_name("hyper-server-mt")
                .build()?;
            rt.spawn(accept_loop(listener, tls));
            // Serve until the process ends.
            std::mem::forget(rt);
        }
    }
    Ok(())
}

/// A client connection: hyper's `SendRequest` with its connection future on a task.
pub struct HyperConnection {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
}

impl std::fmt::Debug for HyperConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HyperConnection")
    }
}

async fn handshake<I>(io: I) -> Result<HyperConnection, BoxError>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(HyperConnection { sender })
}

/// Connect to `target`, over TLS when `tls` is given (TCP only).
pub async fn connect(
    target: &Target,
    tls: Option<Arc<rustls::ClientConfig>>,
) -> Result<HyperConnection, BoxError> {
    match (target, tls) {
        (Target::Tcp(a), None) => {
            let s = TcpStream::connect(a).await?;
            s.set_nodelay(true)?;
            handshake(s).await
        }
        (Target::Tcp(a), Some(tls)) => {
            let s = TcpStream::connect(a).await?;
            s.set_nodelay(true)?;
            let name = rustls_pki_types::ServerName::IpAddress(a.ip().into());
            let s = TlsConnector::from(tls).connect(name, s).await?;
            handshake(s).await
        }
        (Target::Unix(p), None) => handshake(UnixStream::connect(p).await?).await,
        (Target::Unix(_), Some(_)) => Err("TLS over AF_UNIX is not benchmarked".into()),
    }
}

/// `n` round trips on a hyper connection.
pub async fn requests(conn: &mut HyperConnection, n: usize) -> Result<(), BoxError> {
    for _ in 0..n {
        let request = Request::builder()
            .method(Method::POST)
            .uri("/")
            .header(CONTENT_LENGTH, "108")
            .body(Full::new(Bytes::from_static(PING)))?;
        conn.sender.ready().await?;
        let response = conn.sender.send_request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        if status != StatusCode::OK || body.len() != PONG.len() {
            return Err(format!("unexpected response: {status}, {} body bytes", body.len()).into());
        }
    }
    Ok(())
}
