//! What the gateway tests share: the `gateway` and `demo-server` binaries as child
//! processes, a deterministic byte stream with its chunk plan, and a full-duplex
//! streaming echo that never holds a body in memory.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

pub mod attach;
pub mod openssl;

use degu_core::{ChunkExt, Framing, Method};
use degu_std::Address;
use degu_std::Client;
use degu_std::blocking::{BlockingConnection, Wait};
use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// `curl -sS --max-time MAX_TIME ARGS...` run to its end (curl is a CI prerequisite:
/// `cargo xtask setup` installs it).
pub fn curl_output(max_time_secs: u32, args: &[&str]) -> std::process::Output {
    Command::new("curl")
        .args(["-sS", "--max-time", &max_time_secs.to_string()])
        .args(args)
        .output()
        .expect("curl must be installed (cargo xtask setup installs it)")
}

/// [`curl_output`]'s stdout; a failed run fails the test.
pub fn curl_ok(max_time_secs: u32, args: &[&str]) -> Vec<u8> {
    let out = curl_output(max_time_secs, args);
    assert!(
        out.status.success(),
        "curl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Start `bin` with `args` and read its first stdout line, `listening on <address>`.
pub fn spawn_listening(bin: &str, args: &[String]) -> (Child, Address) {
    spawn_listening_with(bin, args, Stdio::null())
}

/// [`spawn_listening`] with the child's stderr going to `stderr`.
pub fn spawn_listening_with(bin: &str, args: &[String], stderr: Stdio) -> (Child, Address) {
    let mut child = Command::new(bin)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let address = line
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("{bin}: unexpected first line {line:?}"))
        .trim()
        .parse()
        .unwrap();
    (child, address)
}

/// A gateway process, killed when dropped.
pub struct Gateway {
    pub child: Child,
    pub address: Address,
}

impl Gateway {
    /// The `gateway` binary on 127.0.0.1:0 with `devices` and `extra` options.
    pub fn start(devices: &[(&str, &Address)], extra: &[&str]) -> Gateway {
        let mut args = vec!["--address".to_string(), "127.0.0.1:0".to_string()];
        for (name, address) in devices {
            args.extend(["--device".to_string(), format!("{name}={address}")]);
        }
        args.extend(extra.iter().map(|a| a.to_string()));
        let (child, address) = spawn_listening(env!("CARGO_BIN_EXE_gateway"), &args);
        Gateway { child, address }
    }

    pub fn client(&self) -> BlockingConnection {
        Client::new(self.address.clone())
            .connect_blocking()
            .unwrap()
    }

    /// Peak resident memory, from /proc.
    pub fn peak_rss_kib(&self) -> u64 {
        vm_hwm_kib(self.child.id()).expect("the gateway is running")
    }
}

/// A process's peak resident memory (VmHWM, a high-water mark) in KiB, from /proc;
/// `None` once it has exited.
pub fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// xorshift64*: fast deterministic sizes, and a byte stream that does not depend on
/// how it is cut into pieces.
pub struct Rng {
    pub state: u64,
    pub spare: [u8; 8],
    pub spare_len: usize,
}

#[allow(non_snake_case)]
pub fn Rng(seed: u64) -> Rng {
    Rng {
        state: seed,
        spare: [0; 8],
        spare_len: 0,
    }
}

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn fill(&mut self, mut buf: &mut [u8]) {
        let take = self.spare_len.min(buf.len());
        buf[..take].copy_from_slice(&self.spare[8 - self.spare_len..8 - self.spare_len + take]);
        self.spare_len -= take;
        buf = &mut buf[take..];
        let mut words = buf.chunks_exact_mut(8);
        for c in &mut words {
            c.copy_from_slice(&self.next().to_le_bytes());
        }
        let rest = words.into_remainder();
        if !rest.is_empty() {
            self.spare = self.next().to_le_bytes();
            let n = rest.len();
            rest.copy_from_slice(&self.spare[..n]);
            self.spare_len = 8 - n;
        }
    }
}

/// The chunk plan of a stream: (extension value, size) per chunk, sizes 1..=200,000
/// (many larger than the gateway's 64 KiB buffer), every third chunk with `c=<i>`.
pub fn plan(total: u64, seed: u64) -> Vec<(Option<String>, usize)> {
    let mut rng = Rng(seed);
    let mut out = Vec::new();
    let mut left = total;
    let mut i = 0;
    while left > 0 {
        let size = ((rng.next() % 200_000) + 1).min(left) as usize;
        out.push(((i % 3 == 0).then(|| i.to_string()), size));
        left -= size as u64;
        i += 1;
    }
    out
}

pub fn plan_digest(plan: &[(Option<String>, usize)]) -> String {
    let mut h = Sha256::new();
    for (e, s) in plan {
        h.update(format!("{}:{s};", e.as_deref().unwrap_or("-")).as_bytes());
    }
    hex(h)
}

