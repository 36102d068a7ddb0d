//! `gateway --address ADDR --device NAME=ADDRESS ... [--devices FILE] [--timeout SECS]
//! [--tls] [--ca F] [--cert F --key F] [--server-name NAME] [-q]`: put devices behind one
//! address. `/device/<NAME>/<path>` is forwarded as `/<path>` to the device registered as
//! NAME; bodies stream both ways with chunk boundaries and extensions kept; an
//! unreachable device is 502, a silent one 504 after `--timeout` seconds (default 30).
//!
//! `--devices FILE` reads `name = address` lines (`#` comments). The TLS options are the
//! `degu` CLI's and apply to the connections to the devices.
//!
//! `--attach ADDR` also listens for devices that dial in (devices behind NAT): with
//! `--cert/--key` as the gateway's identity and `--ca` the CA the devices' client
//! certificates must chain to; plain attachments only with `--allow-anonymous`. The
//! second stdout line is then `attach on <bound address>`.
//!
//! `--listen-cert/--listen-key/--listen-ca` serve the gateway's own clients over TLS and
//! require a client certificate (`--listen-allow-anonymous` instead of `--listen-ca`
//! accepts clients without one); `--allow CLIENT=DEVICE,...` and `--policy FILE` say which
//! client certificate names reach which devices (403 otherwise).

use degu_examples::cli;
use degu_std::attach::{AttachConfig, Attachments};
use degu_std::{
    Address, Client, ClientConfig, DevicePolicy, GatewayApp, Proxy, ServerConfig, TlsClientConfig,
    TlsServerConfig,
};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "usage: gateway --address ADDR --device NAME=ADDRESS ... [--devices FILE] \
[--timeout SECS] [--workers N] [--tls] [--ca FILE] [--cert FILE --key FILE] [--server-name NAME] \
[--attach ADDR [--allow-anonymous]] [--listen-cert FILE --listen-key FILE \
(--listen-ca FILE | --listen-allow-anonymous)] [--allow CLIENT=DEVICE,...] [--policy FILE] [-q]";

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
               [--server-name NAME] [--attach ADDR [--allow-anonymous]]
               [--listen-cert FILE --listen-key FILE
                (--listen-ca FILE | --listen-allow-anonymous)]
               [--allow CLIENT=DEVICE[,DEVICE...]] [--policy FILE] [-q]

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
  --attach ADDR            also accept devices that dial in (behind NAT) on ADDR; they
                           attach over TLS as their certificate's common name: --cert and
                           --key are the gateway's identity, --ca the CA the devices'
                           certificates chain to; prints `attach on <bound address>`
                           e.g. gateway --attach 0.0.0.0:8443 --ca ca.pem --cert gw.pem --key gw.key
  --allow-anonymous        with --attach and no TLS options: plain attachments, a device
                           names itself (closed networks and tests only)
                           e.g. gateway --attach 127.0.0.1:9000 --allow-anonymous
  --listen-cert FILE       serve the gateway's clients over TLS with this certificate
                           (PEM); needs --listen-key and --listen-ca
                           e.g. gateway --listen-cert gw.pem --listen-key gw.key --listen-ca clients.pem
  --listen-key FILE        the private key of --listen-cert (PEM)
                           e.g. gateway --listen-cert gw.pem --listen-key gw.key --listen-ca clients.pem
  --listen-ca FILE         the clients' certificates must chain to this CA (PEM); a client
                           without one is refused at the handshake
                           e.g. gateway --listen-cert gw.pem --listen-key gw.key --listen-ca clients.pem
  --listen-allow-anonymous TLS clients without certificates (instead of --listen-ca)
                           e.g. gateway --listen-cert gw.pem --listen-key gw.key --listen-allow-anonymous
  --allow CLIENT=DEVICE[,DEVICE...]
                           client certificate name CLIENT may reach these devices;
                           repeatable; `*` is every client (or device); with any --allow
                           or --policy, everything not allowed is 403
                           e.g. gateway --allow ops='*' --allow alice=lamp,door
  --policy FILE            more rules from FILE: `CLIENT = DEVICE, ...` lines, `#` comments
                           e.g. gateway --policy /etc/degu/policy.conf
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
    attach: Option<(Address, AttachConfig)>,
    listen_tls: Option<TlsServerConfig>,
    policy: Option<DevicePolicy>,
}

