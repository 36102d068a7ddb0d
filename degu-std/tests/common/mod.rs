//! What the server tests share: a raw TCP peer and reading until the server closes.
#![allow(dead_code, clippy::panic, clippy::unwrap_used)]

use degu_std::Address;
use std::io::Read as _;
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// A plain TCP connection to `address`, each read bounded by 10 s.
pub fn raw(address: &Address) -> TcpStream {
    let Address::Ip(a) = address else {
        panic!("ip only")
    };
    let s = TcpStream::connect(a).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// Everything until the server closes (or a read waits 10 s), and how long that took.
pub fn read_all(mut s: TcpStream) -> (Vec<u8>, Duration) {
    let start = Instant::now();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    (out, start.elapsed())
}
