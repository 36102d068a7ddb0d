//! SMSC LAN9118 Ethernet on QEMU's MPS2 boards, as an `embassy-net` driver.
//!
//! The controller sits at [`BASE`] (0x4020_0000 on mps2-an385/an386/an500). Frames move
//! through 32-bit PIO FIFOs, polled: the driver checks the RX status FIFO whenever
//! `embassy-net` asks for a frame, and the SysTick time driver wakes it every millisecond
//! (the IRQ line, 13 on AN385 and 47 on AN386, is left unused).
//!
//! Register offsets and bits are those of the LAN9118 data sheet (SMSC, rev. 1.5, §5.3
//! "System Control and Status Registers" and §5.4 "MAC Control and Status Registers") as
//! QEMU's `hw/net/lan9118.c` implements them.

use core::cell::Cell;
use core::task::Context;
use critical_section::Mutex;
use embassy_net_driver::{Capabilities, Driver, HardwareAddress, LinkState, RxToken, TxToken};
use embassy_sync::waitqueue::AtomicWaker;

/// Base address of the LAN9118 register block.
pub const BASE: usize = 0x4020_0000;

/// Largest Ethernet frame without its CRC: 14-byte header + 1500-byte payload.
pub const MTU: usize = 1514;

/// System control and status registers: byte offsets from [`BASE`].
mod reg {
    /// RX data FIFO port (0x00..0x1c alias it): reads pop one 32-bit data word.
    pub const RX_DATA_FIFO: usize = 0x00;
    /// TX data FIFO port (0x20..0x3c alias it): writes push command words, then data.
    pub const TX_DATA_FIFO: usize = 0x20;
    /// RX status FIFO port: reads pop one status word (one per received frame).
    pub const RX_STATUS_FIFO: usize = 0x40;
    /// Reads 0x8765_4321 on a correctly wired, 32-bit little-endian bus.
    pub const BYTE_TEST: usize = 0x64;
    /// TX configuration.
    pub const TX_CFG: usize = 0x70;
    /// Hardware configuration (soft reset).
    pub const HW_CFG: usize = 0x74;
    /// RX FIFO information: bits 23:16 RXSUSED, status words waiting.
    pub const RX_FIFO_INF: usize = 0x7c;
    /// TX FIFO information: bits 15:0 TXDFREE, free bytes in the TX data FIFO.
    pub const TX_FIFO_INF: usize = 0x80;
    /// Power management: bit 0 READY once the device is out of reset.
    pub const PMT_CTRL: usize = 0x84;
    /// Free-running 25 MHz counter.
    pub const FREE_RUN: usize = 0x9c;
    /// MAC CSR command: bit 31 busy, bit 30 read (1) / write (0), bits 7:0 MAC register.
    pub const MAC_CSR_CMD: usize = 0xa4;
    /// MAC CSR data, read or written through [`MAC_CSR_CMD`].
    pub const MAC_CSR_DATA: usize = 0xa8;
}

/// MAC registers, reached through `MAC_CSR_CMD`/`MAC_CSR_DATA`.
mod mac {
    /// MAC control.
    pub const MAC_CR: u32 = 1;
    /// MAC address bytes 5:4 (bits 15:0).
    pub const ADDRH: u32 = 2;
    /// MAC address bytes 3:0.
    pub const ADDRL: u32 = 3;
}

const BYTE_TEST_VALUE: u32 = 0x8765_4321;
const HW_CFG_SRST: u32 = 1 << 0;
const PMT_CTRL_READY: u32 = 1 << 0;
/// TX_CFG: transmitter on; TX status FIFO may overrun (nobody reads it).
const TX_CFG_TX_ON: u32 = 1 << 1;
const TX_CFG_TXSAO: u32 = 1 << 2;
const MAC_CSR_BUSY: u32 = 1 << 31;
const MAC_CSR_READ: u32 = 1 << 30;
/// MAC_CR: full duplex, transmitter and receiver on. Promiscuous mode (set by reset) goes
/// off, so the MAC passes frames for its own address and broadcasts only.
const MAC_CR_FDPX: u32 = 1 << 20;
const MAC_CR_TXEN: u32 = 1 << 3;
const MAC_CR_RXEN: u32 = 1 << 2;
/// MAC_CR: pass all multicast frames (MCPAS), not only those of the hash filter.
const MAC_CR_MCPAS: u32 = 1 << 19;
/// RX status word: bits 29:16 frame length including the 4-byte CRC, bit 15 error.
const RX_STS_ERROR: u32 = 1 << 15;
/// TX command A: first and last segment of a frame, bits 10:0 the segment's length.
const TX_CMD_A_FIRST: u32 = 1 << 13;
const TX_CMD_A_LAST: u32 = 1 << 12;

