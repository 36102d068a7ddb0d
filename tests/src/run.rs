//! Runners: a server engine and a client on the two ends of degu-core's in-memory
//! connection ([`degu_core::testing`]) in one single-threaded executor.

use degu_core::app::App;
use degu_core::engine::{Buffers, Error, KeepAlive, ServerEnd};
use degu_core::testing::{Duplex, End, Harness};
use degu_core::{BodyDecoder, Decoded, Framing, Method, Status, parse_response};

/// Bytes in flight per direction in the default pipe.
pub const PIPE_CAPACITY: usize = 64 * 1024;

/// Most bytes [`raw_exchange`] collects (allocated lazily: zeroed pages cost nothing
/// until written).
pub const RAW_LIMIT: usize = 256 * 1024 * 1024;

/// Run `client` against `app` served with `RB`/`WB` buffers over a connection carrying
/// `capacity` bytes each way; returns what the client returned and how the server
/// ended. The server's end is dropped when `serve` returns, so the client sees EOF.
pub fn with_server<A, T, const RB: usize, const WB: usize>(
    app: &A,
    config: KeepAlive,
    capacity: usize,
    client: impl AsyncFnOnce(End<'_>) -> T,
) -> (T, Result<ServerEnd, Error>)
where
    A: App,
{
    let (mut there, mut back) = (vec![0u8; capacity], vec![0u8; capacity]);
    let mut duplex = Duplex::new(&mut there, &mut back);
    let (server_end, client_end) = duplex.split();
    let harness = Harness::new(app).config(config);
    let mut buffers = Buffers::<RB, WB>::new();
    futures::executor::block_on(async {
        futures::join!(client(client_end), harness.serve(server_end, &mut buffers))
    })
}

/// [`with_server`] with default buffers and pipe.
pub fn with_default_server<A: App, T>(
    app: &A,
    config: KeepAlive,
    client: impl AsyncFnOnce(End<'_>) -> T,
) -> (T, Result<ServerEnd, Error>) {
    with_server::<A, T, 4096, 2048>(app, config, PIPE_CAPACITY, client)
}

/// Send `input` (then EOF) and collect everything the server answers until it closes
/// (degu-core's [`raw_exchange`](degu_core::testing::raw_exchange) into a vector).
pub async fn raw_exchange(end: End<'_>, input: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; RAW_LIMIT];
    let n = degu_core::testing::raw_exchange(end, input, &mut out)
        .await
        .expect("the answer fits RAW_LIMIT");
    out.truncate(n);
    out
}

/// One response taken apart by degu-core's own parser and decoder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawResponse {
    /// Status code.
    pub status: u16,
    /// Headers in order.
    pub headers: Vec<(String, String)>,
    /// Body data.
    pub body: Vec<u8>,
}

impl RawResponse {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Split a byte stream of responses to requests made with `methods` (the last method
/// repeats). Panics on anything malformed.
pub fn split_responses(mut bytes: &[u8], methods: &[Method]) -> Vec<RawResponse> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let method = *methods
            .get(out.len())
            .or(methods.last())
            .unwrap_or(&Method::Get);
        let mut copy = bytes.to_vec();
        let head = match parse_response::<64>(&mut copy, method).expect("response head") {
            Status::Complete(h) => h,
            Status::Partial => panic!(
                "truncated response head: {:?}",
                String::from_utf8_lossy(bytes)
            ),
        };
        let headers = head
            .headers
            .iter()
            .map(|h| (h.name.to_string(), h.value.to_string()))
            .collect();
        let (status, framing, len) = (head.status, head.framing, head.len);
        bytes = &bytes[len..];
        let mut body = Vec::new();
        let mut dec = BodyDecoder::new(framing);
        loop {
            let (n, step) = dec.decode(bytes).expect("response body");
            bytes = &bytes[n..];
            match step {
                Decoded::End => break,
                Decoded::NeedMore => panic!("truncated body"),
                Decoded::Chunk(_) => {}
                Decoded::Data(max) => {
                    let k = (max as usize).min(bytes.len());
                    assert!(k > 0, "truncated body");
                    body.extend_from_slice(&bytes[..k]);
                    bytes = &bytes[k..];
                    dec.consume(k);
                }
            }
        }
        assert!(framing != Framing::None || body.is_empty());
        out.push(RawResponse {
            status,
            headers,
            body,
        });
    }
    out
}
