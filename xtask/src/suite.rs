//! The workspace's tests, with the device tests included, and what they counted.

use crate::Result;
use crate::setup::{cargo, describe};
use std::io::{BufRead, BufReader};
use std::ops::Add;
use std::process::{Command, Stdio};

/// What libtest's `test result:` lines counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Tests that ran and passed.
    pub passed: u64,
    /// Tests that ran and failed.
    pub failed: u64,
    /// Tests left out as `#[ignore]`d (or doc examples marked `ignore`).
    pub ignored: u64,
}

impl Add for Counts {
    type Output = Counts;

    fn add(self, other: Counts) -> Counts {
        Counts {
            passed: self.passed + other.passed,
            failed: self.failed + other.failed,
            ignored: self.ignored + other.ignored,
        }
    }
}

impl Counts {
    /// The counts of one `test result: ok. 3 passed; 0 failed; 1 ignored; ...` line.
    fn parse(line: &str) -> Option<Counts> {
        let rest = line.strip_prefix("test result: ")?;
        let (_, fields) = rest.split_once(". ")?;
        let mut counts = Counts::default();
        for field in fields.split("; ") {
            let Some((n, what)) = field.split_once(' ') else {
                continue;
            };
            let Ok(n) = n.parse() else { continue };
            match what {
                "passed" => counts.passed = n,
                "failed" => counts.failed = n,
                "ignored" => counts.ignored = n,
                _ => {}
            }
        }
        Some(counts)
    }
}

/// The test targets: every library's and binary's unit tests and every integration test
/// (the doctests run apart).
const TARGETS: [&str; 3] = ["--lib", "--bins", "--tests"];

/// Every test binary of the workspace, as a plain `cargo test` runs them: the tests that
/// need the QEMU firmware or root are left out (`#[ignore]`d) and counted as ignored.
pub fn workspace_tests() -> Result<Counts> {
    counted(
        cargo()
            .args(["test", "--workspace", "--no-fail-fast"])
            .args(TARGETS),
    )
}

/// Only the `#[ignore]`d tests (device tests in QEMU, network namespaces), with their
/// own output (boot and run times): here a missing prerequisite fails them. All of them
/// must pass: `left_out` is how many the plain run left out.
pub fn ignored_tests(left_out: u64) -> Result<Counts> {
    let counts = counted(
        cargo()
            .args(["test", "--workspace", "--no-fail-fast"])
            .args(TARGETS)
            .args(["--", "--ignored", "--nocapture"]),
    )?;
    if counts.passed != left_out {
        return Err(format!(
            "{} ignored tests passed, but the plain run left out {left_out}",
            counts.passed
        ));
    }
    Ok(counts)
}

/// The doctests, as `cargo test` runs them (`--ignored` would try to compile the doc
/// examples marked `ignore`, which are fragments).
pub fn doctests() -> Result<Counts> {
    counted(cargo().args(["test", "--workspace", "--doc", "--no-fail-fast"]))
}

/// Run `command` (a `cargo test`), passing its output through, and add up its
/// `test result:` lines.
fn counted(command: &mut Command) -> Result<Counts> {
    println!("{}", describe(command));
    let mut child = command
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run `{}`: {e}", describe(command)))?;
    let mut counts = Counts::default();
    let stdout = child.stdout.take().expect("piped stdout");
    for line in BufReader::new(stdout).lines() {
        let line = line.map_err(|e| format!("reading the tests' output: {e}"))?;
        println!("{line}");
        if let Some(c) = Counts::parse(&line) {
            counts = counts + c;
        }
    }
    let status = child
        .wait()
        .map_err(|e| format!("wait for `{}`: {e}", describe(command)))?;
    println!(
        "counted: {} passed, {} failed, {} ignored",
        counts.passed, counts.failed, counts.ignored
    );
    if !status.success() {
        return Err(format!("`{}` failed ({status})", describe(command)));
    }
    if counts.passed == 0 {
        return Err(format!("`{}` ran no test", describe(command)));
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::Counts;

    #[test]
    fn reads_libtest_summary_lines() {
        assert_eq!(
            Counts::parse(
                "test result: ok. 12 passed; 1 failed; 3 ignored; 0 measured; 2 filtered out; \
                 finished in 0.51s"
            ),
            Some(Counts {
                passed: 12,
                failed: 1,
                ignored: 3
            })
        );
        assert_eq!(
            Counts::parse("test result: FAILED. 0 passed; 2 failed; 0 ignored; 0 measured"),
            Some(Counts {
                passed: 0,
                failed: 2,
                ignored: 0
            })
        );
        assert_eq!(Counts::parse("test foo ... ok"), None);
        assert_eq!(Counts::parse("running 3 tests"), None);
    }
}
