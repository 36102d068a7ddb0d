//! `demo-server --blocking` (degu-std's blocking server, a thread per connection) as a
//! user runs it: curl and the blocking degu client on IPv4, IPv6 and AF_UNIX with
//! keep-alive, a 20 MiB echo, bad input, more connections than `--max-connections`,
//! `--max-requests` (on the async server too), and SIGTERM. Every wait is bounded.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{Device, curl_ok};
use degu_std::Address;
use degu_std::BodyExt;
use degu_std::blocking::Wait;
use std::io::{Read as _, Write as _};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

fn blocking_server(address: &str, extra: &[&str]) -> Device {
    let mut args = vec!["--blocking", "-q", "--address", address];
    args.extend_from_slice(extra);
    let args: Vec<String> = args.into_iter().map(String::from).collect();
    Device::with_args(&args)
}

/// curl's arguments to reach `path` on `server` (AF_UNIX through `--unix-socket`).
fn curl_target(server: &Device, path: &str) -> Vec<String> {
    match &server.address {
        Address::Unix(p) => vec![
            "--unix-socket".into(),
            p.display().to_string(),
            format!("http://localhost{path}"),
        ],
        _ => vec![server.url(path)],
    }
}

fn curl(server: &Device, before: &[&str], paths: &[&str]) -> Vec<u8> {
    let mut args: Vec<String> = before.iter().map(|s| s.to_string()).collect();
    for path in paths {
        let target = curl_target(server, path);
        // One --unix-socket is enough for every URL.
        let skip = if args.iter().any(|a| a == "--unix-socket") {
            target.len() - 1
        } else {
            0
        };
        args.extend(target.into_iter().skip(skip));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    curl_ok(30, &args)
}

#[test]
fn curl_and_the_blocking_client_are_answered_with_keep_alive() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("demo.sock").display().to_string();
    for address in ["127.0.0.1:0", "[::1]:0", path.as_str()] {
        let server = blocking_server(address, &[]);
        // Two URLs on one curl: the second reuses the connection (0 new connects).
        let out = curl(
            &server,
            &["-w", "%{num_connects}\\n"],
            &["/hello", "/hello"],
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "hello, world1\nhello, world0\n",
            "{address}"
        );
        let mut conn = server.conn();
        for _ in 0..3 {
            let mut r = conn.get("/hello", &[]).wait().unwrap();
            assert_eq!(r.status, 200);
            assert_eq!(r.body.read_to_vec().wait().unwrap(), b"hello, world");
        }
    }
}

#[test]
fn a_20_mib_body_is_echoed_through_curl_and_the_client() {
    let body: Vec<u8> = (0..20 * 1024 * 1024).map(|i| (i % 253) as u8).collect();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("body.bin");
    std::fs::write(&file, &body).unwrap();
    let path = dir.path().join("echo.sock").display().to_string();
    for address in ["127.0.0.1:0", path.as_str()] {
        let server = blocking_server(address, &[]);
        let file = file.display().to_string();
        let out = curl(&server, &["-T", &file], &["/echo"]);
        assert!(out == body, "{address}: curl got {} bytes back", out.len());
        let mut conn = server.conn();
        let mut r = conn.put("/echo", &[], &body).wait().unwrap();
        assert_eq!(r.status, 200);
        assert!(r.body.read_to_vec().wait().unwrap() == body, "{address}");
    }
}

#[test]
fn bad_input_gets_its_status_then_the_connection_closes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.sock");
    let _server = blocking_server(&path.display().to_string(), &[]);
    let mut s = UnixStream::connect(&path).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"GET /hello HTTP/1.1\r\nbad header\r\n\r\n")
        .unwrap();
    let started = Instant::now();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 400 "), "{text}");
    assert!(text.contains("connection: close\r\n"), "{text}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[test]
fn beyond_max_connections_a_new_client_is_served_once_one_leaves() {
    let server = blocking_server("127.0.0.1:0", &["--max-connections", "1"]);
    let mut first = server.conn();
    let mut r = first.get("/hello", &[]).wait().unwrap();
    assert_eq!(r.body.read_to_vec().wait().unwrap(), b"hello, world");
    // A second client waits for the only slot; the first leaves; the second is served.
    let url = server.url("/hello");
    let second = std::thread::spawn(move || {
        let started = Instant::now();
        let out = curl_ok(10, &[&url]);
        (out, started.elapsed())
    });
    std::thread::sleep(Duration::from_millis(300));
    drop(first);
    let (out, took) = second.join().unwrap();
    assert_eq!(out, b"hello, world");
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_secs(5),
        "{took:?}"
    );
    // Nobody leaves: the waiting client is closed after the wait (2 s), unanswered.
    let mut holder = server.conn();
    let mut r = holder.get("/hello", &[]).wait().unwrap();
    assert_eq!(r.body.read_to_vec().wait().unwrap(), b"hello, world");
    let started = Instant::now();
    let out = common::curl_output(10, &[&server.url("/hello")]);
    assert!(!out.status.success(), "refused, not answered");
    assert!(out.stdout.is_empty());
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_secs(6),
        "{took:?}"
    );
    let mut r = holder.get("/hello", &[]).wait().unwrap();
    assert_eq!(r.body.read_to_vec().wait().unwrap(), b"hello, world");
}

#[test]
fn sigterm_stops_it_promptly() {
    let mut server = blocking_server("127.0.0.1:0", &[]);
    // An idle keep-alive connection must not hold the shutdown up.
    let mut conn = server.conn();
    let mut r = conn.get("/hello", &[]).wait().unwrap();
    assert_eq!(r.body.read_to_vec().wait().unwrap(), b"hello, world");
    let started = Instant::now();
    // procps's kill (a CI prerequisite).
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            assert!(status.success(), "{status:?}");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "still running 5 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(conn.get("/hello", &[]).wait().is_err(), "closed");
}

#[test]
fn max_requests_closes_a_connection_after_that_many_on_both_servers() {
    for blocking in [true, false] {
        let mut args = vec!["-q", "--address", "127.0.0.1:0", "--max-requests", "2"];
        if blocking {
            args.push("--blocking");
        }
        let args: Vec<String> = args.into_iter().map(String::from).collect();
        let server = Device::with_args(&args);
        // Three URLs on one curl: the third needs a new connection.
        let out = curl(
            &server,
            &["-w", "%{num_connects}\\n"],
            &["/hello", "/hello", "/hello"],
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "hello, world1\nhello, world0\nhello, world1\n",
            "blocking: {blocking}"
        );
    }
}
