//! `hello-floor [--address IP:PORT] [--workers N]`: the floor of an epoll HTTP server under
//! `bench/wrk.sh`. It answers every request head (the bytes up to a blank line) with
//! `demo-server`'s and `hyper-hello`'s `GET /hello` response, byte for byte, without
//! parsing anything: no method, no target, no headers, no limits, no timeouts. `--workers`
//! threads, each a current-thread Tokio runtime accepting from one shared listener (as
//! degu-std's server runs), a task per connection.
//!
//! Not a server anyone should run: what it measures is what the kernel, Tokio and wrk
//! cost on this machine when the server does nothing, so that the ratio of any real
//! server to hyper can be read against the ratio of nothing at all to hyper.
//!
//! Prints `listening on <address>` first, then serves until killed.

use degu_bench::server_args::{Listen, ServerArgs, server_args};
use std::io::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const USAGE: &str = "usage: hello-floor [--address IP:PORT] [--workers N]";

/// The answer to each head: what both servers send for `GET /hello`.
const HELLO: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 12\r\n\r\nhello, world";

/// Bytes read at once: wrk's requests are far smaller.
const READ_BUFFER: usize = 4096;

/// The end of a head, `\r\n\r\n`, found across reads: `matched` bytes of it seen so far.
#[derive(Default)]
struct HeadEnds {
    matched: u8,
}

impl HeadEnds {
    /// How many heads end in `bytes`.
    fn count(&mut self, bytes: &[u8]) -> usize {
        let mut ends = 0;
        for &b in bytes {
            self.matched = match (self.matched, b) {
                (0 | 2, b'\r') => self.matched + 1,
                (1 | 3, b'\n') => self.matched + 1,
                (_, b'\r') => 1,
                _ => 0,
            };
            if self.matched == 4 {
                ends += 1;
                self.matched = 0;
            }
        }
        ends
    }
}

async fn serve(mut s: tokio::net::TcpStream) {
    let mut buf = [0u8; READ_BUFFER];
    let mut out = Vec::with_capacity(READ_BUFFER);
    let mut heads = HeadEnds::default();
    loop {
        let n = match s.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        out.clear();
        for _ in 0..heads.count(&buf[..n]) {
            out.extend_from_slice(HELLO);
        }
        if !out.is_empty() && s.write_all(&out).await.is_err() {
            return;
        }
    }
}

/// One worker: accept and spawn a task per connection, until an error.
async fn accept(listener: std::net::TcpListener) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::from_std(listener)?;
    loop {
        let (s, _) = listener.accept().await?;
        s.set_nodelay(true)?;
        tokio::spawn(serve(s));
    }
}

fn run(address: SocketAddr, workers: usize) -> std::io::Result<()> {
    let listener = std::net::TcpListener::bind(address)?;
    listener.set_nonblocking(true)?;
    println!("listening on {}", listener.local_addr()?);
    std::io::stdout().flush()?;
    let mut threads = Vec::new();
    for _ in 0..workers.max(1) {
        let listener = listener.try_clone()?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        threads.push(std::thread::spawn(move || rt.block_on(accept(listener))));
    }
    for t in threads {
        t.join()
            .map_err(|_| std::io::Error::other("a worker panicked"))??;
    }
    Ok(())
}

fn main() -> ExitCode {
    let default = SocketAddr::from(([127, 0, 0, 1], 8082));
    let ServerArgs { address, workers } = match server_args("hello-floor", USAGE, default) {
        Ok(a) => a,
        Err(code) => return code,
    };
    let Listen::Tcp(address) = address else {
        eprintln!("hello-floor: TCP only (wrk's peer)\n{USAGE}");
        return ExitCode::from(2);
    };
    let workers =
        workers.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    match run(address, workers) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hello-floor: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::HeadEnds;

    #[test]
    fn heads_are_counted_across_every_split() {
        let two = b"GET /hello HTTP/1.1\r\nhost: a\r\n\r\nGET / HTTP/1.1\r\n\r\n";
        for split in 0..=two.len() {
            let mut heads = HeadEnds::default();
            let (a, b) = two.split_at(split);
            assert_eq!(heads.count(a) + heads.count(b), 2, "split at {split}");
        }
        assert_eq!(HeadEnds::default().count(b"GET / HTTP/1.1\r\n\r"), 0);
        assert_eq!(HeadEnds::default().count(b"\r\r\n\r\n"), 1);
    }
}
