//! `roundtrip [--requests N] [--rounds R] [--transport unix|inet|inet6|tls|all]
//! [--systems LIST] [--warmup N] [--pin CPU]`: Degu beside hyper and the raw-socket limit on the
//! Python original's workload (one connection, sequential `POST /`, 148 bytes each way).
//!
//! Every round runs every selected system on every selected transport once, in an order
//! that rotates from round to round; it prints round trips per second as it goes, then a
//! Markdown table of the medians with same-run ratios: each degu async mode against
//! hyper's best mode on that transport, and the degu blocking client against the raw
//! ping-pong. `--transport all` (the default) includes `tls`: TLS 1.3 with client
//! certificates over `127.0.0.1`. Multi-thread runtimes (degu's and hyper's alike) get
//! one worker per core of the machine, also under `--pin`.
//!
//! CI's smoke run: `cargo run --release -p degu-bench --bin roundtrip -- --requests 2000
//! --rounds 1`.

use degu_bench::BoxError;
use degu_bench::harness::{Measurement, Servers, System, Transport, median, pin};
use std::collections::BTreeMap;
use std::io::Write as _;
use std::process::ExitCode;

const USAGE: &str =
    "usage: roundtrip [--requests N] [--rounds R] [--transport unix|inet|inet6|tls|all]
                 [--systems LIST] [--warmup N] [--pin CPU]
  --requests N   timed round trips per measurement (default 20000)
  --rounds R     rounds; each runs every system once per transport (default 5)
  --transport T  unix, inet (127.0.0.1), inet6 ([::1]), tls (TLS 1.3, mutual, on
                 127.0.0.1) or all (default, all four)
  --systems LIST comma-separated: degu-mt degu-ct degu-blocking hyper-mt hyper-ct
                 hyper-mt-mtsrv hyper-ct-mtsrv raw raw-tokio, or the groups degu,
                 hyper and raw (default: all)
  --warmup N     untimed round trips on each connection first (default requests/4,
                 at least 100, at most 5000)
  --pin CPU      run every thread (clients, servers, runtime workers) on CPU number
                 CPU: no cross-CPU wake-ups, which on a VM can cost more than the
                 whole round trip and come and go with the scheduler's placement";

struct Args {
    requests: usize,
    rounds: usize,
    warmup: Option<usize>,
    pin: Option<usize>,
    transports: Vec<Transport>,
    systems: Vec<System>,
}

fn parse_args() -> Result<Args, lexopt::Error> {
    use lexopt::prelude::*;
    let mut args = Args {
        requests: 20_000,
        rounds: 5,
        warmup: None,
        pin: None,
        transports: Transport::ALL.to_vec(),
        systems: System::ALL.to_vec(),
    };
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next()? {
        match arg {
            Long("requests") => args.requests = parser.value()?.parse()?,
            Long("rounds") => args.rounds = parser.value()?.parse()?,
            Long("warmup") => args.warmup = Some(parser.value()?.parse()?),
            Long("pin") => args.pin = Some(parser.value()?.parse()?),
            Long("transport") => {
                let t = parser.value()?.string()?;
                args.transports = match t.as_str() {
                    "all" => Transport::ALL.to_vec(),
                    name => vec![
                        Transport::ALL
                            .into_iter()
                            .find(|t| t.name() == name)
                            .ok_or_else(|| format!("unknown transport {name:?}"))?,
                    ],
                };
            }
            Long("systems") => {
                let filter = parser.value()?.string()?;
                args.systems = System::ALL
                    .into_iter()
                    .filter(|s| s.selected_by(&filter))
                    .collect();
                if args.systems.is_empty() {
                    return Err(format!("no system matches {filter:?}").into());
                }
            }
            Long("help") | Short('h') => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            _ => return Err(arg.unexpected()),
        }
    }
    if args.requests == 0 || args.rounds == 0 {
        return Err("--requests and --rounds must be > 0".into());
    }
    Ok(args)
}

