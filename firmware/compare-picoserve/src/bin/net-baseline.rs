//! No HTTP: accept on port 80, close. The board, network and executor alone.
#![no_std]
#![no_main]

use compare_picoserve::{PORT, SOCKET_BUFFER, start};
use embassy_net::tcp::TcpSocket;
use panic_semihosting as _;
use static_cell::ConstStaticCell;

static SOCKET: ConstStaticCell<([u8; SOCKET_BUFFER], [u8; SOCKET_BUFFER])> =
    ConstStaticCell::new(([0; SOCKET_BUFFER], [0; SOCKET_BUFFER]));

#[embassy_executor::main]
async fn main(spawner: embassy_executor::Spawner) {
    let stack = start(spawner).await;
    let (rx, tx) = SOCKET.take();
    let mut socket = TcpSocket::new(stack, rx, tx);
    loop {
        if socket.accept(PORT).await.is_ok() {
            socket.close();
            let _ = socket.flush().await;
            socket.abort();
        }
    }
}
