//! Everything an application imports, in one place.
//!
//! An app implements [`App`]: it sees each connection's [`Session`] and answers each
//! [`Request`] through a [`Responder`], whose sending is the only way to make the
//! [`Sent`] a handler returns. The types it meets on the way (the request [`Body`], a
//! [`ResponseBody`] being streamed, [`Header`]s, a [`Method`], a [`Range`], a
//! [`Router`] to dispatch on the path) are re-exported here from the layers that define
//! them, so an app needs no path into the engine or the wire layer:
//!
//! ```
//! use degu_core::app::{App, Error, Read, Request, Responder, Sent, Session, Write};
//!
//! struct Hello;
//!
//! impl App for Hello {
//!     type State = ();
//!
//!     async fn handle<'r, R: Read, W: Write>(
//!         &self,
//!         _session: &mut Session<'_, ()>,
//!         _request: Request<'_, R>,
//!         responder: Responder<'r, W>,
//!     ) -> Result<Sent<'r>, Error> {
//!         responder.send(200, "OK", &[], b"hello").await
//!     }
//! }
//! ```
//!
//! The [`Sent`] says what was sent (status, body bytes), for wrapping apps such as
//! [`RequestLogger`](crate::logger::RequestLogger); [`crate::testing`] runs an app
//! without sockets, in a unit test on the host:
//!
//! ```
//! # use degu_core::app::{App, Error, Read, Request, Responder, Sent, Session, Write};
//! # struct Hello;
//! # impl App for Hello {
//! #     type State = ();
//! #     async fn handle<'r, R: Read, W: Write>(
//! #         &self,
//! #         _session: &mut Session<'_, ()>,
//! #         _request: Request<'_, R>,
//! #         responder: Responder<'r, W>,
//! #     ) -> Result<Sent<'r>, Error> {
//! #         responder.send(200, "OK", &[], b"hello").await
//! #     }
//! # }
//! let mut out = [0u8; 128];
//! let answer = degu_core::testing::exchange(&Hello, b"GET / HTTP/1.1\r\n\r\n", &mut out)?;
//! assert!(out[..answer.len].ends_with(b"\r\n\r\nhello"));
//! # Ok::<(), degu_core::testing::HarnessError>(())
//! ```
//!
//! This module defines nothing: the contract is the engine's (the server loop calls
//! it), and this is its front door. Layers point down only (see the crate docs).

pub use crate::body::ChunkExt;
pub use crate::engine::{
    App, Body, ChunkPiece, Credentials, Error, MAX_UNIX_ADDR_LEN, PeerAddr, PeerIdentity, Read,
    Request, Responder, ResponseBody, Sent, Session, Write, relay,
};
pub use crate::router::{Methods, Route, Routed, Router, Segment};
pub use crate::wire::head::{Framing, Header, Headers, Method};
pub use crate::wire::query::{Query, decode as decode_query};
pub use crate::wire::range::{ContentRange, Range};
pub use crate::wire::uri::{Components, PathCursor, Target};
