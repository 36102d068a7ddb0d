//! Helpers shared by the interop tests (`interop.rs`, `linklocal.rs`): child processes
//! that are bounded in time and die with the test, the example binaries, unique names.
#![allow(dead_code)]

use std::ffi::OsString;
use std::io::{BufRead as _, BufReader, Read as _};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Bound on one short subprocess (a curl, a Python client, an `ip` command).
pub const STEP: Duration = Duration::from_secs(15);

/// Bound on a server printing its first line.
pub const STARTUP: Duration = Duration::from_secs(10);

/// A name no other test (in this or a concurrent test process) uses.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Debian's curl when it is there, else whatever `curl` is on the PATH.
pub fn curl() -> Command {
    let debian = Path::new("/usr/bin/curl");
    Command::new(if debian.exists() {
        debian.as_os_str()
    } else {
        "curl".as_ref()
    })
}

/// The child gets SIGKILL when the thread that spawned it (a test's thread) ends, so a
/// test process killed from outside leaves no server behind. `ip netns exec` keeps the
/// setting across its exec (it is not set-uid).
fn die_with_parent(cmd: &mut Command) {
    // SAFETY: `prctl(PR_SET_PDEATHSIG)` is async-signal-safe and touches no memory of
    // the parent; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
                .map_err(std::io::Error::from)
        });
    }
}

fn collect(mut r: impl std::io::Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = r.read_to_end(&mut out);
        out
    })
}

