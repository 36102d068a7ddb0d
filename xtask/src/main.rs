//! `cargo xtask`: the project's own commands, in Rust and without dependencies (the
//! cargo xtask pattern: this crate and the alias in `.cargo/config.toml`).
//!
//! * `cargo xtask test`: everything a fresh machine needs (Debian packages, the Cortex-M
//!   toolchain), the QEMU firmware, then the whole workspace's tests with the device
//!   tests **required**: they are `#[ignore]`d in a plain `cargo test` and run here with
//!   `--ignored` (after the others), where a missing prerequisite fails them.
//! * `cargo xtask qemu`: the demo firmware on an emulated Cortex-M4, its port 80 on
//!   `127.0.0.1:8081`, until Ctrl-C; with `--attach HOST:PORT ...` instead a device
//!   behind NAT (no host forward) that attaches to a gateway on this host.
//! * `cargo xtask qemu-pair`: device to device, two emulated boards on one virtual LAN
//!   (IPv4 and IPv6 link-local), one serving the demo app, the other its client.
//! * `cargo xtask setup`, `firmware`, `cross-env`: the steps on their own, for `.ci/run`.
//! * `cargo xtask cycles`: the layer check `.ci/run` makes (no import cycle between
//!   degu-core's top-level modules).
//!
//! Every step prints how long it took; a summary follows at the end, also on failure.

mod firmware;
mod layers;
mod pair;
mod setup;
mod steps;
mod suite;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use setup::{Needs, Toolchain};
use steps::Steps;

/// What a step returns: its value, or why it failed (printed once, at the end).
pub type Result<T = ()> = std::result::Result<T, String>;

const HELP: &str = "\
usage: cargo xtask COMMAND

commands:
  test                  set up this machine, build the QEMU firmware, run every test of the
                        workspace with the device tests required
                        e.g. cargo xtask test
  qemu [--port PORT]    boot the demo firmware in QEMU (mps2-an386, Cortex-M4) with
                        127.0.0.1:PORT (default 8081) forwarded to the device's port 80;
                        runs until Ctrl-C
                        e.g. cargo xtask qemu --port 8081
  qemu --attach HOST:PORT --ca FILE --cert FILE --key FILE --server-name NAME
                        boot it as a device behind NAT: no host forward (nothing can dial
                        it); it dials the gateway's attach address HOST:PORT on this host
                        (10.0.2.2 inside QEMU) over mutual TLS with --cert/--key (PEM,
                        P-256; its name is the certificate's common name), verifies the
                        gateway against --ca and NAME, and serves the demo app over the
                        link; runs until Ctrl-C
                        e.g. cargo xtask qemu --attach 127.0.0.1:9443 --ca ca.pem --cert lamp.pem --key lamp.key --server-name gateway
  qemu-pair [--a BOARD] [--b BOARD]
                        device to device: two boards (an386 = mps2-an386 Cortex-M4,
                        an385 = mps2-an385 Cortex-M3; default --a an386 --b an385) joined
                        by QEMU's socket network, no host network between them; A serves
                        the demo app, B runs GET, HEAD, a chunked 64 KiB echo, /chunks
                        and a 404 against it over IPv4, then over IPv6 link-local. Both
                        boards' output with A | and B | in front; exits with B's status
                        e.g. cargo xtask qemu-pair --a an385 --b an386
  setup [--ci]          install what this machine lacks (Debian packages as root, else it
                        prints the apt-get command) and check the Cortex-M toolchain;
                        --ci also what only .ci/run needs (Debian's rustc for the
                        build-std proofs, binutils, cargo-fuzz)
                        e.g. cargo xtask setup --ci
  firmware              build the QEMU firmware the tests run (both boards, plain and TLS)
                        e.g. cargo xtask firmware
  cross-env TARGET      print, one per line, the VAR=VALUE settings under which cargo
                        builds for TARGET (a thumb target), for `env`
                        e.g. env $(cargo xtask cross-env thumbv6m-none-eabi) cargo build
  cross-env --build-std the same for Debian's rustc with -Z build-std=core
                        e.g. cargo xtask cross-env --build-std
  cycles                fail if degu-core's top-level modules import each other in a
                        cycle (layers point down only); prints the module graph
                        e.g. cargo xtask cycles
  help                  this text

The Cortex-M toolchain: a thumb target installed with rustup (`rustup target add
thumbv7em-none-eabihf thumbv6m-none-eabi`) when there is one; otherwise Debian's rustc-web
(RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1, core built from rust-web-src).";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|c| c == "qemu-pair") {
        // Its exit status is the client board's.
        return pair::command(&args[1..]);
    }
    let result = match args.first().map(String::as_str) {
        Some("test") => no_more(&args[1..]).and_then(|()| test()),
        Some("qemu") => qemu_args(&args[1..]).and_then(qemu),
        Some("setup") => match &args[1..] {
            [] => setup_only(false),
            [ci] if ci == "--ci" => setup_only(true),
            _ => Err(format!("setup takes only --ci, not {:?}", &args[1..])),
        },
        Some("firmware") => no_more(&args[1..]).and_then(|()| firmware_only()),
        Some("cross-env") => cross_env(&args[1..]),
        Some("cycles") => {
            no_more(&args[1..]).and_then(|()| layers::check(&root().join("degu-core/src")))
        }
        Some("help" | "--help" | "-h") => {
            println!("{HELP}");
            Ok(())
        }
        Some(other) => Err(format!("unknown command {other:?}\n\n{HELP}")),
        None => Err(format!("no command\n\n{HELP}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(why) => {
            eprintln!("\nxtask: error: {why}");
            ExitCode::FAILURE
        }
    }
}

