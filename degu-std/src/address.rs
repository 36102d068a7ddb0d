//! One address type for every transport Degu speaks on a host: IPv4, IPv6 with a scope
//! id (so link-local works), a host name to resolve, an AF_UNIX path and a Linux
//! abstract AF_UNIX name. Servers bind it, clients connect to it, both parse the same
//! text.
//!
//! | text | address |
//! |---|---|
//! | `127.0.0.1:8080` | IPv4 |
//! | `[::1]:8080`, `[fe80::1%eth0]:8080`, `[fe80::1%2]:8080` | IPv6, scope by name or index |
//! | `localhost:8080` | a host name, resolved when used |
//! | `/run/degu.sock`, `./degu.sock` | AF_UNIX path |
//! | `@degu` | Linux abstract AF_UNIX name `\0degu` |

use degu_core::app::PeerAddr;
use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Where a server listens or a client connects.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Address {
    /// IPv4 or IPv6 (with flow info and scope id).
    Ip(SocketAddr),
    /// A host name and port, resolved when bound or connected.
    Host(String, u16),
    /// An AF_UNIX socket at a filesystem path.
    Unix(PathBuf),
    /// A Linux abstract AF_UNIX name (without the leading NUL).
    Abstract(Vec<u8>),
}

/// Why a text is not an [`Address`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddressError {
    text: String,
    why: &'static str,
}

impl fmt::Display for AddressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad address {:?}: {}", self.text, self.why)
    }
}

impl std::error::Error for AddressError {}

impl Address {
    /// `127.0.0.1` with a port (0 asks the kernel for a free one).
    pub fn ipv4_loopback(port: u16) -> Self {
        Address::Ip(SocketAddr::from(([127, 0, 0, 1], port)))
    }

    /// `[::1]` with a port.
    pub fn ipv6_loopback(port: u16) -> Self {
        Address::Ip(SocketAddr::from((Ipv6Addr::LOCALHOST, port)))
    }

    /// Whether this is an AF_UNIX address.
    pub fn is_unix(&self) -> bool {
        matches!(self, Address::Unix(_) | Address::Abstract(_))
    }

    /// The port of an IP or host address.
    pub fn port(&self) -> Option<u16> {
        match self {
            Address::Ip(a) => Some(a.port()),
            Address::Host(_, p) => Some(*p),
            _ => None,
        }
    }

    /// The `host` header a client sends by default: the host (IPv6 in brackets, no
    /// scope) plus `:port` unless it is `default_port`; `None` for AF_UNIX.
    pub fn host_header(&self, default_port: u16) -> Option<String> {
        let (host, port) = match self {
            Address::Ip(SocketAddr::V4(a)) => (a.ip().to_string(), a.port()),
            Address::Ip(SocketAddr::V6(a)) => (format!("[{}]", a.ip()), a.port()),
            Address::Host(h, p) => (h.clone(), *p),
            _ => return None,
        };
        Some(if port == default_port {
            host
        } else {
            format!("{host}:{port}")
        })
    }

    /// The name a TLS client verifies by default: the host or IP without port.
    pub fn server_name(&self) -> Option<String> {
        match self {
            Address::Ip(a) => Some(a.ip().to_string()),
            Address::Host(h, _) => Some(h.clone()),
            _ => None,
        }
    }
}

fn err(text: &str, why: &'static str) -> AddressError {
    AddressError {
        text: text.to_string(),
        why,
    }
}

/// Parse an interface scope: a decimal index or an interface name.
fn scope_id(text: &str, scope: &str) -> Result<u32, AddressError> {
    if scope.is_empty() {
        return Err(err(text, "empty scope id"));
    }
    if let Ok(i) = scope.parse::<u32>() {
        return Ok(i);
    }
    nix::net::if_::if_nametoindex(scope).map_err(|_| err(text, "no such network interface"))
}

impl FromStr for Address {
    type Err = AddressError;

