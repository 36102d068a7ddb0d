//! The demo app: a few routes that exercise every body kind.
//!
//! | route | answer |
//! |---|---|
//! | `GET`/`HEAD /hello` | 200, `hello, world` (content-length) |
//! | `PUT`/`POST /echo` | 200, the request body in the same framing: a length body as a length body, a chunked body with the same chunk boundaries and extensions |
//! | `GET /chunks?n=N` | 200, chunked: N chunks `chunk <i>` with extension `i=<i>` |
//! | `GET`/`HEAD /status` | 200, JSON: `{"app":"degu-demo","version":"0.1.0","requests":N}`, N the requests answered before on this connection |
//! | `PUT`/`POST /led` | a JSON body `{"on":true,"brightness":40}` (brightness 0..=100) read into a [`MAX_JSON_BODY`]-byte buffer: 200 with the setting as JSON; 400 with `{"error":...}` for bad JSON or a brightness out of range; 413 for a larger body |
//! | anything else | 404 (a wrong method too) |
//!
//! The app dispatches through one `static` [`Router`] table, `ROUTES`.
//!
//! JSON is rendered and parsed with `serde-json-core`, into and from stack buffers: no
//! allocator, the same on a device and on a host.

use core::fmt::Write as _;
use degu_core::app::Segment::Exact;
use degu_core::app::{App, Methods, Request, Route, Routed, Router, Session};
use degu_core::engine::{Error, Read, Responder, Sent, Write, relay};
use degu_core::wire::query::Query;
use degu_core::{ChunkExt, Header};
use serde::{Deserialize, Serialize};

/// Bytes the echo route moves per read: small enough for a device's stack.
pub const ECHO_PIECE: usize = 512;

/// Most chunks `/chunks?n=N` sends (a larger `n` is 400).
pub const MAX_DEMO_CHUNKS: u32 = 10_000;

/// Largest JSON body `POST /led` accepts (a larger one is 413).
pub const MAX_JSON_BODY: usize = 128;

/// Room for a JSON answer of the demo app.
const MAX_JSON_ANSWER: usize = 128;

/// The LED setting `POST /led` takes and answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Led {
    /// On or off.
    pub on: bool,
    /// Percent, 0..=100.
    pub brightness: u8,
}

/// What `GET /status` answers.
#[derive(Serialize)]
struct DemoStatus<'a> {
    app: &'a str,
    version: &'a str,
    requests: u32,
}

/// What a refused JSON body gets.
#[derive(Serialize)]
struct JsonError<'a> {
    error: &'a str,
}

/// What a demo route does: the handler value of [`ROUTES`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DemoRoute {
    Hello,
    Echo,
    Chunks,
    Status,
    Led,
}

/// The demo app's routes, as the module docs table them.
static ROUTES: Router<DemoRoute> = Router::new(&[
    Route::new(GET_HEAD, &[Exact("hello")], DemoRoute::Hello),
    Route::new(PUT_POST, &[Exact("echo")], DemoRoute::Echo),
    Route::new(Methods::GET, &[Exact("chunks")], DemoRoute::Chunks),
    Route::new(GET_HEAD, &[Exact("status")], DemoRoute::Status),
    Route::new(PUT_POST, &[Exact("led")], DemoRoute::Led),
]);

const GET_HEAD: Methods = Methods::GET.with(Methods::HEAD);
const PUT_POST: Methods = Methods::PUT.with(Methods::POST);

/// The demo app; stateless, so one value serves every connection.
#[derive(Clone, Copy, Debug, Default)]
pub struct DemoApp;

impl App for DemoApp {
    type State = ();

