//! Device to device: the pair client, which runs the demo app's routes against another
//! device (the peer) that serves `DemoApp` on the same LAN.
//!
//! Over IPv4, then over IPv6 link-local (the peer's address made from its MAC, the scope
//! this device's one interface: degu-embassy's [`Remote`]), one connection each, in this
//! order:
//!
//! 1. `GET /hello`: 200, `hello, world`;
//! 2. `HEAD /hello`: 200, `content-length: 12`, no body;
//! 3. a chunked `POST /echo` of at least [`ECHO_LEN`] bytes, every chunk with an
//!    extension `i=<index>`, sent while the answer is read: the same chunks must come
//!    back, size, extension and bytes;
//! 4. `GET /chunks?n=`[`CHUNKS`]: that many chunks `chunk <i>` with extension `i=<i>`;
//! 5. `GET /no-such-route`: 404, and the connection stays open.
//!
//! Each result is a line on QEMU's stdout; the first that does not hold ends the run
//! with an [`PairError`] (the firmware prints it and exits 1).

use crate::config::Peer;
use crate::{CLIENT_RESOURCES, CLIENT_TIMEOUTS, ClientResources, PORT};
use core::fmt::Write as _;
use cortex_m_semihosting::hprintln;
use degu_core::engine::{Connection, Error, Pump, Read, Response, Write};
use degu_core::{ChunkExt, Framing, Method};
use degu_embassy::{Remote, connect};
use embassy_net::tcp::ConnectError;
use embassy_net::{Ipv4Address, Stack};
use embassy_time::Instant;

/// Least bytes the echo request sends (it ends with the chunk that reaches it).
pub const ECHO_LEN: usize = 64 * 1024;
/// Largest echo chunk: what one read of a chunk takes whole.
pub const ECHO_CHUNK_MAX: usize = 1279;
/// Chunks asked of `GET /chunks?n=`.
pub const CHUNKS: u32 = 16;

/// Why the pair client stopped.
#[derive(Debug)]
pub struct PairError {
    /// `ipv4` or `ipv6`.
    family: &'static str,
    /// The request (or `connect`).
    step: &'static str,
    /// What went wrong.
    what: Failure,
}

#[derive(Debug)]
enum Failure {
    Connect(ConnectError),
    Http(Error),
    Status(u16),
    /// The answer differs from what the demo app sends.
    Mismatch(&'static str, usize),
}

impl core::fmt::Display for PairError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{} {}: ", self.family, self.step)?;
        match &self.what {
            Failure::Connect(e) => write!(f, "{e:?}"),
            Failure::Http(e) => write!(f, "{e}"),
            Failure::Status(s) => write!(f, "unexpected status {s}"),
            Failure::Mismatch(what, at) => write!(f, "{what} (at {at})"),
        }
    }
}

/// Run every request over IPv4, then over IPv6 link-local, and print each result.
pub async fn run(stack: Stack<'static>, peer: &Peer) -> Result<(), PairError> {
    let ClientResources { rx, tx, buffers } = CLIENT_RESOURCES.take();
    let remotes = [
        (
            "ipv4",
            Remote::new(stack, (Ipv4Address::from(peer.ipv4), PORT)),
        ),
        (
            "ipv6",
            Remote::new(stack, (crate::link_local(peer.mac).address(), PORT)),
        ),
    ];
    let started = Instant::now();
    for (family, remote) in remotes {
        let fail = |step, what| PairError { family, step, what };
        let mut socket = remote.socket(&mut rx[..], &mut tx[..]);
        let begun = Instant::now();
        let mut io = connect(&mut socket, remote, &CLIENT_TIMEOUTS)
            .await
            .map_err(|e| fail("connect", Failure::Connect(e)))?;
        hprintln!(
            "{} connected to {:?} in {} ms",
            family,
            remote,
            begun.elapsed().as_millis()
        );
        let (reader, writer) = io.split();
        let mut conn = buffers.connection(reader, writer);
        let result = requests(&mut conn, family).await;
        drop(conn);
        io.close().await;
        result?;
        hprintln!(
            "{}: 5 requests on one connection, all as expected, in {} ms",
            family,
            begun.elapsed().as_millis()
        );
    }
    hprintln!(
        "pair client done: IPv4 and IPv6 link-local in {} ms",
        started.elapsed().as_millis()
    );
    Ok(())
}

