//! What the `range` and `unix` features change, tested in both states: the default run
//! (`cargo test -p degu-core`) has them on, and `.ci/run` also runs this file with
//! `--no-default-features`, where the other half of each pair runs.
#![allow(clippy::expect_used, clippy::indexing_slicing)]

use degu_core::app::{App, Request, Session};
use degu_core::engine::{Error, Read, Responder, Sent, Write};
use degu_core::testing::exchange;
use degu_core::{Framing, Header, RenderError, Status, parse_request, render_response};

/// Answers with what it saw of the `range` header: `typed` (a `Range`), or `whole`.
struct RangeProbe;

impl App for RangeProbe {
    type State = ();

    async fn handle<'r, R: Read, W: Write>(
        &self,
        _session: &mut Session<'_, ()>,
        request: Request<'_, R>,
        responder: Responder<'r, W>,
    ) -> Result<Sent<'r>, Error> {
        #[cfg(feature = "range")]
        let typed = request.range.is_some();
        #[cfg(not(feature = "range"))]
        let typed = false;
        // Without the feature the header is still there, as an ordinary one.
        let raw = request.headers.get("range").unwrap_or("-");
        let body: &[u8] = if typed { b"typed" } else { b"whole" };
        let seen = [Header::new("x-range", raw)];
        responder.send(200, "OK", &seen, body).await
    }
}

fn answer(request: &[u8]) -> Vec<u8> {
    let mut out = [0u8; 512];
    let done = exchange(&RangeProbe, request, &mut out).expect("the exchange runs");
    out[..done.len].to_vec()
}

#[test]
fn a_valid_range_is_typed_or_ignored() {
    let got = answer(b"GET /f HTTP/1.1\r\nrange: bytes=0-9\r\n\r\n");
    let want: &[u8] = if cfg!(feature = "range") {
        b"HTTP/1.1 200 OK\r\nx-range: bytes=0-9\r\ncontent-length: 5\r\n\r\ntyped"
    } else {
        b"HTTP/1.1 200 OK\r\nx-range: bytes=0-9\r\ncontent-length: 5\r\n\r\nwhole"
    };
    assert_eq!(got, want, "{}", String::from_utf8_lossy(&got));
}

#[test]
fn a_bad_range_is_refused_or_ignored() {
    let mut head = *b"GET /f HTTP/1.1\r\nrange: bytes=9-1\r\n\r\n";
    let parsed = parse_request::<8>(&mut head);
    if cfg!(feature = "range") {
        assert!(parsed.is_err(), "{parsed:?}");
    } else {
        assert!(matches!(parsed, Ok(Status::Complete(_))), "{parsed:?}");
    }
}

#[test]
fn content_range_is_checked_or_refused() {
    let mut out = [0u8; 128];
    let good = [Header::new("content-range", "bytes 0-4/10")];
    let rendered = render_response(&mut out, 206, "Partial Content", &good, Framing::Length(5));
    if cfg!(feature = "range") {
        assert!(rendered.is_ok(), "{rendered:?}");
    } else {
        assert_eq!(rendered, Err(RenderError::BadContentRange));
    }
    // A bad one is refused either way.
    let bad = [Header::new("content-range", "bytes 4-0/10")];
    let rendered = render_response(&mut out, 206, "Partial Content", &bad, Framing::Length(5));
    assert_eq!(rendered, Err(RenderError::BadContentRange));
}

#[test]
fn a_request_never_carries_content_range() {
    let mut head = *b"GET /f HTTP/1.1\r\ncontent-range: bytes 0-4/10\r\n\r\n";
    assert!(parse_request::<8>(&mut head).is_err());
}

#[cfg(feature = "unix")]
#[test]
fn unix_peers_have_their_addresses() {
    use degu_core::app::{Credentials, PeerAddr};
    let path = heapless::String::try_from("/run/degu.sock").expect("short path");
    let credentials = Credentials {
        pid: 1,
        uid: 2,
        gid: 3,
    };
    let session = Session::new(PeerAddr::UnixPath(path), ()).with_credentials(credentials);
    assert_eq!(session.peer().to_string(), "/run/degu.sock");
    assert_eq!(session.credentials(), Some(credentials));
}

#[cfg(not(feature = "unix"))]
#[test]
fn without_unix_a_session_is_small_and_has_no_credentials() {
    use degu_core::app::PeerAddr;
    let session = Session::new(PeerAddr::Unnamed, ());
    assert_eq!(session.credentials(), None);
    // An IPv6 socket address and the enum's tag: no 108-byte AF_UNIX path.
    assert!(core::mem::size_of::<PeerAddr>() <= 32);
}
