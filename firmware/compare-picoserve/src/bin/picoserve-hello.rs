//! `GET /hello` → `hello, world` with picoserve 0.20, one worker.
#![no_std]
#![no_main]

use compare_picoserve::{HTTP_BUFFER, PORT, SOCKET_BUFFER, footprint, start};
use panic_semihosting as _;
use picoserve::routing::get;
use static_cell::ConstStaticCell;

static CONFIG: picoserve::Config = picoserve::Config::const_default().keep_connection_alive();

struct Worker {
    rx: [u8; SOCKET_BUFFER],
    tx: [u8; SOCKET_BUFFER],
    http: [u8; HTTP_BUFFER],
}

static WORKER: ConstStaticCell<Worker> = ConstStaticCell::new(Worker {
    rx: [0; SOCKET_BUFFER],
    tx: [0; SOCKET_BUFFER],
    http: [0; HTTP_BUFFER],
});

#[embassy_executor::main]
async fn main(spawner: embassy_executor::Spawner) {
    let stack = start(spawner).await;
    let app = picoserve::Router::new().route("/hello", get(async || "hello, world"));
    let Worker { rx, tx, http } = WORKER.take();
    let worker =
        picoserve::Server::new(&app, &CONFIG, http).listen_and_serve(0, stack, PORT, rx, tx);
    footprint("picoserve", core::mem::size_of_val(&worker));
    worker.await;
}
