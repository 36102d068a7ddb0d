//! Link set-up: memory.x where cortex-m-rt's link.x finds it, embassy-rp's script (it
//! puts the second-stage bootloader in BOOT2) and defmt's.
//!
//! `-Tlink.x` itself comes from firmware/.cargo/config.toml (every firmware in this
//! workspace needs it); naming it twice would define the memory regions twice.

fn main() {
    // link.x includes memory.x from the linker's search path: this folder.
    println!("cargo:rustc-link-search={}", env!("CARGO_MANIFEST_DIR"));
    println!("cargo:rerun-if-changed=memory.x");
    // --nmagic: sections aligned in the file as in memory (what probe-rs flashes from).
    for arg in ["--nmagic", "-Tlink-rp.x", "-Tdefmt.x"] {
        println!("cargo:rustc-link-arg-bins={arg}");
    }
    // The network to join is compiled in: rebuild when it changes.
    println!("cargo:rerun-if-env-changed=WIFI_SSID");
    println!("cargo:rerun-if-env-changed=WIFI_PASSWORD");
}