/// Woken by the SysTick handler every tick: the polled stand-in for the RX interrupt.
pub(crate) static WAKER: AtomicWaker = AtomicWaker::new();

/// Whether [`Lan9118::take`] has handed the device out.
static TAKEN: Mutex<Cell<bool>> = Mutex::new(Cell::new(false));

fn read(offset: usize) -> u32 {
    // SAFETY: `offset` is one of the `reg` constants, a 32-bit register inside the LAN9118's
    // 256-byte block, which the MPS2 memory map reserves for it; volatile, aligned access.
    unsafe { core::ptr::read_volatile((BASE + offset) as *const u32) }
}

fn write(offset: usize, value: u32) {
    // SAFETY: as in `read`; writes only reach the device, never memory Rust owns.
    unsafe { core::ptr::write_volatile((BASE + offset) as *mut u32, value) }
}

fn mac_csr_wait() {
    while read(reg::MAC_CSR_CMD) & MAC_CSR_BUSY != 0 {}
}

fn mac_read(register: u32) -> u32 {
    mac_csr_wait();
    write(reg::MAC_CSR_CMD, MAC_CSR_BUSY | MAC_CSR_READ | register);
    mac_csr_wait();
    read(reg::MAC_CSR_DATA)
}

fn mac_write(register: u32, value: u32) {
    mac_csr_wait();
    write(reg::MAC_CSR_DATA, value);
    write(reg::MAC_CSR_CMD, MAC_CSR_BUSY | register);
    mac_csr_wait();
}

/// The LAN9118, reset and running, with one frame buffer each way.
pub struct Lan9118 {
    mac: [u8; 6],
    rx: [u8; MTU + 4],
    tx: [u8; MTU],
}

/// Why [`Lan9118::take`] failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InitError {
    /// The device was taken before.
    Taken,
    /// BYTE_TEST read something else than 0x8765_4321: no LAN9118 at [`BASE`] (is QEMU
    /// started with `-nic user,model=lan9118` on an mps2 machine?).
    NotFound(u32),
}

impl Lan9118 {
    /// Reset the controller and start its MAC; once per program.
    ///
    /// The MAC address is the one QEMU gives the NIC (`-nic ...,mac=`; default
    /// 52:54:00:12:34:56), read back from the MAC address registers.
    pub fn take() -> Result<Self, InitError> {
        if critical_section::with(|cs| TAKEN.borrow(cs).replace(true)) {
            return Err(InitError::Taken);
        }
        let test = read(reg::BYTE_TEST);
        if test != BYTE_TEST_VALUE {
            return Err(InitError::NotFound(test));
        }
        write(reg::HW_CFG, HW_CFG_SRST);
        while read(reg::HW_CFG) & HW_CFG_SRST != 0 {}
        while read(reg::PMT_CTRL) & PMT_CTRL_READY == 0 {}

        let [l0, l1, l2, l3] = mac_read(mac::ADDRL).to_le_bytes();
        let [h0, h1, _, _] = mac_read(mac::ADDRH).to_le_bytes();
        write(reg::TX_CFG, TX_CFG_TX_ON | TX_CFG_TXSAO);
        mac_write(mac::MAC_CR, MAC_CR_FDPX | MAC_CR_TXEN | MAC_CR_RXEN);
        Ok(Lan9118 {
            mac: [l0, l1, l2, l3, h0, h1],
            rx: [0; MTU + 4],
            tx: [0; MTU],
        })
    }

