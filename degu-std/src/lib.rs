//! # degu-std
//!
//! Degu on Tokio: the host adapter that runs `degu-core`'s engine over real sockets.
//!
//! * [`Address`]: IPv4, IPv6 with scope id, host names, AF_UNIX paths and abstract names.
//! * [`Server`]: serve any `degu-core` [`App`](degu_core::app::App) with connection
//!   limits, idle/head/I/O timeouts, request buffers pooled so idle connections hold
//!   none, the shared connection-pressure policy and graceful shutdown.
//! * [`Client`] → [`Connection`]: async requests; [`blocking`]: the same engine over
//!   blocking std sockets.
//! * [`TempServer`]: a throwaway server for tests and docs.
#![forbid(unsafe_code)]

pub mod address;
pub mod blocking;
mod buffers;
pub mod client;
pub mod pki;
pub mod proxy;
pub mod server;
pub mod stream;
pub mod temp;
pub mod tls;

pub use address::{Address, AddressError};
pub use client::{BodyExt, Client, ClientConfig, ClientConnection, ClientHeaders, ClientResponse};
pub use degu_core;
pub use pki::TempPki;
pub use proxy::{GatewayApp, Proxy, ProxyApp};
pub use server::{RunningServer, Server, ServerConfig, ShutdownHandle};
pub use temp::TempServer;
pub use tls::{TlsClientConfig, TlsError, TlsPeer, TlsServerConfig};

/// The README's Rust examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
