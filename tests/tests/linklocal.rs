//! IPv6 link-local addresses with a scope id, for real: two network namespaces this test
//! creates, joined by a veth pair that exists only inside them (nothing touches the
//! host's interfaces). `demo-server` listens on `[fe80::1%vethA]:0` in one namespace;
//! the `degu` CLI and curl in the other reach it as `fe80::1` scoped by interface name
//! and by index. The test runs programs inside a namespace with `ip netns exec`, as a
//! test thread cannot enter one itself. It needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN),
//! so a plain `cargo test` leaves it out (`#[ignore]`); `cargo xtask test` runs it, and
//! where creating a namespace is refused it fails.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{STEP, bins, curl, run, run_ok, start_demo_server};
use std::process::Command;
use std::time::{Duration, Instant};

/// Namespace names start with this, then the test process id.
const PREFIX: &str = "degu-ll";

fn ip() -> Command {
    Command::new("ip")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Network namespaces that are deleted (with their veth ends) when this is dropped,
/// also when the test fails. Children running inside must be dropped first: declare
/// them after this guard.
struct Namespaces {
    names: Vec<String>,
}

impl Namespaces {
    /// Create `ip netns add NAME`; `Err(reason)` when the system forbids it.
    fn add(&mut self, name: &str) -> Result<(), String> {
        let out = run(ip().args(["netns", "add", name]), STEP);
        if out.status.success() {
            self.names.push(name.to_string());
            return Ok(());
        }
        let stderr = text(&out.stderr);
        if stderr.contains("Permission denied") || stderr.contains("Operation not permitted") {
            return Err(stderr.trim().to_string());
        }
        panic!("ip netns add {name} failed ({}): {stderr}", out.status);
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        for name in self.names.drain(..).rev() {
            let out = run(ip().args(["netns", "del", &name]), STEP);
            if !out.status.success() {
                eprintln!("cannot delete netns {name}: {}", text(&out.stderr));
            }
        }
    }
}

/// Delete namespaces left by earlier runs of this test that were killed before their
/// guard ran (named with a process id that no longer exists).
fn remove_stale_namespaces() {
    let out = run(ip().args(["netns", "list"]), STEP);
    for line in text(&out.stdout).lines() {
        let name = line.split_whitespace().next().unwrap_or_default();
        let Some(rest) = name.strip_prefix(&format!("{PREFIX}-")) else {
            continue;
        };
        let pid = rest.split('-').next().unwrap_or_default();
        if !pid.is_empty()
            && pid.bytes().all(|b| b.is_ascii_digit())
            && !std::path::Path::new(&format!("/proc/{pid}")).exists()
        {
            let _ = run(ip().args(["netns", "del", name]), STEP);
        }
    }
}

/// The index of interface `dev` in namespace `ns`.
fn ifindex(ns: &str, dev: &str) -> u32 {
    let out = run_ok(
        ip().args(["-n", ns, "-o", "link", "show", "dev", dev]),
        STEP,
    );
    let stdout = text(&out.stdout);
    stdout
        .split(':')
        .next()
        .and_then(|i| i.trim().parse().ok())
        .unwrap_or_else(|| panic!("no index in {stdout:?}"))
}

/// Wait until `dev` in `ns` has its carrier (both veth ends up).
fn wait_lower_up(ns: &str, dev: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = run_ok(
            ip().args(["-n", ns, "-o", "link", "show", "dev", dev]),
            STEP,
        );
        if text(&out.stdout).contains("LOWER_UP") {
            return;
        }
        assert!(Instant::now() < deadline, "{dev} in {ns} never came up");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `ip netns exec NS program`.
fn in_ns(ns: &str, program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut cmd = ip();
    cmd.args(["netns", "exec", ns]).arg(program);
    cmd
}

#[test]
#[ignore = "needs root for network namespaces: cargo xtask test"]
fn link_local_with_scope_ids_across_namespaces() {
    remove_stale_namespaces();
    let ns_a = format!("{PREFIX}-{}-a", std::process::id());
    let ns_b = format!("{PREFIX}-{}-b", std::process::id());
    let mut namespaces = Namespaces { names: vec![] };
    if let Err(why) = namespaces.add(&ns_a) {
        panic!("cannot create a network namespace (this test needs root): {why}");
    }
    namespaces.add(&ns_b).unwrap();
    let bins = bins();

    // vethA in A, its peer vethB in B; created inside A, so never in the host's
    // namespace. Fixed addresses without duplicate address detection, usable at once.
    for args in [
        vec![
            "-n", &ns_a, "link", "add", "vethA", "type", "veth", "peer", "name", "vethB", "netns",
            &ns_b,
        ],
        vec![
            "-n",
            &ns_a,
            "addr",
            "add",
            "fe80::1/64",
            "dev",
            "vethA",
            "nodad",
        ],
        vec![
            "-n",
            &ns_b,
            "addr",
            "add",
            "fe80::2/64",
            "dev",
            "vethB",
            "nodad",
        ],
        vec!["-n", &ns_a, "link", "set", "vethA", "up"],
        vec!["-n", &ns_b, "link", "set", "vethB", "up"],
    ] {
        run_ok(ip().args(args), STEP);
    }
    wait_lower_up(&ns_a, "vethA");
    wait_lower_up(&ns_b, "vethB");
    let index_a = ifindex(&ns_a, "vethA");
    let index_b = ifindex(&ns_b, "vethB");

    // The server in A, scoped by name; it prints the scope as A's index.
    let (mut server, printed) =
        start_demo_server(in_ns(&ns_a, &bins.demo_server).args(["--address", "[fe80::1%vethA]:0"]));
    let port = common::port_of(&printed);
    assert_eq!(printed, format!("[fe80::1%{index_a}]:{port}"));

    // The degu CLI in B, scope by interface name.
    let by_name = format!("[fe80::1%vethB]:{port}");
    let out = run_ok(
        in_ns(&ns_b, &bins.degu).args([by_name.as_str(), "GET", "/hello", "-i"]),
        STEP,
    );
    assert_eq!(
        text(&out.stdout),
        "HTTP/1.1 200 OK\r\ncontent-length: 12\r\n\r\nhello, world",
        "degu {by_name} GET /hello"
    );

    // Scope by index: a chunked response, and a chunked upload echoed with its
    // extensions.
    let by_index = format!("[fe80::1%{index_b}]:{port}");
    let out = run_ok(
        in_ns(&ns_b, &bins.degu).args([by_index.as_str(), "GET", "/chunks?n=3", "--chunks"]),
        STEP,
    );
    assert_eq!(
        text(&out.stdout),
        "[7; i=0] chunk 0\n[7; i=1] chunk 1\n[7; i=2] chunk 2\n[0]\n",
        "degu {by_index} GET /chunks?n=3 --chunks"
    );
    let out = run_ok(
        in_ns(&ns_b, &bins.degu).args([
            by_index.as_str(),
            "PUT",
            "/echo",
            "--chunks",
            "--chunk",
            "k=v:link",
            "--chunk",
            "-local",
            "--chunk",
            "end=1:",
        ]),
        STEP,
    );
    assert_eq!(
        text(&out.stdout),
        "[4; k=v] link\n[6] -local\n[0; end=1]\n",
        "degu {by_index} PUT /echo --chunks"
    );

    // Without a scope a link-local address cannot be reached: refused at once.
    let out = run(
        in_ns(&ns_b, &bins.degu).args([format!("[fe80::1]:{port}").as_str(), "GET", "/hello"]),
        STEP,
    );
    assert_eq!(out.status.code(), Some(1), "degu without a scope id");
    assert!(
        text(&out.stderr).contains("cannot connect"),
        "{}",
        text(&out.stderr)
    );

    // curl in B: zone by name (and bound to the interface), then by index, on one
    // connection.
    let mut cmd = in_ns(&ns_b, curl().get_program());
    cmd.args([
        "-sS",
        "-g",
        "-v",
        "--max-time",
        "5",
        "--interface",
        "vethB",
        &format!("http://[fe80::1%25vethB]:{port}/hello"),
        &format!("http://[fe80::1%25vethB]:{port}/chunks?n=2"),
    ]);
    let out = run_ok(&mut cmd, STEP);
    assert_eq!(text(&out.stdout), "hello, worldchunk 0chunk 1");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("Re-using existing connection")
            || stderr.contains("Reusing existing connection"),
        "curl did not reuse its link-local connection:\n{stderr}"
    );
    let out = run_ok(
        in_ns(&ns_b, curl().get_program()).args([
            "-sS",
            "-g",
            "--max-time",
            "5",
            &format!("http://[fe80::1%25{index_b}]:{port}/hello"),
        ]),
        STEP,
    );
    assert_eq!(text(&out.stdout), "hello, world");

    let status = server.terminate(Duration::from_secs(10));
    assert!(status.success(), "demo-server ended with {status}");
    drop(namespaces);
    let out = run_ok(ip().args(["netns", "list"]), STEP);
    assert!(
        !text(&out.stdout).contains(&ns_a) && !text(&out.stdout).contains(&ns_b),
        "namespaces left behind"
    );
}
