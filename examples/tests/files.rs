//! `demo-server --files DIR` (degu-std's `FilesApp` at `/files/`) over real sockets:
//! whole files, HEAD, closed and open ranges, 416, escapes (`..`, encoded `..`,
//! symlinks) as 400, missing files and directories as 404, other methods as 405; curl's
//! `-r` and `-C -` resume; a 200 MB file, whole and by range, with the server's peak RSS
//! bounded.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{Device, Rng, hex};
use degu_core::Header;
use degu_std::BodyExt;
use degu_std::blocking::Wait;
use sha2::{Digest, Sha256};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Size of the small test file: several of FilesApp's 64 KiB pieces and a ragged end.
const SMALL: usize = 300_001;

/// The large file: 200 MB.
const LARGE: u64 = 200_000_000;

/// The most the server may hold resident while serving the large file.
const MAX_RSS_KIB: u64 = 64 * 1024;

/// What one request got: status, the headers asked for, the body.
#[derive(Debug, PartialEq)]
struct Got {
    status: u16,
    headers: Vec<Option<String>>,
    body: Vec<u8>,
}

/// One request on a fresh connection (error statuses other than 404 close it).
fn fetch(server: &Device, head: bool, uri: &str, range: Option<&str>, want: &[&str]) -> Got {
    let mut conn = server.conn();
    let extra: Vec<Header<'_>> = range.map(|r| Header::new("range", r)).into_iter().collect();
    let mut r = if head {
        conn.head(uri, &extra).wait().unwrap()
    } else {
        conn.get(uri, &extra).wait().unwrap()
    };
    let headers = want
        .iter()
        .map(|n| r.headers.get(n).map(str::to_owned))
        .collect();
    let body = r.body.read_to_vec().wait().unwrap();
    Got {
        status: r.status,
        headers,
        body,
    }
}

fn got(status: u16, headers: &[Option<&str>], body: &[u8]) -> Got {
    Got {
        status,
        headers: headers.iter().map(|h| h.map(str::to_owned)).collect(),
        body: body.to_vec(),
    }
}

fn tempdir(tag: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("degu-files-{tag}-"))
        .tempdir()
        .unwrap()
}

/// `<tmp>/served/` with `data.bin` (pseudo-random), `a.txt`, `sub/`, a symlink inside
/// and one out of it, a FIFO; `<tmp>/secret.txt` beside it.
fn small_tree(tag: &str) -> (tempfile::TempDir, PathBuf, Vec<u8>) {
    let tmp = tempdir(tag);
    let dir = tmp.path().join("served");
    std::fs::create_dir(&dir).unwrap();
    let mut data = vec![0u8; SMALL];
    Rng(17).fill(&mut data);
    std::fs::write(dir.join("data.bin"), &data).unwrap();
    std::fs::write(dir.join("a.txt"), b"hello, files\n").unwrap();
    std::fs::create_dir(dir.join("sub")).unwrap();
    std::fs::write(dir.join("sub").join("b.json"), b"{}").unwrap();
    std::fs::write(tmp.path().join("secret.txt"), b"secret").unwrap();
    std::os::unix::fs::symlink(tmp.path().join("secret.txt"), dir.join("escape.txt")).unwrap();
    std::os::unix::fs::symlink("a.txt", dir.join("inside.txt")).unwrap();
    let fifo = Command::new("mkfifo")
        .arg(dir.join("fifo"))
        .status()
        .unwrap();
    assert!(fifo.success());
    (tmp, dir, data)
}

