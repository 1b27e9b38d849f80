//! The single writer: a dedicated thread that owns the write path.
//!
//! Commits arrive on a channel. The thread takes everything queued (up to
//! [`MAX_BATCH`]) and runs each transaction through the shared engine on its
//! own [`Overlay`], layered over the changes of the ones before it in the
//! batch, so each sees its predecessors' effects; a refused transaction is
//! discarded alone with its own error. The batch's combined changes are then
//! written in one sled transaction under the exclusive gate and, with
//! [`crate::Durability::FlushEveryCommit`], flushed once, before any commit
//! of the batch is answered (group commit).
//!
//! Because only this thread writes, no other write can come between the
//! engine's checks and the sled transaction, and sled never sees two
//! concurrent transactions. Flushes run here, never on an async worker and
//! never inside a sled transaction; `flush_async` is never used.
//!
//! After a failed sled write or flush the store is failed for good: every
//! later call returns that error (reopen the store to continue), because what
//! reached the disk is then unknown.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use eyrie_core::storage::kv::{self, Change, KvWrite, Overlay};
use eyrie_core::storage::{Receipt, Transaction};
use eyrie_core::{Error, Result};
use tokio::sync::oneshot;

use crate::error::backend;
use crate::layout::Trees;
use crate::tables::{SledTables, write_changes};

/// The most transactions one group commit takes.
pub(crate) const MAX_BATCH: usize = 256;

type Reply<T> = oneshot::Sender<Result<T>>;

enum Request {
    Commit(Transaction, Reply<Receipt>),
    Flush(Reply<()>),
    Close(Reply<()>),
}

/// What the writer is doing, shared with the store.
#[derive(Debug)]
pub(crate) struct WriterState {
    failure: Mutex<Option<Error>>,
    commits: AtomicU64,
    batches: AtomicU64,
    /// Milliseconds since `epoch` + 1 when the current batch started; 0 when idle.
    busy_since: AtomicU64,
    epoch: Instant,
}

impl WriterState {
    fn new() -> Self {
        WriterState {
            failure: Mutex::new(None),
            commits: AtomicU64::new(0),
            batches: AtomicU64::new(0),
            busy_since: AtomicU64::new(0),
            epoch: Instant::now(),
        }
    }

    /// `Err` once a write or flush has failed.
    pub(crate) fn check(&self) -> Result<()> {
        match &*self.failure.lock().unwrap_or_else(PoisonError::into_inner) {
            Some(e) => Err(Error::backend(format!("sled store failed earlier, reopen it: {e}"), false)),
            None => Ok(()),
        }
    }

    fn fail(&self, e: &Error) {
        tracing::error!(error = %e, "sled store failed; refusing further work until reopened");
        self.failure.lock().unwrap_or_else(PoisonError::into_inner).get_or_insert_with(|| e.clone());
    }

    fn millis(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX - 1)
    }

    /// A snapshot for [`crate::SledStore::writer_status`].
    pub(crate) fn status(&self) -> WriterStatus {
        let since = self.busy_since.load(Ordering::Acquire);
        WriterStatus {
            commits: self.commits.load(Ordering::Relaxed),
            batches: self.batches.load(Ordering::Relaxed),
            busy_for: (since != 0).then(|| Duration::from_millis(self.millis().saturating_sub(since - 1))),
            failed: self.check().err(),
        }
    }
}

/// What the writer thread is doing: for health checks that want to notice a
/// stalled sled (see the crate docs) without waiting on it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WriterStatus {
    /// Transactions committed since the store was opened.
    pub commits: u64,
    /// Group commits (sled transactions) since the store was opened.
    pub batches: u64,
    /// How long the current group commit has been running; `None` when idle.
    /// A value that keeps growing means sled has stalled.
    pub busy_for: Option<Duration>,
    /// The failure that stopped the store, if any.
    pub failed: Option<Error>,
}

/// The handle to the writer thread.
#[derive(Debug)]
pub(crate) struct Writer {
    requests: Sender<Request>,
    pub(crate) state: Arc<WriterState>,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Request::Commit(..) => "Commit",
            Request::Flush(_) => "Flush",
            Request::Close(_) => "Close",
        })
    }
}

fn stopped() -> Error {
    Error::backend("the sled writer thread has stopped", false)
}

impl Writer {
    /// Starts the writer thread over `trees`.
    pub(crate) fn spawn(trees: Trees, gate: Arc<RwLock<()>>, flush_every_commit: bool) -> Result<Writer> {
        let (requests, inbox) = channel();
        let state = Arc::new(WriterState::new());
        let thread_state = state.clone();
        std::thread::Builder::new()
            .name("eyrie-sled-writer".into())
            .spawn(move || run(trees, &gate, flush_every_commit, &thread_state, inbox))
            .map_err(|e| Error::backend(format!("cannot start the sled writer thread: {e}"), false))?;
        Ok(Writer { requests, state })
    }

