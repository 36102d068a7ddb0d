//! Attachments on Tokio: devices behind NAT dial the gateway and serve it on that link
//! (the protocol is degu-core's [`degu_core::attach`]).
//!
//! * Gateway side: [`Attachments`] is the registry (device name → idle attachments) and
//!   [`Attachments::listen`] its listener, [`AttachListener`]: TLS with required client
//!   certificates (the device's name is its certificate's subject common name), or plain
//!   only with [`AttachConfig::allow_plain`]. [`GatewayApp`](crate::GatewayApp) routes
//!   `/device/<name>/...` to an attached device as to a dialled one.
//! * Device side: [`AttachedDevice::spawn`] serves an [`App`] over
//!   [`DeviceConfig::attachments`] parallel attachments, each dialled again after a
//!   drop with bounded, jittered backoff ([`Backoff`]).
//!
//! A request for a device takes one of its idle attachments (an attachment carries one
//! exchange at a time), waiting up to [`AttachConfig::timeout`] when all are busy (then
//! `504`); a device with none is `502`. After a clean exchange the attachment goes back
//! to the registry; after any error it is closed, and the device dials again.
//!
//! ```
//! use degu_examples::demo::DemoApp;
//! use degu_std::attach::{AttachConfig, AttachedDevice, Attachments, DeviceConfig};
//! use degu_std::{BodyExt, Client, GatewayApp, TempPki, TempServer};
//! use std::time::Duration;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // The gateway: attachments over mutual TLS, and its HTTP front door.
//! let pki = TempPki::new()?;
//! let attach = AttachConfig::tls(pki.server_config()?);
//! let listener = Attachments::listen(&"127.0.0.1:0".parse()?, attach)?;
//! let gateway = GatewayApp::new().with_attachments(listener.attachments());
//! let front = TempServer::start(&"127.0.0.1:0".parse()?, gateway)?;
//!
//! // A device: dials out, attaches as its certificate's name ("degu-client"), serves DemoApp.
//! let tls = pki.client_config()?.with_server_name("localhost");
//! let device = AttachedDevice::spawn(DemoApp, DeviceConfig::tls(listener.address().clone(), tls))?;
//! device.wait_attached(1, Duration::from_secs(5))?;
//!
//! let mut conn = Client::new(front.address().clone()).connect().await?;
//! let mut response = conn.get("/device/degu-client/hello", &[]).await?;
//! assert_eq!(response.status, 200);
//! assert_eq!(response.body.read_to_vec().await?, b"hello, world");
//! # Ok(())
//! # }
//! ```

use crate::address::Address;
use crate::client::{Client, ClientConfig, ClientConnection, ClientHeaders, halves};
use crate::server::{Listener, accept, bind, handshake};
use crate::stream::Socket;
use crate::tls::{TlsClientConfig, TlsServerConfig};
use degu_core::Header;
use degu_core::app::{App, Request, Session};
pub use degu_core::attach::Backoff;
use degu_core::attach::{DEVICE_HEADER, HANDOVER_HEADER, attach, attach_name, jitter};
use degu_core::engine::{Error, KeepAlive, Read, Responder, Sent, ServerEnd};
use degu_core::engine::{Write, serve};
use std::collections::HashMap;
use std::io;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};

/// How an attach listener accepts devices; every field has a documented default.
#[derive(Clone, Debug)]
pub struct AttachConfig {
    /// TLS for every attachment: the gateway's certificate, and the CA the devices'
    /// client certificates must chain to. `None` only with `allow_plain`.
    pub tls: Option<TlsServerConfig>,
    /// Accept plain (unauthenticated) attachments that name themselves with the
    /// `degu-device` header: the explicit opt-in. With TLS configured it is ignored.
    pub allow_plain: bool,
    /// Bound on the TLS handshake plus the attach request, on each read and write of an
    /// exchange over an attachment, and on a request's wait for a free attachment of a
    /// busy device (then `504`). Default 30 s.
    pub timeout: Duration,
    /// Attachments open at once, all devices together (default
    /// [`AttachConfig::DEFAULT_MAX_ATTACHMENTS`]); more are closed at once.
    pub max_attachments: usize,
    /// Read buffer of each attachment: the largest response head a device may send
    /// (default 16 KiB).
    pub read_buffer: usize,
    /// Write buffer of each attachment: the largest request head forwarded (default
    /// 8 KiB).
    pub write_buffer: usize,
}