/// The five requests on one connection.
async fn requests<R: Read, W: Write, B: AsMut<[u8]>>(
    conn: &mut Connection<R, W, B>,
    family: &'static str,
) -> Result<(), PairError> {
    let fail = |step, what| PairError { family, step, what };
    let http = |step| move |e| fail(step, Failure::Http(e));
    let mut body = [0u8; 64];

    let step = "GET /hello";
    let started = Instant::now();
    let response = conn.get("/hello", &[]).await.map_err(http(step))?;
    let n = answer(response, 200, &mut body)
        .await
        .map_err(|w| fail(step, w))?;
    if body.get(..n) != Some(&b"hello, world"[..]) {
        return Err(fail(
            step,
            Failure::Mismatch("body is not `hello, world`", n),
        ));
    }
    held(family, step, started, format_args!("200 \"hello, world\""));

    let step = "HEAD /hello";
    let started = Instant::now();
    let response = conn.head("/hello", &[]).await.map_err(http(step))?;
    let length = response.headers.get("content-length") == Some("12");
    let n = answer(response, 200, &mut body)
        .await
        .map_err(|w| fail(step, w))?;
    if !length || n != 0 {
        return Err(fail(
            step,
            Failure::Mismatch("not content-length 12 without a body", n),
        ));
    }
    held(
        family,
        step,
        started,
        format_args!("200, content-length 12, no body"),
    );

    let step = "POST /echo";
    let started = Instant::now();
    let (count, bytes) = echo(conn).await.map_err(|w| fail(step, w))?;
    held(
        family,
        step,
        started,
        format_args!(
            "200, {} chunks of {} bytes with extensions back chunk for chunk",
            count, bytes
        ),
    );

    let step = "GET /chunks?n=16";
    let started = Instant::now();
    chunks(conn).await.map_err(|w| fail(step, w))?;
    held(
        family,
        step,
        started,
        format_args!("200, {} chunks `chunk <i>` with i=<i>", CHUNKS),
    );

    let step = "GET /no-such-route";
    let started = Instant::now();
    let response = conn.get("/no-such-route", &[]).await.map_err(http(step))?;
    answer(response, 404, &mut body)
        .await
        .map_err(|w| fail(step, w))?;
    if conn.is_closed() {
        return Err(fail(
            step,
            Failure::Mismatch("connection closed after 404", 0),
        ));
    }
    held(
        family,
        step,
        started,
        format_args!("404, connection still open"),
    );
    Ok(())
}

/// Print that `step` held: `<family> <step>: <detail> (<ms> ms)`.
fn held(family: &str, step: &str, started: Instant, detail: core::fmt::Arguments<'_>) {
    hprintln!(
        "{} {}: {} ({} ms)",
        family,
        step,
        detail,
        started.elapsed().as_millis()
    );
}

/// Read `response`'s whole body into `body` (so the connection can carry the next
/// request), then check its status is `want`; the body's length.
async fn answer<R: Read, P: Pump>(
    mut response: Response<'_, R, P>,
    want: u16,
    body: &mut [u8],
) -> Result<usize, Failure> {
    let status = response.status;
    let n = response
        .body
        .read_to_end(body)
        .await
        .map_err(Failure::Http)?;
    expect_status(status, want)?;
    Ok(n)
}

fn expect_status(status: u16, want: u16) -> Result<(), Failure> {
    match status == want {
        true => Ok(()),
        false => Err(Failure::Status(status)),
    }
}

/// Echo chunk `i`: its size (256 to [`ECHO_CHUNK_MAX`] bytes, varying) and its bytes,
/// a pattern of its offset in the body (`at`).
fn echo_chunk(i: usize, at: usize, out: &mut [u8; ECHO_CHUNK_MAX]) -> usize {
    let len = 256 + (i * 97) % (ECHO_CHUNK_MAX - 255);
    for (k, b) in out.iter_mut().take(len).enumerate() {
        *b = ((at + k) % 251) as u8;
    }
    len
}

