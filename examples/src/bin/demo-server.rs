//! `demo-server [--address ADDR] [--workers N] [--max-connections N] [--max-requests N] [--files DIR]
//! [--cert F --key F (--ca F | --allow-anonymous)] [--blocking] [-q]`: serve the demo app until SIGINT or
//! SIGTERM, then shut down gracefully, logging one line per request to stderr (`-q`
//! silences them). With `--files DIR` it also serves the files under
//! DIR at `/files/` (degu-std's `FilesApp`: byte ranges, no listings). With `--cert` and
//! `--key` it serves TLS and requires client certificates signed by `--ca`, unless
//! `--allow-anonymous` is given. With `--blocking` it serves on degu-std's blocking
//! server (a thread per connection, for HTTP as IPC) instead of Tokio.
//!
//! The first line on stdout is `listening on <bound address>` (with the real port when
//! the address asked for port 0), so scripts can start it and read where it is.
//!
//! `--attach GATEWAY [--ca F --cert F --key F --server-name NAME] [--name NAME]
//! [--attachments N]` serves the same app over attachments instead (a device behind NAT):
//! it dials the gateway's attach address, authenticates with `--cert/--key` (the device's
//! name is the certificate's common name), verifies the gateway against `--ca` and
//! serves the gateway's requests on that link; without TLS options it attaches plainly
//! as `--name`. The first stdout line is then `attached to <gateway>`.

use degu_core::app::{App, Request, Session};
use degu_core::engine::{Error, Read, Responder, Sent, Write};
use degu_examples::cli;
use degu_examples::demo::DemoApp;
use degu_std::attach::{AttachedDevice, DeviceConfig};
use degu_std::{Address, FilesApp, ServerConfig};
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: demo-server [--address ADDR] [--workers N] [--max-connections N] [--max-requests N]
                   [--files DIR] [--cert FILE --key FILE (--ca FILE | --allow-anonymous)] [--blocking] [-q]
       demo-server --attach GATEWAY [--ca FILE --cert FILE --key FILE --server-name NAME]
                   [--name NAME] [--attachments N] [--files DIR]";

const HELP: &str = concat!(
    "demo-server ",
    env!("CARGO_PKG_VERSION"),
    ": serve Degu's demo app (GET/HEAD /hello, PUT/POST /echo, GET /chunks?n=N)
until SIGINT or SIGTERM, then shut down gracefully; with --files, also a directory's
files at /files/. The first line on stdout is `listening on <bound address>`.

usage: demo-server [--address ADDR] [--workers N] [--max-connections N] [--max-requests N]
                   [--files DIR] [--cert FILE --key FILE (--ca FILE | --allow-anonymous)] [--blocking] [-q]
       demo-server --attach GATEWAY [--ca FILE --cert FILE --key FILE --server-name NAME]
                   [--name NAME] [--attachments N] [--files DIR]

options:
  -a, --address ADDR       where to listen (default 127.0.0.1:8080): IPv4, [IPv6] with an
                           optional %scope, an AF_UNIX path or @abstract name; port 0
                           picks a free port
                           e.g. demo-server --address '[::1]:8080'
  --workers N              worker threads, each with its own Tokio runtime (default 1)
                           e.g. demo-server --workers 2
  --max-connections N      connections at once (default 10000); when all are taken the
                           one that matters least is closed: idle or silent first, then
                           the slowest head (degu_core::pressure)
                           e.g. demo-server --max-connections 64
  --max-requests N         requests served on one connection before it is closed
                           (default 1000, as the Python original)
                           e.g. demo-server --max-requests 100000
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
  --blocking               serve on a thread per connection (degu-std's blocking server,
                           for HTTP as IPC: one read and one write per request) instead
                           of Tokio workers; --max-connections bounds the threads (a new
                           connection waits up to 2 s for one to end, then is closed);
                           --workers does not apply; no TLS
                           e.g. demo-server --blocking --address /tmp/demo.sock
  -q, --quiet              no request log lines on stderr
                           e.g. demo-server --quiet
  --attach GATEWAY         no listener: dial the gateway's attach address and serve the app
                           over that link (a device behind NAT); with TLS, --cert/--key
                           are the device's identity (its name is the certificate's
                           common name) and --ca verifies the gateway; prints
                           `attached to GATEWAY` once attached
                           e.g. demo-server --attach gw.example:8443 --ca ca.pem --cert dev.pem --key dev.key
  --server-name NAME       with --attach: the name the gateway's certificate must carry
                           e.g. demo-server --attach 127.0.0.1:8443 --ca ca.pem --cert dev.pem --key dev.key --server-name gateway
  --name NAME              with --attach: the device name to claim (required for a plain
                           link; with TLS it must be the certificate's common name)
                           e.g. demo-server --attach 127.0.0.1:9000 --name lamp
  --attachments N          with --attach: links kept open in parallel (default 2)
                           e.g. demo-server --attach 127.0.0.1:9000 --name lamp --attachments 4
  -h, --help               print this help
                           e.g. demo-server --help
  -V, --version            print the version
                           e.g. demo-server --version

Each request logs one line to stderr: peer, method and URI, status, body bytes sent and
duration (`127.0.0.1:41234 \"GET /hello\" 200 12 85us`); -q silences them. Other log
lines go to stderr too; RUST_LOG=debug shows them all.
"
);