impl AttachConfig {
    /// 10,000 attachments. Each holds its socket, TLS state and both buffers (24 KiB by
    /// default) while attached, idle or not.
    pub const DEFAULT_MAX_ATTACHMENTS: usize = 10_000;

    /// Attachments over TLS with `tls` (which should require client certificates: a
    /// device without one has no name).
    pub fn tls(tls: TlsServerConfig) -> Self {
        AttachConfig {
            tls: Some(tls),
            allow_plain: false,
            ..AttachConfig::plain()
        }
    }

    /// Plain attachments, anyone who can reach the listener naming themselves: for
    /// tests and closed networks only.
    pub fn plain() -> Self {
        AttachConfig {
            tls: None,
            allow_plain: true,
            timeout: Duration::from_secs(30),
            max_attachments: Self::DEFAULT_MAX_ATTACHMENTS,
            read_buffer: 16 * 1024,
            write_buffer: 8 * 1024,
        }
    }
}

/// The registry of attached devices: name → idle attachments. Cheap to clone (shared).
#[derive(Clone)]
pub struct Attachments {
    inner: Arc<Registry>,
}

impl std::fmt::Debug for Attachments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attachments")
            .field("attached", &self.attached())
            .finish()
    }
}

struct Registry {
    devices: Mutex<HashMap<String, Arc<DeviceSlot>>>,
    timeout: Duration,
}

/// One device's attachments: idle ones wait in the channel, `live` counts all (idle and
/// busy).
struct DeviceSlot {
    idle_tx: mpsc::UnboundedSender<Attachment>,
    /// Requests queue on the lock, first come first served.
    idle_rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<Attachment>>,
    live: AtomicUsize,
    handovers: AtomicUsize,
}

/// One attachment: a connection over which the gateway is the client.
pub(crate) struct Attachment {
    pub(crate) conn: ClientConnection,
    slot: Arc<DeviceSlot>,
    _permit: OwnedSemaphorePermit,
}

impl Drop for Attachment {
    fn drop(&mut self) {
        self.slot.live.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Why no attachment could be had for a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unavailable {
    /// The device has no attachment: `502`.
    NotAttached,
    /// Every attachment stayed busy for the whole timeout: `504`.
    Busy,
}

impl Attachments {
    /// An empty registry; requests wait up to `timeout` for a busy device.
    pub fn new(timeout: Duration) -> Self {
        Attachments {
            inner: Arc::new(Registry {
                devices: Mutex::new(HashMap::new()),
                timeout,
            }),
        }
    }

    /// Bind `address` and accept attachments into a new registry on a background thread.
    pub fn listen(address: &Address, config: AttachConfig) -> io::Result<AttachListener> {
        if config.tls.is_none() && !config.allow_plain {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "plain attachments need an explicit opt-in (allow_plain)",
            ));
        }
        let (listener, bound) = bind(address)?;
        let attachments = Attachments::new(config.timeout);
        let (stop, _) = watch::channel(false);
        {
            let (attachments, stop) = (attachments.clone(), stop.subscribe());
            let listener = listener.try_clone()?;
            // Detached: it ends by itself once the registry is unused.
            std::thread::Builder::new()
                .name("degu-attach".into())
                .spawn(move || accept_loop(listener, config, attachments, stop))?;
        }
        Ok(AttachListener {
            address: bound,
            attachments,
            stop,
            _listener: listener,
        })
    }

    /// Attachments open now, all devices.
    pub fn attached(&self) -> usize {
        self.devices()
            .iter()
            .map(|d| d.live.load(Ordering::Acquire))
            .sum()
    }

    /// Attachments open now for `name`.
    pub fn attached_as(&self, name: &str) -> usize {
        let devices = self.inner.devices.lock().ok();
        devices
            .and_then(|d| d.get(name).map(|s| s.live.load(Ordering::Acquire)))
            .unwrap_or(0)
    }

    /// Hand-overs accepted for `name` so far (an attachment that ended still counts).
    pub fn handovers_as(&self, name: &str) -> usize {
        let devices = self.inner.devices.lock().ok();
        devices
            .and_then(|d| d.get(name).map(|s| s.handovers.load(Ordering::Acquire)))
            .unwrap_or(0)
    }

