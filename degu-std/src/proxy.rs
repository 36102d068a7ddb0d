//! A reverse proxy: forward requests to an upstream server and stream the answers back,
//! so a gateway can put many devices behind one address.
//!
//! Bodies stream through a fixed buffer in both directions (memory stays bounded
//! whatever their size); `content-length` stays `content-length`, and chunked bodies keep
//! their exact chunk boundaries and extensions, even for chunks larger than the buffer.
//! Upstream failures become `502 Bad Gateway` (cannot connect, broken protocol) or
//! `504 Gateway Timeout` (no answer within the client timeout), with a short plain-text
//! reason, and the client's connection stays open.

use crate::address::Address;
use crate::client::{Client, ClientConfig, Connection};
use crate::stream::ClientSocket;
use degu_core::app::{App, Request, Session};
use degu_core::engine::{self, Error, Read, Responder, Sent, Write};
use degu_core::{Framing, Header, Method};
use std::collections::HashMap;
use std::time::Duration;

/// Bytes moved per read when a body streams through the proxy.
pub const PROXY_BUFFER: usize = 64 * 1024;

/// Most headers forwarded in either direction.
const MAX_FORWARDED: usize = degu_core::limits::MAX_OUTPUT_HEADERS - 1;

/// Headers that belong to one hop and are never forwarded (RFC 9110 §7.6.1), plus the
/// framing headers the engine sets itself.
fn hop_by_hop(name: &str) -> bool {
    matches!(
        name,
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "te"
            | "trailer"
            | "upgrade"
            | "expect"
            | "content-length"
            | "transfer-encoding"
    )
}

/// One upstream server and how to reach it.
#[derive(Clone, Debug)]
pub struct Proxy {
    client: Client,
}

/// Per-downstream-connection state: the upstream connection, reused for every request
/// on this downstream connection, and the buffer bodies stream through.
#[derive(Default)]
pub struct ProxySlot {
    conn: Option<Connection>,
    buf: Vec<u8>,
}

/// Where a forwarding step failed.
enum Failure {
    /// Reading the client's request (its fault): the engine answers with its status.
    Downstream(Error),
    /// Talking to the upstream server: 502 or 504.
    Upstream(Error),
}

fn up(e: Error) -> Failure {
    Failure::Upstream(e)
}

fn down(e: Error) -> Failure {
    Failure::Downstream(e)
}

impl Proxy {
    /// Forward to `upstream` with default client options (65 s timeout).
    pub fn new(upstream: Address) -> Self {
        Proxy {
            client: Client::new(upstream),
        }
    }

    /// Forward through `client` (its address, TLS and timeout).
    pub fn with_client(client: Client) -> Self {
        Proxy { client }
    }

    /// Forward to `upstream`; each upstream read or write waits at most `timeout`.
    pub fn with_timeout(upstream: Address, timeout: Duration) -> Self {
        let mut config = ClientConfig::for_address(&upstream);
        config.timeout = Some(timeout);
        config.host = None;
        Proxy {
            client: Client::with_config(upstream, config),
        }
    }

    /// The upstream address.
    pub fn upstream(&self) -> &Address {
        self.client.address()
    }

    /// Forward `request` (its remaining path and query) upstream through `slot`'s
    /// connection and send the answer through `responder`.
    pub async fn forward<R: Read, W: Write>(
        &self,
        slot: &mut ProxySlot,
        mut request: Request<'_, R>,
        responder: Responder<'_, W>,
    ) -> Result<Sent, Error> {
        if slot.buf.len() != PROXY_BUFFER {
            slot.buf = vec![0u8; PROXY_BUFFER];
        }
        if slot.conn.as_ref().is_some_and(Connection::is_closed) {
            slot.conn = None;
        }
        let fresh = slot.conn.is_none();
        if fresh {
            match self.client.connect().await {
                Ok(c) => slot.conn = Some(c),
                Err(e) => return connect_failed(responder, &e).await,
            }
        }
        let ProxySlot { conn, buf } = slot;
        let Some(c) = conn.as_mut() else {
            return gateway_error(responder, false, "no upstream connection").await;
        };
        let target = request.proxy_target().to_string();
        let method = request.method;
        let mut headers: heapless::Vec<Header<'_>, MAX_FORWARDED> = heapless::Vec::new();
        for h in request.headers.iter().filter(|h| !hop_by_hop(h.name)) {
            if headers.push(h).is_err() {
                return responder
                    .send(
                        431,
                        "Request Header Fields Too Large",
                        &[],
                        b"too many headers to forward",
                    )
                    .await;
            }
        }
        let mut sent = send_upstream(c, method, &target, &headers, &mut request.body, buf).await;
        // A kept-alive upstream connection may have been closed by the upstream server
        // since its last answer; a request without a body is safe to send again on a
        // fresh one.
        if !fresh
            && request.body.framing() == Framing::None
            && matches!(&sent, Err(Failure::Upstream(e)) if stale(e))
        {
            drop(sent);
            match self.client.connect().await {
                Ok(fresh) => *conn = Some(fresh),
                Err(e) => {
                    *conn = None;
                    return connect_failed(responder, &e).await;
                }
            }
            let Some(c) = conn.as_mut() else {
                return gateway_error(responder, false, "no upstream connection").await;
            };
            sent = send_upstream(c, method, &target, &headers, &mut request.body, buf).await;
        }
        let response = match sent {
            Ok(r) => r,
            Err(Failure::Downstream(e)) => return Err(e),
            Err(Failure::Upstream(e)) => {
                *conn = None;
                let timeout = matches!(e, Error::Io(embedded_io::ErrorKind::TimedOut));
                return gateway_error(responder, timeout, &format!("upstream failed: {e}")).await;
            }
        };
        // Drop the upstream connection when the upstream server is about to close it.
        let closing = closes_upstream(response.status)
            || response
                .headers
                .get("connection")
                .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        let result = send_downstream(method, response, responder, buf).await;
        if result.is_err() || closing {
            *conn = None;
        }
        result
    }
}

