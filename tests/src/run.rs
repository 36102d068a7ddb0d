//! Runners: a server engine and a client on the two ends of a [`duplex`] in one
//! single-threaded executor.

use crate::pipe::{Duplex, duplex};
use degu_core::app::{App, PeerAddr, Session};
use degu_core::engine::{Buffers, Error, KeepAlive, ServerEnd, serve};
use degu_core::{BodyDecoder, Decoded, Framing, Method, Status, parse_response};
use embedded_io_async::{Read, Write};
use std::future::Future;

/// Bytes in flight per direction in the default pipe.
pub const PIPE_CAPACITY: usize = 64 * 1024;

/// Run `client` against `app` served with `RB`/`WB` buffers; returns what the client
/// returned and how the server ended. The server's end of the pipe is dropped when
/// `serve` returns, so the client sees EOF.
pub fn with_server<A, T, F, const RB: usize, const WB: usize>(
    app: &A,
    config: KeepAlive,
    capacity: usize,
    client: impl FnOnce(Duplex) -> F,
) -> (T, Result<ServerEnd, Error>)
where
    A: App,
    F: Future<Output = T>,
{
    let (mut server_end, client_end) = duplex(capacity);
    futures::executor::block_on(async move {
        let server = async move {
            let mut buffers = Buffers::<RB, WB>::new();
            let mut session = Session::new(PeerAddr::Unnamed, A::State::default());
            let r = serve(&mut server_end, &mut buffers, app, &mut session, &config).await;
            drop(server_end);
            r
        };
        futures::join!(client(client_end), server)
    })
}

/// [`with_server`] with default buffers and pipe.
pub fn with_default_server<A: App, T, F: Future<Output = T>>(
    app: &A,
    config: KeepAlive,
    client: impl FnOnce(Duplex) -> F,
) -> (T, Result<ServerEnd, Error>) {
    with_server::<A, T, F, 4096, 2048>(app, config, PIPE_CAPACITY, client)
}

/// Send `input` (then EOF) and collect everything the server answers until it closes.
pub async fn raw_exchange(end: Duplex, input: &[u8]) -> Vec<u8> {
    let Duplex { mut rx, mut tx } = end;
    let send = async move {
        // A server that closes early makes later writes fail: that is fine here.
        let _ = tx.write_all(input).await;
        drop(tx);
    };
    let recv = async move {
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match rx.read(&mut buf).await {
                Ok(0) | Err(_) => return out,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    };
    futures::join!(send, recv).1
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
