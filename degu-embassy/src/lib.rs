//! # degu-embassy
//!
//! The device adapter of Degu: `degu-core`'s engine over `embassy-net` TCP sockets.
//!
//! * [`server`]: serve an accepted [`TcpSocket`](embassy_net::tcp::TcpSocket) with any
//!   [`App`](degu_core::app::App) ([`serve_socket`]), with `embassy-time` timeouts chosen
//!   by the connection's phase, then close it cleanly.
//!
//! A client over `TcpSocket` and a TLS client (`embedded-tls`) are still to come.
//!
//! `embassy-time` needs a time driver in the final program (firmware provides one; on
//! the host, `embassy-time`'s `std` feature does).
#![no_std]
#![forbid(unsafe_code)]

pub use degu_core as core;

pub mod server;

pub use server::{ServeConfig, Timeouts, serve_socket};
