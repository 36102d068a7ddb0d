//! What the host programs share: building a TLS client configuration from the
//! `--tls/--ca/--cert/--key/--server-name` options, logging to stderr, and serving an
//! app with one log line per request until a signal.

extern crate std;

use degu_core::app::App;
use degu_std::logging::{REQUEST_TARGET, logged};
use degu_std::{Address, Server, ServerConfig, TlsClientConfig};
use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;
use std::string::{String, ToString};

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
