//! # degu-core
//!
//! The whole of Degu's HTTP/1.1 protocol, `#![no_std]`, without `alloc` and without
//! `unsafe`: the same code runs on a Cortex-M device and on a Linux gateway.
//!
//! ## Layers
//!
//! Each top-level module uses only those below it (`cargo xtask cycles` checks it):
//!
//! ```text
//! app       what an application imports: App, Session, Request, Responder, Sent,
//!   |       Body, Header, Method, Range, Router ... (re-exports only)
//! engine    serve (the server's keep-alive loop), Connection (the client), the App
//!   |       contract it calls, Body / BodyWriter, Phase + PhaseClock + Timeouts
//!   |       (the one timeout policy), Transport / Readable / BufferSource
//! body      sans-I/O framing: BodyDecoder, BodyEncoder, chunk lines
//!   |
//! wire      bytes: byte classes, head parse and render, Framing, targets, queries,
//!   |       ranges
//! error, limits   typed errors naming their status; every limit
//!
//! router -> wire      static routes (re-exported by app)
//! pressure -> engine  which connection an adapter closes when all are taken
//! ```
//!
//! The adapters (`degu-std` over Tokio, `degu-embassy` over embassy-net) sit on
//! `engine`: they supply a [`Transport`](engine::Transport) whose reader keeps a
//! [`PhaseClock`](engine::PhaseClock) (their clock, degu-core's policy), buffers
//! ([`BufferSource`](engine::BufferSource)) and eviction ([`pressure`]).
//!
//! ## A request's path
//!
//! An adapter accepts a socket, splits it into a reader (each read bounded by the
//! deadline its `PhaseClock` gives for the engine's current phase) and a writer (each
//! write bounded by the I/O timeout), and calls [`engine::serve`]. The engine waits until
//! the reader is readable while [`Phase::Idle`](engine::Phase) and holding no buffers,
//! leases a buffer set and reads, reporting `Head` to the reader when the first bytes are
//! in (which starts the head clock) and feeding what has come to a [`RequestParser`],
//! which parses each line once, resuming where the last read left off, and refuses a bad
//! line as soon as it has ended. At the blank line the parser hands out a borrowed
//! [`RequestHead`]; the engine reports `Busy`,
//! and calls [`App::handle`](app::App::handle) with a [`Request`](app::Request) (its
//! [`Body`](app::Body) reads the bytes after the head, then the socket, through a
//! [`BodyDecoder`]) and a [`Responder`](app::Responder). The handler answers through the
//! responder: the head is rendered by [`render_response`] into the write buffer, the body
//! framed by a [`BodyEncoder`] (small bodies leave with the head in one write), and only a
//! completed response makes the [`Sent`](app::Sent) the handler returns. The engine then
//! drains what the handler left unread (up to a limit), decides from the status, the
//! `connection` header and `max_requests` whether the connection stays, moves pipelined
//! bytes to the front and serves the next request, or reports `Idle` and gives the
//! buffers back.
//!
//! ## The wire layer
//!
//! * [`RequestParser`] / [`ResponseParser`]: sans-I/O head parsers over a caller's
//!   buffer that resume where the last read left off, so a head arriving in pieces is
//!   parsed once; [`parse_request`] / [`parse_response`] do the same in one call for a
//!   whole buffer ("need more bytes" is [`Status::Partial`], not an error). Both return
//!   borrowed views ([`RequestHead`], [`ResponseHead`]) with a fixed-capacity header list
//!   ([`Headers`], capacity a const generic); every error is a [`ParseError`] that names
//!   the status a server answers with.
//! * [`render_request`] / [`render_response`]: validate, then write a head into
//!   `&mut [u8]`. Header injection, framing conflicts and invalid values are a
//!   [`RenderError`] before any byte is written.
//! * [`BodyDecoder`] / [`BodyEncoder`]: body framing (none, `content-length`, `chunked`
//!   with one `key=value` extension per chunk), never touching the data itself.
//! * [`Range`] / [`ContentRange`]: single byte ranges, Python-original rules plus the
//!   open form `bytes=N-` and a 416's `bytes */<total>`.
//!
//! [`attach`] is the attach protocol: a device behind NAT dials its gateway and serves it
//! on that connection.
//!
//! [`pressure`] is the one eviction policy every adapter applies when its connections
//! are all taken.
//!
//! ## Cargo features
//!
//! * `range` (default): Range requests. [`RequestHead::range`] and
//!   [`Request::range`](app::Request::range), the typed `range` header, and
//!   `content-range` in responses, checked as a [`ContentRange`]. Without it a server
//!   ignores a request's `range` header (RFC 9110 §14.2 allows that: the whole
//!   representation is served, as with no header), has no `range` field, and refuses to
//!   render a `content-range` header; requests with `range` (the client's `get_range`)
//!   and the parsing of responses are unchanged.
//! * `unix` (default): AF_UNIX peers, `PeerAddr::UnixPath` / `UnixAbstract` and a
//!   session's [`Credentials`](app::Credentials)
//!   (`Session::with_credentials`). Without it `PeerAddr` is 32 bytes instead of 112, and
//!   so is every connection's session.
//! * `defmt` or `log` (not both): where log lines go; neither compiles them away.
//!
//! A device turns the default features off (`default-features = false`) to leave out
//! what it does not use: `firmware/README.md` in the repository has what each costs.
//!
//! Every limit is in [`limits`]. The rules and the status for each failure follow
//! the wire rules (README.md, "Wire rules"); where they differ from the Python original the item's docs say why.
//!
//! ```
//! use degu_core::{parse_request, Framing, Method, Status};
//!
//! let mut buf = *b"PUT /a/b?x=1 HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello";
//! let Status::Complete(head) = parse_request::<8>(&mut buf)? else { unreachable!() };
//! assert_eq!(head.method, Method::Put);
//! assert_eq!(head.target.components().collect::<Vec<_>>(), ["a", "b"]);
//! assert_eq!(head.target.query, Some("x=1"));
//! assert_eq!(head.headers.get("Content-Length"), Some("5"));
//! assert_eq!(head.framing, Framing::Length(5));
//! let body_start = head.len;
//! drop(head); // the head borrows `buf` until it is dropped
//! assert_eq!(&buf[body_start..], b"hello");
//! # Ok::<(), degu_core::ParseError>(())
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

// The logging shim must come first so every module sees its macros.
#[macro_use]
mod fmt;

pub mod app;
pub mod attach;
pub mod body;
pub mod engine;
pub mod error;
pub mod limits;
pub mod logger;
pub mod pressure;
pub mod router;
pub mod testing;
pub mod wire;

pub use body::{BodyDecoder, BodyEncoder, ChunkExt, ChunkHead, Decoded, Framing};
pub use error::{BodyError, ErrorStatus, ParseError, RenderError};
pub use wire::head::{Header, Headers, Method, RequestHead, ResponseHead, Status};
pub use wire::parse::{
    RequestParser, ResponseParser, find_head_end, parse_request, parse_response,
};
pub use wire::range::{ContentRange, Range};
pub use wire::render::{render_request, render_response};
pub use wire::uri::{Components, PathCursor, Target};
