//! # qemu-mps2
//!
//! The two drivers firmware needs to run embassy on QEMU's Arm MPS2 boards
//! (`-machine mps2-an385`, Cortex-M3, and `-machine mps2-an386`, Cortex-M4):
//!
//! * [`lan9118`]: the board's SMSC LAN9118 Ethernet controller as an
//!   [`embassy_net_driver::Driver`], polled through its PIO FIFOs. QEMU connects it to
//!   `-nic user,model=lan9118` (slirp: the device is 10.0.2.15, the host 10.0.2.2).
//! * [`time`]: a 1 kHz time driver for `embassy-time` (enable its `tick-hz-1_000`
//!   feature): time from the board's FPGAIO counter, wake-ups from SysTick. Each tick
//!   also wakes the NIC, so a received frame waits at most 1 ms.
//!
//! The drivers follow QEMU's model (`hw/net/lan9118.c`, `hw/arm/mps2.c`), not every detail
//! of the real parts: real MPS2 boards carry a LAN9220 that also needs PHY set-up and link
//! handling.
#![no_std]
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod lan9118;
pub mod time;

/// The system clock of the MPS2 FPGA images that QEMU models (AN385, AN386): 25 MHz.
pub const SYSCLK_HZ: u32 = 25_000_000;
