//! [`FilesApp`]: static files from a directory, with single byte ranges (the Python
//! original's `FilesApp`, plus the open range form `bytes=N-`).
//!
//! | request | answer |
//! |---|---|
//! | `GET`/`HEAD` of a regular file | 200, `content-length`, `content-type` from the extension |
//! | the same with `range: bytes=A-B` or `bytes=A-` | 206 with `content-range` and exactly those bytes (a range running past the end is cut at it) |
//! | a range starting at or past the end | 416 with `content-range: bytes */<len>` |
//! | another method | 405 with `allow: GET, HEAD` |
//! | `.`, `..`, or a path leaving the directory (symlinks included) | 400 |
//! | a missing file, a directory (no listings), anything not a regular file | 404 |
//! | a file the server may not read | 403 |
//!
//! The app serves what remains of the request path ([`Request::components`]), so a
//! router that [shifts](Request::shift_path) `/files` off mounts it at `/files/`. Files
//! are streamed from disk through one [`FILE_PIECE`]-byte buffer per request, whatever
//! their size.
//!
//! Each path is canonicalized and must stay under the canonical directory; the file is
//! then opened with `O_NOFOLLOW | O_NONBLOCK` and checked through its descriptor, so a
//! FIFO never blocks the server and a symlink swapped in at the last moment is refused.
//! A directory that untrusted users can write to is still not a safe thing to serve:
//! a swap of a parent directory between the check and the open is not detected.

use degu_core::app::{App, Request, Session};
use degu_core::engine::{Error, Read, Responder, Sent, Write};
use degu_core::{ContentRange, Header, Method};
use nix::fcntl::OFlag;
use std::io::{self, ErrorKind, SeekFrom};
use std::path::{Path, PathBuf};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

/// Bytes read from disk and written to the connection at a time (one buffer per request
/// being served).
pub const FILE_PIECE: usize = 64 * 1024;

/// Longest path component accepted (longer is 400): Linux's `NAME_MAX`.
pub const MAX_NAME_LEN: usize = 255;

/// `content-type` for files whose extension is not in [`CONTENT_TYPES`].
pub const DEFAULT_CONTENT_TYPE: &str = "application/octet-stream";

/// `content-type` by file extension (compared ignoring ASCII case).
pub const CONTENT_TYPES: &[(&str, &str)] = &[
    ("html", "text/html; charset=utf-8"),
    ("htm", "text/html; charset=utf-8"),
    ("txt", "text/plain; charset=utf-8"),
    ("json", "application/json"),
    ("css", "text/css; charset=utf-8"),
    ("js", "text/javascript; charset=utf-8"),
    ("png", "image/png"),
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("svg", "image/svg+xml"),
    ("bin", DEFAULT_CONTENT_TYPE),
];

/// The `content-type` [`FilesApp`] sends for `path`.
///
/// ```
/// use degu_std::files::content_type;
///
/// assert_eq!(content_type("index.HTML".as_ref()), "text/html; charset=utf-8");
/// assert_eq!(content_type("firmware.img".as_ref()), "application/octet-stream");
/// ```
pub fn content_type(path: &Path) -> &'static str {
    let Some(ext) = path.extension().and_then(|e| e.to_str()) else {
        return DEFAULT_CONTENT_TYPE;
    };
    CONTENT_TYPES
        .iter()
        .find(|(e, _)| e.eq_ignore_ascii_case(ext))
        .map_or(DEFAULT_CONTENT_TYPE, |(_, t)| t)
}

/// Serves the regular files under one directory (see the [module docs](self)).
///
/// ```
/// use degu_std::blocking::Wait;
/// use degu_std::files::FilesApp;
/// use degu_std::{BodyExt, Client, TempServer};
///
/// let dir = tempfile::tempdir()?;
/// std::fs::write(dir.path().join("hello.txt"), b"hello, world")?;
/// let server = TempServer::start(&"127.0.0.1:0".parse()?, FilesApp::new(dir.path())?)?;
/// let mut conn = Client::new(server.address().clone()).connect_blocking()?;
/// let mut response = conn.get_range("/hello.txt", &[], 7, 12).wait()?;
/// assert_eq!(response.status, 206);
/// assert_eq!(response.body.read_to_vec().wait()?, b"world");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct FilesApp {
    root: PathBuf,
}

impl FilesApp {
    /// Serve `dir`, which must be a directory; it is canonicalized now, and every file
    /// served must canonicalize to a path under it.
    pub fn new(dir: impl AsRef<Path>) -> io::Result<FilesApp> {
        let root = std::fs::canonicalize(dir)?;
        if !root.is_dir() {
            return Err(io::Error::new(ErrorKind::NotADirectory, "not a directory"));
        }
        Ok(FilesApp { root })
    }

    /// The canonical directory served.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file a request's remaining path names, or the status to answer instead.
    async fn resolve(&self, components: impl Iterator<Item = &str>) -> Result<PathBuf, u16> {
        let mut path = self.root.clone();
        let mut any = false;
        for raw in components {
            // `/` itself, or a trailing slash: a directory, never listed.
            if raw.is_empty() {
                return Err(404);
            }
            path.push(entry_name(raw).ok_or(400u16)?);
            any = true;
        }
        if !any {
            return Err(404);
        }
        let real = tokio::fs::canonicalize(&path).await.map_err(io_status)?;
        if !real.starts_with(&self.root) {
            return Err(400);
        }
        Ok(real)
    }
}