    fn devices(&self) -> Vec<Arc<DeviceSlot>> {
        let devices = self.inner.devices.lock().ok();
        devices.map_or_else(Vec::new, |d| d.values().cloned().collect())
    }

    /// Register a handed-over connection as an idle attachment of `name`.
    fn add(&self, name: &str, conn: ClientConnection, permit: OwnedSemaphorePermit) {
        let Ok(mut devices) = self.inner.devices.lock() else {
            return;
        };
        let slot = devices
            .entry(name.to_string())
            .or_insert_with(|| {
                let (idle_tx, idle_rx) = mpsc::unbounded_channel();
                Arc::new(DeviceSlot {
                    idle_tx,
                    idle_rx: tokio::sync::Mutex::new(idle_rx),
                    live: AtomicUsize::new(0),
                    handovers: AtomicUsize::new(0),
                })
            })
            .clone();
        drop(devices);
        slot.live.fetch_add(1, Ordering::AcqRel);
        slot.handovers.fetch_add(1, Ordering::AcqRel);
        let attachment = Attachment {
            conn,
            slot: slot.clone(),
            _permit: permit,
        };
        let _ = slot.idle_tx.send(attachment);
    }

    /// An idle attachment of `name`, waiting up to the timeout while all are busy;
    /// attachments whose device hung up while idle are closed on the way.
    pub(crate) async fn take(&self, name: &str) -> Result<Attachment, Unavailable> {
        let slot = {
            let devices = self.inner.devices.lock().ok();
            devices.and_then(|d| d.get(name).cloned())
        };
        let Some(slot) = slot else {
            return Err(Unavailable::NotAttached);
        };
        let wait = async {
            let mut idle = slot.idle_rx.lock().await;
            loop {
                if slot.live.load(Ordering::Acquire) == 0 {
                    return Err(Unavailable::NotAttached);
                }
                let Some(mut a) = idle.recv().await else {
                    return Err(Unavailable::NotAttached);
                };
                if a.conn.is_closed() || a.conn.reader_mut().hung_up() {
                    tracing::debug!(device = name, "an idle attachment was closed by its device");
                    continue;
                }
                return Ok(a);
            }
        };
        tokio::time::timeout(self.inner.timeout, wait)
            .await
            .unwrap_or(Err(Unavailable::Busy))
    }

    /// Close every idle attachment and forget every device (the slots hold their idle
    /// attachments, which point back at their slots).
    fn close_all(&self) {
        let slots = self
            .inner
            .devices
            .lock()
            .map(|mut d| std::mem::take(&mut *d));
        for slot in slots.into_iter().flat_map(HashMap::into_values) {
            if let Ok(mut idle) = slot.idle_rx.try_lock() {
                while idle.try_recv().is_ok() {}
            }
        }
    }

    /// Put `a` back for the next request after a clean exchange.
    pub(crate) fn give_back(&self, a: Attachment) {
        let tx = a.slot.idle_tx.clone();
        let _ = tx.send(a);
    }
}

/// A running attach listener; stops (and closes its idle attachments' listener) when
/// dropped or [`AttachListener::stop`]ped. Attachments already made stay in the registry.
pub struct AttachListener {
    address: Address,
    attachments: Attachments,
    stop: watch::Sender<bool>,
    _listener: Listener,
}

impl std::fmt::Debug for AttachListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AttachListener")
            .field("address", &self.address)
            .finish()
    }
}

impl AttachListener {
    /// The bound address (the real port when asked for port 0).
    pub fn address(&self) -> &Address {
        &self.address
    }

    /// The registry this listener fills.
    pub fn attachments(&self) -> Attachments {
        self.attachments.clone()
    }

    /// Stop accepting. The listener's thread (whose runtime drives the attachments'
    /// sockets) ends once the registry is no longer used, closing what is left in it.
    pub fn stop(self) {}
}

impl Drop for AttachListener {
    fn drop(&mut self) {
        self.stop.send_replace(true);
    }
}

/// How often a stopped listener's thread looks whether its registry is still used.
const REGISTRY_POLL: Duration = Duration::from_millis(200);

