//! The whole-request deadline (`ClientConfig::deadline`) of the async and blocking
//! clients, against a Degu server that trickles its response: every byte arrives well
//! within the per-I/O timeout, yet the request fails at its deadline with a timeout
//! error; each request of a connection gets a deadline of its own.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use degu_core::app::{App, Request, Session};
use degu_core::engine::{Error, Read, Responder, Sent, Write};
use degu_std::blocking::Wait;
use degu_std::{BodyExt, Client, ClientConfig, TempServer};
use std::time::{Duration, Instant};

/// Time between two trickled bytes: far below the per-I/O timeout.
const TRICKLE: Duration = Duration::from_millis(100);

/// The per-I/O timeout of the clients under test.
const IO_TIMEOUT: Duration = Duration::from_secs(3);

/// Their whole-request deadline.
const DEADLINE: Duration = Duration::from_millis(1000);

/// `GET /trickle?N`: N one-byte chunks, one every [`TRICKLE`] (each chunk is sent as it
/// is written; length-body bytes would be coalesced).
struct Trickle;

impl App for Trickle {
    type State = ();

    async fn handle<'r, R: Read, W: Write>(
        &self,
        _: &mut Session<'_, ()>,
        request: Request<'_, R>,
        responder: Responder<'r, W>,
    ) -> Result<Sent<'r>, Error> {
        let n: u32 = request.query.and_then(|q| q.parse().ok()).unwrap_or(0);
        let mut body = responder.chunked(200, "OK", &[]).await?;
        for _ in 0..n {
            tokio::time::sleep(TRICKLE).await;
            body.write_chunk(None, b"x").await?;
        }
        body.finish(None).await
    }
}

fn client(server: &TempServer) -> Client {
    let mut config = ClientConfig::for_address(server.address()).with_deadline(DEADLINE);
    config.timeout = Some(IO_TIMEOUT);
    Client::with_config(server.address().clone(), config)
}

/// A failure at the deadline: a timeout, after the deadline and well before the
/// per-I/O timeout could have fired.
fn assert_cut_at_deadline(e: Error, took: Duration) {
    assert_eq!(e, Error::Io(embedded_io::ErrorKind::TimedOut), "{e}");
    assert!(took >= DEADLINE, "cut before the deadline: {took:?}");
    assert!(
        took < DEADLINE + Duration::from_millis(700),
        "cut long after the deadline: {took:?}"
    );
}

#[test]
fn blocking_request_slower_than_its_deadline_fails_at_the_deadline() {
    let server = TempServer::start(&"127.0.0.1:0".parse().unwrap(), Trickle).unwrap();
    let mut conn = client(&server).connect_blocking().unwrap();
    let start = Instant::now();
    // 40 bytes take 4 s; each arrives 100 ms after the last.
    let mut response = conn.get("/trickle?40", &[]).wait().unwrap();
    assert_eq!(response.status, 200);
    let mut got = 0;
    let mut buf = [0u8; 64];
    let e = loop {
        match response.body.read(&mut buf).wait() {
            Ok(0) => panic!("the whole body arrived before the deadline"),
            Ok(n) => got += n,
            Err(e) => break e,
        }
    };
    assert_cut_at_deadline(e, start.elapsed());
    assert!((5..40).contains(&got), "bytes before the deadline: {got}");
    assert!(conn.is_closed());
    println!("blocking: cut after {:?} with {got} bytes", start.elapsed());
}

#[test]
fn async_request_slower_than_its_deadline_fails_at_the_deadline() {
    let server = TempServer::start(&"127.0.0.1:0".parse().unwrap(), Trickle).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut conn = client(&server).connect().await.unwrap();
        let start = Instant::now();
        let mut response = conn.get("/trickle?40", &[]).await.unwrap();
        let mut got = 0;
        let mut buf = [0u8; 64];
        let e = loop {
            match response.body.read(&mut buf).await {
                Ok(0) => panic!("the whole body arrived before the deadline"),
                Ok(n) => got += n,
                Err(e) => break e,
            }
        };
        assert_cut_at_deadline(e, start.elapsed());
        assert!((5..40).contains(&got), "bytes before the deadline: {got}");
        assert!(conn.is_closed());
        println!("async: cut after {:?} with {got} bytes", start.elapsed());
    });
}

#[test]
fn each_request_has_its_own_deadline() {
    let server = TempServer::start(&"127.0.0.1:0".parse().unwrap(), Trickle).unwrap();
    // Three requests of 0.6 s each on one connection: 1.8 s in all, each within 1 s.
    let mut conn = client(&server).connect_blocking().unwrap();
    for _ in 0..3 {
        let body = conn
            .get("/trickle?6", &[])
            .wait()
            .unwrap()
            .body
            .read_to_vec()
            .wait();
        assert_eq!(body.unwrap(), b"xxxxxx");
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut conn = client(&server).connect().await.unwrap();
        for _ in 0..3 {
            let mut r = conn.get("/trickle?6", &[]).await.unwrap();
            assert_eq!(r.body.read_to_vec().await.unwrap(), b"xxxxxx");
        }
    });
}

#[test]
fn without_a_deadline_a_slow_request_completes() {
    let server = TempServer::start(&"127.0.0.1:0".parse().unwrap(), Trickle).unwrap();
    let mut config = ClientConfig::for_address(server.address());
    assert_eq!(config.deadline, None, "no deadline by default");
    config.timeout = Some(IO_TIMEOUT);
    let client = Client::with_config(server.address().clone(), config);
    let mut conn = client.connect_blocking().unwrap();
    let start = Instant::now();
    let body = conn
        .get("/trickle?15", &[])
        .wait()
        .unwrap()
        .body
        .read_to_vec()
        .wait();
    assert_eq!(body.unwrap().len(), 15);
    assert!(
        start.elapsed() > DEADLINE,
        "slower than the deadline the others use"
    );
}
