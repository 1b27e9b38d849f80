//! Concurrency soak of a `Store` (and of sled itself), with a stall watchdog.
//!
//! ```text
//! cargo run -p eyrie-store-sled --release --example soak -- --secs 20 --runs 3
//! cargo run -p eyrie-store-sled --release --example soak -- --mode raw --secs 20 --runs 3
//! ```
//!
//! Options: `--mode store|raw|both` (default `store`), `--secs N` per run
//! (20), `--runs N` (3), `--stall-secs N` (10), `--readers N` (8; `raw` uses
//! 2), `--writers N` (8; `raw` uses 1), `--durability every|periodic`
//! (`store` mode, default `every`), `--flush-every N` (`raw` mode: flush
//! after every N transactions, 0 = never, default 0), `--iters N` (`raw`
//! mode: stop the writer after N transactions, default unbounded).
//!
//! - `store` drives a `SledStore` through the generic `Arc<dyn Store>` API:
//!   writers create, update and move deployments in a few scopes with
//!   `CountBelow` checks; readers `list`, `get`, `count` and `get_unique`.
//! - `raw` reproduces the pattern of sled's hang reports on sled alone: one
//!   thread running a loop of 3-tree transactions, two threads reading.
//!
//! Each run is a child process (this program re-executed with `--child`), so
//! a stalled sled thread that never returns cannot take the other runs with
//! it: the child's watchdog prints its report and exits when no write or no
//! read has completed for `--stall-secs`, and the parent kills a child that
//! outlives its budget. Not a CI test.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a measuring program: it fails loudly
#![allow(unreachable_pub)] // a binary: `pub` only shares items between its modules

mod soak {
    pub mod args;
    pub mod raw_sled;
    pub mod store_load;
    pub mod watchdog;
}

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use soak::args::{Args, Mode};
use soak::watchdog::Report;

fn main() {
    let args = Args::parse(std::env::args().skip(1));
    if args.child {
        let report = match args.mode {
            Mode::Raw => soak::raw_sled::run(&args),
            _ => soak::store_load::run(&args),
        };
        report.print();
        return;
    }
    let modes = match args.mode {
        Mode::Both => vec![Mode::Store, Mode::Raw],
        mode => vec![mode],
    };
    for mode in modes {
        println!(
            "== {} mode: {} runs of {} s, stall after {} s without progress",
            mode.name(),
            args.runs,
            args.secs,
            args.stall_secs
        );
        let mut stalled = 0;
        for run in 1..=args.runs {
            let report = run_child(&args, mode);
            println!("run {run}: {}", report.line());
            stalled += u32::from(report.stalled);
        }
        println!("== {} mode: {stalled} of {} runs stalled", mode.name(), args.runs);
    }
}

/// Runs one child; returns its report, or a synthesized one if it hung.
fn run_child(args: &Args, mode: Mode) -> Report {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(args.child_args(mode))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (lines, inbox) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let budget = Duration::from_secs(args.secs + args.stall_secs + 60);
    let started = Instant::now();
    let mut report = None;
    while started.elapsed() < budget {
        match inbox.recv_timeout(Duration::from_millis(200)) {
            Ok(line) => match Report::parse(&line) {
                Some(r) => report = Some(r),
                None => eprintln!("  child: {line}"),
            },
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    if child.try_wait().unwrap().is_none() {
        let _ = child.kill();
    }
    let _ = child.wait();
    report.unwrap_or_else(|| Report::hung(mode, started.elapsed()))
}