/// The listener thread: a current-thread runtime accepting devices. The attachments'
/// sockets stay registered with this runtime's reactor (which keeps running while the
/// listener does), and are used from the gateway's workers.
fn accept_loop(
    listener: Listener,
    config: AttachConfig,
    attachments: Attachments,
    mut stop: watch::Receiver<bool>,
) -> io::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let local = tokio::task::LocalSet::new();
    let config = Arc::new(config);
    let permits = Arc::new(Semaphore::new(config.max_attachments));
    local.block_on(&rt, async {
        let listener = listener.to_async()?;
        loop {
            let accepted = tokio::select! {
                a = accept(&listener) => a,
                _ = stop.wait_for(|s| *s) => break,
            };
            let (plain, peer, _) = match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!("attach accept failed: {e}");
                    tokio::time::sleep(crate::server::ACCEPT_RETRY).await;
                    continue;
                }
            };
            let Ok(permit) = permits.clone().try_acquire_owned() else {
                tracing::warn!(%peer, "too many attachments: refusing");
                continue;
            };
            let (config, attachments) = (config.clone(), attachments.clone());
            tokio::task::spawn_local(async move {
                let limit = config.timeout;
                let handed = tokio::time::timeout(limit, hand_over(plain, &peer, &config)).await;
                match handed {
                    Ok(Ok((name, conn))) => {
                        tracing::debug!(%peer, device = name, "attached");
                        attachments.add(&name, conn, permit);
                    }
                    Ok(Err(e)) => tracing::debug!(%peer, "attach refused: {e}"),
                    Err(_) => tracing::debug!(%peer, "attach timed out"),
                }
            });
        }
        io::Result::Ok(())
    })?;
    // Keep the runtime (the attachments' reactor) alive while the registry is used
    // elsewhere (a gateway app), then close what is left in it.
    local.block_on(&rt, async {
        while Arc::strong_count(&attachments.inner) > 1 {
            tokio::time::sleep(REGISTRY_POLL).await;
        }
    });
    attachments.close_all();
    Ok(())
}

/// TLS (if configured), then the attach request: the device's name and the connection
/// over which the gateway is now the client.
async fn hand_over(
    plain: crate::stream::Plain,
    peer: &Address,
    config: &AttachConfig,
) -> io::Result<(String, ClientConnection)> {
    let (socket, identity) = match &config.tls {
        None => (Socket::Plain(plain), None),
        Some(tls) => handshake(plain, tls, config.timeout).await?,
    };
    let mut io = halves(socket, Some(config.timeout));
    let mut buffers = (
        vec![0u8; config.read_buffer].into_boxed_slice(),
        vec![0u8; config.write_buffer].into_boxed_slice(),
    );
    let mut session = Session::new(peer.into(), AttachState::default());
    if let Some(id) = &identity {
        session = session.with_identity(id);
    }
    // One request: the engine answers it, then hands the stream back.
    let one = KeepAlive::new().max_requests(1);
    let end = serve(&mut io, &mut buffers, &HandOver, &mut session, &one).await;
    match (end, session.state.0.take()) {
        (Ok(ServerEnd::MaxRequests), Some(name)) => {
            let (r, w) = io;
            let conn = degu_core::engine::Connection::new(r, w, buffers.0, buffers.1)
                .with_base_headers(ClientHeaders::none());
            Ok((name, conn))
        }
        (Ok(end), _) => Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("no hand-over ({end:?})"),
        )),
        (Err(e), _) => Err(io::Error::other(e.to_string())),
    }
}

/// The name a hand-over registered.
#[derive(Default)]
struct AttachState(Option<String>);

/// The app of a link's first (and only) request as a server: the attach request.
struct HandOver;

impl App for HandOver {
    type State = AttachState;

    async fn handle<'r, R: Read, W: Write>(
        &self,
        session: &mut Session<'_, AttachState>,
        request: Request<'_, R>,
        responder: Responder<'r, W>,
    ) -> Result<Sent<'r>, Error> {
        let certified = session.identity().and_then(|i| i.common_name());
        let claimed = request.header(DEVICE_HEADER);
        match attach_name(
            request.method,
            request.uri,
            request.body.framing(),
            claimed,
            certified,
        ) {
            Ok(name) => {
                session.state.0 = Some(name.to_string());
                let headers = [Header::new(HANDOVER_HEADER, name)];
                responder.send(200, "OK", &headers, b"").await
            }
            Err(refusal) => {
                tracing::debug!(?claimed, ?certified, "attach refused: {refusal:?}");
                let (status, reason) = (refusal.status(), refusal.reason());
                responder.send(status, reason, &[], b"").await
            }
        }
    }
}

