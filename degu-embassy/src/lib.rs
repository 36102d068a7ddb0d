//! # degu-embassy
//!
//! The device adapter of Degu: it will run `degu-core`'s engine over `embassy-net` TCP
//! sockets (a fixed pool of server tasks, a client, and a TLS client via `embedded-tls`).
//!
//! Nothing is exported yet: the adapter is built once `degu-core`'s connection engine
//! exists. Until then this crate only re-exports the core so firmware can depend on one
//! name.
#![no_std]
#![forbid(unsafe_code)]

pub use degu_core as core;
