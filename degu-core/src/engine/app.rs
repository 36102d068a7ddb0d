//! The application contract (Degu's RGI): one trait an app implements once and runs
//! unchanged on firmware and on a gateway.
//!
//! * [`App::on_connect`] sees the [`Session`] (peer address, TLS identity) before any
//!   request and may refuse the connection.
//! * [`App::handle`] gets each [`Request`] and a [`Responder`]; the responder is a
//!   typestate that is consumed by sending, and only sending yields the [`Sent`] the
//!   handler must return, so every request gets exactly one response.

use super::{Body, Error, Read, Responder, Sent, Write};
use crate::wire::head::{Headers, Method};
#[cfg(feature = "range")]
use crate::wire::range::Range;
use crate::wire::uri::{Components, PathCursor};
use core::future::Future;
use core::net::SocketAddr;

/// A Degu application.
///
/// Implement it on a plain struct; the same value serves on every adapter. `handle` is
/// generic over the connection's read and write halves so one app compiles for
/// embassy sockets, Tokio streams and in-memory pipes alike.
///
/// ```
/// use degu_core::app::{App, Error, Read, Request, Responder, Sent, Session, Write};
///
/// struct Hello;
///
/// impl App for Hello {
///     type State = ();
///
///     async fn handle<'r, R: Read, W: Write>(
///         &self,
///         _session: &mut Session<'_, ()>,
///         request: Request<'_, R>,
///         responder: Responder<'r, W>,
///     ) -> Result<Sent<'r>, Error> {
///         match request.path.components().next() {
///             Some("hello") => responder.send(200, "OK", &[], b"hello, world").await,
///             _ => responder.send(404, "Not Found", &[], b"").await,
///         }
///     }
/// }
/// ```
pub trait App {
    /// Per-connection state, created with `Default` when a connection is accepted and
    /// kept in [`Session::state`] for its life.
    type State: Default;

    /// Called once per connection before any request; `false` closes it at once.
    fn on_connect(&self, session: &mut Session<'_, Self::State>) -> bool {
        let _ = session;
        true
    }

    /// Handle one request by sending exactly one response through `responder`.
    ///
    /// Returning `Err` closes the connection: with a `500` (or the error's own status)
    /// when no byte of a response was written yet, silently otherwise.
    fn handle<'r, R: Read, W: Write>(
        &self,
        session: &mut Session<'_, Self::State>,
        request: Request<'_, R>,
        responder: Responder<'r, W>,
    ) -> impl Future<Output = Result<Sent<'r>, Error>>;
}

impl<A: App> App for &A {
    type State = A::State;

    fn on_connect(&self, session: &mut Session<'_, Self::State>) -> bool {
        (**self).on_connect(session)
    }

    fn handle<'r, R: Read, W: Write>(
        &self,
        session: &mut Session<'_, Self::State>,
        request: Request<'_, R>,
        responder: Responder<'r, W>,
    ) -> impl Future<Output = Result<Sent<'r>, Error>> {
        (**self).handle(session, request, responder)
    }
}

/// Longest AF_UNIX path or abstract name (`sun_path` on Linux).
pub const MAX_UNIX_ADDR_LEN: usize = 108;

/// Where a connection comes from, in a form every adapter can fill in.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum PeerAddr {
    /// IPv4 or IPv6 (the IPv6 form keeps its scope id).
    Ip(SocketAddr),
    /// An AF_UNIX socket bound to a path (feature `unix`).
    #[cfg(feature = "unix")]
    UnixPath(heapless::String<MAX_UNIX_ADDR_LEN>),
    /// A Linux abstract AF_UNIX name (without the leading NUL; feature `unix`).
    #[cfg(feature = "unix")]
    UnixAbstract(heapless::Vec<u8, MAX_UNIX_ADDR_LEN>),
    /// An unbound AF_UNIX socket (the usual client side), or an address the adapter
    /// could not tell.
    Unnamed,
}

/// As a log line shows it: `127.0.0.1:40000`, `[::1%2]:8080`, a path, `@name` for an
/// abstract name (bytes outside printable ASCII as `\xNN`), `-` when unnamed.
impl core::fmt::Display for PeerAddr {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            PeerAddr::Ip(a) => write!(f, "{a}"),
            #[cfg(feature = "unix")]
            PeerAddr::UnixPath(p) => f.write_str(p),
            #[cfg(feature = "unix")]
            PeerAddr::UnixAbstract(name) => {
                f.write_str("@")?;
                for &b in name {
                    if b.is_ascii_graphic() {
                        write!(f, "{}", b as char)?;
                    } else {
                        write!(f, "\\x{b:02x}")?;
                    }
                }
                Ok(())
            }
            PeerAddr::Unnamed => f.write_str("-"),
        }
    }
}

