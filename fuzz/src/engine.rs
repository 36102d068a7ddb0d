//! The server engine with the demo app on the in-memory pipe, and a model of what it
//! must answer to a byte stream.
//!
//! [`serve_bytes`] sends the input, closes the client's write half (EOF), and collects
//! every byte the server writes until it returns. [`model`] splits the same input into
//! requests with degu-core's own parser and decoder and says what `DemoApp` answers to
//! each and when the connection must close; [`check`] holds the server to that.

use crate::body::{self, Chunk, Outcome};
use crate::heads;
use crate::run::raw_exchange;
use degu_core::engine::{Buffers, Error, KeepAlive, ServerEnd};
use degu_core::limits::DEFAULT_MAX_HEADERS;
use degu_core::testing::{Duplex, Harness};
use degu_core::{Framing, Method, ParseError, find_head_end};
use degu_examples::demo::{DemoApp, MAX_DEMO_CHUNKS};
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};

/// The engine's read buffer: the largest head, and what a pipelined stream must fit in
/// for the model to be exact.
pub const READ_BUFFER: usize = 4096;
/// The engine's write buffer.
pub const WRITE_BUFFER: usize = 2048;
/// Bytes in flight per direction.
pub const PIPE_CAPACITY: usize = 64 * 1024;

struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Run `fut` to completion on this thread. Everything it waits for is in memory, so a
/// poll that returns `Pending` without anything having been woken can never make
/// progress again: that is a deadlock, and a panic here instead of a hang.
pub fn block_on<F: Future>(fut: F) -> F::Output {
    let flag = Arc::new(Flag(AtomicBool::new(false)));
    let waker = Waker::from(flag.clone());
    let mut cx = Context::from_waker(&waker);
    let mut fut = pin!(fut);
    loop {
        flag.0.store(false, Ordering::SeqCst);
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        assert!(
            flag.0.load(Ordering::SeqCst),
            "deadlock: every task waits and nothing woke any"
        );
    }
}

/// Serve `input` (then EOF) with `DemoApp`, the server reading at most `max_read` bytes
/// per read; returns what the server wrote and how `serve` ended.
pub fn serve_bytes(
    input: &[u8],
    max_read: usize,
    config: KeepAlive,
) -> (Vec<u8>, Result<ServerEnd, Error>) {
    let (mut there, mut back) = (vec![0u8; PIPE_CAPACITY], vec![0u8; PIPE_CAPACITY]);
    let mut duplex = Duplex::new(&mut there, &mut back);
    let (mut server_end, client_end) = duplex.split();
    server_end.rx.max_read = max_read;
    let harness = Harness::new(&DemoApp).config(config);
    let mut buffers = Buffers::<READ_BUFFER, WRITE_BUFFER>::new();
    block_on(async {
        futures::join!(
            raw_exchange(client_end, input),
            harness.serve(server_end, &mut buffers)
        )
    })
}

/// One request of the input as the model sees it.
#[derive(Debug)]
pub enum Entry {
    /// A good head with a complete, well-framed body.
    Good(Req),
    /// A good head whose body is malformed or cut short by the end of the input.
    BadBody(Req),
    /// A head that does not parse (`None`: the input ended inside it), and whether its
    /// `\r\n\r\n` arrived: if not, the engine may see EOF before it refuses the head.
    BadHead(Option<ParseError>, bool),
}

/// A request with a good head.
#[derive(Debug)]
pub struct Req {
    /// Its head.
    pub head: heads::Request,
    /// Its body as read by the reference reader.
    pub body: body::Read,
}

impl Req {
    fn close_requested(&self) -> bool {
        self.header("connection").is_some_and(|v| {
            v.split(',')
                .any(|o| o.trim_matches([' ', '\t']).eq_ignore_ascii_case("close"))
        })
    }

