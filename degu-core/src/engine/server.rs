//! The server side: the keep-alive loop for one connection and the [`Responder`]
//! typestate handed to applications.

use super::app::{App, Request, Session};
use super::body::ReadState;
use super::write::{BodyWriter, Out, Progress};
use super::{Body, BufferSource, ConnBuffers, Error, Phase, Readable, Transport, Write, has_close};
use crate::body::{ChunkExt, Framing};
use crate::limits::MAX_HEAD_LEN;
use crate::wire::head::{Header, Method, RequestHead};
use crate::wire::parse::RequestParser;
use crate::wire::render::render_response;
use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};

/// How long a server keeps a connection: the keep-alive limits of [`serve`]. A plain
/// struct with `const fn` defaults, so firmware can keep it in a
/// `static`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct KeepAlive {
    /// Requests served on one connection before it is closed (default
    /// [`KeepAlive::DEFAULT_MAX_REQUESTS`]).
    pub max_requests: u32,
    /// Request body bytes the server reads and discards when a handler leaves a body
    /// unread, so the connection can be kept; a longer remainder closes it instead
    /// (default [`KeepAlive::DEFAULT_DRAIN_LIMIT`]).
    pub drain_limit: u64,
}

impl KeepAlive {
    /// The Python original's `max_requests`.
    pub const DEFAULT_MAX_REQUESTS: u32 = 1000;
    /// 64 KiB.
    pub const DEFAULT_DRAIN_LIMIT: u64 = 64 * 1024;

    /// The defaults.
    pub const fn new() -> Self {
        KeepAlive {
            max_requests: Self::DEFAULT_MAX_REQUESTS,
            drain_limit: Self::DEFAULT_DRAIN_LIMIT,
        }
    }

    /// With a different `max_requests`.
    pub const fn max_requests(mut self, n: u32) -> Self {
        self.max_requests = n;
        self
    }

    /// With a different `drain_limit`.
    pub const fn drain_limit(mut self, bytes: u64) -> Self {
        self.drain_limit = bytes;
        self
    }
}

impl Default for KeepAlive {
    fn default() -> Self {
        Self::new()
    }
}

/// Why [`serve`] returned without an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ServerEnd {
    /// The peer closed between requests.
    PeerClosed,
    /// `on_connect` refused the connection.
    Refused,
    /// `max_requests` was reached.
    MaxRequests,
    /// The request asked for `connection: close`.
    CloseRequested,
    /// The application answered with a status that closes (>= 400 but 404, 409, 412).
    StatusClose(u16),
    /// The handler left more of the request body unread than `drain_limit`.
    BodyNotRead,
}

/// Proof that a response was sent, with what was sent: its status and the body bytes
/// that went out. Only a [`Responder`] (or the [`ResponseBody`] it turns into) can make
/// one, so a wrapping app (a request logger, metrics) that gets it back from the app it
/// wraps learns what that app really sent.
///
/// `'r` is the lifetime of the [`Responder`] that made it, and `Sent` is invariant in it:
/// a handler, generic over `'r`, can return only the `Sent` of the responder it was given,
/// never one from elsewhere, which the compiler checks. A `Sent` kept from another
/// request does not compile:
///
/// ```compile_fail
/// use degu_core::app::{App, Error, Read, Request, Responder, Sent, Session, Write};
///
/// struct Replay;
///
/// impl App for Replay {
///     type State = Option<Sent<'static>>;
///
///     async fn handle<'r, R: Read, W: Write>(
///         &self,
///         session: &mut Session<'_, Self::State>,
///         _request: Request<'_, R>,
///         responder: Responder<'r, W>,
///     ) -> Result<Sent<'r>, Error> {
///         drop(responder);
///         session.state.take().ok_or(Error::App) // Sent<'static> is not Sent<'r>
///     }
/// }
/// ```
///
/// and neither does one made by hand (its field is private):
///
/// ```compile_fail
/// let sent: degu_core::app::Sent<'static> = degu_core::app::Sent { _brand: core::marker::PhantomData };
/// ```
#[must_use = "return the Sent from your handler"]
#[derive(Debug)]
pub struct Sent<'r> {
    status: u16,
    body_bytes: u64,
    _brand: PhantomData<fn(&'r ()) -> &'r ()>,
}

impl Sent<'_> {
    /// The response's status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Body data bytes written to the connection: the content of a length body or of
    /// every chunk, without heads or chunk framing; 0 for a response to HEAD, which
    /// declares a body but never sends it.
    pub fn body_bytes(&self) -> u64 {
        self.body_bytes
    }
}

