//! The engine allocates nothing. A counting global allocator (per thread)
//! watches 1,000 full request/response cycles between the client and server engines
//! (length and chunked bodies, extensions, HEAD, keep-alive) after the pipe and buffers
//! are set up, and must see zero heap operations.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use degu_core::Method;
use degu_core::app::{PeerAddr, Session};
use degu_core::engine::{Buffers, Connection, KeepAlive, ServerEnd, serve};
use degu_core::testing::Duplex;
use degu_core::{ChunkExt, Framing};
use degu_examples::demo::DemoApp;
use densa_alloc::{CountingAllocator, measure};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator::system();

#[test]
fn a_thousand_cycles_allocate_nothing() {
    // Warm the executor's thread-local waker up outside the measured window.
    futures::executor::block_on(async {});
    let (mut there, mut back) = (vec![0u8; 64 * 1024], vec![0u8; 64 * 1024]);
    let mut pipes = Duplex::new(&mut there, &mut back);
    let (mut server_end, client_end) = pipes.split();
    let mut rbuf = [0u8; 4096];
    let mut wbuf = [0u8; 2048];
    let mut buffers = Buffers::<4096, 2048>::new();
    let config = KeepAlive::new().max_requests(10_000);

    let ((cycles, end), stats) = measure(|| {
        futures::executor::block_on(async {
            let server = async {
                let mut session = Session::new(PeerAddr::Unnamed, ());
                let r = serve(
                    &mut server_end,
                    &mut buffers,
                    &DemoApp,
                    &mut session,
                    &config,
                )
                .await;
                (r, session.requests())
            };
            let client = async move {
                let mut c =
                    Connection::new(client_end.rx, client_end.tx, &mut rbuf[..], &mut wbuf[..]);
                let mut body = [0u8; 256];
                let mut cycles = 0u32;
                for i in 0..250 {
                    let mut r = c.get("/hello", &[]).await.unwrap();
                    let n = r.body.read_to_end(&mut body).await.unwrap();
                    assert_eq!(&body[..n], b"hello, world");

                    let mut r = c.put("/echo", &[], b"ping pong").await.unwrap();
                    let n = r.body.read_to_end(&mut body).await.unwrap();
                    assert_eq!(&body[..n], b"ping pong");

                    let (mut w, response) = c
                        .send(Method::Post, "/echo", &[], Framing::Chunked)
                        .unwrap();
                    let sending = async {
                        w.write_chunk(Some(ChunkExt::new("seq", "1")), b"first")
                            .await?;
                        w.write_chunk(None, b"second").await?;
                        w.finish(Some(ChunkExt::new("end", "x"))).await
                    };
                    let (sent, r) = futures::join!(sending, response.receive());
                    sent.unwrap();
                    let mut r = r.unwrap();
                    let mut pieces = 0;
                    while let Some(p) = r.body.read_chunk(&mut body).await.unwrap() {
                        if p.first && p.chunk_size == 5 {
                            assert_eq!(p.ext, Some(ChunkExt::new("seq", "1")));
                        }
                        pieces += 1;
                    }
                    assert_eq!(pieces, 3);

                    let (method, uri) = if i % 2 == 0 {
                        (Method::Get, "/chunks?n=2")
                    } else {
                        (Method::Head, "/hello")
                    };
                    let mut r = c.request(method, uri, &[], None).await.unwrap();
                    if method == Method::Get {
                        while r.body.read_chunk(&mut body).await.unwrap().is_some() {}
                    } else {
                        assert_eq!(r.headers.get("content-length"), Some("12"));
                        assert_eq!(r.body.read(&mut body).await.unwrap(), 0);
                    }
                    cycles += 4;
                }
                cycles
            };
            let (cycles, (end, requests)) = futures::join!(client, server);
            assert_eq!(requests, cycles);
            (cycles, end)
        })
    });
    assert_eq!(cycles, 1000);
    assert_eq!(end.unwrap(), ServerEnd::PeerClosed);
    // The same window does count what allocates, so the zero above is not vacuous.
    let (_, sanity) = measure(|| {
        futures::executor::block_on(async { std::hint::black_box(vec![0u8; 10]).len() })
    });
    assert_eq!(sanity.allocs, 1);
    assert!(
        stats.is_zero(),
        "{} allocs, {} reallocs, {} deallocs ({} bytes) in 1,000 cycles",
        stats.allocs,
        stats.reallocs,
        stats.deallocs,
        stats.bytes_allocated
    );
}
