//! Shared helpers for Degu's workspace-level tests (cross-adapter parity and interop with
//! real peers). They arrive with the adapters; this crate holds nothing yet.
