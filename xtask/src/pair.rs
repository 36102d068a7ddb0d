//! `cargo xtask qemu-pair`: device to device. Two QEMU boards on one virtual LAN, no
//! host network in between: QEMU's socket network backend joins their LAN9118s point to
//! point (A listens on a free loopback TCP port, B connects to it; QEMU carries the
//! Ethernet frames over that connection). Both run `qemu-device-ipv6`: A serves the
//! demo app on 10.0.3.1 and on its IPv6 link-local address, B is 10.0.3.2 and runs the
//! pair client against A, over IPv4 and then IPv6 link-local
//! (`firmware/qemu-device/src/pair.rs`).
//!
//! Both boards' output is printed with an `A | ` or `B | ` prefix as it comes. The
//! command ends with B: its exit status (0 only when every request held) becomes the
//! xtask's, and A is stopped. Passing also needs A's own account: a connection from B's
//! IPv4 address and one from an IPv6 link-local address, both ended cleanly.

use crate::Result;
use crate::firmware::{self, AN385, AN386, Board, Build, blob, blob_file, forward_lines};
use crate::setup::{self, Needs, Toolchain, describe};
use crate::steps::Steps;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The LAN's prefix length: A and B are on 10.0.3.0/24 (not QEMU's user network,
/// 10.0.2.0/24).
const PREFIX: u8 = 24;
/// A's IPv4 address.
const A_IPV4: [u8; 4] = [10, 0, 3, 1];
/// B's IPv4 address.
const B_IPV4: [u8; 4] = [10, 0, 3, 2];
/// A's MAC address (QEMU's prefix 52:54:00, locally administered); the IPv6 link-local
/// address follows from it.
const A_MAC: [u8; 6] = [0x52, 0x54, 0x00, 0xde, 0x90, 0x0a];
/// B's MAC address: another one, or the two link-local addresses would be the same.
const B_MAC: [u8; 6] = [0x52, 0x54, 0x00, 0xde, 0x90, 0x0b];
/// The firmware's mode byte for the pair client (`Mode::PairClient`).
const PAIR_CLIENT: u8 = 0x10;
/// The firmware's mode byte for serving.
const SERVE: u8 = 0;
/// How long A may take to boot and print that it listens.
const BOOT_WAIT: Duration = Duration::from_secs(30);
/// How long B may take from boot to exit (it takes about 2 s).
const RUN_WAIT: Duration = Duration::from_secs(60);
/// How long A may take to log B's last connection after B exits.
const LOG_WAIT: Duration = Duration::from_secs(3);
/// Tries with another free port when A's QEMU cannot listen on the one it was given.
const PORT_TRIES: usize = 3;

const HELP: &str = "usage: cargo xtask qemu-pair [--a an386|an385] [--b an386|an385]";

/// `cargo xtask qemu-pair [--a BOARD] [--b BOARD]`: exits with B's status.
pub fn command(args: &[String]) -> ExitCode {
    let result = boards(args).and_then(|(a, b)| {
        let mut steps = Steps::new("cargo xtask qemu-pair");
        let needs = Needs::qemu(a.target).and_target(b.target);
        let toolchain = steps.run("setup", || setup::setup(&needs))?;
        let elfs = steps.run("firmware", || elfs(&toolchain, a, b))?;
        let ran = steps.run(
            &format!("qemu-pair: A {} serves, B {} asks", a.name, b.name),
            || Ok(run(a, &elfs.0, b, &elfs.1)),
        )?;
        steps.finish();
        Ok(ran)
    });
    match result {
        Ok(Ran { b_status, verdict }) => match verdict {
            Ok(()) => ExitCode::SUCCESS,
            Err(why) => {
                eprintln!("\nxtask: qemu-pair: {why}");
                // B's own exit code when it has one that says "failed".
                match b_status {
                    Some(code @ 1..=255) => ExitCode::from(code as u8),
                    _ => ExitCode::FAILURE,
                }
            }
        },
        Err(why) => {
            eprintln!("\nxtask: error: {why}");
            ExitCode::FAILURE
        }
    }
}

/// `cargo xtask test`'s step: the pair on `a` and `b` (the firmware built already).
pub fn test(toolchain: &Toolchain, a: &'static Board, b: &'static Board) -> Result {
    let (a_elf, b_elf) = elfs(toolchain, a, b)?;
    run(a, &a_elf, b, &b_elf).verdict
}

/// `--a` and `--b`: A on mps2-an386 and B on mps2-an385 unless told otherwise.
fn boards(args: &[String]) -> Result<(&'static Board, &'static Board)> {
    let (mut a, mut b) = (&AN386, &AN385);
    let mut rest = args.iter();
    while let Some(flag) = rest.next() {
        let slot = match flag.as_str() {
            "--a" => &mut a,
            "--b" => &mut b,
            _ => return Err(format!("unexpected argument {flag:?}\n{HELP}")),
        };
        let name = rest
            .next()
            .ok_or_else(|| format!("{flag} needs a board\n{HELP}"))?;
        *slot = firmware::board(name)?;
    }
    Ok((a, b))
}

