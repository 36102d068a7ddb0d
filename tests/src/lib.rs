//! Shared helpers for Degu's workspace-level tests: an in-memory duplex stream that
//! implements `embedded-io-async`, and runners that put a server engine and a client on
//! its two ends in one executor.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod pipe;
pub mod run;