/// Whether an upstream error looks like a connection the server had already closed.
fn stale(e: &Error) -> bool {
    use embedded_io::ErrorKind::{BrokenPipe, ConnectionAborted, ConnectionReset};
    matches!(
        e,
        Error::Closed | Error::Io(BrokenPipe | ConnectionReset | ConnectionAborted)
    )
}

/// Whether a Degu upstream closes its connection after this status (README's wire rules).
fn closes_upstream(status: u16) -> bool {
    status >= 400 && !matches!(status, 404 | 409 | 412)
}

/// Send the request upstream, streaming its body; the upstream response head.
async fn send_upstream<'c, R: Read>(
    conn: &'c mut Connection,
    method: Method,
    target: &str,
    headers: &[Header<'_>],
    body: &mut engine::Body<'_, R>,
    buf: &mut [u8],
) -> Result<engine::Response<'c, ClientSocket>, Failure> {
    match body.framing() {
        Framing::None => conn
            .request(method, target, headers, None)
            .await
            .map_err(up),
        Framing::Length(n) => {
            let mut w = conn.stream(method, target, headers, n).map_err(up)?;
            loop {
                let k = body.read(buf).await.map_err(down)?;
                if k == 0 {
                    break;
                }
                w.write(buf.get(..k).unwrap_or(&[])).await.map_err(up)?;
            }
            w.finish().await.map_err(up)
        }
        Framing::Chunked => {
            let mut w = conn.chunked(method, target, headers).map_err(up)?;
            loop {
                let piece = body.read_chunk(buf).await.map_err(down)?;
                let Some(p) = piece else {
                    return Err(down(Error::Body(degu_core::BodyError::UnexpectedEof)));
                };
                if p.is_end() {
                    return w.finish(p.ext).await.map_err(up);
                }
                if p.first {
                    w.begin_chunk(p.chunk_size as usize, p.ext)
                        .await
                        .map_err(up)?;
                }
                let data = buf.get(..p.len).unwrap_or(&[]);
                w.write(data).await.map_err(up)?;
            }
        }
    }
}

/// Stream the upstream response to the client, in the same framing.
async fn send_downstream<W: Write>(
    method: Method,
    mut response: engine::Response<'_, ClientSocket>,
    responder: Responder<'_, W>,
    buf: &mut [u8],
) -> Result<Sent, Error> {
    let mut headers: heapless::Vec<Header<'_>, MAX_FORWARDED> = heapless::Vec::new();
    for h in response.headers.iter().filter(|h| !hop_by_hop(h.name)) {
        // An upstream head has at most as many headers as a forwarded one may.
        let _ = headers.push(h);
    }
    let (status, reason) = (response.status, response.reason);
    // The client's connection is sound whatever the upstream status says.
    let responder = responder.keep_alive();
    let framing = match response.body.framing() {
        Framing::None if method == Method::Head => {
            // A response to HEAD declares the framing its GET would have.
            match (
                response
                    .headers
                    .get("content-length")
                    .and_then(|v| v.parse().ok()),
                response.headers.get("transfer-encoding"),
            ) {
                (Some(n), _) => Framing::Length(n),
                (None, Some(_)) => Framing::Chunked,
                _ => Framing::None,
            }
        }
        f => f,
    };
    match framing {
        Framing::None => responder.send(status, reason, &headers, b"").await,
        Framing::Length(n) => {
            let mut out = responder.stream(status, reason, &headers, n).await?;
            if method != Method::Head {
                loop {
                    let k = response.body.read(buf).await?;
                    if k == 0 {
                        break;
                    }
                    out.write(buf.get(..k).unwrap_or(&[])).await?;
                }
            }
            out.finish().await
        }
        Framing::Chunked => {
            let mut out = responder.chunked(status, reason, &headers).await?;
            if method == Method::Head {
                return out.finish(None).await;
            }
            loop {
                let Some(p) = response.body.read_chunk(buf).await? else {
                    return Err(Error::Body(degu_core::BodyError::UnexpectedEof));
                };
                if p.is_end() {
                    let ext = p.ext;
                    let sent = out.finish(ext).await;
                    // Read the end of the upstream body so the connection can be reused.
                    while response.body.read_chunk(buf).await?.is_some() {}
                    return sent;
                }
                if p.first {
                    out.begin_chunk(p.chunk_size as usize, p.ext).await?;
                }
                out.write(buf.get(..p.len).unwrap_or(&[])).await?;
            }
        }
    }
}

