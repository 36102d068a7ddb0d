//! The `degu` CLI as an everyday tool, driven as a user drives it, against the
//! `demo-server` binary serving files (`--files`): the body alone on stdout, byte for
//! byte; `-i` and `-v`; `-o FILE`; `-T FILE` streamed from disk (a 200 MB upload in
//! bounded memory, and a server that refuses it at once); `--fail`; the `--chunks` view;
//! the progress bar on a terminal (a pty from `script`) and never on a pipe.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{Device, Rng, vm_hwm_kib};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const DEGU: &str = env!("CARGO_BIN_EXE_degu");

/// The downloaded file: larger than every socket buffer, several of FilesApp's pieces.
const DOWNLOAD: usize = 30_000_001;
/// The streamed upload: 200 MB, which `degu` must not hold in memory.
const UPLOAD: u64 = 200_000_000;
/// The most `degu` may hold resident while it streams the upload and its echo.
const MAX_RSS_KIB: u64 = 32 * 1024;
/// A refused upload must be answered long before it could have been sent.
const REFUSED_WITHIN: Duration = Duration::from_secs(2);

/// Run `degu ADDRESS METHOD URI OPTIONS...` against `server` to its end.
fn degu(server: &Device, method: &str, uri: &str, options: &[&str]) -> Output {
    let address = server.address.to_string();
    Command::new(DEGU)
        .args([address.as_str(), method, uri])
        .args(options)
        .output()
        .unwrap()
}

