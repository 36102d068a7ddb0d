//! The command line of the benchmark's peer servers (`hyper-hello`, `hello-floor`):
//! `[--address IP:PORT|PATH] [--workers N]`, nothing else.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

/// Where a peer server listens: an `--address` with a `/` is an AF_UNIX path.
pub enum Listen {
    /// TCP.
    Tcp(SocketAddr),
    /// AF_UNIX.
    Unix(PathBuf),
}

/// What a peer server was asked for.
pub struct ServerArgs {
    /// `--address` (`default` when not given).
    pub address: Listen,
    /// `--workers` (`None`: the server's default, one per core).
    pub workers: Option<usize>,
}

/// Parse the process's arguments for server `name`; `--help` prints `usage` and exits, a
/// bad argument prints it to stderr and gives the exit code (2).
pub fn server_args(name: &str, usage: &str, default: SocketAddr) -> Result<ServerArgs, ExitCode> {
    parse(usage, default).map_err(|e| {
        eprintln!("{name}: {e}\n{usage}");
        ExitCode::from(2)
    })
}

fn parse(usage: &str, default: SocketAddr) -> Result<ServerArgs, lexopt::Error> {
    use lexopt::prelude::*;
    let mut args = ServerArgs {
        address: Listen::Tcp(default),
        workers: None,
    };
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next()? {
        match arg {
            Long("address") | Short('a') => {
                let value = parser.value()?.string()?;
                args.address = if value.contains('/') {
                    Listen::Unix(value.into())
                } else {
                    Listen::Tcp(value.parse().map_err(|e| format!("{e}"))?)
                };
            }
            Long("workers") => args.workers = Some(parser.value()?.parse()?),
            Long("help") | Short('h') => {
                println!("{usage}");
                std::process::exit(0);
            }
            _ => return Err(arg.unexpected()),
        }
    }
    Ok(args)
}
