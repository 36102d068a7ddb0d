//! Degu's side of the benchmark: the pong app on a degu-std [`Server`], and request
//! loops for the async and the blocking degu-std clients.

use crate::BoxError;
use crate::workload::{PING, PONG};
use degu_core::Method;
use degu_core::app::{App, Request, Session};
use degu_core::engine::{Error, Read, Responder, Sent, Write};
use degu_std::blocking::{BlockingConnection, Wait};
use degu_std::{Address, Client, ClientConfig, RunningServer, Server, ServerConfig};
use degu_std::{ClientConnection, TlsClientConfig, TlsServerConfig};
use std::io;

/// Answers `POST` with a 108-byte body by `200 OK` and the pong body; anything else
/// with an error status.
#[derive(Clone, Copy, Debug, Default)]
pub struct PongApp;

impl App for PongApp {
    type State = ();

    async fn handle<'r, R: Read, W: Write>(
        &self,
        _session: &mut Session<'_, ()>,
        mut request: Request<'_, R>,
        responder: Responder<'r, W>,
    ) -> Result<Sent<'r>, Error> {
        if request.method != Method::Post {
            return responder.send(405, "Method Not Allowed", &[], b"").await;
        }
        let mut body = [0u8; 256];
        let n = request.body.read_to_end(&mut body).await?;
        if n != PING.len() {
            return responder.send(400, "Bad Request", &[], b"").await;
        }
        responder.send(200, "OK", &[], PONG).await
    }
}

/// The server configuration: degu-std's defaults (one worker thread with a
/// current-thread runtime, every timeout armed) except `max_requests`, raised so that one
/// connection carries a whole run as it does with hyper (which has no such limit).
pub fn server_config(tls: Option<TlsServerConfig>) -> ServerConfig {
    ServerConfig {
        max_requests: u32::MAX,
        tls,
        ..ServerConfig::default()
    }
}

/// Serve [`PongApp`] on `address` on background worker threads.
pub fn start_server(address: &Address, tls: Option<TlsServerConfig>) -> io::Result<RunningServer> {
    Server::bind(address, server_config(tls))?.spawn(PongApp)
}

/// The client configuration: degu-std's defaults for `address` without the `host`
/// header, so the request is the workload's 148 bytes exactly.
pub fn client_config(address: &Address, tls: Option<TlsClientConfig>) -> ClientConfig {
    ClientConfig {
        host: None,
        tls,
        ..ClientConfig::for_address(address)
    }
}

fn check(status: u16, len: usize) -> Result<(), BoxError> {
    if status != 200 || len != PONG.len() {
        return Err(format!("unexpected response: status {status}, {len} body bytes").into());
    }
    Ok(())
}

/// `n` round trips on an async connection.
pub async fn async_requests(conn: &mut ClientConnection, n: usize) -> Result<(), BoxError> {
    let mut body = [0u8; 256];
    for _ in 0..n {
        let mut response = conn.post("/", &[], PING).await?;
        let len = response.body.read_to_end(&mut body).await?;
        check(response.status, len)?;
    }
    Ok(())
}

/// Connect an async client.
pub async fn async_connect(
    address: &Address,
    tls: Option<TlsClientConfig>,
) -> Result<ClientConnection, BoxError> {
    let client = Client::with_config(address.clone(), client_config(address, tls));
    Ok(client.connect().await?)
}

/// `n` round trips on a blocking connection, each `POST path` with the ping body.
pub fn blocking_requests(
    conn: &mut BlockingConnection,
    path: &str,
    n: usize,
) -> Result<(), BoxError> {
    let mut body = [0u8; 256];
    for _ in 0..n {
        let mut response = conn.post(path, &[], PING).wait()?;
        let len = response.body.read_to_end(&mut body).wait()?;
        check(response.status, len)?;
    }
    Ok(())
}

/// Connect a blocking client.
pub fn blocking_connect(
    address: &Address,
    tls: Option<TlsClientConfig>,
) -> Result<BlockingConnection, BoxError> {
    let client = Client::with_config(address.clone(), client_config(address, tls));
    Ok(client.connect_blocking()?)
}