pub fn hex(h: Sha256) -> String {
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// A `demo-server` process (the device), killed when dropped.
pub struct Device {
    pub child: Child,
    pub address: Address,
}

impl Device {
    /// The `demo-server` binary on `address`.
    pub fn start(address: &str) -> Device {
        Device::with_args(&["--address".to_string(), address.to_string()])
    }

    /// The `demo-server` binary on 127.0.0.1:0 serving `dir` at `/files/`.
    pub fn with_files(dir: &std::path::Path) -> Device {
        Device::with_args(&[
            "--address".to_string(),
            "127.0.0.1:0".to_string(),
            "--files".to_string(),
            dir.display().to_string(),
        ])
    }

    /// The `demo-server` binary with `args` (which must include `--address`).
    pub fn with_args(args: &[String]) -> Device {
        let (child, address) = spawn_listening(env!("CARGO_BIN_EXE_demo-server"), args);
        Device { child, address }
    }

    /// A new blocking connection to it.
    pub fn conn(&self) -> BlockingConnection {
        Client::new(self.address.clone())
            .connect_blocking()
            .unwrap()
    }

    /// `http://<address><path>`, for curl.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// Peak resident memory, from /proc.
    pub fn peak_rss_kib(&self) -> u64 {
        vm_hwm_kib(self.child.id()).expect("demo-server is running")
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What came back from an echo: the data's SHA-256 and length, and the chunk plan.
#[derive(Debug, PartialEq)]
pub struct Echoed {
    pub bytes: u64,
    pub sha256: String,
    pub chunks: Vec<(Option<String>, usize)>,
}

/// Stream `total` generated bytes to `uri` (chunked by `plan`, or length-framed)
/// while the response streams back, as an echoing device answers before the request
/// is all sent: the status and what came back. Neither side is ever held in memory.
pub fn stream_echo(
    conn: &mut BlockingConnection,
    uri: &str,
    total: u64,
    seed: u64,
    chunked: bool,
) -> (u16, Echoed) {
    let plan = plan(total, seed);
    let framing = if chunked {
        Framing::Chunked
    } else {
        Framing::Length(total)
    };
    async {
        let (mut body, response) = conn.send(Method::Put, uri, &[], framing).unwrap();
        let sending = async {
            let mut rng = Rng(seed ^ 0xdead_beef);
            let mut buf = vec![0u8; 200_000];
            for (ext, size) in &plan {
                rng.fill(&mut buf[..*size]);
                let data = &buf[..*size];
                if chunked {
                    let ext = ext.as_deref().map(|v| ChunkExt::new("c", v));
                    body.write_chunk(ext, data).await.unwrap();
                } else {
                    body.write(data).await.unwrap();
                }
            }
            body.finish(chunked.then(|| ChunkExt::new("end", "1")))
                .await
                .unwrap();
        };
        let receiving = async {
            let mut r = response.receive().await.unwrap();
            let mut buf = vec![0u8; 64 * 1024];
            let mut h = Sha256::new();
            let (mut bytes, mut chunks) = (0u64, Vec::new());
            let mut current: Option<(Option<String>, usize)> = None;
            if r.body.is_chunked() {
                while let Some(p) = r.body.read_chunk(&mut buf).await.unwrap() {
                    if p.is_end() {
                        let ext = p.ext.map(|e| format!("{}={}", e.key, e.value));
                        assert_eq!(ext.as_deref(), Some("end=1"), "last chunk's extension");
                        continue;
                    }
                    if p.first {
                        chunks.extend(current.take());
                        current = Some((p.ext.map(|e| e.value.to_string()), 0));
                    }
                    h.update(&buf[..p.len]);
                    bytes += p.len as u64;
                    current.as_mut().unwrap().1 += p.len;
                }
                chunks.extend(current.take());
            } else {
                assert_eq!(r.body.content_length(), Some(total));
                loop {
                    let n = r.body.read(&mut buf).await.unwrap();
                    if n == 0 {
                        break;
                    }
                    h.update(&buf[..n]);
                    bytes += n as u64;
                }
            }
            let sha256 = hex(h);
            (
                r.status,
                Echoed {
                    bytes,
                    sha256,
                    chunks,
                },
            )
        };
        embassy_futures::join::join(sending, receiving).await.1
    }
    .wait()
}

pub fn expected_echo(total: u64, seed: u64, chunked: bool) -> Echoed {
    let plan = plan(total, seed);
    let mut rng = Rng(seed ^ 0xdead_beef);
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 200_000];
    for (_, size) in &plan {
        rng.fill(&mut buf[..*size]);
        h.update(&buf[..*size]);
    }
    Echoed {
        bytes: total,
        sha256: hex(h),
        chunks: if chunked { plan } else { Vec::new() },
    }
}