    /// Receive every multicast frame, too. IPv6 needs it: neighbour discovery asks
    /// for an address at its solicited-node multicast group (Ethernet `33:33:ff:..`),
    /// which the exact-address filter drops, and the network stack ignores the groups
    /// it has not joined. An IPv4-only stack can leave it off (ARP is broadcast).
    pub fn receive_all_multicast(&mut self) {
        mac_write(mac::MAC_CR, mac_read(mac::MAC_CR) | MAC_CR_MCPAS);
    }

    /// The MAC address.
    pub fn mac_address(&self) -> [u8; 6] {
        self.mac
    }

    /// The device's free-running 25 MHz counter: in QEMU, virtual time since reset, a
    /// cheap seed for the network stack's random numbers.
    pub fn free_run(&self) -> u32 {
        read(reg::FREE_RUN)
    }

    /// Pop the next received frame into `self.rx`; its length without the CRC.
    fn pop_frame(&mut self) -> Option<usize> {
        loop {
            if (read(reg::RX_FIFO_INF) >> 16) & 0xff == 0 {
                return None;
            }
            let status = read(reg::RX_STATUS_FIFO);
            let len = ((status >> 16) & 0x3fff) as usize;
            // The data FIFO holds the frame and its CRC, padded to whole words; all of it
            // must be popped even when the frame is dropped.
            let words = len.div_ceil(4);
            let keep = status & RX_STS_ERROR == 0 && (14 + 4..=self.rx.len()).contains(&len);
            for i in 0..words {
                let word = read(reg::RX_DATA_FIFO).to_le_bytes();
                if let Some(dst) = self.rx.get_mut(i * 4..i * 4 + 4) {
                    dst.copy_from_slice(&word);
                }
            }
            if keep {
                return Some(len - 4);
            }
        }
    }
}

impl Driver for Lan9118 {
    type RxToken<'a> = Rx<'a>;
    type TxToken<'a> = Tx<'a>;

    fn receive(&mut self, cx: &mut Context) -> Option<(Rx<'_>, Tx<'_>)> {
        // Register first, so a frame arriving right after the check still gets a wake.
        WAKER.register(cx.waker());
        let len = self.pop_frame()?;
        let frame = self.rx.get_mut(..len)?;
        Some((Rx { frame }, Tx { buf: &mut self.tx }))
    }

    fn transmit(&mut self, cx: &mut Context) -> Option<Tx<'_>> {
        // Room for two command words and a whole frame.
        if ((read(reg::TX_FIFO_INF) & 0xffff) as usize) < MTU + 8 {
            WAKER.register(cx.waker());
            return None;
        }
        Some(Tx { buf: &mut self.tx })
    }

    fn link_state(&mut self, _cx: &mut Context) -> LinkState {
        // QEMU's link is up from the start (its PHY model completes autonegotiation at
        // reset); a real board would read the PHY's basic status register here.
        LinkState::Up
    }

    fn capabilities(&self) -> Capabilities {
        let mut caps = Capabilities::default();
        caps.max_transmission_unit = MTU;
        caps
    }

    fn hardware_address(&self) -> HardwareAddress {
        HardwareAddress::Ethernet(self.mac)
    }
}

/// A received frame, borrowed from the driver's RX buffer.
pub struct Rx<'a> {
    frame: &'a mut [u8],
}

impl RxToken for Rx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, f: F) -> R {
        f(self.frame)
    }
}

/// Room for one frame to send; the frame goes out when the token is consumed.
pub struct Tx<'a> {
    buf: &'a mut [u8; MTU],
}

impl TxToken for Tx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let len = len.min(MTU);
        let (frame, _) = self.buf.split_at_mut(len);
        let result = f(frame);
        // Command A: one segment that is both first and last, no offset or alignment.
        // Command B: the frame length (bits 10:0), tagged with it too (bits 31:16).
        write(
            reg::TX_DATA_FIFO,
            TX_CMD_A_FIRST | TX_CMD_A_LAST | len as u32,
        );
        write(reg::TX_DATA_FIFO, ((len as u32) << 16) | len as u32);
        // Data: little-endian words; the last one padded, the MAC sends `len` bytes.
        for word in frame.chunks(4) {
            let mut bytes = [0u8; 4];
            bytes[..word.len()].copy_from_slice(word);
            write(reg::TX_DATA_FIFO, u32::from_le_bytes(bytes));
        }
        result
    }
}
