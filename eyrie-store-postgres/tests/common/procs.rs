//! The several-processes harness: a child process is this test binary
//! re-run on its hidden `process_child` test, with its role in environment
//! variables; it runs its own `Eyrie`, `Engine` and scheduler over the
//! shared schema and records every handler run as a row of `step_runs`.
//!
//! Protocol on the child's stdout (lines `@ … $`, so a line cut by a kill is
//! ignored): `READY <engine id>` once its store is open, then it waits for a line on
//! stdin; `DONE <finished jobs> <launched by ticks>` once it settled.

#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead, BufReader, Write as _};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use eyrie_core::jobs::{StepContext, StepHandler, StepOutcome};

/// The child's schema.
pub const SCHEMA_VAR: &str = "EYRIE_PG_PROC_SCHEMA";
/// The child's process number (in `step_runs`, and where its ids start).
pub const PROCESS_VAR: &str = "EYRIE_PG_PROC_NUMBER";
/// Seconds after the testkit's `T0` at which the child's clock stands.
pub const CLOCK_VAR: &str = "EYRIE_PG_PROC_CLOCK";
/// `1`: the child runs scheduler ticks too.
pub const TICK_VAR: &str = "EYRIE_PG_PROC_TICK";
/// A step name whose handler never returns in this child.
pub const HANG_VAR: &str = "EYRIE_PG_PROC_HANG";

/// The table recording every handler run.
pub fn create_step_runs(schema: &str) -> String {
    format!(
        "CREATE TABLE \"{schema}\".step_runs (
            job numeric(20) NOT NULL, step text NOT NULL, attempt integer NOT NULL, process integer NOT NULL,
            at timestamptz NOT NULL DEFAULT clock_timestamp())"
    )
}

/// A step handler that records each run (durably, before it returns) and
/// then finishes after a short pause, or never for the step named `hang`.
#[derive(Debug)]
pub struct Recorder {
    pub client: Arc<tokio_postgres::Client>,
    pub schema: String,
    pub process: i32,
    pub hang: Option<String>,
}

#[async_trait]
impl StepHandler for Recorder {
    async fn run(&self, ctx: &StepContext) -> StepOutcome {
        let sql = format!(
            "INSERT INTO \"{}\".step_runs (job, step, attempt, process) VALUES ($1::text::numeric, $2, $3, $4)",
            self.schema
        );
        let attempt = i32::try_from(ctx.step.attempts).unwrap_or(i32::MAX);
        let job = ctx.job.id.0.to_string();
        if let Err(e) = self.client.execute(&sql, &[&job, &ctx.step.spec.name, &attempt, &self.process]).await {
            return StepOutcome::Failed(format!("could not record the run: {e}"));
        }
        if self.hang.as_deref() == Some(ctx.step.spec.name.as_str()) {
            std::future::pending::<()>().await;
        }
        tokio::time::sleep(Duration::from_millis(15)).await;
        StepOutcome::Done
    }
}

/// Prints one protocol line.
pub fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(format!("@ {line} $\n").as_bytes());
    let _ = out.flush();
}

/// What a child is asked to be.
#[derive(Debug, Clone)]
pub struct Role {
    /// Its process number.
    pub engine: u64,
    pub clock_offset_seconds: u64,
    pub tick: bool,
    pub hang: Option<String>,
}

/// A running child; killed when dropped.
pub struct Spawned {
    pub role: Role,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    log: std::path::PathBuf,
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- child {} stderr ---\n{}", self.role.engine, self.log());
        }
        let _ = std::fs::remove_file(&self.log);
    }
}

/// Starts a child with `role` on `schema`.
pub fn spawn(url: &str, schema: &str, role: Role) -> Spawned {
    let exe = std::env::current_exe().expect("the test binary");
    let log = std::env::temp_dir().join(format!("{schema}-child-{}.log", role.engine));
    let mut command = Command::new(exe);
    command
        .args(["process_child", "--exact", "--ignored", "--nocapture", "--test-threads=1"])
        .env(super::URL_VAR, url)
        .env(SCHEMA_VAR, schema)
        .env(PROCESS_VAR, role.engine.to_string())
        .env(CLOCK_VAR, role.clock_offset_seconds.to_string())
        .env(TICK_VAR, if role.tick { "1" } else { "0" })
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).expect("child log"));
    if let Some(hang) = &role.hang {
        command.env(HANG_VAR, hang);
    }
    let mut child = command.spawn().expect("the child starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let stdin = child.stdin.take();
    let (tx, lines) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            // libtest may print "test process_child ... " in front of the first line.
            if let Some(body) = line.split_once("@ ").and_then(|(_, rest)| rest.strip_suffix(" $"))
                && tx.send(body.to_owned()).is_err()
            {
                break;
            }
        }
    });
    Spawned { role, child, stdin, lines, log }
}

impl Spawned {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits (bounded) for the next protocol line starting with `word`.
    pub fn expect(&mut self, word: &str, within: Duration) -> Vec<String> {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let fields: Vec<String> = line.split(' ').map(str::to_owned).collect();
                    if fields.first().map(String::as_str) == Some(word) {
                        return fields[1..].to_vec();
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!("child {} sent no {word} within {within:?}; its log:\n{}", self.role.engine, self.log())
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait().ok();
                    panic!("child {} ended ({status:?}) before {word}; its log:\n{}", self.role.engine, self.log())
                }
            }
        }
    }

    /// Lets the child start working.
    pub fn go(&mut self) {
        let stdin = self.stdin.as_mut().expect("stdin");
        stdin.write_all(b"go\n").expect("the child reads its go");
        stdin.flush().expect("flush");
    }

    /// Waits for `DONE`, then for a successful exit; returns
    /// (jobs finished, jobs launched by ticks, what it wrote on stderr).
    pub fn done(mut self, within: Duration) -> (u64, u64, String) {
        let fields = self.expect("DONE", within);
        let numbers: Vec<u64> = fields.iter().map(|f| f.parse().expect("a number")).collect();
        drop(self.stdin.take());
        let status = self.child.wait().expect("the child exits");
        assert!(status.success(), "child {} failed: {status}; its log:\n{}", self.role.engine, self.log());
        (numbers[0], numbers[1], self.log())
    }

    /// SIGKILLs the child.
    pub fn kill(mut self) {
        self.child.kill().expect("kill");
        self.child.wait().expect("reaped");
    }
}
