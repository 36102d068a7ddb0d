//! `FilesApp` in a `TempServer`, at the root and mounted under a router, through the
//! async client: ranges (closed, open, clamped), 416 and its untyped `content-range`,
//! keep-alive across 404s, and `FilesApp::new` refusing what is not a directory.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use degu_core::app::{App, Request, Session};
use degu_core::engine::{Error, Read, Responder, Sent, Write};
use degu_core::{ContentRange, Header};
use degu_std::files::{FILE_PIECE, FilesApp};
use degu_std::{BodyExt, Client, TempServer};

/// `/static/...` to a FilesApp, anything else 404.
struct Mounted(FilesApp);

impl App for Mounted {
    type State = ();

    async fn handle<'r, R: Read, W: Write>(
        &self,
        session: &mut Session<'_, ()>,
        mut request: Request<'_, R>,
        responder: Responder<'r, W>,
    ) -> Result<Sent<'r>, Error> {
        match request.shift_path() {
            Some("static") => self.0.handle(session, request, responder).await,
            _ => responder.send(404, "Not Found", &[], b"").await,
        }
    }
}

fn data() -> Vec<u8> {
    (0..3 * FILE_PIECE + 7).map(|i| (i % 251) as u8).collect()
}

#[tokio::test(flavor = "current_thread")]
async fn files_app_serves_ranges_at_the_root_and_under_a_mount() {
    let dir = tempfile::tempdir().unwrap();
    let data = data();
    std::fs::write(dir.path().join("f.bin"), &data).unwrap();
    let len = data.len() as u64;
    let root = TempServer::start(
        &"127.0.0.1:0".parse().unwrap(),
        FilesApp::new(dir.path()).unwrap(),
    )
    .unwrap();
    let mounted = TempServer::start(
        &"127.0.0.1:0".parse().unwrap(),
        Mounted(FilesApp::new(dir.path()).unwrap()),
    )
    .unwrap();
    for (server, uri) in [(&root, "/f.bin"), (&mounted, "/static/f.bin")] {
        let mut conn = Client::new(server.address().clone())
            .connect()
            .await
            .unwrap();
        let mut r = conn.get(uri, &[]).await.unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.body.read_to_vec().await.unwrap(), data);

        // A range straddling two pieces.
        let (start, stop) = (FILE_PIECE as u64 - 3, FILE_PIECE as u64 + 5);
        let mut r = conn.get_range(uri, &[], start, stop).await.unwrap();
        assert_eq!(r.status, 206);
        assert_eq!(r.content_range, ContentRange::new(start, stop, len));
        assert_eq!(
            r.body.read_to_vec().await.unwrap(),
            &data[start as usize..stop as usize]
        );

        // Clamped at the end.
        let mut r = conn.get_range(uri, &[], len - 2, len + 10).await.unwrap();
        assert_eq!(r.content_range, ContentRange::new(len - 2, len, len));
        assert_eq!(r.body.read_to_vec().await.unwrap(), &data[data.len() - 2..]);

        // Open.
        let mut r = conn
            .get(uri, &[Header::new("range", "bytes=5-")])
            .await
            .unwrap();
        assert_eq!(r.content_range, ContentRange::new(5, len, len));
        assert_eq!(r.body.read_to_vec().await.unwrap(), &data[5..]);

        // 404s keep the connection.
        let r = conn.get("/static/nope", &[]).await.unwrap();
        assert_eq!(r.status, 404);

        // 416: the client sees `bytes */<len>` as a header, not a typed range.
        let r = conn.get_range(uri, &[], len, len + 1).await.unwrap();
        assert_eq!(r.status, 416);
        assert_eq!(r.content_range, None);
        let value = r.headers.get("content-range").unwrap();
        assert_eq!(ContentRange::parse_unsatisfied(value), Ok(len));
    }
}

#[test]
fn files_app_needs_an_existing_directory() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f");
    std::fs::write(&file, b"x").unwrap();
    assert!(FilesApp::new(&file).is_err());
    assert!(FilesApp::new(dir.path().join("missing")).is_err());
    let app = FilesApp::new(dir.path()).unwrap();
    assert_eq!(app.root(), dir.path().canonicalize().unwrap());
}
