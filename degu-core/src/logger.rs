//! Request logging as a wrapping app (the Python original's `RequestLogger`): one line
//! per request with the peer, method, URI, status, body bytes sent and duration.
//!
//! [`RequestLogger`] wraps any [`App`]. It learns what the wrapped app sent from the
//! [`Sent`] the app returns (only a responder can make one, so the status and byte count
//! are what went out), times the request with a [`Clock`] the adapter supplies (the
//! engine reads no clock), and hands a [`RequestRecord`] to a [`RecordSink`]:
//!
//! * [`CoreLog`] (the default) logs through degu-core's own logging: `defmt` on firmware
//!   (feature `defmt`), the `log` crate on a host (feature `log`), nothing otherwise;
//! * degu-std's `TracingLog` emits a `tracing` event; degu-std and degu-embassy each
//!   provide a [`Clock`].
//!
//! ```
//! use core::cell::{Cell, RefCell};
//! use degu_core::logger::{Clock, RecordSink, RequestLogger, RequestRecord};
//! use degu_core::testing::exchange;
//! # use degu_core::app::{App, Request, Session};
//! # use degu_core::engine::{Error, Read, Responder, Sent, Write};
//! # struct Hello;
//! # impl App for Hello {
//! #     type State = ();
//! #     async fn handle<'r, R: Read, W: Write>(
//! #         &self, _: &mut Session<'_, ()>, _: Request<'_, R>, responder: Responder<'r, W>,
//! #     ) -> Result<Sent<'r>, Error> {
//! #         responder.send(200, "OK", &[], b"hello, world").await
//! #     }
//! # }
//!
//! /// A clock that advances 250 µs per reading (a real one reads a timer).
//! struct Ticks(Cell<u64>);
//! impl Clock for Ticks {
//!     fn now_micros(&self) -> u64 {
//!         self.0.replace(self.0.get() + 250)
//!     }
//! }
//!
//! /// Keep the last line, as text.
//! struct Last(RefCell<String>);
//! impl RecordSink for Last {
//!     fn record(&self, record: &RequestRecord<'_>) {
//!         *self.0.borrow_mut() = record.to_string();
//!     }
//! }
//!
//! let logged = RequestLogger::new(Hello, Ticks(Cell::new(0))).with_sink(Last(RefCell::default()));
//! let mut response = [0u8; 256];
//! exchange(&logged, b"GET /hello HTTP/1.1\r\n\r\n", &mut response)?;
//! assert_eq!(*logged.sink().0.borrow(), r#"- "GET /hello" 200 12 250us"#);
//! # Ok::<(), degu_core::testing::HarnessError>(())
//! ```

use crate::app::{App, PeerAddr, Request, Session};
use crate::engine::{Error, Read, Responder, Sent, Write};
use crate::wire::head::Method;

/// A monotonic time source for durations, supplied by the adapter (degu-core reads no
/// clock): microseconds since any fixed origin.
pub trait Clock {
    /// Microseconds since the clock's origin; never decreases.
    fn now_micros(&self) -> u64;
}

/// What one request came to: the fields of one log line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestRecord<'a> {
    /// Where the connection comes from.
    pub peer: &'a PeerAddr,
    /// The request's method.
    pub method: Method,
    /// The request-target exactly as sent.
    pub uri: &'a str,
    /// The response's status. When the handler failed (`error` is set) this is the
    /// status the engine answers with if no byte of a response was written yet;
    /// otherwise the response was cut off.
    pub status: u16,
    /// Body data bytes sent ([`Sent::body_bytes`]); 0 when the handler failed.
    pub body_bytes: u64,
    /// From the request head's arrival at the handler to the response's last byte
    /// handed to the stream, by the logger's [`Clock`].
    pub micros: u64,
    /// Why the handler failed, if it did (the connection then closes).
    pub error: Option<Error>,
}

/// One line, as [`CoreLog`] writes it: `peer "METHOD uri" status body_bytes <n>us`, and
/// `error: <why>` at the end when the handler failed.
impl core::fmt::Display for RequestRecord<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "{} \"{} {}\" {} {} {}us",
            self.peer,
            self.method.as_str(),
            self.uri,
            self.status,
            self.body_bytes,
            self.micros
        )?;
        match &self.error {
            Some(e) => write!(f, " error: {e}"),
            None => Ok(()),
        }
    }
}

/// Where a [`RequestLogger`] sends its records.
pub trait RecordSink {
    /// Take the record of one finished request.
    fn record(&self, record: &RequestRecord<'_>);
}

/// The default sink: degu-core's own logging, at level info (`defmt` on firmware, `log`
/// on a host, nothing without either feature).
#[derive(Clone, Copy, Debug, Default)]
pub struct CoreLog;

impl RecordSink for CoreLog {
    fn record(&self, r: &RequestRecord<'_>) {
        match &r.error {
            None => info!(
                "{} \"{} {}\" {} {} {}us",
                r.peer,
                r.method.as_str(),
                r.uri,
                r.status,
                r.body_bytes,
                r.micros
            ),
            Some(e) => info!(
                "{} \"{} {}\" {} {} {}us error: {}",
                r.peer,
                r.method.as_str(),
                r.uri,
                r.status,
                r.body_bytes,
                r.micros,
                e
            ),
        }
    }
}

/// Wraps an app and records every request it handles: see the [module docs](self).
///
/// `on_connect` and the per-connection state are the wrapped app's.
#[derive(Clone, Debug)]
pub struct RequestLogger<A, C, S = CoreLog> {
    app: A,
    clock: C,
    sink: S,
}

impl<A, C> RequestLogger<A, C> {
    /// Log `app`'s requests through [`CoreLog`], timed by `clock`.
    pub const fn new(app: A, clock: C) -> Self {
        RequestLogger {
            app,
            clock,
            sink: CoreLog,
        }
    }
}

impl<A, C, S> RequestLogger<A, C, S> {
    /// The same logger sending its records to `sink`.
    pub fn with_sink<S2>(self, sink: S2) -> RequestLogger<A, C, S2> {
        RequestLogger {
            app: self.app,
            clock: self.clock,
            sink,
        }
    }

    /// The wrapped app.
    pub fn app(&self) -> &A {
        &self.app
    }

    /// The sink.
    pub fn sink(&self) -> &S {
        &self.sink
    }
}

impl<A: App, C: Clock, S: RecordSink> App for RequestLogger<A, C, S> {
    type State = A::State;

    fn on_connect(&self, session: &mut Session<'_, Self::State>) -> bool {
        self.app.on_connect(session)
    }

    async fn handle<'r, R: Read, W: Write>(
        &self,
        session: &mut Session<'_, Self::State>,
        request: Request<'_, R>,
        responder: Responder<'r, W>,
    ) -> Result<Sent<'r>, Error> {
        let start = self.clock.now_micros();
        let (method, uri) = (request.method, request.uri);
        let result = self.app.handle(session, request, responder).await;
        let micros = self.clock.now_micros().saturating_sub(start);
        let (status, body_bytes, error) = match &result {
            Ok(sent) => (sent.status(), sent.body_bytes(), None),
            Err(e) => (e.status(), 0, Some(*e)),
        };
        self.sink.record(&RequestRecord {
            peer: session.peer(),
            method,
            uri,
            status,
            body_bytes,
            micros,
            error,
        });
        result
    }
}
