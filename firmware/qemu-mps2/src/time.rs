//! An `embassy-time` driver for QEMU's MPS2 boards: 1 kHz ticks.
//!
//! Time is read from the board's FPGAIO cycle counter, which QEMU derives from its
//! virtual clock (host time), so it stays right when the host is too busy to deliver
//! every timer interrupt. SysTick interrupts every millisecond on the 25 MHz core clock
//! ([`crate::SYSCLK_HZ`]) to wake the timers that expired (embassy-executor's integrated
//! timer queue) and the LAN9118 driver, which has no interrupt of its own. Call [`start`]
//! once, before the first `embassy-time` use.
//!
//! FPGAIO ("FPGA system control and I/O", AN385/AN386 application notes; QEMU's
//! `hw/misc/mps2-fpgaio.c`) sits at 0x4002_8000; its COUNTER register (offset 0x18)
//! counts up once per PRESCALE + 1 cycles of the 25 MHz clock, and PRESCALE is 0 after
//! reset.

use core::cell::{Cell, RefCell};
use core::task::Waker;
use cortex_m::peripheral::SYST;
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::exception;
use critical_section::{CriticalSection, Mutex};
use embassy_time_driver::Driver;
use embassy_time_queue_utils::Queue;

/// Ticks per second; `embassy-time` must be built with its `tick-hz-1_000` feature.
pub const TICK_HZ: u32 = 1_000;

const _: () = assert!(
    embassy_time_driver::TICK_HZ == TICK_HZ as u64,
    "build embassy-time with feature tick-hz-1_000"
);

/// FPGAIO COUNTER: 25 MHz, 32 bits (wraps every 171.8 s).
const FPGAIO_COUNTER: usize = 0x4002_8018;
const COUNTS_PER_TICK: u64 = (crate::SYSCLK_HZ / TICK_HZ) as u64;

fn counter() -> u32 {
    // SAFETY: a read-only 32-bit FPGAIO register at a fixed MPS2 address; volatile, aligned.
    unsafe { core::ptr::read_volatile(FPGAIO_COUNTER as *const u32) }
}

struct TimeDriver {
    /// The counter's last value and its wraps (<< 32), to extend it to 64 bits. The
    /// SysTick handler reads it every tick, far more often than it wraps.
    counter: Mutex<Cell<(u32, u64)>>,
    queue: Mutex<RefCell<Queue>>,
}

impl TimeDriver {
    fn now_in(&self, cs: CriticalSection<'_>) -> u64 {
        let cell = self.counter.borrow(cs);
        let (last, mut wraps) = cell.get();
        let raw = counter();
        if raw < last {
            wraps += 1 << 32;
        }
        cell.set((raw, wraps));
        (wraps | u64::from(raw)) / COUNTS_PER_TICK
    }

    /// Wake what is due.
    fn tick(&self, cs: CriticalSection<'_>) {
        let now = self.now_in(cs);
        // SysTick fires every tick anyway, so the next expiration needs no alarm.
        let _ = self.queue.borrow_ref_mut(cs).next_expiration(now);
    }
}

impl Driver for TimeDriver {
    fn now(&self) -> u64 {
        critical_section::with(|cs| self.now_in(cs))
    }

    fn schedule_wake(&self, at: u64, waker: &Waker) {
        critical_section::with(|cs| {
            if at <= self.now_in(cs) {
                waker.wake_by_ref();
            } else {
                // Expired entries are woken by the next tick.
                let _ = self.queue.borrow_ref_mut(cs).schedule_wake(at, waker);
            }
        })
    }
}

embassy_time_driver::time_driver_impl!(static DRIVER: TimeDriver = TimeDriver {
    counter: Mutex::new(Cell::new((0, 0))),
    queue: Mutex::new(RefCell::new(Queue::new())),
});

/// Start SysTick at [`TICK_HZ`] on the core clock, with its interrupt.
///
/// Time counts from reset (the FPGAIO counter's start), not from this call.
pub fn start(mut syst: SYST) {
    syst.disable_counter();
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(crate::SYSCLK_HZ / TICK_HZ - 1);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
}

#[exception]
fn SysTick() {
    critical_section::with(|cs| DRIVER.tick(cs));
    crate::lan9118::WAKER.wake();
}
