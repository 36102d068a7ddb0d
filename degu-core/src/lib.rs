//! # degu-core
//!
//! The whole of Degu's HTTP/1.1 protocol, `#![no_std]`, without `alloc` and without
//! `unsafe`: the same code runs on a Cortex-M device and on a Linux gateway.
//!
//! This crate is the wire layer (the engine and the application contract build on it):
//!
//! * [`parse_request`] / [`parse_response`]: sans-I/O, incremental head parsers over a
//!   caller's buffer, returning borrowed views ([`RequestHead`], [`ResponseHead`]) with a
//!   fixed-capacity header list ([`Headers`], capacity a const generic). "Need more bytes"
//!   is [`Status::Partial`], not an error; every error is a [`ParseError`] that names the
//!   status a server answers with.
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
pub mod pressure;
pub mod router;
pub mod wire;

pub use body::{BodyDecoder, BodyEncoder, ChunkExt, ChunkHead, Decoded, Framing};
pub use error::{BodyError, ErrorStatus, ParseError, RenderError};
pub use wire::head::{Header, Headers, Method, RequestHead, ResponseHead, Status};
pub use wire::parse::{find_head_end, overflow_error, parse_request, parse_response};
pub use wire::range::{ContentRange, Range};
pub use wire::render::{render_request, render_response};
pub use wire::uri::{Components, PathCursor, Target};
