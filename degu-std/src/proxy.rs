//! A reverse proxy: forward requests to an upstream server and stream the answers back,
//! so a gateway can put many devices behind one address.
//!
//! Each exchange is full duplex: the request body goes up while the response comes
//! down, so an upstream that answers early (a refusal while a large body is still
//! arriving) or echoes as it reads is relayed as it answers, never deadlocked. Bodies
//! stream through fixed buffers (memory stays bounded whatever their size) with
//! degu-core's [`relay`]: `content-length` stays `content-length`, chunked bodies keep
//! their exact chunk boundaries and extensions. Which headers pass, which framing a
//! response to HEAD declares and when an upstream closes are degu-core's rules.
//!
//! Upstream failures before any response byte become `502 Bad Gateway` (cannot
//! connect, broken protocol, vanished) or `504 Gateway Timeout` (no answer within the
//! client timeout), with a short plain-text reason, and the client's connection stays
//! open; a failure after the response started cuts the response off.

use crate::address::Address;
use crate::attach::{Attachment, Attachments, Unavailable};
use crate::client::{Client, ClientConfig, ClientConnection, ClientReader};
use degu_core::app::{App, Request, Session};
use degu_core::engine::{
    Error, PendingResponse, Read, RelayError, Responder, Sent, Write, is_hop_by_hop, relay,
    status_closes,
};
use degu_core::{Header, Headers, Method};
use embassy_futures::select::{Either, select};
use std::collections::HashMap;
use std::pin::pin;
use std::time::Duration;

/// Bytes a body moves per read in each direction (the request body up, the response
/// body down): a proxied connection holds twice this.
pub const PROXY_BUFFER: usize = 32 * 1024;

/// Most headers forwarded in either direction.
const MAX_FORWARDED: usize = degu_core::limits::MAX_OUTPUT_HEADERS - 1;

/// One upstream server and how to reach it.
#[derive(Clone, Debug)]
pub struct Proxy {
    client: Client,
}

/// Per-downstream-connection state: the upstream connection, reused for every request
/// on this downstream connection, and the buffers bodies stream through.
#[derive(Default)]
pub struct ProxySlot {
    conn: Option<ClientConnection>,
    buf: Vec<u8>,
}

/// How an upload (the request body going up) ended early.
enum UploadError {
    /// Reading the client's request failed (its fault): the engine answers it.
    Downstream(Error),
    /// Writing upstream failed: the upstream may still have answered.
    Upstream(Error),
}

/// A download that failed before any response byte: the responder comes back so the
/// failure can be answered (or the request retried).
struct NoResponse<'r, W> {
    error: Error,
    responder: Responder<'r, W>,
}

impl Proxy {
    /// Forward to `upstream` with default client options (65 s timeout).
    pub fn new(upstream: Address) -> Self {
        Proxy {
            client: Client::new(upstream),
        }
    }

    /// Forward through `client` (its address, TLS, timeout and base headers).
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
    pub async fn forward<'r, R: Read, W: Write>(
        &self,
        slot: &mut ProxySlot,
        request: Request<'_, R>,
        responder: Responder<'r, W>,
    ) -> Result<Sent<'r>, Error> {
        let ProxySlot { conn, buf } = slot;
        let upstream = Upstream::Dial {
            client: &self.client,
            kept: conn,
        };
        forward_via(upstream, buf, request, responder).await
    }
}

/// Where a forward gets its upstream connection: one it dials (and keeps for the
/// downstream connection's next request), or a device's attachment from the registry.
enum Upstream<'a> {
    Dial {
        client: &'a Client,
        kept: &'a mut Option<ClientConnection>,
    },
    Attached {
        attachments: &'a Attachments,
        name: &'a str,
    },
}

/// An upstream connection while one exchange uses it.
enum Held {
    Dialled(ClientConnection),
    Attached(Attachment),
}

impl Held {
    fn conn(&mut self) -> &mut ClientConnection {
        match self {
            Held::Dialled(c) => c,
            Held::Attached(a) => &mut a.conn,
        }
    }
}

/// Why no upstream connection could be had: the status is 504 when `timeout`, else 502.
struct NoUpstream {
    timeout: bool,
    why: String,
}

