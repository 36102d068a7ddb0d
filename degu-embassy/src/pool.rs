//! A fixed pool of server sockets in one task, with all their memory in one value that
//! firmware keeps in a `static`: more open connections than buffer sets, and always a
//! socket listening while any connection can make room for it.
//!
//! smoltcp has no listen backlog: a socket listens for exactly one connection, and a SYN
//! that finds none is answered with a reset. A pool of `N` sockets that each serve a
//! connection for its whole life is unreachable as soon as `N` clients keep a connection
//! open (a browser opens six to a status page). So:
//!
//! * `N` **workers**: `N` sets of engine [`Buffers`] (`RB` read, `WB` write), i.e. `N`
//!   requests handled at once;
//! * `N + SPARE` **sockets** (each with `RX`/`TX` bytes of TCP buffers): connections open
//!   at once. A connection holds a buffer set only while a request is in progress
//!   ([`BufferSource`]); idle keep-alive and silent connections hold just their socket.
//! * When a socket accepts and no other socket is left listening, the pool closes the
//!   connection that matters least ([`degu_core::pressure`]: the oldest silent or idle
//!   one, then the slowest head, and a fresh one only when nothing else can go), and that
//!   socket listens again at once (the connection is dropped without waiting to send a
//!   reset: [`crate::server::drop_connection`]). When only one socket is left listening,
//!   it closes one that has overstayed (idle or silent for [`pressure::FRESH`], or inside
//!   a head) if `SPARE` is 2 or more, so a second newcomer still finds a socket. A connection handling a request
//!   is never closed for room; when every one is and none listens, the pool looks again
//!   every [`PRESSURE_RECHECK`].
//! * When a request's first byte arrives and every buffer set is taken, the slowest head
//!   holding one is closed the same way, so trickling heads cannot starve a real client
//!   of buffers either. Slow heads also end at the head timeout.
//!
//! All connections are joined in the calling task: no task pool or spawner is needed.
//!
//! RAM: `N × (RB + WB)` of engine buffers and `(N + SPARE) × (RX + TX)` of socket buffers
//! in [`PoolState`]; in the task that runs the pool, one connection future per socket
//! (each can run the engine and the app's handler) and a few words of state per socket;
//! and smoltcp's state for `N + SPARE` sockets in the stack's `StackResources` (which
//! must have room for them). [`PoolState::bytes_per_spare_socket`] is the static part of
//! one more socket; firmware/qemu-device prints the whole cost (`footprint ...`).

use crate::server::{ConnState, ServeConfig, serve_conn};
use core::cell::Cell;
use core::future::poll_fn;
use core::task::{Poll, Waker};
use degu_core::app::App;
use degu_core::engine::{BufferSource, Buffers, ConnBuffers, Error, Phase, ServerEnd};
use degu_core::pressure::{self, Rank};
use embassy_futures::join::{join_array, join3};
use embassy_net::tcp::TcpSocket;
use embassy_net::{IpEndpoint, Stack};
use embassy_time::{Duration, Instant, Timer};

/// How long a socket waits after a failed `accept` before it tries again.
pub const ACCEPT_RETRY: Duration = Duration::from_millis(10);

/// How often a pool with no socket listening, and nothing it may close (every connection
/// handling a request), looks again for a connection that has become closable.
pub const PRESSURE_RECHECK: Duration = Duration::from_millis(100);

/// Default TCP receive and send buffer of each socket: 4 KiB.
pub const DEFAULT_SOCKET_BUFFER: usize = 4096;

/// One socket's TCP buffers.
pub struct SocketState<const RX: usize, const TX: usize> {
    rx: [u8; RX],
    tx: [u8; TX],
}

impl<const RX: usize, const TX: usize> SocketState<RX, TX> {
    const fn new() -> Self {
        SocketState {
            rx: [0; RX],
            tx: [0; TX],
        }
    }
}

/// The memory of a pool of `N` workers and `N + SPARE` sockets; `const fn new()`, so it
/// fits in a `static` (e.g. a `StaticCell`). `SPARE` is at least 1 (checked at compile
/// time): a pool without a spare socket cannot accept while its workers' connections
/// are open.
pub struct PoolState<
    const N: usize,
    const RX: usize = DEFAULT_SOCKET_BUFFER,
    const TX: usize = DEFAULT_SOCKET_BUFFER,
    const RB: usize = { degu_core::engine::DEFAULT_READ_BUFFER },
    const WB: usize = { degu_core::engine::DEFAULT_WRITE_BUFFER },
    const SPARE: usize = 1,
