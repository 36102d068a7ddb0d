//! The demo firmware with IPv6 (`--features ipv6`): like `qemu-device`, with an IPv6
//! link-local address beside the IPv4 one, and the pair client that talks to another
//! device over both (see the library, `qemu_device`).
#![no_std]
#![no_main]

use panic_semihosting as _;

#[embassy_executor::main]
async fn main(spawner: embassy_executor::Spawner) {
    qemu_device::run(spawner).await
}
