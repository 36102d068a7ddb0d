//! The client side: one connection, requests one after another, each exchange full
//! duplex: a request body is written while the response is read.
//!
//! There is one client. Its verbs live here; degu-std's async and blocking clients and
//! degu-embassy's client are this [`Connection`] over their own read and write halves,
//! and all of them return this [`Response`].

use super::body::{Pump, ReadState};
use super::write::{BodyWriter, Out};
use super::{Body, Error, Read, Write, has_close};
use crate::body::{ChunkExt, Framing};
use crate::error::{ParseError, RenderError};
use crate::limits::{MAX_HEAD_LEN, MAX_OUTPUT_HEADERS};
use crate::wire::head::{Header, Headers, Method};
use crate::wire::parse::ResponseParser;
use crate::wire::range::ContentRange;
use crate::wire::render::render_request;
use crate::wire::uri::Target;
use core::ops::{Deref, DerefMut};

/// Interim (1xx) responses skipped before a final one; more is a protocol error.
pub const MAX_INTERIM_RESPONSES: usize = 8;

/// Headers sent with every request of a connection (the Python original's
/// `base_headers`: `host`, `authorization`, ...), set once per client.
///
/// A header the call itself passes wins over a base header of the same name. Adapters
/// implement it over their own storage (degu-std over owned strings); `()` is none and
/// a `&[Header]` is a fixed list.
pub trait BaseHeaders {
    /// Call `f` with the base headers (an implementation that cannot list them, e.g.
    /// more than fit its stack list, fails with [`RenderError::TooManyHeaders`]).
    fn with<T>(
        &self,
        f: impl FnOnce(&[Header<'_>]) -> Result<T, RenderError>,
    ) -> Result<T, RenderError>;

    /// Called once as each request starts, before its head is rendered: the client's
    /// per-request set-up besides headers (degu-std starts its whole-request deadline
    /// here, since the engine reads no clock). Does nothing by default.
    fn on_request(&self) {}
}

impl BaseHeaders for () {
    fn with<T>(
        &self,
        f: impl FnOnce(&[Header<'_>]) -> Result<T, RenderError>,
    ) -> Result<T, RenderError> {
        f(&[])
    }
}

impl BaseHeaders for &[Header<'_>] {
    fn with<T>(
        &self,
        f: impl FnOnce(&[Header<'_>]) -> Result<T, RenderError>,
    ) -> Result<T, RenderError> {
        f(self)
    }
}

/// Whether a connection can take another request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Link {
    /// Requests may follow (once the last response body is read).
    Open,
    /// An error, `connection: close`, or a request body left unsent: no more requests.
    Closed,
}

/// Where the request side of the current exchange is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outgoing {
    /// Nothing is being sent: the last request went out whole.
    Idle,
    /// A request is on its way; if it never completes the connection is out of step.
    Sending,
}

/// The receive side: where the last response's body starts in the read buffer.
struct Rx {
    /// Offset of the body buffer in the read buffer; `rs` is relative to it.
    base: usize,
    rs: ReadState,
}

/// A client connection: requests one after another over a read half `R` and a write
/// half `W`, with caller buffers `B` (`&mut [u8]` on firmware, `Box<[u8]>` on a host)
/// and base headers `H`.
///
/// Every exchange is full duplex: the simple verbs ([`Connection::request`],
/// [`Connection::get`], ...) keep sending the request body while the response is read,
/// so a server that answers early (a refusal, or an echo that streams back as it reads)
/// gets its answer to the caller. [`Connection::send`] hands out both halves of an
/// exchange to drive concurrently. A response body must be read to its end before the
/// next request; any error closes the connection and every later call returns
/// [`Error::Closed`].
pub struct Connection<R, W, B, H = ()> {
    reader: R,
    writer: W,
    rbuf: B,
    wbuf: B,
    base: H,
    rx: Rx,
    link: Link,
    outgoing: Outgoing,
}

/// A response head with its body.
///
/// `P` is what the body still does while it waits for the stream: on a response from
/// the simple verbs, the rest of the request body ([`Upload`]); `()` otherwise.
pub struct Response<'c, R, P = ()> {
    /// Status code.
    pub status: u16,
    /// Reason phrase.
    pub reason: &'c str,
    /// Headers, names lower-cased.
    pub headers: Headers<'c>,
    /// The typed `content-range` header.
    pub content_range: Option<ContentRange>,
    /// The framing the headers declare: for a response to HEAD, the framing its GET
    /// would have, while [`Body::framing`] says no body follows.
    pub declared: Framing,
    /// The body (empty for HEAD, 1xx, 204 and 304).
    pub body: Body<'c, R, P>,
    method: Method,
}

impl<R: Read, P: Pump> Response<'_, R, P> {
    /// The framing a relay of this response declares to its own client: for a response
    /// to HEAD what the headers declare (no body follows either way), otherwise the
    /// body's own.
    pub fn forward_framing(&self) -> Framing {
        match self.method {
            Method::Head => self.declared,
            _ => self.body.framing(),
        }
    }
}

impl<R: Read, W: Write, B: AsMut<[u8]>> Connection<R, W, B> {
    /// A connection over a stream's read and write halves, with a read buffer (largest
    /// response head it accepts) and a write buffer (largest request head it sends).
    pub fn new(reader: R, writer: W, read_buffer: B, write_buffer: B) -> Self {
        Connection {
            reader,
            writer,
            rbuf: read_buffer,
            wbuf: write_buffer,
            base: (),
            rx: Rx {
                base: 0,
                rs: ReadState::new(Framing::None, 0),
            },
            link: Link::Open,
            outgoing: Outgoing::Idle,
        }
    }
}

impl<R: Read, W: Write, B: AsMut<[u8]>, H: BaseHeaders> Connection<R, W, B, H> {
    /// The same connection sending `base` with every request.
    pub fn with_base_headers<H2: BaseHeaders>(self, base: H2) -> Connection<R, W, B, H2> {
        Connection {
            reader: self.reader,
            writer: self.writer,
            rbuf: self.rbuf,
            wbuf: self.wbuf,
            base,
            rx: self.rx,
            link: self.link,
            outgoing: self.outgoing,
        }
    }

    /// Whether the connection takes no more requests: an error, a `connection: close`
    /// from the server, or a request body that was not sent whole.
    pub fn is_closed(&self) -> bool {
        self.link == Link::Closed || self.rx.rs.failed || self.outgoing == Outgoing::Sending
    }

    /// Give back the stream's halves.
    pub fn into_inner(self) -> (R, W) {
        (self.reader, self.writer)
    }

    /// The read half.
    pub fn reader(&self) -> &R {
        &self.reader
    }

    /// The read half, to ask it about the stream between exchanges (a gateway checks
    /// whether an idle attachment's device has hung up). Reading from it directly puts
    /// the connection out of step.
    pub fn reader_mut(&mut self) -> &mut R {
        &mut self.reader
    }

    /// Start an exchange: render the request head (base headers merged in) and return
    /// the request body's writer and the response still to come. Drive them
    /// concurrently (e.g. `join`) for full duplex, or one after the other when the
    /// server reads the whole body before it answers.
    ///
    /// `framing` is the request body's: [`Framing::None`], a length, or chunked (only
    /// PUT and POST carry a body). The head is in the write buffer when this returns,
    /// so `headers` need not outlive the call.
    ///
    /// ```
    /// # use degu_core::engine::{Connection, Error, Read, Write};
    /// # use degu_core::{Framing, Method};
    /// # async fn upload<R: Read, W: Write>(
    /// #     conn: &mut Connection<R, W, &mut [u8]>, data: &[u8],
    /// # ) -> Result<u16, Error> {
    /// use embassy_futures::join::join;
    ///
    /// let (mut body, response) = conn.send(Method::Put, "/echo", &[], Framing::Chunked)?;
    /// let sending = async {
    ///     body.write_chunk(None, data).await?;
    ///     body.finish(None).await
    /// };
    /// // The response is read while the body goes out: an early answer is never lost.
    /// let (sent, response) = join(sending, response.receive()).await;
    /// let mut response = response?;
    /// sent?;
    /// let mut buf = [0u8; 64];
    /// while response.body.read(&mut buf).await? > 0 {}
    /// # Ok(response.status)
    /// # }
    /// ```
    pub fn send(
        &mut self,
        method: Method,
        uri: &str,
        headers: &[Header<'_>],
        framing: Framing,
    ) -> Result<(RequestBody<'_, W>, PendingResponse<'_, R>), Error> {
        self.begin()?;
        self.base.on_request();
        let target = Target::split(uri);
        let base = &self.base;
        let out = Out::new(
            &mut self.writer,
            self.wbuf.as_mut(),
            framing,
            false,
            |buf| base.with(|base| render_merged(buf, method, target, base, headers, framing)),
        )?;
        self.outgoing = Outgoing::Sending;
        let body = RequestBody {
            body: BodyWriter::new(out),
            outgoing: &mut self.outgoing,
        };
        let response = PendingResponse {
            reader: &mut self.reader,
            buf: self.rbuf.as_mut(),
            rx: &mut self.rx,
            link: &mut self.link,
            method,
        };
        Ok((body, response))
    }

    /// Send a request with an optional body (`content-length` framing; only PUT and
    /// POST may have one) and read the response head.
    ///
    /// The body is written while the response is awaited, and whatever is left of it
    /// keeps going out while the response body is read. A server that answers before
    /// the body is all written gets its response to the caller (status, headers, body)
    /// and the connection is closed afterwards.
    pub async fn request<'c>(
        &'c mut self,
        method: Method,
        uri: &str,
        headers: &[Header<'_>],
        body: Option<&'c [u8]>,
    ) -> Result<Response<'c, R, Upload<'c, W>>, Error> {
        let framing = body.map_or(Framing::None, |b| Framing::Length(b.len() as u64));
        let (request, response) = self.send(method, uri, headers, framing)?;
        let RequestBody {
            body: BodyWriter { mut out },
            outgoing,
        } = request;
        let rest = out.stage_body(body.unwrap_or(&[]))?;
        let upload = Upload {
            out,
            rest,
            outgoing,
            state: UploadState::Sending,
        };
        response.receive_with(upload).await
    }

    /// `GET uri`.
    pub async fn get(
        &mut self,
        uri: &str,
        headers: &[Header<'_>],
    ) -> Result<Response<'_, R, Upload<'_, W>>, Error> {
        self.request(Method::Get, uri, headers, None).await
    }

    /// `GET uri` for bytes `start..stop` (`stop` exclusive, as the Python original's
    /// `get_range`): a `range: bytes=<start>-<stop - 1>` header. A server that honours it
    /// answers `206` with the typed [`Response::content_range`]; `start >= stop` is
    /// [`RenderError::BadRange`].
    pub async fn get_range(
        &mut self,
        uri: &str,
        headers: &[Header<'_>],
        start: u64,
        stop: u64,
    ) -> Result<Response<'_, R, Upload<'_, W>>, Error> {
        let range = crate::wire::range::Range::new(start, stop)
            .ok_or(Error::Render(RenderError::BadRange))?
            .to_value();
        let too_many = Error::Render(RenderError::TooManyHeaders);
        let mut all: heapless::Vec<Header<'_>, MAX_OUTPUT_HEADERS> = heapless::Vec::new();
        all.push(Header::new("range", &range))
            .map_err(|_| too_many)?;
        all.extend_from_slice(headers).map_err(|_| too_many)?;
        self.request(Method::Get, uri, &all, None).await
    }

    /// `HEAD uri` (the response never has a body).
    pub async fn head(
        &mut self,
        uri: &str,
        headers: &[Header<'_>],
    ) -> Result<Response<'_, R, Upload<'_, W>>, Error> {
        self.request(Method::Head, uri, headers, None).await
    }

    /// `DELETE uri`.
    pub async fn delete(
        &mut self,
        uri: &str,
        headers: &[Header<'_>],
    ) -> Result<Response<'_, R, Upload<'_, W>>, Error> {
        self.request(Method::Delete, uri, headers, None).await
    }

    /// `PUT uri` with `body`.
    pub async fn put<'c>(
        &'c mut self,
        uri: &str,
        headers: &[Header<'_>],
        body: &'c [u8],
    ) -> Result<Response<'c, R, Upload<'c, W>>, Error> {
        self.request(Method::Put, uri, headers, Some(body)).await
    }

    /// `POST uri` with `body`.
    pub async fn post<'c>(
        &'c mut self,
        uri: &str,
        headers: &[Header<'_>],
        body: &'c [u8],
    ) -> Result<Response<'c, R, Upload<'c, W>>, Error> {
        self.request(Method::Post, uri, headers, Some(body)).await
    }

    /// Refuse to start while closed, while the last request is unsent or while the
    /// last body is unread, then move the leftover (pipelined) bytes to the front.
    fn begin(&mut self) -> Result<(), Error> {
        if self.is_closed() {
            self.link = Link::Closed;
            return Err(Error::Closed);
        }
        if !self.rx.rs.decoder.is_done() {
            self.link = Link::Closed;
            return Err(Error::BodyNotConsumed);
        }
        let (start, end) = (
            self.rx.base + self.rx.rs.start,
            self.rx.base + self.rx.rs.end,
        );
        self.rbuf.as_mut().copy_within(start..end, 0);
        self.rx.base = 0;
        self.rx.rs = ReadState::new(Framing::None, end - start);
        Ok(())
    }
}

/// Render a request head with `base` headers the call's `headers` do not override.
fn render_merged(
    buf: &mut [u8],
    method: Method,
    target: Target<'_>,
    base: &[Header<'_>],
    headers: &[Header<'_>],
    framing: Framing,
) -> Result<usize, RenderError> {
    if base.is_empty() {
        return render_request(buf, method, target, headers, framing);
    }
    let mut all: heapless::Vec<Header<'_>, MAX_OUTPUT_HEADERS> = heapless::Vec::new();
    let extra = base
        .iter()
        .filter(|b| !headers.iter().any(|h| h.name == b.name));
    for h in extra.chain(headers) {
        all.push(*h).map_err(|_| RenderError::TooManyHeaders)?;
    }
    render_request(buf, method, target, &all, framing)
}

/// The request body of an exchange started with [`Connection::send`]: a
/// [`BodyWriter`] (write, chunks) that must end with [`RequestBody::finish`], or the
/// connection closes after this exchange.
pub struct RequestBody<'c, W> {
    body: BodyWriter<'c, W>,
    outgoing: &'c mut Outgoing,
}

impl<W: Write> RequestBody<'_, W> {
    /// End the body (the last chunk with `last` as its extension; `None` for a length
    /// body, where fewer bytes than declared is an error) and flush it.
    pub async fn finish(mut self, last: Option<ChunkExt<'_>>) -> Result<(), Error> {
        self.body.end(last).await?;
        *self.outgoing = Outgoing::Idle;
        Ok(())
    }
}

impl<'c, W> Deref for RequestBody<'c, W> {
    type Target = BodyWriter<'c, W>;
    fn deref(&self) -> &Self::Target {
        &self.body
    }
}

impl<W> DerefMut for RequestBody<'_, W> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.body
    }
}

/// The response of an exchange started with [`Connection::send`], not read yet.
pub struct PendingResponse<'c, R> {
    reader: &'c mut R,
    buf: &'c mut [u8],
    rx: &'c mut Rx,
    link: &'c mut Link,
    method: Method,
}

impl<'c, R: Read> PendingResponse<'c, R> {
    /// Read the response head (interim 1xx responses are skipped).
    pub async fn receive(self) -> Result<Response<'c, R>, Error> {
        self.receive_with(()).await
    }

    /// Read the response head while `pump` works, and hand `pump` on to the body.
    async fn receive_with<P: Pump>(self, mut pump: P) -> Result<Response<'c, R, P>, Error> {
        let PendingResponse {
            reader,
            buf,
            rx,
            link,
            method,
        } = self;
        let (parser, head_len, filled) = match read_head(reader, buf, rx.rs.end, &mut pump).await {
            Ok(n) => n,
            Err(e) => {
                *link = Link::Closed;
                return Err(e);
            }
        };
        let (head_buf, rest) = buf.split_at_mut(head_len);
        let head = match parser.head(head_buf, method) {
            Ok(h) => h,
            Err(e) => {
                *link = Link::Closed;
                return Err(Error::Parse(e));
            }
        };
        if head.headers.get("connection").is_some_and(has_close) {
            // The body can still be read; no request may follow it.
            *link = Link::Closed;
        }
        rx.base = head_len;
        rx.rs = ReadState::new(head.framing, filled - head_len);
        Ok(Response {
            status: head.status,
            reason: head.reason,
            headers: head.headers,
            content_range: head.content_range,
            declared: head.declared,
            body: Body::with_pump(reader, rest, &mut rx.rs, pump),
            method,
        })
    }
}

/// Read until a final (non-1xx) response head is buffered, parsing each line once as it
/// comes in: its parser (for the caller to take the head from), its length and the bytes
/// buffered. Interim heads are checked whole and dropped.
async fn read_head<R: Read, P: Pump>(
    reader: &mut R,
    buf: &mut [u8],
    mut filled: usize,
    pump: &mut P,
) -> Result<(ResponseParser, usize, usize), Error> {
    let limit = buf.len().min(MAX_HEAD_LEN);
    let mut interim = 0;
    loop {
        let mut parser = ResponseParser::new();
        let len = loop {
            if filled > 0 {
                let seen = buf.get_mut(..filled).unwrap_or(&mut []);
                if let Some(len) = parser.feed(seen, limit)? {
                    break len;
                }
            }
            let space = buf.get_mut(filled..limit).unwrap_or(&mut []);
            let n = pump.read_with(reader, space).await.map_err(Error::io)?;
            if n == 0 {
                return Err(Error::Closed);
            }
            filled += n;
        };
        // An interim response (100 Continue, 103 Early Hints).
        if parser.status().is_none_or(|s| s >= 200) {
            return Ok((parser, len, filled));
        }
        parser.head(buf.get(..len).unwrap_or(&[]), Method::Get)?;
        interim += 1;
        if interim > MAX_INTERIM_RESPONSES {
            return Err(Error::Parse(ParseError::BadStatus));
        }
        buf.copy_within(len..filled, 0);
        filled -= len;
    }
}

/// Where an [`Upload`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum UploadState {
    /// Bytes (or the final flush) are still owed.
    Sending,
    /// All sent and flushed.
    Sent,
    /// A write failed (the server closed, or reset): nothing more is sent, and the
    /// connection closes after this exchange; the response may still be read.
    Failed,
}

/// The rest of a simple verb's request body, sent whenever its response waits for the
/// stream (the [`Pump`] of its [`Response`]).
pub struct Upload<'c, W> {
    out: Out<'c, W>,
    rest: &'c [u8],
    outgoing: &'c mut Outgoing,
    state: UploadState,
}

impl<W> Upload<'_, W> {
    /// Whether the whole request has been sent.
    pub fn is_sent(&self) -> bool {
        self.state == UploadState::Sent
    }
}

impl<W: Write> Pump for Upload<'_, W> {
    fn is_idle(&self) -> bool {
        self.state != UploadState::Sending
    }

    async fn step(&mut self) {
        match self.out.step(&mut self.rest).await {
            Ok(false) => {}
            Ok(true) => {
                self.state = UploadState::Sent;
                *self.outgoing = Outgoing::Idle;
            }
            Err(e) => {
                debug!("request body not sent whole: {}", e);
                self.state = UploadState::Failed;
            }
        }
    }
}
