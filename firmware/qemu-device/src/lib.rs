//! The demo firmware for QEMU's mps2-an386 (thumbv7em) and mps2-an385 (thumbv6m), with
//! the board's LAN9118 on QEMU's user-mode network; the binaries only call [`run`].
//!
//! The device is 10.0.2.15/24 (gateway 10.0.2.2, the host). What it does is chosen at
//! run time by a blob QEMU loads into RAM ([`config`]), so one ELF serves every test:
//!
//! * **serve** (no blob): `degu_examples::demo::DemoApp` on port 80 with degu-embassy's
//!   [`PoolState`]: [`WORKERS`] requests handled at once, [`WORKERS`] + [`SPARE`]
//!   connections open at once, and a socket kept listening by closing the connection that
//!   matters least (`degu_core::pressure`); `net up`, `listening on 10.0.2.15:80` and one
//!   line per connection (and per connection closed to make room) go to QEMU's stdout
//!   through semihosting. It stops by itself after [`IDLE_EXIT`] without any connection
//!   (exit code 0), so a QEMU that its test forgot never runs for long; unless the
//!   blob's "no idle exit" flag is set (`cargo xtask qemu`), then it serves until QEMU
//!   is stopped.
//! * **client**: degu-embassy's client to the gateway at 10.0.2.2:PORT, plain or (the
//!   `tls` build, binary `qemu-device-tls`) mutual TLS 1.3 with the certificates from
//!   the blob: `GET <path>`, then a chunked `POST /upload` of [`UPLOAD_LEN`] bytes; each
//!   answer is printed as `response <status>: <body>`. Exit code 0 when both answers are
//!   2xx; otherwise an `error: ...` line and exit code 1. Nothing waits forever: connect,
//!   every read and every write have timeouts.
//! * **footprint**: print the RAM a connection takes (`footprint ...` lines) and exit.
//! * **attach** (a device behind NAT): keep [`ATTACHMENTS`] links to the gateway at
//!   10.0.2.2:PORT, plain (claiming the blob's name) or (the `tls` build) mutual TLS 1.3
//!   with the blob's certificates, and serve `DemoApp` over them (degu-embassy's
//!   `attach`); a link that ends is dialled again after a jittered backoff. Runs until
//!   QEMU is stopped; nothing on the host dials the device.
//! * **pair client** (device to device, the `ipv6` build only: binary
//!   `qemu-device-ipv6`, module `pair`): the demo app's routes against another device on
//!   the same LAN ([`config::Lan`], no QEMU user network), over IPv4 and over IPv6
//!   link-local; `cargo xtask qemu-pair` runs it against a second board that serves.
//!
//! The `ipv6` build also gives the device an IPv6 link-local address made from its MAC
//! (`link_local`) and serves on it too. Any build serves on a LAN from the blob.
//!
//! A panic exits with code 1.
#![no_std]

pub mod config;
#[cfg(feature = "ipv6")]
pub mod pair;

use config::{Config, Mode};
use core::cell::Cell;
use cortex_m_semihosting::{debug, hprintln};
use critical_section::Mutex;
use degu_core::engine::{Buffers, Connection, Error, Read, ServerEnd, Write};
use degu_core::pressure::Rank;
use degu_core::{Framing, Method};
use degu_embassy::{ClientBuffers, ClientTimeouts, PoolEvents, PoolState, ServeConfig};
use degu_examples::demo::DemoApp;
use embassy_executor::Spawner;
use embassy_net::tcp::TcpSocket;
#[cfg(feature = "ipv6")]
use embassy_net::{HardwareAddress, Ipv6Cidr, StaticConfigV6};
use embassy_net::{
    IpEndpoint, Ipv4Address, Ipv4Cidr, Runner, Stack, StackResources, StaticConfigV4,
};
use embassy_time::{Duration, Instant, Timer};
use qemu_mps2::lan9118::Lan9118;
use static_cell::{ConstStaticCell, StaticCell};