/// A host-side device's attachments: where to dial and how; every field has a
/// documented default.
#[derive(Clone, Debug)]
pub struct DeviceConfig {
    /// The gateway's attach address.
    pub gateway: Address,
    /// TLS to the gateway (verifying it, presenting the device's certificate, whose
    /// common name is the device's name); `None` for a plain link.
    pub tls: Option<TlsClientConfig>,
    /// The name to claim in the `degu-device` header: needed on a plain link; with TLS
    /// it must equal the certificate's common name (or the gateway refuses, 403).
    pub name: Option<String>,
    /// Attachments kept open in parallel (default 1): how many requests the gateway can
    /// have in flight to this device at once.
    pub attachments: usize,
    /// Waits before dialling again (default [`Backoff::DEFAULT`]).
    pub backoff: Backoff,
    /// Bound on dialling, TLS and the hand-over together (default 10 s).
    pub handshake_timeout: Duration,
    /// Bound on each read and write once attached, waiting for the gateway's next
    /// request included: an attachment that hears nothing for this long is closed and
    /// dialled again (default 300 s).
    pub idle_timeout: Duration,
}

impl DeviceConfig {
    /// A plain link to `gateway`, claiming `name`.
    pub fn plain(gateway: Address, name: &str) -> Self {
        DeviceConfig {
            gateway,
            tls: None,
            name: Some(name.to_string()),
            attachments: 1,
            backoff: Backoff::DEFAULT,
            handshake_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(300),
        }
    }

    /// A TLS link to `gateway`; the name is `tls`'s client certificate's.
    pub fn tls(gateway: Address, tls: TlsClientConfig) -> Self {
        DeviceConfig {
            tls: Some(tls),
            name: None,
            ..DeviceConfig::plain(gateway, "")
        }
    }
}

/// Counters a device's attachment loops share.
#[derive(Debug, Default)]
pub struct DeviceStats {
    attached: AtomicUsize,
    handovers: AtomicUsize,
    stop: AtomicBool,
}

impl DeviceStats {
    /// Attachments handed over and open now.
    pub fn attached(&self) -> usize {
        self.attached.load(Ordering::Acquire)
    }

    /// Hand-overs so far.
    pub fn handovers(&self) -> usize {
        self.handovers.load(Ordering::Acquire)
    }
}

/// Decrements the attached count when an attachment ends, however it ends.
struct Attached<'a>(&'a DeviceStats);

impl Drop for Attached<'_> {
    fn drop(&mut self) {
        self.0.attached.fetch_sub(1, Ordering::AcqRel);
    }
}

/// One attachment's life, again and again: dial, hand over, serve `app` until the link
/// drops, wait (backoff), dial again; until `stats` says stop. `seed` varies the jitter.
pub async fn keep_attached<A: App>(app: &A, config: &DeviceConfig, stats: &DeviceStats, seed: u32) {
    let mut random = seed;
    let mut failures = 0u32;
    while !stats.stop.load(Ordering::Acquire) {
        match attach_once(app, config, stats).await {
            Ok(()) => failures = 0,
            Err(e) => {
                tracing::debug!(gateway = %config.gateway, "attachment: {e}");
                failures = failures.saturating_add(1);
            }
        }
        let wait = config.backoff.delay_ms(failures, jitter(&mut random));
        tokio::time::sleep(Duration::from_millis(u64::from(wait))).await;
    }
}

