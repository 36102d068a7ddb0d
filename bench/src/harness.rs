//! Transports, systems and one measurement: connect, warm up, then time `n` sequential
//! round trips on one connection.

use crate::hyper_side::{self, Flavour, HyperConnection, StdListener, Target};
use crate::raw::{self, RawStream, RawTarget};
use crate::{BoxError, degu_side, tls};
use degu_std::{Address, RunningServer, TempPki, TlsClientConfig};
use std::future::Future;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How client and server are connected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Transport {
    /// AF_UNIX path socket.
    Unix,
    /// TCP over `127.0.0.1`.
    Inet,
    /// TCP over `[::1]`.
    Inet6,
    /// TLS 1.3 with client certificates over TCP on `127.0.0.1`.
    Tls,
}

impl Transport {
    /// Every transport, in table order.
    pub const ALL: [Transport; 4] = [
        Transport::Unix,
        Transport::Inet,
        Transport::Inet6,
        Transport::Tls,
    ];

    /// The name used on the command line and in tables.
    pub fn name(self) -> &'static str {
        match self {
            Transport::Unix => "unix",
            Transport::Inet => "inet",
            Transport::Inet6 => "inet6",
            Transport::Tls => "tls",
        }
    }
}

/// One benchmarked client/server pair: a row of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum System {
    /// degu-std async client on a multi-thread Tokio runtime → degu-std server.
    DeguMt,
    /// degu-std async client on a current-thread Tokio runtime → degu-std server.
    DeguCt,
    /// degu-std blocking client → degu-std server.
    DeguBlocking,
    /// hyper client on a multi-thread runtime → hyper server on a current-thread runtime
    /// on its own thread (degu-std's server layout).
    HyperMt,
    /// hyper client on a current-thread runtime → the same hyper server.
    HyperCt,
    /// hyper client on a multi-thread runtime → hyper server on a multi-thread runtime.
    HyperMtMtServer,
    /// hyper client on a current-thread runtime → hyper server on a multi-thread runtime.
    HyperCtMtServer,
    /// Blocking-socket ping-pong of the same bytes, no HTTP: the physical limit.
    Raw,
    /// The same blocking client against a Tokio ping-pong server (current-thread
    /// runtime, epoll): the floor of any Tokio server, such as degu-std's.
    RawTokio,
}

impl System {
    /// Every system, in table order.
    pub const ALL: [System; 9] = [
        System::DeguMt,
        System::DeguCt,
        System::DeguBlocking,
        System::HyperMt,
        System::HyperCt,
        System::HyperMtMtServer,
        System::HyperCtMtServer,
        System::Raw,
        System::RawTokio,
    ];

    /// The name used on the command line and in tables.
    pub fn name(self) -> &'static str {
        match self {
            System::DeguMt => "degu-mt",
            System::DeguCt => "degu-ct",
            System::DeguBlocking => "degu-blocking",
            System::HyperMt => "hyper-mt",
            System::HyperCt => "hyper-ct",
            System::HyperMtMtServer => "hyper-mt-mtsrv",
            System::HyperCtMtServer => "hyper-ct-mtsrv",
            System::Raw => "raw",
            System::RawTokio => "raw-tokio",
        }
    }

    /// Whether this is one of hyper's modes.
    pub fn is_hyper(self) -> bool {
        matches!(
            self,
            System::HyperMt | System::HyperCt | System::HyperMtMtServer | System::HyperCtMtServer
        )
    }

    /// Whether this is one of Degu's modes.
    pub fn is_degu(self) -> bool {
        matches!(self, System::DeguMt | System::DeguCt | System::DeguBlocking)
    }

    /// Whether the system runs on `transport` (the raw ping-pongs have no TLS row).
    pub fn runs_on(self, transport: Transport) -> bool {
        !(matches!(self, System::Raw | System::RawTokio) && transport == Transport::Tls)
    }

    /// Whether `filter` (a comma-separated list of names, or `degu` / `hyper` for a
    /// group) selects this system.
    pub fn selected_by(self, filter: &str) -> bool {
        filter.split(',').map(str::trim).any(|f| {
            f == self.name()
                || (f == "degu" && self.is_degu())
                || (f == "hyper" && self.is_hyper())
                || (f == "raw" && self == System::RawTokio)
        })
    }
}

