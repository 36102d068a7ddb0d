//! The client side: one connection, sequential requests, responses read through the
//! same body machinery as the server's requests.

use super::body::ReadState;
use super::write::Out;
use super::{Body, Error, Read, Write};
use crate::body::{ChunkExt, Framing};
use crate::error::ParseError;
use crate::limits::{DEFAULT_MAX_HEADERS, MAX_HEAD_LEN};
use crate::wire::head::{Header, Headers, Method, Status};
use crate::wire::parse::{find_head_end, overflow_error, parse_response};
use crate::wire::range::ContentRange;
use crate::wire::render::render_request;
use crate::wire::uri::Target;

/// Interim (1xx) responses skipped before a final one; more is a protocol error.
pub const MAX_INTERIM_RESPONSES: usize = 8;

/// The receive side of a client connection.
struct Rx<B> {
    buf: B,
    /// Where the last response's body starts in `buf`; `rs` is relative to it.
    base: usize,
    rs: ReadState,
    closed: bool,
}

/// A client connection: one stream, requests one after another.
///
/// `B` is any byte storage (`&mut [u8]` on firmware, `Box<[u8]>` on a host). A response
/// body must be read to its end before the next request; any error closes the
/// connection and every later call returns [`Error::Closed`].
pub struct Connection<T, B> {
    io: T,
    wbuf: B,
    rx: Rx<B>,
}

/// A response head with its body.
pub struct Response<'c, T> {
    /// Status code.
    pub status: u16,
    /// Reason phrase.
    pub reason: &'c str,
    /// Headers, names lower-cased.
    pub headers: Headers<'c>,
    /// The typed `content-range` header.
    pub content_range: Option<ContentRange>,
    /// The body (empty for HEAD, 1xx, 204 and 304).
    pub body: Body<'c, T>,
}

impl<T: Read + Write, B: AsMut<[u8]>> Connection<T, B> {
    /// A connection over `io` with a read buffer (largest response head it accepts) and
    /// a write buffer (largest request head it sends).
    pub fn new(io: T, read_buffer: B, write_buffer: B) -> Self {
        Connection {
            io,
            wbuf: write_buffer,
            rx: Rx {
                buf: read_buffer,
                base: 0,
                rs: ReadState::new(Framing::None, 0),
                closed: false,
            },
        }
    }

    /// Whether an error closed the connection.
    pub fn is_closed(&self) -> bool {
        self.rx.closed || self.rx.rs.failed
    }

    /// Give back the stream.
    pub fn into_inner(self) -> T {
        self.io
    }

    /// The stream.
    pub fn get_ref(&self) -> &T {
        &self.io
    }

