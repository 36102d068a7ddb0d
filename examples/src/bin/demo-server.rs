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
                   [--files DIR] [--cert FILE --key FILE (--ca FILE | --allow-anonymous)]
  ADDR: 127.0.0.1:8080 (default), [::1]:0, [fe80::1%eth0]:8080, /path/to.sock, @abstract
  --files: serve the files under DIR at /files/ (GET, HEAD, byte ranges; no listings)
  TLS: --cert/--key are PEM files; clients must present a certificate signed by --ca
       unless --allow-anonymous";

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

    async fn handle<R: Read, W: Write>(
        &self,
        session: &mut Session<'_, ()>,
        mut request: Request<'_, R>,
        responder: Responder<'_, W>,
    ) -> Result<Sent, Error> {
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
                println!("{USAGE}");
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
