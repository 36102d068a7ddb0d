//! The `gateway` binary in front of the firmware in QEMU (`firmware/qemu-device`, the
//! demo app on degu-embassy, mps2-an386 and mps2-an385): a 4 MiB streaming echo,
//! content-length and chunked with extensions, full duplex through the gateway (the
//! device echoes as it reads, with 4 KiB socket buffers), byte- and chunk-list
//! identical; then a 20 MiB upload the device refuses at once is its 404 within a
//! second.
//!
//! The firmware is built by `cargo xtask test` before the tests run; these tests are
//! ignored by a plain `cargo test` and fail when their prerequisites are missing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../tests/tests/qemu/mod.rs"]
mod qemu;

mod common;

use common::{Gateway, expected_echo, stream_echo};
use degu_std::Address;
use degu_std::blocking::Wait;
use qemu::{AN385, AN386, Board, Qemu};
use std::time::{Duration, Instant};

const ECHO_LEN: u64 = 4 * 1024 * 1024;

fn echo_through_the_gateway(board: &Board) {
    let elf = qemu::firmware(board, "qemu-device")
        .expect("the QEMU firmware and qemu-system-arm are required");
    let device = Qemu::serve(board, &elf);
    let device_addr = Address::Ip(device.addr.expect("forwarded"));
    let gw = Gateway::start(&[("qemu", &device_addr)], &["--timeout", "20"]);
    let mut conn = gw.client();
    for chunked in [false, true] {
        let started = Instant::now();
        let (status, got) = stream_echo(&mut conn, "/device/qemu/echo", ECHO_LEN, 3, chunked);
        assert_eq!(status, 200, "QEMU output:\n{}", device.output());
        assert_eq!(
            got,
            expected_echo(ECHO_LEN, 3, chunked),
            "{}: 4 MiB echo (chunked={chunked}) differs\nQEMU output:\n{}",
            board.machine,
            device.output()
        );
        println!(
            "{}: 4 MiB streamed through the gateway to the device and back (chunked={chunked}) in {:?}",
            board.machine,
            started.elapsed()
        );
    }
    let body = vec![b'x'; 20 * 1024 * 1024];
    let mut conn = gw.client();
    let started = Instant::now();
    let r = conn.put("/device/qemu/hello", &[], &body).wait().unwrap();
    let took = started.elapsed();
    assert_eq!(r.status, 404, "the device's own status");
    assert!(took < Duration::from_secs(1), "took {took:?}");
    println!(
        "{}: the device's 404 for a 20 MiB upload through the gateway in {took:?}",
        board.machine
    );
    let rss = gw.peak_rss_kib();
    println!("{}: gateway peak RSS {rss} KiB", board.machine);
    assert!(rss < 64 * 1024);
}

#[test]
#[ignore = "needs QEMU firmware: cargo xtask test"]
fn echo_through_the_gateway_binary_to_the_device_an386_thumbv7em() {
    echo_through_the_gateway(&AN386);
}

#[test]
#[ignore = "needs QEMU firmware: cargo xtask test"]
fn echo_through_the_gateway_binary_to_the_device_an385_thumbv6m() {
    echo_through_the_gateway(&AN385);
}
