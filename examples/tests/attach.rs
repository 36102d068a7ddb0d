//! Devices behind NAT, from outside: the `gateway` binary with `--attach` and
//! `demo-server --attach` devices that dial it over mutual TLS with certificates made by
//! the openssl CLI, on TCP and AF_UNIX; curl and Degu's client in front. Also the
//! gateway's TLS front door and its device policy.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::attach::{
    await_status, curl, device, gateway, get_status, temp_dir, tls_args, tls_gateway,
};
use common::openssl::OpensslCa;
use common::{expected_echo, stream_echo};
use degu_std::{Address, Client};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

#[test]
fn devices_behind_nat_attach_over_mutual_tls_on_tcp_and_unix() {
    let tmp = temp_dir("mtls");
    let dir = tmp.path();
    let ca = OpensslCa::new(dir, "ca");
    let (gw, lamp, door) = (ca.issue("gateway"), ca.issue("lamp"), ca.issue("door"));
    let unix = dir.join("attach.sock");
    for attach_on in ["127.0.0.1:0", unix.to_str().unwrap()] {
        let g = tls_gateway(&ca, &gw, attach_on, &[]);
        let ca_pem = ca.cert();
        let lamp_args = tls_args(&ca_pem, &lamp.cert, &lamp.key);
        let door_args = tls_args(&ca_pem, &door.cert, &door.key);
        let (lamp_proc, attached) = device(&g.attach, &lamp_args);
        assert!(attached, "lamp attaches on {attach_on}");
        let (_door, attached) = device(&g.attach, &door_args);
        assert!(attached, "door attaches on {attach_on}");
        let front = format!("http://{}", g.front);

        // GET and HEAD with curl, each device under its own name.
        for name in ["lamp", "door"] {
            let (ok, body) = curl(&[&format!("{front}/device/{name}/hello")]);
            assert!(ok);
            assert_eq!(body, b"hello, world");
        }
        let (ok, head) = curl(&["-I", &format!("{front}/device/lamp/hello")]);
        let head = String::from_utf8(head).unwrap();
        assert!(ok && head.starts_with("HTTP/1.1 200"), "{head}");
        assert!(head.contains("content-length: 12"), "{head}");
        let (_, unknown) = curl(&[
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            &format!("{front}/device/safe/hello"),
        ]);
        assert_eq!(unknown, b"502", "a device that is not attached");

        // 1 MiB chunked echo with extensions: bytes and chunk list identical.
        let mut conn = Client::new(g.front.clone()).connect_blocking().unwrap();
        let (status, got) = stream_echo(&mut conn, "/device/lamp/echo", 1 << 20, 7, true);
        assert_eq!(status, 200);
        assert_eq!(got, expected_echo(1 << 20, 7, true), "chunk-exact echo");
        let big = dir.join("big.bin");
        let data: Vec<u8> = (0..1u32 << 20).map(|i| (i * 7 + i / 251) as u8).collect();
        std::fs::write(&big, &data).unwrap();
        let (ok, echoed) = curl(&[
            "-T",
            big.to_str().unwrap(),
            "-H",
            "transfer-encoding: chunked",
            &format!("{front}/device/door/echo"),
        ]);
        assert!(ok && echoed == data, "curl's 1 MiB chunked upload echoed");

        // The device goes away (power cut): 502; it comes back: reachable within 5 s.
        drop(lamp_proc);
        let hello = "/device/lamp/hello";
        await_status(&g.front, hello, 502, Duration::from_secs(5), String::new);
        let started = Instant::now();
        let (_lamp, _) = device(&g.attach, &lamp_args);
        await_status(&g.front, hello, 200, Duration::from_secs(5), String::new);
        println!(
            "attach on {attach_on}: the restarted device is reachable again after {:?}",
            started.elapsed()
        );
    }
}