> {
    sockets: [SocketState<RX, TX>; N],
    spare: [SocketState<RX, TX>; SPARE],
    buffers: [Buffers<RB, WB>; N],
}

impl<
    const N: usize,
    const RX: usize,
    const TX: usize,
    const RB: usize,
    const WB: usize,
    const SPARE: usize,
> PoolState<N, RX, TX, RB, WB, SPARE>
{
    const AT_LEAST_ONE_SPARE: () = assert!(SPARE >= 1, "a pool needs a spare socket");

    /// Zeroed buffers for `N` workers and `N + SPARE` sockets.
    // No `Default`: a pool is tens of KiB, made in place in a `static` by this `const fn`
    // (a `ConstStaticCell`); `default()` would build it on a device's stack first.
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        let () = Self::AT_LEAST_ONE_SPARE;
        PoolState {
            sockets: [const { SocketState::new() }; N],
            spare: [const { SocketState::new() }; SPARE],
            buffers: [const { Buffers::new() }; N],
        }
    }

    /// Sockets the pool opens: `N + SPARE` (the stack's `StackResources` needs as many,
    /// besides any other sockets the firmware uses).
    pub const SOCKETS: usize = N + SPARE;

    /// Static buffer bytes per worker: a socket's TCP buffers and a set of engine
    /// buffers.
    pub const fn bytes_per_worker() -> usize {
        RX + TX + RB + WB
    }

    /// Static buffer bytes per spare socket: its TCP buffers (the connection future and
    /// smoltcp's socket state come on top; see the module docs).
    pub const fn bytes_per_spare_socket() -> usize {
        RX + TX
    }

    /// What running `app` on this pool costs besides the `PoolState` itself, measured
    /// on futures that are built but never polled (for footprint reports).
    pub fn footprint<A: App>(
        &mut self,
        stack: Stack<'_>,
        app: &A,
        config: &ServeConfig,
    ) -> Footprint {
        let task = core::mem::size_of_val(&self.run(stack, 80, app, config));
        let PoolState { spare, buffers, .. } = self;
        let slots = [const { Slot::new() }; 1];
        let sets = buffers.each_mut().map(Set::free);
        let shared = Shared::new(&slots, &[], &sets);
        let ctx = Ctx {
            stack,
            port: 80,
            app,
            config,
            events: &(),
            shared: &shared,
        };
        let connection = spare
            .first_mut()
            .map_or(0, |s| core::mem::size_of_val(&connection_loop(&ctx, 0, s)));
        Footprint {
            task,
            connection,
            socket_state: core::mem::size_of::<Slot>(),
        }
    }

    /// Serve `app` on `port` with all sockets, forever.
    pub async fn run<A: App>(
        &mut self,
        stack: Stack<'_>,
        port: u16,
        app: &A,
        config: &ServeConfig,
    ) -> ! {
        self.run_with(stack, port, app, config, &()).await
    }

    /// [`PoolState::run`], reporting what happens to `events` (logging, activity).
    pub async fn run_with<A: App, E: PoolEvents>(
        &mut self,
        stack: Stack<'_>,
        port: u16,
        app: &A,
        config: &ServeConfig,
        events: &E,
    ) -> ! {
        let PoolState {
            sockets,
            spare,
            buffers,
        } = self;
        let slots = [const { Slot::new() }; N];
        let spare_slots = [const { Slot::new() }; SPARE];
        let sets = buffers.each_mut().map(Set::free);
        let shared = Shared::new(&slots, &spare_slots, &sets);
        let ctx = Ctx {
            stack,
            port,
            app,
            config,
            events,
            shared: &shared,
        };
        let mut index = 0;
        let mut next = || {
            index += 1;
            index - 1
        };
        let workers = sockets.each_mut().map(|s| connection_loop(&ctx, next(), s));
        let spares = spare.each_mut().map(|s| connection_loop(&ctx, next(), s));
        join3(
            join_array(workers),
            join_array(spares),
            supervise(&shared, events),
        )
        .await;
        // Every future above loops forever; the join never ends.
        loop {
            Timer::after(Duration::from_secs(3600)).await;
        }
    }
}

