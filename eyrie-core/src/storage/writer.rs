//! The group-commit writer shared by every embedded backend: one thread
//! owns the write path and commits queued transactions together.
//!
//! # Group commit
//!
//! Callers queue a job and await a one-shot answer; nothing blocks a runtime
//! worker. The thread takes the first queued job, drains whatever else is
//! queued (up to [`MAX_BATCH`]) and runs the batch in **one** backend write
//! ([`Backend::write`]):
//!
//! 1. each transaction, in queue order, runs the engine ([`kv::apply`]) on
//!    its own [`Overlay`] over the backend's write view, so it sees every
//!    earlier transaction of the batch;
//! 2. a refused one is discarded alone and gets its own error;
//! 3. an accepted one's changes go into the write view;
//! 4. the batch commits once (one fsync for all) and only then is every
//!    caller answered, each with exactly its own result.
//!
//! If the backend fails, nothing of the batch was applied and every caller
//! gets that error. The batch is serializable in queue order.
//!
//! # Idle hand-off
//!
//! After a batch the thread polls its queue for [`SPIN`] before it parks,
//! so a caller that commits again right after its answer (the common
//! single-writer pattern) finds it awake instead of paying a cross-core
//! wake-up per commit. The spin is short and yields the core between polls.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, TryRecvError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::backend::{Backend, Durability};
use super::kv::{self, KvWrite, Overlay};
use super::tx::{Receipt, Transaction};
use crate::error::{Error, Result};

/// The most transactions committed together.
pub const MAX_BATCH: usize = 512;

/// How long the idle writer polls before it parks.
pub(crate) const SPIN: Duration = Duration::from_micros(60);

type Reply<T> = oneshot::Sender<Result<T>>;

enum Job {
    Commit(Transaction, Reply<Receipt>),
    Flush(Reply<()>),
    Close(Reply<()>),
}

/// What the writer is doing: for health checks that want to notice a
/// stalled backend without waiting on it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WriterStatus {
    /// Transactions committed since the store was opened.
    pub commits: u64,
    /// Group commits (backend write transactions) since the store was opened.
    pub batches: u64,
    /// How long the current group commit has been running; `None` when
    /// idle. A value that keeps growing means the backend has stalled.
    pub busy_for: Option<Duration>,
    /// The failure that stopped the store, if any.
    pub failed: Option<Error>,
}

#[derive(Debug)]
struct Counters {
    commits: AtomicU64,
    batches: AtomicU64,
    /// Microseconds since `epoch` + 1 when the current batch started; 0 when idle.
    busy_since: AtomicU64,
    epoch: Instant,
}

impl Counters {
    fn micros(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX - 1)
    }
}

fn stopped() -> Error {
    Error::backend("the store's writer has stopped (the store was closed, or its backend failed)", false)
}

/// The handle of the writer thread. Dropping it lets the thread finish the
/// queued jobs, flush (in eventual mode) and exit; the drop waits for that.
#[derive(Debug)]
pub(crate) struct Writer {
    queue: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
    counters: Arc<Counters>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Job::Commit(..) => "Commit",
            Job::Flush(_) => "Flush",
            Job::Close(_) => "Close",
        })
    }
}

impl Writer {
    /// Starts the writer thread of `backend`.
    pub(crate) fn spawn<B: Backend>(backend: Arc<B>, durability: Durability, name: &str) -> Result<Writer> {
        let (queue, jobs) = mpsc::channel();
        let counters =
            Arc::new(Counters { commits: 0.into(), batches: 0.into(), busy_since: 0.into(), epoch: Instant::now() });
        let thread_counters = counters.clone();
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || run(backend, durability, &thread_counters, &jobs))
            .map_err(|e| Error::backend(format!("cannot start the store's writer thread: {e}"), false))?;
        Ok(Writer { queue: Some(queue), thread: Some(thread), counters })
    }

    async fn ask<T>(&self, job: impl FnOnce(Reply<T>) -> Job) -> Result<T> {
        let (reply, answer) = oneshot::channel();
        self.queue.as_ref().ok_or_else(stopped)?.send(job(reply)).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// Commits `tx` with the next group.
    pub(crate) async fn commit(&self, tx: Transaction) -> Result<Receipt> {
        self.ask(|reply| Job::Commit(tx, reply)).await
    }

    /// Makes every earlier commit durable.
    pub(crate) async fn flush(&self) -> Result<()> {
        self.ask(Job::Flush).await
    }

    /// Finishes queued work, flushes and stops the thread; later calls fail.
    pub(crate) async fn close(&self) -> Result<()> {
        self.ask(Job::Close).await
    }

    /// What the thread is doing.
    pub(crate) fn status(&self, failed: Option<Error>) -> WriterStatus {
        let c = &self.counters;
        let since = c.busy_since.load(Ordering::Acquire);
        WriterStatus {
            commits: c.commits.load(Ordering::Relaxed),
            batches: c.batches.load(Ordering::Relaxed),
            busy_for: (since != 0).then(|| Duration::from_micros(c.micros().saturating_sub(since - 1))),
            failed,
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        drop(self.queue.take());
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("the store's writer thread panicked");
        }
    }
}

