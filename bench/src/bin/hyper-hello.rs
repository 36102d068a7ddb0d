//! `hyper-hello [--address IP:PORT] [--workers N]`: hyper's twin of `demo-server`'s
//! `GET /hello` for `bench/wrk.sh`. A multi-thread Tokio runtime (`--workers` threads,
//! default one per core), a task per connection, hyper 1.x HTTP/1 with its defaults
//! except the `date` header, which is off so the response is the same bytes as Degu's:
//! `HTTP/1.1 200 OK`, `content-length: 12`, `hello, world`. Anything else is 404.
//!
//! Prints `listening on <address>` first, then serves until killed.

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::io::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;

const USAGE: &str = "usage: hyper-hello [--address IP:PORT] [--workers N]";

async fn hello(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let found =
        matches!(*request.method(), Method::GET | Method::HEAD) && request.uri() == "/hello";
    Ok(if found {
        Response::new(Full::new(Bytes::from_static(b"hello, world")))
    } else {
        let mut r = Response::new(Full::new(Bytes::new()));
        *r.status_mut() = StatusCode::NOT_FOUND;
        r
    })
}

async fn serve(address: SocketAddr) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(address).await?;
    println!("listening on {}", listener.local_addr()?);
    std::io::stdout().flush()?;
    loop {
        let (s, _) = listener.accept().await?;
        s.set_nodelay(true)?;
        tokio::spawn(async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .auto_date_header(false)
                .serve_connection(TokioIo::new(s), service_fn(hello))
                .await;
        });
    }
}

fn parse_args() -> Result<(SocketAddr, Option<usize>), lexopt::Error> {
    use lexopt::prelude::*;
    let mut address: SocketAddr = "127.0.0.1:8081".parse().map_err(|e| format!("{e}"))?;
    let mut workers = None;
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next()? {
        match arg {
            Long("address") | Short('a') => address = parser.value()?.parse()?,
            Long("workers") => workers = Some(parser.value()?.parse()?),
            Long("help") | Short('h') => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            _ => return Err(arg.unexpected()),
        }
    }
    Ok((address, workers))
}

fn main() -> ExitCode {
    let (address, workers) = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("hyper-hello: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    if let Some(n) = workers {
        builder.worker_threads(n);
    }
    let result = builder.build().and_then(|rt| rt.block_on(serve(address)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hyper-hello: {e}");
            ExitCode::FAILURE
        }
    }
}
