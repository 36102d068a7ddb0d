//! What the host programs share: the options every one of them reads alike (`--help`,
//! `--version`, `--address`, bad arguments), building a TLS client configuration from the
//! `--tls/--ca/--cert/--key/--server-name` options and a TLS server configuration from a
//! certificate, key and CA, logging to stderr, and serving an app with one log line per
//! request until a signal.

extern crate std;

use degu_core::app::App;
use degu_std::logging::{REQUEST_TARGET, logged};
use degu_std::{Address, Server, ServerConfig, TlsClientConfig, TlsServerConfig};
use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;
use std::string::{String, ToString};

/// Exit code of bad arguments, with the usage on stderr.
pub const EXIT_USAGE: u8 = 2;

/// Answer `-h`/`--help` with `help` and `-V`/`--version` with `<program> <version>` on
/// stdout, and exit 0; any other argument is the caller's.
pub fn answer_help_or_version(arg: &lexopt::Arg<'_>, program: &str, help: &str) {
    use lexopt::Arg::{Long, Short};
    match arg {
        Long("help") | Short('h') => std::print!("{help}"),
        Long("version") | Short('V') => {
            std::println!("{program} {}", env!("CARGO_PKG_VERSION"));
        }
        _ => return,
    }
    std::process::exit(0);
}

/// The parsed arguments, or (for bad ones) `<program>: <error>` and `usage` on stderr
/// and the exit code [`EXIT_USAGE`] for `main` to return.
pub fn args_or_usage<T>(
    program: &str,
    usage: &str,
    parsed: Result<T, lexopt::Error>,
) -> Result<T, ExitCode> {
    parsed.map_err(|e| {
        std::eprintln!("{program}: {e}\n{usage}");
        ExitCode::from(EXIT_USAGE)
    })
}

/// An `--address` value (or a default): IPv4, IPv6 in brackets, an AF_UNIX path or an
/// @abstract name.
pub fn address(text: &str) -> Result<Address, lexopt::Error> {
    text.parse().map_err(|e| std::format!("{e}").into())
}

/// How a link to or from a device is secured, for the programs' stderr notes.
pub fn link_scheme(tls: bool) -> &'static str {
    if tls { "mutual TLS" } else { "plain" }
}

/// A listener's TLS from its `--cert`, `--key` and `--ca` (client certificates required)
/// or `--allow-anonymous` (not): `None` without any of them, `refused` for any other mix.
pub fn server_tls(
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    ca: Option<PathBuf>,
    anonymous: bool,
    refused: &str,
) -> Result<Option<TlsServerConfig>, String> {
    match (cert, key, ca, anonymous) {
        (None, None, None, false) => Ok(None),
        (Some(cert), Some(key), Some(ca), false) => {
            TlsServerConfig::from_pem_files(&cert, &key, &ca)
                .map(Some)
                .map_err(|e| e.to_string())
        }
        (Some(cert), Some(key), None, true) => {
            TlsServerConfig::anonymous_from_pem_files(&cert, &key)
                .map(Some)
                .map_err(|e| e.to_string())
        }
        _ => Err(refused.into()),
    }
}

/// The TLS client options of `degu` and `gateway`.
#[derive(Debug, Default)]
pub struct TlsOptions {
    /// `--tls`: TLS with the system roots even without other options.
    pub tls: bool,
    /// `--ca FILE`.
    pub ca: Option<PathBuf>,
    /// `--cert FILE`.
    pub cert: Option<PathBuf>,
    /// `--key FILE`.
    pub key: Option<PathBuf>,
    /// `--server-name NAME`.
    pub server_name: Option<String>,
}

impl TlsOptions {
    /// Take the long option `name` (`tls`, `ca`, `cert`, `key` or `server-name`) and
    /// its value.
    pub fn set(&mut self, name: &str, parser: &mut lexopt::Parser) -> Result<(), lexopt::Error> {
        use lexopt::ValueExt;
        match name {
            "tls" => self.tls = true,
            "ca" => self.ca = Some(PathBuf::from(parser.value()?)),
            "cert" => self.cert = Some(PathBuf::from(parser.value()?)),
            "key" => self.key = Some(PathBuf::from(parser.value()?)),
            "server-name" => self.server_name = Some(parser.value()?.string()?),
            other => return Err(std::format!("not a TLS option: --{other}").into()),
        }
        Ok(())
    }

    /// The configuration, or `None` when no TLS option was given. The server is
    /// verified against `--ca`, or the system roots without one.
    pub fn config(self) -> Result<Option<TlsClientConfig>, String> {
        if !(self.tls || self.ca.is_some() || self.cert.is_some() || self.server_name.is_some()) {
            return Ok(None);
        }
        let mut config =
            TlsClientConfig::from_pem_file(self.ca.as_deref()).map_err(|e| e.to_string())?;
        match (self.cert, self.key) {
            (Some(c), Some(k)) => {
                config = config
                    .with_client_cert_files(&c, &k)
                    .map_err(|e| e.to_string())?
            }
            (None, None) => {}
            _ => return Err("--cert and --key go together".into()),
        }
        if let Some(n) = self.server_name {
            config = config.with_server_name(n);
        }
        Ok(Some(config))
    }
}

/// Log to stderr: what `RUST_LOG` asks for (errors only without it), plus one line per
/// request (target [`REQUEST_TARGET`], level info) unless `quiet`.
pub fn init_logging(quiet: bool) {
    let requests = if quiet { "off" } else { "info" };
    let mut filter = tracing_subscriber::EnvFilter::from_default_env();
    if let Ok(d) = std::format!("{REQUEST_TARGET}={requests}").parse() {
        filter = filter.add_directive(d);
    }
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

/// What `demo-server` and `gateway` do once their app is built: bind `address`, print
/// `listening on <bound address>` as the first stdout line, serve `app` with one log
/// line per request (see [`init_logging`]) until SIGINT or SIGTERM, shut down
/// gracefully. Errors go to stderr prefixed with `program`.
pub fn serve_until_signal<A>(
    program: &str,
    address: &Address,
    config: ServerConfig,
    app: A,
) -> ExitCode
where
    A: App + Send + Sync + 'static,
{
    serve_until_signal_saying(program, address, config, app, &[])
}

/// [`serve_until_signal`], with `more` lines printed on stdout after the first (the
/// gateway's `attach on <address>`).
pub fn serve_until_signal_saying<A>(
    program: &str,
    address: &Address,
    config: ServerConfig,
    app: A,
    more: &[String],
) -> ExitCode
where
    A: App + Send + Sync + 'static,
{
    serve_bound(program, address, config, more, |server| {
        server.spawn(logged(app))?.run_until_signal()
    })
}

/// Bind `address`, print `listening on <bound address>` and `more`, then `run` the
/// server until it stops (as [`serve_until_signal_saying`] runs the Tokio server;
/// `demo-server --blocking` runs the blocking one). Errors go to stderr prefixed with
/// `program`.
pub fn serve_bound(
    program: &str,
    address: &Address,
    config: ServerConfig,
    more: &[String],
    run: impl FnOnce(Server) -> std::io::Result<()>,
) -> ExitCode {
    let server = match Server::bind(address, config) {
        Ok(s) => s,
        Err(e) => {
            std::eprintln!("{program}: cannot bind {address}: {e}");
            return ExitCode::FAILURE;
        }
    };
    std::println!("listening on {}", server.address());
    for line in more {
        std::println!("{line}");
    }
    let _ = std::io::stdout().flush();
    match run(server) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            std::eprintln!("{program}: {e}");
            ExitCode::FAILURE
        }
    }
}
