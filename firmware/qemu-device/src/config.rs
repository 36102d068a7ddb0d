//! The run-time configuration: a blob that QEMU loads into guest RAM before reset.
//!
//! The host test makes its certificates at run time (`TempPki`), so the firmware cannot
//! carry them. QEMU's generic loader puts a file at a fixed address instead:
//!
//! ```text
//! -device loader,file=config.bin,addr=0x203f0000,force-raw=on
//! ```
//!
//! `memory.x` leaves the top 64 KiB of RAM ([`CONFIG_ADDR`], [`CONFIG_MAX`]) out of the
//! program's RAM, so neither `.bss` nor the stack overwrite it. Without a blob the RAM
//! there is zero (QEMU clears it), the magic does not match, and the firmware serves.
//!
//! Layout, integers little-endian:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 8 | magic `DEGUCFG1` |
//! | 8 | 4 | total length of the blob, this header included |
//! | 12 | 1 | mode: 0 serve, 1 gateway client, 2 print the footprint and exit, 3 attach to the gateway (serve it over links the device dials), 0x10 pair client (device to device, [`Mode::PairClient`]) |
//! | 13 | 1 | flags: bit 0 = TLS (client and attach modes), bit 1 = no idle exit (serve mode: run until QEMU is stopped, for `cargo xtask qemu`) |
//! | 14 | 2 | gateway port (the client connects to 10.0.2.2, i.e. host 127.0.0.1) |
//! | 16 | 32 | seed for the TLS random generator |
//! | 48 | … | fields, each a 2-byte length and its bytes, in this order: request path (attach mode: the device name to claim, needed without TLS), TLS server name, CA certificate (DER), client certificate (DER), client key (P-256, SEC1 DER), LAN ([`Lan`]: 5 bytes or empty), peer ([`Peer`]: 10 bytes or empty); missing trailing fields are empty |

/// Where QEMU's loader puts the blob: the top 64 KiB of the boards' 4 MiB RAM.
pub const CONFIG_ADDR: usize = 0x203f_0000;
/// The most the blob may take.
pub const CONFIG_MAX: usize = 0x1_0000;
/// The first eight bytes of a blob.
pub const MAGIC: &[u8; 8] = b"DEGUCFG1";
/// Bytes before the fields.
const HEADER: usize = 48;

/// What the firmware does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Serve the demo app on port 80 (also without a blob).
    Serve,
    /// Send requests to the gateway, print the answers and exit.
    Client,
    /// Print the RAM footprint and exit.
    Footprint,
    /// Dial the gateway and serve the demo app over the links (devices behind NAT),
    /// until QEMU is stopped.
    Attach,
    /// Device to device: run the demo app's routes against the [`Peer`] (another
    /// device serving the demo app on the same [`Lan`]) over IPv4 and IPv6 link-local,
    /// print each result and exit (the `ipv6` build; the others refuse).
    PairClient,
}

/// The mode byte of [`Mode::PairClient`]: apart from the small numbers, which the other
/// modes take one by one.
const PAIR_CLIENT: u8 = 0x10;

/// A LAN of devices without QEMU's user network (the `lan` field: 4 bytes of IPv4
/// address, 1 byte of prefix length): a static address, no gateway. Without it the
/// device is 10.0.2.15/24 behind QEMU's gateway 10.0.2.2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lan {
    /// The device's IPv4 address.
    pub address: [u8; 4],
    /// The LAN's prefix length (at most 32).
    pub prefix: u8,
}

/// The other device of a pair (the `peer` field: 4 bytes of IPv4 address, 6 bytes of
/// MAC address). Its IPv6 link-local address follows from the MAC, as the peer makes
/// its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Peer {
    /// Its IPv4 address on the [`Lan`].
    pub ipv4: [u8; 4],
    /// Its MAC address.
    pub mac: [u8; 6],
}

/// The parsed blob.
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// What to do.
    pub mode: Mode,
    /// Whether the client uses TLS.
    pub tls: bool,
    /// Whether serving stops after `IDLE_EXIT` without a connection (flag bit 1 clear:
    /// the default, which tests rely on).
    pub idle_exit: bool,
    /// The gateway's port.
    pub port: u16,
    /// Random seed for TLS.
    pub seed: [u8; 32],
    /// Path of the first request (attach mode: the device name to claim).
    pub path: &'static str,
    /// The name the gateway's certificate must carry.
    pub server_name: &'static str,
    /// The CA of the gateway's certificate, DER.
    pub ca: &'static [u8],
    /// The device's certificate, DER (empty: none).
    pub cert: &'static [u8],
    /// The device's key, SEC1 DER.
    pub key: &'static [u8],
    /// The device's own LAN (`None`: QEMU's user network).
    pub lan: Option<Lan>,
    /// The other device of a pair (pair client).
    pub peer: Option<Peer>,
}

