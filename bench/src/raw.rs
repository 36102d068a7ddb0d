//! The physical limit: a blocking-socket ping-pong of the workload's 148 bytes each way,
//! without HTTP. A server thread per connection reads 148 bytes and writes the 148-byte
//! response; the client writes 148 bytes and reads 148.
//!
//! Beside it, the floor of any Tokio server: the same ping-pong served by a task on a
//! current-thread runtime (epoll), as degu-std's server worker runs connections.

use crate::workload::{MESSAGE_LEN, REQUEST, RESPONSE};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

/// A blocking socket of either family.
#[derive(Debug)]
pub enum RawStream {
    /// TCP (with `TCP_NODELAY`).
    Tcp(TcpStream),
    /// AF_UNIX.
    Unix(UnixStream),
}

impl RawStream {
    fn io(&mut self) -> &mut dyn ReadWrite {
        match self {
            RawStream::Tcp(s) => s,
            RawStream::Unix(s) => s,
        }
    }

    /// Connect to a raw server at `target`.
    pub fn connect(target: &RawTarget) -> io::Result<RawStream> {
        Ok(match target {
            RawTarget::Tcp(a) => {
                let s = TcpStream::connect(a)?;
                s.set_nodelay(true)?;
                RawStream::Tcp(s)
            }
            RawTarget::Unix(p) => RawStream::Unix(UnixStream::connect(p)?),
        })
    }

    /// `n` ping-pongs: write the request, read the response.
    pub fn ping_pong(&mut self, n: usize) -> io::Result<()> {
        let mut buf = [0u8; MESSAGE_LEN];
        let io = self.io();
        for _ in 0..n {
            io.write_all(&REQUEST)?;
            io.read_exact(&mut buf)?;
        }
        Ok(())
    }
}

/// A raw client's own exchanges (the server benchmark's HTTP round trips).
impl Read for RawStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.io().read(buf)
    }
}

impl Write for RawStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.io().write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.io().flush()
    }
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

/// Where a raw client connects.
#[derive(Clone, Debug)]
pub enum RawTarget {
    /// TCP.
    Tcp(SocketAddr),
    /// AF_UNIX path.
    Unix(PathBuf),
}

fn serve(mut s: RawStream) {
    let mut buf = [0u8; MESSAGE_LEN];
    let io = s.io();
    while io.read_exact(&mut buf).is_ok() {
        if io.write_all(&RESPONSE).is_err() {
            break;
        }
    }
}

/// Start a raw server on TCP `address`; it runs until the process ends.
pub fn start_tcp(address: SocketAddr) -> io::Result<RawTarget> {
    let l = TcpListener::bind(address)?;
    let target = RawTarget::Tcp(l.local_addr()?);
    std::thread::Builder::new()
        .name("raw-accept".into())
        .spawn(move || {
            for s in l.incoming().flatten() {
                if s.set_nodelay(true).is_ok() {
                    std::thread::spawn(move || serve(RawStream::Tcp(s)));
                }
            }
        })?;
    Ok(target)
}

/// Start a raw server on AF_UNIX `path`; it runs until the process ends.
pub fn start_unix(path: &Path) -> io::Result<RawTarget> {
    let l = UnixListener::bind(path)?;
    std::thread::Builder::new()
        .name("raw-accept".into())
        .spawn(move || {
            for s in l.incoming().flatten() {
                std::thread::spawn(move || serve(RawStream::Unix(s)));
            }
        })?;
    Ok(RawTarget::Unix(path.to_path_buf()))
}

/// Start the Tokio ping-pong server on `listener` (a thread with a current-thread
/// runtime, a task per connection); it runs until the process ends.
pub fn start_tokio(listener: crate::hyper_side::StdListener) -> io::Result<RawTarget> {
    use crate::hyper_side::{StdListener, Target};
    use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
    async fn serve<S: AsyncRead + AsyncWrite + Unpin>(mut s: S) {
        let mut buf = [0u8; MESSAGE_LEN];
        while s.read_exact(&mut buf).await.is_ok() {
            if s.write_all(&RESPONSE).await.is_err() {
                break;
            }
        }
    }
    let target = match listener.target()? {
        Target::Tcp(a) => RawTarget::Tcp(a),
        Target::Unix(p) => RawTarget::Unix(p),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name("raw-tokio".into())
        .spawn(move || {
            rt.block_on(async move {
                match listener {
                    StdListener::Tcp(l) => {
                        let l = tokio::net::TcpListener::from_std(l)?;
                        loop {
                            let (s, _) = l.accept().await?;
                            s.set_nodelay(true)?;
                            tokio::spawn(serve(s));
                        }
                    }
                    StdListener::Unix(l) => {
                        let l = tokio::net::UnixListener::from_std(l)?;
                        loop {
                            let (s, _) = l.accept().await?;
                            tokio::spawn(serve(s));
                        }
                    }
                }
            })
        })
        .map(|_: std::thread::JoinHandle<io::Result<()>>| ())?;
    Ok(target)
}
