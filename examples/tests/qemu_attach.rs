//! Devices behind NAT in QEMU: the firmware (`qemu-device-tls`, attach mode) boots on
//! QEMU's user-mode network with **no host forward** (slirp is a NAT: nothing on the
//! host can dial the device), dials the `gateway` binary's attach address over mutual TLS
//! 1.3 with certificates made by the openssl CLI, and serves the demo app over the links;
//! curl and Degu's client reach it through the gateway: GET, HEAD, a 1 MiB chunked echo
//! with extensions. A second device attaches under its own name; a device whose
//! certificate comes from a foreign CA never does; a restarted device is reachable again
//! within 5 s.
//!
//! The firmware is built by `cargo xtask test` before the tests run; these tests are
//! ignored by a plain `cargo test` and fail when their prerequisites are missing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../tests/tests/qemu/mod.rs"]
mod qemu;

mod common;

use common::attach::{AttachGateway, await_status, curl, get_status, temp_dir, tls_gateway};
use common::openssl::{Leaf, OpensslCa};
use common::{expected_echo, stream_echo};
use degu_std::{Address, Client};
use qemu::{AN385, AN386, Blob, Board, Mode, Qemu};
use std::time::{Duration, Instant};

/// How long a freshly booted device may take to be reachable through the gateway: boot,
/// the TLS handshake in emulated software crypto, the hand-over.
const FIRST_ATTACH: Duration = Duration::from_secs(30);

/// The issue's bound for a restarted device.
const REATTACH: Duration = Duration::from_secs(5);

/// Boot the TLS firmware in attach mode with `leaf` (signed by `ca`) against `g`.
fn boot(
    board: &Board,
    g: &AttachGateway,
    ca: &OpensslCa,
    leaf: &Leaf,
) -> (Qemu, tempfile::NamedTempFile) {
    let elf = qemu::firmware(board, "qemu-device-tls");
    let Address::Ip(attach) = &g.attach else {
        panic!("{}", g.attach)
    };
    let (ca_der, cert, key) = (ca.cert_der(), leaf.cert_der(), leaf.key_sec1_der());
    let blob = Blob {
        mode: Mode::Attach,
        tls: true,
        port: attach.port(),
        seed: qemu::rand_seed(),
        path: "",
        server_name: "gateway",
        ca: &ca_der,
        cert: &cert,
        key: &key,
    }
    .file();
    let mut device = Qemu::spawn(board, &elf, None, Some(blob.path()));
    device
        .wait_for("attaching to 10.0.2.2", qemu::BOOT_WAIT)
        .unwrap_or_else(|e| panic!("{e}\nQEMU output:\n{}", device.output()));
    (device, blob)
}

/// Wait until `/device/<name>/hello` answers 200 through the gateway; how long it took.
fn reachable(g: &AttachGateway, name: &str, limit: Duration, device: &Qemu) -> Duration {
    let path = format!("/device/{name}/hello");
    await_status(&g.front, &path, 200, limit, || {
        format!("QEMU output:\n{}", device.output())
    })
}

fn start_gateway(ca: &OpensslCa) -> AttachGateway {
    tls_gateway(
        ca,
        &ca.issue("gateway"),
        "127.0.0.1:0",
        &["--timeout", "20"],
    )
}

fn attach_behind_nat(board: &Board) {
    let tmp = temp_dir(&format!("qemu-{}", board.machine));
    let dir = tmp.path();
    let ca = OpensslCa::new(dir, "ca");
    let g = start_gateway(&ca);
    let lamp = ca.issue("lamp");
    let (device, _blob) = boot(board, &g, &ca, &lamp);
    let took = reachable(&g, "lamp", FIRST_ATTACH, &device);
    println!(
        "{}: booted device attached over mutual TLS, reachable after {took:?}",
        board.machine
    );

    // curl: GET and HEAD.
    let front = format!("http://{}", g.front);
    let (ok, body) = curl(&[&format!("{front}/device/lamp/hello")]);
    assert!(ok && body == b"hello, world", "{}", device.output());
    let (ok, head) = curl(&["-I", &format!("{front}/device/lamp/hello")]);
    let head = String::from_utf8(head).unwrap();
    assert!(ok && head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("content-length: 12"), "{head}");

    // 1 MiB chunked echo with extensions, chunk-exact, through the gateway and the device.
    let started = Instant::now();
    let mut conn = Client::new(g.front.clone()).connect_blocking().unwrap();
    let (status, got) = stream_echo(&mut conn, "/device/lamp/echo", 1 << 20, 11, true);
    assert_eq!(status, 200, "QEMU output:\n{}", device.output());
    assert_eq!(got, expected_echo(1 << 20, 11, true), "chunk-exact echo");
    println!(
        "{}: 1 MiB chunked echo with extensions through the attachment in {:?}",
        board.machine,
        started.elapsed()
    );

    // A second device under its own name.
    let door = ca.issue("door");
    let (second, _blob2) = boot(board, &g, &ca, &door);
    reachable(&g, "door", FIRST_ATTACH, &second);
    assert_eq!(get_status(&g.front, "/device/lamp/hello"), 200);

    // Restart: the device goes away (502), boots again, is reachable within 5 s.
    drop(device);
    let hello = "/device/lamp/hello";
    await_status(&g.front, hello, 502, Duration::from_secs(10), String::new);
    let started = Instant::now();
    let (device, _blob3) = boot(board, &g, &ca, &lamp);
    let took = reachable(&g, "lamp", REATTACH, &device);
    println!(
        "{}: restarted device reachable again {took:?} after its boot ({:?} after QEMU started)",
        board.machine,
        started.elapsed()
    );
}

#[test]
#[ignore = "needs QEMU firmware: cargo xtask test"]
fn a_device_behind_nat_attaches_over_mutual_tls_an386_thumbv7em() {
    attach_behind_nat(&AN386);
}

#[test]
#[ignore = "needs QEMU firmware: cargo xtask test"]
fn a_device_behind_nat_attaches_over_mutual_tls_an385_thumbv6m() {
    attach_behind_nat(&AN385);
}

#[test]
#[ignore = "needs QEMU firmware: cargo xtask test"]
fn a_device_certificate_from_a_foreign_ca_is_refused_an386_thumbv7em() {
    let tmp = temp_dir("qemu-foreign");
    let dir = tmp.path();
    let ca = OpensslCa::new(dir, "ca");
    let foreign = OpensslCa::new(dir, "foreign");
    let g = start_gateway(&ca);
    // The device trusts the gateway's CA, but its own certificate is the foreign CA's.
    let impostor = foreign.issue("lamp");
    let (mut device, _blob) = boot(&AN386, &g, &ca, &impostor);
    device
        .wait_for("attachment 0: Tls", FIRST_ATTACH)
        .unwrap_or_else(|e| panic!("{e}\nQEMU output:\n{}", device.output()));
    assert_eq!(get_status(&g.front, "/device/lamp/hello"), 502);
    println!("refused at the handshake:\n{}", device.output());
}