/// `12345.6` → `12,346`.
fn thousands(x: f64) -> String {
    if !x.is_finite() {
        return "—".into();
    }
    let digits = format!("{:.0}", x);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

type Results = BTreeMap<(Transport, System), Vec<Measurement>>;

fn rates(results: &Results, key: (Transport, System)) -> Option<Vec<f64>> {
    Some(results.get(&key)?.iter().map(|m| m.rate).collect())
}

/// `a / b` of the medians, with the range of the per-round ratios.
fn ratio(results: &Results, t: Transport, a: System, b: System) -> Option<(f64, f64, f64)> {
    let (ra, rb) = (rates(results, (t, a))?, rates(results, (t, b))?);
    let m = median(&ra) / median(&rb);
    let per_round: Vec<f64> = ra.iter().zip(&rb).map(|(x, y)| x / y).collect();
    let lo = per_round.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = per_round.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    m.is_finite().then_some((m, lo, hi))
}

/// hyper's mode with the highest median on `t`.
fn best(results: &Results, t: Transport, pick: impl Fn(System) -> bool) -> Option<System> {
    System::ALL
        .into_iter()
        .filter(|s| pick(*s))
        .filter_map(|s| Some((s, median(&rates(results, (t, s))?))))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(s, _)| s)
}

fn ratio_cell(r: Option<(f64, f64, f64)>, rounds: usize) -> String {
    match r {
        Some((m, lo, hi)) if rounds > 1 => format!("{m:.2} ({lo:.2}–{hi:.2})"),
        Some((m, _, _)) => format!("{m:.2}"),
        None => "—".into(),
    }
}

fn report(args: &Args, results: &Results) {
    let ts = &args.transports;
    println!();
    println!(
        "### Medians: round trips/s, {} rounds × {} requests, one connection each",
        args.rounds, args.requests
    );
    println!();
    let head: Vec<&str> = ts.iter().map(|t| t.name()).collect();
    println!("| system | {} |", head.join(" | "));
    println!("|---|{}", "---:|".repeat(ts.len()));
    for s in &args.systems {
        let cells: Vec<String> = ts
            .iter()
            .map(|t| thousands(rates(results, (*t, *s)).map_or(f64::NAN, |v| median(&v))))
            .collect();
        println!("| {} | {} |", s.name(), cells.join(" | "));
    }
    let row = |label: &str, cell: &dyn Fn(Transport) -> String| {
        let cells: Vec<String> = ts.iter().map(|t| cell(*t)).collect();
        println!("| {label} | {} |", cells.join(" | "));
    };
    let best_hyper = |t| best(results, t, System::is_hyper);
    let best_degu = |t| best(results, t, |s| matches!(s, System::DeguMt | System::DeguCt));
    row("hyper's best mode", &|t| {
        best_hyper(t).map_or("—".into(), |s| s.name().into())
    });
    for degu in [System::DeguMt, System::DeguCt] {
        row(&format!("**{} / hyper's best**", degu.name()), &|t| {
            let r = best_hyper(t).and_then(|h| ratio(results, t, degu, h));
            ratio_cell(r, args.rounds)
        });
    }
    row(
        "**best degu async / hyper's best** (target ≥ 1.30)",
        &|t| {
            let r = best_hyper(t)
                .zip(best_degu(t))
                .and_then(|(h, d)| ratio(results, t, d, h));
            ratio_cell(r, args.rounds)
        },
    );
    row("**degu-blocking / raw** (target ≥ 0.95)", &|t| {
        ratio_cell(
            ratio(results, t, System::DeguBlocking, System::Raw),
            args.rounds,
        )
    });
    row("degu-blocking / raw-tokio", &|t| {
        ratio_cell(
            ratio(results, t, System::DeguBlocking, System::RawTokio),
            args.rounds,
        )
    });
    if args.rounds > 1 {
        println!();
        println!("Ratios: of the medians, with the range of the per-round ratios in brackets.");
    }
    println!();
    println!("### CPU µs per round trip (whole process: client and server threads), medians");
    println!();
    println!("Less sensitive to other load on the machine than round trips/s.");
    println!();
    println!("| system | {} |", head.join(" | "));
    println!("|---|{}", "---:|".repeat(ts.len()));
    for s in &args.systems {
        let cells: Vec<String> = ts
            .iter()
            .map(|t| match results.get(&(*t, *s)) {
                Some(v) => {
                    let cpu: Vec<f64> = v.iter().map(|m| m.cpu_us).collect();
                    format!("{:.2}", median(&cpu))
                }
                None => "—".into(),
            })
            .collect();
        println!("| {} | {} |", s.name(), cells.join(" | "));
    }
    let cpu = |t: Transport, s: System| {
        results
            .get(&(t, s))
            .map(|v| median(&v.iter().map(|m| m.cpu_us).collect::<Vec<_>>()))
    };
    // The hyper mode that needs the least CPU per round trip.
    let frugal_hyper = |t: Transport| {
        System::ALL
            .into_iter()
            .filter(|s| s.is_hyper())
            .filter_map(|s| Some((s, cpu(t, s)?)))
            .min_by(|a, b| a.1.total_cmp(&b.1))
    };
    let cpu_ratio = |num: Option<f64>, den: Option<f64>| match (num, den) {
        (Some(n), Some(d)) if n.is_finite() && d.is_finite() => format!("{:.2}", n / d),
        _ => "—".into(),
    };
    row("hyper's leanest mode", &|t| {
        frugal_hyper(t).map_or("—".into(), |(s, _)| s.name().into())
    });
    for degu in [System::DeguMt, System::DeguCt] {
        row(&format!("**hyper's leanest / {}**", degu.name()), &|t| {
            cpu_ratio(frugal_hyper(t).map(|(_, c)| c), cpu(t, degu))
        });
    }
    row("**raw / degu-blocking**", &|t| {
        cpu_ratio(cpu(t, System::Raw), cpu(t, System::DeguBlocking))
    });
    row("raw-tokio / degu-blocking", &|t| {
        cpu_ratio(cpu(t, System::RawTokio), cpu(t, System::DeguBlocking))
    });
    println!();
    println!(
        "CPU ratios are round trips per CPU-second, degu's over the other's (higher: degu leaner)."
    );
}

