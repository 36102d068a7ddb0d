//! What the comparison firmwares share: board start-up, the network stack (static
//! 10.0.2.15/24, as `qemu-device`), and the buffer sizes of the one worker.
//!
//! Each binary serves `GET /hello` → `hello, world` on port 80 with **one** worker
//! (run in the main task: picoserve's router type cannot be named in a `static` task
//! signature without nightly's `impl_trait_in_assoc_type`, so neither gets a task of
//! its own), prints the size of that worker's future at boot, and serves until killed.
#![no_std]

use cortex_m_semihosting::{debug, hprintln};
use embassy_executor::Spawner;
use embassy_net::{Ipv4Address, Ipv4Cidr, Runner, Stack, StackResources, StaticConfigV4};
use qemu_mps2::lan9118::Lan9118;
use static_cell::StaticCell;

/// The HTTP port.
pub const PORT: u16 = 80;
/// Each socket buffer (receive, send) of the worker.
pub const SOCKET_BUFFER: usize = 1024;
/// HTTP buffer bytes of the worker: picoserve's one `http_buffer`; Degu's read + write
/// buffers (`Buffers<1024, 1024>`).
pub const HTTP_BUFFER: usize = 2048;

/// Start the clock and the network; the stack once it is up.
pub async fn start(spawner: Spawner) -> Stack<'static> {
    let Some(peripherals) = cortex_m::Peripherals::take() else {
        fail("core peripherals taken twice");
    };
    qemu_mps2::time::start(peripherals.SYST);
    let Ok(nic) = Lan9118::take() else {
        fail("no network");
    };
    let seed = 0x6465_6775_0000_0000 | u64::from(nic.free_run());
    let config = embassy_net::Config::ipv4_static(StaticConfigV4 {
        address: Ipv4Cidr::new(Ipv4Address::new(10, 0, 2, 15), 24),
        gateway: Some(Ipv4Address::new(10, 0, 2, 2)),
        dns_servers: Default::default(),
    });
    static RESOURCES: StaticCell<StackResources<2>> = StaticCell::new();
    let (stack, runner) =
        embassy_net::new(nic, config, RESOURCES.init(StackResources::new()), seed);
    match net_task(runner) {
        Ok(token) => spawner.spawn(token),
        Err(_) => fail("task pool exhausted"),
    }
    stack.wait_config_up().await;
    hprintln!("net up");
    stack
}

#[embassy_executor::task]
async fn net_task(mut runner: Runner<'static, Lan9118>) -> ! {
    runner.run().await
}

/// Print the worker's RAM: socket buffers, HTTP buffers, and its future; then exit if
/// QEMU loaded a footprint blob (as `qemu-device`'s: magic `DEGUCFG1`, mode 2 at
/// offset 12, at 0x203f_0000, which memory.x keeps out of the program's RAM).
pub fn footprint(server: &str, future: usize) {
    let sockets = 2 * SOCKET_BUFFER;
    hprintln!(
        "footprint {} socket={} http_buffers={} future={} per_connection={}",
        server,
        sockets,
        HTTP_BUFFER,
        future,
        sockets + HTTP_BUFFER + future
    );
    // SAFETY: 0x203f_0000.. is board RAM outside the program's (memory.x); only QEMU's
    // loader writes it, before reset.
    let blob: &[u8] = unsafe { core::slice::from_raw_parts(0x203f_0000 as *const u8, 13) };
    if blob.get(..8) == Some(b"DEGUCFG1") && blob.get(12) == Some(&2) {
        debug::exit(debug::EXIT_SUCCESS);
    }
}

/// Print `fatal: why` and exit QEMU with code 1.
pub fn fail(why: &str) -> ! {
    hprintln!("fatal: {}", why);
    debug::exit(debug::EXIT_FAILURE);
    #[allow(clippy::empty_loop)]
    loop {}
}
