//! Progress counters, the stall watchdog and the per-run report.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Completed operations, by side.
#[derive(Debug, Default)]
pub struct Progress {
    pub writes: AtomicU64,
    pub reads: AtomicU64,
    /// Operations refused as the workload expects (a full scope, a denied
    /// actor, a lost race); counted in `writes` or `reads` too.
    pub refused: AtomicU64,
    /// Unexpected errors (refusals the workload expects are not counted).
    pub errors: AtomicU64,
    /// Set when the load has ended and the run is closing its store.
    pub closing: AtomicBool,
}

/// The result of one run: one `RESULT` line between child and parent.
#[derive(Debug, Clone)]
pub struct Report {
    pub mode: String,
    pub writes: u64,
    pub reads: u64,
    pub refused: u64,
    pub errors: u64,
    pub secs: f64,
    pub stalled: bool,
    pub note: String,
}

impl Report {
    pub fn new(label: &str, progress: &Progress, elapsed: Duration, stalled: bool, note: &str) -> Report {
        Report {
            mode: label.into(),
            writes: progress.writes.load(Ordering::Relaxed),
            reads: progress.reads.load(Ordering::Relaxed),
            refused: progress.refused.load(Ordering::Relaxed),
            errors: progress.errors.load(Ordering::Relaxed),
            secs: elapsed.as_secs_f64(),
            stalled,
            note: note.replace(' ', "_"),
        }
    }

    /// A child that outlived its budget and was killed: a stall.
    pub fn hung(label: &str, elapsed: Duration) -> Report {
        let note = "no report: the child outlived its budget and was killed";
        Report::new(label, &Progress::default(), elapsed, true, note)
    }

    /// A child that exited without a report (it panicked): a failure, not a stall.
    pub fn failed(label: &str, elapsed: Duration, status: &str) -> Report {
        let progress = Progress::default();
        progress.errors.store(1, Ordering::Relaxed);
        Report::new(label, &progress, elapsed, false, &format!("no report: the child exited with {status}"))
    }

    pub fn print(&self) {
        println!(
            "RESULT {} {} {} {} {} {:.3} {} {}",
            self.mode, self.writes, self.reads, self.refused, self.errors, self.secs, self.stalled, self.note
        );
        let _ = std::io::stdout().flush();
    }

    pub fn parse(line: &str) -> Option<Report> {
        let f: Vec<&str> = line.strip_prefix("RESULT ")?.split(' ').collect();
        Some(Report {
            mode: f.first()?.to_string(),
            writes: f.get(1)?.parse().ok()?,
            reads: f.get(2)?.parse().ok()?,
            refused: f.get(3)?.parse().ok()?,
            errors: f.get(4)?.parse().ok()?,
            secs: f.get(5)?.parse().ok()?,
            stalled: f.get(6)?.parse().ok()?,
            note: f.get(7).map_or(String::new(), |n| n.to_string()),
        })
    }

    pub fn line(&self) -> String {
        let ops = self.writes + self.reads;
        let rate = |n: u64| if self.secs > 0.0 { n as f64 / self.secs } else { 0.0 };
        format!(
            "{}: {} ops ({} writes, {} reads; {} refused as expected) in {:.1} s = {:.0} ops/s ({:.0} writes/s), \
             {} unexpected errors, stalled: {}{}",
            self.mode,
            ops,
            self.writes,
            self.reads,
            self.refused,
            self.secs,
            rate(ops),
            rate(self.writes),
            self.errors,
            if self.stalled { "YES" } else { "no" },
            if self.note.is_empty() { String::new() } else { format!(" ({})", self.note.replace('_', " ")) },
        )
    }
}

/// Watches `progress` on its own thread. When writes or reads make no
/// progress for `stall`, prints a stalled report and exits the process (a
/// stalled store thread may never return, so nothing waits for it).
pub fn start(label: &str, progress: Arc<Progress>, stall: Duration, watch_writes: bool) {
    let label = label.to_string();
    let started = Instant::now();
    std::thread::spawn(move || {
        let (mut last, mut since) = ((0, 0), (Instant::now(), Instant::now()));
        let mut closing_since = None;
        loop {
            std::thread::sleep(Duration::from_millis(100));
            if progress.closing.load(Ordering::Acquire) {
                let closing: &mut Instant = closing_since.get_or_insert_with(Instant::now);
                if closing.elapsed() >= stall {
                    describe_threads();
                    let note = format!("stalled: closing took more than {} s", stall.as_secs());
                    Report::new(&label, &progress, started.elapsed(), true, &note).print();
                    std::process::exit(3);
                }
                continue;
            }
            let now = (progress.writes.load(Ordering::Relaxed), progress.reads.load(Ordering::Relaxed));
            if now.0 != last.0 {
                since.0 = Instant::now();
            }
            if now.1 != last.1 {
                since.1 = Instant::now();
            }
            last = now;
            let writes_stuck = watch_writes && since.0.elapsed() >= stall;
            let reads_stuck = since.1.elapsed() >= stall;
            let side = match (writes_stuck, reads_stuck) {
                (true, true) => "writes and no reads",
                (true, false) => "writes",
                (false, true) => "reads",
                (false, false) => continue,
            };
            let note = format!("stalled: no {side} completed for {} s", stall.as_secs());
            describe_threads();
            Report::new(&label, &progress, started.elapsed(), true, &note).print();
            std::process::exit(3);
        }
    });
}

/// Each thread's name, state and CPU ticks over one second, on stderr: a
/// thread that keeps burning CPU is spinning, one asleep is blocked.
fn describe_threads() {
    let sample = || -> Vec<(String, String, u64)> {
        let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return Vec::new() };
        let mut out: Vec<_> = tasks
            .filter_map(|t| {
                let path = t.ok()?.path();
                let name = std::fs::read_to_string(path.join("comm")).ok()?.trim().to_string();
                let stat = std::fs::read_to_string(path.join("stat")).ok()?;
                let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
                let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
                let tid = path.file_name()?.to_string_lossy().to_string();
                Some((format!("{tid} {name}"), fields.first()?.to_string(), ticks))
            })
            .collect();
        out.sort();
        out
    };
    let before = sample();
    std::thread::sleep(Duration::from_secs(1));
    for (thread, state, ticks) in sample() {
        let was = before.iter().find(|(t, _, _)| *t == thread).map_or(ticks, |b| b.2);
        eprintln!("  thread {thread}: state {state}, {} CPU ticks in the last second", ticks - was);
    }
}