    async fn ask<T>(&self, request: impl FnOnce(Reply<T>) -> Request) -> Result<T> {
        let (reply, answer) = oneshot::channel();
        self.requests.send(request(reply)).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    pub(crate) async fn commit(&self, tx: Transaction) -> Result<Receipt> {
        self.ask(|reply| Request::Commit(tx, reply)).await
    }

    pub(crate) async fn flush(&self) -> Result<()> {
        self.ask(Request::Flush).await
    }

    /// Finishes queued work, flushes, and stops the thread; answers once the
    /// thread has let go of its trees.
    pub(crate) async fn close(self) -> Result<()> {
        self.ask(Request::Close).await
    }
}

/// The requests taken in one round.
#[derive(Default)]
struct Batch {
    commits: Vec<(Transaction, Reply<Receipt>)>,
    flushes: Vec<Reply<()>>,
}

impl Batch {
    fn sort(&mut self, request: Request, close: &mut Option<Reply<()>>) {
        match request {
            Request::Commit(tx, reply) => self.commits.push((tx, reply)),
            Request::Flush(reply) => self.flushes.push(reply),
            Request::Close(reply) => *close = Some(reply),
        }
    }
}

fn run(trees: Trees, gate: &RwLock<()>, flush_every_commit: bool, state: &WriterState, inbox: Receiver<Request>) {
    let mut close = None;
    while close.is_none() {
        let Ok(first) = inbox.recv() else { break };
        let mut batch = Batch::default();
        batch.sort(first, &mut close);
        while batch.commits.len() < MAX_BATCH && close.is_none() {
            match inbox.try_recv() {
                Ok(request) => batch.sort(request, &mut close),
                Err(_) => break,
            }
        }
        let Batch { commits, flushes } = batch;
        state.busy_since.store(state.millis() + 1, Ordering::Release);
        let flush = Flush { every_commit: flush_every_commit, requested: !flushes.is_empty() };
        let flushed = group_commit(&trees, gate, flush, state, commits);
        state.busy_since.store(0, Ordering::Release);
        for reply in flushes {
            let _gone = reply.send(flushed.clone());
        }
    }
    let Some(reply) = close else { return };
    let result = state.check().and_then(|()| trees.db.flush().map(drop).map_err(|e| backend("flush", e)));
    drop(trees);
    let _gone = reply.send(result);
}

/// When a batch flushes.
#[derive(Debug, Clone, Copy)]
struct Flush {
    /// After every batch that wrote something.
    every_commit: bool,
    /// Someone asked for a flush, written or not.
    requested: bool,
}

/// Runs one batch; returns the outcome of its write and flush.
fn group_commit(
    trees: &Trees,
    gate: &RwLock<()>,
    flush: Flush,
    state: &WriterState,
    commits: Vec<(Transaction, Reply<Receipt>)>,
) -> Result<()> {
    if let Err(e) = state.check() {
        for (_, reply) in commits {
            let _gone = reply.send(Err(e.clone()));
        }
        return Err(e);
    }
    let mut tables = SledTables::new(trees);
    let mut staged = Overlay::new(&mut tables);
    let mut outcomes = Vec::with_capacity(commits.len());
    for (tx, reply) in commits {
        let mut attempt = Overlay::new(&mut staged);
        let applied = kv::apply(&mut attempt, &tx);
        let changes = attempt.into_changes();
        outcomes.push((applied.and_then(|receipt| stage(&mut staged, changes).map(|()| receipt)), reply));
    }
    let changes = staged.into_changes();
    let mut written = Ok(());
    if !changes.is_empty() {
        let _exclusive = gate.write().unwrap_or_else(PoisonError::into_inner);
        written = write_changes(trees, &changes);
    }
    if written.is_ok() && (flush.requested || (flush.every_commit && !changes.is_empty())) {
        written = trees.db.flush().map(drop).map_err(|e| backend("flush", e));
    }
    if let Err(e) = &written {
        state.fail(e);
    }
    state.batches.fetch_add(1, Ordering::Relaxed);
    for (outcome, reply) in outcomes {
        let outcome = match (&written, outcome) {
            (Err(e), Ok(_)) => Err(e.clone()),
            (_, outcome) => outcome,
        };
        if outcome.is_ok() {
            state.commits.fetch_add(1, Ordering::Relaxed);
        }
        let _gone = reply.send(outcome);
    }
    written
}

/// Moves one accepted transaction's changes into the batch.
fn stage(staged: &mut impl KvWrite, changes: Vec<Change>) -> Result<()> {
    for (table, key, value) in changes {
        match value {
            Some(value) => staged.put(table, &key, &value)?,
            None => staged.delete(table, &key)?,
        }
    }
    Ok(())
}
