//! The demo app on a NUCLEO-F429ZI: `degu_examples::demo::DemoApp` served by `degu-embassy`
//! on port 80 over the board's Ethernet port, with an address from DHCP.
//!
//! * Ethernet: the STM32F429's MAC (embassy-stm32 `eth`, v1) and the board's LAN8742A PHY
//!   over RMII (PA1, PA2, PA7, PB13, PC1, PC4, PC5, PG11, PG13: solder bridges as shipped).
//! * Clocks: HSI → PLL, 168 MHz system clock, 48 MHz for the RNG. The RMII reference clock
//!   comes from the PHY, so the HSI's tolerance does not matter here.
//! * MAC address: locally administered, derived from the chip's unique ID, so two boards
//!   on one LAN differ. The network stack's seed comes from the hardware RNG.
//! * Serving: `degu-embassy`'s [`PoolState`] in one task, [`WORKERS`] requests at once
//!   over [`WORKERS`] + 1 sockets, so a socket is always listening (the pool closes the
//!   idle connection that matters least to keep one); this file holds only the board's
//!   set-up.
//!
//! Log (defmt over RTT, shown by `probe-rs run`): the MAC address, the DHCP address and
//! `listening on http://A.B.C.D:80/`, then one line per request (degu-core's
//! `RequestLogger`: peer, method and URI, status, body bytes sent, duration) and one per
//! connection.
#![no_std]
#![no_main]

use defmt::{info, warn};
use degu_core::logger::RequestLogger;
use degu_embassy::EmbassyClock;
use degu_embassy::{LogEvents, PoolState, ServeConfig};
use degu_examples::demo::DemoApp;
use embassy_executor::Spawner;
use embassy_net::{Runner, Stack, StackResources};
use embassy_stm32::eth::{self, Ethernet, GenericPhy, PacketQueue, Sma};
use embassy_stm32::peripherals::{ETH, ETH_SMA, RNG};
use embassy_stm32::rng::{self, Rng};
use embassy_stm32::{Config, bind_interrupts, rcc};
use static_cell::{ConstStaticCell, StaticCell};
use {defmt_rtt as _, panic_probe as _};

/// Requests handled at once: one set of engine buffers each.
const WORKERS: usize = 2;
/// The HTTP port.
const PORT: u16 = 80;
/// Each socket's receive and send buffers (the TCP windows).
const SOCKET_BUFFER: usize = 4096;

static CONFIG: ServeConfig = ServeConfig::new();

/// The demo app, each request logged through `defmt` (peer, method, URI, status, body
/// bytes sent, duration).
static APP: RequestLogger<DemoApp, EmbassyClock> = RequestLogger::new(DemoApp, EmbassyClock);

bind_interrupts!(struct Irqs {
    ETH => eth::InterruptHandler;
    HASH_RNG => rng::InterruptHandler<RNG>;
});

type Device = Ethernet<'static, ETH, GenericPhy<Sma<'static, ETH_SMA>>>;

/// The server's memory, in one `static`: [`WORKERS`] sets of engine buffers and
/// [`WORKERS`] + 1 sockets (the spare keeps one listening while every worker's
/// connection is open, closing the connection that matters least when it must).
type Pool = PoolState<WORKERS, SOCKET_BUFFER, SOCKET_BUFFER>;

static POOL: ConstStaticCell<Pool> = ConstStaticCell::new(Pool::new());

#[embassy_executor::main]
async fn main(spawner: Spawner) {
    let p = embassy_stm32::init(clocks());
    info!("degu demo on NUCLEO-F429ZI");

    let mut rng = Rng::new(p.RNG, Irqs);
    let mut seed = [0; 8];
    if let Err(e) = rng.async_fill_bytes(&mut seed).await {
        warn!("RNG: {}; the network seed falls back to the chip ID", e);
    }
    let uid = embassy_stm32::uid::uid();
    let seed = u64::from_le_bytes(seed)
        ^ u64::from_le_bytes([
            uid[0], uid[1], uid[2], uid[3], uid[4], uid[5], uid[6], uid[7],
        ]);

    // Locally administered, unicast (0x02 in the first byte), the rest from the unique ID.
    let mac = [
        0x02,
        uid[0] ^ uid[6],
        uid[1] ^ uid[7],
        uid[2] ^ uid[8],
        uid[3] ^ uid[9],
        uid[4] ^ uid[10] ^ uid[11] ^ uid[5],
    ];
    info!("MAC {=[u8]:02x}", mac);

    static PACKETS: ConstStaticCell<PacketQueue<4, 4>> = ConstStaticCell::new(PacketQueue::new());
    let device: Device = Ethernet::new(
        PACKETS.take(),
        p.ETH,
        Irqs,
        p.PA1,  // REF_CLK
        p.PA7,  // CRS_DV
        p.PC4,  // RXD0
        p.PC5,  // RXD1
        p.PG13, // TXD0
        p.PB13, // TXD1
        p.PG11, // TX_EN
        mac,
        p.ETH_SMA,
        p.PA2, // MDIO
        p.PC1, // MDC
    );

    let config = embassy_net::Config::dhcpv4(Default::default());
    // The pool's sockets, plus DHCP's.
    static RESOURCES: StaticCell<StackResources<{ Pool::SOCKETS + 1 }>> = StaticCell::new();
    let (stack, runner) =
        embassy_net::new(device, config, RESOURCES.init(StackResources::new()), seed);
    spawner.spawn(defmt::unwrap!(net_task(runner)));

    info!("waiting for the link and DHCP");
    stack.wait_config_up().await;
    match stack.config_v4() {
        Some(v4) => info!("listening on http://{}:{}/", v4.address.address(), PORT),
        None => info!("listening on port {}", PORT),
    }
    spawner.spawn(defmt::unwrap!(server(stack, POOL.take())));
}

/// HSI (16 MHz) / 8 × 168 = 336 MHz VCO: /2 = 168 MHz system clock, /7 = 48 MHz for the
/// RNG. AHB 168 MHz (Ethernet needs at least 25 MHz), APB1 42 MHz, APB2 84 MHz.
fn clocks() -> Config {
    let mut config = Config::default();
    config.rcc.hsi = true;
    config.rcc.pll_src = rcc::PllSource::HSI;
    config.rcc.pll = Some(rcc::Pll {
        prediv: rcc::PllPreDiv::DIV8,
        mul: rcc::PllMul::MUL168,
        divp: Some(rcc::PllPDiv::DIV2),
        divq: Some(rcc::PllQDiv::DIV7),
        divr: None,
    });
    config.rcc.sys = rcc::Sysclk::PLL1_P;
    config.rcc.ahb_pre = rcc::AHBPrescaler::DIV1;
    config.rcc.apb1_pre = rcc::APBPrescaler::DIV4;
    config.rcc.apb2_pre = rcc::APBPrescaler::DIV2;
    config
}

#[embassy_executor::task]
async fn net_task(mut runner: Runner<'static, Device>) -> ! {
    runner.run().await
}

/// Every socket of the pool, in this one task.
#[embassy_executor::task]
async fn server(stack: Stack<'static>, pool: &'static mut Pool) -> ! {
    pool.run_with(stack, PORT, &APP, &CONFIG, &LogEvents).await
}
