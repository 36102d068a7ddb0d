//! The QEMU firmware (`firmware/qemu-device`): building its ELFs and booting the demo.

use crate::setup::{Toolchain, describe, run};
use crate::{Result, root};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Instant;

/// One QEMU board: machine, CPU, and the target its firmware is built for (as in
/// `tests/tests/qemu/mod.rs`).
pub struct Board {
    machine: &'static str,
    cpu: &'static str,
    /// The thumb target.
    pub target: &'static str,
}

/// mps2-an386: a Cortex-M4 with FPU.
pub const AN386: Board = Board {
    machine: "mps2-an386",
    cpu: "cortex-m4",
    target: "thumbv7em-none-eabihf",
};

/// mps2-an385: a Cortex-M3, running thumbv6m code.
pub const AN385: Board = Board {
    machine: "mps2-an385",
    cpu: "cortex-m3",
    target: "thumbv6m-none-eabi",
};

/// The host port `cargo xtask qemu` forwards to the device's port 80.
pub const QEMU_PORT: u16 = 8081;

/// Where QEMU's loader puts the configuration blob
/// (`firmware/qemu-device/src/config.rs`).
const CONFIG_ADDR: u32 = 0x203f_0000;

/// What the firmware prints once it serves.
const LISTENING: &str = "listening on 10.0.2.15:80";

/// The two ELFs of `qemu-device`.
#[derive(Clone, Copy)]
pub enum Build {
    /// `qemu-device`.
    Plain,
    /// `qemu-device-tls` (feature `tls`).
    Tls,
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
    let bin = match which {
        Build::Plain => "qemu-device",
        Build::Tls => {
            // Only this binary: with the feature on, the plain one would be rebuilt
            // with TLS too.
            cargo.args(["--features", "tls", "--bin", "qemu-device-tls"]);
            "qemu-device-tls"
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

/// Every ELF the device tests boot: plain and TLS, for both boards.
pub fn build_for_tests(toolchain: &Toolchain) -> Result {
    for board in [&AN386, &AN385] {
        for which in [Build::Plain, Build::Tls] {
            build(toolchain, board.target, which)?;
        }
    }
    Ok(())
}

/// The configuration blob for serving without the idle exit: the 48-byte header of
/// `firmware/qemu-device/src/config.rs`, mode 0 (serve), flag bit 1 (no idle exit), no
/// fields.
fn serve_forever_blob() -> Vec<u8> {
    let mut blob = b"DEGUCFG1".to_vec();
    blob.extend_from_slice(&48u32.to_le_bytes());
    blob.push(0); // mode: serve
    blob.push(0b10); // flags: no idle exit
    blob.extend_from_slice(&0u16.to_le_bytes()); // gateway port: unused
    blob.extend_from_slice(&[0; 32]); // TLS seed: unused
    blob
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

/// The attach-mode blob (`firmware/qemu-device/src/config.rs`): mode 3, TLS, the
/// gateway's port, a random seed, then the fields (no name to claim: the certificate
/// names the device).
fn attach_blob(attach: &Attach, port: u16) -> Result<Vec<u8>> {
    let mut seed = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut seed))
        .map_err(|e| format!("/dev/urandom: {e}"))?;
    let mut blob = b"DEGUCFG1".to_vec();
    blob.extend_from_slice(&[0; 4]); // total length, below
    blob.push(3); // mode: attach
    blob.push(0b01); // flags: TLS
    blob.extend_from_slice(&port.to_le_bytes());
    blob.extend_from_slice(&seed);
    let fields = [
        Vec::new(), // name: the certificate's
        attach.server_name.as_bytes().to_vec(),
        der(&["x509", "-in"], &attach.ca)?,
        der(&["x509", "-in"], &attach.cert)?,
        der(&["ec", "-in"], &attach.key)?,
    ];
    for field in fields {
        let len = u16::try_from(field.len()).map_err(|_| "a certificate over 64 KiB")?;
        blob.extend_from_slice(&len.to_le_bytes());
        blob.extend_from_slice(&field);
    }
    let total = u32::try_from(blob.len()).map_err(|_| "blob too large")?;
    if total > 0x1_0000 {
        return Err("the certificates do not fit the 64 KiB configuration blob".into());
    }
    blob[8..12].copy_from_slice(&total.to_le_bytes());
    Ok(blob)
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
    let blob = root().join("target/xtask/attach.bin");
    write_blob(&blob, &attach_blob(attach, port)?)?;
    let nic = "user,model=lan9118".to_string();
    let hint = format!(
        "\nThe device dials 10.0.2.2:{port} (this host's 127.0.0.1:{port}); nothing can dial it.\n\
         Once it is attached, try through the gateway:\n\n    \
         curl http://<gateway address>/device/<its certificate's name>/hello\n\nCtrl-C stops QEMU.\n"
    );
    run_qemu(
        board,
        elf,
        &blob,
        &nic,
        "attaching to 10.0.2.2",
        &hint,
        None,
    )
}

fn write_blob(path: &Path, bytes: &[u8]) -> Result {
    std::fs::create_dir_all(path.parent().expect("a parent"))
        .and_then(|()| std::fs::write(path, bytes))
        .map_err(|e| format!("write {}: {e}", path.display()))
}

/// Boot `elf` on `board` with 127.0.0.1:`port` forwarded to the device's port 80 and
/// no idle exit; print what it prints until QEMU ends (Ctrl-C).
pub fn boot_demo(board: &Board, elf: &Path, port: u16) -> Result {
    let blob = root().join("target/xtask/serve-forever.bin");
    write_blob(&blob, &serve_forever_blob())?;
    let nic = format!("user,model=lan9118,hostfwd=tcp:127.0.0.1:{port}-10.0.2.15:80");
    let hint = format!(
        "\nThe device serves the demo app on 127.0.0.1:{port}. Try:\n\n    \
         curl http://127.0.0.1:{port}/hello\n\nCtrl-C stops QEMU.\n"
    );
    run_qemu(board, elf, &blob, &nic, LISTENING, &hint, Some(port))
}

/// Run QEMU with `nic` and the blob, echo its lines, print `hint` after the line that
/// contains `ready`; `forward` is the host port of a forward (for its error message).
fn run_qemu(
    board: &Board,
    elf: &Path,
    blob: &Path,
    nic: &str,
    ready: &str,
    hint: &str,
    forward: Option<u16>,
) -> Result {
    let mut qemu = Command::new("qemu-system-arm");
    qemu.args(["-machine", board.machine, "-cpu", board.cpu])
        .args(["-nographic", "-monitor", "none"])
        .args(["-semihosting-config", "enable=on,target=native"])
        .arg("-nic")
        .arg(nic)
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
    println!("\n{}", describe(&qemu));
    println!("booting {} ({}); Ctrl-C stops it", board.machine, board.cpu);
    let mut child = qemu
        .spawn()
        .map_err(|e| format!("cannot start qemu-system-arm: {e}"))?;
    let (send, lines) = mpsc::channel();
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
                if send.send(line).is_err() {
                    break;
                }
            }
        });
    }
    drop(send);
    let mut forward_failed = false;
    for line in lines {
        println!("{line}");
        if line.contains(ready) {
            println!("{hint}");
        }
        forward_failed |= line.contains("Could not set up host forwarding");
    }
    let status = child
        .wait()
        .map_err(|e| format!("wait for qemu-system-arm: {e}"))?;
    if let (true, Some(port)) = (forward_failed, forward) {
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