    /// Check the previous exchange is over, then render a request head.
    fn start(
        &mut self,
        method: Method,
        uri: &str,
        headers: &[Header<'_>],
        framing: Framing,
    ) -> Result<(Out<'_, T>, &mut Rx<B>), Error> {
        self.rx.begin()?;
        let target = Target::split(uri);
        let out = Out::new(&mut self.io, self.wbuf.as_mut(), framing, false, |buf| {
            render_request(buf, method, target, headers, framing)
        })?;
        Ok((out, &mut self.rx))
    }

    /// Send a request with an optional body (`content-length` framing; only PUT and
    /// POST may have one) and read the response head.
    pub async fn request(
        &mut self,
        method: Method,
        uri: &str,
        headers: &[Header<'_>],
        body: Option<&[u8]>,
    ) -> Result<Response<'_, T>, Error> {
        let framing = body.map_or(Framing::None, |b| Framing::Length(b.len() as u64));
        let (mut out, rx) = self.start(method, uri, headers, framing)?;
        let sent = match body {
            Some(b) => match out.data(b).await {
                Ok(()) => out.finish().await,
                Err(e) => Err(e),
            },
            None => out.finish().await,
        };
        let io = out.into_writer();
        rx.finish_exchange(sent, io, method).await
    }

    /// `GET uri`.
    pub async fn get(
        &mut self,
        uri: &str,
        headers: &[Header<'_>],
    ) -> Result<Response<'_, T>, Error> {
        self.request(Method::Get, uri, headers, None).await
    }

    /// `HEAD uri` (the response never has a body).
    pub async fn head(
        &mut self,
        uri: &str,
        headers: &[Header<'_>],
    ) -> Result<Response<'_, T>, Error> {
        self.request(Method::Head, uri, headers, None).await
    }

    /// `DELETE uri`.
    pub async fn delete(
        &mut self,
        uri: &str,
        headers: &[Header<'_>],
    ) -> Result<Response<'_, T>, Error> {
        self.request(Method::Delete, uri, headers, None).await
    }

    /// `PUT uri` with `body`.
    pub async fn put(
        &mut self,
        uri: &str,
        headers: &[Header<'_>],
        body: &[u8],
    ) -> Result<Response<'_, T>, Error> {
        self.request(Method::Put, uri, headers, Some(body)).await
    }

    /// `POST uri` with `body`.
    pub async fn post(
        &mut self,
        uri: &str,
        headers: &[Header<'_>],
        body: &[u8],
    ) -> Result<Response<'_, T>, Error> {
        self.request(Method::Post, uri, headers, Some(body)).await
    }

    /// Render a request head now and return the writer for its body: `Some(n)` bytes
    /// framed by length, or no body at all. The head is in the write buffer when this
    /// returns, so `headers` need not outlive the call (a caller building headers on
    /// its stack keeps them out of its future).
    pub fn begin(
        &mut self,
        method: Method,
        uri: &str,
        headers: &[Header<'_>],
        length: Option<u64>,
    ) -> Result<LengthRequest<'_, T, B>, Error> {
        let framing = length.map_or(Framing::None, Framing::Length);
        let (out, rx) = self.start(method, uri, headers, framing)?;
        Ok(LengthRequest { out, rx, method })
    }

    /// Start a request whose body of exactly `length` bytes is written in pieces.
    pub fn stream(
        &mut self,
        method: Method,
        uri: &str,
        headers: &[Header<'_>],
        length: u64,
    ) -> Result<LengthRequest<'_, T, B>, Error> {
        let (out, rx) = self.start(method, uri, headers, Framing::Length(length))?;
        Ok(LengthRequest { out, rx, method })
    }

    /// Start a chunked request (PUT or POST); chunks may carry an extension each.
    pub fn chunked(
        &mut self,
        method: Method,
        uri: &str,
        headers: &[Header<'_>],
    ) -> Result<ChunkedRequest<'_, T, B>, Error> {
        let (out, rx) = self.start(method, uri, headers, Framing::Chunked)?;
        Ok(ChunkedRequest { out, rx, method })
    }
}

impl<B: AsMut<[u8]>> Rx<B> {
    /// Refuse to start while closed or while the last body is unread, then move the
    /// leftover (pipelined) bytes to the front.
    fn begin(&mut self) -> Result<(), Error> {
        if self.closed || self.rs.failed {
            self.closed = true;
            return Err(Error::Closed);
        }
        if !self.rs.decoder.is_done() {
            self.closed = true;
            return Err(Error::BodyNotConsumed);
        }
        let (start, end) = (self.base + self.rs.start, self.base + self.rs.end);
        self.buf.as_mut().copy_within(start..end, 0);
        self.base = 0;
        self.rs = ReadState::new(Framing::None, end - start);
        Ok(())
    }

