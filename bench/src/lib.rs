//! # degu-bench
//!
//! Degu beside hyper and the raw-socket limit, on the Python original's benchmark
//! workload (one connection, sequential `POST /`, 148 bytes each way).
//!
//! * `roundtrip` (binary): round trips per second of every system on every transport,
//!   interleaved in rounds, with a table of medians and same-run ratios.
//! * `hyper-hello` (binary): hyper's twin of `demo-server`'s `GET /hello`, for
//!   `bench/wrk.sh`.
//!
//! Speed is measured only in these binaries, never in tests.

pub mod degu_side;
pub mod harness;
pub mod hyper_side;
pub mod raw;
pub mod server_args;
pub mod tls;
pub mod workload;

/// Any error, sendable between threads.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
