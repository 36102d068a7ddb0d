//! # degu-embassy
//!
//! The device adapter of Degu: `degu-core`'s engine over `embassy-net` TCP sockets.
//!
//! * [`server`]: serve an accepted [`TcpSocket`](embassy_net::tcp::TcpSocket) with any
//!   [`App`](degu_core::app::App) ([`serve_socket`]), with `embassy-time` timeouts chosen
//!   by the connection's phase, then close it cleanly.
//! * [`pool`]: [`PoolState`], the memory of `N` workers and `N + SPARE` sockets (const
//!   generics) in one `static`, and `run`, which serves an app with all of them in one
//!   task: more connections open than requests in progress, and a socket kept listening
//!   by closing what matters least ([`degu_core::pressure`]).
//! * [`client`]: connect a `TcpSocket` to an endpoint ([`client::connect`]; an IPv6
//!   link-local one with its interface as its scope, [`Remote`], feature `ipv6`) and run
//!   degu-core's client [`Connection`](degu_core::engine::Connection) over it, every
//!   read and write bounded by a timeout.
//! * [`attach`]: devices behind NAT: dial the gateway, hand the link over and serve the
//!   app on it ([`attach::attach_plain`]; `attach_tls` with feature `tls`), and
//!   [`attach::Redial`], the jittered wait before dialling again.
//! * `tls` (cargo feature `tls`, off by default): a TLS 1.3 client with `embedded-tls`
//!   (server certificate checked against a CA and a host name, optional P-256 client
//!   certificate) whose stream degu-core's client runs over unchanged.
//!
//! Logging: feature `defmt` (firmware) or `log` (host), not both; neither compiles the
//! log lines away.
//!
//! Features `range` and `unix` (both default) turn on degu-core's features of the same
//! names: Range requests, and AF_UNIX peer addresses in a session. A device that needs
//! neither sets `default-features = false` (this crate depends on degu-core without its
//! default features, so that this turns them off): a `range` header is then ignored and
//! the whole body served, and every connection's future is smaller. [`EmbassyClock`] times requests for degu-core's
//! [`RequestLogger`](degu_core::logger::RequestLogger), whose default sink logs one
//! line per request through the same feature.
//!
//! `embassy-time` needs a time driver in the final program (firmware provides one; on
//! the host, `embassy-time`'s `std` feature does).
#![no_std]
#![forbid(unsafe_code)]

#[macro_use]
mod fmt;

pub use degu_core as core;

pub mod attach;
pub mod client;
pub mod pool;
pub mod server;
#[cfg(feature = "tls")]
pub mod tls;

pub use client::{
    ClientBuffers, ClientTimeouts, HalfDuplex, HalfDuplexReader, HalfDuplexWriter, Remote,
    TimedReader, TimedSocket, connect,
};
pub use pool::{Footprint, LogEvents, PoolEvents, PoolState};
pub use server::{ConnState, ServeConfig, serve_conn, serve_socket};

/// The `embassy-time` clock (microseconds since boot), for degu-core's
/// [`RequestLogger`](degu_core::logger::RequestLogger):
/// `RequestLogger::new(app, EmbassyClock)` logs each request through `defmt`.
#[derive(Clone, Copy, Debug, Default)]
pub struct EmbassyClock;

impl degu_core::logger::Clock for EmbassyClock {
    fn now_micros(&self) -> u64 {
        embassy_time::Instant::now().as_micros()
    }
}
