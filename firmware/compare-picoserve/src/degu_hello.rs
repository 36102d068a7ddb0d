// `GET /hello` → `hello, world` with Degu (degu-embassy), one worker: the firmware of
// `degu-hello`, and of `degu-hello-<feature>`, the same built with one cargo feature
// more to measure what it costs (Cargo.toml). Each of those binaries `include!`s this
// file: in the library it would change how picoserve-hello and net-baseline are
// compiled (LLVM's inlining follows what else a crate holds), and so their sizes.

use compare_picoserve::{PORT, SOCKET_BUFFER, footprint, start};
use degu_core::Method;
use degu_core::app::{App, Request, Session};
use degu_core::engine::{Buffers, Error, Read, Responder, Sent, Write};
use degu_embassy::{ServeConfig, serve_socket};
use embassy_net::Stack;
use embassy_net::tcp::TcpSocket;
#[cfg(feature = "defmt")]
use defmt_rtt as _;
use panic_semihosting as _;
use static_cell::ConstStaticCell;

static CONFIG: ServeConfig = ServeConfig::new();

struct Hello;

impl App for Hello {
    type State = ();

    async fn handle<'r, R: Read, W: Write>(
        &self,
        _session: &mut Session<'_, ()>,
        request: Request<'_, R>,
        responder: Responder<'r, W>,
    ) -> Result<Sent<'r>, Error> {
        match (request.method, request.uri) {
            #[cfg(not(feature = "chunked"))]
            (Method::Get | Method::Head, "/hello") => {
                responder.send(200, "OK", &[], b"hello, world").await
            }
            #[cfg(feature = "chunked")]
            (Method::Get | Method::Head, "/hello") => {
                let mut body = responder.chunked(200, "OK", &[]).await?;
                body.write_chunk(None, b"hello, world").await?;
                body.finish(None).await
            }
            _ => responder.send(404, "Not Found", &[], b"").await,
        }
    }
}

struct Worker {
    rx: [u8; SOCKET_BUFFER],
    tx: [u8; SOCKET_BUFFER],
    http: Buffers<1024, 1024>,
}

static WORKER: ConstStaticCell<Worker> = ConstStaticCell::new(Worker {
    rx: [0; SOCKET_BUFFER],
    tx: [0; SOCKET_BUFFER],
    http: Buffers::new(),
});

/// Accept and serve, one connection at a time (what picoserve's `listen_and_serve` is).
async fn listen_and_serve(stack: Stack<'static>, worker: &'static mut Worker) -> ! {
    let Worker { rx, tx, http } = worker;
    let mut socket = TcpSocket::new(stack, rx, tx);
    loop {
        if socket.accept(PORT).await.is_ok() {
            let _ = serve_socket(&mut socket, http, &Hello, &CONFIG).await;
        }
    }
}

#[embassy_executor::main]
async fn main(spawner: embassy_executor::Spawner) {
    let stack = start(spawner).await;
    let worker = listen_and_serve(stack, WORKER.take());
    footprint("degu", core::mem::size_of_val(&worker));
    worker.await
}
