//! Every system puts exactly the workload's bytes on the wire: 148 bytes each way, the
//! same for Degu, hyper and the raw ping-pong. Checked once with raw sockets (no timing).

use degu_bench::hyper_side::{self, Flavour, StdListener, Target};
use degu_bench::workload::{MESSAGE_LEN, REQUEST, RESPONSE};
use degu_bench::{BoxError, degu_side};
use degu_std::Address;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::thread::JoinHandle;
use std::time::Duration;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Serve one connection: read one request, answer [`RESPONSE`], read until the client
/// closes; everything the client sent.
fn capture<S: Read + Write>(mut s: S) -> Vec<u8> {
    let mut request = vec![0u8; MESSAGE_LEN];
    s.read_exact(&mut request).unwrap();
    s.write_all(&RESPONSE).unwrap();
    s.read_to_end(&mut request).unwrap();
    request
}

fn capture_tcp() -> (Address, JoinHandle<Vec<u8>>) {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let address = Address::Ip(l.local_addr().unwrap());
    (
        address,
        std::thread::spawn(move || capture(l.accept().unwrap().0)),
    )
}

fn capture_unix(dir: &tempfile::TempDir) -> (Address, JoinHandle<Vec<u8>>) {
    let path = dir.path().join("capture.sock");
    let l = UnixListener::bind(&path).unwrap();
    (
        Address::Unix(path),
        std::thread::spawn(move || capture(l.accept().unwrap().0)),
    )
}

fn degu_async(address: &Address) -> Result<(), BoxError> {
    runtime().block_on(async {
        let mut conn = degu_side::async_connect(address, None).await?;
        degu_side::async_requests(&mut conn, 1).await
    })
}

fn degu_blocking(address: &Address) -> Result<(), BoxError> {
    let mut conn = degu_side::blocking_connect(address, None)?;
    degu_side::blocking_requests(&mut conn, "/", 1)
}

fn hyper_client(address: &Address) -> Result<(), BoxError> {
    let target = match address {
        Address::Ip(a) => Target::Tcp(*a),
        Address::Unix(p) => Target::Unix(p.clone()),
        _ => unreachable!(),
    };
    runtime().block_on(async {
        let mut conn = hyper_side::connect(&target, None).await?;
        hyper_side::requests(&mut conn, 1).await
    })
}

#[test]
fn clients_send_the_workload_request() {
    let dir = tempfile::tempdir().unwrap();
    type Run = fn(&Address) -> Result<(), BoxError>;
    let clients: [(&str, Run); 3] = [
        ("degu async", degu_async),
        ("degu blocking", degu_blocking),
        ("hyper", hyper_client),
    ];
    for (name, client) in clients {
        // TCP on an IP address is where degu-std would add `host`.
        for unix in [false, true] {
            let (address, server) = if unix {
                capture_unix(&dir)
            } else {
                capture_tcp()
            };
            client(&address).unwrap_or_else(|e| panic!("{name}: {e}"));
            let sent = server.join().unwrap();
            assert_eq!(
                String::from_utf8_lossy(&sent),
                String::from_utf8_lossy(&REQUEST),
                "{name} over {address}"
            );
            if unix {
                std::fs::remove_file(dir.path().join("capture.sock")).unwrap();
            }
        }
    }
}

/// Two requests on one connection: each response must be exactly [`RESPONSE`], and
/// nothing may follow the second within 200 ms.
fn exchange<S: Read + Write>(mut s: S, set_timeout: impl FnOnce(&S)) {
    for _ in 0..2 {
        s.write_all(&REQUEST).unwrap();
        let mut response = vec![0u8; MESSAGE_LEN];
        s.read_exact(&mut response).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&response),
            String::from_utf8_lossy(&RESPONSE)
        );
    }
    set_timeout(&s);
    let mut more = [0u8; 1];
    let e = s.read(&mut more).expect_err("bytes after the response");
    assert!(matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    ));
}

fn tcp(a: SocketAddr) -> TcpStream {
    TcpStream::connect(a).unwrap()
}

const WAIT: Option<Duration> = Some(Duration::from_millis(200));

#[test]
fn servers_send_the_workload_response() {
    let dir = tempfile::tempdir().unwrap();
    let localhost = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));

    let degu = degu_side::start_server(&Address::Ip(localhost), None).unwrap();
    let Address::Ip(a) = degu.address().clone() else {
        unreachable!()
    };
    exchange(tcp(a), |s| s.set_read_timeout(WAIT).unwrap());

    let path = dir.path().join("degu.sock");
    let degu_unix = degu_side::start_server(&Address::Unix(path.clone()), None).unwrap();
    let s = UnixStream::connect(&path).unwrap();
    exchange(s, |s| s.set_read_timeout(WAIT).unwrap());

    for flavour in [Flavour::CurrentThread, Flavour::MultiThread] {
        let l = StdListener::tcp(localhost).unwrap();
        let Target::Tcp(a) = l.target().unwrap() else {
            unreachable!()
        };
        hyper_side::start_server(l, flavour, None).unwrap();
        exchange(tcp(a), |s| s.set_read_timeout(WAIT).unwrap());
    }
    degu.stop().unwrap();
    degu_unix.stop().unwrap();
}
