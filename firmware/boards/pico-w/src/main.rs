//! The demo app on a Raspberry Pi Pico W: `degu_examples::demo::DemoApp` served by
//! `degu-embassy` on port 80 over Wi-Fi, with an address from DHCP.
//!
//! * Wi-Fi: the board's CYW43439 driven by `cyw43`, over the RP2040's PIO as the chip's
//!   half-duplex SPI (`cyw43-pio`: PIN_23 power, PIN_24 data, PIN_25 chip select, PIN_29
//!   clock). Its firmware and CLM blobs come from the `cyw43-firmware` crate and are
//!   linked into flash (about 230 KB); [`NVRAM`] is the Pico W's board configuration.
//! * The network to join is fixed at build time: `WIFI_SSID` and `WIFI_PASSWORD` in the
//!   environment of `cargo build` (no password: an open network). Built without
//!   `WIFI_SSID`, the firmware says so in its log and stops.
//! * Serving: `degu-embassy`'s [`PoolState`] in one task, [`WORKERS`] requests at once
//!   over [`WORKERS`] + 1 sockets, so a socket is always listening (the pool closes the
//!   idle connection that matters least to keep one); this file holds only the board's
//!   set-up.
//! * The on-board LED (on the CYW43439's GPIO 0) lights once the device has an address.
//!
//! Log (defmt over RTT, shown by `probe-rs run`): the join, the DHCP address and
//! `listening on http://A.B.C.D:80/`, then one line per connection.
#![no_std]
#![no_main]

use cyw43::{A4, Aligned, JoinOptions};
use cyw43_pio::{DEFAULT_CLOCK_DIVIDER, PioSpi};
use defmt::{error, info, warn};
use degu_embassy::{LogEvents, PoolState, ServeConfig};
use degu_examples::demo::DemoApp;
use embassy_executor::Spawner;
use embassy_net::{Runner, Stack, StackResources};
use embassy_rp::clocks::RoscRng;
use embassy_rp::gpio::{Level, Output};
use embassy_rp::peripherals::{DMA_CH0, PIO0};
use embassy_rp::pio::{self, Pio};
use embassy_rp::{bind_interrupts, dma};
use embassy_time::Timer;
use static_cell::{ConstStaticCell, StaticCell};
use {defmt_rtt as _, panic_probe as _};

/// Requests handled at once: one set of engine buffers each.
const WORKERS: usize = 2;
/// The HTTP port.
const PORT: u16 = 80;
/// Each socket's receive and send buffers (the TCP windows).
const SOCKET_BUFFER: usize = 4096;

/// The network to join, from the build's environment.
const WIFI_SSID: Option<&str> = option_env!("WIFI_SSID");
const WIFI_PASSWORD: Option<&str> = option_env!("WIFI_PASSWORD");

static CONFIG: ServeConfig = ServeConfig::new();

bind_interrupts!(struct Irqs {
    PIO0_IRQ_0 => pio::InterruptHandler<PIO0>;
    DMA_IRQ_0 => dma::InterruptHandler<DMA_CH0>;
});

/// The CYW43439's firmware, 4-byte aligned as the driver wants it.
static FIRMWARE: Aligned<A4, [u8; cyw43_firmware::CYW43_43439A0.len()]> =
    Aligned(*cyw43_firmware::CYW43_43439A0);
/// The Pico W's NVRAM: the board's radio configuration, which the driver writes to the
/// chip before its firmware starts: `key=value` strings, each ended by NUL, then one more
/// NUL. These are the values `cyw43` 0.6 built in (its `src/nvram.rs`, MIT OR
/// Apache-2.0); 0.7 takes them as an argument, and the `cyw43-firmware` crate does not
/// ship them.
static NVRAM: &Aligned<A4, [u8]> = &Aligned(
    *b"\
    NVRAMRev=$Rev$\x00\
    manfid=0x2d0\x00\
    prodid=0x0727\x00\
    vendid=0x14e4\x00\
    devid=0x43e2\x00\
    boardtype=0x0887\x00\
    boardrev=0x1100\x00\
    boardnum=22\x00\
    macaddr=00:A0:50:b5:59:5e\x00\
    sromrev=11\x00\
    boardflags=0x00404001\x00\
    boardflags3=0x04000000\x00\
    xtalfreq=37400\x00\
    nocrc=1\x00\
    ag0=255\x00\
    aa2g=1\x00\
    ccode=ALL\x00\
    pa0itssit=0x20\x00\
    extpagain2g=0\x00\
    pa2ga0=-168,6649,-778\x00\
    AvVmid_c0=0x0,0xc8\x00\
    cckpwroffset0=5\x00\
    maxp2ga0=84\x00\
    txpwrbckof=6\x00\
    cckbw202gpo=0\x00\
    legofdmbw202gpo=0x66111111\x00\
    mcsbw202gpo=0x77711111\x00\
    propbw202gpo=0xdd\x00\
    ofdmdigfilttype=18\x00\
    ofdmdigfilttypebe=18\x00\
    papdmode=1\x00\
    papdvalidtest=1\x00\
    pacalidx2g=45\x00\
    papdepsoffset=-30\x00\
    papdendidx=58\x00\
    ltecxmux=0\x00\
    ltecxpadnum=0x0102\x00\
    ltecxfnsel=0x44\x00\
    ltecxgcigpio=0x01\x00\
    il0macaddr=00:90:4c:c5:12:38\x00\
    wl0id=0x431b\x00\
    deadman_to=0xffffffff\x00\
    muxenab=0x100\x00\
    spurconfig=0x3\x00\
    glitch_based_crsmin=1\x00\
    btc_mode=1\x00\
    \x00",
);

