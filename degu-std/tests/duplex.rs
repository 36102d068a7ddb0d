//! The full-duplex client, async and blocking, against servers that answer before a
//! request body is all sent: an early refusal reaches the caller as a response (not an
//! I/O error) and closes the connection; a streaming echo larger than every socket
//! buffer completes through the simple verbs, whose request body keeps going out while
//! the response body is read.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use degu_core::app::{App, Request, Session};
use degu_core::engine::{Error, Read, Responder, Sent, Write};
use degu_examples::demo::DemoApp;
use degu_std::blocking::Wait;
use degu_std::{BodyExt, Client, TempServer};
use std::time::{Duration, Instant};

/// Refuses every PUT at once, without reading its body: 413 (a status after which a
/// Degu server closes the connection).
struct Refuser;

impl App for Refuser {
    type State = ();

    async fn handle<'r, R: Read, W: Write>(
        &self,
        _: &mut Session<'_, ()>,
        _request: Request<'_, R>,
        responder: Responder<'r, W>,
    ) -> Result<Sent<'r>, Error> {
        responder
            .send(413, "Content Too Large", &[], b"too large")
            .await
    }
}

/// 20 MiB: more than the socket buffers of both ends together.
fn big() -> Vec<u8> {
    (0..20 * 1024 * 1024).map(|i| (i % 251) as u8).collect()
}

#[test]
fn blocking_client_gets_an_early_refusal_as_a_response() {
    let body = big();
    for server in [
        TempServer::ipv4(Refuser).unwrap(),
        TempServer::unix(Refuser).unwrap(),
    ] {
        let client = Client::new(server.address().clone());
        let mut conn = client.connect_blocking().unwrap();
        let started = Instant::now();
        let mut r = conn.put("/upload", &[], &body).wait().unwrap();
        assert_eq!((r.status, r.reason), (413, "Content Too Large"));
        assert_eq!(r.body.read_to_vec().wait().unwrap(), b"too large");
        assert!(!r.body.pump().is_sent());
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(conn.is_closed());
        assert_eq!(
            conn.get("/", &[]).wait().err(),
            Some(Error::Closed),
            "no request after an unsent body"
        );
    }
}

#[tokio::test(flavor = "current_thread")]
async fn async_client_gets_an_early_refusal_as_a_response() {
    let body = big();
    for server in [
        TempServer::ipv6(Refuser).unwrap(),
        TempServer::unix(Refuser).unwrap(),
    ] {
        let client = Client::new(server.address().clone());
        let mut conn = client.connect().await.unwrap();
        let mut r = conn.post("/upload", &[], &body).await.unwrap();
        assert_eq!(r.status, 413);
        assert_eq!(r.body.read_to_vec().await.unwrap(), b"too large");
        assert!(conn.is_closed());
    }
}

/// The simple verbs against a streaming echo: the server answers with the first piece
/// and writes as it reads, so the client must keep sending while it reads.
#[test]
fn simple_verbs_complete_a_streaming_echo_larger_than_the_socket_buffers() {
    let body = big();
    let server = TempServer::unix(DemoApp).unwrap();
    let client = Client::new(server.address().clone());
    let mut conn = client.connect_blocking().unwrap();
    for _ in 0..2 {
        let mut r = conn.put("/echo", &[], &body).wait().unwrap();
        assert_eq!(r.status, 200);
        assert!(
            r.body.read_to_vec().wait().unwrap() == body,
            "echoed intact"
        );
        assert!(r.body.pump().is_sent());
    }
    assert!(!conn.is_closed(), "a whole exchange keeps the connection");

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut conn = client.connect().await.unwrap();
        let mut r = conn.post("/echo", &[], &body).await.unwrap();
        assert!(r.body.read_to_vec().await.unwrap() == body, "echoed intact");
        let mut r = conn.get("/hello", &[]).await.unwrap();
        assert_eq!(r.body.read_to_vec().await.unwrap(), b"hello, world");
    });
}

/// Base headers go with every request; a call's own header of the same name wins.
#[test]
fn base_headers_are_sent_with_every_request() {
    struct Echo;
    impl App for Echo {
        type State = ();
        async fn handle<'r, R: Read, W: Write>(
            &self,
            _: &mut Session<'_, ()>,
            request: Request<'_, R>,
            responder: Responder<'r, W>,
        ) -> Result<Sent<'r>, Error> {
            let auth = request.header("authorization").unwrap_or("-");
            let host = request.header("host").unwrap_or("-");
            let body = format!("{auth} {host}");
            responder.send(200, "OK", &[], body.as_bytes()).await
        }
    }
    let server = TempServer::ipv4(Echo).unwrap();
    let config = degu_std::ClientConfig::for_address(server.address())
        .header("Authorization", "Bearer base");
    let client = Client::with_config(server.address().clone(), config);
    let mut conn = client.connect_blocking().unwrap();
    let host = server.address().host_header(80).unwrap();
    let mut r = conn.get("/", &[]).wait().unwrap();
    assert_eq!(
        r.body.read_to_vec().wait().unwrap(),
        format!("Bearer base {host}").as_bytes()
    );
    let own = [degu_core::Header::new("authorization", "Bearer call")];
    let mut r = conn.get("/", &own).wait().unwrap();
    assert_eq!(
        r.body.read_to_vec().wait().unwrap(),
        format!("Bearer call {host}").as_bytes()
    );
}