#[test]
fn a_foreign_ca_and_a_false_name_do_not_attach() {
    let tmp = temp_dir("refused");
    let dir = tmp.path();
    let ca = OpensslCa::new(dir, "ca");
    let foreign = OpensslCa::new(dir, "foreign");
    let gw = ca.issue("gateway");
    let g = tls_gateway(&ca, &gw, "127.0.0.1:0", &[]);
    // A device certificate from another CA: refused at the handshake.
    let impostor = foreign.issue("lamp");
    let ca_pem = ca.cert();
    let (_p, attached) = device(&g.attach, &tls_args(&ca_pem, &impostor.cert, &impostor.key));
    assert!(!attached, "a foreign CA's certificate attaches");
    assert_eq!(get_status(&g.front, "/device/lamp/hello"), 502);
    // A genuine certificate claiming another device's name: 403, never attached.
    let door = ca.issue("door");
    let mut args = tls_args(&ca_pem, &door.cert, &door.key);
    args.extend(["--name", "lamp"]);
    let (_p, attached) = device(&g.attach, &args);
    assert!(!attached, "a device attaches as another");
    assert_eq!(get_status(&g.front, "/device/lamp/hello"), 502);
    assert_eq!(get_status(&g.front, "/device/door/hello"), 502);
    // A plain device at a TLS gateway.
    let (_p, attached) = device(&g.attach, &["--name", "lamp"]);
    assert!(!attached, "a plain device attaches to a TLS gateway");
}

#[test]
fn plain_attachments_need_the_explicit_opt_in() {
    let out = Command::new(env!("CARGO_BIN_EXE_gateway"))
        .args(["--address", "127.0.0.1:0", "--attach", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--allow-anonymous"), "{err}");
    let g = gateway(&["--attach", "127.0.0.1:0", "--allow-anonymous"]);
    let (_p, attached) = device(&g.attach, &["--name", "lamp"]);
    assert!(attached);
    assert_eq!(get_status(&g.front, "/device/lamp/hello"), 200);
}

#[test]
fn the_front_door_wants_a_client_certificate_and_enforces_the_policy() {
    let tmp = temp_dir("front");
    let dir = tmp.path();
    let ca = OpensslCa::new(dir, "ca");
    let (gw, alice, bob) = (ca.issue("gateway"), ca.issue("alice"), ca.issue("bob"));
    let (lamp, door) = (ca.issue("lamp"), ca.issue("door"));
    let cert = |p: &PathBuf| p.to_str().unwrap().to_string();
    let (ca_pem, gw_pem, gw_key) = (cert(&ca.cert()), cert(&gw.cert), cert(&gw.key));
    let g = tls_gateway(
        &ca,
        &gw,
        "127.0.0.1:0",
        &[
            "--listen-cert",
            &gw_pem,
            "--listen-key",
            &gw_key,
            "--listen-ca",
            &ca_pem,
            "--allow",
            "alice=lamp",
            "--allow",
            "bob=door,lamp",
        ],
    );
    let ca_path = ca.cert();
    let (_lamp, a) = device(&g.attach, &tls_args(&ca_path, &lamp.cert, &lamp.key));
    let (_door, b) = device(&g.attach, &tls_args(&ca_path, &door.cert, &door.key));
    assert!(a && b);
    let Address::Ip(front) = g.front else {
        panic!()
    };
    let resolve = format!("gateway:{}:127.0.0.1", front.port());
    let url = |device: &str| format!("https://gateway:{}/device/{device}/hello", front.port());
    let as_client = |who: Option<&common::openssl::Leaf>, device: &str| {
        let mut args = vec![
            "--resolve".to_string(),
            resolve.clone(),
            "--cacert".into(),
            ca_pem.clone(),
        ];
        if let Some(leaf) = who {
            args.extend([
                "--cert".into(),
                cert(&leaf.cert),
                "--key".into(),
                cert(&leaf.key),
            ]);
        }
        args.extend(["-w".into(), "\n%{http_code}".into(), url(device)]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (ok, out) = curl(&args);
        (ok, String::from_utf8(out).unwrap())
    };
    assert_eq!(
        as_client(Some(&alice), "lamp"),
        (true, "hello, world\n200".into())
    );
    let (ok, out) = as_client(Some(&alice), "door");
    assert!(
        ok && out.ends_with("\n403"),
        "alice may not reach door: {out}"
    );
    assert_eq!(
        as_client(Some(&bob), "door"),
        (true, "hello, world\n200".into())
    );
    let (ok, out) = as_client(None, "lamp");
    assert!(
        !ok,
        "a client without a certificate is refused at the handshake: {out}"
    );
    assert!(!out.contains("hello"));
}