/// The IPv6 firmware for each board.
fn elfs(toolchain: &Toolchain, a: &Board, b: &Board) -> Result<(PathBuf, PathBuf)> {
    let a_elf = firmware::build(toolchain, a.target, Build::Ipv6)?;
    let b_elf = match b.target == a.target {
        true => a_elf.clone(),
        false => firmware::build(toolchain, b.target, Build::Ipv6)?,
    };
    Ok((a_elf, b_elf))
}

/// What a run gave: B's exit code (`None`: killed, or it never ran) and whether
/// everything held.
struct Ran {
    b_status: Option<i32>,
    verdict: Result,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    A,
    B,
}

/// A running board's QEMU; killed on drop. (Should this process die first, QEMU gets
/// SIGTERM: `firmware::qemu` asks the kernel for it.)
struct Running {
    child: Child,
}

impl Drop for Running {
    fn drop(&mut self) {
        // QEMU holds nothing that needs a clean exit: the firmware's state is gone anyway.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Print a board's line with its prefix, keep A's.
fn show(side: Side, line: &str, a_lines: &mut Vec<String>) {
    match side {
        Side::A => {
            println!("A | {line}");
            a_lines.push(line.to_string());
        }
        Side::B => println!("B | {line}"),
    }
}

fn mac_text(mac: [u8; 6]) -> String {
    let hex: Vec<String> = mac.iter().map(|b| format!("{b:02x}")).collect();
    hex.join(":")
}

/// A port that was free a moment ago.
fn free_port() -> Result<u16> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("pick a free port: {e}"))
}

fn spawn(mut qemu: Command) -> Result<Child> {
    println!("{}", describe(&qemu));
    qemu.spawn()
        .map_err(|e| format!("cannot start qemu-system-arm: {e}"))
}