fn random_file(path: &Path, len: usize, seed: u64) -> Vec<u8> {
    let mut data = vec![0u8; len];
    Rng(seed).fill(&mut data);
    std::fs::write(path, &data).unwrap();
    data
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn the_body_alone_goes_to_stdout_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let data = random_file(&dir.path().join("big.bin"), DOWNLOAD, 1);
    let server = Device::with_files(dir.path());

    let out = degu(&server, "GET", "/files/big.bin", &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(out.stdout == data, "stdout is not the file served");
    assert!(out.stderr.is_empty(), "stderr: {}", text(&out.stderr));

    let out = degu(&server, "GET", "/hello", &[]);
    assert_eq!(out.stdout, b"hello, world");

    // -o FILE: the same bytes in the file, nothing on stdout.
    let saved = dir.path().join("saved.bin");
    let out = degu(
        &server,
        "GET",
        "/files/big.bin",
        &["-o", saved.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty());
    assert!(std::fs::read(&saved).unwrap() == data, "-o file differs");
}

#[test]
fn include_puts_the_head_first_and_verbose_shows_both_heads_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let server = Device::with_files(dir.path());

    let out = degu(&server, "GET", "/hello", &["-i"]);
    assert_eq!(
        text(&out.stdout),
        "HTTP/1.1 200 OK\r\ncontent-length: 12\r\n\r\nhello, world"
    );

    let out = degu(
        &server,
        "PUT",
        "/echo",
        &["-v", "-d", "ping", "-H", "x-test: 1"],
    );
    assert_eq!(out.stdout, b"ping");
    let port = server.address.to_string();
    assert_eq!(
        text(&out.stderr),
        format!(
            "> PUT /echo HTTP/1.1\n> host: {port}\n> x-test: 1\n> content-length: 4\n>\n\
             < HTTP/1.1 200 OK\n< content-length: 4\n<\n"
        )
    );

    // HEAD: a head and no body.
    let out = degu(&server, "HEAD", "/hello", &["-i"]);
    assert_eq!(
        text(&out.stdout),
        "HTTP/1.1 200 OK\r\ncontent-length: 12\r\n\r\n"
    );
}

#[test]
fn fail_turns_4xx_into_exit_22_without_a_body() {
    let dir = tempfile::tempdir().unwrap();
    let server = Device::with_files(dir.path());

    let out = degu(&server, "GET", "/files/missing", &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "an answer is a success without --fail"
    );

    let out = degu(&server, "GET", "/files/missing", &["--fail"]);
    assert_eq!(out.status.code(), Some(22));
    assert!(out.stdout.is_empty());
    assert_eq!(
        text(&out.stderr),
        "degu: the server answered 404 Not Found\n"
    );

    let out = degu(&server, "GET", "/hello", &["--fail"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(out.stdout, b"hello, world");
}

#[test]
fn chunks_shows_a_chunked_body_with_its_extensions() {
    let dir = tempfile::tempdir().unwrap();
    let server = Device::with_files(dir.path());

    let out = degu(&server, "GET", "/chunks?n=3", &["--chunks"]);
    assert_eq!(
        text(&out.stdout),
        "[7; i=0] chunk 0\n[7; i=1] chunk 1\n[7; i=2] chunk 2\n[0]\n"
    );
    // Without --chunks, the data alone.
    let out = degu(&server, "GET", "/chunks?n=3", &[]);
    assert_eq!(text(&out.stdout), "chunk 0chunk 1chunk 2");

    // A chunked upload echoed chunk for chunk, the last chunk's extension included.
    let out = degu(
        &server,
        "POST",
        "/echo",
        &[
            "--chunks", "--chunk", "k=v:one", "--chunk", "two", "--chunk", "end=1:",
        ],
    );
    assert_eq!(text(&out.stdout), "[3; k=v] one\n[3] two\n[0; end=1]\n");
}

/// Run `degu` to its end and return its output and its peak resident set (VmHWM, a
/// high-water mark, read from /proc until the process is gone), in KiB.
fn degu_with_peak_rss(args: &[&str]) -> (Output, u64) {
    let child = Command::new(DEGU)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let watcher = std::thread::spawn(move || {
        let mut peak = 0;
        // Until the process is reaped; a zombie has no VmHWM line, which ends it too.
        while let Some(kib) = vm_hwm_kib(pid) {
            peak = kib;
            std::thread::sleep(Duration::from_millis(5));
        }
        peak
    });
    let out = child.wait_with_output().unwrap();
    (out, watcher.join().unwrap())
}

#[test]
fn upload_file_streams_from_disk_and_an_early_refusal_is_heard_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("upload.bin");
    {
        // Written piece by piece, so the test itself stays small too.
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        let mut rng = Rng(7);
        let mut piece = vec![0u8; 1 << 20];
        let mut left = UPLOAD;
        while left > 0 {
            let n = left.min(piece.len() as u64) as usize;
            rng.fill(&mut piece[..n]);
            std::io::Write::write_all(&mut f, &piece[..n]).unwrap();
            left -= n as u64;
        }
    }
    let server = Device::with_files(dir.path());

    // A streaming echo: 200 MB up and back at once, through a file on each side.
    let back = dir.path().join("back.bin");
    let started = Instant::now();
    let address = server.address.to_string();
    let (out, peak) = degu_with_peak_rss(&[
        &address,
        "PUT",
        "/echo",
        "-T",
        path.to_str().unwrap(),
        "-o",
        back.to_str().unwrap(),
    ]);
    let took = started.elapsed();
    assert!(out.status.success(), "{}", text(&out.stderr));
    println!("degu -T: {UPLOAD} bytes echoed in {took:.2?}; degu's peak RSS {peak} KiB");
    assert_eq!(std::fs::metadata(&back).unwrap().len(), UPLOAD);
    assert!(
        std::fs::read(&back).unwrap() == std::fs::read(&path).unwrap(),
        "the echo differs"
    );
    assert!(
        peak <= MAX_RSS_KIB,
        "degu held {peak} KiB (limit {MAX_RSS_KIB})"
    );

    // /hello takes no body: the server answers 404 at once and closes; degu reports
    // the answer instead of pushing 200 MB into a closed connection.
    let started = Instant::now();
    let out = degu(
        &server,
        "PUT",
        "/hello",
        &["-i", "-T", path.to_str().unwrap()],
    );
    let took = started.elapsed();
    println!("degu -T to a refusing server: answered in {took:.2?}");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("HTTP/1.1 404 Not Found\r\n"),
        "{}",
        text(&out.stdout)
    );
    assert!(took < REFUSED_WITHIN, "the refusal took {took:?}");

    // A file that does not exist: a clear error, exit 1, nothing sent.
    let out = degu(&server, "PUT", "/echo", &["-T", "/nonexistent/file"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).starts_with("degu: /nonexistent/file: "),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_progress_bar_on_a_terminal_and_never_on_a_pipe() {
    let dir = tempfile::tempdir().unwrap();
    random_file(&dir.path().join("big.bin"), DOWNLOAD, 2);
    let server = Device::with_files(dir.path());
    let saved = dir.path().join("saved.bin");

    // On a pipe (as above): nothing on stderr.
    let out = degu(
        &server,
        "GET",
        "/files/big.bin",
        &["-o", saved.to_str().unwrap()],
    );
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));

    // On a terminal: `script` runs degu on a pty and copies what it draws.
    let command = format!(
        "{DEGU} {} GET /files/big.bin -o {}",
        server.address,
        saved.display()
    );
    let out = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .output()
        .expect("script(1) from util-linux, to give degu a terminal");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let drawn = text(&out.stdout);
    assert!(
        drawn.contains("received"),
        "no progress bar on the pty: {drawn:?}"
    );
    assert_eq!(std::fs::metadata(&saved).unwrap().len(), DOWNLOAD as u64);

    // --no-progress: nothing drawn.
    let out = Command::new("script")
        .args(["-qec", &format!("{command} --no-progress"), "/dev/null"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        !text(&out.stdout).contains("received"),
        "{}",
        text(&out.stdout)
    );
}