/// The response side of one request: a typestate consumed by sending.
pub struct Responder<'r, W> {
    writer: &'r mut W,
    buf: &'r mut [u8],
    method: Method,
    state: &'r mut ResponseState,
}

#[derive(Debug, Default)]
struct ResponseState {
    /// The status rendered (0 until a head is).
    status: u16,
    progress: Progress,
    /// The app asked to keep the connection despite an error status.
    keep: bool,
}

impl<'r, W: Write> Responder<'r, W> {
    /// The request's method (a response to HEAD never carries a body).
    pub fn method(&self) -> Method {
        self.method
    }

    /// Keep the connection open after this response even if its status would close it
    /// (>= 400 other than 404, 409 and 412). A gateway answering 502 or 504 for an
    /// upstream failure uses this: the client's connection is fine. `connection: close`,
    /// `max_requests` and an unread request body still close.
    pub fn keep_alive(self) -> Self {
        self.state.keep = true;
        self
    }

    fn out(
        self,
        status: u16,
        reason: &str,
        headers: &[Header<'_>],
        framing: Framing,
    ) -> Result<Out<'r, W>, Error> {
        let discard = self.method == Method::Head;
        let out = Out::new(self.writer, self.buf, framing, discard, |buf| {
            render_response(buf, status, reason, headers, framing)
        })?;
        let ResponseState {
            status: st,
            progress,
            ..
        } = self.state;
        *st = status;
        // Rendered is not sent: until a byte is written (`Progress::Started`), an error
        // can still be answered with a status of the engine's own.
        Ok(out.track(progress))
    }

    /// Send a response with `body` (`content-length` framing; an empty body still says
    /// `content-length: 0` except on 1xx, 204 and 304, which never have one).
    ///
    /// The head is rendered when this is called, so the future holds only the message
    /// being written and `body`, not the reason and the header list: every connection's
    /// future is that much smaller on a device.
    pub fn send<'b>(
        self,
        status: u16,
        reason: &str,
        headers: &[Header<'_>],
        body: &'b [u8],
    ) -> impl Future<Output = Result<Sent<'r>, Error>> + use<'r, 'b, W> {
        let framing = if body.is_empty() && bodiless(status) {
            Framing::None
        } else {
            Framing::Length(body.len() as u64)
        };
        let mut out = self.out(status, reason, headers, framing);
        async move {
            // Through a reference: a moved-out binding would take a second slot in the
            // future beside the captured one.
            let out = out.as_mut().map_err(|e| *e)?;
            let mut rest = out.whole_body(body)?;
            // `Out::step`, awaited here: one nested future less in every response.
            loop {
                let staged = out.has_staged();
                let Some(write) = out.step_write(rest) else {
                    break;
                };
                let n = write.await;
                out.stepped(staged, n, &mut rest)?;
            }
            out.end_length()?.await.map_err(Error::io)?;
            Ok(sent(out, status))
        }
    }

    /// Start a response whose body of exactly `length` bytes is written in pieces.
    pub async fn stream(
        self,
        status: u16,
        reason: &str,
        headers: &[Header<'_>],
        length: u64,
    ) -> Result<ResponseBody<'r, W>, Error> {
        self.body(status, reason, headers, Framing::Length(length))
    }

    /// Start a chunked response; chunks may carry an extension each.
    pub async fn chunked(
        self,
        status: u16,
        reason: &str,
        headers: &[Header<'_>],
    ) -> Result<ResponseBody<'r, W>, Error> {
        self.body(status, reason, headers, Framing::Chunked)
    }

    /// Start a response with the body framing `framing` (a relay passes on the framing
    /// of the body it copies: see [`relay`](super::relay)). [`Framing::None`] is an
    /// empty body, framed as [`Responder::send`] frames one.
    pub fn body(
        self,
        status: u16,
        reason: &str,
        headers: &[Header<'_>],
        framing: Framing,
    ) -> Result<ResponseBody<'r, W>, Error> {
        let framing = match framing {
            Framing::None if !bodiless(status) => Framing::Length(0),
            f => f,
        };
        let out = self.out(status, reason, headers, framing)?;
        Ok(ResponseBody {
            body: BodyWriter::new(out),
            status,
        })
    }
}

fn bodiless(status: u16) -> bool {
    status < 200 || status == 204 || status == 304
}

