//! A 1 kHz SysTick time driver for `embassy-time`.
//!
//! SysTick counts the 25 MHz core clock ([`crate::SYSCLK_HZ`]) and interrupts every
//! millisecond. The handler advances a 64-bit tick count, wakes the timers that expired
//! (embassy-executor's integrated timer queue) and wakes the LAN9118 driver, which has no
//! interrupt of its own. Call [`start`] once, before the first `embassy-time` use.

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

struct SysTickDriver {
    ticks: Mutex<Cell<u64>>,
    queue: Mutex<RefCell<Queue>>,
}

impl SysTickDriver {
    /// Wake what is due at `now`, and the NIC.
    fn tick(&self, cs: CriticalSection<'_>) {
        let ticks = self.ticks.borrow(cs);
        let now = ticks.get() + 1;
        ticks.set(now);
        // SysTick fires every tick anyway, so the next expiration needs no alarm.
        let _ = self.queue.borrow_ref_mut(cs).next_expiration(now);
    }
}

impl Driver for SysTickDriver {
    fn now(&self) -> u64 {
        critical_section::with(|cs| self.ticks.borrow(cs).get())
    }

    fn schedule_wake(&self, at: u64, waker: &Waker) {
        critical_section::with(|cs| {
            if at <= self.ticks.borrow(cs).get() {
                waker.wake_by_ref();
            } else {
                // Expired entries are woken by the next tick.
                let _ = self.queue.borrow_ref_mut(cs).schedule_wake(at, waker);
            }
        })
    }
}

embassy_time_driver::time_driver_impl!(static DRIVER: SysTickDriver = SysTickDriver {
    ticks: Mutex::new(Cell::new(0)),
    queue: Mutex::new(RefCell::new(Queue::new())),
});

/// Start SysTick at [`TICK_HZ`] on the core clock, with its interrupt.
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