    fn from_str(text: &str) -> Result<Self, AddressError> {
        if let Some(name) = text.strip_prefix('@') {
            return Ok(Address::Abstract(name.as_bytes().to_vec()));
        }
        if text.starts_with('/') || text.starts_with("./") || text.starts_with("../") {
            return Ok(Address::Unix(PathBuf::from(text)));
        }
        if let Some(rest) = text.strip_prefix('[') {
            let (inside, port) = rest
                .split_once("]:")
                .ok_or_else(|| err(text, "expected [ipv6]:port"))?;
            let port: u16 = port.parse().map_err(|_| err(text, "bad port"))?;
            let (ip, scope) = match inside.split_once('%') {
                Some((ip, scope)) => (ip, scope_id(text, scope)?),
                None => (inside, 0),
            };
            let ip: Ipv6Addr = ip.parse().map_err(|_| err(text, "bad IPv6 address"))?;
            return Ok(Address::Ip(SocketAddr::V6(SocketAddrV6::new(
                ip, port, 0, scope,
            ))));
        }
        let (host, port) = text
            .rsplit_once(':')
            .ok_or_else(|| err(text, "expected host:port, [ipv6]:port, a path or @name"))?;
        let port: u16 = port.parse().map_err(|_| err(text, "bad port"))?;
        if host.is_empty() {
            return Err(err(text, "empty host"));
        }
        if host.contains(':') {
            return Err(err(text, "IPv6 addresses go in brackets: [ipv6]:port"));
        }
        match host.parse::<IpAddr>() {
            Ok(ip) => Ok(Address::Ip(SocketAddr::new(ip, port))),
            Err(_) => Ok(Address::Host(host.to_string(), port)),
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Ip(SocketAddr::V4(a)) => write!(f, "{a}"),
            Address::Ip(SocketAddr::V6(a)) if a.scope_id() != 0 => {
                write!(f, "[{}%{}]:{}", a.ip(), a.scope_id(), a.port())
            }
            Address::Ip(SocketAddr::V6(a)) => write!(f, "[{}]:{}", a.ip(), a.port()),
            Address::Host(h, p) => write!(f, "{h}:{p}"),
            Address::Unix(p) => write!(f, "{}", p.display()),
            Address::Abstract(name) => write!(f, "@{}", String::from_utf8_lossy(name)),
        }
    }
}

impl From<SocketAddr> for Address {
    fn from(a: SocketAddr) -> Self {
        Address::Ip(a)
    }
}

impl From<std::net::SocketAddrV4> for Address {
    fn from(a: std::net::SocketAddrV4) -> Self {
        Address::Ip(SocketAddr::V4(a))
    }
}

impl From<SocketAddrV6> for Address {
    fn from(a: SocketAddrV6) -> Self {
        Address::Ip(SocketAddr::V6(a))
    }
}

impl From<PathBuf> for Address {
    fn from(p: PathBuf) -> Self {
        Address::Unix(p)
    }
}

impl From<&Path> for Address {
    fn from(p: &Path) -> Self {
        Address::Unix(p.to_path_buf())
    }
}

impl From<&std::os::unix::net::SocketAddr> for Address {
    fn from(a: &std::os::unix::net::SocketAddr) -> Self {
        use std::os::linux::net::SocketAddrExt;
        if let Some(p) = a.as_pathname() {
            Address::Unix(p.to_path_buf())
        } else if let Some(name) = a.as_abstract_name() {
            Address::Abstract(name.to_vec())
        } else {
            Address::Unix(PathBuf::new())
        }
    }
}

impl From<&Address> for PeerAddr {
    fn from(a: &Address) -> Self {
        match a {
            Address::Ip(ip) => PeerAddr::Ip(*ip),
            Address::Unix(p) if !p.as_os_str().is_empty() => p
                .to_str()
                .and_then(|s| heapless::String::try_from(s).ok())
                .map_or(PeerAddr::Unnamed, PeerAddr::UnixPath),
            Address::Abstract(name) => {
                heapless::Vec::from_slice(name).map_or(PeerAddr::Unnamed, PeerAddr::UnixAbstract)
            }
            _ => PeerAddr::Unnamed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Address {
        s.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn every_form_parses_and_prints_back() {
        for text in [
            "127.0.0.1:8080",
            "0.0.0.0:0",
            "[::1]:8080",
            "[fe80::1%1]:5984",
            "localhost:80",
            "/tmp/degu.sock",
            "./degu.sock",
            "@degu-test",
        ] {
            assert_eq!(parse(text).to_string(), text);
        }
    }

    #[test]
    fn scope_by_interface_name_becomes_its_index() {
        let Address::Ip(SocketAddr::V6(a)) = parse("[fe80::1%lo]:80") else {
            panic!("not v6");
        };
        assert_eq!(a.scope_id(), nix::net::if_::if_nametoindex("lo").unwrap());
        assert!("[fe80::1%no-such-if0]:80".parse::<Address>().is_err());
    }

    #[test]
    fn bad_text_is_refused_with_a_reason() {
        for bad in [
            "",
            "127.0.0.1",
            "::1:80",
            "[::1]",
            "[::1]:x",
            ":80",
            "1.2.3.4:99999",
            "[::1%]:80",
        ] {
            assert!(bad.parse::<Address>().is_err(), "{bad}");
        }
    }

    #[test]
    fn host_headers_follow_the_python_original() {
        assert_eq!(
            parse("192.168.1.171:5984").host_header(80).as_deref(),
            Some("192.168.1.171:5984")
        );
        assert_eq!(
            parse("example.org:80").host_header(80).as_deref(),
            Some("example.org")
        );
        assert_eq!(
            parse("[fe80::1%1]:5984").host_header(80).as_deref(),
            Some("[fe80::1]:5984")
        );
        assert_eq!(parse("@x").host_header(80), None);
    }
}