/// The servers of one transport, started once and shared by every round.
pub struct Servers {
    transport: Transport,
    degu: RunningServer,
    hyper_ct: Target,
    hyper_mt: Target,
    raw: Option<RawTarget>,
    raw_tokio: Option<RawTarget>,
    degu_tls: Option<TlsClientConfig>,
    hyper_tls: Option<Arc<rustls::ClientConfig>>,
    _dir: tempfile::TempDir,
}

impl std::fmt::Debug for Servers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Servers")
            .field("transport", &self.transport)
            .field("degu", self.degu.address())
            .finish()
    }
}

fn ip(transport: Transport) -> SocketAddr {
    match transport {
        Transport::Inet6 => SocketAddr::from((Ipv6Addr::LOCALHOST, 0)),
        _ => SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
    }
}

impl Servers {
    /// Start the degu-std server, both hyper servers and (without TLS) the raw server
    /// for `transport`; `pki` provides the TLS certificates.
    pub fn start(transport: Transport, pki: &TempPki) -> Result<Servers, BoxError> {
        let dir = tempfile::tempdir()?;
        let tls = transport == Transport::Tls;
        let hyper_server_tls = if tls {
            Some(tls::hyper_server_config(pki)?)
        } else {
            None
        };
        let listener = |name: &str| match transport {
            Transport::Unix => StdListener::unix(&dir.path().join(name)),
            _ => StdListener::tcp(ip(transport)),
        };
        let degu_address = match transport {
            Transport::Unix => Address::Unix(dir.path().join("degu.sock")),
            _ => Address::Ip(ip(transport)),
        };
        let degu_server_tls = if tls {
            Some(pki.server_config()?)
        } else {
            None
        };
        let degu = degu_side::start_server(&degu_address, degu_server_tls)?;
        let l = listener("hyper-ct.sock")?;
        let hyper_ct = l.target()?;
        hyper_side::start_server(l, Flavour::CurrentThread, hyper_server_tls.clone())?;
        let l = listener("hyper-mt.sock")?;
        let hyper_mt = l.target()?;
        hyper_side::start_server(l, Flavour::MultiThread, hyper_server_tls)?;
        let (raw, raw_tokio) = match transport {
            Transport::Unix => (
                Some(raw::start_unix(&dir.path().join("raw.sock"))?),
                Some(raw::start_tokio(listener("raw-tokio.sock")?)?),
            ),
            Transport::Tls => (None, None),
            _ => (
                Some(raw::start_tcp(ip(transport))?),
                Some(raw::start_tokio(listener("")?)?),
            ),
        };
        Ok(Servers {
            transport,
            degu,
            hyper_ct,
            hyper_mt,
            raw,
            raw_tokio,
            degu_tls: if tls {
                Some(pki.client_config()?)
            } else {
                None
            },
            hyper_tls: if tls {
                Some(tls::hyper_client_config(pki)?)
            } else {
                None
            },
            _dir: dir,
        })
    }

    /// The transport.
    pub fn transport(&self) -> Transport {
        self.transport
    }

    /// The degu-std server's address.
    pub fn degu_address(&self) -> &Address {
        self.degu.address()
    }

