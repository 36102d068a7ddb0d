//! Scale: 1,000 host-side devices (degu-std's attachment loop, one plain attachment
//! each, all on one current-thread runtime in this process) attached to one `gateway`
//! binary (`--attach ... --allow-anonymous`, a child process so its memory is its own),
//! then 20,000 requests from 16 client connections spread over every device: `GET
//! /hello` and `PUT /echo` with a body, each answer checked. No error is allowed.
//!
//! Printed: the time for all devices to attach, the gateway's RSS before and with the
//! devices attached (and per attached device), the requests' rate. The whole run is
//! bounded by [`LIMIT`].
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{Proc, bins, raise_nofile, status_kib};
use degu_examples::demo::DemoApp;
use degu_std::attach::{DeviceConfig, DeviceStats, keep_attached};
use degu_std::{Address, BodyExt, Client};
use std::process::Command;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Devices attached at once.
const DEVICES: usize = 1_000;

/// Requests spread over them.
const REQUESTS: usize = 20_000;

/// Client connections to the gateway at once.
const CLIENTS: usize = 16;

/// Requests a client sends on one connection to the gateway before it opens another
/// (below the gateway's `max_requests`).
const REQUESTS_PER_CONNECTION: usize = 500;

/// The whole run must end within this.
const LIMIT: Duration = Duration::from_secs(240);

/// Descriptors: a socket per device here and one per attachment in the gateway (which
/// inherits the limit), plus the clients, with room to spare.
const NOFILE: u64 = 4 * DEVICES as u64 + 1024;

/// The gateway's RSS per attached device may not exceed this: each attachment holds a
/// 16 KiB read and an 8 KiB write buffer (AttachConfig's defaults), not all touched,
/// its socket and its registry entry.
const RSS_PER_DEVICE_LIMIT_KIB: u64 = 48;

#[test]
fn a_thousand_devices_attached_to_one_gateway_answer_20000_requests() {
    let started = Instant::now();
    raise_nofile(NOFILE);
    let mut cmd = Command::new(&bins().gateway);
    cmd.args(["--address", "127.0.0.1:0", "--attach", "127.0.0.1:0"])
        .args(["--allow-anonymous", "--timeout", "30", "--workers", "2"]);
    let gateway = Proc::spawn(&mut cmd);
    let field = |prefix: &str| -> Address {
        let line = gateway.line(common::STARTUP);
        line.strip_prefix(prefix)
            .unwrap_or_else(|| panic!("{line:?}"))
            .parse()
            .unwrap()
    };
    let (front, attach) = (field("listening on "), field("attach on "));
    let pid = gateway.pid();
    let rss_before = status_kib(pid, "VmRSS");

    // The devices: one thread, one runtime, a thousand attachment loops.
    let stats = Arc::new(DeviceStats::default());
    let stop = Arc::new(AtomicBool::new(false));
    let devices = {
        let (stats, stop, attach) = (stats.clone(), stop.clone(), attach.clone());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let local = tokio::task::LocalSet::new();
            local.block_on(&rt, async {
                let app = Rc::new(DemoApp);
                for i in 0..DEVICES {
                    let config = DeviceConfig::plain(attach.clone(), &format!("d{i}"));
                    let (app, stats) = (app.clone(), stats.clone());
                    tokio::task::spawn_local(async move {
                        keep_attached(&*app, &config, &stats, i as u32 + 1).await;
                    });
                }
                while !stop.load(Ordering::Acquire) {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            });
        })
    };
    let attaching = Instant::now();
    while stats.attached() < DEVICES {
        assert!(
            attaching.elapsed() < Duration::from_secs(60),
            "{} of {DEVICES} devices attached",
            stats.attached()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let attach_time = attaching.elapsed();
    // A device counts itself attached when it reads the hand-over; the gateway files
    // the attachment right after writing it.
    std::thread::sleep(Duration::from_millis(300));
    let rss_attached = status_kib(pid, "VmRSS");
    let per_device = (rss_attached.saturating_sub(rss_before)) as f64 / DEVICES as f64;

    // 20,000 requests over 16 connections, device by device in a stride that visits all.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let next = Arc::new(AtomicUsize::new(0));
    let requesting = Instant::now();
    let results = rt.block_on(async {
        let tasks: Vec<_> = (0..CLIENTS)
            .map(|_| {
                let (client, next) = (Client::new(front.clone()), next.clone());
                tokio::spawn(async move {
                    let mut conn = client.connect().await.map_err(|e| e.to_string())?;
                    let mut done = 0usize;
                    loop {
                        let k = next.fetch_add(1, Ordering::Relaxed);
                        if k >= REQUESTS {
                            return Ok::<usize, String>(done);
                        }
                        // The gateway closes a client connection after its max_requests
                        // (1000 by default): start a new one well before.
                        if done > 0 && done.is_multiple_of(REQUESTS_PER_CONNECTION) {
                            conn = client.connect().await.map_err(|e| e.to_string())?;
                        }
                        let device = (k * 7919) % DEVICES;
                        let fail =
                            |e: &dyn std::fmt::Display| format!("request {k} to d{device}: {e}");
                        if k % 2 == 0 {
                            let uri = format!("/device/d{device}/hello");
                            let mut r = conn.get(&uri, &[]).await.map_err(|e| fail(&e))?;
                            let body = r.body.read_to_vec().await.map_err(|e| fail(&e))?;
                            if r.status != 200 || body != b"hello, world" {
                                return Err(fail(&format!("{} {body:?}", r.status)));
                            }
                        } else {
                            let uri = format!("/device/d{device}/echo");
                            let data = format!("echo {k} via d{device}").into_bytes();
                            let mut r = conn.put(&uri, &[], &data).await.map_err(|e| fail(&e))?;
                            let body = r.body.read_to_vec().await.map_err(|e| fail(&e))?;
                            if r.status != 200 || body != data {
                                return Err(fail(&format!("{} {body:?}", r.status)));
                            }
                        }
                        done += 1;
                    }
                })
            })
            .collect();
        let mut results = Vec::new();
        for t in tasks {
            results.push(t.await.unwrap());
        }
        results
    });
    let took = requesting.elapsed();
    let errors: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    let done: usize = results.iter().filter_map(|r| r.as_ref().ok()).sum();
    let hwm = status_kib(pid, "VmHWM");
    println!(
        "{DEVICES} devices attached in {attach_time:?}; gateway RSS {rss_before} KiB before, \
         {rss_attached} KiB with them attached: {per_device:.1} KiB per attached device"
    );
    println!(
        "{done} requests over {CLIENTS} connections to {DEVICES} devices in {took:?} \
         ({:.0} requests/s), {} errors; gateway peak RSS {hwm} KiB; {} hand-overs",
        done as f64 / took.as_secs_f64(),
        errors.len(),
        stats.handovers()
    );
    assert!(errors.is_empty(), "errors: {errors:?}");
    assert_eq!(done, REQUESTS);
    assert_eq!(
        stats.handovers(),
        DEVICES,
        "no attachment dropped and redialled"
    );
    assert!(
        per_device <= RSS_PER_DEVICE_LIMIT_KIB as f64,
        "{per_device:.1} KiB per attached device"
    );
    stop.store(true, Ordering::Release);
    devices.join().unwrap();
    assert!(started.elapsed() < LIMIT, "took {:?}", started.elapsed());
}
