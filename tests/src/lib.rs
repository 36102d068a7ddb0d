//! Shared helpers for Degu's workspace-level tests: runners that put a server engine and
//! a client on the two ends of degu-core's in-memory connection in one executor.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod run;
