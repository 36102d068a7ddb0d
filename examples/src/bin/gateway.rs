//! `gateway --address ADDR --device NAME=ADDRESS ... [--devices FILE] [--timeout SECS]
//! [--tls] [--ca F] [--cert F --key F] [--server-name NAME] [-q]`: put devices behind one
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
[--timeout SECS] [--workers N] [--tls] [--ca FILE] [--cert FILE --key FILE] [--server-name NAME] [-q]";

const HELP: &str = concat!(
    "gateway ",
    env!("CARGO_PKG_VERSION"),
    ": put devices behind one address. /device/NAME/<path> is forwarded as
/<path> to the device registered as NAME; bodies stream both ways with chunk boundaries
and extensions kept; an unreachable device is 502, a silent one 504. The first line on
stdout is `listening on <bound address>`; each request logs one line to stderr (-q
silences them); SIGINT or SIGTERM stop it gracefully.

usage: gateway --address ADDR --device NAME=ADDRESS ... [--devices FILE] [--timeout SECS]
               [--workers N] [--tls] [--ca FILE] [--cert FILE --key FILE]
               [--server-name NAME] [-q]

options:
  -a, --address ADDR       where to listen (default 127.0.0.1:8080): IPv4, [IPv6] with an
                           optional %scope, an AF_UNIX path or @abstract name
                           e.g. gateway --address 127.0.0.1:8000 --device dev=/tmp/device.sock
  -d, --device NAME=ADDRESS
                           a device and its address, repeatable
                           e.g. gateway --device a=10.0.0.5:80 --device b=@dev-b
  --devices FILE           more devices from FILE: `name = address` lines, `#` comments
                           e.g. gateway --devices /etc/degu/devices.conf
  --timeout SECS           how long a device may take to answer before 504 (default 30,
                           fractions allowed)
                           e.g. gateway --device dev=/tmp/device.sock --timeout 2.5
  --workers N              worker threads (default 1)
                           e.g. gateway --device dev=/tmp/device.sock --workers 2
  --tls                    TLS to the devices, verified against the system roots
                           e.g. gateway --device dev=device.example:443 --tls
  --ca FILE                TLS to the devices, verified against this CA (PEM)
                           e.g. gateway --device dev=10.0.0.5:443 --ca ca.pem
  --cert FILE              present this client certificate (PEM) to the devices; needs --key
                           e.g. gateway --device dev=10.0.0.5:443 --ca ca.pem --cert gw.pem --key gw.key
  --key FILE               the private key of --cert (PEM)
                           e.g. gateway --device dev=10.0.0.5:443 --ca ca.pem --cert gw.pem --key gw.key
  --server-name NAME       the name the devices' certificates must carry (needed for
                           AF_UNIX and IP addresses without it in the certificate)
                           e.g. gateway --device dev=/tmp/device.sock --ca ca.pem --server-name device.local
  -q, --quiet              no request log lines on stderr
                           e.g. gateway --device dev=/tmp/device.sock --quiet
  -h, --help               print this help
                           e.g. gateway --help
  -V, --version            print the version
                           e.g. gateway --version
"
);

struct Args {
    address: Address,
    devices: Vec<(String, Address)>,
    timeout: Duration,
    workers: usize,
    tls: Option<TlsClientConfig>,
    quiet: bool,
}

fn parse_args() -> Result<Args, lexopt::Error> {
    use lexopt::prelude::*;
    let mut address: Address = "127.0.0.1:8080".parse().map_err(|e| format!("{e}"))?;
    let mut devices = Vec::new();
    let mut timeout = Duration::from_secs(30);
    let mut workers = 1;
    let mut quiet = false;
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
            Long("quiet") | Short('q') => quiet = true,
            Long("help") | Short('h') => {
                print!("{HELP}");
                std::process::exit(0);
            }
            Long("version") | Short('V') => {
                println!("gateway {}", env!("CARGO_PKG_VERSION"));
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
        quiet,
    })
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("gateway: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    degu_examples::cli::init_logging(args.quiet);
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