/// When the next commit must reach the disk.
#[derive(Debug)]
pub(crate) struct Flusher {
    flush_interval: Option<Duration>,
    /// Commits since the last durable one (eventual mode only).
    pub(crate) dirty: bool,
    last_durable: Instant,
}

impl Flusher {
    pub(crate) fn new(durability: Durability) -> Self {
        let flush_interval = match durability {
            Durability::Immediate => None,
            Durability::Eventual { flush_interval } => Some(flush_interval),
        };
        Flusher { flush_interval, dirty: false, last_durable: Instant::now() }
    }

    /// How long the thread may wait for work before it must flush.
    pub(crate) fn deadline(&self) -> Option<Duration> {
        match self.flush_interval {
            Some(interval) if self.dirty => Some(interval.saturating_sub(self.last_durable.elapsed())),
            _ => None,
        }
    }

    /// Whether the next commit must be durable.
    pub(crate) fn durable(&self, flush_requested: bool) -> bool {
        match self.flush_interval {
            Some(interval) => flush_requested || self.last_durable.elapsed() >= interval,
            None => true,
        }
    }

    pub(crate) fn committed(&mut self, durable: bool) {
        if durable {
            self.dirty = false;
            self.last_durable = Instant::now();
        } else {
            self.dirty = true;
        }
    }
}

/// Waits for the next job: polls for [`SPIN`] first, then parks (until the
/// flush deadline, if one is due). `Err(true)` when a flush is due,
/// `Err(false)` when every sender is gone.
fn next_job(jobs: &Receiver<Job>, flusher: &Flusher) -> Result<Job, bool> {
    let spin_until = Instant::now() + SPIN;
    loop {
        match jobs.try_recv() {
            Ok(job) => return Ok(job),
            Err(TryRecvError::Disconnected) => return Err(false),
            Err(TryRecvError::Empty) if Instant::now() < spin_until => std::hint::spin_loop(),
            Err(TryRecvError::Empty) => break,
        }
    }
    match flusher.deadline() {
        None => jobs.recv().map_err(|_| false),
        Some(wait) => match jobs.recv_timeout(wait) {
            Ok(job) => Ok(job),
            Err(RecvTimeoutError::Timeout) => Err(true),
            Err(RecvTimeoutError::Disconnected) => Err(false),
        },
    }
}

fn run<B: Backend>(owned: Arc<B>, durability: Durability, counters: &Counters, jobs: &Receiver<Job>) {
    let backend = &*owned;
    let mut flusher = Flusher::new(durability);
    let mut close = None;
    while close.is_none() {
        let first = match next_job(jobs, &flusher) {
            Ok(job) => job,
            Err(true) => {
                flush(backend, &mut flusher);
                continue;
            }
            Err(false) => break,
        };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        counters.busy_since.store(counters.micros() + 1, Ordering::Release);
        // A panic inside the backend (redb's debug assertions on a damaged
        // file) must not take the writer down: the batch's callers get an
        // error (their reply channels are dropped), the next batch starts afresh.
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| run_batch(backend, &mut flusher, counters, batch)));
        counters.busy_since.store(0, Ordering::Release);
        match outcome {
            Ok(closing) => close = closing,
            Err(panic) => {
                tracing::error!(panic = %panic_message(panic.as_ref()), "the store panicked in a group commit")
            }
        }
    }
    let result = if flusher.dirty || close.is_some() { backend.write(true, &mut |_| Ok(())) } else { Ok(()) };
    if let Err(e) = &result {
        tracing::error!(error = %e, "the final flush of the store failed");
    }
    // Let go of the backend before answering, so that a closed store's
    // files are released by the time `close` returns.
    drop(owned);
    if let Some(reply) = close {
        let _gone = reply.send(result);
    }
}

/// The text of a caught panic.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    match (panic.downcast_ref::<&str>(), panic.downcast_ref::<String>()) {
        (Some(text), _) => (*text).to_owned(),
        (_, Some(text)) => text.clone(),
        _ => "panicked".to_owned(),
    }
}

