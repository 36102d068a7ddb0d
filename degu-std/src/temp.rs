//! Throwaway servers for tests and docs: bound to a free port or a fresh AF_UNIX path,
//! served on background threads, shut down when dropped.

use crate::address::Address;
use crate::server::{RunningServer, Server, ServerConfig};
use degu_core::app::App;
use std::io;

/// A server that lives as long as this value.
#[derive(Debug)]
pub struct TempServer {
    running: Option<RunningServer>,
    _dir: Option<tempfile::TempDir>,
}

impl TempServer {
    /// Serve `app` on `address` (port 0 picks a free port).
    pub fn start<A>(address: &Address, app: A) -> io::Result<TempServer>
    where
        A: App + Send + Sync + 'static,
    {
        TempServer::with_config(address, app, ServerConfig::default())
    }

    /// Serve `app` on `address` with `config`.
    pub fn with_config<A>(address: &Address, app: A, config: ServerConfig) -> io::Result<TempServer>
    where
        A: App + Send + Sync + 'static,
    {
        let running = Server::bind(address, config)?.spawn(app)?;
        Ok(TempServer {
            running: Some(running),
            _dir: None,
        })
    }

    /// Serve `app` over TLS on `address`.
    pub fn tls<A>(address: &Address, app: A, tls: crate::TlsServerConfig) -> io::Result<TempServer>
    where
        A: App + Send + Sync + 'static,
    {
        let config = ServerConfig {
            tls: Some(tls),
            ..ServerConfig::default()
        };
        if let Address::Unix(p) = address
            && p.as_os_str().is_empty()
        {
            return TempServer::unix_with_config(app, config);
        }
        TempServer::with_config(address, app, config)
    }

    /// Serve `app` on `127.0.0.1` and a free port.
    pub fn ipv4<A: App + Send + Sync + 'static>(app: A) -> io::Result<TempServer> {
        TempServer::start(&Address::ipv4_loopback(0), app)
    }

    /// Serve `app` on `[::1]` and a free port.
    pub fn ipv6<A: App + Send + Sync + 'static>(app: A) -> io::Result<TempServer> {
        TempServer::start(&Address::ipv6_loopback(0), app)
    }

    /// Serve `app` on an AF_UNIX socket in a fresh temporary directory.
    pub fn unix<A: App + Send + Sync + 'static>(app: A) -> io::Result<TempServer> {
        TempServer::unix_with_config(app, ServerConfig::default())
    }

    /// [`TempServer::unix`] with `config`.
    pub fn unix_with_config<A: App + Send + Sync + 'static>(
        app: A,
        config: ServerConfig,
    ) -> io::Result<TempServer> {
        let dir = tempfile::tempdir()?;
        let address = Address::Unix(dir.path().join("degu.sock"));
        let mut server = TempServer::with_config(&address, app, config)?;
        server._dir = Some(dir);
        Ok(server)
    }

    /// The address clients connect to.
    pub fn address(&self) -> &Address {
        match &self.running {
            Some(r) => r.address(),
            None => unreachable_address(),
        }
    }

    /// The running server (connection count, shutdown handle).
    pub fn running(&self) -> Option<&RunningServer> {
        self.running.as_ref()
    }

    /// Shut down gracefully and wait for the workers.
    pub fn stop(mut self) -> io::Result<()> {
        match self.running.take() {
            Some(r) => r.stop(),
            None => Ok(()),
        }
    }
}

fn unreachable_address() -> &'static Address {
    static NONE: std::sync::OnceLock<Address> = std::sync::OnceLock::new();
    NONE.get_or_init(|| Address::Unix(std::path::PathBuf::new()))
}

impl Drop for TempServer {
    fn drop(&mut self) {
        if let Some(r) = self.running.take() {
            let _ = r.stop();
        }
    }
}
