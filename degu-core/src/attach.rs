//! Attachments: a device that nothing can dial (NAT, a firewall) dials its gateway and
//! then *serves* its [`App`](crate::app::App) on that connection; the HTTP roles reverse
//! once the link is up. This module is the protocol both ends share; the adapters
//! (`degu-std`, `degu-embassy`) supply the dialling, TLS and the registry.
//!
//! # The hand-over
//!
//! ```text
//!  device (client first)                                 gateway (server first)
//!  ── dial, TLS 1.3 with the device's client certificate ──►
//!  POST /.degu/attach HTTP/1.1
//!  content-length: 0
//!  [degu-device: NAME]                                    ──►
//!                                                         ◄── HTTP/1.1 200 OK
//!                                                             degu-attach: NAME
//!                                                             content-length: 0
//!  ════════ roles reversed: the gateway sends requests, the device answers ════════
//!                                                         ◄── GET /hello HTTP/1.1 ...
//!  HTTP/1.1 200 OK ...                                    ──►
//! ```
//!
//! * The device sends exactly one request, [`ATTACH_METHOD`] [`ATTACH_PATH`] with no
//!   body, and nothing else until it has the answer.
//! * Its name: with TLS, the subject common name of its verified certificate; a
//!   [`DEVICE_HEADER`] may repeat it and a different one is refused (`403`), so a device
//!   attaches only as itself. Without TLS (only when the gateway opts in), the
//!   [`DEVICE_HEADER`] names it. A name is one path component, at most
//!   [`MAX_DEVICE_NAME`] bytes of `A-Z a-z 0-9 - _ .`, not starting with `.`.
//! * The gateway answers `200` with [`HANDOVER_HEADER`] carrying the name it registered
//!   and `content-length: 0`: from the byte after that head, the gateway is the client.
//!   Any other answer is a refusal (`400` a malformed attach, `403` a name the
//!   certificate does not allow, `404` not an attach) and the gateway closes.
//! * The device reads the answer one byte at a time ([`attach`]), so a request the
//!   gateway sends right behind it is never swallowed with the answer.
//! * The device then serves with the engine as on any accepted connection; either side
//!   may close an idle attachment, and the device dials again.

use crate::engine::{Connection, Error, Read, Write};
use crate::wire::head::{Header, Method};

/// The method of the attach request.
pub const ATTACH_METHOD: Method = Method::Post;

/// The path of the attach request (a path a device's own app never needs to serve).
pub const ATTACH_PATH: &str = "/.degu/attach";

/// The request header that names a device on a plain link (and may repeat the
/// certificate's name on a TLS one).
pub const DEVICE_HEADER: &str = "degu-device";

/// The response header of a hand-over: the name the gateway registered the device as.
pub const HANDOVER_HEADER: &str = "degu-attach";

/// Longest device name, in bytes.
pub const MAX_DEVICE_NAME: usize = 64;

/// Why an attach did not hand the connection over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum AttachError {
    /// The exchange failed (I/O, a malformed answer, the gateway closed).
    Engine(Error),
    /// The gateway refused with this status.
    Refused(u16),
    /// A `200` without the hand-over header, or with a body: not a Degu gateway.
    NotHandedOver,
    /// The name to claim is not a valid device name.
    BadName,
}

impl core::fmt::Display for AttachError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            AttachError::Engine(e) => write!(f, "attach failed: {e}"),
            AttachError::Refused(s) => write!(f, "attach refused with status {s}"),
            AttachError::NotHandedOver => f.write_str("the answer is not a Degu hand-over"),
            AttachError::BadName => f.write_str("not a valid device name"),
        }
    }
}

impl core::error::Error for AttachError {}

impl From<Error> for AttachError {
    fn from(e: Error) -> Self {
        AttachError::Engine(e)
    }
}

/// Whether `name` is a valid device name (see the module docs).
pub fn is_device_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_DEVICE_NAME
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// A reader that hands out at most one byte per read: the attach answer is read with
/// it so that not a byte past the answer's head leaves the stream.
struct ByteAtATime<R>(R);

impl<R: Read> embedded_io::ErrorType for ByteAtATime<R> {
    type Error = R::Error;
}

impl<R: Read> Read for ByteAtATime<R> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, R::Error> {
        match buf.first_mut() {
            Some(first) => self.0.read(core::slice::from_mut(first)).await,
            None => Ok(0),
        }
    }
}

/// The device's side of the hand-over on a fresh link (after TLS, if any): send the
/// attach request (claiming `name` when given, which a plain link needs) and read the
/// answer. `Ok(())` means the link is handed over: serve the app on the same `reader`
/// and `writer` next. `buffers` hold the request and answer heads only.
pub async fn attach<R: Read, W: Write>(
    reader: &mut R,
    writer: &mut W,
    buffers: (&mut [u8], &mut [u8]),
    name: Option<&str>,
) -> Result<(), AttachError> {
    if name.is_some_and(|n| !is_device_name(n)) {
        return Err(AttachError::BadName);
    }
    let (rbuf, wbuf) = buffers;
    let mut conn = Connection::new(ByteAtATime(reader), writer, rbuf, wbuf);
    let claim = name.map(|n| Header::new(DEVICE_HEADER, n));
    let headers = claim.as_slice();
    let response = conn
        .request(ATTACH_METHOD, ATTACH_PATH, headers, Some(b""))
        .await?;
    if response.status != 200 {
        return Err(AttachError::Refused(response.status));
    }
    let named = response.headers.get(HANDOVER_HEADER);
    if response.body.content_length() != Some(0) || named.is_none_or(|n| !is_device_name(n)) {
        return Err(AttachError::NotHandedOver);
    }
    Ok(())
}

