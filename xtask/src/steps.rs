//! Timed steps: each prints its start and its duration, and a summary of all of them
//! follows at the end (also when a step failed).

use crate::Result;
use std::time::{Duration, Instant};

/// The steps of one command.
pub struct Steps {
    command: &'static str,
    started: Instant,
    done: Vec<(String, Duration, bool)>,
    summarised: bool,
}

impl Steps {
    /// No step yet; `command` names the summary.
    pub fn new(command: &'static str) -> Steps {
        Steps {
            command,
            started: Instant::now(),
            done: Vec::new(),
            summarised: false,
        }
    }

    /// Run `step` as the step `name`, timed.
    pub fn run<T>(&mut self, name: &str, step: impl FnOnce() -> Result<T>) -> Result<T> {
        println!("\n=== xtask: {name}");
        let started = Instant::now();
        let result = step();
        let took = started.elapsed();
        match &result {
            Ok(_) => println!("=== {name}: ok in {:.1}s", took.as_secs_f64()),
            Err(_) => println!("=== {name}: FAILED after {:.1}s", took.as_secs_f64()),
        }
        self.done.push((name.to_string(), took, result.is_ok()));
        result
    }

    /// Print the summary now (otherwise it is printed when this is dropped).
    pub fn finish(&mut self) {
        self.summarised = true;
        let all_ok = self.done.iter().all(|(_, _, ok)| *ok);
        println!("\n=== {}: step durations", self.command);
        for (name, took, ok) in &self.done {
            println!(
                "{name:<56} {:>8.1}s  {}",
                took.as_secs_f64(),
                if *ok { "ok" } else { "FAILED" }
            );
        }
        println!(
            "{:<56} {:>8.1}s  {}",
            "total",
            self.started.elapsed().as_secs_f64(),
            if all_ok { "ok" } else { "FAILED" }
        );
    }
}

impl Drop for Steps {
    fn drop(&mut self) {
        if !self.summarised {
            self.finish();
        }
    }
}