/// The extension value of chunk `i`: its index.
fn index(i: usize) -> heapless::String<10> {
    let mut value = heapless::String::new();
    // A usize below 2^32 has at most 10 digits.
    let _ = write!(value, "{i}");
    value
}

/// `POST /echo`, chunked, sent while the answer is read and compared chunk by chunk;
/// the number of chunks and bytes.
async fn echo<R: Read, W: Write, B: AsMut<[u8]>>(
    conn: &mut Connection<R, W, B>,
) -> Result<(usize, usize), Failure> {
    let (mut upload, response) = conn
        .send(Method::Post, "/echo", &[], Framing::Chunked)
        .map_err(Failure::Http)?;
    let sending = async {
        let mut chunk = [0u8; ECHO_CHUNK_MAX];
        let (mut i, mut sent) = (0, 0);
        while sent < ECHO_LEN {
            let len = echo_chunk(i, sent, &mut chunk);
            let value = index(i);
            upload
                .write_chunk(Some(ChunkExt::new("i", &value)), &chunk[..len])
                .await?;
            sent += len;
            i += 1;
        }
        upload.finish(None).await
    };
    let receiving = async {
        let mut response = response.receive().await.map_err(Failure::Http)?;
        expect_status(response.status, 200)?;
        let mut got = [0u8; ECHO_CHUNK_MAX];
        let mut want = [0u8; ECHO_CHUNK_MAX];
        let (mut i, mut at) = (0, 0);
        loop {
            let Some(piece) = response
                .body
                .read_chunk(&mut got)
                .await
                .map_err(Failure::Http)?
            else {
                break;
            };
            if piece.is_end() {
                continue;
            }
            if at >= ECHO_LEN {
                return Err(Failure::Mismatch("more chunks than sent", i));
            }
            let len = echo_chunk(i, at, &mut want);
            let value = index(i);
            if !(piece.first && piece.last) || piece.len != len {
                return Err(Failure::Mismatch("chunk size differs", i));
            }
            if piece.ext != Some(ChunkExt::new("i", &value)) {
                return Err(Failure::Mismatch("chunk extension differs", i));
            }
            if got.get(..len) != want.get(..len) {
                return Err(Failure::Mismatch("chunk bytes differ", i));
            }
            at += len;
            i += 1;
        }
        match at >= ECHO_LEN {
            true => Ok((i, at)),
            false => Err(Failure::Mismatch("fewer chunks than sent", i)),
        }
    };
    // Full duplex: the demo app echoes while it reads, and the TCP windows (4 KiB) hold
    // far less than the body.
    let (sent, received) = embassy_futures::join::join(sending, receiving).await;
    let received = received?;
    sent.map_err(Failure::Http)?;
    Ok(received)
}

/// `GET /chunks?n=16`: [`CHUNKS`] chunks `chunk <i>` with extension `i=<i>`.
async fn chunks<R: Read, W: Write, B: AsMut<[u8]>>(
    conn: &mut Connection<R, W, B>,
) -> Result<(), Failure> {
    const PATH: &str = "/chunks?n=16";
    const _: () = assert!(CHUNKS == 16, "PATH asks for CHUNKS");
    let mut response = conn.get(PATH, &[]).await.map_err(Failure::Http)?;
    expect_status(response.status, 200)?;
    let mut got = [0u8; 32];
    let mut i = 0;
    while let Some(piece) = response
        .body
        .read_chunk(&mut got)
        .await
        .map_err(Failure::Http)?
    {
        if piece.is_end() {
            continue;
        }
        let value = index(i);
        let mut want = heapless::String::<16>::new();
        let _ = write!(want, "chunk {i}");
        if piece.ext != Some(ChunkExt::new("i", &value))
            || got.get(..piece.len) != Some(want.as_bytes())
        {
            return Err(Failure::Mismatch(
                "chunk differs from `chunk <i>; i=<i>`",
                i,
            ));
        }
        i += 1;
    }
    match i == CHUNKS as usize {
        true => Ok(()),
        false => Err(Failure::Mismatch("wrong number of chunks", i)),
    }
}