/// Dial, attach, serve until the link ends. `Ok` once a hand-over happened.
async fn attach_once<A: App>(
    app: &A,
    config: &DeviceConfig,
    stats: &DeviceStats,
) -> io::Result<()> {
    let mut client = match &config.tls {
        Some(tls) => ClientConfig::for_tls(&config.gateway, tls.clone()),
        None => ClientConfig::for_address(&config.gateway),
    };
    client.timeout = Some(config.idle_timeout);
    client.host = None;
    let client = Client::with_config(config.gateway.clone(), client);
    let mut buffers = (
        vec![0u8; client.config().read_buffer].into_boxed_slice(),
        vec![0u8; client.config().write_buffer].into_boxed_slice(),
    );
    let handshake = async {
        let (mut r, mut w) = client.connect().await?.into_inner();
        let name = config.name.as_deref();
        let bufs = (&mut *buffers.0, &mut *buffers.1);
        attach(&mut r, &mut w, bufs, name)
            .await
            .map_err(|e| io::Error::other(e.to_string()))?;
        io::Result::Ok((r, w))
    };
    let mut io = tokio::time::timeout(config.handshake_timeout, handshake)
        .await
        .unwrap_or_else(|_| Err(crate::stream::timed_out()))?;
    stats.attached.fetch_add(1, Ordering::AcqRel);
    stats.handovers.fetch_add(1, Ordering::AcqRel);
    let _attached = Attached(stats);
    let mut session = Session::new((&config.gateway).into(), A::State::default());
    // An attachment is one long link: no request count ends it.
    let engine = KeepAlive::new().max_requests(u32::MAX);
    match serve(&mut io, &mut buffers, app, &mut session, &engine).await {
        Ok(end) => tracing::debug!(requests = session.requests(), "attachment ended: {end:?}"),
        Err(e) => tracing::debug!(requests = session.requests(), "attachment ended: {e}"),
    }
    Ok(())
}

/// A host-side device serving an app over attachments on a background thread.
pub struct AttachedDevice {
    stats: Arc<DeviceStats>,
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl std::fmt::Debug for AttachedDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AttachedDevice")
            .field("attached", &self.stats.attached())
            .finish()
    }
}

/// How often [`AttachedDevice::wait_attached`] looks.
const WAIT_POLL: Duration = Duration::from_millis(10);

impl AttachedDevice {
    /// Serve `app` over `config.attachments` attachments to `config.gateway`, each kept
    /// up by [`keep_attached`] on one current-thread runtime.
    pub fn spawn<A: App + Send + 'static>(app: A, config: DeviceConfig) -> io::Result<Self> {
        let stats = Arc::new(DeviceStats::default());
        let shared = stats.clone();
        let thread = std::thread::Builder::new()
            .name("degu-device".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                let local = tokio::task::LocalSet::new();
                local.block_on(&rt, async {
                    let (app, config) = (Rc::new(app), Rc::new(config));
                    for i in 0..config.attachments.max(1) {
                        let (app, config, stats) = (app.clone(), config.clone(), shared.clone());
                        let seed = std::process::id() ^ ((i as u32 + 1) << 20);
                        tokio::task::spawn_local(async move {
                            keep_attached(&*app, &config, &stats, seed).await;
                        });
                    }
                    while !shared.stop.load(Ordering::Acquire) {
                        tokio::time::sleep(WAIT_POLL * 5).await;
                    }
                });
                io::Result::Ok(())
            })?;
        Ok(AttachedDevice {
            stats,
            thread: Some(thread),
        })
    }

    /// The counters (shared: clone to watch them from elsewhere).
    pub fn stats(&self) -> &Arc<DeviceStats> {
        &self.stats
    }

    /// Serve until SIGINT or SIGTERM, then close every attachment (for programs like
    /// `demo-server --attach`).
    pub fn run_until_signal(self) -> io::Result<()> {
        crate::server::wait_for_signal()?;
        tracing::info!("signal received: detaching");
        self.stop()
    }

    /// Wait until at least `n` attachments are handed over, up to `limit`.
    pub fn wait_attached(&self, n: usize, limit: Duration) -> io::Result<()> {
        let deadline = std::time::Instant::now() + limit;
        while self.stats.attached() < n {
            if std::time::Instant::now() >= deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "{} of {n} attachments after {limit:?}",
                        self.stats.attached()
                    ),
                ));
            }
            std::thread::sleep(WAIT_POLL);
        }
        Ok(())
    }

    /// Close every attachment and stop.
    pub fn stop(mut self) -> io::Result<()> {
        self.stop_thread()
    }

    fn stop_thread(&mut self) -> io::Result<()> {
        self.stats.stop.store(true, Ordering::Release);
        match self.thread.take() {
            Some(t) => t
                .join()
                .map_err(|_| io::Error::other("the device thread panicked"))?,
            None => Ok(()),
        }
    }
}

impl Drop for AttachedDevice {
    fn drop(&mut self) {
        let _ = self.stop_thread();
    }
}
