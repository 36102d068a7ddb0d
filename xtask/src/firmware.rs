//! The QEMU firmware (`firmware/qemu-device`): building its ELFs and booting the demo.

use crate::setup::{Toolchain, describe, run};
use crate::{Result, root};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Instant;

/// One QEMU board: machine, CPU, and the target its firmware is built for (as in
/// `tests/tests/qemu/mod.rs`).
pub struct Board {
    /// What `cargo xtask qemu-pair --a/--b` calls it.
    pub name: &'static str,
    /// QEMU's `-machine`.
    pub machine: &'static str,
    cpu: &'static str,
    /// The thumb target.
    pub target: &'static str,
}

/// mps2-an386: a Cortex-M4 with FPU.
pub const AN386: Board = Board {
    name: "an386",
    machine: "mps2-an386",
    cpu: "cortex-m4",
    target: "thumbv7em-none-eabihf",
};

/// mps2-an385: a Cortex-M3, running thumbv6m code.
pub const AN385: Board = Board {
    name: "an385",
    machine: "mps2-an385",
    cpu: "cortex-m3",
    target: "thumbv6m-none-eabi",
};

/// The board called `name` (`an386`, `an385`).
pub fn board(name: &str) -> Result<&'static Board> {
    [&AN386, &AN385]
        .into_iter()
        .find(|b| b.name == name)
        .ok_or_else(|| format!("no board {name:?}: an386 (Cortex-M4) or an385 (Cortex-M3)"))
}

/// The host port `cargo xtask qemu` forwards to the device's port 80.
pub const QEMU_PORT: u16 = 8081;

/// Where QEMU's loader puts the configuration blob
/// (`firmware/qemu-device/src/config.rs`).
const CONFIG_ADDR: u32 = 0x203f_0000;

/// What the firmware prints once it serves.
const LISTENING: &str = "listening on 10.0.2.15:80";

/// The ELFs of `qemu-device`.
#[derive(Clone, Copy)]
pub enum Build {
    /// `qemu-device`.
    Plain,
    /// `qemu-device-tls` (feature `tls`).
    Tls,
    /// `qemu-device-ipv6` (feature `ipv6`): device to device.
    Ipv6,
}

/// Build one ELF for `target` (release, as the tests run it); its path.
pub fn build(toolchain: &Toolchain, target: &str, which: Build) -> Result<PathBuf> {
    let firmware = root().join("firmware");
    let mut cargo = toolchain.cross_cargo(target);
    cargo.current_dir(&firmware).args([
        "build",
        "--release",
        "--target",
        target,
        "-p",
        "qemu-device",
    ]);
    // A feature's binary is built on its own: with the feature on, the plain one
    // would be rebuilt with it too.
    let bin = match which {
        Build::Plain => "qemu-device",
        Build::Tls => {
            cargo.args(["--features", "tls", "--bin", "qemu-device-tls"]);
            "qemu-device-tls"
        }
        Build::Ipv6 => {
            cargo.args(["--features", "ipv6", "--bin", "qemu-device-ipv6"]);
            "qemu-device-ipv6"
        }
    };
    let started = Instant::now();
    run(&mut cargo)?;
    let elf = firmware
        .join("target")
        .join(target)
        .join("release")
        .join(bin);
    if !elf.is_file() {
        return Err(format!(
            "no firmware at {} after building it",
            elf.display()
        ));
    }
    println!(
        "{} in {:.1}s",
        elf.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(elf)
}

/// Every ELF the device tests boot: plain, TLS and IPv6, for both boards.
pub fn build_for_tests(toolchain: &Toolchain) -> Result {
    for board in [&AN386, &AN385] {
        for which in [Build::Plain, Build::Tls, Build::Ipv6] {
            build(toolchain, board.target, which)?;
        }
    }
    Ok(())
}

/// A configuration blob (layout in `firmware/qemu-device/src/config.rs`): the 48-byte
/// header with `mode` and `flags` (gateway port and TLS seed zero), then `fields`, each
/// with its 2-byte length.
pub fn blob(mode: u8, flags: u8, fields: &[&[u8]]) -> Vec<u8> {
    let mut blob = b"DEGUCFG1".to_vec();
    blob.extend_from_slice(&[0; 4]); // the length, below
    blob.push(mode);
    blob.push(flags);
    blob.extend_from_slice(&0u16.to_le_bytes()); // gateway port
    blob.extend_from_slice(&[0; 32]); // TLS seed
    for field in fields {
        let len = u16::try_from(field.len()).expect("a field under 64 KiB");
        blob.extend_from_slice(&len.to_le_bytes());
        blob.extend_from_slice(field);
    }
    let total = u32::try_from(blob.len()).expect("a blob under 4 GiB");
    blob[8..12].copy_from_slice(&total.to_le_bytes());
    blob
}

/// Write `bytes` to `target/xtask/<name>` for QEMU's loader; its path.
pub fn blob_file(name: &str, bytes: &[u8]) -> Result<PathBuf> {
    let path = root().join("target/xtask").join(name);
    std::fs::create_dir_all(path.parent().expect("a parent"))
        .and_then(|()| std::fs::write(&path, bytes))
        .map_err(|e| format!("write {}: {e}", path.display()))?;
    Ok(path)
}

/// QEMU for `elf` on `board` with the network `nic` (a `-nic` value) and the
/// configuration blob `blob`; output piped, no stdin, and stopped when this process
/// ends.
pub fn qemu(board: &Board, nic: &str, blob: &Path, elf: &Path) -> Command {
    let mut qemu = Command::new("qemu-system-arm");
    qemu.args(["-machine", board.machine, "-cpu", board.cpu])
        .args(["-nographic", "-monitor", "none"])
        .args(["-semihosting-config", "enable=on,target=native"])
        .args(["-nic", nic])
        .arg("-device")
        .arg(format!(
            "loader,file={},addr={CONFIG_ADDR:#x},force-raw=on",
            blob.display()
        ))
        .arg("-kernel")
        .arg(elf)
        // Not the terminal: QEMU would put it in raw mode and swallow Ctrl-C.
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    die_with_parent(&mut qemu);
    qemu
}

/// Send every line `child` prints (stdout and stderr) to `send`, tagged with `tag`,
/// from a thread per pipe; the channel sees the end when both pipes close.
pub fn forward_lines<T: Copy + Send + 'static>(
    child: &mut Child,
    tag: T,
    send: &mpsc::Sender<(T, String)>,
) {
    let pipes: [Option<Box<dyn Read + Send>>; 2] = [
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    ];
    for pipe in pipes.into_iter().flatten() {
        let send = send.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe)
                .lines()
                .map_while(std::result::Result::ok)
            {
                if send.send((tag, line)).is_err() {
                    break;
                }
            }
        });
    }
}