/// Requests handled at once: a set of engine buffers each.
pub const WORKERS: usize = 2;
/// Sockets beyond [`WORKERS`]: idle keep-alive connections (a browser keeps six) and a
/// listening socket for the next client. Each costs its TCP buffers, its connection
/// future and smoltcp's socket state (printed by the footprint mode).
pub const SPARE: usize = 2;
/// The HTTP port.
pub const PORT: u16 = 80;
/// Each socket's receive and send buffers (the TCP windows).
pub const SOCKET_BUFFER: usize = 4096;
/// Exit after this long without a connection.
pub const IDLE_EXIT: Duration = Duration::from_secs(30);
/// Bytes the client uploads (chunked, [`UPLOAD_CHUNK`] a chunk).
pub const UPLOAD_LEN: usize = 16 * 1024;
/// Bytes per uploaded chunk.
pub const UPLOAD_CHUNK: usize = 1000;
/// Links an attached device keeps open to the gateway: requests the gateway can have in
/// flight to it at once.
pub const ATTACHMENTS: usize = 2;
/// The gateway: QEMU's user-mode network maps 10.0.2.2 to the host's 127.0.0.1.
pub const GATEWAY: Ipv4Address = Ipv4Address::new(10, 0, 2, 2);

static CONFIG: ServeConfig = ServeConfig::new();
static CLIENT_TIMEOUTS: ClientTimeouts = ClientTimeouts {
    connect: Duration::from_secs(10),
    io: Duration::from_secs(20),
    linger: Duration::from_secs(2),
};

/// Attach mode: dial within 10 s; each read and write within 60 s, the wait for the
/// gateway's next request included (a silent link is then dialled again).
static ATTACH_TIMEOUTS: ClientTimeouts = ClientTimeouts {
    connect: Duration::from_secs(10),
    io: Duration::from_secs(60),
    linger: Duration::from_secs(2),
};

/// Attach mode: a link is long-lived, no request count ends it.
static ATTACH_SERVE: degu_core::engine::KeepAlive =
    degu_core::engine::KeepAlive::new().max_requests(u32::MAX);

/// One attachment's memory: its socket's buffers, its engine buffers and (TLS build)
/// its TLS record buffers.
pub struct AttachResources {
    rx: [u8; SOCKET_BUFFER],
    tx: [u8; SOCKET_BUFFER],
    buffers: Buffers,
    #[cfg(feature = "tls")]
    tls: degu_embassy::tls::TlsBuffers,
}

impl AttachResources {
    const fn new() -> Self {
        AttachResources {
            rx: [0; SOCKET_BUFFER],
            tx: [0; SOCKET_BUFFER],
            buffers: Buffers::new(),
            #[cfg(feature = "tls")]
            tls: degu_embassy::tls::TlsBuffers::new(),
        }
    }
}

static ATTACH_RESOURCES: [ConstStaticCell<AttachResources>; ATTACHMENTS] = [
    ConstStaticCell::new(AttachResources::new()),
    ConstStaticCell::new(AttachResources::new()),
];

/// The server's memory: every socket's TCP buffers and every worker's engine buffers.
pub type Pool = PoolState<
    WORKERS,
    SOCKET_BUFFER,
    SOCKET_BUFFER,
    { degu_core::engine::DEFAULT_READ_BUFFER },
    { degu_core::engine::DEFAULT_WRITE_BUFFER },
    SPARE,
>;

static POOL: ConstStaticCell<Pool> = ConstStaticCell::new(Pool::new());

/// Sockets in the stack: the pool's (the client and footprint modes need one).
const SOCKETS: usize = Pool::SOCKETS;

/// What the client owns: its socket's buffers and the client's buffers.
pub struct ClientResources {
    rx: [u8; SOCKET_BUFFER],
    tx: [u8; SOCKET_BUFFER],
    buffers: ClientBuffers,
}

static CLIENT_RESOURCES: ConstStaticCell<ClientResources> = ConstStaticCell::new(ClientResources {
    rx: [0; SOCKET_BUFFER],
    tx: [0; SOCKET_BUFFER],
    buffers: ClientBuffers::new(),
});