    async fn handle<'r, R: Read, W: Write>(
        &self,
        session: &mut Session<'_, ()>,
        mut request: Request<'_, R>,
        responder: Responder<'r, W>,
    ) -> Result<Sent<'r>, Error> {
        let route = match ROUTES.route(request.method, &mut request.path) {
            Routed::Found { handler, .. } => *handler,
            // A known path with another method is 404 too, not 405: the demo app has
            // always answered so (a device refuses an upload to /hello at once with it).
            Routed::MethodNotAllowed(_) | Routed::NotFound => {
                return responder.send(404, "Not Found", &[], b"").await;
            }
        };
        match route {
            DemoRoute::Hello => responder.send(200, "OK", &[], b"hello, world").await,
            DemoRoute::Echo => echo(request, responder).await,
            DemoRoute::Chunks => match chunk_count(request.query_pairs()) {
                Some(n) => chunks(n, responder).await,
                None => {
                    responder
                        .send(400, "Bad Request", &[], b"need n=0..10000")
                        .await
                }
            },
            DemoRoute::Status => {
                let status = DemoStatus {
                    app: "degu-demo",
                    version: env!("CARGO_PKG_VERSION"),
                    requests: session.requests(),
                };
                send_json(responder, 200, "OK", &status).await
            }
            DemoRoute::Led => led(request, responder).await,
        }
    }
}

/// Answer with `value` as JSON (`content-type: application/json`).
async fn send_json<'r, W: Write>(
    responder: Responder<'r, W>,
    status: u16,
    reason: &str,
    value: &impl Serialize,
) -> Result<Sent<'r>, Error> {
    let mut out = [0u8; MAX_JSON_ANSWER];
    // Every value this app renders fits: its strings are bounded constants.
    let n = serde_json_core::to_slice(value, &mut out).map_err(|_| Error::App)?;
    let headers = [Header::new("content-type", "application/json")];
    let body = out.get(..n).unwrap_or(&[]);
    responder.send(status, reason, &headers, body).await
}

/// `POST /led`: parse the setting from a bounded body, answer it back.
async fn led<'r, R: Read, W: Write>(
    mut request: Request<'_, R>,
    responder: Responder<'r, W>,
) -> Result<Sent<'r>, Error> {
    let mut body = [0u8; MAX_JSON_BODY];
    // A body larger than the buffer is `Error::BodyTooLarge`: the engine answers 413.
    let n = request.body.read_to_end(&mut body).await?;
    let refused = |error| JsonError { error };
    match serde_json_core::from_slice::<Led>(body.get(..n).unwrap_or(&[])) {
        Ok((led, _)) if led.brightness <= 100 => send_json(responder, 200, "OK", &led).await,
        Ok(_) => {
            let e = refused("brightness is 0..=100");
            send_json(responder, 400, "Bad Request", &e).await
        }
        Err(_) => {
            let e = refused("expected {\"on\":bool,\"brightness\":0..=100}");
            send_json(responder, 400, "Bad Request", &e).await
        }
    }
}

fn chunk_count(query: Query<'_>) -> Option<u32> {
    let n = query.get("n")?;
    n.parse().ok().filter(|&n| n <= MAX_DEMO_CHUNKS)
}

async fn chunks<'r, W: Write>(n: u32, responder: Responder<'r, W>) -> Result<Sent<'r>, Error> {
    let mut out = responder.chunked(200, "OK", &[]).await?;
    for i in 0..n {
        let mut data = heapless::String::<16>::new();
        let mut value = heapless::String::<10>::new();
        // u32 fits both: "chunk 4294967295" is 16 bytes.
        let _ = write!(data, "chunk {i}");
        let _ = write!(value, "{i}");
        out.write_chunk(Some(ChunkExt::new("i", &value)), data.as_bytes())
            .await?;
    }
    out.finish(None).await
}

async fn echo<'r, R: Read, W: Write>(
    mut request: Request<'_, R>,
    responder: Responder<'r, W>,
) -> Result<Sent<'r>, Error> {
    let mut piece = [0u8; ECHO_PIECE];
    let mut out = responder.body(200, "OK", &[], request.body.framing())?;
    relay(&mut request.body, &mut out, &mut piece).await?;
    out.finish(None).await
}