/// RAM a pool needs beyond its [`PoolState`], in bytes ([`PoolState::footprint`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Footprint {
    /// The future of [`PoolState::run`]: the task that runs the pool.
    pub task: usize,
    /// Of which one socket's connection future (accepting, then running the engine and
    /// the app's handler).
    pub connection: usize,
    /// And one socket's state beside it (phase, since, close request).
    pub socket_state: usize,
}

/// What a pool reports as it serves, for logging and activity tracking; every method
/// does nothing by default. Sockets are numbered from 0 (workers' first, then spares).
pub trait PoolEvents {
    /// Socket `socket` accepted a connection from `peer`.
    fn accepted(&self, socket: usize, peer: Option<IpEndpoint>) {
        let _ = (socket, peer);
    }

    /// The connection on `socket` from `peer` ended as `end`, and its socket is closed.
    fn closed(&self, socket: usize, peer: Option<IpEndpoint>, end: &Result<ServerEnd, Error>) {
        let _ = (socket, peer, end);
    }

    /// The connection on `socket` is being closed to make room; `rank` says why it was
    /// the one ([`degu_core::pressure`]).
    fn evicting(&self, socket: usize, rank: Rank) {
        let _ = (socket, rank);
    }
}

/// No reports.
impl PoolEvents for () {}

/// A log line per connection closed (`info`) and per eviction (`debug`), through this
/// crate's log (feature `defmt` or `log`; nothing without either): what a board example
/// wants to see.
#[derive(Clone, Copy, Debug, Default)]
pub struct LogEvents;

impl PoolEvents for LogEvents {
    fn closed(&self, socket: usize, peer: Option<IpEndpoint>, end: &Result<ServerEnd, Error>) {
        info!("socket {}: {:?}: {:?}", socket, peer, end);
    }

    fn evicting(&self, socket: usize, rank: Rank) {
        debug!("socket {}: closing to make room ({:?})", socket, rank);
    }
}

/// What a socket is doing, beside its connection's phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SocketPhase {
    /// Listening for a connection (or about to).
    Listening,
    /// A connection is open (its [`ConnState`] says what it is doing).
    Open,
    /// Open, with a request's first byte in, waiting for a buffer set: a request in
    /// progress, so it is not closed for room (and cannot notice a request to close).
    WaitingForBuffers,
}

/// One socket's state, shared with the rest of the pool.
struct Slot {
    conn: ConnState,
    socket: Cell<SocketPhase>,
}

impl Slot {
    const fn new() -> Self {
        Slot {
            conn: ConnState::new(),
            socket: Cell::new(SocketPhase::Listening),
        }
    }
}

/// One set of engine buffers: free (`Some`) or lent to the socket `holder`.
struct Set<'b, const RB: usize, const WB: usize> {
    buffers: Cell<Option<&'b mut Buffers<RB, WB>>>,
    holder: Cell<Option<usize>>,
}

impl<'b, const RB: usize, const WB: usize> Set<'b, RB, WB> {
    /// `buffers`, free.
    fn free(buffers: &'b mut Buffers<RB, WB>) -> Self {
        Set {
            buffers: Cell::new(Some(buffers)),
            holder: Cell::new(None),
        }
    }
}

/// A waker slot for futures of the one task that runs the pool. A second waiter's waker
/// displaces (and wakes) the first, so none is ever lost.
struct WakerCell(Cell<Option<Waker>>);

impl WakerCell {
    const fn new() -> Self {
        WakerCell(Cell::new(None))
    }

    fn register(&self, waker: &Waker) {
        match self.0.take() {
            Some(w) if w.will_wake(waker) => self.0.set(Some(w)),
            Some(w) => {
                self.0.set(Some(waker.clone()));
                w.wake();
            }
            None => self.0.set(Some(waker.clone())),
        }
    }

    fn wake(&self) {
        if let Some(w) = self.0.take() {
            w.wake();
        }
    }
}

/// The pool's shared state, in the future that runs it.
struct Shared<'p, 'b, const RB: usize, const WB: usize> {
    slots: &'p [Slot],
    spare_slots: &'p [Slot],
    sets: &'p [Set<'b, RB, WB>],
    /// Woken when a buffer set is given back.
    set_freed: WakerCell,
    /// No socket listens and nothing could be closed: the supervisor looks again.
    starved: Cell<bool>,
    supervisor: WakerCell,
}

