//! Running the firmware of `firmware/qemu-device` in QEMU, for `qemu_device.rs` and
//! `qemu_gateway.rs`.
//!
//! The firmware is built beforehand: `cargo xtask test` builds it (with rustup's thumb
//! targets, or Debian's rustc where rustup has none; by hand: `firmware/README.md`) and
//! then runs these tests, which are `#[ignore]`d in a plain `cargo test` because they
//! need that firmware and `qemu-system-arm`. Run anyhow, without either a test fails: it
//! never passes without having run.
//!
//! QEMU runs under `timeout` and is stopped when its [`Qemu`] is dropped (also on a
//! failed assertion). Its network is QEMU's user-mode one (`-nic user,model=lan9118`):
//! the device is 10.0.2.15 and reaches the host's 127.0.0.1 as 10.0.2.2; a host forward
//! makes the device's port 80 a port on 127.0.0.1. Nothing leaves 127.0.0.1.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Longest QEMU may live, whatever happens to the test (`timeout -k`).
pub const QEMU_HARD_LIMIT: &str = "90";
/// How long the firmware may take to boot and print "listening".
pub const BOOT_WAIT: Duration = Duration::from_secs(30);

/// One board: the machine and CPU QEMU emulates and the target the firmware is built for.
pub struct Board {
    pub machine: &'static str,
    pub cpu: &'static str,
    pub target: &'static str,
}

pub const AN386: Board = Board {
    machine: "mps2-an386",
    cpu: "cortex-m4",
    target: "thumbv7em-none-eabihf",
};

pub const AN385: Board = Board {
    machine: "mps2-an385",
    cpu: "cortex-m3",
    target: "thumbv6m-none-eabi",
};

/// Where QEMU's loader puts the configuration blob (firmware/qemu-device/src/config.rs).
pub const CONFIG_ADDR: u32 = 0x203f_0000;

/// The ELF `bin` (`qemu-device`, `qemu-device-tls`) for `board`; the test fails when it
/// is missing or when `qemu-system-arm` is.
pub fn firmware(board: &Board, bin: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let elf = root
        .join("firmware/target")
        .join(board.target)
        .join("release")
        .join(bin);
    assert!(
        elf.is_file(),
        "no firmware at {}: `cargo xtask test` builds it and runs these tests (by hand: \
         firmware/README.md)",
        elf.display()
    );
    let qemu = Command::new("qemu-system-arm")
        .arg("--version")
        .stdout(Stdio::null())
        .status();
    assert!(
        qemu.as_ref().is_ok_and(|s| s.success()),
        "qemu-system-arm does not run ({qemu:?}): `cargo xtask test` installs it \
         (apt-get install qemu-system-arm)"
    );
    elf
}

/// A running QEMU; stopped on drop.
pub struct Qemu {
    child: Child,
    /// The device's port 80 on the host, when forwarded.
    pub addr: Option<SocketAddr>,
    lines: mpsc::Receiver<String>,
    seen: std::cell::RefCell<Vec<String>>,
}

impl Qemu {
    /// Boot `elf` as a server (no configuration blob) with its port 80 forwarded to a
    /// free port on 127.0.0.1, and wait until it listens.
    pub fn serve(board: &Board, elf: &Path) -> Qemu {
        // QEMU binds the forward itself, so another process could take the port in
        // between: then QEMU exits at once and we try another.
        for _ in 0..3 {
            let port = free_port();
            let mut qemu = Qemu::spawn(board, elf, Some(port), None);
            match qemu.wait_for("listening on 10.0.2.15:80", BOOT_WAIT) {
                Ok(()) => return qemu,
                Err(e) if qemu.output().contains("Could not set up host forwarding") => {
                    eprintln!("port {port}: {e}, retrying:\n{}", qemu.output());
                }
                Err(e) => panic!("{e}\nQEMU output:\n{}", qemu.output()),
            }
        }
        panic!("QEMU could not forward a free port after 3 tries");
    }