#[test]
fn files_answers_whole_ranged_unsatisfiable_escaping_and_missing_requests() {
    let (_tmp, dir, data) = small_tree("answers");
    let server = Device::with_files(&dir);
    let len = data.len();
    let cl_ct_cr = ["content-length", "content-type", "content-range"];
    let len_s = len.to_string();
    let octets = Some("application/octet-stream");

    // Whole file and HEAD.
    assert_eq!(
        fetch(&server, false, "/files/data.bin", None, &cl_ct_cr),
        got(200, &[Some(&len_s), octets, None], &data)
    );
    assert_eq!(
        fetch(&server, true, "/files/data.bin", None, &cl_ct_cr),
        got(200, &[Some(&len_s), octets, None], b"")
    );
    assert_eq!(
        fetch(&server, false, "/files/a.txt", None, &cl_ct_cr),
        got(
            200,
            &[Some("13"), Some("text/plain; charset=utf-8"), None],
            b"hello, files\n"
        )
    );
    assert_eq!(
        fetch(&server, false, "/files/sub/b.json", None, &["content-type"]),
        got(200, &[Some("application/json")], b"{}")
    );
    // A symlink that stays inside the directory is served.
    assert_eq!(
        fetch(&server, false, "/files/inside.txt", None, &[]).body,
        b"hello, files\n"
    );

    // A closed range, across a 64 KiB piece boundary.
    let cr = format!("bytes 65000-70999/{len}");
    assert_eq!(
        fetch(
            &server,
            false,
            "/files/data.bin",
            Some("bytes=65000-70999"),
            &cl_ct_cr
        ),
        got(206, &[Some("6000"), octets, Some(&cr)], &data[65000..71000])
    );
    // A range past the end is clamped to it.
    let cr = format!("bytes {}-{}/{len}", len - 10, len - 1);
    assert_eq!(
        fetch(
            &server,
            false,
            "/files/data.bin",
            Some(&format!("bytes={}-{}", len - 10, len + 100)),
            &cl_ct_cr
        ),
        got(206, &[Some("10"), octets, Some(&cr)], &data[len - 10..])
    );
    // The open form, GET and HEAD.
    let cr = format!("bytes 1000-{}/{len}", len - 1);
    let open_len = (len - 1000).to_string();
    assert_eq!(
        fetch(
            &server,
            false,
            "/files/data.bin",
            Some("bytes=1000-"),
            &cl_ct_cr
        ),
        got(206, &[Some(&open_len), octets, Some(&cr)], &data[1000..])
    );
    assert_eq!(
        fetch(
            &server,
            true,
            "/files/data.bin",
            Some("bytes=1000-"),
            &cl_ct_cr
        ),
        got(206, &[Some(&open_len), octets, Some(&cr)], b"")
    );
    // The last byte alone, by both forms.
    for range in [
        format!("bytes={}-{}", len - 1, len - 1),
        format!("bytes={}-", len - 1),
    ] {
        assert_eq!(
            fetch(&server, false, "/files/data.bin", Some(&range), &[]).body,
            &data[len - 1..],
            "{range}"
        );
    }

    // Unsatisfiable: 416 with the length.
    let star = format!("bytes */{len}");
    for range in [format!("bytes={len}-{}", len + 5), format!("bytes={len}-")] {
        assert_eq!(
            fetch(
                &server,
                false,
                "/files/data.bin",
                Some(&range),
                &["content-range"]
            ),
            got(416, &[Some(&star)], b""),
            "{range}"
        );
    }

    // Escapes: 400.
    for uri in [
        "/files/escape.txt",
        "/files/%2e%2e/secret.txt",
        "/files/sub/%2E%2E/%2e%2e/secret.txt",
        "/files/..%2fsecret.txt",
        "/files/sub%2f..%2f..%2fsecret.txt",
        "/files/./a.txt",
        "/files/%00",
    ] {
        // Raw: the degu client refuses to send some of these paths at all. The engine
        // itself answers those with `%` (Degu paths carry no percent-encoding); the
        // symlink and `.` reach FilesApp.
        let raw = raw_request(&server, format!("GET {uri} HTTP/1.1\r\n\r\n").as_bytes());
        assert!(raw.starts_with(b"HTTP/1.1 400 "), "{uri}: {raw:?}");
    }
    // A literal `..` never reaches the app: the engine refuses the path.
    let raw = raw_request(&server, b"GET /files/../secret.txt HTTP/1.1\r\n\r\n");
    assert!(raw.starts_with(b"HTTP/1.1 400 "), "{raw:?}");

    // Missing, directories, the mount itself, a FIFO (never opened blocking): 404.
    for uri in [
        "/files/nope",
        "/files/sub",
        "/files/sub/",
        "/files/",
        "/files",
        "/files/a.txt/x",
        "/files/fifo",
    ] {
        assert_eq!(fetch(&server, false, uri, None, &[]).status, 404, "{uri}");
    }

    // Other methods: 405 with `allow`.
    for req in [
        "POST /files/a.txt HTTP/1.1\r\ncontent-length: 3\r\n\r\nabc",
        "PUT /files/a.txt HTTP/1.1\r\ncontent-length: 0\r\n\r\n",
        "DELETE /files/a.txt HTTP/1.1\r\n\r\n",
    ] {
        let raw = String::from_utf8(raw_request(&server, req.as_bytes())).unwrap();
        assert!(raw.starts_with("HTTP/1.1 405 "), "{raw}");
        assert!(raw.contains("\r\nallow: GET, HEAD\r\n"), "{raw}");
    }

    // The demo app still answers everything else.
    assert_eq!(
        fetch(&server, false, "/hello", None, &[]).body,
        b"hello, world"
    );
}

