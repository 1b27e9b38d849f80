//! The write path: one dedicated thread owns every redb write transaction
//! and commits queued transactions in groups.
//!
//! # Group commit
//!
//! Callers queue a [`Job`] on a channel and await a one-shot answer; nothing
//! blocks a runtime worker. The writer thread takes the first queued job,
//! drains whatever else is queued (up to [`MAX_BATCH`]), and runs the whole
//! batch in **one** redb write transaction:
//!
//! 1. each Eyrie transaction, in queue order, runs the shared engine
//!    ([`kv::apply`]) on an [`Overlay`] over the open redb tables, so it sees
//!    every earlier transaction of the batch;
//! 2. a refused one (a failed check, a taken unique value, …) is discarded
//!    alone: its overlay is dropped and only it gets its error;
//! 3. an accepted one's changes are written into the redb transaction;
//! 4. the batch commits once — one fsync for all of them — and only then is
//!    every caller answered, each with exactly its own result.
//!
//! If redb itself fails (an I/O error while reading or writing the tables,
//! or at commit) the redb transaction is aborted and every job of the batch
//! gets that error: none of them was applied, refused ones included, and
//! every one may be retried. The batch is serializable in queue order, which
//! is the order the commits became visible.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use eyrie_core::storage::kv::{self, KvWrite, Overlay};
use eyrie_core::storage::{Receipt, Transaction};
use eyrie_core::{Error, Result};
use redb::Database;
use tokio::sync::oneshot;

use crate::config::Durability;
use crate::error::{from_redb, panic_message, writer_gone};
use crate::tables::WriteTables;

/// The most transactions committed together.
pub(crate) const MAX_BATCH: usize = 512;

/// Work for the writer thread.
pub(crate) enum Job {
    /// Apply a transaction; answer with its receipt or its own error.
    Commit {
        /// The transaction.
        tx: Transaction,
        /// Where its result goes.
        reply: oneshot::Sender<Result<Receipt>>,
    },
    /// Make every earlier commit durable.
    Flush {
        /// Answered once they are on disk.
        reply: oneshot::Sender<Result<()>>,
    },
}

/// The handle of the writer thread. Dropping it lets the thread finish the
/// queued jobs, flush (in eventual mode), and exit; the drop waits for that.
pub(crate) struct Writer {
    queue: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    /// Starts the writer thread of `db`.
    pub(crate) fn spawn(db: Arc<Database>, durability: Durability) -> Result<Writer> {
        let (queue, jobs) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("eyrie-redb-writer".into())
            .spawn(move || run(&db, durability, &jobs))
            .map_err(|e| Error::backend(format!("cannot start the redb writer thread: {e}"), false))?;
        Ok(Writer { queue: Some(queue), thread: Some(thread) })
    }

    /// Queues a job; fails only when the writer thread has stopped.
    pub(crate) fn send(&self, job: Job) -> Result<()> {
        self.queue.as_ref().ok_or_else(writer_gone)?.send(job).map_err(|_| writer_gone())
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        drop(self.queue.take());
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("the redb writer thread panicked");
        }
    }
}

/// When the next commit must reach the disk.
struct Flusher {
    flush_interval: Option<Duration>,
    /// Commits since the last durable one (eventual mode only).
    dirty: bool,
    last_durable: Instant,
}

impl Flusher {
    fn new(durability: Durability) -> Self {
        let flush_interval = match durability {
            Durability::Immediate => None,
            Durability::Eventual { flush_interval } => Some(flush_interval),
        };
        Flusher { flush_interval, dirty: false, last_durable: Instant::now() }
    }

    /// How long the thread may wait for work before it must flush.
    fn deadline(&self) -> Option<Duration> {
        match self.flush_interval {
            Some(interval) if self.dirty => Some(interval.saturating_sub(self.last_durable.elapsed())),
            _ => None,
        }
    }

    /// The durability of the next commit.
    fn durability(&self, flush_requested: bool) -> redb::Durability {
        match self.flush_interval {
            Some(interval) if !flush_requested && self.last_durable.elapsed() < interval => redb::Durability::None,
            _ => redb::Durability::Immediate,
        }
    }

    fn committed(&mut self, durability: redb::Durability) {
        if matches!(durability, redb::Durability::Immediate) {
            self.dirty = false;
            self.last_durable = Instant::now();
        } else {
            self.dirty = true;
        }
    }
}

