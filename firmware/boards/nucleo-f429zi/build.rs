//! Link set-up: memory.x where cortex-m-rt's link.x finds it, and defmt's linker script.
//!
//! `-Tlink.x` itself comes from firmware/.cargo/config.toml (every firmware in this
//! workspace needs it); naming it twice would define the memory regions twice.

use std::path::PathBuf;

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("memory.x"), include_bytes!("memory.x")).expect("write memory.x");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory.x");
    // Sections aligned in the file as in memory (what probe-rs flashes from).
    println!("cargo:rustc-link-arg-bins=--nmagic");
    println!("cargo:rustc-link-arg-bins=-Tdefmt.x");
}
