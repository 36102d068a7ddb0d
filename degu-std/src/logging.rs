//! Request logs on the host: degu-core's [`RequestLogger`] with a [`SystemClock`] and a
//! [`TracingLog`] sink, one `tracing` event per request at level info with target
//! [`REQUEST_TARGET`] (filter it with `RUST_LOG=degu::request=off`, or keep only it).
//!
//! ```
//! use degu_examples::demo::DemoApp;
//! use degu_std::blocking::Wait;
//! use degu_std::{Client, TempServer, logging};
//!
//! // Each request to this server logs a line such as
//! // `127.0.0.1:41234 "GET /hello" 200 12 85us`.
//! let server = TempServer::start(&"127.0.0.1:0".parse()?, logging::logged(DemoApp))?;
//! let mut conn = Client::new(server.address().clone()).connect_blocking()?;
//! assert_eq!(conn.get("/hello", &[]).wait()?.status, 200);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use degu_core::logger::{Clock, RecordSink, RequestLogger, RequestRecord};
use std::time::Instant;

/// The `tracing` target of request log events.
pub const REQUEST_TARGET: &str = "degu::request";

/// The monotonic clock of the host ([`Instant`]), counted from the clock's creation.
#[derive(Clone, Copy, Debug)]
pub struct SystemClock {
    origin: Instant,
}

impl SystemClock {
    /// A clock starting now.
    pub fn new() -> Self {
        SystemClock {
            origin: Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SystemClock {
    fn now_micros(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_micros()).unwrap_or(u64::MAX)
    }
}

/// Request records as `tracing` events: level info, target [`REQUEST_TARGET`], the
/// record's one-line form as the message (the same line `defmt` prints on a device).
#[derive(Clone, Copy, Debug, Default)]
pub struct TracingLog;

impl RecordSink for TracingLog {
    fn record(&self, record: &RequestRecord<'_>) {
        tracing::info!(target: REQUEST_TARGET, "{record}");
    }
}

/// `app` with every request logged through `tracing`.
pub fn logged<A>(app: A) -> RequestLogger<A, SystemClock, TracingLog> {
    RequestLogger::new(app, SystemClock::new()).with_sink(TracingLog)
}