/// The one place a [`Sent`] is made: the response went out whole.
fn sent<'r, W: Write>(out: &mut Out<'r, W>, status: u16) -> Sent<'r> {
    out.complete();
    Sent {
        status,
        body_bytes: out.body_bytes(),
        _brand: PhantomData,
    }
}

/// A response body being written: a [`BodyWriter`] (data, chunks) whose
/// [`ResponseBody::finish`] gives the [`Sent`] a handler returns.
pub struct ResponseBody<'r, W> {
    body: BodyWriter<'r, W>,
    status: u16,
}

impl<'r, W: Write> ResponseBody<'r, W> {
    /// End the response: the last chunk with `last` as its extension (`None` for a
    /// length body, where fewer bytes than declared is an error), then flush.
    pub async fn finish(mut self, last: Option<ChunkExt<'_>>) -> Result<Sent<'r>, Error> {
        self.body.end(last).await?;
        Ok(sent(&mut self.body.out, self.status))
    }
}

impl<'r, W> Deref for ResponseBody<'r, W> {
    type Target = BodyWriter<'r, W>;
    fn deref(&self) -> &Self::Target {
        &self.body
    }
}

impl<W> DerefMut for ResponseBody<'_, W> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.body
    }
}

/// Serve one connection until it closes: read requests, hand them to `app`, keep the
/// connection alive as the wire rules say (README.md, "Wire rules").
///
/// `session` is created by the adapter (peer address, TLS identity, monitor) and keeps
/// the app's per-connection state. Bad requests are answered with their status and
/// `connection: close`, then the connection is closed; errors are returned after that.
///
/// Between requests the connection holds no buffers: it waits until its reader is
/// [`Readable`](super::Readable), then leases buffers from `buffers` (any
/// [`ConnBuffers`](super::ConnBuffers) lends itself) for the request and for any request
/// pipelined behind it, and gives them back when it is idle again.
pub async fn serve<T: Transport, A: App, S: BufferSource>(
    io: &mut T,
    buffers: &mut S,
    app: &A,
    session: &mut Session<'_, A::State>,
    config: &KeepAlive,
) -> Result<ServerEnd, Error> {
    let (mut reader, mut writer) = io.split();
    // The connection's loop is here, not in a function of its own awaited here: each
    // await of a nested future is code and bytes in every connection's future.
    let result = if app.on_connect(session) {
        loop {
            // Idle without buffers until the next request's first byte (or the peer's
            // close).
            if let Err(e) = reader.readable().await {
                let e = Error::io(e);
                debug!("closing after error: {}", e);
                break Err(e);
            }
            let mut lease = buffers.lease().await;
            let (rbuf, wbuf) = lease.split();
            let mut resume = Resume::default();
            let ended = loop {
                let burst = serve_requests(
                    &mut reader,
                    &mut writer,
                    rbuf,
                    wbuf,
                    app,
                    session,
                    config,
                    &mut resume,
                );
                // The engine's own responses: an interim 100 (then the request goes on)
                // or an error's status (then the connection closes). One await for both:
                // each is code and state in every connection's future.
                let (status, failure) = match burst.await {
                    Ok(Burst::Idle) => {
                        reader.set_phase(Phase::Idle);
                        break None;
                    }
                    Ok(Burst::End(end)) => break Some(Ok(end)),
                    Ok(Burst::Continue) => (100, None),
                    // Nobody to answer.
                    Ok(Burst::Fail(e @ (Error::Io(_) | Error::Closed))) | Err(e) => {
                        break Some(Err(e));
                    }
                    Ok(Burst::Fail(e)) => (e.status(), Some(e)),
                };
                let close = [Header::new("connection", "close")];
                let (reason, headers): (&str, &[Header<'_>]) = match failure {
                    Some(_) => (reason(status), &close),
                    None => ("Continue", &[]),
                };
                let mut state = ResponseState::default();
                let responder = Responder {
                    writer: &mut writer,
                    buf: &mut *wbuf,
                    method: Method::Get,
                    state: &mut state,
                };
                let answered = responder.send(status, reason, headers, b"").await;
                match (failure, answered) {
                    // The connection is closing either way; a failed write changes
                    // nothing.
                    (Some(e), _) => {
                        debug!("closing after error: {}", e);
                        break Some(Err(e));
                    }
                    (None, Err(e)) => break Some(Err(e)),
                    (None, Ok(_)) => {}
                }
            };
            if let Some(end) = ended {
                break end;
            }
            // `lease` drops here: the buffers go back while the connection is idle.
        }
    } else {
        debug!("connection refused by on_connect");
        Ok(ServerEnd::Refused)
    };
    reader.set_phase(Phase::Done);
    result
}

/// How a run of requests on one lease ended.
enum Burst {
    /// Every request so far is answered and nothing is pipelined: the connection is idle.
    Idle,
    /// The connection closes.
    End(ServerEnd),
    /// The request asks for `100 Continue` (`expect`): send it, then serve the request
    /// on from [`Resume`].
    Continue,
    /// The request failed before any response byte: answer with the error's status,
    /// then close. (One `fail` await in the caller, not one per failure site here: each
    /// await point is code and state in the connection's future.)
    Fail(Error),
}

/// Where [`serve_requests`] takes up again after a [`Burst::Continue`]: the bytes in the
/// read buffer (the request's head, parsed again, and what came after it), and that its
/// `100 Continue` is sent.
#[derive(Default)]
struct Resume {
    filled: usize,
    continued: bool,
}

/// Serve requests with `rbuf`/`wbuf` as long as pipelined bytes are waiting after each
/// one; the first request's bytes are on their way (the reader was readable), or in
/// `rbuf` already (`resume`).
#[allow(clippy::too_many_arguments)]
async fn serve_requests<R: Readable, W: Write, A: App>(
    reader: &mut R,
    writer: &mut W,
    rbuf: &mut [u8],
    wbuf: &mut [u8],
    app: &A,
    session: &mut Session<'_, A::State>,
    config: &KeepAlive,
    resume: &mut Resume,
) -> Result<Burst, Error> {
    let mut filled = resume.filled;
    loop {
        let continued = core::mem::take(&mut resume.continued);
        // Read until `rbuf[..filled]` holds a complete head, parsing each line once as it
        // comes in (the parser resumes where the last read left off). In this loop, not
        // an `async fn` of its own: one nested future less in every connection's future.
        let mut slot = HeadSlot::Parsing(RequestParser::new());
        let parser = match slot.parser() {
            Ok(p) => p,
            Err(e) => return Ok(Burst::Fail(e)),
        };
        let limit = rbuf.len().min(MAX_HEAD_LEN);
        let mut in_head = false;
        let head_len = loop {
            if filled > 0 {
                if !in_head {
                    // The head's clock starts here: its first bytes are in.
                    in_head = true;
                    reader.set_phase(Phase::Head);
                }
                // A bad line is refused as soon as it is in, not when the buffer is full.
                let seen = rbuf.get_mut(..filled).unwrap_or(&mut []);
                match parser.feed(seen, limit) {
                    Ok(Some(len)) => break len,
                    Ok(None) => {}
                    Err(e) => return Ok(Burst::Fail(Error::Parse(e))),
                }
            }
            let space = rbuf.get_mut(filled..limit).unwrap_or(&mut []);
            match reader.read(space).await {
                Ok(0) if filled == 0 => return Ok(Burst::End(ServerEnd::PeerClosed)),
                Ok(0) => return Ok(Burst::Fail(Error::Closed)),
                Ok(n) => filled += n,
                Err(e) => return Ok(Burst::Fail(Error::io(e))),
            }
        };
        reader.set_phase(Phase::Busy);
        // Unreachable (the head is in the buffer): a typed error, not a panic.
        let Some((head_buf, rest)) = rbuf.split_at_mut_checked(head_len) else {
            return Ok(Burst::Fail(Error::App));
        };
        let head = match slot.head(head_buf) {
            Ok(h) => h,
            Err(e) => return Ok(Burst::Fail(e)),
        };
        let close_requested = head.headers.get("connection").is_some_and(has_close);
        let expects_continue = head.framing != Framing::None
            && head
                .headers
                .get("expect")
                .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"));
        if expects_continue && !continued {
            // Eager 100-continue: the handler may read the body at any time, and the
            // client should not wait for it. Sent by the caller, as every response is and
            // through its one await for the engine's own responses; then this request's
            // head, still in `rbuf`, is parsed again (the same head) and served.
            *resume = Resume {
                filled,
                continued: true,
            };
            return Ok(Burst::Continue);
        }

        let mut rs = ReadState::new(head.framing, filled - head_len);
        let mut ws = ResponseState::default();
        let method = head.method;
        let request = Request {
            method,
            uri: head.uri,
            path: crate::wire::uri::PathCursor::new(head.target.path),
            query: head.target.query,
            headers: &head.headers,
            #[cfg(feature = "range")]
            range: head.range,
            body: Body::new(reader, rest, &mut rs),
        };
        let responder = Responder {
            writer,
            buf: wbuf,
            method,
            state: &mut ws,
        };
        // The `Sent` borrows this response's state: done with it here, the state is read.
        let handled = app.handle(session, request, responder).await.map(drop);
        match (handled, ws.progress) {
            (Ok(()), Progress::Complete) => {}
            // Unreachable: a handler's `Sent` is its own responder's (its lifetime says so),
            // made only on completion. A typed error, not a panic, all the same.
            (Ok(()), _) => return Err(Error::App),
            (Err(e), Progress::Pending) => return Ok(Burst::Fail(e)),
            (Err(e), Progress::Started | Progress::Complete) => return Err(e),
        }
        session.count_request();
        trace!("request done, status {}", ws.status);

        if !rs.decoder.is_done() {
            let rest = rbuf.get_mut(head_len..).unwrap_or(&mut []);
            let mut body = Body::new(reader, rest, &mut rs);
            // Discard up to `drain_limit` bytes of it; the read awaited here, not in a
            // future of the body's own (one nested future less).
            let mut left = config.drain_limit;
            let drained = loop {
                if let Some(done) = body.drain_step(&mut left)? {
                    break done;
                }
                let n = body.read_more()?.await;
                body.filled(n)?;
            };
            if !drained {
                return Ok(Burst::End(ServerEnd::BodyNotRead));
            }
        }
        if super::status_closes(ws.status) && !ws.keep {
            return Ok(Burst::End(ServerEnd::StatusClose(ws.status)));
        }
        if close_requested {
            return Ok(Burst::End(ServerEnd::CloseRequested));
        }
        if session.requests() >= config.max_requests {
            return Ok(Burst::End(ServerEnd::MaxRequests));
        }
        // Pipelined bytes after this request's body start the next request.
        let start = head_len + rs.start;
        let end = head_len + rs.end;
        super::body::shift_down(rbuf, start, end);
        filled = end - start;
        if filled == 0 {
            return Ok(Burst::Idle);
        }
        reader.set_phase(Phase::Idle);
    }
}

/// One request's head in the connection's future: its parser while the head comes in,
/// then the head. One local for both, so that they share their bytes: a local that lives
/// across several awaits (the head) gets bytes of its own in the future, beside those of
/// the locals that live across one await only (a parser), so two locals would take the
/// spans' 256 bytes twice.
enum HeadSlot<'b> {
    Parsing(RequestParser),
    Parsed(RequestHead<'b>),
}

impl<'b> HeadSlot<'b> {
    /// The parser, while the head is not parsed yet.
    fn parser(&mut self) -> Result<&mut RequestParser, Error> {
        match self {
            HeadSlot::Parsing(parser) => Ok(parser),
            // Unreachable: `serve_requests` asks for the parser before the head.
            HeadSlot::Parsed(_) => Err(Error::App),
        }
    }

    /// The head the parser found, `head` being its bytes: kept in the slot, in place of
    /// the parser.
    fn head(&mut self, head: &'b [u8]) -> Result<&RequestHead<'b>, Error> {
        *self = HeadSlot::Parsed(self.parser()?.head(head).map_err(Error::Parse)?);
        match self {
            HeadSlot::Parsed(head) => Ok(head),
            HeadSlot::Parsing(_) => Err(Error::App),
        }
    }
}

/// The reason phrase Degu sends with its own error responses.
///
/// Not inlined: inlined after [`Error::status`], the lookup becomes a table per error
/// variant for the phrase's address and another for its length, where this one search
/// of the few statuses is smaller.
#[inline(never)]
pub(crate) fn reason(status: u16) -> &'static str {
    // A table searched in a loop: smaller than a match's compare-and-load per status.
    const REASONS: [(u16, &str); 7] = [
        (400, "Bad Request"),
        (413, "Content Too Large"),
        (502, "Bad Gateway"),
        (414, "URI Too Long"),
        (431, "Request Header Fields Too Large"),
        (501, "Not Implemented"),
        (505, "HTTP Version Not Supported"),
    ];
    REASONS
        .iter()
        .find(|(s, _)| *s == status)
        .map_or("Internal Server Error", |(_, r)| r)
}
