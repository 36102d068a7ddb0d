//! What a fresh machine (Debian bookworm or alike, rustup's stable toolchain, no thumb
//! targets) lacks, and the Cortex-M toolchain.
//!
//! Debian packages are installed only when missing, with apt-get, as root; otherwise the
//! exact command is printed and the step fails. The toolchain for a thumb target is
//! rustup's when `rustup target list --installed` has the target (what real users do:
//! `rustup target add thumbv7em-none-eabihf`); otherwise Debian's `rustc-web` (1.91 or
//! newer builds the embassy stack) with `RUSTC_BOOTSTRAP=1`, which turns on
//! `firmware/.cargo/config.toml`'s `-Z build-std=core` so that `core` is compiled from
//! `rust-web-src`. rustup's own rustc cannot build Debian's library source, and machines
//! that cannot download a rustup target are why the fallback exists. Either way rustup's
//! `rust-lld` links.

use crate::Result;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The thumb targets the QEMU firmware is built for (mps2-an386, mps2-an385).
pub const FIRMWARE_TARGETS: [&str; 2] = ["thumbv7em-none-eabihf", "thumbv6m-none-eabi"];
/// Debian's compiler, from `rustc-web`.
const DEBIAN_RUSTC: &str = "/usr/bin/rustc";
/// The oldest Debian rustc (1.x) that builds the embassy stack: smoltcp 0.13 needs 1.91.
const DEBIAN_RUSTC_MIN: u32 = 91;
/// How long to wait for an apt or dpkg that another process runs.
const APT_WAIT: Duration = Duration::from_secs(600);

/// A Debian package, the command that shows it is there (a command may come from
/// elsewhere, such as python3 from pyenv), and what needs it.
struct Requirement {
    package: &'static str,
    command: Option<&'static str>,
    why: &'static str,
}

const QEMU: Requirement = Requirement {
    package: "qemu-system-arm",
    command: Some("qemu-system-arm"),
    why: "runs the firmware (device tests, cargo xtask qemu)",
};

const TEST_TOOLS: [Requirement; 5] = [
    Requirement {
        package: "curl",
        command: Some("curl"),
        why: "interop tests",
    },
    Requirement {
        package: "python3",
        command: Some("python3"),
        why: "interop tests (http.client, http.server)",
    },
    Requirement {
        package: "openssl",
        command: Some("openssl"),
        why: "degu-std's TLS tests (s_client), the attachment tests' certificates, \
              PEM to DER for cargo xtask qemu --attach",
    },
    Requirement {
        package: "iproute2",
        command: Some("ip"),
        why: "network-namespace tests",
    },
    Requirement {
        package: "procps",
        command: Some("kill"),
        why: "stopping QEMU in the device tests",
    },
];

const DEBIAN_TOOLCHAIN: [Requirement; 3] = [
    Requirement {
        package: "rustc-web",
        command: None,
        why: "Debian's rustc for thumb targets rustup has not installed",
    },
    Requirement {
        package: "cargo-web",
        command: None,
        why: "goes with rustc-web",
    },
    Requirement {
        package: "rust-web-src",
        command: None,
        why: "the library source -Z build-std=core compiles",
    },
];

const CI_TOOLS: [Requirement; 1] = [Requirement {
    package: "binutils",
    command: Some("size"),
    why: "firmware sizes (.ci/run's footprint stage)",
}];

/// What a command needs from the machine.
pub struct Needs {
    qemu: bool,
    test_tools: bool,
    targets: Vec<&'static str>,
    /// Debian's rustc even where rustup has the targets (`.ci/run`'s build-std proofs).
    debian_toolchain: bool,
    ci_tools: bool,
}

impl Needs {
    /// `cargo xtask test`: QEMU, the tools the tests run, both firmware targets, and root
    /// for the network-namespace tests.
    pub fn tests() -> Needs {
        Needs {
            qemu: true,
            test_tools: true,
            targets: FIRMWARE_TARGETS.to_vec(),
            debian_toolchain: false,
            ci_tools: false,
        }
    }