type Spi = PioSpi<'static, PIO0, 0>;

/// The server's memory, in one `static`: [`WORKERS`] sets of engine buffers and
/// [`WORKERS`] + 1 sockets (the spare keeps one listening while every worker's
/// connection is open, closing the connection that matters least when it must).
type Pool = PoolState<WORKERS, SOCKET_BUFFER, SOCKET_BUFFER>;

static POOL: ConstStaticCell<Pool> = ConstStaticCell::new(Pool::new());

#[embassy_executor::main]
async fn main(spawner: Spawner) {
    let p = embassy_rp::init(Default::default());
    info!("degu demo on Raspberry Pi Pico W");
    let Some(ssid) = WIFI_SSID else {
        error!("built without WIFI_SSID: set WIFI_SSID (and WIFI_PASSWORD) and rebuild");
        return;
    };

    let pwr = Output::new(p.PIN_23, Level::Low);
    let cs = Output::new(p.PIN_25, Level::High);
    let mut pio = Pio::new(p.PIO0, Irqs);
    let spi = PioSpi::new(
        &mut pio.common,
        pio.sm0,
        DEFAULT_CLOCK_DIVIDER,
        pio.irq0,
        cs,
        p.PIN_24,
        p.PIN_29,
        dma::Channel::new(p.DMA_CH0, Irqs),
    );
    static STATE: StaticCell<cyw43::State> = StaticCell::new();
    let (device, mut control, runner) =
        cyw43::new(STATE.init(cyw43::State::new()), pwr, spi, &FIRMWARE, NVRAM).await;
    spawner.spawn(defmt::unwrap!(cyw43_task(runner)));
    // The country location matrix (radio rules per country).
    control.init(cyw43_firmware::CYW43_43439A0_CLM).await;
    control
        .set_power_management(cyw43::PowerManagementMode::PowerSave)
        .await;

    let config = embassy_net::Config::dhcpv4(Default::default());
    let seed = RoscRng.next_u64();
    // The pool's sockets, plus DHCP's.
    static RESOURCES: StaticCell<StackResources<{ Pool::SOCKETS + 1 }>> = StaticCell::new();
    let (stack, runner) =
        embassy_net::new(device, config, RESOURCES.init(StackResources::new()), seed);
    spawner.spawn(defmt::unwrap!(net_task(runner)));

    let options = match WIFI_PASSWORD {
        Some(password) => JoinOptions::new(password.as_bytes()),
        None => JoinOptions::new_open(),
    };
    info!("joining {}", ssid);
    while let Err(e) = control.join(ssid, options.clone()).await {
        warn!("join failed: {}; again in 1 s", e);
        Timer::after_secs(1).await;
    }
    info!("joined; waiting for DHCP");
    stack.wait_config_up().await;
    match stack.config_v4() {
        Some(v4) => info!("listening on http://{}:{}/", v4.address.address(), PORT),
        None => info!("listening on port {}", PORT),
    }
    control.gpio_set(0, true).await;
    spawner.spawn(defmt::unwrap!(server(stack, POOL.take())));
}

#[embassy_executor::task]
async fn cyw43_task(runner: cyw43::Runner<'static, cyw43::SpiBus<Output<'static>, Spi>>) -> ! {
    runner.run().await
}

#[embassy_executor::task]
async fn net_task(mut runner: Runner<'static, cyw43::NetDriver<'static>>) -> ! {
    runner.run().await
}

/// Every socket of the pool, in this one task.
#[embassy_executor::task]
async fn server(stack: Stack<'static>, pool: &'static mut Pool) -> ! {
    pool.run_with(stack, PORT, &DemoApp, &CONFIG, &LogEvents)
        .await
}