    /// Connect `system`, make `warmup` round trips, then time `n`.
    pub fn measure(
        &self,
        system: System,
        warmup: usize,
        n: usize,
    ) -> Result<Measurement, BoxError> {
        let (wall, cpu) = match system {
            System::DeguMt | System::DeguCt => {
                let address = self.degu.address().clone();
                let tls = self.degu_tls.clone();
                on_runtime(system == System::DeguMt, async move {
                    let mut conn = degu_side::async_connect(&address, tls).await?;
                    degu_side::async_requests(&mut conn, warmup).await?;
                    let watch = Stopwatch::start();
                    degu_side::async_requests(&mut conn, n).await?;
                    Ok(watch.stop())
                })?
            }
            System::DeguBlocking => {
                let mut conn =
                    degu_side::blocking_connect(self.degu.address(), self.degu_tls.clone())?;
                degu_side::blocking_requests(&mut conn, "/", warmup)?;
                let watch = Stopwatch::start();
                degu_side::blocking_requests(&mut conn, "/", n)?;
                watch.stop()
            }
            System::HyperMt
            | System::HyperCt
            | System::HyperMtMtServer
            | System::HyperCtMtServer => {
                let target = match system {
                    System::HyperMt | System::HyperCt => self.hyper_ct.clone(),
                    _ => self.hyper_mt.clone(),
                };
                let tls = self.hyper_tls.clone();
                let mt = matches!(system, System::HyperMt | System::HyperMtMtServer);
                on_runtime(mt, async move {
                    let mut conn: HyperConnection = hyper_side::connect(&target, tls).await?;
                    hyper_side::requests(&mut conn, warmup).await?;
                    let watch = Stopwatch::start();
                    hyper_side::requests(&mut conn, n).await?;
                    Ok(watch.stop())
                })?
            }
            System::Raw | System::RawTokio => {
                let target = if system == System::Raw {
                    &self.raw
                } else {
                    &self.raw_tokio
                };
                let target = target.as_ref().ok_or("no raw server on this transport")?;
                let mut s = RawStream::connect(target)?;
                s.ping_pong(warmup)?;
                let watch = Stopwatch::start();
                s.ping_pong(n)?;
                watch.stop()
            }
        };
        Ok(Measurement {
            rate: n as f64 / wall.as_secs_f64(),
            cpu_us: cpu.as_secs_f64() * 1e6 / n as f64,
        })
    }
}

/// One measurement's result.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Measurement {
    /// Round trips per second (wall clock).
    pub rate: f64,
    /// CPU time of the whole process (client and server threads, user and system) per
    /// round trip, in microseconds.
    pub cpu_us: f64,
}

/// Wall-clock and process CPU time from `start` to `stop`.
struct Stopwatch {
    wall: Instant,
    cpu: Duration,
}

fn process_cpu_time() -> Duration {
    use nix::time::{ClockId, clock_gettime};
    clock_gettime(ClockId::CLOCK_PROCESS_CPUTIME_ID).map_or(Duration::ZERO, Duration::from)
}

impl Stopwatch {
    fn start() -> Stopwatch {
        Stopwatch {
            wall: Instant::now(),
            cpu: process_cpu_time(),
        }
    }

    fn stop(self) -> (Duration, Duration) {
        (
            self.wall.elapsed(),
            process_cpu_time().saturating_sub(self.cpu),
        )
    }
}

static WORKERS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();

/// Worker threads of every multi-thread runtime: the machine's cores, read once (call
/// this before pinning the process to one CPU, so pinning does not change it).
pub fn workers() -> usize {
    *WORKERS.get_or_init(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
}

/// Run `fut` as a task on a fresh runtime (multi-thread with [`workers`] workers, or
/// current-thread), as an application's client code would run.
fn on_runtime<F>(multi_thread: bool, fut: F) -> Result<(Duration, Duration), BoxError>
where
    F: Future<Output = Result<(Duration, Duration), BoxError>> + Send + 'static,
{
    let rt = if multi_thread {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers())
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    };
    rt.block_on(async { tokio::spawn(fut).await? })
}

/// Pin this thread, and so every thread and process it starts later, to `cpu`.
pub fn pin(cpu: usize) -> Result<(), BoxError> {
    use nix::sched::{CpuSet, sched_setaffinity};
    let mut set = CpuSet::new();
    set.set(cpu)?;
    sched_setaffinity(nix::unistd::Pid::from_raw(0), &set)?;
    Ok(())
}

/// The median of `values` (the mean of the middle two for an even count); NaN if empty.
pub fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}