/// Answer a failed upstream connect: 504 when it timed out, else 502.
async fn connect_failed<W: Write>(
    responder: Responder<'_, W>,
    e: &std::io::Error,
) -> Result<Sent, Error> {
    let timeout = e.kind() == std::io::ErrorKind::TimedOut;
    gateway_error(responder, timeout, &format!("cannot connect upstream: {e}")).await
}

/// Answer 502 or 504 with a short plain-text reason, keeping the client's connection.
async fn gateway_error<W: Write>(
    responder: Responder<'_, W>,
    timeout: bool,
    why: &str,
) -> Result<Sent, Error> {
    let (status, reason) = if timeout {
        (504, "Gateway Timeout")
    } else {
        (502, "Bad Gateway")
    };
    tracing::debug!(status, "{why}");
    let headers = [Header::new("content-type", "text/plain")];
    let body = format!("{status} {reason}: {why}\n");
    responder
        .keep_alive()
        .send(status, reason, &headers, body.as_bytes())
        .await
}

/// An app that forwards every request to one upstream server.
#[derive(Clone, Debug)]
pub struct ProxyApp {
    proxy: Proxy,
}

impl ProxyApp {
    /// Forward to `upstream`.
    pub fn new(upstream: Address) -> Self {
        ProxyApp {
            proxy: Proxy::new(upstream),
        }
    }

    /// Forward with `proxy`.
    pub fn with_proxy(proxy: Proxy) -> Self {
        ProxyApp { proxy }
    }
}

impl App for ProxyApp {
    type State = ProxySlot;

    async fn handle<R: Read, W: Write>(
        &self,
        session: &mut Session<'_, ProxySlot>,
        request: Request<'_, R>,
        responder: Responder<'_, W>,
    ) -> Result<Sent, Error> {
        self.proxy
            .forward(&mut session.state, request, responder)
            .await
    }
}

/// A gateway: `/device/<name>/...` is forwarded as `/...` to the device registered
/// under `<name>`; anything else is 404.
#[derive(Clone, Debug, Default)]
pub struct GatewayApp {
    devices: HashMap<String, Proxy>,
}

impl GatewayApp {
    /// A gateway with no devices.
    pub fn new() -> Self {
        GatewayApp::default()
    }

    /// Register `name` (a path component) to forward to `proxy`.
    pub fn add(&mut self, name: impl Into<String>, proxy: Proxy) -> &mut Self {
        self.devices.insert(name.into(), proxy);
        self
    }

    /// The registered device names.
    pub fn devices(&self) -> impl Iterator<Item = (&str, &Proxy)> {
        self.devices.iter().map(|(n, p)| (n.as_str(), p))
    }

    /// Parse a device table: one `name = address` per line; `#` starts a comment.
    pub fn parse_table(text: &str) -> Result<Vec<(String, Address)>, String> {
        let mut out = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let (name, address) = line
                .split_once('=')
                .ok_or_else(|| format!("line {}: expected name = address", i + 1))?;
            let address = address
                .trim()
                .parse()
                .map_err(|e| format!("line {}: {e}", i + 1))?;
            out.push((name.trim().to_string(), address));
        }
        Ok(out)
    }
}

impl App for GatewayApp {
    type State = HashMap<String, ProxySlot>;

    async fn handle<R: Read, W: Write>(
        &self,
        session: &mut Session<'_, Self::State>,
        mut request: Request<'_, R>,
        responder: Responder<'_, W>,
    ) -> Result<Sent, Error> {
        let device = match (request.shift_path(), request.shift_path()) {
            (Some("device"), Some(name)) => self.devices.get_key_value(name),
            _ => None,
        };
        let Some((name, proxy)) = device else {
            return responder.send(404, "Not Found", &[], b"").await;
        };
        let slot = session.state.entry(name.clone()).or_default();
        proxy.forward(slot, request, responder).await
    }
}