impl<'p, 'b, const RB: usize, const WB: usize> Shared<'p, 'b, RB, WB> {
    /// A pool of the sockets of `slots` and `spare_slots`, all listening, and the free
    /// buffer `sets`.
    fn new(slots: &'p [Slot], spare_slots: &'p [Slot], sets: &'p [Set<'b, RB, WB>]) -> Self {
        Shared {
            slots,
            spare_slots,
            sets,
            set_freed: WakerCell::new(),
            starved: Cell::new(false),
            supervisor: WakerCell::new(),
        }
    }

    fn slots(&self) -> impl Iterator<Item = (usize, &Slot)> {
        self.slots.iter().chain(self.spare_slots).enumerate()
    }

    fn slot(&self, index: usize) -> Option<&Slot> {
        self.slots().find_map(|(i, s)| (i == index).then_some(s))
    }

    /// Close the connection the pressure policy picks among `candidates`, if its rank is
    /// `worst` or better; whether one was closed.
    fn evict<'s>(
        &self,
        candidates: impl Iterator<Item = (usize, &'s Slot)>,
        worst: Rank,
        events: &impl PoolEvents,
    ) -> bool {
        let now = crate::server::now();
        let fresh_since = now.checked_sub(fresh()).unwrap_or(Instant::MIN);
        let entries = candidates
            .filter(|(_, s)| !s.conn.close_requested())
            .map(|(i, s)| {
                // A socket waiting for buffers has a request in progress: like busy.
                let phase = match s.socket.get() {
                    SocketPhase::WaitingForBuffers => Phase::Busy,
                    _ => s.conn.phase(),
                };
                let since = s.conn.since();
                ((i, s, phase, since), phase, since)
            });
        let Some((i, slot, phase, since)) = pressure::victim(entries, fresh_since) else {
            return false;
        };
        let Some(rank) = pressure::rank(phase, &since, &fresh_since) else {
            return false;
        };
        if rank > worst {
            return false;
        }
        debug!("closing the connection on socket {} ({:?})", i, rank);
        events.evicting(i, rank);
        slot.conn.close();
        true
    }

    /// After socket `accepted` took a connection (never closed here: it has just
    /// arrived), keep sockets listening:
    ///
    /// * none listens: close the connection that matters least, whatever its rank, or
    ///   every new client is refused until one ends;
    /// * one listens, and the pool has two spare sockets or more: close one that has
    ///   overstayed ([`Rank::Head`] or better: not a connection that is fresh), so that
    ///   a second client arriving before the first's socket listens again still finds
    ///   one. Under a flood of trickling heads this is what keeps a real client from
    ///   meeting a moment with no socket listening. (With one spare socket, that socket
    ///   is the only room for idle keep-alive connections beyond the workers', so they
    ///   are left alone.)
    fn keep_listening(&self, accepted: Option<usize>, events: &impl PoolEvents) {
        let listening = self
            .slots()
            .filter(|(_, s)| s.socket.get() == SocketPhase::Listening)
            .count();
        let worst = match listening {
            0 => Rank::Fresh,
            1 if self.spare_slots.len() >= 2 => Rank::Head,
            _ => return,
        };
        let open = self
            .slots()
            .filter(|(i, s)| Some(*i) != accepted && s.socket.get() != SocketPhase::Listening);
        if !self.evict(open, worst, events) && listening == 0 {
            self.starved.set(true);
            self.supervisor.wake();
        }
    }

    /// Take a free buffer set for socket `index`.
    fn try_take(&self, index: usize) -> Option<(&'p Set<'b, RB, WB>, &'b mut Buffers<RB, WB>)> {
        self.sets.iter().find_map(|set| {
            let buffers = set.buffers.take()?;
            set.holder.set(Some(index));
            Some((set, buffers))
        })
    }
}

/// The instant a connection stops being fresh, as an embassy duration.
fn fresh() -> Duration {
    Duration::from_micros(u64::try_from(pressure::FRESH.as_micros()).unwrap_or(u64::MAX))
}

/// Everything a connection loop borrows.
struct Ctx<'c, 'p, 'b, 's, A, E, const RB: usize, const WB: usize> {
    stack: Stack<'s>,
    port: u16,
    app: &'c A,
    config: &'c ServeConfig,
    events: &'c E,
    shared: &'c Shared<'p, 'b, RB, WB>,
}

/// Accept and serve connections on socket `index`, forever.
async fn connection_loop<
    A: App,
    E: PoolEvents,
    const RX: usize,
    const TX: usize,
    const RB: usize,
    const WB: usize,