/// Boot A, wait until it listens, then B; print both until B exits.
fn run(a: &Board, a_elf: &Path, b: &Board, b_elf: &Path) -> Ran {
    let failed = |why: String| Ran {
        b_status: None,
        verdict: Err(why),
    };
    let id = std::process::id();
    // Fields: request path, TLS server name, CA, certificate, key (all unused here),
    // LAN (address, prefix length), peer (IPv4 address, MAC).
    let lan = |ip: [u8; 4]| [ip[0], ip[1], ip[2], ip[3], PREFIX];
    let peer: Vec<u8> = A_IPV4.iter().chain(&A_MAC).copied().collect();
    let blobs = blob_file(
        &format!("pair-{id}-a.bin"),
        &blob(SERVE, 0, &[b"", b"", b"", b"", b"", &lan(A_IPV4)]),
    )
    .and_then(|a_blob| {
        let b_blob = blob(
            PAIR_CLIENT,
            0,
            &[b"", b"", b"", b"", b"", &lan(B_IPV4), &peer],
        );
        Ok((a_blob, blob_file(&format!("pair-{id}-b.bin"), &b_blob)?))
    });
    let (a_blob, b_blob) = match blobs {
        Ok(blobs) => blobs,
        Err(why) => return failed(why),
    };
    let started = Instant::now();
    let mut a_lines = Vec::new();
    let mut booted = None;
    for _ in 0..PORT_TRIES {
        let port = match free_port() {
            Ok(port) => port,
            Err(why) => return failed(why),
        };
        let nic = format!(
            "socket,model=lan9118,mac={},listen=127.0.0.1:{port}",
            mac_text(A_MAC)
        );
        let qemu = firmware::qemu(a, &nic, &a_blob, a_elf);
        let mut child = match spawn(qemu) {
            Ok(child) => child,
            Err(why) => return failed(why),
        };
        let (send, lines) = mpsc::channel();
        forward_lines(&mut child, Side::A, &send);
        let board = Running { child };
        match wait_listening(&lines, &mut a_lines) {
            Ok(()) => {
                booted = Some((board, port, send, lines));
                break;
            }
            Err(why) if a_lines.iter().any(|l| l.contains("Address already in use")) => {
                println!("port {port} taken ({why}): another one");
            }
            Err(why) => return failed(why),
        }
    }
    let Some((a_board, port, send, lines)) = booted else {
        return failed(format!(
            "A could not listen on a free port in {PORT_TRIES} tries"
        ));
    };
    let a_up = started.elapsed();
    let nic = format!(
        "socket,model=lan9118,mac={},connect=127.0.0.1:{port}",
        mac_text(B_MAC)
    );
    let b_started = Instant::now();
    let mut b_board = match spawn(firmware::qemu(b, &nic, &b_blob, b_elf)) {
        Ok(child) => Running { child },
        Err(why) => return failed(why),
    };
    forward_lines(&mut b_board.child, Side::B, &send);
    drop(send);

    // Until B exits; then A's last lines, until it has logged B's connections.
    let deadline = b_started + RUN_WAIT;
    let mut b_status = None;
    let mut b_done = None;
    loop {
        match lines.recv_timeout(Duration::from_millis(50)) {
            Ok((side, line)) => show(side, &line, &mut a_lines),
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        if b_done.is_none() {
            if let Ok(Some(status)) = b_board.child.try_wait() {
                b_status = Some(status);
                b_done = Some(Instant::now());
            } else if Instant::now() >= deadline {
                break;
            }
        }
        if let Some(done) = b_done
            && (a_saw_both(&a_lines) || done.elapsed() >= LOG_WAIT)
        {
            break;
        }
    }
    let b_ran = b_started.elapsed();
    drop(a_board);
    drop(b_board);
    // QEMU read them at start; each run has its own (named by this process).
    for blob in [&a_blob, &b_blob] {
        let _ = std::fs::remove_file(blob);
    }
    // The lines still on the way from either QEMU.
    while let Ok((side, line)) = lines.recv_timeout(Duration::from_millis(200)) {
        show(side, &line, &mut a_lines);
    }
    println!(
        "qemu-pair: A ({}) up in {:.2}s, B ({}) booted, ran and exited in {:.2}s, {:.2}s in all",
        a.machine,
        a_up.as_secs_f64(),
        b.machine,
        b_ran.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    let code = b_status.and_then(|s| s.code());
    let verdict = match b_status {
        None => Err(format!(
            "B ({}) still running after {RUN_WAIT:?}",
            b.machine
        )),
        Some(status) if !status.success() => Err(format!("B ({}) failed: {status}", b.machine)),
        Some(_) if !a_saw_both(&a_lines) => Err(format!(
            "B passed, but A ({}) did not log a clean connection from 10.0.3.2 and one from \
             an IPv6 link-local address",
            a.machine
        )),
        Some(_) => Ok(()),
    };
    Ran {
        b_status: code,
        verdict,
    }
}

/// Wait for A's "listening" line, printing what comes.
fn wait_listening(lines: &mpsc::Receiver<(Side, String)>, a_lines: &mut Vec<String>) -> Result {
    let listening = format!(
        "listening on {}.{}.{}.{}:80",
        A_IPV4[0], A_IPV4[1], A_IPV4[2], A_IPV4[3]
    );
    let deadline = Instant::now() + BOOT_WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok((side, line)) => {
                show(side, &line, a_lines);
                if line.contains(&listening) {
                    return Ok(());
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                return Err(format!("no {listening:?} from A within {BOOT_WAIT:?}"));
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(format!("A's QEMU exited before {listening:?}"));
            }
        }
    }
}

/// Whether A logged a clean end (`Ok(...)`) of a connection from B's IPv4 address and
/// of one from an IPv6 link-local address (`socket N: PEER: Ok(PeerClosed)`).
fn a_saw_both(a_lines: &[String]) -> bool {
    let ipv4 = format!(": {}.{}.{}.{}:", B_IPV4[0], B_IPV4[1], B_IPV4[2], B_IPV4[3]);
    let clean = |peer: &str| {
        a_lines
            .iter()
            .any(|l| l.starts_with("socket ") && l.contains(peer) && l.contains(": Ok("))
    };
    clean(&ipv4) && clean(": fe80::")
}

#[cfg(test)]
mod tests {
    use super::{a_saw_both, boards};

    fn args(text: &str) -> Vec<String> {
        text.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn boards_default_to_an386_serving_an385_and_take_either_order() {
        let (a, b) = boards(&[]).unwrap();
        assert_eq!((a.name, b.name), ("an386", "an385"));
        let (a, b) = boards(&args("--a an385 --b an386")).unwrap();
        assert_eq!((a.machine, b.machine), ("mps2-an385", "mps2-an386"));
        let (a, b) = boards(&args("--b an386")).unwrap();
        assert_eq!((a.name, b.name), ("an386", "an386"));
        assert!(
            boards(&args("--a an500"))
                .err()
                .expect("refused")
                .contains("no board")
        );
        assert!(
            boards(&args("--a"))
                .err()
                .expect("refused")
                .contains("needs a board")
        );
        assert!(
            boards(&args("an385"))
                .err()
                .expect("refused")
                .contains("unexpected")
        );
    }

    #[test]
    fn a_must_have_logged_a_clean_connection_from_each_family() {
        let lines = |text: &str| -> Vec<String> { text.lines().map(String::from).collect() };
        let both = "listening on 10.0.3.1:80\n\
                    socket 0: 10.0.3.2:8358: Ok(PeerClosed)\n\
                    socket 1: fe80::5054:ff:fede:900b:8359: Ok(PeerClosed)";
        assert!(a_saw_both(&lines(both)));
        let ipv4_only = "socket 0: 10.0.3.2:8358: Ok(PeerClosed)";
        assert!(!a_saw_both(&lines(ipv4_only)));
        let ipv6_failed = "socket 0: 10.0.3.2:8358: Ok(PeerClosed)\n\
                           socket 1: fe80::5054:ff:fede:900b:8359: Err(Io(TimedOut))";
        assert!(!a_saw_both(&lines(ipv6_failed)));
        let other_peer = "socket 0: 10.0.3.9:8358: Ok(PeerClosed)\n\
                          socket 1: fe80::1:8359: Ok(PeerClosed)";
        assert!(!a_saw_both(&lines(other_peer)));
    }
}