struct Args {
    address: Address,
    config: ServerConfig,
    files: Option<PathBuf>,
    quiet: bool,
    blocking: bool,
    attach: Option<DeviceConfig>,
}

/// Parallel attachments `--attach` keeps by default: one request in flight while a
/// second is ready.
const DEFAULT_ATTACHMENTS: usize = 2;

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
    let mut address = cli::address("127.0.0.1:8080")?;
    let mut config = ServerConfig::default();
    let mut parser = lexopt::Parser::from_env();
    let (mut cert, mut key, mut ca, mut anonymous) = (None, None, None, false);
    let mut files = None;
    let mut quiet = false;
    let mut blocking = false;
    let (mut attach, mut server_name, mut name) = (None::<Address>, None, None);
    let mut attachments = DEFAULT_ATTACHMENTS;
    while let Some(arg) = parser.next()? {
        cli::answer_help_or_version(&arg, "demo-server", HELP);
        match arg {
            Long("cert") => cert = Some(PathBuf::from(parser.value()?)),
            Long("key") => key = Some(PathBuf::from(parser.value()?)),
            Long("ca") => ca = Some(PathBuf::from(parser.value()?)),
            Long("allow-anonymous") => anonymous = true,
            Long("quiet") | Short('q') => quiet = true,
            Long("blocking") => blocking = true,
            Long("files") => files = Some(PathBuf::from(parser.value()?)),
            Long("attach") => {
                let v = parser.value()?.string()?;
                attach = Some(v.parse().map_err(|e| format!("--attach: {e}"))?);
            }
            Long("server-name") => server_name = Some(parser.value()?.string()?),
            Long("name") => name = Some(parser.value()?.string()?),
            Long("attachments") => attachments = parser.value()?.parse()?,
            Long("address") | Short('a') => address = cli::address(&parser.value()?.string()?)?,
            Long("workers") => config.workers = parser.value()?.parse()?,
            Long("max-connections") => config.max_connections = parser.value()?.parse()?,
            Long("max-requests") => config.max_requests = parser.value()?.parse()?,
            _ => return Err(arg.unexpected()),
        }
    }
    if let Some(gateway) = attach {
        let tls = cli::TlsOptions {
            tls: false,
            ca,
            cert,
            key,
            server_name,
        };
        let mut device = match tls.config()? {
            Some(tls) => DeviceConfig::tls(gateway, tls),
            None => {
                let name = name.as_deref().ok_or("a plain --attach needs --name")?;
                DeviceConfig::plain(gateway, name)
            }
        };
        if anonymous || blocking {
            return Err("--allow-anonymous and --blocking are for listeners, not --attach".into());
        }
        device.name = name.or(device.name);
        device.attachments = attachments;
        return Ok(Args {
            address,
            config,
            files,
            quiet,
            blocking,
            attach: Some(device),
        });
    }
    let refused = "TLS needs --cert and --key, and either --ca or --allow-anonymous";
    config.tls = cli::server_tls(cert, key, ca, anonymous, refused)?;
    Ok(Args {
        address,
        config,
        files,
        quiet,
        blocking,
        attach: None,
    })
}

/// Serve `app` over attachments until SIGINT or SIGTERM; `attached to <gateway>` on
/// stdout once the first link is handed over.
fn attach_until_signal(app: Served, device: DeviceConfig) -> ExitCode {
    let gateway = device.gateway.clone();
    let run = || -> std::io::Result<()> {
        let attached = AttachedDevice::spawn(app, device)?;
        let stats = attached.stats().clone();
        std::thread::spawn(move || {
            while stats.attached() == 0 {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            println!("attached to {gateway}");
            let _ = std::io::Write::flush(&mut std::io::stdout());
        });
        attached.run_until_signal()
    };
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("demo-server: {e}");
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    let args = match cli::args_or_usage("demo-server", USAGE, parse_args()) {
        Ok(a) => a,
        Err(code) => return code,
    };
    cli::init_logging(args.quiet);
    let args_tls = args.config.tls.is_some();
    let scheme = if args_tls { "tls" } else { "plain" };
    let files = match &args.files {
        None => None,
        Some(dir) => match FilesApp::new(dir) {
            Ok(f) => Some(f),
            Err(e) => {
                eprintln!("demo-server: --files {}: {e}", dir.display());
                return ExitCode::from(cli::EXIT_USAGE);
            }
        },
    };
    if let Some(device) = args.attach {
        let scheme = cli::link_scheme(device.tls.is_some());
        eprintln!("demo-server: attaching to {} ({scheme})", device.gateway);
        return attach_until_signal(Served { files }, device);
    }
    match &files {
        Some(f) => eprintln!(
            "demo-server: serving the demo app ({scheme}), {} at /files/",
            f.root().display()
        ),
        None => eprintln!("demo-server: serving the demo app ({scheme})"),
    }
    let app = Served { files };
    if args.blocking {
        return cli::serve_bound("demo-server", &args.address, args.config, &[], |s| {
            s.spawn_blocking(degu_std::logging::logged(app))?
                .run_until_signal()
        });
    }
    cli::serve_until_signal("demo-server", &args.address, args.config, app)
}