/// The peer process of an AF_UNIX connection, as the kernel reports it (SO_PEERCRED).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Credentials {
    /// Process id.
    pub pid: u32,
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
}

/// The verified identity of a TLS peer, as an adapter with TLS provides it.
///
/// The adapter verifies the chain before [`App::on_connect`]; apps authorise from it.
pub trait PeerIdentity {
    /// The peer's certificate chain in DER, leaf first.
    fn certificate(&self, index: usize) -> Option<&[u8]>;
    /// The leaf's subject common name, if it has one.
    fn common_name(&self) -> Option<&str>;
    /// The leaf's subject alternative names (DNS names and IP addresses as text).
    fn subject_alt_name(&self, index: usize) -> Option<&str>;
    /// SHA-256 of the leaf certificate's DER.
    fn fingerprint(&self) -> [u8; 32];
}

/// One connection as the application sees it.
pub struct Session<'c, S> {
    peer: PeerAddr,
    #[cfg(feature = "unix")]
    credentials: Option<Credentials>,
    identity: Option<&'c (dyn PeerIdentity + Sync)>,
    requests: u32,
    /// The application's per-connection state.
    pub state: S,
}

impl<'c, S> Session<'c, S> {
    /// A session for a connection from `peer` with the given initial state.
    pub fn new(peer: PeerAddr, state: S) -> Self {
        Session {
            peer,
            #[cfg(feature = "unix")]
            credentials: None,
            identity: None,
            requests: 0,
            state,
        }
    }

    /// Attach AF_UNIX peer credentials (adapters; feature `unix`).
    #[cfg(feature = "unix")]
    pub fn with_credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// Attach the verified TLS identity (adapters).
    pub fn with_identity(mut self, identity: &'c (dyn PeerIdentity + Sync)) -> Self {
        self.identity = Some(identity);
        self
    }

    /// The peer's address.
    pub fn peer(&self) -> &PeerAddr {
        &self.peer
    }

    /// The peer's process, for AF_UNIX connections.
    #[cfg(feature = "unix")]
    pub fn credentials(&self) -> Option<Credentials> {
        self.credentials
    }

    /// The peer's process, for AF_UNIX connections: none without feature `unix`.
    #[cfg(not(feature = "unix"))]
    pub fn credentials(&self) -> Option<Credentials> {
        None
    }

    /// The peer's verified TLS identity, when the connection is TLS with a client
    /// certificate.
    pub fn identity(&self) -> Option<&'c (dyn PeerIdentity + Sync)> {
        self.identity
    }

    /// Requests completed on this connection so far.
    pub fn requests(&self) -> u32 {
        self.requests
    }

    pub(crate) fn count_request(&mut self) {
        self.requests = self.requests.saturating_add(1);
    }
}

/// One request as the application sees it: the head, borrowed from the connection's
/// buffer, and the body as a reader.
pub struct Request<'r, R> {
    /// The method.
    pub method: Method,
    /// The request-target exactly as sent.
    pub uri: &'r str,
    /// The path, split into what is mounted (routed) and what remains.
    pub path: PathCursor<'r>,
    /// The query: `None` without `?`, `Some("")` for a bare `?`.
    pub query: Option<&'r str>,
    /// The headers, names lower-cased.
    pub headers: &'r Headers<'r>,
    /// The typed `range` header (feature `range`; without it the header is ignored and
    /// the whole body is served).
    #[cfg(feature = "range")]
    pub range: Option<Range>,
    /// The body (empty for GET, HEAD and DELETE).
    pub body: Body<'r, R>,
}

impl<'r, R: Read> Request<'r, R> {
    /// Move the next path component to the mount and return it (`None` at the end).
    pub fn shift_path(&mut self) -> Option<&'r str> {
        self.path.shift()
    }

    /// Components not yet shifted.
    pub fn components(&self) -> Components<'r> {
        self.path.components()
    }

    /// The path and query to forward to another server: the remaining components with
    /// the query (`/` when nothing remains), e.g. `/b?x` for `/a/b?x` after one shift.
    pub fn proxy_target(&self) -> crate::wire::uri::Target<'r> {
        crate::wire::uri::Target {
            path: self.path.remaining(),
            query: self.query,
        }
    }

    /// The value of a header (name case ignored).
    pub fn header(&self, name: &str) -> Option<&'r str> {
        self.headers.get(name)
    }

    /// The query's `key=value` pairs, raw (decode a value with
    /// [`crate::wire::query::decode`]); none without a query.
    pub fn query_pairs(&self) -> crate::wire::query::Query<'r> {
        crate::wire::query::Query::new(self.query.unwrap_or(""))
    }
}
