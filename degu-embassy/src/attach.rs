//! Attachments: a device behind NAT dials its gateway, hands the link over
//! ([`degu_core::attach`]) and serves its [`App`] on it, the gateway sending requests.
//!
//! * [`attach_plain`]: one attachment over TCP, the device naming itself (the gateway
//!   must opt in to plain attachments).
//! * `attach_tls` (feature `tls`): one attachment over mutual TLS 1.3; the device's name
//!   is its certificate's common name. `embedded-tls` cannot split a connection, so the
//!   engine serves over a [`HalfDuplex`](crate::HalfDuplex) stream.
//! * [`Redial`]: the bounded, jittered wait before dialling again
//!   ([`degu_core::attach::Backoff`]).
//!
//! Each call dials once and returns when the link ends; a firmware task calls it in a
//! loop, one task per parallel attachment:
//!
//! ```ignore
//! let mut redial = Redial::new(Backoff::DEFAULT, seed);
//! loop {
//!     let end = attach_tls(&mut socket, gateway, &TIMEOUTS, &mut tls, &creds, &mut rng,
//!                          None, &mut buffers, &DemoApp, &SERVE).await;
//!     Timer::after_millis(redial.after(&end).into()).await;
//! }
//! ```
//!
//! Timeouts: [`ClientTimeouts::connect`] bounds the dial, [`ClientTimeouts::io`] each
//! read and write, the wait for the gateway's next request included, so an attachment
//! that hears nothing for that long ends and is dialled again.

#[cfg(feature = "tls")]
use crate::HalfDuplex;
use crate::client::{ClientTimeouts, connect};
use degu_core::app::{App, PeerAddr, Session};
use degu_core::attach::{AttachError, Backoff, attach, jitter};
use degu_core::engine::{ConnBuffers, Error, KeepAlive, ServerEnd, Transport, serve};
use embassy_net::IpEndpoint;
use embassy_net::tcp::{ConnectError, TcpSocket};

/// How one attachment ended.
#[derive(Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum LinkEnd {
    /// The dial failed.
    Connect(ConnectError),
    /// The TLS handshake failed.
    #[cfg(feature = "tls")]
    Tls(crate::tls::TlsError),
    /// The gateway refused the hand-over, or it failed.
    Attach(AttachError),
    /// The link was handed over and served until it ended: how.
    Served(Result<ServerEnd, Error>),
}

impl LinkEnd {
    /// Whether the link was handed over (and served) before it ended.
    pub fn was_attached(&self) -> bool {
        matches!(self, LinkEnd::Served(_))
    }
}

/// The waits between attachments: [`Backoff`] with a failure count that a hand-over
/// resets, jittered.
#[derive(Clone, Copy, Debug)]
pub struct Redial {
    backoff: Backoff,
    failures: u32,
    random: u32,
}

impl Redial {
    /// Waits by `backoff`, jitter seeded with `seed` (vary it per device and attachment).
    pub const fn new(backoff: Backoff, seed: u32) -> Self {
        Redial {
            backoff,
            failures: 0,
            random: seed,
        }
    }

    /// Milliseconds to wait after a link ended with `end`.
    pub fn after(&mut self, end: &LinkEnd) -> u32 {
        if end.was_attached() {
            self.failures = 0;
        } else {
            self.failures = self.failures.saturating_add(1);
        }
        self.backoff
            .delay_ms(self.failures, jitter(&mut self.random))
    }
}

/// Hand the link over and serve `app` on it: the engine with `config`, `buffers` used for
/// the hand-over's heads first.
async fn hand_over_and_serve<T: Transport, A: App, B: ConnBuffers>(
    io: &mut T,
    name: Option<&str>,
    buffers: &mut B,
    app: &A,
    config: &KeepAlive,
    peer: IpEndpoint,
) -> LinkEnd {
    {
        let (mut reader, mut writer) = io.split();
        if let Err(e) = attach(&mut reader, &mut writer, buffers.split(), name).await {
            warn!("attach to {:?}: {}", peer, e);
            return LinkEnd::Attach(e);
        }
    }
    debug!("attached to {:?}", peer);
    let mut session = Session::new(PeerAddr::Ip(peer.into()), A::State::default());
    let end = serve(io, buffers, app, &mut session, config).await;
    debug!(
        "attachment to {:?} ended after {} requests",
        peer,
        session.requests()
    );
    LinkEnd::Served(end)
}

/// One plain attachment: dial `gateway`, claim `name`, serve `app` until the link ends,
/// close the socket.
#[allow(clippy::too_many_arguments)]
pub async fn attach_plain<A: App, B: ConnBuffers>(
    socket: &mut TcpSocket<'_>,
    gateway: impl Into<IpEndpoint>,
    timeouts: &ClientTimeouts,
    name: &str,
    buffers: &mut B,
    app: &A,
    config: &KeepAlive,
) -> LinkEnd {
    let gateway = gateway.into();
    let mut io = match connect(socket, gateway, timeouts).await {
        Ok(io) => io,
        Err(e) => return LinkEnd::Connect(e),
    };
    let end = {
        let (reader, writer) = io.split();
        let mut halves = (reader, writer);
        hand_over_and_serve(&mut halves, Some(name), buffers, app, config, gateway).await
    };
    io.close().await;
    end
}

/// One attachment over mutual TLS 1.3: dial `gateway`, handshake with `credentials`
/// (the device's certificate names it; `name`, if given, must be that name), serve `app`
/// until the link ends, close.
#[cfg(feature = "tls")]
#[allow(clippy::too_many_arguments)]
pub async fn attach_tls<A, B, R, const RB: usize, const WB: usize>(
    socket: &mut TcpSocket<'_>,
    gateway: impl Into<IpEndpoint>,
    timeouts: &ClientTimeouts,
    tls: &mut crate::tls::TlsBuffers<RB, WB>,
    credentials: &crate::tls::TlsCredentials<'_>,
    rng: R,
    name: Option<&str>,
    buffers: &mut B,
    app: &A,
    config: &KeepAlive,
) -> LinkEnd
where
    A: App,
    B: ConnBuffers,
    R: embedded_tls::CryptoRngCore,
{
    let gateway = gateway.into();
    let io = match connect(socket, gateway, timeouts).await {
        Ok(io) => io,
        Err(e) => return LinkEnd::Connect(e),
    };
    let stream = match crate::tls::connect(io, tls, credentials, rng).await {
        Ok(s) => s,
        // embedded-tls has dropped the socket's stream; the socket closes when reused.
        Err(e) => return LinkEnd::Tls(e),
    };
    let mut shared = HalfDuplex::new(stream);
    let end = {
        let (reader, writer) = shared.split();
        let mut halves = (reader, writer);
        hand_over_and_serve(&mut halves, name, buffers, app, config, gateway).await
    };
    // A failed link says why in the TLS stream's last error (an alert from a gateway
    // that refused the certificate, for one).
    let end = match (end, shared.get_mut().last_error()) {
        (LinkEnd::Attach(AttachError::Engine(_)), Some(e)) => LinkEnd::Tls(e),
        (end, _) => end,
    };
    match shared.into_inner().close().await {
        Ok(io) | Err((io, _)) => io.close().await,
    }
    end
}
