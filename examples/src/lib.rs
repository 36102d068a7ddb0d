//! Degu's example programs and the demo app they share.
//!
//! [`demo::DemoApp`] is a `no_std` app: the same value is served by the Tokio demo
//! server, by the firmware in QEMU and by the in-process tests.
#![no_std]
#![forbid(unsafe_code)]

#[cfg(feature = "host")]
pub mod cli;
pub mod demo;