impl Upstream<'_> {
    /// A connection, and whether it was just made (an older one may have gone stale).
    async fn get(&mut self) -> Result<(Held, bool), NoUpstream> {
        match self {
            Upstream::Dial { client, kept } => {
                if let Some(c) = kept.take().filter(|c| !c.is_closed()) {
                    return Ok((Held::Dialled(c), false));
                }
                match client.connect().await {
                    Ok(c) => Ok((Held::Dialled(c), true)),
                    Err(e) => Err(NoUpstream {
                        timeout: e.kind() == std::io::ErrorKind::TimedOut,
                        why: format!("cannot connect upstream: {e}"),
                    }),
                }
            }
            Upstream::Attached { attachments, name } => match attachments.take(name).await {
                Ok(a) => Ok((Held::Attached(a), false)),
                Err(Unavailable::NotAttached) => Err(NoUpstream {
                    timeout: false,
                    why: format!("device {name} is not attached"),
                }),
                Err(Unavailable::Busy) => Err(NoUpstream {
                    timeout: true,
                    why: format!("every attachment of device {name} stayed busy"),
                }),
            },
        }
    }

    /// Keep `held` for the next request (it finished an exchange cleanly).
    fn keep(&mut self, held: Held) {
        match (self, held) {
            (Upstream::Dial { kept, .. }, Held::Dialled(c)) => **kept = Some(c),
            (Upstream::Attached { attachments, .. }, Held::Attached(a)) => attachments.give_back(a),
            _ => {}
        }
    }
}

/// Forward `request` through a connection from `upstream`, with `buf` for the bodies.
async fn forward_via<'r, R: Read, W: Write>(
    mut upstream: Upstream<'_>,
    buf: &mut Vec<u8>,
    mut request: Request<'_, R>,
    mut responder: Responder<'r, W>,
) -> Result<Sent<'r>, Error> {
    if buf.len() != 2 * PROXY_BUFFER {
        *buf = vec![0u8; 2 * PROXY_BUFFER];
    }
    let target = request.proxy_target().to_string();
    let method = request.method;
    let mut headers: heapless::Vec<Header<'_>, MAX_FORWARDED> = heapless::Vec::new();
    if end_to_end(request.headers, &mut headers).is_err() {
        let why = b"too many headers to forward";
        return responder
            .send(431, "Request Header Fields Too Large", &[], why)
            .await;
    }
    let (up_buf, down_buf) = buf.split_at_mut(PROXY_BUFFER);
    // A kept-alive upstream connection may have been closed by the upstream server
    // since its last answer; a request without a body is safe to send again on a
    // fresh one, once.
    let mut retries = usize::from(request.body.framing() == degu_core::Framing::None);
    loop {
        let (mut held, fresh) = match upstream.get().await {
            Ok(h) => h,
            Err(no) => return gateway_error(responder, no.timeout, &no.why).await,
        };
        let exchanged = exchange(
            held.conn(),
            method,
            &target,
            &headers,
            &mut request,
            responder,
            up_buf,
            down_buf,
        );
        let failed = match exchanged.await {
            Ok((status, sent)) => {
                // A Degu upstream closes after some statuses without saying so.
                let c = held.conn();
                if sent.is_ok() && !c.is_closed() && !status_closes(status) {
                    upstream.keep(held);
                }
                return sent;
            }
            Err(failed) => failed,
        };
        drop(held);
        responder = failed.responder;
        if !fresh && retries > 0 && stale(&failed.error) {
            retries -= 1;
            continue;
        }
        let e = failed.error;
        let timeout = matches!(e, Error::Io(embedded_io::ErrorKind::TimedOut));
        return gateway_error(responder, timeout, &format!("upstream failed: {e}")).await;
    }
}

