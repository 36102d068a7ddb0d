//! `demo-server [--address ADDR] [--workers N] [--max-connections N]
//! [--cert F --key F (--ca F | --allow-anonymous)]`: serve the demo app until SIGINT or
//! SIGTERM, then shut down gracefully. With `--cert` and `--key` it serves TLS and
//! requires client certificates signed by `--ca`, unless `--allow-anonymous` is given.
//!
//! The first line on stdout is `listening on <bound address>` (with the real port when
//! the address asked for port 0), so scripts can start it and read where it is.

use degu_examples::demo::DemoApp;
use degu_std::{Address, ServerConfig, TlsServerConfig};
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: demo-server [--address ADDR] [--workers N] [--max-connections N]
                   [--cert FILE --key FILE (--ca FILE | --allow-anonymous)]";

const HELP: &str = concat!(
    "demo-server ",
    env!("CARGO_PKG_VERSION"),
    ": serve Degu's demo app (GET/HEAD /hello, PUT/POST /echo, GET /chunks?n=N)
until SIGINT or SIGTERM, then shut down gracefully. The first line on stdout is
`listening on <bound address>`.

usage: demo-server [--address ADDR] [--workers N] [--max-connections N]
                   [--cert FILE --key FILE (--ca FILE | --allow-anonymous)]

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
}

fn parse_args() -> Result<Args, lexopt::Error> {
    use lexopt::prelude::*;
    let mut address: Address = "127.0.0.1:8080".parse().map_err(|e| format!("{e}"))?;
    let mut config = ServerConfig::default();
    let mut parser = lexopt::Parser::from_env();
    let (mut cert, mut key, mut ca, mut anonymous) = (None, None, None, false);
    while let Some(arg) = parser.next()? {
        match arg {
            Long("cert") => cert = Some(PathBuf::from(parser.value()?)),
            Long("key") => key = Some(PathBuf::from(parser.value()?)),
            Long("ca") => ca = Some(PathBuf::from(parser.value()?)),
            Long("allow-anonymous") => anonymous = true,
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
    Ok(Args { address, config })
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
    eprintln!("demo-server: serving the demo app ({scheme})");
    degu_examples::cli::serve_until_signal("demo-server", &args.address, args.config, DemoApp)
}
