//! The demo firmware with the TLS client (`--features tls`): like `qemu-device`, and the
//! gateway client can also speak mutual TLS 1.3 (see the library, `qemu_device`).
#![no_std]
#![no_main]

use panic_semihosting as _;

#[embassy_executor::main]
async fn main(spawner: embassy_executor::Spawner) {
    qemu_device::run(spawner).await
}
