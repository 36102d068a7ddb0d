//! The demo app on a device: `degu_examples::demo::DemoApp` served by `degu-embassy` over
//! `embassy-net`, on QEMU's mps2-an386 (thumbv7em) or mps2-an385 (thumbv6m) with the
//! board's LAN9118 on QEMU's user-mode network.
//!
//! The device is 10.0.2.15/24 (gateway 10.0.2.2, the host) and serves HTTP on port 80
//! with [`WORKERS`] connections at a time. Progress goes to QEMU's stdout through
//! semihosting: `net up`, `listening on 10.0.2.15:80`, one line per connection.
//!
//! It stops by itself after [`IDLE_EXIT`] without any connection (exit code 0), so a
//! QEMU that its test forgot never runs for long; tests normally kill QEMU when they are
//! done. A panic exits with code 1.
#![no_std]
#![no_main]

use core::cell::Cell;
use cortex_m_semihosting::{debug, hprintln};
use critical_section::Mutex;
use degu_core::engine::Buffers;
use degu_embassy::{ServeConfig, serve_socket};
use degu_examples::demo::DemoApp;
use embassy_executor::Spawner;
use embassy_net::tcp::TcpSocket;
use embassy_net::{Ipv4Address, Ipv4Cidr, Runner, Stack, StackResources, StaticConfigV4};
use embassy_time::{Duration, Instant, Timer};
use panic_semihosting as _;
use qemu_mps2::lan9118::Lan9118;
use static_cell::{ConstStaticCell, StaticCell};

/// Connections served at once: one task and one socket each.
const WORKERS: usize = 2;
/// The HTTP port.
const PORT: u16 = 80;
/// Each socket's receive and send buffers (the TCP windows).
const SOCKET_BUFFER: usize = 4096;
/// Exit after this long without a connection.
const IDLE_EXIT: Duration = Duration::from_secs(30);

static CONFIG: ServeConfig = ServeConfig::new();

/// What one worker owns: its socket's buffers and the engine's buffers.
struct WorkerResources {
    rx: [u8; SOCKET_BUFFER],
    tx: [u8; SOCKET_BUFFER],
    buffers: Buffers,
}

static WORKER_RESOURCES: [ConstStaticCell<WorkerResources>; WORKERS] = [const {
    ConstStaticCell::new(WorkerResources {
        rx: [0; SOCKET_BUFFER],
        tx: [0; SOCKET_BUFFER],
        buffers: Buffers::new(),
    })
}; WORKERS];

/// Connections in progress, and the time (ticks) the last one started or ended.
static ACTIVITY: Mutex<Cell<(usize, u64)>> = Mutex::new(Cell::new((0, 0)));

fn activity(delta: isize) {
    critical_section::with(|cs| {
        let cell = ACTIVITY.borrow(cs);
        let (active, _) = cell.get();
        cell.set((
            active.saturating_add_signed(delta),
            Instant::now().as_ticks(),
        ));
    });
}

#[embassy_executor::main]
async fn main(spawner: Spawner) {
    let Some(peripherals) = cortex_m::Peripherals::take() else {
        fail("core peripherals taken twice");
    };
    qemu_mps2::time::start(peripherals.SYST);

    let nic = match Lan9118::take() {
        Ok(nic) => nic,
        Err(e) => {
            hprintln!("LAN9118: {:?}", e);
            fail("no network");
        }
    };
    // QEMU's virtual time since reset; TCP sequence numbers need no more than this here.
    let seed = 0x6465_6775_0000_0000 | u64::from(nic.free_run());
    let config = embassy_net::Config::ipv4_static(StaticConfigV4 {
        address: Ipv4Cidr::new(Ipv4Address::new(10, 0, 2, 15), 24),
        gateway: Some(Ipv4Address::new(10, 0, 2, 2)),
        dns_servers: Default::default(),
    });
    static RESOURCES: StaticCell<StackResources<WORKERS>> = StaticCell::new();
    let (stack, runner) =
        embassy_net::new(nic, config, RESOURCES.init(StackResources::new()), seed);
    spawner.spawn(unwrap_spawn(net_task(runner)));

    stack.wait_config_up().await;
    hprintln!("net up");
    for (id, cell) in WORKER_RESOURCES.iter().enumerate() {
        spawner.spawn(unwrap_spawn(worker(id, stack, cell.take())));
    }
    hprintln!("listening on 10.0.2.15:{}", PORT);

    activity(0);
    loop {
        Timer::after_secs(1).await;
        let (active, last) = critical_section::with(|cs| ACTIVITY.borrow(cs).get());
        if active == 0 && Instant::now().as_ticks() - last >= IDLE_EXIT.as_ticks() {
            hprintln!("no connection for {} s: exiting", IDLE_EXIT.as_secs());
            debug::exit(debug::EXIT_SUCCESS);
        }
    }
}

#[embassy_executor::task]
async fn net_task(mut runner: Runner<'static, Lan9118>) -> ! {
    runner.run().await
}

#[embassy_executor::task(pool_size = WORKERS)]
async fn worker(id: usize, stack: Stack<'static>, res: &'static mut WorkerResources) -> ! {
    let WorkerResources { rx, tx, buffers } = res;
    let mut socket = TcpSocket::new(stack, rx, tx);
    loop {
        if let Err(e) = socket.accept(PORT).await {
            hprintln!("worker {}: accept: {:?}", id, e);
            Timer::after_millis(10).await;
            continue;
        }
        activity(1);
        let peer = socket.remote_endpoint();
        let end = serve_socket(&mut socket, buffers, &DemoApp, &CONFIG).await;
        activity(-1);
        match peer {
            Some(peer) => hprintln!("worker {}: {}: {:?}", id, peer, end),
            None => hprintln!("worker {}: {:?}", id, end),
        }
    }
}

fn unwrap_spawn<T>(token: Result<T, embassy_executor::SpawnError>) -> T {
    match token {
        Ok(token) => token,
        Err(_) => fail("task pool exhausted"),
    }
}

fn fail(why: &str) -> ! {
    hprintln!("fatal: {}", why);
    debug::exit(debug::EXIT_FAILURE);
    #[allow(clippy::empty_loop)]
    loop {}
}