    fn expects_continue(&self) -> bool {
        self.head.framing != Framing::None
            && self
                .header("expect")
                .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.head
            .headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn route(&self) -> Route {
        let c = &self.head.components;
        let only = |name: &str| c.len() == 1 && c.first().is_some_and(|f| f == name);
        match self.head.method {
            Method::Get | Method::Head if only("hello") => Route::Hello,
            Method::Put | Method::Post if only("echo") => Route::Echo,
            Method::Get if only("chunks") => {
                let n = self.head.query.as_deref().and_then(|q| {
                    q.split('&')
                        .find_map(|kv| kv.strip_prefix("n="))?
                        .parse::<u32>()
                        .ok()
                        .filter(|&n| n <= MAX_DEMO_CHUNKS)
                });
                match n {
                    Some(n) => Route::Chunks(n),
                    None => Route::BadChunks,
                }
            }
            _ => Route::NotFound,
        }
    }

    /// Body data bytes (what the engine drains when the handler leaves the body).
    fn data_len(&self) -> u64 {
        let chunked: usize = self.body.chunks.iter().map(|c| c.data.len()).sum();
        (self.body.data.len() + chunked) as u64
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Hello,
    Echo,
    Chunks(u32),
    BadChunks,
    NotFound,
}

impl Route {
    fn status(self) -> u16 {
        match self {
            Route::Hello | Route::Echo | Route::Chunks(_) => 200,
            Route::BadChunks => 400,
            Route::NotFound => 404,
        }
    }

    fn reads_body(self) -> bool {
        self == Route::Echo
    }
}

/// Split `input` into requests as the engine must: heads by `parse_request`, bodies by
/// the reference reader; stops after the first bad one.
pub fn model(mut input: &[u8]) -> Vec<Entry> {
    let mut out = Vec::new();
    while !input.is_empty() {
        let mut copy = input.to_vec();
        let head = match heads::request::<DEFAULT_MAX_HEADERS>(&mut copy) {
            Ok(Some(h)) => h,
            Ok(None) => {
                out.push(Entry::BadHead(None, false));
                break;
            }
            Err(e) => {
                let ended = find_head_end(input, &mut 0).is_some();
                out.push(Entry::BadHead(Some(e), ended));
                break;
            }
        };
        let rest = input.get(head.len..).unwrap_or(&[]);
        let body = body::read(head.framing, rest, &[]);
        match body.outcome {
            Outcome::End { consumed } => {
                input = rest.get(consumed..).unwrap_or(&[]);
                out.push(Entry::Good(Req { head, body }));
            }
            _ => {
                out.push(Entry::BadBody(Req { head, body }));
                break;
            }
        }
    }
    out
}

/// One response taken from the server's output.
#[derive(Debug)]
struct Got {
    head: heads::Response,
    body: body::Read,
    /// The head or body was cut short.
    truncated: bool,
}

/// Take one response (of a request made with `method`) from the front of `bytes`.
fn take_response(bytes: &mut &[u8], method: Method) -> Got {
    let mut copy = bytes.to_vec();
    let head = match heads::response::<64>(&mut copy, method) {
        Ok(Some(h)) => h,
        Ok(None) => {
            *bytes = &[];
            return Got {
                head: heads::Response {
                    status: 0,
                    reason: String::new(),
                    headers: Vec::new(),
                    framing: Framing::None,
                    content_range: None,
                    len: 0,
                },
                body: body::read(Framing::None, &[], &[]),
                truncated: true,
            };
        }
        Err(e) => panic!(
            "server wrote a response that does not parse ({e:?}): {:?}",
            String::from_utf8_lossy(bytes)
        ),
    };
    heads::check_headers(&head.headers, 64);
    let rest = bytes.get(head.len..).unwrap_or(&[]);
    let body = body::read(head.framing, rest, &[]);
    match body.outcome {
        Outcome::End { consumed } => {
            *bytes = rest.get(consumed..).unwrap_or(&[]);
            Got {
                head,
                body,
                truncated: false,
            }
        }
        Outcome::Truncated => {
            *bytes = &[];
            Got {
                head,
                body,
                truncated: true,
            }
        }
        Outcome::Error(e) => panic!(
            "server wrote a response body with bad framing ({e:?}): {:?}",
            String::from_utf8_lossy(bytes)
        ),
    }
}

/// Whether a response is Degu's own error answer: its status, `connection: close`,
/// empty body.
fn is_error_answer(got: &Got) -> bool {
    (400..=599).contains(&got.head.status)
        && got
            .head
            .headers
            .iter()
            .any(|(n, v)| n == "connection" && v == "close")
        && got.body.data.is_empty()
        && got.head.framing == Framing::Length(0)
}

/// Check what the server wrote (`output`) and how it ended (`end`) against the model
/// of `input`. `exact` when the input fits the engine's read buffer, so buffer limits
/// cannot make the engine refuse what the model accepts; otherwise only the shape of
/// the output is checked.
pub fn check(
    input: &[u8],
    output: &[u8],
    end: &Result<ServerEnd, Error>,
    config: &KeepAlive,
    exact: bool,
) {
    let entries = model(input);
    let mut out = output;
    let mut served = 0u32;
    for (i, entry) in entries.iter().enumerate() {
        let method = match entry {
            Entry::Good(r) | Entry::BadBody(r) => r.head.method,
            Entry::BadHead(..) => Method::Get,
        };
        if let Entry::Good(r) | Entry::BadBody(r) = entry
            && r.expects_continue()
            && !out.is_empty()
        {
            let got = take_response(&mut out, method);
            assert_eq!(got.head.status, 100, "no 100 Continue for request {i}");
            assert!(got.head.headers.is_empty() && !got.truncated);
        }
        if out.is_empty() {
            // Nothing more was written: only allowed where the server may stop silently.
            match entry {
                Entry::Good(_) => {
                    assert!(!exact, "no response to good request {i}: {entry:?}")
                }
                Entry::BadHead(_, false) | Entry::BadBody(_) => {}
                Entry::BadHead(e, true) => {
                    assert!(!exact, "no error answer for bad head {i} ({e:?})")
                }
            }
            break;
        }
        let got = take_response(&mut out, method);
        match entry {
            Entry::BadHead(e, _) => {
                // The status may differ from `e`'s: the engine refuses a head at the
                // first bad line it sees, before the head is complete.
                assert!(
                    is_error_answer(&got),
                    "bad head {i} ({e:?}) answered with {got:?}"
                );
                assert!(
                    out.is_empty(),
                    "bytes after the error answer to request {i}"
                );
                assert!(end.is_err(), "bad head {i} but serve returned {end:?}");
                return;
            }
            Entry::BadBody(_) => {
                // The route may have answered before it read the body; an echo fails
                // mid-response or with an error answer. Either way the connection ends.
                assert!(
                    out.is_empty(),
                    "bytes after the response to request {i} with a bad body"
                );
                assert!(
                    end.is_err() || *end == Ok(ServerEnd::BodyNotRead),
                    "bad body in request {i} but serve returned {end:?}"
                );
                return;
            }
            Entry::Good(r) => {
                if !exact && (got.truncated || is_error_answer(&got)) {
                    return;
                }
                assert!(!got.truncated, "truncated response to request {i}: {got:?}");
                let route = r.route();
                check_answer(r, route, &got, i);
                served += 1;
                // Why the engine closes after this request, in the engine's order.
                let unread = !route.reads_body() && r.data_len() > 0;
                let why = if unread && r.data_len() > config.drain_limit {
                    Some(ServerEnd::BodyNotRead)
                } else if route.status() >= 400 && route.status() != 404 {
                    Some(ServerEnd::StatusClose(route.status()))
                } else if r.close_requested() {
                    Some(ServerEnd::CloseRequested)
                } else if served >= config.max_requests {
                    Some(ServerEnd::MaxRequests)
                } else {
                    None
                };
                if let Some(why) = why {
                    assert!(out.is_empty(), "bytes after the last response ({why:?})");
                    assert_eq!(*end, Ok(why), "after request {i}");
                    return;
                }
            }
        }
    }
    assert!(
        out.is_empty(),
        "server wrote more responses than the model has requests: {:?}",
        String::from_utf8_lossy(out)
    );
    if exact && entries.iter().all(|e| matches!(e, Entry::Good(_))) {
        assert_eq!(*end, Ok(ServerEnd::PeerClosed));
    }
}

/// The demo app's answer to a good request.
fn check_answer(r: &Req, route: Route, got: &Got, i: usize) {
    assert_eq!(got.head.status, route.status(), "status of response {i}");
    if r.head.method == Method::Head {
        assert!(got.body.data.is_empty() && got.body.chunks.is_empty());
        if route == Route::Hello {
            assert_eq!(
                heads::framing_from_headers(&got.head.headers),
                Framing::Length(12)
            );
        }
        return;
    }
    match route {
        Route::Hello => assert_eq!(got.body.data, b"hello, world"),
        Route::Echo => match r.head.framing {
            Framing::None | Framing::Length(_) => {
                assert_eq!(got.head.framing, Framing::Length(r.body.data.len() as u64));
                assert_eq!(got.body.data, r.body.data, "echoed body of request {i}");
            }
            Framing::Chunked => {
                assert_eq!(got.head.framing, Framing::Chunked);
                assert_eq!(
                    got.body.chunks, r.body.chunks,
                    "echoed chunks of request {i}"
                );
            }
        },
        Route::Chunks(n) => {
            let mut want: Vec<Chunk> = (0..n)
                .map(|i| {
                    let data = format!("chunk {i}").into_bytes();
                    Chunk {
                        size: data.len() as u32,
                        ext: Some(("i".to_owned(), i.to_string())),
                        data,
                    }
                })
                .collect();
            want.push(Chunk {
                size: 0,
                ext: None,
                data: Vec::new(),
            });
            assert_eq!(got.head.framing, Framing::Chunked);
            assert!(got.body.chunks == want, "chunks of /chunks?n={n}");
        }
        Route::BadChunks | Route::NotFound => {}
    }
}