impl Config {
    /// Serving, as without a blob.
    pub const SERVE: Config = Config {
        mode: Mode::Serve,
        tls: false,
        idle_exit: true,
        port: 0,
        seed: [0; 32],
        path: "",
        server_name: "",
        ca: &[],
        cert: &[],
        key: &[],
        lan: None,
        peer: None,
    };
}

/// The blob QEMU loaded: `Ok(Config::SERVE)` without one, `Err` for a broken one.
pub fn read() -> Result<Config, &'static str> {
    // SAFETY: CONFIG_ADDR..+CONFIG_MAX is RAM on mps2-an385/an386 that memory.x keeps
    // out of the program's RAM: nothing in this program writes it, only QEMU's loader
    // before reset, so a shared 'static view of it is sound.
    let region: &'static [u8] =
        unsafe { core::slice::from_raw_parts(CONFIG_ADDR as *const u8, CONFIG_MAX) };
    parse(region)
}

/// Parse a blob at the start of `region`.
pub fn parse(region: &'static [u8]) -> Result<Config, &'static str> {
    if region.get(..8) != Some(&MAGIC[..]) {
        return Ok(Config::SERVE);
    }
    let total = u32_at(region, 8).ok_or("truncated header")? as usize;
    let blob = region.get(..total).ok_or("length beyond 64 KiB")?;
    if total < HEADER {
        return Err("shorter than its header");
    }
    let mode = match blob.get(12) {
        Some(0) => Mode::Serve,
        Some(1) => Mode::Client,
        Some(2) => Mode::Footprint,
        Some(3) => Mode::Attach,
        Some(&PAIR_CLIENT) => Mode::PairClient,
        _ => return Err("unknown mode"),
    };
    let flags = blob.get(13).copied().unwrap_or(0);
    let port = u16_at(blob, 14).ok_or("truncated header")?;
    let mut seed = [0u8; 32];
    seed.copy_from_slice(blob.get(16..48).ok_or("truncated header")?);
    let mut fields = Fields {
        rest: blob.get(HEADER..).unwrap_or(&[]),
    };
    let path = core::str::from_utf8(fields.next()?).map_err(|_| "path is not UTF-8")?;
    let server_name =
        core::str::from_utf8(fields.next()?).map_err(|_| "server name is not UTF-8")?;
    Ok(Config {
        mode,
        tls: flags & 1 != 0,
        idle_exit: flags & 2 == 0,
        port,
        seed,
        path: if path.is_empty() { "/" } else { path },
        server_name,
        ca: fields.next()?,
        cert: fields.next()?,
        key: fields.next()?,
        lan: lan(fields.next()?)?,
        peer: peer(fields.next()?)?,
    })
}

fn lan(field: &[u8]) -> Result<Option<Lan>, &'static str> {
    match field {
        [] => Ok(None),
        [a, b, c, d, prefix] if *prefix <= 32 => Ok(Some(Lan {
            address: [*a, *b, *c, *d],
            prefix: *prefix,
        })),
        _ => Err("LAN field: not 4 address bytes and a prefix length <= 32"),
    }
}

fn peer(field: &[u8]) -> Result<Option<Peer>, &'static str> {
    match field {
        [] => Ok(None),
        [a, b, c, d, mac @ ..] => Ok(Some(Peer {
            ipv4: [*a, *b, *c, *d],
            mac: mac.try_into().map_err(|_| "peer field: MAC not 6 bytes")?,
        })),
        _ => Err("peer field: not 4 address bytes and a 6-byte MAC"),
    }
}

struct Fields {
    rest: &'static [u8],
}

impl Fields {
    fn next(&mut self) -> Result<&'static [u8], &'static str> {
        if self.rest.is_empty() {
            return Ok(&[]);
        }
        let len = u16_at(self.rest, 0).ok_or("truncated field length")? as usize;
        let field = self.rest.get(2..2 + len).ok_or("field beyond the blob")?;
        self.rest = self.rest.get(2 + len..).unwrap_or(&[]);
        Ok(field)
    }
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}
