//! Shared code for Degu's fuzz targets (`fuzz_targets/*.rs`, run with `cargo +nightly fuzz
//! run <target>`): owned copies of parsed heads so two parses can be compared, the
//! invariants every parsed head must keep, a reference chunked-body reader, and a runner
//! that puts the server engine on degu-core's in-memory connection (`degu_core::testing`).
//!
//! The tests crate's runners are compiled from its own source rather than by depending
//! on `degu-tests`, whose dependencies (degu-std: tokio, rustls, aws-lc) would have to be
//! built with sanitizer instrumentation for nothing.
#![forbid(unsafe_code)]

#[path = "../../tests/src/run.rs"]
#[allow(missing_docs, dead_code)]
pub mod run;

pub mod body;
pub mod engine;
pub mod heads;

/// A little reader over the fuzzer's bytes for targets that take parameters from the
/// front of their input: every byte read is one less for the payload.
pub struct Knobs<'a> {
    data: &'a [u8],
}

impl<'a> Knobs<'a> {
    /// Knobs over `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Knobs { data }
    }

    /// The next byte (0 once the input is used up).
    pub fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    /// What has not been read as a knob.
    pub fn rest(self) -> &'a [u8] {
        self.data
    }
}