    /// `cargo xtask qemu`: QEMU and one target.
    pub fn qemu(target: &'static str) -> Needs {
        Needs {
            qemu: true,
            test_tools: false,
            targets: vec![target],
            debian_toolchain: false,
            ci_tools: false,
        }
    }

    /// `cargo xtask qemu --attach`: QEMU, one target, and the test tools (openssl turns
    /// the PEM files into the DER the firmware takes).
    pub fn qemu_attach(target: &'static str) -> Needs {
        Needs {
            test_tools: true,
            ..Needs::qemu(target)
        }
    }

    /// These needs and `target` too (`cargo xtask qemu-pair`: a board each).
    pub fn and_target(mut self, target: &'static str) -> Needs {
        if !self.targets.contains(&target) {
            self.targets.push(target);
        }
        self
    }

    /// `cargo xtask firmware`: both targets.
    pub fn firmware() -> Needs {
        Needs {
            qemu: false,
            test_tools: false,
            targets: FIRMWARE_TARGETS.to_vec(),
            debian_toolchain: false,
            ci_tools: false,
        }
    }

    /// `cargo xtask setup --ci`: the tests' needs and `.ci/run`'s own.
    pub fn ci() -> Needs {
        Needs {
            debian_toolchain: true,
            ci_tools: true,
            ..Needs::tests()
        }
    }
}

/// The host toolchain (rustup's) and which thumb targets it has.
pub struct Toolchain {
    /// Where `rust-lld` is: the rustup toolchain's `lib/rustlib/<host>/bin`.
    lld_dir: PathBuf,
    /// `rustup target list --installed`.
    rustup_targets: Vec<String>,
}

impl Toolchain {
    /// Look at the toolchain; installs nothing.
    pub fn probe() -> Result<Toolchain> {
        let sysroot = output(Command::new("rustc").args(["--print", "sysroot"]))?;
        let verbose = output(Command::new("rustc").arg("-vV"))?;
        let host = verbose
            .lines()
            .find_map(|l| l.strip_prefix("host: "))
            .ok_or("`rustc -vV` names no host")?;
        let lld_dir = Path::new(sysroot.trim())
            .join("lib/rustlib")
            .join(host)
            .join("bin");
        // Without rustup (a toolchain from elsewhere) no target counts as installed.
        let rustup_targets = output(Command::new("rustup").args(["target", "list", "--installed"]))
            .map(|list| list.lines().map(|l| l.trim().to_string()).collect())
            .unwrap_or_default();
        Ok(Toolchain {
            lld_dir,
            rustup_targets,
        })
    }

    /// Whether `target` is built with rustup's toolchain (else with Debian's rustc).
    pub fn uses_rustup(&self, target: &str) -> bool {
        self.rustup_targets.iter().any(|t| t == target)
    }

    /// `PATH` with rustup's `rust-lld` at its end.
    fn path_with_lld(&self) -> OsString {
        let mut paths: Vec<PathBuf> = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).collect())
            .unwrap_or_default();
        if !paths.contains(&self.lld_dir) {
            paths.push(self.lld_dir.clone());
        }
        std::env::join_paths(paths).unwrap_or_default()
    }

    /// The settings cargo builds for `target` under.
    pub fn cross_env(&self, target: &str) -> Vec<(&'static str, OsString)> {
        if self.uses_rustup(target) {
            vec![("PATH", self.path_with_lld())]
        } else {
            self.debian_env()
        }
    }

    /// The settings for Debian's rustc with `-Z build-std` (from `firmware/.cargo/
    /// config.toml`, or on the command line).
    pub fn debian_env(&self) -> Vec<(&'static str, OsString)> {
        vec![
            ("RUSTC", DEBIAN_RUSTC.into()),
            ("RUSTC_BOOTSTRAP", "1".into()),
            ("PATH", self.path_with_lld()),
        ]
    }

    /// `cargo` set up to build for `target`.
    pub fn cross_cargo(&self, target: &str) -> Command {
        let mut command = cargo();
        if self.uses_rustup(target) {
            // A stray RUSTC_BOOTSTRAP would turn on the firmware's `[unstable]`
            // build-std, which rustup's toolchain cannot do without rust-src.
            command.env_remove("RUSTC_BOOTSTRAP").env_remove("RUSTC");
        }
        command.envs(self.cross_env(target));
        command
    }
}