/// One exchange on `conn`, both directions at once. `Ok` with the upstream status once
/// a response has begun downstream (its result is the handler's); `Err` when the
/// upstream failed before any response byte.
#[allow(clippy::too_many_arguments)]
async fn exchange<'r, R: Read, W: Write>(
    conn: &mut ClientConnection,
    method: Method,
    target: &str,
    headers: &[Header<'_>],
    request: &mut Request<'_, R>,
    responder: Responder<'r, W>,
    up_buf: &mut [u8],
    down_buf: &mut [u8],
) -> Result<(u16, Result<Sent<'r>, Error>), NoResponse<'r, W>> {
    let framing = request.body.framing();
    let (mut up, pending) = match conn.send(method, target, headers, framing) {
        Ok(halves) => halves,
        Err(error) => return Err(NoResponse { error, responder }),
    };
    let upload = async {
        match relay(&mut request.body, &mut up, up_buf).await {
            Ok(_) => up.finish(None).await.map_err(UploadError::Upstream),
            Err(RelayError::Source(e)) => Err(UploadError::Downstream(e)),
            Err(RelayError::Sink(e)) => Err(UploadError::Upstream(e)),
        }
    };
    let download = download(pending, method, responder, down_buf);
    let (upload, mut download) = (pin!(upload), pin!(download));
    match select(upload, download.as_mut()).await {
        // The response is complete (or failed): whatever of the request body is left
        // stays unsent, and the upstream connection closes with it.
        Either::Second(done) => done,
        Either::First(Ok(())) => download.await,
        Either::First(Err(UploadError::Downstream(e))) => Ok((500, Err(e))),
        Either::First(Err(UploadError::Upstream(e))) => {
            // The upstream stopped reading (it answered early, or vanished): its answer,
            // if any, is still on its way.
            tracing::debug!("request body not sent whole upstream: {e}");
            download.await
        }
    }
}

/// Read the upstream response and stream it downstream in the same framing.
async fn download<'r, W: Write>(
    pending: PendingResponse<'_, ClientReader>,
    method: Method,
    responder: Responder<'r, W>,
    buf: &mut [u8],
) -> Result<(u16, Result<Sent<'r>, Error>), NoResponse<'r, W>> {
    let mut response = match pending.receive().await {
        Ok(r) => r,
        Err(error) => return Err(NoResponse { error, responder }),
    };
    let mut headers: heapless::Vec<Header<'_>, MAX_FORWARDED> = heapless::Vec::new();
    // An upstream head has at most as many headers as a forwarded one may.
    let _ = end_to_end(&response.headers, &mut headers);
    let (status, reason) = (response.status, response.reason);
    // The client's connection is sound whatever the upstream status says.
    let responder = responder.keep_alive();
    let framing = response.forward_framing();
    if framing == degu_core::Framing::None {
        return Ok((status, responder.send(status, reason, &headers, b"").await));
    }
    let sent = async {
        let mut out = responder.body(status, reason, &headers, framing)?;
        if method != Method::Head {
            match relay(&mut response.body, &mut out, buf).await {
                Ok(_) => {}
                Err(RelayError::Source(e)) => {
                    // Not the client's fault: 502 if nothing reached it yet.
                    tracing::debug!("upstream response cut off: {e}");
                    return Err(Error::Upstream);
                }
                Err(RelayError::Sink(e)) => return Err(e),
            }
        }
        out.finish(None).await
    };
    Ok((status, sent.await))
}

/// The headers of `all` that pass a hop, into `out`; `Err` when they do not fit.
fn end_to_end<'h, const N: usize>(
    all: &Headers<'h>,
    out: &mut heapless::Vec<Header<'h>, N>,
) -> Result<(), Header<'h>> {
    let connection = all.get("connection");
    for h in all.iter().filter(|h| !is_hop_by_hop(h.name, connection)) {
        out.push(h)?;
    }
    Ok(())
}

/// Whether an upstream error looks like a connection the server had already closed.
fn stale(e: &Error) -> bool {
    use embedded_io::ErrorKind::{BrokenPipe, ConnectionAborted, ConnectionReset};
    matches!(
        e,
        Error::Closed | Error::Io(BrokenPipe | ConnectionReset | ConnectionAborted)
    )
}

/// Answer 502 or 504 with a short plain-text reason, keeping the client's connection.
async fn gateway_error<'r, W: Write>(
    responder: Responder<'r, W>,
    timeout: bool,
    why: &str,
) -> Result<Sent<'r>, Error> {
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

    async fn handle<'r, R: Read, W: Write>(
        &self,
        session: &mut Session<'_, ProxySlot>,
        request: Request<'_, R>,
        responder: Responder<'r, W>,
    ) -> Result<Sent<'r>, Error> {
        self.proxy
            .forward(&mut session.state, request, responder)
            .await
    }
}

/// A gateway: `/device/<name>/...` is forwarded as `/...` to the device registered
/// under `<name>` (one it dials, [`GatewayApp::add`]), or else to one attached to it
/// ([`GatewayApp::with_attachments`]); anything else is 404.
///
/// With a [`DevicePolicy`] ([`GatewayApp::with_policy`]), a client reaches only the
/// devices the policy grants its certificate's common name; any other device is `403`.
#[derive(Clone, Debug, Default)]
pub struct GatewayApp {
    devices: HashMap<String, Proxy>,
    attachments: Option<Attachments>,
    policy: Option<DevicePolicy>,
}

/// A gateway connection's state: the dialled devices' connections and buffers, and the
/// buffers of exchanges over attachments.
#[derive(Default)]
pub struct GatewaySlots {
    dialled: HashMap<String, ProxySlot>,
    attached: Vec<u8>,
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

    /// Route names not registered with [`GatewayApp::add`] to the devices attached to
    /// `attachments` (502 for one that is not attached).
    pub fn with_attachments(mut self, attachments: Attachments) -> Self {
        self.attachments = Some(attachments);
        self
    }