/// Makes every earlier commit durable with an empty durable write.
fn flush<B: Backend>(backend: &B, flusher: &mut Flusher) {
    match backend.write(true, &mut |_| Ok(())) {
        Ok(()) => flusher.committed(true),
        Err(e) => tracing::error!(error = %e, "flushing the store failed"),
    }
}

/// Runs one batch and answers its callers; returns a close request, if any.
fn run_batch<B: Backend>(
    backend: &B,
    flusher: &mut Flusher,
    counters: &Counters,
    batch: Vec<Job>,
) -> Option<Reply<()>> {
    let mut txs = Vec::new();
    let mut commit_replies = Vec::new();
    let mut flush_replies = Vec::new();
    let mut close = None;
    for job in batch {
        match job {
            Job::Commit(tx, reply) => {
                txs.push(tx);
                commit_replies.push(reply);
            }
            Job::Flush(reply) => flush_replies.push(reply),
            Job::Close(reply) => close = Some(reply),
        }
    }
    let durable = flusher.durable(!flush_replies.is_empty());
    let nothing_to_do = txs.is_empty() && !(flusher.dirty && durable);
    let outcome = if nothing_to_do { Ok(Vec::new()) } else { commit_batch(backend, durable, &txs) };
    counters.batches.fetch_add(u64::from(!nothing_to_do), Ordering::Relaxed);
    // Idle before anyone is answered, so an answered caller sees it idle.
    counters.busy_since.store(0, Ordering::Release);
    match outcome {
        Ok(results) => {
            if !nothing_to_do {
                flusher.committed(durable);
            }
            for (reply, result) in commit_replies.into_iter().zip(results) {
                counters.commits.fetch_add(u64::from(result.is_ok()), Ordering::Relaxed);
                // A caller that stopped waiting does not need its answer.
                let _gone = reply.send(result);
            }
            for reply in flush_replies {
                let _gone = reply.send(Ok(()));
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, jobs = txs.len(), "a group commit failed; nothing of it was applied");
            for reply in commit_replies {
                let _gone = reply.send(Err(e.clone()));
            }
            for reply in flush_replies {
                let _gone = reply.send(Err(e.clone()));
            }
        }
    }
    close
}

/// Applies `txs` in order in one backend write and commits it. `Ok` holds
/// each transaction's own result (accepted ones are committed); `Err` means
/// the backend failed and nothing was committed.
pub fn commit_batch<B: Backend>(backend: &B, durable: bool, txs: &[Transaction]) -> Result<Vec<Result<Receipt>>> {
    let mut results = Vec::with_capacity(txs.len());
    backend.write(durable, &mut |view| {
        results.clear();
        for tx in txs {
            let result = apply_one(view, tx);
            if let Err(e) = &result
                && is_backend_failure(e)
            {
                return Err(e.clone());
            }
            results.push(result);
        }
        Ok(())
    })?;
    Ok(results)
}

/// Whether an error of the engine came from the backend (abort the batch)
/// rather than from the transaction (refuse it alone).
fn is_backend_failure(e: &Error) -> bool {
    matches!(e.kind(), crate::ErrorKind::Backend)
}

/// Runs the engine for one transaction on an overlay, then writes its
/// changes into the view only if it was accepted.
fn apply_one(view: &mut dyn KvWrite, tx: &Transaction) -> Result<Receipt> {
    let mut overlay = Overlay::new(view);
    let receipt = kv::apply(&mut overlay, tx)?;
    for (table, key, value) in overlay.into_changes() {
        match value {
            Some(value) => view.put(table, &key, &value)?,
            None => view.delete(table, &key)?,
        }
    }
    Ok(receipt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flusher_decides_when_commits_reach_the_disk() {
        let immediate = Flusher::new(Durability::Immediate);
        assert!(immediate.durable(false));
        assert_eq!(immediate.deadline(), None);

        let hour = Duration::from_secs(3600);
        let mut eventual = Flusher::new(Durability::Eventual { flush_interval: hour });
        assert!(!eventual.durable(false));
        assert!(eventual.durable(true), "a flush request is durable");
        assert_eq!(eventual.deadline(), None, "nothing to flush yet");
        eventual.committed(false);
        assert!(eventual.dirty);
        assert!(eventual.deadline().is_some_and(|d| d <= hour));
        eventual.committed(true);
        assert!(!eventual.dirty);
        assert_eq!(eventual.deadline(), None);

        let mut zero = Flusher::new(Durability::Eventual { flush_interval: Duration::ZERO });
        assert!(zero.durable(false), "an elapsed interval is durable");
        zero.committed(false);
        assert_eq!(zero.deadline(), Some(Duration::ZERO));
    }
}