/// The cargo that runs this xtask (rustup's), for nested builds.
pub fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Describe a command for the log: `$ program args...`.
pub fn describe(command: &Command) -> String {
    let mut text = String::from("$");
    for (name, value) in command.get_envs() {
        if name != "PATH" {
            let value = value.map(|v| v.to_string_lossy()).unwrap_or_default();
            text.push_str(&format!(" {}={value}", name.to_string_lossy()));
        }
    }
    text.push(' ');
    text.push_str(&command.get_program().to_string_lossy());
    for arg in command.get_args() {
        text.push(' ');
        text.push_str(&arg.to_string_lossy());
    }
    if let Some(dir) = command.get_current_dir() {
        text.push_str(&format!("    (in {})", dir.display()));
    }
    text
}

/// Run `command` with its output on ours; fail unless it exits 0.
pub fn run(command: &mut Command) -> Result {
    println!("{}", describe(command));
    let status = command
        .status()
        .map_err(|e| format!("cannot run `{}`: {e}", describe(command)))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{}` failed ({status})", describe(command)))
    }
}

/// Run `command` and return its standard output; fail unless it exits 0.
pub fn output(command: &mut Command) -> Result<String> {
    let out = command
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("cannot run `{}`: {e}", describe(command)))?;
    if !out.status.success() {
        return Err(format!(
            "`{}` failed ({}): {}",
            describe(command),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Whether `name` is an executable on `PATH`.
pub fn on_path(name: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|dir| {
            std::fs::metadata(dir.join(name))
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    })
}

/// Whether this process runs as root (effective uid 0).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().nth(1).map(|euid| euid == "0"))
            .unwrap_or(false)
    })
}

fn installed(req: &Requirement) -> bool {
    if req.command.is_some_and(on_path) {
        return true;
    }
    Command::new("dpkg")
        .args(["-s", req.package])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Install what `needs` lacks, check the toolchain, print what is used.
pub fn setup(needs: &Needs) -> Result<Toolchain> {
    run(cargo().arg("-V"))?;
    run(Command::new("rustc").arg("-V"))?;
    let toolchain = Toolchain::probe()?;

    let mut debian = needs.debian_toolchain;
    for target in &needs.targets {
        if toolchain.uses_rustup(target) {
            println!("{target}: rustup's target");
        } else {
            println!(
                "{target}: not installed with rustup (`rustup target add {target}` would \
                 install it): Debian's rustc-web with -Z build-std=core"
            );
            debian = true;
        }
    }

    let mut wanted: Vec<&Requirement> = Vec::new();
    if needs.qemu {
        wanted.push(&QEMU);
    }
    if needs.test_tools {
        wanted.extend(&TEST_TOOLS);
    }
    if debian {
        wanted.extend(&DEBIAN_TOOLCHAIN);
    }
    if needs.ci_tools {
        wanted.extend(&CI_TOOLS);
    }
    let missing: Vec<&Requirement> = wanted.iter().copied().filter(|r| !installed(r)).collect();
    let root = is_root();
    if missing.is_empty() {
        let names: Vec<&str> = wanted.iter().map(|r| r.package).collect();
        println!("Debian packages present: {}", names.join(" "));
    } else {
        for req in &missing {
            println!("missing: {} ({})", req.package, req.why);
        }
        let names: Vec<&str> = missing.iter().map(|r| r.package).collect();
        if !root {
            return Err(format!(
                "missing Debian packages; install them as root, then run this again:\n\n    \
                 sudo apt-get install -y --no-install-recommends {}\n",
                names.join(" ")
            ));
        }
        apt_install(&names)?;
        if let Some(req) = missing.iter().find(|r| !installed(r)) {
            return Err(format!(
                "{} is still missing after apt-get install",
                req.package
            ));
        }
    }
    if needs.test_tools && !root {
        return Err("the network-namespace tests (tests/tests/linklocal.rs, \
             degu-embassy/tests/host_stack.rs) need root (CAP_SYS_ADMIN, CAP_NET_ADMIN): \
             run cargo xtask test as root"
            .into());
    }

    if debian {
        check_debian_rustc()?;
    }
    if !needs.targets.is_empty() || debian {
        let lld = toolchain.lld_dir.join("rust-lld");
        if !lld.is_file() {
            return Err(format!(
                "no rust-lld at {} (rustup's toolchain)",
                lld.display()
            ));
        }
        println!("linker: {}", lld.display());
    }
    Ok(toolchain)
}

/// Debian's rustc is there, new enough, and has its library source.
fn check_debian_rustc() -> Result {
    let version = output(Command::new(DEBIAN_RUSTC).arg("-V"))?;
    let version = version.trim();
    println!("Debian's rustc: {DEBIAN_RUSTC}: {version}");
    let minor: u32 = version
        .strip_prefix("rustc 1.")
        .and_then(|rest| rest.split('.').next())
        .and_then(|minor| minor.parse().ok())
        .ok_or_else(|| format!("cannot read the version of {DEBIAN_RUSTC}: {version}"))?;
    if minor < DEBIAN_RUSTC_MIN {
        return Err(format!(
            "{DEBIAN_RUSTC} is 1.{minor}, older than 1.{DEBIAN_RUSTC_MIN}: install rustc-web \
             from bookworm-security, or `rustup target add {}`",
            FIRMWARE_TARGETS.join(" ")
        ));
    }
    let sysroot = output(Command::new(DEBIAN_RUSTC).args(["--print", "sysroot"]))?;
    let core = Path::new(sysroot.trim()).join("lib/rustlib/src/rust/library/core");
    if !core.is_dir() {
        return Err(format!(
            "no library source at {}: install rust-web-src",
            core.display()
        ));
    }
    Ok(())
}

/// Whether an apt or dpkg process is running (never true without pgrep).
fn apt_busy() -> bool {
    ["apt", "apt-get", "dpkg"].iter().any(|name| {
        Command::new("pgrep")
            .args(["-x", name])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// `apt-get update` and `apt-get install` `packages`, as root, after any apt that is
/// already running (an image's first boot, another build) has finished.
fn apt_install(packages: &[&str]) -> Result {
    let started = Instant::now();
    let mut said = false;
    while apt_busy() {
        if started.elapsed() > APT_WAIT {
            return Err(format!("apt/dpkg still running after {APT_WAIT:?}"));
        }
        if !said {
            println!("waiting for a running apt/dpkg to finish");
            said = true;
        }
        std::thread::sleep(Duration::from_secs(5));
    }
    let lock = "DPkg::Lock::Timeout=600";
    run(Command::new("apt-get").args(["-o", lock, "update", "-qq"]))?;
    run(Command::new("apt-get")
        .env("DEBIAN_FRONTEND", "noninteractive")
        .args([
            "-o",
            lock,
            "install",
            "-y",
            "-qq",
            "--no-install-recommends",
        ])
        .args(packages))?;
    println!("installed in {:.1}s", started.elapsed().as_secs_f64());
    Ok(())
}

/// cargo-fuzz for `.ci/run`'s fuzz stage, installed when missing.
pub fn cargo_fuzz() -> Result {
    if !on_path("cargo-fuzz") {
        let started = Instant::now();
        run(cargo().args(["install", "cargo-fuzz", "--locked"]))?;
        println!(
            "cargo-fuzz installed in {:.1}s",
            started.elapsed().as_secs_f64()
        );
    }
    run(cargo().args(["fuzz", "--version"]))
}
