//! `demo-server [--address ADDR] [--workers N] [--max-connections N] [--files DIR]
//! [--cert F --key F (--ca F | --allow-anonymous)]`: serve the demo app until SIGINT or
//! SIGTERM, then shut down gracefully. With `--files DIR` it also serves the files under
//! DIR at `/files/` (degu-std's `FilesApp`: byte ranges, no listings). With `--cert` and
//! `--key` it serves TLS and requires client certificates signed by `--ca`, unless
//! `--allow-anonymous` is given.
//!
//! The first line on stdout is `listening on <bound address>` (with the real port when
//! the address asked for port 0), so scripts can start it and read where it is.

use degu_core::app::{App, Request, Session};
use degu_core::engine::{Error, Read, Responder, Sent, Write};
use degu_examples::demo::DemoApp;
use degu_std::{Address, FilesApp, ServerConfig, TlsServerConfig};
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: demo-server [--address ADDR] [--workers N] [--max-connections N]
                   [--files DIR] [--cert FILE --key FILE (--ca FILE | --allow-anonymous)]";

const HELP: &str = concat!(
    "demo-server ",
    env!("CARGO_PKG_VERSION"),
    ": serve Degu's demo app (GET/HEAD /hello, PUT/POST /echo, GET /chunks?n=N)
until SIGINT or SIGTERM, then shut down gracefully; with --files, also a directory's
files at /files/. The first line on stdout is `listening on <bound address>`.

usage: demo-server [--address ADDR] [--workers N] [--max-connections N]
                   [--files DIR] [--cert FILE --key FILE (--ca FILE | --allow-anonymous)]

options:
  -a, --address ADDR       where to listen (default 127.0.0.1:8080): IPv4, [IPv6] with an
                           optional %scope, an AF_UNIX path or @abstract name; port 0
                           picks a free port
                           e.g. demo-server --address '[::1]:8080'
  --workers N              worker threads, each with its own Tokio runtime (default 1)
                           e.g. demo-server --workers 2
  --max-connections N      connections at once (default 50); when all are taken an idle
                           one is closed, or the new one waits up to 2 s
                           e.g. demo-server --max-connections 64
  --files DIR              also serve the files under DIR at /files/: GET and HEAD, byte
                           ranges (curl -r, curl -C -), no directory listings
                           e.g. demo-server --files ./firmware-images
  --cert FILE              serve TLS with this certificate chain (PEM); needs --key
                           e.g. demo-server --cert server.pem --key server.key --ca ca.pem
  --key FILE               the private key of --cert (PEM)
                           e.g. demo-server --cert server.pem --key server.key --allow-anonymous
  --ca FILE                require client certificates signed by this CA (PEM)
                           e.g. demo-server --cert server.pem --key server.key --ca ca.pem
  --allow-anonymous        TLS without client certificates (instead of --ca)
                           e.g. demo-server --cert server.pem --key server.key --allow-anonymous
  -h, --help               print this help
                           e.g. demo-server --help
  -V, --version            print the version
                           e.g. demo-server --version

Log lines go to stderr; RUST_LOG=debug shows them all.
"
);

struct Args {
    address: Address,
    config: ServerConfig,
    files: Option<PathBuf>,
}

/// The demo app, with `/files/...` going to a [`FilesApp`] when one is given.
struct Served {
    files: Option<FilesApp>,
}

impl App for Served {
    type State = ();

    async fn handle<'r, R: Read, W: Write>(
        &self,
        session: &mut Session<'_, ()>,
        mut request: Request<'_, R>,
        responder: Responder<'r, W>,
    ) -> Result<Sent<'r>, Error> {
        match &self.files {
            Some(files) if request.components().next() == Some("files") => {
                request.shift_path();
                files.handle(session, request, responder).await
            }
            _ => DemoApp.handle(session, request, responder).await,
        }
    }
}

fn parse_args() -> Result<Args, lexopt::Error> {
    use lexopt::prelude::*;
    let mut address: Address = "127.0.0.1:8080".parse().map_err(|e| format!("{e}"))?;
    let mut config = ServerConfig::default();
    let mut parser = lexopt::Parser::from_env();
    let (mut cert, mut key, mut ca, mut anonymous) = (None, None, None, false);
    let mut files = None;
    while let Some(arg) = parser.next()? {
        match arg {
            Long("cert") => cert = Some(PathBuf::from(parser.value()?)),
            Long("key") => key = Some(PathBuf::from(parser.value()?)),
            Long("ca") => ca = Some(PathBuf::from(parser.value()?)),
            Long("allow-anonymous") => anonymous = true,
            Long("files") => files = Some(PathBuf::from(parser.value()?)),
            Long("address") | Short('a') => {
                address = parser
                    .value()?
                    .string()?
                    .parse()
                    .map_err(|e| format!("{e}"))?;
            }
            Long("workers") => config.workers = parser.value()?.parse()?,
            Long("max-connections") => config.max_connections = parser.value()?.parse()?,
            Long("help") | Short('h') => {
                print!("{HELP}");
                std::process::exit(0);
            }
            Long("version") | Short('V') => {
                println!("demo-server {}", env!("CARGO_PKG_VERSION"));
                std::process::exit(0);
            }
            _ => return Err(arg.unexpected()),
        }
    }
    config.tls = match (cert, key, ca, anonymous) {
        (None, None, None, false) => None,
        (Some(cert), Some(key), Some(ca), false) => {
            Some(TlsServerConfig::from_pem_files(&cert, &key, &ca).map_err(|e| e.to_string())?)
        }
        (Some(cert), Some(key), None, true) => Some(
            TlsServerConfig::anonymous_from_pem_files(&cert, &key).map_err(|e| e.to_string())?,
        ),
        _ => return Err("TLS needs --cert and --key, and either --ca or --allow-anonymous".into()),
    };
    Ok(Args {
        address,
        config,
        files,
    })
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("demo-server: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let args_tls = args.config.tls.is_some();
    let scheme = if args_tls { "tls" } else { "plain" };
    let files = match &args.files {
        None => None,
        Some(dir) => match FilesApp::new(dir) {
            Ok(f) => Some(f),
            Err(e) => {
                eprintln!("demo-server: --files {}: {e}", dir.display());
                return ExitCode::from(2);
            }
        },
    };
    match &files {
        Some(f) => eprintln!(
            "demo-server: serving the demo app ({scheme}), {} at /files/",
            f.root().display()
        ),
        None => eprintln!("demo-server: serving the demo app ({scheme})"),
    }
    let app = Served { files };
    degu_examples::cli::serve_until_signal("demo-server", &args.address, args.config, app)
}