/// A path component as a directory entry's name, or `None` for one that could name
/// anything else (`.`, `..`, empty, too long, a byte outside Degu's path class).
///
/// Degu paths carry no percent-encoding (the engine accepts only
/// `A-Z a-z 0-9 - + . : _ ~` in a component and refuses `..` itself), so names are used
/// as they appear and a file whose name has other bytes is not reachable; the check is
/// repeated here so the app never depends on the parser for its safety.
fn entry_name(raw: &str) -> Option<&str> {
    let bad = raw.is_empty()
        || raw == "."
        || raw == ".."
        || raw.len() > MAX_NAME_LEN
        || !raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-+.:_~".contains(&b));
    (!bad).then_some(raw)
}

fn io_status(e: io::Error) -> u16 {
    // A symlink put in place after the path was checked (`O_NOFOLLOW`): an escape.
    if e.raw_os_error() == Some(nix::errno::Errno::ELOOP as i32) {
        return 400;
    }
    match e.kind() {
        ErrorKind::NotFound | ErrorKind::NotADirectory => 404,
        ErrorKind::PermissionDenied => 403,
        _ => 500,
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        _ => "Internal Server Error",
    }
}

impl App for FilesApp {
    type State = ();

    async fn handle<'r, R: Read, W: Write>(
        &self,
        _session: &mut Session<'_, ()>,
        request: Request<'_, R>,
        responder: Responder<'r, W>,
    ) -> Result<Sent<'r>, Error> {
        if !matches!(request.method, Method::Get | Method::Head) {
            let allow = [Header::new("allow", "GET, HEAD")];
            return responder.send(405, "Method Not Allowed", &allow, b"").await;
        }
        let path = match self.resolve(request.components()).await {
            Ok(p) => p,
            Err(status) => return responder.send(status, reason(status), &[], b"").await,
        };
        // Opened without following a last-moment symlink and without blocking on a FIFO;
        // what was opened is then checked through its descriptor (a regular file or 404).
        let (mut file, meta) = match open_regular(&path).await {
            Ok(Some(opened)) => opened,
            Ok(None) => return responder.send(404, "Not Found", &[], b"").await,
            Err(e) => {
                let status = io_status(e);
                return responder.send(status, reason(status), &[], b"").await;
            }
        };
        let total = meta.len();
        let ctype = content_type(&path);
        let (status, why, start, length, range_value) = match request.range {
            None => (200, "OK", 0, total, None),
            Some(range) => match range.content_range(total) {
                Some(cr) => (
                    206,
                    "Partial Content",
                    cr.start(),
                    cr.stop() - cr.start(),
                    Some(cr.to_value()),
                ),
                None => {
                    let unsatisfied = ContentRange::unsatisfied(total);
                    let headers = [Header::new("content-range", &unsatisfied)];
                    return responder
                        .send(416, "Range Not Satisfiable", &headers, b"")
                        .await;
                }
            },
        };
        let head_only = responder.method() == Method::Head;
        if !head_only
            && start > 0
            && let Err(e) = file.seek(SeekFrom::Start(start)).await
        {
            let status = io_status(e);
            return responder.send(status, reason(status), &[], b"").await;
        }
        let ctype_header = Header::new("content-type", ctype);
        let mut out = match &range_value {
            Some(cr) => {
                let headers = [ctype_header, Header::new("content-range", cr)];
                responder.stream(status, why, &headers, length).await?
            }
            None => {
                responder
                    .stream(status, why, &[ctype_header], length)
                    .await?
            }
        };
        if !head_only {
            let mut piece = vec![0u8; FILE_PIECE];
            let mut left = length;
            while left > 0 {
                let want = usize::try_from(left).map_or(FILE_PIECE, |l| l.min(FILE_PIECE));
                let buf = piece.get_mut(..want).ok_or(Error::App)?;
                let n = file.read(buf).await.map_err(|_| Error::App)?;
                if n == 0 {
                    // The file shrank under us: the response cannot be completed.
                    return Err(Error::App);
                }
                out.write(buf.get(..n).ok_or(Error::App)?).await?;
                left -= n as u64;
            }
        }
        out.finish(None).await
    }
}

/// Open `path` read-only with `O_NOFOLLOW | O_NONBLOCK` and `fstat` it: `None` when it
/// is not a regular file.
async fn open_regular(path: &Path) -> io::Result<Option<(tokio::fs::File, std::fs::Metadata)>> {
    let flags = OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC;
    let file = tokio::fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags.bits())
        .open(path)
        .await?;
    let meta = file.metadata().await?;
    Ok(meta.is_file().then_some((file, meta)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_that_name_only_an_entry() {
        assert_eq!(entry_name("a-b+c:d_e~f.txt"), Some("a-b+c:d_e~f.txt"));
        for bad in ["", ".", "..", "a/b", "a\\b", "a%2fb", "\0", "a b"] {
            assert_eq!(entry_name(bad), None, "{bad:?}");
        }
        assert_eq!(entry_name(&"x".repeat(MAX_NAME_LEN + 1)), None);
        assert!(entry_name(&"x".repeat(MAX_NAME_LEN)).is_some());
    }

    #[test]
    fn content_types_by_extension() {
        assert_eq!(content_type("a.json".as_ref()), "application/json");
        assert_eq!(content_type("a.PNG".as_ref()), "image/png");
        assert_eq!(content_type("noext".as_ref()), DEFAULT_CONTENT_TYPE);
        assert_eq!(content_type("a.bin".as_ref()), DEFAULT_CONTENT_TYPE);
    }
}