fn no_more(args: &[String]) -> Result {
    match args {
        [] => Ok(()),
        _ => Err(format!(
            "unexpected arguments {args:?} (see cargo xtask help)"
        )),
    }
}

/// The workspace's root: the folder above this crate.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask/ has a parent")
        .to_path_buf()
}

/// `cargo xtask test`.
fn test() -> Result {
    let mut steps = Steps::new("cargo xtask test");
    let toolchain = steps.run("setup", || setup::setup(&Needs::tests()))?;
    steps.run("firmware", || firmware::build_for_tests(&toolchain))?;
    let plain = steps.run("tests (as cargo test runs them)", suite::workspace_tests)?;
    let ignored = steps.run("the #[ignore]d tests: QEMU device, namespaces", || {
        suite::ignored_tests(plain.ignored)
    })?;
    let orders = [
        (&firmware::AN386, &firmware::AN385),
        (&firmware::AN385, &firmware::AN386),
    ];
    for (a, b) in orders {
        let name = format!("device to device: qemu-pair --a {} --b {}", a.name, b.name);
        steps.run(&name, || pair::test(&toolchain, a, b))?;
    }
    let doc = steps.run("doctests", suite::doctests)?;
    steps.finish();
    // The plain closing line: what ran, over every test binary and the doctests; what
    // is still ignored is the doc examples marked `ignore`.
    println!(
        "xtask: {} passed, {} failed, {} ignored",
        plain.passed + ignored.passed + doc.passed,
        plain.failed + ignored.failed + doc.failed,
        doc.ignored
    );
    println!(
        "xtask: device to device (cargo xtask qemu-pair): {} board orders passed",
        orders.len()
    );
    Ok(())
}

/// What `cargo xtask qemu` boots.
enum QemuRun {
    /// The demo server, 127.0.0.1:PORT forwarded to its port 80.
    Serve(u16),
    /// A device behind NAT attaching to a gateway on this host.
    Attach(firmware::Attach),
}

fn qemu_args(args: &[String]) -> Result<QemuRun> {
    if args.is_empty() {
        return Ok(QemuRun::Serve(firmware::QEMU_PORT));
    }
    if let [flag, port] = args
        && flag == "--port"
    {
        return port
            .parse()
            .map(QemuRun::Serve)
            .map_err(|e| format!("--port {port:?}: {e}"));
    }
    let mut attach = firmware::Attach::default();
    let mut rest = args.iter();
    while let Some(flag) = rest.next() {
        let value = rest
            .next()
            .ok_or_else(|| format!("{flag} needs a value"))?
            .clone();
        match flag.as_str() {
            "--attach" => attach.gateway = value,
            "--ca" => attach.ca = value.into(),
            "--cert" => attach.cert = value.into(),
            "--key" => attach.key = value.into(),
            "--server-name" => attach.server_name = value,
            _ => {
                return Err(format!(
                    "qemu takes --port PORT, or --attach HOST:PORT --ca FILE --cert FILE \
                     --key FILE --server-name NAME; not {flag:?}"
                ));
            }
        }
    }
    let missing = [
        ("--attach", attach.gateway.is_empty()),
        ("--ca", attach.ca.as_os_str().is_empty()),
        ("--cert", attach.cert.as_os_str().is_empty()),
        ("--key", attach.key.as_os_str().is_empty()),
        ("--server-name", attach.server_name.is_empty()),
    ];
    if let Some((flag, _)) = missing.iter().find(|(_, m)| *m) {
        return Err(format!("qemu --attach needs {flag}"));
    }
    Ok(QemuRun::Attach(attach))
}

/// `cargo xtask qemu`.
fn qemu(run: QemuRun) -> Result {
    let mut steps = Steps::new("cargo xtask qemu");
    let board = &firmware::AN386;
    let (needs, build) = match run {
        QemuRun::Serve(_) => (Needs::qemu(board.target), firmware::Build::Plain),
        QemuRun::Attach(_) => (Needs::qemu_attach(board.target), firmware::Build::Tls),
    };
    let toolchain = steps.run("setup", || setup::setup(&needs))?;
    let elf = steps.run("firmware", || {
        firmware::build(&toolchain, board.target, build)
    })?;
    steps.finish();
    match run {
        QemuRun::Serve(port) => firmware::boot_demo(board, &elf, port),
        QemuRun::Attach(attach) => firmware::boot_attached(board, &elf, &attach),
    }
}

/// `cargo xtask setup [--ci]`.
fn setup_only(ci: bool) -> Result {
    let mut steps = Steps::new("cargo xtask setup");
    let needs = if ci { Needs::ci() } else { Needs::tests() };
    steps.run("setup", || setup::setup(&needs).map(drop))?;
    if ci {
        steps.run("cargo-fuzz", setup::cargo_fuzz)?;
    }
    steps.finish();
    Ok(())
}

/// `cargo xtask firmware`.
fn firmware_only() -> Result {
    let mut steps = Steps::new("cargo xtask firmware");
    let toolchain = steps.run("setup", || setup::setup(&Needs::firmware()))?;
    steps.run("firmware", || firmware::build_for_tests(&toolchain))?;
    steps.finish();
    Ok(())
}

/// `cargo xtask cross-env (TARGET | --build-std)`: prints, installs nothing.
fn cross_env(args: &[String]) -> Result {
    let toolchain = Toolchain::probe()?;
    let vars = match args {
        [flag] if flag == "--build-std" => toolchain.debian_env(),
        [target] if !target.starts_with('-') => toolchain.cross_env(target),
        _ => {
            return Err(format!(
                "cross-env takes TARGET or --build-std, not {args:?}"
            ));
        }
    };
    for (name, value) in vars {
        println!("{name}={}", value.to_string_lossy());
    }
    Ok(())
}
