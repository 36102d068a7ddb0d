//! What the attachment tests share: the `gateway` with `--attach` and `demo-server
//! --attach` devices as child processes, curl, and plain status checks.

use super::openssl::{Leaf, OpensslCa};
use degu_std::blocking::Wait;
use degu_std::{Address, BodyExt, Client};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long a device may take to attach once started (a debug build on a busy machine).
pub const ATTACH_WAIT: Duration = Duration::from_secs(10);

/// A child process whose stdout lines arrive on a channel; killed when dropped.
pub struct Proc {
    pub child: Child,
    lines: mpsc::Receiver<String>,
}

impl Proc {
    pub fn spawn(bin: &str, args: &[&str]) -> Proc {
        let mut child = Command::new(bin)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let (tx, lines) = mpsc::channel();
        let out = BufReader::new(child.stdout.take().unwrap());
        std::thread::spawn(move || {
            for line in out.lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Proc { child, lines }
    }

    /// The next stdout line within `limit`.
    pub fn line(&self, limit: Duration) -> Option<String> {
        self.lines.recv_timeout(limit).ok()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A gateway process: where its clients and its devices reach it.
pub struct AttachGateway {
    pub proc: Proc,
    pub front: Address,
    pub attach: Address,
}

pub fn gateway(args: &[&str]) -> AttachGateway {
    let mut all = vec!["--address", "127.0.0.1:0", "--timeout", "5"];
    all.extend_from_slice(args);
    let proc = Proc::spawn(env!("CARGO_BIN_EXE_gateway"), &all);
    let field = |prefix: &str| -> Address {
        let line = proc.line(Duration::from_secs(10)).expect("gateway output");
        let rest = line
            .strip_prefix(prefix)
            .unwrap_or_else(|| panic!("{line:?}"));
        rest.trim().parse().unwrap()
    };
    let (front, attach) = (field("listening on "), field("attach on "));
    AttachGateway {
        proc,
        front,
        attach,
    }
}

/// `demo-server --attach <gateway> ARGS...`, attached (or not, `None`) within the wait.
pub fn device(attach: &Address, args: &[&str]) -> (Proc, bool) {
    let gateway = attach.to_string();
    let mut all = vec!["--attach", gateway.as_str()];
    all.extend_from_slice(args);
    let proc = Proc::spawn(env!("CARGO_BIN_EXE_demo-server"), &all);
    let attached = proc
        .line(ATTACH_WAIT)
        .is_some_and(|l| l == format!("attached to {gateway}"));
    (proc, attached)
}

/// The TLS options of a device with `leaf` from `ca`.
pub fn tls_args<'a>(ca: &'a Path, cert: &'a Path, key: &'a Path) -> Vec<&'a str> {
    vec![
        "--ca",
        ca.to_str().unwrap(),
        "--cert",
        cert.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
        "--server-name",
        "gateway",
    ]
}

/// `curl ARGS...`: exit status and stdout.
pub fn curl(args: &[&str]) -> (bool, Vec<u8>) {
    let out = super::curl_output(30, args);
    (out.status.success(), out.stdout)
}

pub fn get_status(front: &Address, path: &str) -> u16 {
    let mut conn = Client::new(front.clone()).connect_blocking().unwrap();
    let mut r = conn.get(path, &[]).wait().unwrap();
    let status = r.status;
    let _ = r.body.read_to_vec().wait();
    status
}

pub fn temp_dir(tag: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("degu-attach-{tag}-"))
        .tempdir()
        .unwrap()
}

/// A gateway whose attachments need mutual TLS: `gw` is its certificate, `ca` the CA of
/// the devices' certificates; `attach_on` its attach address; `extra` more options.
pub fn tls_gateway(ca: &OpensslCa, gw: &Leaf, attach_on: &str, extra: &[&str]) -> AttachGateway {
    let ca_pem = ca.cert();
    let mut args = vec![
        "--attach",
        attach_on,
        "--ca",
        ca_pem.to_str().unwrap(),
        "--cert",
        gw.cert.to_str().unwrap(),
        "--key",
        gw.key.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    gateway(&args)
}

/// Poll `path` through the gateway at `front` until it answers `status`; fail with
/// `context()` after `limit`. How long it took.
pub fn await_status(
    front: &Address,
    path: &str,
    status: u16,
    limit: Duration,
    context: impl Fn() -> String,
) -> Duration {
    let started = std::time::Instant::now();
    while get_status(front, path) != status {
        assert!(
            started.elapsed() < limit,
            "{path}: no {status} within {limit:?}\n{}",
            context()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    started.elapsed()
}