    /// Start QEMU with `elf`, optionally forwarding 127.0.0.1:`forward` to the device's
    /// port 80 and loading the configuration blob `config`.
    pub fn spawn(board: &Board, elf: &Path, forward: Option<u16>, config: Option<&Path>) -> Qemu {
        let mut nic = "user,model=lan9118".to_string();
        if let Some(port) = forward {
            nic.push_str(&format!(",hostfwd=tcp:127.0.0.1:{port}-10.0.2.15:80"));
        }
        let mut command = Command::new("timeout");
        command
            .args(["-k", "5", QEMU_HARD_LIMIT, "qemu-system-arm"])
            .args(["-machine", board.machine, "-cpu", board.cpu])
            .args(["-nographic", "-monitor", "none"])
            .args(["-semihosting-config", "enable=on,target=native"])
            .args(["-nic", &nic]);
        if let Some(config) = config {
            command.arg("-device").arg(format!(
                "loader,file={},addr={CONFIG_ADDR:#x},force-raw=on",
                config.display()
            ));
        }
        let mut child = command
            .arg("-kernel")
            .arg(elf)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn timeout qemu-system-arm");
        let (tx, lines) = mpsc::channel();
        for pipe in [
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        Qemu {
            child,
            addr: forward.map(|port| SocketAddr::from(([127, 0, 0, 1], port))),
            lines,
            seen: Default::default(),
        }
    }

    /// Wait until QEMU prints a line containing `text`.
    pub fn wait_for(&mut self, text: &str, limit: Duration) -> Result<(), String> {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let found = line.contains(text);
                    self.seen.borrow_mut().push(line);
                    if found {
                        return Ok(());
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    return Err(format!("no {text:?} from QEMU within {limit:?}"));
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait();
                    return Err(format!("QEMU exited ({status:?}) before {text:?}"));
                }
            }
        }
    }

    /// Wait until QEMU exits by itself (the firmware's semihosting exit) within `limit`;
    /// its exit status.
    pub fn wait_exit(&mut self, limit: Duration) -> Result<ExitStatus, String> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().map_err(|e| e.to_string())? {
                // The pipes close with the process: collect the last lines.
                while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(500)) {
                    self.seen.borrow_mut().push(line);
                }
                return Ok(status);
            }
            if Instant::now() >= deadline {
                return Err(format!("QEMU still running after {limit:?}"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Everything QEMU printed so far.
    pub fn output(&self) -> String {
        let mut seen = self.seen.borrow_mut();
        seen.extend(self.lines.try_iter());
        seen.join("\n")
    }
}

impl Drop for Qemu {
    fn drop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        // TERM to `timeout` reaches QEMU too; `timeout` itself would die of a KILL and
        // leave QEMU behind.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("pick a free port")
        .port()
}

/// What the firmware does with a configuration blob.
#[derive(Clone, Copy)]
pub enum Mode {
    Serve = 0,
    Client = 1,
    Footprint = 2,
    /// Dial the gateway and serve it over the links (devices behind NAT).
    Attach = 3,
}

/// A configuration blob (layout in firmware/qemu-device/src/config.rs).
pub struct Blob<'a> {
    pub mode: Mode,
    pub tls: bool,
    pub port: u16,
    pub seed: [u8; 32],
    pub path: &'a str,
    pub server_name: &'a str,
    pub ca: &'a [u8],
    pub cert: &'a [u8],
    pub key: &'a [u8],
}

impl Blob<'_> {
    pub fn bytes(&self) -> Vec<u8> {
        let mut out = b"DEGUCFG1".to_vec();
        out.extend_from_slice(&[0; 4]);
        out.push(self.mode as u8);
        out.push(u8::from(self.tls));
        out.extend_from_slice(&self.port.to_le_bytes());
        out.extend_from_slice(&self.seed);
        for field in [
            self.path.as_bytes(),
            self.server_name.as_bytes(),
            self.ca,
            self.cert,
            self.key,
        ] {
            let len = u16::try_from(field.len()).expect("field under 64 KiB");
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(field);
        }
        let total = u32::try_from(out.len()).expect("blob under 4 GiB");
        assert!(total <= 0x1_0000, "the blob must fit in 64 KiB");
        out[8..12].copy_from_slice(&total.to_le_bytes());
        out
    }

    /// Write the blob to a temporary file for QEMU's loader.
    pub fn file(&self) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        std::io::Write::write_all(&mut file, &self.bytes()).expect("write the blob");
        file
    }
}

/// A seed for the device's TLS random generator: different each run.
pub fn rand_seed() -> [u8; 32] {
    use sha2::Digest;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let mut hasher = sha2::Sha256::new();
    hasher.update(now.as_nanos().to_le_bytes());
    hasher.update(std::process::id().to_le_bytes());
    hasher.finalize().into()
}
