//! What a server connection is waiting for ([`Phase`]), and the one timeout policy
//! every adapter applies to it ([`PhaseClock`] with [`Timeouts`]).
//!
//! The engine reads no clock: it reports each change of phase to the adapter's reader
//! ([`Readable::set_phase`](super::Readable::set_phase)), and the adapter, which has a
//! clock, keeps a [`PhaseClock`] in that reader. The policy lives here, once, in terms
//! of the adapter's own instant and duration types (Tokio's, embassy-time's): see
//! [`Timeouts`].
//!
//! The same clock says since when a connection is in its phase, which the connection
//! pressure policy ([`crate::pressure`]) ranks by.

use core::ops::Add;
use core::sync::atomic::{AtomicU8, Ordering};

/// What a connection is waiting for, as an adapter needs to know to pick a timeout or
/// to choose a connection to close under pressure ([`crate::pressure`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum Phase {
    /// Waiting for the first byte of a request: silent since it connected, or idle
    /// between keep-alive requests. Holds no buffers (see [`BufferSource`](super::BufferSource)).
    Idle = 0,
    /// Part of a request head has arrived; waiting for the rest.
    Head = 1,
    /// A request is being handled (body, application, response).
    Busy = 2,
    /// The engine has returned; the connection is closing.
    Done = 3,
}

/// A connection's [`Phase`], shared between the engine and its adapter.
///
/// The engine reports the phase to the adapter's reader ([`Readable::set_phase`](super::Readable::set_phase)), which
/// stores it here for the adapter's connection pool, which loads it to choose which
/// connection to close when all are taken. One byte, lock-free, `const fn new()`.
#[derive(Debug)]
pub struct Monitor {
    phase: AtomicU8,
}

impl Monitor {
    /// A monitor in [`Phase::Idle`].
    pub const fn new() -> Self {
        Monitor {
            phase: AtomicU8::new(Phase::Idle as u8),
        }
    }

    /// The current phase.
    pub fn phase(&self) -> Phase {
        match self.phase.load(Ordering::Relaxed) {
            0 => Phase::Idle,
            1 => Phase::Head,
            2 => Phase::Busy,
            _ => Phase::Done,
        }
    }

    /// Back to [`Phase::Idle`], for an adapter that reuses the monitor for its next
    /// connection (the engine leaves it at [`Phase::Done`]).
    pub fn reset(&self) {
        self.set(Phase::Idle);
    }

    /// Store `phase`: an adapter's reader does, from [`Readable::set_phase`](super::Readable::set_phase).
    pub fn set(&self, phase: Phase) {
        self.phase.store(phase as u8, Ordering::Relaxed);
    }
}

impl Default for Monitor {
    fn default() -> Self {
        Self::new()
    }
}

/// How long a server connection may wait in each [`Phase`], in the adapter's duration
/// type: the one timeout policy, which [`PhaseClock::deadline`] applies.
///
/// * **idle** (waiting for a request's first byte): each wait may last `idle`;
/// * **head** (a head's first bytes are in, the rest is not): the whole head must arrive
///   within `head` of the moment the engine reported [`Phase::Head`], i.e. from when its
///   first bytes were read, however many reads it takes (the one rule for when the head
///   clock starts);
/// * **busy** (body, application, response) and **done**: each read and write may
///   last `io`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Timeouts<D> {
    /// Each wait for a request's first byte (keep-alive idle, or a silent new
    /// connection).
    pub idle: D,
    /// A whole head, from its first bytes.
    pub head: D,
    /// Each read and each write inside a request.
    pub io: D,
}

/// One server connection's phase and since when it is in it, kept by the adapter's
/// reader from the phases the engine reports and the times the adapter's clock gives.
///
/// `I` is the adapter's instant type. The clock is read only where the policy needs a
/// time: entering [`Phase::Idle`], [`Phase::Head`] or [`Phase::Done`] (the starts that
/// timeouts and the pressure policy count from); entering [`Phase::Busy`] reads none,
/// so a request costs two clock reads.
///
/// ```
/// use degu_core::engine::{Phase, PhaseClock, Timeouts};
///
/// let t = Timeouts { idle: 30, head: 10, io: 20 };
/// let mut clock = PhaseClock::new(100u64); // connected at t = 100: idle
/// assert_eq!(clock.deadline(&t, || 105), 135); // each idle wait: 30
/// clock.enter(Phase::Head, || 140); // the head's first bytes at 140
/// assert_eq!(clock.deadline(&t, || 145), 150); // the whole head by 150
/// assert_eq!(clock.deadline(&t, || 149), 150);
/// clock.enter(Phase::Busy, || unreachable!());
/// assert_eq!(clock.deadline(&t, || 160), 180); // each read: 20
/// assert_eq!(clock.since(), 140);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PhaseClock<I> {
    phase: Phase,
    since: I,
}

impl<I: Copy> PhaseClock<I> {
    /// A connection accepted at `opened`: idle (silent) since then.
    pub const fn new(opened: I) -> Self {
        PhaseClock {
            phase: Phase::Idle,
            since: opened,
        }
    }

    /// The current phase.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// When the connection entered its phase (for [`Phase::Busy`], when it entered the
    /// phase before).
    pub fn since(&self) -> I {
        self.since
    }

    /// The engine reported `phase`; `now` is read if the phase changes to one whose start
    /// counts. Whether it changed.
    pub fn enter(&mut self, phase: Phase, now: impl FnOnce() -> I) -> bool {
        if phase == self.phase {
            return false;
        }
        self.phase = phase;
        if phase != Phase::Busy {
            self.since = now();
        }
        true
    }

    /// The deadline of a wait that begins now in the current phase: the head's fixed
    /// end inside a head (no clock read), otherwise `now()` plus the phase's timeout.
    pub fn deadline<D: Copy>(&self, timeouts: &Timeouts<D>, now: impl FnOnce() -> I) -> I
    where
        I: Add<D, Output = I>,
    {
        let (start, timeout) = self.wait(timeouts, now);
        start + timeout
    }

    /// [`PhaseClock::deadline`] as its two terms: when the wait's time started and its
    /// timeout. For an adapter whose clock adds without a panic on overflow
    /// (`checked_add`): an `Instant + Duration` can carry an overflow check and its
    /// panic message, which is flash on a device.
    pub fn wait<D: Copy>(&self, timeouts: &Timeouts<D>, now: impl FnOnce() -> I) -> (I, D) {
        let timeout = match self.phase {
            Phase::Idle => timeouts.idle,
            Phase::Head => timeouts.head,
            Phase::Busy | Phase::Done => timeouts.io,
        };
        let start = if self.phase == Phase::Head {
            self.since
        } else {
            now()
        };
        (start, timeout)
    }
}