    /// Let clients reach only what `policy` grants them.
    pub fn with_policy(mut self, policy: DevicePolicy) -> Self {
        self.policy = Some(policy);
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
    type State = GatewaySlots;

    async fn handle<'r, R: Read, W: Write>(
        &self,
        session: &mut Session<'_, Self::State>,
        mut request: Request<'_, R>,
        responder: Responder<'r, W>,
    ) -> Result<Sent<'r>, Error> {
        let name = match (request.shift_path(), request.shift_path()) {
            (Some("device"), Some(name)) => name,
            _ => return responder.send(404, "Not Found", &[], b"").await,
        };
        if let Some(policy) = &self.policy {
            let client = session.identity().and_then(|i| i.common_name());
            if !policy.allows(client, name) {
                tracing::debug!(?client, device = name, "refused by the device policy");
                let why = b"403 Forbidden: this client may not reach this device\n";
                return responder
                    .keep_alive()
                    .send(403, "Forbidden", &[], why)
                    .await;
            }
        }
        let slots = &mut session.state;
        if let Some((name, proxy)) = self.devices.get_key_value(name) {
            let slot = slots.dialled.entry(name.clone()).or_default();
            return proxy.forward(slot, request, responder).await;
        }
        let Some(attachments) = &self.attachments else {
            return responder.send(404, "Not Found", &[], b"").await;
        };
        let upstream = Upstream::Attached { attachments, name };
        forward_via(upstream, &mut slots.attached, request, responder).await
    }
}

/// Which clients may reach which devices through a gateway: client certificate common
/// names mapped to device names. `*` as a client stands for every client (anonymous ones
/// included); `*` as a device for every device. A client without a rule reaches nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DevicePolicy {
    rules: HashMap<String, Vec<String>>,
}

/// The policy's wildcard.
const ANY: &str = "*";

impl DevicePolicy {
    /// A policy that grants nothing.
    pub fn new() -> Self {
        DevicePolicy::default()
    }

    /// Let `client` (a certificate common name, or `*`) reach `devices` (names, or `*`).
    pub fn allow<S: AsRef<str>>(&mut self, client: &str, devices: &[S]) -> &mut Self {
        let granted = self.rules.entry(client.to_string()).or_default();
        granted.extend(devices.iter().map(|d| d.as_ref().to_string()));
        self
    }

    /// Add every rule of `other`.
    pub fn extend(&mut self, other: DevicePolicy) -> &mut Self {
        for (client, devices) in other.rules {
            self.allow(&client, &devices);
        }
        self
    }

    /// Parse one rule, `CLIENT=DEVICE[,DEVICE...]` (the gateway's `--allow`).
    pub fn parse_rule(&mut self, rule: &str) -> Result<&mut Self, String> {
        let (client, devices) = rule
            .split_once('=')
            .ok_or_else(|| format!("{rule:?}: expected CLIENT=DEVICE[,DEVICE...]"))?;
        let devices: Vec<&str> = devices.split(',').map(str::trim).collect();
        let (client, bad) = (client.trim(), devices.iter().any(|d| d.is_empty()));
        if client.is_empty() || bad {
            return Err(format!("{rule:?}: empty client or device name"));
        }
        Ok(self.allow(client, &devices))
    }

    /// Parse a policy file: one `CLIENT = DEVICE[, DEVICE...]` rule per line; `#` starts
    /// a comment.
    pub fn parse_file(text: &str) -> Result<DevicePolicy, String> {
        let mut policy = DevicePolicy::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if !line.is_empty() {
                policy
                    .parse_rule(line)
                    .map_err(|e| format!("line {}: {e}", i + 1))?;
            }
        }
        Ok(policy)
    }

    /// Whether `client` (its certificate's common name; `None` when anonymous) may reach
    /// `device`.
    pub fn allows(&self, client: Option<&str>, device: &str) -> bool {
        let grants = |c: &str| {
            self.rules
                .get(c)
                .is_some_and(|ds| ds.iter().any(|d| d == device || d == ANY))
        };
        client.is_some_and(|c| c != ANY && grants(c)) || grants(ANY)
    }
}

#[cfg(test)]
mod tests {
    use super::DevicePolicy;

    #[test]
    fn a_policy_grants_what_it_names_and_nothing_else() {
        let text = "ops = *\nalice = lamp, door # two\n\n* = public\n";
        let p = DevicePolicy::parse_file(text).unwrap_or_default();
        assert!(p.allows(Some("alice"), "lamp"));
        assert!(p.allows(Some("alice"), "door"));
        assert!(!p.allows(Some("alice"), "safe"));
        assert!(p.allows(Some("ops"), "safe"));
        assert!(p.allows(Some("bob"), "public"));
        assert!(p.allows(None, "public"));
        assert!(!p.allows(None, "lamp"));
        assert!(!p.allows(Some("*"), "lamp"));
        assert!(DevicePolicy::new().parse_rule("alice").is_err());
        assert!(DevicePolicy::new().parse_rule("alice=a,,b").is_err());
    }
}