/// Describe a command for messages.
pub fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// Run `cmd` to its end, killing it after `timeout` (and then failing the test).
/// Standard input is empty; standard output and error are captured.
pub fn run(cmd: &mut Command, timeout: Duration) -> Output {
    let what = describe(cmd);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    die_with_parent(cmd);
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start `{what}`: {e}"));
    let out = collect(child.stdout.take().expect("stdout"));
    let err = collect(child.stderr.take().expect("stderr"));
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            let stderr = err.join().unwrap_or_default();
            panic!(
                "`{what}` did not finish within {timeout:?}; stderr:\n{}",
                String::from_utf8_lossy(&stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    }
}

/// [`run`], and fail the test unless the command exits 0.
pub fn run_ok(cmd: &mut Command, timeout: Duration) -> Output {
    let what = describe(cmd);
    let out = run(cmd, timeout);
    assert!(
        out.status.success(),
        "`{what}` failed ({}):\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A long-running child (a server): its stdout comes line by line, its stderr is kept
/// for messages, its stdin stays open (Python helpers exit when it closes). Killed and
/// reaped when dropped.
pub struct Proc {
    child: Child,
    what: String,
    lines: Receiver<String>,
    stderr: Arc<Mutex<Vec<u8>>>,
    _stdin: Option<ChildStdin>,
}

impl Proc {
    /// Start `cmd`.
    pub fn spawn(cmd: &mut Command) -> Proc {
        let what = describe(cmd);
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        die_with_parent(cmd);
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start `{what}`: {e}"));
        let (tx, lines) = channel();
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        std::thread::spawn(move || {
            for line in stdout.lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let mut pipe = child.stderr.take().expect("stderr");
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().expect("stderr").extend_from_slice(&buf[..n]);
            }
        });
        let stdin = child.stdin.take();
        Proc {
            child,
            what,
            lines,
            stderr,
            _stdin: stdin,
        }
    }

    /// The next line on its stdout; fails the test after `timeout` or at EOF.
    pub fn line(&self, timeout: Duration) -> String {
        match self.lines.recv_timeout(timeout) {
            Ok(line) => line,
            Err(RecvTimeoutError::Timeout) => panic!(
                "`{}` printed no line within {timeout:?}; stderr:\n{}",
                self.what,
                self.stderr()
            ),
            Err(RecvTimeoutError::Disconnected) => {
                // Give the stderr reader a moment to catch the last words.
                std::thread::sleep(Duration::from_millis(100));
                panic!(
                    "`{}` closed its stdout without a line; stderr:\n{}",
                    self.what,
                    self.stderr()
                )
            }
        }
    }

    /// What it wrote to stderr so far.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().expect("stderr")).into_owned()
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Send SIGTERM and wait for it to exit within `timeout`.
    pub fn terminate(&mut self, timeout: Duration) -> ExitStatus {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.child.id()).expect("pid"));
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("SIGTERM");
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "`{}` did not exit within {timeout:?} of SIGTERM; stderr:\n{}",
                self.what,
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// The two example binaries, built for the profile (and target) of this test binary.
#[derive(Debug)]
pub struct Bins {
    /// `demo-server`.
    pub demo_server: PathBuf,
    /// The `degu` CLI.
    pub degu: PathBuf,
    /// `gateway`.
    pub gateway: PathBuf,
}

/// Build `demo-server`, `degu` and `gateway` once per test process and return their paths.
///
/// Why build here: cargo passes `CARGO_BIN_EXE_<name>` only to integration tests of the
/// package that owns the binaries (`degu-examples`), and `cargo test -p degu-tests`
/// does not build them at all, so a binary found under `target/` could be missing or
/// stale. `cargo run` per spawn would work for the loopback servers but not under
/// `ip netns exec` for a one-shot CLI, and would pay cargo's start-up on every call.
/// So the first test that needs them runs `cargo build -p degu-examples --bins` (a
/// no-op when they are fresh; cargo has released its build lock by the time tests run)
/// into this test binary's own target directory and profile, derived from
/// `current_exe()` = `<target-dir>[/<triple>]/<profile>/deps/<test>`, then checks that
/// both files exist.
pub fn bins() -> &'static Bins {
    static BINS: OnceLock<Bins> = OnceLock::new();
    BINS.get_or_init(build_bins)
}

fn build_bins() -> Bins {
    let exe = std::env::current_exe().expect("current_exe");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binary outside <target>/<profile>/deps")
        .to_path_buf();
    let profile = profile_dir
        .file_name()
        .and_then(|n| n.to_str())
        .expect("profile directory name")
        .to_string();
    let above = profile_dir.parent().expect("target directory");
    // Cargo keeps `.rustc_info.json` at the root of the target directory only; without
    // it here, `above` is `<target-dir>/<triple>` of a `--target` build.
    let (target_dir, triple) = if above.join(".rustc_info.json").exists() {
        (above.to_path_buf(), None)
    } else {
        let triple = above.file_name().map(OsString::from);
        let root = above.parent().expect("target directory").to_path_buf();
        (root, triple)
    };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from(env!("CARGO")));
    let mut cmd = Command::new(cargo);
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "build",
            "-q",
            "-p",
            "degu-examples",
            "--bins",
            "--target-dir",
        ])
        .arg(&target_dir);
    match profile.as_str() {
        "debug" => {}
        "release" => {
            cmd.arg("--release");
        }
        other => {
            cmd.args(["--profile", other]);
        }
    }
    if let Some(t) = triple {
        cmd.arg("--target").arg(t);
    }
    // Fresh binaries: well under a second. A cold build of the examples' host
    // dependencies with other features than the tests use: about a minute.
    run_ok(&mut cmd, Duration::from_secs(600));
    let bins = Bins {
        demo_server: profile_dir.join("demo-server"),
        degu: profile_dir.join("degu"),
        gateway: profile_dir.join("gateway"),
    };
    for p in [&bins.demo_server, &bins.degu, &bins.gateway] {
        assert!(p.is_file(), "{} missing after cargo build", p.display());
    }
    bins
}

/// Start `demo-server` with `cmd` (the binary, or `ip netns exec NS` and the binary,
/// with `--address ...`) and read its `listening on ADDR` line; the server and ADDR.
pub fn start_demo_server(cmd: &mut Command) -> (Proc, String) {
    let server = Proc::spawn(cmd);
    let line = server.line(STARTUP);
    let address = line
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    (server, address)
}

/// The port at the end of `host:port` or `[ipv6]:port`.
pub fn port_of(address: &str) -> u16 {
    address
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {address:?}"))
}

/// Raise the soft descriptor limit to `want` (children inherit it); a hard limit below
/// it fails the test.
pub fn raise_nofile(want: u64) {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).expect("getrlimit");
    assert!(
        hard >= want,
        "RLIMIT_NOFILE hard limit {hard} is below the {want} descriptors this test needs"
    );
    if soft < want {
        setrlimit(Resource::RLIMIT_NOFILE, want, hard).expect("setrlimit");
    }
}

/// A `/proc/<pid>/status` field in KiB.
pub fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}