#[cfg(feature = "tls")]
static TLS_BUFFERS: ConstStaticCell<degu_embassy::tls::TlsBuffers> =
    ConstStaticCell::new(degu_embassy::tls::TlsBuffers::new());

/// Connections in progress, and the time (ticks) the last one started or ended.
static ACTIVITY: Mutex<Cell<(usize, u64)>> = Mutex::new(Cell::new((0, 0)));

fn activity(delta: isize) {
    critical_section::with(|cs| {
        let cell = ACTIVITY.borrow(cs);
        let (active, _) = cell.get();
        cell.set((
            active.saturating_add_signed(delta),
            Instant::now().as_ticks(),
        ));
    });
}

/// Bring up the network, then serve, run the client or report the footprint, as the
/// configuration blob says.
pub async fn run(spawner: Spawner) -> ! {
    let Some(peripherals) = cortex_m::Peripherals::take() else {
        fail("core peripherals taken twice");
    };
    qemu_mps2::time::start(peripherals.SYST);
    let config = match config::read() {
        Ok(config) => config,
        Err(e) => {
            hprintln!("config blob at {:#x}: {}", config::CONFIG_ADDR, e);
            fail("bad configuration");
        }
    };

    #[allow(unused_mut)] // the ipv6 build changes its filter
    let mut nic = match Lan9118::take() {
        Ok(nic) => nic,
        Err(e) => {
            hprintln!("LAN9118: {:?}", e);
            fail("no network");
        }
    };
    // QEMU's virtual time since reset; TCP sequence numbers need no more than this here.
    let seed = 0x6465_6775_0000_0000 | u64::from(nic.free_run());
    let v4 = ipv4(&config);
    #[allow(unused_mut)] // the ipv6 build adds its link-local address
    let mut net = embassy_net::Config::ipv4_static(v4.clone());
    #[cfg(feature = "ipv6")]
    {
        nic.receive_all_multicast();
        net.ipv6 = embassy_net::ConfigV6::Static(StaticConfigV6 {
            address: link_local(nic.mac_address()),
            gateway: None,
            dns_servers: Default::default(),
        });
    }
    static RESOURCES: StaticCell<StackResources<SOCKETS>> = StaticCell::new();
    let (stack, runner) = embassy_net::new(nic, net, RESOURCES.init(StackResources::new()), seed);
    spawner.spawn(unwrap_spawn(net_task(runner)));

    match config.mode {
        Mode::Footprint => {
            footprint(stack, &config);
            debug::exit(debug::EXIT_SUCCESS);
            fail("semihosting exit returned");
        }
        Mode::Client => {
            stack.wait_config_up().await;
            hprintln!("net up");
            let exchange = client(stack, &config);
            hprintln!(
                "footprint client future {} bytes",
                core::mem::size_of_val(&exchange)
            );
            match exchange.await {
                Ok(()) => {
                    hprintln!("client done");
                    debug::exit(debug::EXIT_SUCCESS);
                    fail("semihosting exit returned");
                }
                Err(e) => {
                    hprintln!("error: {}", e);
                    fail("client failed");
                }
            }
        }
        #[cfg(not(feature = "ipv6"))]
        Mode::PairClient => fail("the pair client is in the ipv6 build (qemu-device-ipv6)"),
        #[cfg(feature = "ipv6")]
        Mode::PairClient => {
            stack.wait_config_up().await;
            hprintln!("net up");
            let Some(peer) = config.peer else {
                fail("pair client without a peer in the configuration blob");
            };
            match pair::run(stack, &peer).await {
                Ok(()) => {
                    debug::exit(debug::EXIT_SUCCESS);
                    fail("semihosting exit returned");
                }
                Err(e) => {
                    hprintln!("error: {}", e);
                    fail("pair client failed");
                }
            }
        }
        Mode::Serve => serve(spawner, stack, &v4, config.idle_exit).await,
        Mode::Attach => {
            stack.wait_config_up().await;
            hprintln!("net up");
            hprintln!("attaching to {}:{}", GATEWAY, config.port);
            for index in 0..ATTACHMENTS {
                spawner.spawn(unwrap_spawn(attachment(stack, index, config)));
            }
            loop {
                Timer::after_secs(3600).await;
            }
        }
    }
}

