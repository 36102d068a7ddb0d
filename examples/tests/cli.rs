//! The host programs explain themselves: `--version` prints the name and the crate's
//! version, and `--help` describes every option it mentions with a one-line example of
//! that option (a line `e.g. <program> ...` right after the description).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::process::{Command, Output};

const PROGRAMS: [(&str, &str); 3] = [
    ("demo-server", env!("CARGO_BIN_EXE_demo-server")),
    ("degu", env!("CARGO_BIN_EXE_degu")),
    ("gateway", env!("CARGO_BIN_EXE_gateway")),
];

fn run(exe: &str, args: &[&str]) -> Output {
    Command::new(exe)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run {exe}: {e}"))
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("UTF-8 output")
}

#[test]
fn version_prints_name_and_crate_version() {
    for (name, exe) in PROGRAMS {
        for flag in ["--version", "-V"] {
            let out = run(exe, &[flag]);
            assert!(out.status.success(), "{name} {flag}: {:?}", out.status);
            assert_eq!(
                stdout(&out),
                format!("{name} {}\n", env!("CARGO_PKG_VERSION")),
                "{name} {flag}"
            );
        }
    }
}

/// Every `--long` option named anywhere in `text`.
fn long_options(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (i, _) in text.match_indices("--") {
        let name: String = text[i + 2..]
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '-')
            .collect();
        if !name.is_empty() {
            found.insert(name);
        }
    }
    found
}

#[test]
fn help_describes_every_option_with_an_example() {
    for (name, exe) in PROGRAMS {
        let out = run(exe, &["--help"]);
        assert!(out.status.success(), "{name} --help: {:?}", out.status);
        let help = stdout(&out);
        assert!(
            help.starts_with(&format!("{name} {}: ", env!("CARGO_PKG_VERSION"))),
            "{name} --help starts with its name and version:\n{help}"
        );
        let lines: Vec<&str> = help.lines().collect();
        // An option's entry: a line "  -x, --name ARG   what it does" or "  --name ...",
        // its description continued on indented lines, then "e.g. <program> ...".
        let mut described = BTreeSet::new();
        for (i, line) in lines.iter().enumerate() {
            let Some(entry) = line.strip_prefix("  -") else {
                continue;
            };
            // "-name ..." (from "  --name") or "x, --name ..." (from "  -x, --name").
            let long = entry
                .strip_prefix('-')
                .or_else(|| entry.get(1..).and_then(|e| e.strip_prefix(", --")))
                .unwrap_or_else(|| panic!("{name}: option line without a --long name: {line}"));
            let option: String = long
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '-')
                .collect();
            let example = lines[i + 1..]
                .iter()
                .take_while(|l| l.starts_with("                           "))
                .map(|l| l.trim())
                .find(|l| l.starts_with("e.g. "))
                .unwrap_or_else(|| panic!("{name}: --{option} has no `e.g.` line"));
            assert!(
                example.starts_with(&format!("e.g. {name} ")),
                "{name}: the example of --{option} does not run {name}: {example}"
            );
            let used = long_options(example);
            let short = entry
                .chars()
                .next()
                .filter(|_| entry.as_bytes().get(1) == Some(&b','));
            assert!(
                used.contains(&option)
                    || short.is_some_and(|c| example.contains(&format!(" -{c} "))),
                "{name}: the example of --{option} does not use it: {example}"
            );
            described.insert(option);
        }
        let mentioned = long_options(&help);
        let undescribed: Vec<_> = mentioned.difference(&described).collect();
        assert!(
            undescribed.is_empty(),
            "{name} --help mentions options it does not describe: {undescribed:?}\n{help}"
        );
        assert!(described.contains("help") && described.contains("version"));
    }
}

#[test]
fn a_bad_option_prints_the_usage_and_exits_2() {
    for (name, exe) in PROGRAMS {
        let out = run(exe, &["--no-such-option"]);
        assert_eq!(out.status.code(), Some(2), "{name}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("usage: {name} ")),
            "{name}: stderr is\n{stderr}"
        );
    }
}