/// What `cargo xtask qemu --attach` needs: the gateway's attach address on this host and
/// the device's PEM files.
#[derive(Default)]
pub struct Attach {
    /// `HOST:PORT`: an address of this host (the device dials 10.0.2.2:PORT, which
    /// QEMU's user-mode network connects to the host's 127.0.0.1:PORT).
    pub gateway: String,
    /// The CA the gateway's certificate chains to (PEM).
    pub ca: PathBuf,
    /// The device's certificate (PEM); its common name is the device's name.
    pub cert: PathBuf,
    /// The device's P-256 key (PEM).
    pub key: PathBuf,
    /// The name the gateway's certificate must carry.
    pub server_name: String,
}

/// `openssl <args> -outform DER`: the DER the firmware takes, from a PEM file.
fn der(args: &[&str], file: &Path) -> Result<Vec<u8>> {
    let out = Command::new("openssl")
        .args(args)
        .arg(file)
        .args(["-outform", "DER"])
        .output()
        .map_err(|e| format!("cannot run openssl: {e}"))?;
    if !out.status.success() || out.stdout.is_empty() {
        return Err(format!(
            "openssl {} {}: {}",
            args.join(" "),
            file.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(out.stdout)
}

/// The attach-mode blob: mode 3, flag bit 0 (TLS), the gateway's port, a random seed,
/// then the fields (no name to claim: the certificate names the device).
fn attach_blob(attach: &Attach, port: u16) -> Result<Vec<u8>> {
    let mut seed = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut seed))
        .map_err(|e| format!("/dev/urandom: {e}"))?;
    let (ca, cert, key) = (
        der(&["x509", "-in"], &attach.ca)?,
        der(&["x509", "-in"], &attach.cert)?,
        der(&["ec", "-in"], &attach.key)?,
    );
    let fields: [&[u8]; 5] = [b"", attach.server_name.as_bytes(), &ca, &cert, &key];
    let mut bytes = blob(3, 0b01, &fields);
    if bytes.len() > 0x1_0000 {
        return Err("the certificates do not fit the 64 KiB configuration blob".into());
    }
    // The header's gateway port and TLS seed, which `blob` leaves zero.
    bytes[14..16].copy_from_slice(&port.to_le_bytes());
    bytes[16..48].copy_from_slice(&seed);
    Ok(bytes)
}

/// Boot `elf` on `board` as a device behind NAT: no host forward, the attach blob;
/// print what it prints until QEMU ends (Ctrl-C).
pub fn boot_attached(board: &Board, elf: &Path, attach: &Attach) -> Result {
    let (host, port) = attach
        .gateway
        .rsplit_once(':')
        .ok_or_else(|| format!("--attach {:?}: expected HOST:PORT", attach.gateway))?;
    let port: u16 = port
        .parse()
        .map_err(|e| format!("--attach {:?}: {e}", attach.gateway))?;
    if !matches!(host, "127.0.0.1" | "localhost" | "0.0.0.0" | "[::]" | "::") {
        return Err(format!(
            "--attach {host}:{port}: inside QEMU the device reaches this host's 127.0.0.1 \
             as 10.0.2.2; run the gateway with --attach 127.0.0.1:{port} (or 0.0.0.0:{port})"
        ));
    }
    let blob = blob_file("attach.bin", &attach_blob(attach, port)?)?;
    let hint = format!(
        "\nThe device dials 10.0.2.2:{port} (this host's 127.0.0.1:{port}); nothing can \
         dial it.\nOnce it is attached, try through the gateway:\n\n    \
         curl http://<gateway address>/device/<its certificate's name>/hello\n\n\
         Ctrl-C stops QEMU.\n"
    );
    let boot = Boot {
        nic: "user,model=lan9118".into(),
        ready: "attaching to 10.0.2.2",
        hint,
        forward: None,
    };
    run_until_stopped(board, elf, &blob, &boot)
}

/// Boot `elf` on `board` with 127.0.0.1:`port` forwarded to the device's port 80 and
/// no idle exit; print what it prints until QEMU ends (Ctrl-C).
pub fn boot_demo(board: &Board, elf: &Path, port: u16) -> Result {
    // Mode 0 (serve), flag bit 1 (no idle exit), no fields.
    let blob = blob_file("serve-forever.bin", &blob(0, 0b10, &[]))?;
    let boot = Boot {
        nic: format!("user,model=lan9118,hostfwd=tcp:127.0.0.1:{port}-10.0.2.15:80"),
        ready: LISTENING,
        hint: format!(
            "\nThe device serves the demo app on 127.0.0.1:{port}. Try:\n\n    \
             curl http://127.0.0.1:{port}/hello\n\nCtrl-C stops QEMU.\n"
        ),
        forward: Some(port),
    };
    run_until_stopped(board, elf, &blob, &boot)
}

/// How `cargo xtask qemu` boots: QEMU's network, the line after which `hint` is printed,
/// and the host port forwarded to the device (for the error when it is taken).
struct Boot {
    nic: String,
    ready: &'static str,
    hint: String,
    forward: Option<u16>,
}

/// Run QEMU until it ends, echoing its lines.
fn run_until_stopped(board: &Board, elf: &Path, blob: &Path, boot: &Boot) -> Result {
    let mut qemu = qemu(board, &boot.nic, blob, elf);
    println!("\n{}", describe(&qemu));
    println!("booting {} ({}); Ctrl-C stops it", board.machine, board.cpu);
    let mut child = qemu
        .spawn()
        .map_err(|e| format!("cannot start qemu-system-arm: {e}"))?;
    let (send, lines) = mpsc::channel();
    forward_lines(&mut child, (), &send);
    drop(send);
    let mut forward_failed = false;
    for ((), line) in lines {
        println!("{line}");
        if line.contains(boot.ready) {
            println!("{}", boot.hint);
        }
        forward_failed |= line.contains("Could not set up host forwarding");
    }
    let status = child
        .wait()
        .map_err(|e| format!("wait for qemu-system-arm: {e}"))?;
    if let (true, Some(port)) = (forward_failed, boot.forward) {
        return Err(format!(
            "QEMU could not listen on 127.0.0.1:{port}: is it taken? (--port PORT picks another)"
        ));
    }
    if status.success() {
        Ok(())
    } else {
        Err(format!("QEMU exited ({status})"))
    }
}

/// The child gets SIGTERM when this process ends, so a QEMU never outlives its xtask
/// (Ctrl-C in a terminal reaches both anyway).
fn die_with_parent(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    const PR_SET_PDEATHSIG: i32 = 1;
    const SIGTERM: std::ffi::c_ulong = 15;
    unsafe extern "C" {
        fn prctl(option: i32, arg2: std::ffi::c_ulong, ...) -> i32;
    }
    // SAFETY: prctl(PR_SET_PDEATHSIG) is async-signal-safe and touches no memory of the
    // parent; nothing else runs between fork and exec.
    unsafe {
        command.pre_exec(|| {
            if prctl(PR_SET_PDEATHSIG, SIGTERM) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
}