/// Send `req` on a raw TCP socket, half-close, read to EOF.
fn raw_request(server: &Device, req: &[u8]) -> Vec<u8> {
    use std::io::Read as _;
    let mut s = std::net::TcpStream::connect(server.address.to_string()).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    s.write_all(req).unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    out
}

/// `curl ARGS...` with a 120 s bound; a failed run fails the test.
fn curl(args: &[&str]) -> Vec<u8> {
    common::curl_ok(120, args)
}

#[test]
fn curl_fetches_a_range_and_resumes_a_download() {
    let (tmp, dir, data) = small_tree("curl");
    let server = Device::with_files(&dir);
    let url = server.url("/files/data.bin");

    assert_eq!(curl(&["-r", "100-199", &url]), &data[100..200]);
    assert_eq!(curl(&["-r", "300000-", &url]), &data[300_000..]);

    // A download cut off after 123,457 bytes, resumed by `curl -C -` (`bytes=123457-`).
    let part = tmp.path().join("data.part");
    std::fs::write(&part, &data[..123_457]).unwrap();
    let part_s = part.display().to_string();
    curl(&["-C", "-", "-o", &part_s, &url]);
    assert_eq!(std::fs::read(&part).unwrap(), data);

    // Resuming a complete download: curl asks for `bytes=<len>-`, hears 416 and is done.
    curl(&["-C", "-", "-o", &part_s, &url]);
    assert_eq!(std::fs::read(&part).unwrap(), data);

    // `-f` makes curl fail on 404.
    let missing = Command::new("curl")
        .args(["-sSf", &server.url("/files/nope")])
        .output()
        .unwrap();
    assert!(!missing.status.success());
}

/// Read a body to its end in pieces; its SHA-256 and length.
fn hash_body(r: &mut degu_std::blocking::BlockingResponse<'_>) -> (String, u64) {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut n_total = 0u64;
    loop {
        let n = r.body.read(&mut buf).wait().unwrap();
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        n_total += n as u64;
    }
    (hex(h), n_total)
}

/// SHA-256 of bytes `start..stop` of `path`.
fn hash_file(path: &Path, start: u64, stop: u64) -> String {
    use std::io::{Read as _, Seek as _, SeekFrom};
    let mut f = std::fs::File::open(path).unwrap();
    f.seek(SeekFrom::Start(start)).unwrap();
    let mut f = f.take(stop - start);
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    hex(h)
}

#[test]
fn a_200_mb_file_streams_whole_and_by_range_in_bounded_memory() {
    let tmp = tempdir("large");
    let dir = tmp.path().join("served");
    std::fs::create_dir(&dir).unwrap();
    let path = dir.join("large.bin");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        let mut rng = Rng(200);
        let mut buf = vec![0u8; 1 << 20];
        let mut left = LARGE;
        while left > 0 {
            let n = left.min(buf.len() as u64) as usize;
            rng.fill(&mut buf[..n]);
            f.write_all(&buf[..n]).unwrap();
            left -= n as u64;
        }
        f.flush().unwrap();
    }
    let server = Device::with_files(&dir);
    let mut conn = server.conn();

    let mut r = conn.get("/files/large.bin", &[]).wait().unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.body.content_length(), Some(LARGE));
    assert_eq!(hash_body(&mut r), (hash_file(&path, 0, LARGE), LARGE));

    let (start, stop) = (50_000_001, 150_000_000);
    let mut r = conn
        .get_range("/files/large.bin", &[], start, stop)
        .wait()
        .unwrap();
    assert_eq!(r.status, 206);
    let cr = r.content_range.unwrap();
    assert_eq!((cr.start(), cr.stop(), cr.total()), (start, stop, LARGE));
    assert_eq!(
        hash_body(&mut r),
        (hash_file(&path, start, stop), stop - start)
    );

    let start = 180_000_000;
    let mut r = conn
        .get(
            "/files/large.bin",
            &[Header::new("range", "bytes=180000000-")],
        )
        .wait()
        .unwrap();
    assert_eq!(r.status, 206);
    assert_eq!(
        hash_body(&mut r),
        (hash_file(&path, start, LARGE), LARGE - start)
    );

    let rss = server.peak_rss_kib();
    println!("demo-server peak RSS serving 200 MB whole and by ranges: {rss} KiB");
    assert!(rss < MAX_RSS_KIB, "peak RSS {rss} KiB");
}