/// One of the device's links to the gateway, dialled again whenever it ends.
#[embassy_executor::task(pool_size = ATTACHMENTS)]
async fn attachment(stack: Stack<'static>, index: usize, config: Config) -> ! {
    use degu_core::attach::Backoff;
    use degu_embassy::attach::{LinkEnd, Redial};
    let Some(resources) = ATTACH_RESOURCES.get(index) else {
        fail("no resources for this attachment");
    };
    let AttachResources {
        rx,
        tx,
        buffers,
        #[cfg(feature = "tls")]
        tls,
    } = resources.take();
    let mut socket = TcpSocket::new(stack, rx, tx);
    let seed = u32::from_le_bytes([
        config.seed[0],
        config.seed[1],
        config.seed[2],
        config.seed[3],
    ]);
    let mut redial = Redial::new(Backoff::DEFAULT, seed ^ (index as u32 + 1));
    #[cfg(feature = "tls")]
    let mut rng = tls_rng(&config, index as u8);
    loop {
        let started = Instant::now();
        let end: LinkEnd = if config.tls {
            #[cfg(feature = "tls")]
            {
                let credentials = credentials(&config);
                let name = (!config.path.is_empty() && config.path != "/").then_some(config.path);
                degu_embassy::attach::attach_tls(
                    &mut socket,
                    (GATEWAY, config.port),
                    &ATTACH_TIMEOUTS,
                    tls,
                    &credentials,
                    &mut rng,
                    name,
                    buffers,
                    &DemoApp,
                    &ATTACH_SERVE,
                )
                .await
            }
            #[cfg(not(feature = "tls"))]
            fail("TLS requested, but this is the plain build")
        } else {
            degu_embassy::attach::attach_plain(
                &mut socket,
                (GATEWAY, config.port),
                &ATTACH_TIMEOUTS,
                config.path,
                buffers,
                &DemoApp,
                &ATTACH_SERVE,
            )
            .await
        };
        let wait = redial.after(&end);
        hprintln!(
            "attachment {}: {:?} after {} ms; dialling again in {} ms",
            index,
            end,
            started.elapsed().as_millis(),
            wait
        );
        Timer::after_millis(u64::from(wait)).await;
    }
}

/// The IPv4 configuration: the blob's LAN (static, no gateway), or QEMU's user network
/// (10.0.2.15/24, gateway 10.0.2.2).
fn ipv4(config: &Config) -> StaticConfigV4 {
    match config.lan {
        Some(lan) => StaticConfigV4 {
            address: Ipv4Cidr::new(Ipv4Address::from(lan.address), lan.prefix),
            gateway: None,
            dns_servers: Default::default(),
        },
        None => StaticConfigV4 {
            address: Ipv4Cidr::new(Ipv4Address::new(10, 0, 2, 15), 24),
            gateway: Some(GATEWAY),
            dns_servers: Default::default(),
        },
    }
}

/// The IPv6 link-local address (`fe80::/64`) of the interface with MAC address `mac`:
/// the modified EUI-64 interface identifier of RFC 4291, appendix A (as smoltcp's SLAAC
/// makes it). The pair client finds its peer's address the same way.
#[cfg(feature = "ipv6")]
pub fn link_local(mac: [u8; 6]) -> Ipv6Cidr {
    const LINK_LOCAL: Ipv6Cidr = Ipv6Cidr::new(
        embassy_net::Ipv6Address::new(0xfe80, 0, 0, 0, 0, 0, 0, 0),
        64,
    );
    match Ipv6Cidr::from_link_prefix(
        &LINK_LOCAL,
        HardwareAddress::Ethernet(embassy_net::EthernetAddress(mac)),
    ) {
        Some(cidr) => cidr,
        None => fail("no link-local address for an Ethernet MAC"),
    }
}

