//! # degu-std
//!
//! The host adapter of Degu: it will run `degu-core`'s engine on Tokio with one `Address`
//! type for IPv4, IPv6 with scope id and AF_UNIX, plus TLS (rustls) and a reverse proxy.
//!
//! Nothing is exported yet beyond the core re-export: the adapter is built once
//! `degu-core`'s connection engine exists.
#![forbid(unsafe_code)]

pub use degu_core as core;
