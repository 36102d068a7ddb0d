//! # degu-std
//!
//! Degu on Tokio: the host adapter that runs `degu-core`'s engine over real sockets.
//!
//! * [`Address`]: IPv4, IPv6 with scope id, host names, AF_UNIX paths and abstract names.
//! * [`Server`]: serve any `degu-core` [`App`](degu_core::app::App) with connection
//!   limits, idle/head/I/O timeouts, request buffers pooled so idle connections hold
//!   none, the shared connection-pressure policy and graceful shutdown.
//! * [`Client`] → [`ClientConnection`]: async requests; [`blocking`]: the same one
//!   full-duplex client (degu-core's `engine::Connection`) over
//!   blocking std sockets.
//! * [`attach`]: devices behind NAT dial the gateway and serve it on that link; the
//!   gateway's registry of attached devices and the device side.
//! * [`FilesApp`]: static files from a directory, with byte ranges.
//! * [`logging`]: one `tracing` line per request (degu-core's `RequestLogger` with the
//!   host's clock).
//! * `TempServer` (a throwaway server) and `TempPki` (a throwaway CA with a server and a
//!   client certificate), for tests, docs and demos: feature `test-util`, off by
//!   default because they bring `tempfile`, `rcgen` and `time` along.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod address;
pub mod attach;
pub mod blocking;
mod buffers;
pub mod client;
pub mod files;
pub mod logging;
#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod pki;
pub mod proxy;
pub mod server;
pub mod stream;
#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod temp;
pub mod tls;

pub use address::{Address, AddressError};
pub use client::{BodyExt, Client, ClientConfig, ClientConnection, ClientHeaders, ClientResponse};
pub use degu_core;
pub use files::FilesApp;
#[cfg(feature = "test-util")]
pub use pki::TempPki;
pub use proxy::{DevicePolicy, GatewayApp, GatewaySlots, Proxy, ProxyApp};
pub use server::{RunningServer, Server, ServerConfig, ShutdownHandle};
#[cfg(feature = "test-util")]
pub use temp::TempServer;
pub use tls::{TlsClientConfig, TlsError, TlsPeer, TlsServerConfig};

/// The README's Rust examples, compiled and run as doctests (with `test-util`, which
/// this crate's dev-dependency on itself turns on).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
