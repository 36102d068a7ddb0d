//! `gateway --address ADDR --device NAME=ADDRESS ... [--devices FILE] [--timeout SECS]
//! [--tls] [--ca F] [--cert F --key F] [--server-name NAME]`: put devices behind one
//! address. `/device/<NAME>/<path>` is forwarded as `/<path>` to the device registered as
//! NAME; bodies stream both ways with chunk boundaries and extensions kept; an
//! unreachable device is 502, a silent one 504 after `--timeout` seconds (default 30).
//!
//! `--devices FILE` reads `name = address` lines (`#` comments). The TLS options are the
//! `degu` CLI's and apply to the connections to the devices.

use degu_std::{Address, Client, ClientConfig, GatewayApp, Proxy, ServerConfig, TlsClientConfig};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "usage: gateway --address ADDR --device NAME=ADDRESS ... [--devices FILE] \
[--timeout SECS] [--workers N] [--tls] [--ca FILE] [--cert FILE --key FILE] [--server-name NAME]";

struct Args {
    address: Address,
    devices: Vec<(String, Address)>,
    timeout: Duration,
    workers: usize,
    tls: Option<TlsClientConfig>,
}

fn parse_args() -> Result<Args, lexopt::Error> {
    use lexopt::prelude::*;
    let mut address: Address = "127.0.0.1:8080".parse().map_err(|e| format!("{e}"))?;
    let mut devices = Vec::new();
    let mut timeout = Duration::from_secs(30);
    let mut workers = 1;
    let mut tls = degu_examples::cli::TlsOptions::default();
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next()? {
        match arg {
            Long(o @ ("tls" | "ca" | "cert" | "key" | "server-name")) => {
                let o = o.to_string();
                tls.set(&o, &mut parser)?;
            }
            Long("address") | Short('a') => {
                address = parser
                    .value()?
                    .string()?
                    .parse()
                    .map_err(|e| format!("{e}"))?;
            }
            Long("device") | Short('d') => {
                let v = parser.value()?.string()?;
                let (n, a) = v.split_once('=').ok_or("--device takes NAME=ADDRESS")?;
                devices.push((n.to_string(), a.parse().map_err(|e| format!("{e}"))?));
            }
            Long("devices") => {
                let path = PathBuf::from(parser.value()?);
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                devices.extend(GatewayApp::parse_table(&text)?);
            }
            Long("timeout") => timeout = Duration::from_secs_f64(parser.value()?.parse()?),
            Long("workers") => workers = parser.value()?.parse()?,
            Long("help") | Short('h') => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            _ => return Err(arg.unexpected()),
        }
    }
    let tls = tls.config()?;
    Ok(Args {
        address,
        devices,
        timeout,
        workers,
        tls,
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
            eprintln!("gateway: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mut app = GatewayApp::new();
    for (name, address) in &args.devices {
        let mut config = ClientConfig::for_address(address);
        config.timeout = Some(args.timeout);
        // The client's own host header travels; the device's address is not its business.
        config.host = None;
        config.tls = args.tls.clone();
        app.add(
            name.clone(),
            Proxy::with_client(Client::with_config(address.clone(), config)),
        );
        eprintln!("gateway: /device/{name}/ -> {address}");
    }
    let config = ServerConfig {
        workers: args.workers,
        ..ServerConfig::default()
    };
    degu_examples::cli::serve_until_signal("gateway", &args.address, config, app)
}