fn run(db: &Database, durability: Durability, jobs: &Receiver<Job>) {
    let mut flusher = Flusher::new(durability);
    loop {
        let first = match flusher.deadline() {
            None => match jobs.recv() {
                Ok(job) => job,
                Err(_) => break,
            },
            Some(wait) => match jobs.recv_timeout(wait) {
                Ok(job) => job,
                Err(RecvTimeoutError::Timeout) => {
                    flush(db, &mut flusher);
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => break,
            },
        };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        // A panic inside redb (its debug assertions on a damaged file) must
        // not take the writer down: the batch's callers get an error (their
        // reply channels are dropped) and the next batch starts afresh.
        if let Err(panic) = std::panic::catch_unwind(AssertUnwindSafe(|| run_batch(db, &mut flusher, batch))) {
            tracing::error!(panic = %panic_message(panic.as_ref()), "redb panicked during a group commit");
        }
    }
    if flusher.dirty {
        flush(db, &mut flusher);
    }
}

/// Makes every earlier commit durable with an empty durable commit.
fn flush(db: &Database, flusher: &mut Flusher) {
    match commit_batch(db, redb::Durability::Immediate, &[]) {
        Ok(_) => flusher.committed(redb::Durability::Immediate),
        Err(e) => tracing::error!(error = %e, "flushing the redb store failed"),
    }
}

fn run_batch(db: &Database, flusher: &mut Flusher, batch: Vec<Job>) {
    let mut txs = Vec::new();
    let mut commit_replies = Vec::new();
    let mut flush_replies = Vec::new();
    for job in batch {
        match job {
            Job::Commit { tx, reply } => {
                txs.push(tx);
                commit_replies.push(reply);
            }
            Job::Flush { reply } => flush_replies.push(reply),
        }
    }
    let durability = flusher.durability(!flush_replies.is_empty());
    let nothing_to_do = txs.is_empty() && !(flusher.dirty && matches!(durability, redb::Durability::Immediate));
    let outcome = if nothing_to_do { Ok(Vec::new()) } else { commit_batch(db, durability, &txs) };
    match outcome {
        Ok(results) => {
            if !nothing_to_do {
                flusher.committed(durability);
            }
            for (reply, result) in commit_replies.into_iter().zip(results) {
                // A caller that stopped waiting does not need its answer.
                let _ = reply.send(result);
            }
            for reply in flush_replies {
                let _ = reply.send(Ok(()));
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, jobs = txs.len(), "a redb group commit failed; nothing of it was applied");
            for reply in commit_replies {
                let _ = reply.send(Err(e.clone()));
            }
            for reply in flush_replies {
                let _ = reply.send(Err(e.clone()));
            }
        }
    }
}

/// Applies `txs` in order in one redb write transaction and commits it with
/// `durability`. `Ok` holds each transaction's own result (accepted ones are
/// committed); `Err` means redb failed and nothing was committed.
pub(crate) fn commit_batch(
    db: &Database,
    durability: redb::Durability,
    txs: &[Transaction],
) -> Result<Vec<Result<Receipt>>> {
    let mut txn = db.begin_write().map_err(|e| from_redb("starting a write", e))?;
    txn.set_durability(durability).map_err(|e| from_redb("setting the durability", e))?;
    let mut results = Vec::with_capacity(txs.len());
    {
        let mut tables = WriteTables::open(&txn)?;
        for tx in txs {
            let result = apply_one(&mut tables, tx);
            if let Some(failure) = tables.take_failure() {
                return Err(failure);
            }
            results.push(result);
        }
    }
    txn.commit().map_err(|e| from_redb("committing", e))?;
    Ok(results)
}

/// Runs the engine for one transaction on an overlay, then writes its
/// changes into the tables only if it was accepted.
fn apply_one(tables: &mut WriteTables<'_>, tx: &Transaction) -> Result<Receipt> {
    let mut overlay = Overlay::new(tables);
    let receipt = kv::apply(&mut overlay, tx)?;
    for (table, key, value) in overlay.into_changes() {
        match value {
            Some(value) => tables.put(table, &key, &value)?,
            None => tables.delete(table, &key)?,
        }
    }
    Ok(receipt)
}

#[cfg(test)]
#[path = "writer_tests.rs"]
mod tests;
