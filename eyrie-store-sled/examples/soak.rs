//! Concurrency soak of the Eyrie service and of a `Store` on either backend
//! (and of sled itself), with a stall watchdog.
//!
//! ```text
//! cargo run -p eyrie-store-sled --release --example soak -- --store redb --secs 20 --runs 10
//! cargo run -p eyrie-store-sled --release --example soak -- --store sled --secs 20 --runs 3
//! cargo run -p eyrie-store-sled --release --example soak -- --mode raw --secs 20 --runs 3
//! cargo run -p eyrie-store-sled --release --example soak -- --store postgres "$EYRIE_POSTGRES_URL" --secs 20
//! ```
//!
//! Options: `--mode service|store|raw` (default `service`), `--store
//! sled|redb|postgres <url>` (`service` and `store` modes, default `sled`;
//! PostgreSQL runs each in a fresh schema), `--secs N` per
//! run (20), `--runs N` (3), `--stall-secs N` (10), `--readers N` (8; `raw`
//! uses 2), `--writers N` (8; `raw` uses 1), `--durability every|periodic`
//! (default `every`: sled flushes every commit, redb commits with immediate
//! durability; `periodic`: both flush every 500 ms), `--deployments N`
//! (`service` mode: successful creates before writers create only in the
//! full `prod` scope, default 150), `--flush-every N` (`raw` mode: flush
//! after every N transactions, 0 = never, default 0), `--iters N` (`raw`
//! mode: stop the writer after N transactions, default unbounded).
//!
//! - `service` drives the `Eyrie` service on the testkit's typical tenant:
//!   writer tasks (as the owner, the admin and the developer) create
//!   deployments in scopes with limits, update their settings and move them
//!   between scopes; reader tasks (as a user member, the developer, the
//!   admin, the owner and a non-member platform administrator) call `get_deployment`,
//!   `list_deployments` and `effective`. See `soak/service_load.rs`.
//! - `store` drives the store through the generic `Arc<dyn Store>` API:
//!   writers create, update and move deployments in a few scopes with
//!   `CountBelow` checks; readers `list`, `get`, `count` and `get_unique`.
//! - `raw` reproduces the pattern of sled's hang reports on sled alone: one
//!   thread running a loop of 3-tree transactions, two threads reading.
//!
//! Each run is a child process (this program re-executed with `--child`), so
//! a stalled store thread that never returns cannot take the other runs with
//! it: the child's watchdog prints its report and exits when no write or no
//! read has completed for `--stall-secs`, and the parent kills a child that
//! outlives its budget. Each run reports its operations (calls completed,
//! refusals the workload expects included), its rate, its unexpected errors
//! and whether it stalled. Not a CI test.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a measuring program: it fails loudly
#![allow(unreachable_pub)] // a binary: `pub` only shares items between its modules

mod soak {
    pub mod args;
    pub mod backend;
    pub mod raw_sled;
    pub mod service_load;
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
            Mode::Store => soak::store_load::run(&args),
            Mode::Service => soak::service_load::run(&args),
        };
        report.print();
        return;
    }
    let label = args.label();
    println!("== {label}: {} runs of {} s, stall after {} s without progress", args.runs, args.secs, args.stall_secs);
    let (mut stalled, mut failed, mut ops, mut secs) = (0, 0, 0, 0.0);
    for run in 1..=args.runs {
        let report = run_child(&args, &label);
        println!("run {run}: {}", report.line());
        stalled += u32::from(report.stalled);
        failed += u32::from(report.errors > 0);
        ops += report.writes + report.reads;
        secs += report.secs;
    }
    let rate = if secs > 0.0 { ops as f64 / secs } else { 0.0 };
    println!(
        "== {label}: {stalled} of {} runs stalled, {failed} had unexpected errors; {ops} ops in {secs:.1} s = {rate:.0} ops/s",
        args.runs
    );
}

/// Runs one child; returns its report, or a synthesized one if it hung or died.
fn run_child(args: &Args, label: &str) -> Report {
    let mut child =
        Command::new(std::env::current_exe().unwrap()).args(args.child_args()).stdout(Stdio::piped()).spawn().unwrap();
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
    // Its stdout is closed: the child is exiting. Reap it within the budget.
    while child.try_wait().unwrap().is_none() && started.elapsed() < budget {
        std::thread::sleep(Duration::from_millis(50));
    }
    let killed = child.try_wait().unwrap().is_none();
    if killed {
        let _ = child.kill();
    }
    let status = child.wait().unwrap();
    match report {
        Some(report) => report,
        None if killed => Report::hung(label, started.elapsed()),
        None => Report::failed(label, started.elapsed(), &status.to_string().replace(' ', "_")),
    }
}