fn run(args: &Args) -> Result<(), BoxError> {
    let cores = degu_bench::harness::workers();
    if let Some(cpu) = args.pin {
        pin(cpu).map_err(|e| format!("cannot pin to CPU {cpu}: {e}"))?;
    }
    let warmup = args.warmup.unwrap_or((args.requests / 4).clamp(100, 5000));
    println!(
        "roundtrip: {} rounds × {} timed round trips (after {warmup} untimed) per system and transport; {} cores{}",
        args.rounds,
        args.requests,
        cores,
        args.pin.map_or(String::new(), |c| format!(
            ", every thread pinned to CPU {c}"
        )),
    );
    let pki = degu_std::TempPki::new()?;
    let mut servers = Vec::new();
    for t in &args.transports {
        servers.push(Servers::start(*t, &pki)?);
    }
    let mut results = Results::new();
    for round in 0..args.rounds {
        for s in &servers {
            let t = s.transport();
            let mut order: Vec<System> = args
                .systems
                .iter()
                .copied()
                .filter(|sys| sys.runs_on(t))
                .collect();
            if order.is_empty() {
                continue;
            }
            let k = round % order.len();
            order.rotate_left(k);
            print!("round {}/{} {:<5}", round + 1, args.rounds, t.name());
            for sys in order {
                let v = s
                    .measure(sys, warmup, args.requests)
                    .map_err(|e| format!("{} over {}: {e}", sys.name(), t.name()))?;
                results.entry((t, sys)).or_default().push(v);
                print!("  {} {}", sys.name(), thousands(v.rate));
                let _ = std::io::stdout().flush();
            }
            println!();
        }
    }
    report(args, &results);
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("roundtrip: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("roundtrip: {e}");
            ExitCode::FAILURE
        }
    }
}