/// The attach listener's configuration from `--cert/--key/--ca` or `--allow-anonymous`.
fn attach_config(
    tls: &cli::TlsOptions,
    anonymous: bool,
    timeout: Duration,
) -> Result<AttachConfig, String> {
    let mut config = match (&tls.cert, &tls.key, &tls.ca, anonymous) {
        (Some(cert), Some(key), Some(ca), false) => AttachConfig::tls(
            TlsServerConfig::from_pem_files(cert, key, ca).map_err(|e| e.to_string())?,
        ),
        (None, None, None, true) => AttachConfig::plain(),
        _ => {
            return Err(
                "--attach needs --cert, --key and --ca (mutual TLS), or --allow-anonymous alone"
                    .into(),
            );
        }
    };
    config.timeout = timeout;
    Ok(config)
}

fn parse_args() -> Result<Args, lexopt::Error> {
    use lexopt::prelude::*;
    let mut address = cli::address("127.0.0.1:8080")?;
    let mut devices = Vec::new();
    let mut timeout = Duration::from_secs(30);
    let mut workers = 1;
    let mut quiet = false;
    let mut tls = cli::TlsOptions::default();
    let (mut attach, mut anonymous) = (None::<Address>, false);
    let (mut listen_cert, mut listen_key, mut listen_ca) = (None, None, None);
    let mut listen_anonymous = false;
    let mut policy: Option<DevicePolicy> = None;
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next()? {
        cli::answer_help_or_version(&arg, "gateway", HELP);
        match arg {
            Long(o @ ("tls" | "ca" | "cert" | "key" | "server-name")) => {
                let o = o.to_string();
                tls.set(&o, &mut parser)?;
            }
            Long("address") | Short('a') => address = cli::address(&parser.value()?.string()?)?,
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
            Long("attach") => {
                let v = parser.value()?.string()?;
                attach = Some(v.parse().map_err(|e| format!("--attach: {e}"))?);
            }
            Long("allow-anonymous") => anonymous = true,
            Long("listen-cert") => listen_cert = Some(PathBuf::from(parser.value()?)),
            Long("listen-key") => listen_key = Some(PathBuf::from(parser.value()?)),
            Long("listen-ca") => listen_ca = Some(PathBuf::from(parser.value()?)),
            Long("listen-allow-anonymous") => listen_anonymous = true,
            Long("allow") => {
                let rule = parser.value()?.string()?;
                policy
                    .get_or_insert_with(DevicePolicy::new)
                    .parse_rule(&rule)?;
            }
            Long("policy") => {
                let path = PathBuf::from(parser.value()?);
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                let rules = DevicePolicy::parse_file(&text)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                let policy = policy.get_or_insert_with(DevicePolicy::new);
                policy.extend(rules);
            }
            Long("timeout") => timeout = Duration::from_secs_f64(parser.value()?.parse()?),
            Long("workers") => workers = parser.value()?.parse()?,
            Long("quiet") | Short('q') => quiet = true,
            _ => return Err(arg.unexpected()),
        }
    }
    let attach = match attach {
        Some(a) => Some((a, attach_config(&tls, anonymous, timeout)?)),
        None if anonymous => return Err("--allow-anonymous goes with --attach".into()),
        None => None,
    };
    let refused = "--listen-cert and --listen-key go with --listen-ca or --listen-allow-anonymous";
    let listen_tls = cli::server_tls(
        listen_cert,
        listen_key,
        listen_ca,
        listen_anonymous,
        refused,
    )?;
    let tls = tls.config()?;
    Ok(Args {
        address,
        devices,
        timeout,
        workers,
        tls,
        quiet,
        attach,
        listen_tls,
        policy,
    })
}

fn main() -> ExitCode {
    let args = match cli::args_or_usage("gateway", USAGE, parse_args()) {
        Ok(a) => a,
        Err(code) => return code,
    };
    cli::init_logging(args.quiet);
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
    let mut more = Vec::new();
    // Bound before the front door, kept until the gateway stops.
    let _listener = match args.attach {
        Some((address, config)) => {
            let scheme = cli::link_scheme(config.tls.is_some());
            match Attachments::listen(&address, config) {
                Ok(listener) => {
                    more.push(format!("attach on {}", listener.address()));
                    eprintln!(
                        "gateway: devices attach on {} ({scheme})",
                        listener.address()
                    );
                    app = app.with_attachments(listener.attachments());
                    Some(listener)
                }
                Err(e) => {
                    eprintln!("gateway: cannot bind --attach {address}: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
        None => None,
    };
    if let Some(policy) = args.policy {
        app = app.with_policy(policy);
    }
    let config = ServerConfig {
        workers: args.workers,
        tls: args.listen_tls,
        ..ServerConfig::default()
    };
    cli::serve_until_signal_saying("gateway", &args.address, config, app, &more)
}
