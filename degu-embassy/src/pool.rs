//! A fixed pool of `N` server workers in one task, with all their memory in one value
//! that firmware keeps in a `static`.
//!
//! Each worker owns one [`TcpSocket`] (with `RX`/`TX` bytes of socket buffers) and one
//! set of engine [`Buffers`] (`RB` read, `WB` write), and loops `accept` → [`serve_socket`]
//! forever. The workers are joined in the calling task, so no task pool or spawner is
//! needed; `N` connections are served at once and a further connection attempt is refused
//! by the stack (smoltcp has no listen backlog).
//!
//! RAM: `N × (RX + TX + RB + WB)` bytes of buffers in [`PoolState`], plus the pool future
//! (`N` worker futures) in the task that runs it.

use crate::server::{ServeConfig, serve_socket};
use degu_core::app::App;
use degu_core::engine::Buffers;
use embassy_net::Stack;
use embassy_net::tcp::TcpSocket;
use embassy_time::{Duration, Timer};

/// How long a worker waits after a failed `accept` before it tries again.
pub const ACCEPT_RETRY: Duration = Duration::from_millis(10);

/// One worker's memory.
pub struct WorkerState<const RX: usize, const TX: usize, const RB: usize, const WB: usize> {
    rx: [u8; RX],
    tx: [u8; TX],
    buffers: Buffers<RB, WB>,
}

/// The memory of a pool of `N` workers; `const fn new()`, so it fits in a `static`
/// (e.g. a `StaticCell`).
pub struct PoolState<
    const N: usize,
    const RX: usize = 4096,
    const TX: usize = 4096,
    const RB: usize = { degu_core::engine::DEFAULT_READ_BUFFER },
    const WB: usize = { degu_core::engine::DEFAULT_WRITE_BUFFER },
> {
    workers: [WorkerState<RX, TX, RB, WB>; N],
}

impl<const N: usize, const RX: usize, const TX: usize, const RB: usize, const WB: usize>
    PoolState<N, RX, TX, RB, WB>
{
    /// Zeroed buffers for `N` workers.
    pub const fn new() -> Self {
        PoolState {
            workers: [const {
                WorkerState {
                    rx: [0; RX],
                    tx: [0; TX],
                    buffers: Buffers::new(),
                }
            }; N],
        }
    }

    /// Buffer bytes per worker.
    pub const fn bytes_per_worker() -> usize {
        RX + TX + RB + WB
    }

    /// Serve `app` on `port` with all `N` workers, forever.
    pub async fn run<A: App>(
        &mut self,
        stack: Stack<'_>,
        port: u16,
        app: &A,
        config: &ServeConfig,
    ) -> ! {
        let workers = self
            .workers
            .each_mut()
            .map(|w| worker(stack, port, w, app, config));
        embassy_futures::join::join_array(workers).await;
        // Every worker loops forever; the join never ends.
        loop {
            Timer::after(Duration::from_secs(3600)).await;
        }
    }
}

impl<const N: usize, const RX: usize, const TX: usize, const RB: usize, const WB: usize> Default
    for PoolState<N, RX, TX, RB, WB>
{
    fn default() -> Self {
        Self::new()
    }
}

async fn worker<A: App, const RX: usize, const TX: usize, const RB: usize, const WB: usize>(
    stack: Stack<'_>,
    port: u16,
    state: &mut WorkerState<RX, TX, RB, WB>,
    app: &A,
    config: &ServeConfig,
) {
    let WorkerState { rx, tx, buffers } = state;
    let mut socket = TcpSocket::new(stack, rx, tx);
    loop {
        if let Err(e) = socket.accept(port).await {
            warn!("accept failed: {:?}", e);
            socket.abort();
            Timer::after(ACCEPT_RETRY).await;
            continue;
        }
        let end = serve_socket(&mut socket, buffers, app, config).await;
        debug!("connection ended: {:?}", end);
    }
}
