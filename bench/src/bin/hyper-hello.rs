//! `hyper-hello [--address IP:PORT|PATH] [--workers N]`: hyper's twin of `demo-server`'s
//! `GET /hello` and `PUT`/`POST /echo` for `bench/wrk.sh` and `server-bench`. A
//! multi-thread Tokio runtime (`--workers` threads, default one per core), a task per
//! connection, hyper 1.x HTTP/1 with its defaults except the `date` header, which is off
//! so the responses are the same bytes as Degu's: `HTTP/1.1 200 OK`, `content-length:
//! 12`, `hello, world`; `/echo` answers the request body (collected, then sent with its
//! length). Anything else is 404. An `--address` with a `/` is an AF_UNIX path.
//!
//! Prints `listening on <address>` first, then serves until killed.

use bytes::Bytes;
use degu_bench::server_args::{Listen, ServerArgs, server_args};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::io::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;

const USAGE: &str = "usage: hyper-hello [--address IP:PORT|PATH] [--workers N]";

async fn hello(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let hello =
        matches!(*request.method(), Method::GET | Method::HEAD) && request.uri() == "/hello";
    let echo = matches!(*request.method(), Method::PUT | Method::POST) && request.uri() == "/echo";
    Ok(if hello {
        Response::new(Full::new(Bytes::from_static(b"hello, world")))
    } else if echo {
        match request.into_body().collect().await {
            Ok(body) => Response::new(Full::new(body.to_bytes())),
            Err(_) => status(StatusCode::BAD_REQUEST),
        }
    } else {
        status(StatusCode::NOT_FOUND)
    })
}

fn status(code: StatusCode) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = code;
    r
}

fn spawn_connection<S>(s: S)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        let _ = hyper::server::conn::http1::Builder::new()
            .auto_date_header(false)
            .serve_connection(TokioIo::new(s), service_fn(hello))
            .await;
    });
}

async fn serve(address: Listen) -> std::io::Result<()> {
    match address {
        Listen::Tcp(address) => {
            let listener = tokio::net::TcpListener::bind(address).await?;
            println!("listening on {}", listener.local_addr()?);
            std::io::stdout().flush()?;
            loop {
                let (s, _) = listener.accept().await?;
                s.set_nodelay(true)?;
                spawn_connection(s);
            }
        }
        Listen::Unix(path) => {
            let listener = tokio::net::UnixListener::bind(&path)?;
            println!("listening on {}", path.display());
            std::io::stdout().flush()?;
            loop {
                let (s, _) = listener.accept().await?;
                spawn_connection(s);
            }
        }
    }
}

fn main() -> ExitCode {
    let default = SocketAddr::from(([127, 0, 0, 1], 8081));
    let ServerArgs { address, workers } = match server_args("hyper-hello", USAGE, default) {
        Ok(a) => a,
        Err(code) => return code,
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
