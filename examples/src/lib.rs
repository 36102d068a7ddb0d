//! Degu's example programs. The demo app and its server and CLI binaries arrive with the
//! engine and the Tokio adapter; this crate holds nothing yet.
#![no_std]