async fn serve(spawner: Spawner, stack: Stack<'static>, v4: &StaticConfigV4, idle_exit: bool) -> ! {
    stack.wait_config_up().await;
    hprintln!("net up");
    spawner.spawn(unwrap_spawn(server(stack, POOL.take())));
    hprintln!("listening on {}:{}", v4.address.address(), PORT);
    #[cfg(feature = "ipv6")]
    if let Some(v6) = stack.config_v6() {
        hprintln!("listening on [{}]:{}", v6.address.address(), PORT);
    }

    activity(0);
    loop {
        Timer::after_secs(1).await;
        let (active, last) = critical_section::with(|cs| ACTIVITY.borrow(cs).get());
        if idle_exit && active == 0 && Instant::now().as_ticks() - last >= IDLE_EXIT.as_ticks() {
            hprintln!("no connection for {} s: exiting", IDLE_EXIT.as_secs());
            debug::exit(debug::EXIT_SUCCESS);
        }
    }
}

#[embassy_executor::task]
async fn net_task(mut runner: Runner<'static, Lan9118>) -> ! {
    runner.run().await
}

#[embassy_executor::task]
async fn server(stack: Stack<'static>, pool: &'static mut Pool) -> ! {
    pool.run_with(stack, PORT, &DemoApp, &CONFIG, &Events).await
}

/// The pool's account of its connections: a line each on QEMU's stdout, and the activity
/// that keeps the firmware from exiting.
struct Events;

impl PoolEvents for Events {
    fn accepted(&self, _socket: usize, _peer: Option<IpEndpoint>) {
        activity(1);
    }

    fn closed(&self, socket: usize, peer: Option<IpEndpoint>, end: &Result<ServerEnd, Error>) {
        activity(-1);
        match peer {
            Some(peer) => hprintln!("socket {}: {}: {:?}", socket, peer, end),
            None => hprintln!("socket {}: {:?}", socket, end),
        }
    }

    fn evicting(&self, socket: usize, rank: Rank) {
        hprintln!("socket {}: closing to make room ({:?})", socket, rank);
    }
}

/// Print the RAM the server and the client take, as `footprint key=value...` lines:
/// static buffers plus the futures that run them (kept in their tasks' static storage).
///
/// * `server`: one connection of a worker: its socket's TCP buffers, a set of engine
///   buffers, and the future that accepts and serves a connection on a socket;
/// * `spare`: one more socket: TCP buffers, its connection future and state in the
///   pool's task, and smoltcp's socket state in the stack's resources;
/// * `client`: the gateway client's connection.
fn footprint(stack: Stack<'static>, config: &Config) {
    let pool = POOL.take();
    let measured = pool.footprint(stack, &DemoApp, &CONFIG);
    let sockets = 2 * SOCKET_BUFFER;
    let buffers = core::mem::size_of::<Buffers>();
    hprintln!(
        "footprint server socket={} degu_buffers={} future={} per_connection={}",
        sockets,
        buffers,
        measured.connection,
        sockets + buffers + measured.connection
    );
    // smoltcp's state for one socket: what one more slot of StackResources takes.
    let smoltcp =
        core::mem::size_of::<StackResources<2>>() - core::mem::size_of::<StackResources<1>>();
    let spare = sockets + measured.connection + measured.socket_state + smoltcp;
    hprintln!(
        "footprint spare socket={} future={} state={} smoltcp={} per_socket={} (pool: {} workers, {} sockets, task {} bytes)",
        sockets,
        measured.connection,
        measured.socket_state,
        smoltcp,
        spare,
        WORKERS,
        Pool::SOCKETS,
        measured.task
    );
    let client_future = core::mem::size_of_val(&client(stack, config));
    let client_buffers = core::mem::size_of::<ClientBuffers>();
    #[cfg(feature = "tls")]
    let tls = core::mem::size_of::<degu_embassy::tls::TlsBuffers>();
    #[cfg(not(feature = "tls"))]
    let tls = 0;
    hprintln!(
        "footprint client socket={} degu_buffers={} tls_buffers={} future={} per_connection={}",
        sockets,
        client_buffers,
        tls,
        client_future,
        sockets + client_buffers + tls + client_future
    );
}