    async fn finish_exchange<'c, T: Read>(
        &'c mut self,
        sent: Result<(), Error>,
        io: &'c mut T,
        method: Method,
    ) -> Result<Response<'c, T>, Error> {
        if let Err(e) = sent {
            self.closed = true;
            return Err(e);
        }
        let head_len = match self.read_head(io, method).await {
            Ok(n) => n,
            Err(e) => {
                self.closed = true;
                return Err(e);
            }
        };
        let filled = self.rs.end;
        let (head_buf, rest) = self.buf.as_mut().split_at_mut(head_len);
        let head = match parse_response(head_buf, method) {
            Ok(Status::Complete(h)) => h,
            Ok(Status::Partial) => {
                self.closed = true;
                return Err(Error::Parse(ParseError::BadStatusLine));
            }
            Err(e) => {
                self.closed = true;
                return Err(Error::Parse(e));
            }
        };
        self.base = head_len;
        self.rs = ReadState::new(head.framing, filled - head_len);
        Ok(Response {
            status: head.status,
            reason: head.reason,
            headers: head.headers,
            content_range: head.content_range,
            body: Body::new(io, rest, &mut self.rs),
        })
    }

    /// Read until a final (non-1xx) response head is buffered; its length. On return
    /// `rs.end` is the number of bytes buffered.
    async fn read_head<T: Read>(&mut self, io: &mut T, method: Method) -> Result<usize, Error> {
        let buf = self.buf.as_mut();
        let mut filled = self.rs.end;
        let limit = buf.len().min(MAX_HEAD_LEN);
        let mut interim = 0;
        loop {
            let mut scanned = 0;
            let len = loop {
                let seen = buf.get(..filled).unwrap_or(&[]);
                if let Some(end) = find_head_end(seen, &mut scanned) {
                    break end;
                }
                if filled >= limit {
                    return Err(Error::Parse(overflow_error(seen)));
                }
                let space = buf.get_mut(filled..limit).unwrap_or(&mut []);
                let n = io.read(space).await.map_err(Error::io)?;
                if n == 0 {
                    return Err(Error::Closed);
                }
                filled += n;
            };
            let head = buf.get_mut(..len).unwrap_or(&mut []);
            let status = match parse_response::<DEFAULT_MAX_HEADERS>(head, method)? {
                Status::Complete(h) => h.status,
                Status::Partial => return Err(Error::Parse(ParseError::BadStatusLine)),
            };
            if status >= 200 {
                self.rs.end = filled;
                return Ok(len);
            }
            // An interim response (100 Continue, 103 Early Hints): skip it.
            interim += 1;
            if interim > MAX_INTERIM_RESPONSES {
                return Err(Error::Parse(ParseError::BadStatus));
            }
            buf.copy_within(len..filled, 0);
            filled -= len;
        }
    }
}

/// A request with a length-framed body being written; [`LengthRequest::finish`]
/// checks the length and reads the response.
pub struct LengthRequest<'c, T, B> {
    out: Out<'c, T>,
    rx: &'c mut Rx<B>,
    method: Method,
}

impl<'c, T: Read + Write, B: AsMut<[u8]>> LengthRequest<'c, T, B> {
    /// Write body bytes; more than declared is an error and nothing is written.
    pub async fn write(&mut self, data: &[u8]) -> Result<(), Error> {
        let r = self.out.data(data).await;
        if matches!(r, Err(Error::Io(_))) {
            self.rx.closed = true;
        }
        r
    }

    /// Bytes still owed.
    pub fn remaining(&self) -> u64 {
        self.out.encoder.remaining()
    }

    /// End the body (fewer bytes than declared is an error) and read the response.
    pub async fn finish(mut self) -> Result<Response<'c, T>, Error> {
        let sent = self.out.finish().await;
        let io = self.out.into_writer();
        self.rx.finish_exchange(sent, io, self.method).await
    }
}

/// A chunked request body being written; [`ChunkedRequest::finish`] writes the last
/// chunk and reads the response.
pub struct ChunkedRequest<'c, T, B> {
    out: Out<'c, T>,
    rx: &'c mut Rx<B>,
    method: Method,
}

impl<'c, T: Read + Write, B: AsMut<[u8]>> ChunkedRequest<'c, T, B> {
    /// Write one whole chunk (non-empty `data`) with an optional extension.
    pub async fn write_chunk(
        &mut self,
        ext: Option<ChunkExt<'_>>,
        data: &[u8],
    ) -> Result<(), Error> {
        self.out.chunk(ext, data).await
    }

    /// Begin a chunk of `size` bytes whose data follows through
    /// [`ChunkedRequest::write`].
    pub async fn begin_chunk(
        &mut self,
        size: usize,
        ext: Option<ChunkExt<'_>>,
    ) -> Result<(), Error> {
        self.out.begin_chunk(size, ext).await
    }

    /// Write data of the chunk begun with [`ChunkedRequest::begin_chunk`].
    pub async fn write(&mut self, data: &[u8]) -> Result<(), Error> {
        self.out.data(data).await
    }

    /// Write the last chunk (optional extension) and read the response.
    pub async fn finish(mut self, ext: Option<ChunkExt<'_>>) -> Result<Response<'c, T>, Error> {
        let sent = match self.out.last_chunk(ext).await {
            Ok(()) => self.out.finish().await,
            Err(e) => Err(e),
        };
        let io = self.out.into_writer();
        self.rx.finish_exchange(sent, io, self.method).await
    }
}