/// Waits before a device dials again, in milliseconds (degu-core has no clock): the
/// first after a drop or a failed dial, doubling with each failure in a row up to the
/// most; each wait is drawn from the upper half of its value ([`Backoff::delay_ms`]), so
/// devices that lost their gateway together do not all dial back at the same instant.
/// A hand-over resets the count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Backoff {
    /// The first wait.
    pub first_ms: u32,
    /// The longest wait.
    pub max_ms: u32,
}

impl Backoff {
    /// 100 ms first, 30 s at most.
    pub const DEFAULT: Backoff = Backoff {
        first_ms: 100,
        max_ms: 30_000,
    };

    /// The wait after `failures` failures in a row (0 after a link that worked and
    /// dropped), drawn from the upper half by `random` (any value, e.g. [`jitter`]).
    ///
    /// ```
    /// use degu_core::attach::Backoff;
    /// let b = Backoff::DEFAULT;
    /// assert!((50..=100).contains(&b.delay_ms(0, 12345)));
    /// assert!((400..=800).contains(&b.delay_ms(3, 777)));
    /// assert!((15_000..=30_000).contains(&b.delay_ms(40, 9)));
    /// ```
    pub const fn delay_ms(&self, failures: u32, random: u32) -> u32 {
        let shift = if failures < 16 { failures } else { 16 };
        let grown = self.first_ms.saturating_mul(1 << shift);
        let wait = if grown < self.max_ms {
            grown
        } else {
            self.max_ms
        };
        let half = wait / 2;
        let span = wait - half + 1;
        half + random % span
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::DEFAULT
    }
}

/// The next value of a xorshift32 generator (`state` must not be 0): jitter for
/// [`Backoff::delay_ms`], not for anything that must be unpredictable.
pub fn jitter(state: &mut u32) -> u32 {
    let mut x = if *state == 0 { 0x9e37_79b9 } else { *state };
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *state = x;
    x
}

/// Why a gateway refuses an attach request; [`Refusal::status`] is its answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Refusal {
    /// Not `POST /.degu/attach`: `404`.
    NotAttach,
    /// A body, a bad or missing name: `400`.
    Malformed,
    /// A claimed name that differs from the certificate's, or a certificate without a
    /// valid name: `403`.
    Forbidden,
}

impl Refusal {
    /// The status the gateway answers with.
    pub const fn status(self) -> u16 {
        match self {
            Refusal::NotAttach => 404,
            Refusal::Malformed => 400,
            Refusal::Forbidden => 403,
        }
    }

    /// The reason phrase of [`Refusal::status`].
    pub const fn reason(self) -> &'static str {
        match self {
            Refusal::NotAttach => "Not Found",
            Refusal::Malformed => "Bad Request",
            Refusal::Forbidden => "Forbidden",
        }
    }
}

/// The gateway's side: the name an attach request registers, from its method, URI,
/// declared body length, claimed name ([`DEVICE_HEADER`]) and the verified certificate's
/// common name (`None` on a plain link).
pub fn attach_name<'a>(
    method: Method,
    uri: &str,
    body: crate::body::Framing,
    claimed: Option<&'a str>,
    certified: Option<&'a str>,
) -> Result<&'a str, Refusal> {
    if method != ATTACH_METHOD || uri != ATTACH_PATH {
        return Err(Refusal::NotAttach);
    }
    if !matches!(
        body,
        crate::body::Framing::None | crate::body::Framing::Length(0)
    ) {
        return Err(Refusal::Malformed);
    }
    match (certified, claimed) {
        (Some(cn), _) if !is_device_name(cn) => Err(Refusal::Forbidden),
        (Some(cn), Some(claim)) if claim != cn => Err(Refusal::Forbidden),
        (Some(cn), _) => Ok(cn),
        (None, Some(claim)) if is_device_name(claim) => Ok(claim),
        (None, _) => Err(Refusal::Malformed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::Framing;

    #[test]
    fn names() {
        assert!(is_device_name("sensor-1.a_b"));
        for bad in ["", ".hidden", "a/b", "a b", "é"] {
            assert!(!is_device_name(bad), "{bad:?}");
        }
        let long = [b'a'; MAX_DEVICE_NAME + 1];
        assert!(!is_device_name(core::str::from_utf8(&long).unwrap_or("")));
    }

    #[test]
    fn a_device_attaches_only_as_itself() {
        let at = |claim, cn| attach_name(Method::Post, ATTACH_PATH, Framing::None, claim, cn);
        assert_eq!(at(None, Some("a")), Ok("a"));
        assert_eq!(at(Some("a"), Some("a")), Ok("a"));
        assert_eq!(at(Some("b"), Some("a")), Err(Refusal::Forbidden));
        assert_eq!(at(None, Some("no/slash")), Err(Refusal::Forbidden));
        assert_eq!(at(Some("b"), None), Ok("b"));
        assert_eq!(at(None, None), Err(Refusal::Malformed));
        assert_eq!(at(Some("../x"), None), Err(Refusal::Malformed));
        let get = attach_name(Method::Get, ATTACH_PATH, Framing::None, None, Some("a"));
        assert_eq!(get, Err(Refusal::NotAttach));
        let body = attach_name(Method::Post, ATTACH_PATH, Framing::Chunked, None, Some("a"));
        assert_eq!(body, Err(Refusal::Malformed));
    }
}