/// Why the client failed.
enum ClientError {
    Connect(embassy_net::tcp::ConnectError),
    Http(&'static str, Error),
    Status(&'static str, u16),
    #[cfg(feature = "tls")]
    Tls(&'static str, degu_embassy::tls::TlsError),
    #[cfg(not(feature = "tls"))]
    NoTls,
}

impl core::fmt::Display for ClientError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ClientError::Connect(e) => write!(f, "connect to the gateway: {e:?}"),
            ClientError::Http(what, e) => write!(f, "{what}: {e}"),
            ClientError::Status(what, s) => write!(f, "{what}: status {s}"),
            #[cfg(feature = "tls")]
            // embedded-tls reports every alert but close_notify as InternalError.
            ClientError::Tls(what, degu_embassy::tls::TlsError::InternalError) => write!(
                f,
                "{what}: TLS: InternalError (an alert from the gateway: certificate refused?)"
            ),
            #[cfg(feature = "tls")]
            ClientError::Tls(what, e) => write!(f, "{what}: TLS: {e:?}"),
            #[cfg(not(feature = "tls"))]
            ClientError::NoTls => f.write_str("TLS requested, but this is the plain build"),
        }
    }
}

/// Connect to the gateway (plain or TLS), run the requests, close.
async fn client(stack: Stack<'static>, config: &Config) -> Result<(), ClientError> {
    let ClientResources { rx, tx, buffers } = CLIENT_RESOURCES.take();
    let mut socket = TcpSocket::new(stack, rx, tx);
    let started = Instant::now();
    let mut io = degu_embassy::connect(&mut socket, (GATEWAY, config.port), &CLIENT_TIMEOUTS)
        .await
        .map_err(ClientError::Connect)?;
    hprintln!(
        "connected to {}:{} in {} ms",
        GATEWAY,
        config.port,
        started.elapsed().as_millis()
    );
    if !config.tls {
        let (reader, writer) = io.split();
        let mut conn = buffers.connection(reader, writer);
        let result = requests(&mut conn, config.path).await;
        drop(conn);
        io.close().await;
        return result;
    }
    #[cfg(not(feature = "tls"))]
    {
        io.close().await;
        Err(ClientError::NoTls)
    }
    #[cfg(feature = "tls")]
    {
        use degu_embassy::tls;
        let rng = tls_rng(config, 0);
        let credentials = credentials(config);
        let started = Instant::now();
        let stream = tls::connect(io, TLS_BUFFERS.take(), &credentials, rng)
            .await
            .map_err(|e| ClientError::Tls("handshake", e))?;
        hprintln!(
            "TLS 1.3 up with {} in {} ms",
            config.server_name,
            started.elapsed().as_millis()
        );
        // embedded-tls cannot split a connection: its halves take turns.
        let mut stream = degu_embassy::HalfDuplex::new(stream);
        let (reader, writer) = stream.split();
        let mut conn = buffers.connection(reader, writer);
        let result = requests(&mut conn, config.path).await;
        drop(conn);
        // A failed exchange says why in the TLS stream's last error (an alert from a
        // gateway that refused the certificate, for one).
        let result = match (result, stream.get_mut().last_error()) {
            (Err(ClientError::Http(what, _)), Some(e)) => Err(ClientError::Tls(what, e)),
            (result, _) => result,
        };
        match stream.into_inner().close().await {
            Ok(io) | Err((io, _)) => io.close().await,
        }
        result
    }
}

