//! The demo app: a few routes that exercise every body kind.
//!
//! | route | answer |
//! |---|---|
//! | `GET`/`HEAD /hello` | 200, `hello, world` (content-length) |
//! | `PUT`/`POST /echo` | 200, the request body in the same framing: a length body as a length body, a chunked body with the same chunk boundaries and extensions |
//! | `GET /chunks?n=N` | 200, chunked: N chunks `chunk <i>` with extension `i=<i>` |
//! | anything else | 404 |

use core::fmt::Write as _;
use degu_core::app::{App, Request, Session};
use degu_core::engine::{Error, Read, Responder, Sent, Write, relay};
use degu_core::wire::query::Query;
use degu_core::{ChunkExt, Method};

/// Bytes the echo route moves per read: small enough for a device's stack.
pub const ECHO_PIECE: usize = 512;

/// Most chunks `/chunks?n=N` sends (a larger `n` is 400).
pub const MAX_DEMO_CHUNKS: u32 = 10_000;

/// The demo app; stateless, so one value serves every connection.
#[derive(Clone, Copy, Debug, Default)]
pub struct DemoApp;

impl App for DemoApp {
    type State = ();

    async fn handle<'r, R: Read, W: Write>(
        &self,
        _session: &mut Session<'_, ()>,
        mut request: Request<'_, R>,
        responder: Responder<'r, W>,
    ) -> Result<Sent<'r>, Error> {
        let first = request.shift_path();
        let done = request.path.components().next().is_none();
        match (request.method, first, done) {
            (Method::Get | Method::Head, Some("hello"), true) => {
                responder.send(200, "OK", &[], b"hello, world").await
            }
            (Method::Put | Method::Post, Some("echo"), true) => echo(request, responder).await,
            (Method::Get, Some("chunks"), true) => match chunk_count(request.query_pairs()) {
                Some(n) => chunks(n, responder).await,
                None => {
                    responder
                        .send(400, "Bad Request", &[], b"need n=0..10000")
                        .await
                }
            },
            _ => responder.send(404, "Not Found", &[], b"").await,
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
