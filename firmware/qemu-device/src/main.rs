//! The demo firmware, plain build: serves `DemoApp`, or runs the plain gateway client,
//! as the configuration blob says (see the library, `qemu_device`).
#![no_std]
#![no_main]

use panic_semihosting as _;

#[embassy_executor::main]
async fn main(spawner: embassy_executor::Spawner) {
    qemu_device::run(spawner).await
}