/// The TLS client's credentials from the blob: the gateway's CA and name, the device's
/// certificate and key (none when the blob has no certificate).
#[cfg(feature = "tls")]
fn credentials(config: &Config) -> degu_embassy::tls::TlsCredentials<'static> {
    use degu_embassy::tls::{ClientCert, TlsCredentials};
    TlsCredentials {
        ca: config.ca,
        server_name: config.server_name,
        client: (!config.cert.is_empty()).then_some(ClientCert {
            cert: config.cert,
            key: config.key,
        }),
    }
}

/// The TLS random generator: the blob's seed, `salt` (one per connection that needs its
/// own) and the clock. A real device would seed it from its TRNG.
#[cfg(feature = "tls")]
fn tls_rng(config: &Config, salt: u8) -> rand_chacha::ChaCha20Rng {
    use rand_chacha::rand_core::SeedableRng;
    let mut seed = config.seed;
    seed[31] ^= salt;
    for (s, t) in seed.iter_mut().zip(Instant::now().as_ticks().to_le_bytes()) {
        *s ^= t;
    }
    rand_chacha::ChaCha20Rng::from_seed(seed)
}

/// `GET path`, then a chunked `POST /upload` whose answer is read while it is sent;
/// print each answer.
async fn requests<R: Read, W: Write, B: AsMut<[u8]>>(
    conn: &mut Connection<R, W, B>,
    path: &str,
) -> Result<(), ClientError> {
    let mut body = [0u8; 512];
    let started = Instant::now();
    let mut response = conn
        .get(path, &[])
        .await
        .map_err(|e| ClientError::Http("GET", e))?;
    let status = response.status;
    let n = response
        .body
        .read_to_end(&mut body)
        .await
        .map_err(|e| ClientError::Http("GET body", e))?;
    print_response(status, &body[..n], started);
    if !(200..300).contains(&status) {
        return Err(ClientError::Status("GET", status));
    }

    let started = Instant::now();
    let (mut upload, response) = conn
        .send(Method::Post, "/upload", &[], Framing::Chunked)
        .map_err(|e| ClientError::Http("POST", e))?;
    let sending = async {
        let mut chunk = [0u8; UPLOAD_CHUNK];
        let mut sent = 0;
        while sent < UPLOAD_LEN {
            let len = UPLOAD_CHUNK.min(UPLOAD_LEN - sent);
            for (i, b) in chunk[..len].iter_mut().enumerate() {
                *b = ((sent + i) % 251) as u8;
            }
            upload.write_chunk(None, &chunk[..len]).await?;
            sent += len;
        }
        upload.finish(None).await
    };
    // Full duplex: a gateway that answers before the upload is all sent is heard.
    let (sent, response) = embassy_futures::join::join(sending, response.receive()).await;
    let mut response = response.map_err(|e| ClientError::Http("POST", e))?;
    sent.map_err(|e| ClientError::Http("POST body", e))?;
    let status = response.status;
    let n = response
        .body
        .read_to_end(&mut body)
        .await
        .map_err(|e| ClientError::Http("POST body", e))?;
    print_response(status, &body[..n], started);
    if !(200..300).contains(&status) {
        return Err(ClientError::Status("POST", status));
    }
    Ok(())
}

fn print_response(status: u16, body: &[u8], started: Instant) {
    match core::str::from_utf8(body) {
        Ok(text) => hprintln!(
            "response {} in {} ms: {}",
            status,
            started.elapsed().as_millis(),
            text
        ),
        Err(_) => hprintln!(
            "response {} in {} ms: {} bytes",
            status,
            started.elapsed().as_millis(),
            body.len()
        ),
    }
}

fn unwrap_spawn<T>(token: Result<T, embassy_executor::SpawnError>) -> T {
    match token {
        Ok(token) => token,
        Err(_) => fail("task pool exhausted"),
    }
}

/// Print `fatal: why` and exit QEMU with code 1.
pub fn fail(why: &str) -> ! {
    hprintln!("fatal: {}", why);
    debug::exit(debug::EXIT_FAILURE);
    #[allow(clippy::empty_loop)]
    loop {}
}