>(
    ctx: &Ctx<'_, '_, '_, '_, A, E, RB, WB>,
    index: usize,
    state: &mut SocketState<RX, TX>,
) {
    let Some(slot) = ctx.shared.slot(index) else {
        return;
    };
    let SocketState { rx, tx } = state;
    let mut socket = TcpSocket::new(ctx.stack, rx, tx);
    let mut lender = Lender {
        shared: ctx.shared,
        index,
        slot,
        events: ctx.events,
    };
    loop {
        slot.socket.set(SocketPhase::Listening);
        if let Err(e) = socket.accept(ctx.port).await {
            warn!("socket {}: accept failed: {:?}", index, e);
            socket.abort();
            Timer::after(ACCEPT_RETRY).await;
            continue;
        }
        slot.conn.open(crate::server::now());
        slot.socket.set(SocketPhase::Open);
        let peer = socket.remote_endpoint();
        ctx.events.accepted(index, peer);
        ctx.shared.keep_listening(Some(index), ctx.events);
        let end = serve_conn(&mut socket, &mut lender, ctx.app, ctx.config, &slot.conn).await;
        debug!("socket {}: connection ended: {:?}", index, end);
        ctx.events.closed(index, peer, &end);
    }
}

/// While no socket listens and nothing could be closed, look again every
/// [`PRESSURE_RECHECK`].
async fn supervise<const RB: usize, const WB: usize>(
    shared: &Shared<'_, '_, RB, WB>,
    events: &impl PoolEvents,
) {
    loop {
        poll_fn(|cx| {
            if shared.starved.get() {
                Poll::Ready(())
            } else {
                shared.supervisor.register(cx.waker());
                Poll::Pending
            }
        })
        .await;
        Timer::after(PRESSURE_RECHECK).await;
        shared.starved.set(false);
        shared.keep_listening(None, events);
    }
}

/// Socket `index`'s [`BufferSource`]: a free set of the pool's, waiting for one when all
/// are lent.
struct Lender<'c, 'p, 'b, E, const RB: usize, const WB: usize> {
    shared: &'c Shared<'p, 'b, RB, WB>,
    index: usize,
    slot: &'c Slot,
    events: &'c E,
}

impl<'p, 'b, E: PoolEvents, const RB: usize, const WB: usize> BufferSource
    for Lender<'_, 'p, 'b, E, RB, WB>
{
    type Lease<'a>
        = Lease<'a, 'b, RB, WB>
    where
        Self: 'a;

    async fn lease(&mut self) -> Lease<'_, 'b, RB, WB> {
        let shared = self.shared;
        let (set, buffers) = poll_fn(|cx| {
            if let Some(taken) = shared.try_take(self.index) {
                return Poll::Ready(taken);
            }
            self.slot.socket.set(SocketPhase::WaitingForBuffers);
            // Every set is lent: unless one is already being freed, close the slowest
            // head holding one (busy holders are never chosen).
            let holders = shared.sets.iter().filter_map(|set| {
                let holder = set.holder.get()?;
                shared.slot(holder).map(|s| (holder, s))
            });
            let freeing = shared
                .sets
                .iter()
                .filter_map(|set| shared.slot(set.holder.get()?))
                .any(|s| s.conn.close_requested());
            if !freeing {
                shared.evict(holders, Rank::Head, self.events);
            }
            shared.set_freed.register(cx.waker());
            Poll::Pending
        })
        .await;
        self.slot.socket.set(SocketPhase::Open);
        Lease {
            set,
            buffers: Some(buffers),
            freed: &shared.set_freed,
        }
    }
}

/// A buffer set lent to one connection; back to the pool when dropped.
struct Lease<'l, 'b, const RB: usize, const WB: usize> {
    set: &'l Set<'b, RB, WB>,
    buffers: Option<&'b mut Buffers<RB, WB>>,
    freed: &'l WakerCell,
}

impl<const RB: usize, const WB: usize> ConnBuffers for Lease<'_, '_, RB, WB> {
    fn split(&mut self) -> (&mut [u8], &mut [u8]) {
        match &mut self.buffers {
            Some(b) => b.split(),
            // Only `drop` takes the set.
            None => (&mut [], &mut []),
        }
    }
}

impl<const RB: usize, const WB: usize> Drop for Lease<'_, '_, RB, WB> {
    fn drop(&mut self) {
        self.set.holder.set(None);
        self.set.buffers.set(self.buffers.take());
        self.freed.wake();
    }
}
