//! The gateway's registry of attachments in process: a busy device's request waits up to
//! the timeout for a free attachment, then 504; one that frees up in time is used;
//! parallel attachments carry parallel requests; a device with none is 502.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use degu_core::app::{App, Request, Session};
use degu_core::engine::{Error, Read, Responder, Sent, Write};
use degu_std::attach::{AttachConfig, AttachedDevice, Attachments, DeviceConfig};
use degu_std::blocking::Wait;
use degu_std::{Address, BodyExt, Client, GatewayApp, TempServer};
use std::time::{Duration, Instant};

/// The gateway's timeout: each read and write on an attachment, and a request's wait
/// for a free one.
const TIMEOUT: Duration = Duration::from_millis(400);

/// Chunks the slow answer sends, [`PACE`] apart: it holds its attachment for about a
/// second, every read well within [`TIMEOUT`].
const CHUNKS: usize = 10;
const PACE: Duration = Duration::from_millis(100);

/// `/slow`: a chunked answer trickling for a second; anything else `fast`.
struct SlowApp;

impl App for SlowApp {
    type State = ();

    async fn handle<'r, R: Read, W: Write>(
        &self,
        _session: &mut Session<'_, ()>,
        request: Request<'_, R>,
        responder: Responder<'r, W>,
    ) -> Result<Sent<'r>, Error> {
        if request.uri != "/slow" {
            return responder.send(200, "OK", &[], b"fast").await;
        }
        let mut body = responder.chunked(200, "OK", &[]).await?;
        for _ in 0..CHUNKS {
            tokio::time::sleep(PACE).await;
            body.write_chunk(None, b"tick").await?;
        }
        body.finish(None).await
    }
}

fn gateway() -> (degu_std::attach::AttachListener, TempServer) {
    let mut config = AttachConfig::plain();
    config.timeout = TIMEOUT;
    let listener = Attachments::listen(&Address::ipv4_loopback(0), config).unwrap();
    let app = GatewayApp::new().with_attachments(listener.attachments());
    let front = TempServer::start(&Address::ipv4_loopback(0), app).unwrap();
    (listener, front)
}

fn device(listener: &degu_std::attach::AttachListener, attachments: usize) -> AttachedDevice {
    let mut config = DeviceConfig::plain(listener.address().clone(), "slow");
    config.attachments = attachments;
    let device = AttachedDevice::spawn(SlowApp, config).unwrap();
    device
        .wait_attached(attachments, Duration::from_secs(5))
        .unwrap();
    // The gateway files an attachment right after the device reads the hand-over.
    let waited = Instant::now();
    while listener.attachments().attached_as("slow") < attachments {
        assert!(waited.elapsed() < Duration::from_secs(5));
        std::thread::sleep(Duration::from_millis(5));
    }
    device
}

/// `GET path` through the gateway: status, body, time taken.
fn get(front: &TempServer, path: &str) -> (u16, Vec<u8>, Duration) {
    let started = Instant::now();
    let mut conn = Client::new(front.address().clone())
        .connect_blocking()
        .unwrap();
    let mut r = conn.get(path, &[]).wait().unwrap();
    let body = r.body.read_to_vec().wait().unwrap();
    (r.status, body, started.elapsed())
}

#[test]
fn a_busy_device_is_504_after_the_timeout_and_a_free_attachment_serves_at_once() {
    let (listener, front) = gateway();
    let _device = device(&listener, 1);
    std::thread::scope(|s| {
        let slow = s.spawn(|| get(&front, "/device/slow/slow"));
        std::thread::sleep(PACE);
        // The one attachment is busy for a second: wait the timeout, then 504.
        let (status, body, took) = get(&front, "/device/slow/fast");
        assert_eq!(status, 504, "{}", String::from_utf8_lossy(&body));
        assert!(String::from_utf8_lossy(&body).contains("stayed busy"));
        assert!(took >= TIMEOUT && took < TIMEOUT * 3, "took {took:?}");
        let (status, body, _) = slow.join().unwrap();
        assert_eq!((status, body), (200, b"tick".repeat(CHUNKS)));
    });
    // Free again: served at once.
    let (status, body, took) = get(&front, "/device/slow/fast");
    assert_eq!((status, body.as_slice()), (200, &b"fast"[..]));
    assert!(took < TIMEOUT, "took {took:?}");
}

#[test]
fn parallel_attachments_carry_parallel_requests() {
    let (listener, front) = gateway();
    let _device = device(&listener, 2);
    std::thread::scope(|s| {
        let slow = s.spawn(|| get(&front, "/device/slow/slow"));
        std::thread::sleep(PACE);
        let (status, body, took) = get(&front, "/device/slow/fast");
        assert_eq!((status, body.as_slice()), (200, &b"fast"[..]));
        assert!(took < TIMEOUT, "the second attachment answered in {took:?}");
        assert_eq!(slow.join().unwrap().0, 200);
    });
    let (status, body, _) = get(&front, "/device/absent/fast");
    assert_eq!(status, 502);
    assert!(String::from_utf8_lossy(&body).contains("device absent is not attached"));
}
