//! [`Backend`]: what a key-value engine supplies to become a [`super::Store`]
//! — a consistent read snapshot and an atomic write of a batch — and what
//! it declares about itself ([`Capabilities`]). [`super::KvStore`] is the one
//! `Store` built on top of any backend; redb and sled are small adapters.
//!
//! A backend moves bytes only: keys, records, indexes, counters and what a
//! transaction means all come from the shared engine ([`super::kv`]).

use std::fmt;
use std::future::Future;
use std::time::Duration;

use super::codec::DEFAULT_MAX_RECORD_BYTES;
use super::kv::{KvRead, KvWrite};
use crate::error::{Error, Result};

/// What a backend can do; the conformance suite picks its checks from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Capabilities {
    /// A commit that returned `Ok` survives a process kill (when the store
    /// is configured with [`Durability::Immediate`]).
    pub durable: bool,
    /// The data outlives the store value: reopening finds it.
    pub persistent: bool,
    /// Several processes may open the same store at once.
    pub multi_process: bool,
    /// An open snapshot holds commits back until it is dropped (its reads
    /// are consistent because nothing is written meanwhile) instead of
    /// reading an older version while commits go on.
    pub snapshots_block_writes: bool,
}

impl Capabilities {
    /// An in-memory store's: nothing survives, snapshots never block.
    pub const MEMORY: Capabilities =
        Capabilities { durable: false, persistent: false, multi_process: false, snapshots_block_writes: false };

    /// An embedded, durable, single-process store's.
    pub const EMBEDDED: Capabilities =
        Capabilities { durable: true, persistent: true, multi_process: false, snapshots_block_writes: false };

    /// The same with `snapshots_block_writes` set.
    pub const fn with_blocking_snapshots(mut self) -> Self {
        self.snapshots_block_writes = true;
        self
    }
}

/// When a successful commit is on disk: the same two modes on every
/// embedded backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Every commit is on disk (fsynced) before it returns `Ok`: it survives
    /// a process kill and a power cut. Concurrent commits share one fsync
    /// (group commit).
    #[default]
    Immediate,
    /// Commits return once visible to readers and reach the disk together,
    /// at most `flush_interval` later, on `flush`, and on close. A kill may
    /// lose the last interval's commits, never part of one: what survives
    /// is a prefix of the commit order, indexes included.
    Eventual {
        /// The longest a commit stays in memory only.
        flush_interval: Duration,
    },
}

/// Options every store built on the shared layer takes, whatever its backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreOptions {
    /// When commits reach the disk.
    pub durability: Durability,
    /// The longest encoded record a commit may write; a longer one is
    /// refused with `Invalid` before it reaches the writer.
    pub max_record_bytes: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions { durability: Durability::Immediate, max_record_bytes: DEFAULT_MAX_RECORD_BYTES }
    }
}

impl StoreOptions {
    /// Immediate durability, records up to 1 MiB.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the durability.
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// Sets the record size bound.
    pub fn max_record_bytes(mut self, bytes: usize) -> Self {
        self.max_record_bytes = bytes;
        self
    }
}

/// A batch of writes for [`Backend::write`]: it runs on the backend's write
/// view and returns `Err` only when the backend itself failed.
pub type Batch<'a> = dyn FnMut(&mut dyn KvWrite) -> Result<()> + 'a;

/// A key-value engine under [`super::KvStore`].
///
/// # Contract
///
/// - [`Backend::snapshot`] returns a view in which every read sees one
///   committed state. It should take microseconds and may run on an async
///   worker: an MVCC engine opens a read transaction; an engine without
///   snapshots may hold a shared lock that [`Backend::write`] takes
///   exclusively (and then declares [`Capabilities::snapshots_block_writes`]).
/// - [`Backend::write`] is called from one thread at a time (the shared
///   writer's). It opens one write transaction, runs `batch` on a view that
///   reads committed state plus the batch's own writes, and then commits
///   all of it atomically — durably when `durable` — or nothing: when
///   `batch` or the commit returns `Err`, nothing of it may become visible.
///   An empty batch with `durable` set makes every earlier commit durable.
/// - A backend that knows its state is lost after a failed write (sled)
///   returns that failure from every later call.
pub trait Backend: Send + Sync + fmt::Debug + Sized + 'static {
    /// How to open it: a config with at least `durability`, `cache_size`
    /// and `max_record_bytes`, named alike on every backend.
    type Config: Send + 'static;

    /// One consistent read view, owned.
    type Snapshot: KvRead + Send + 'static;

    /// The name of its writer thread.
    const WRITER_NAME: &'static str;

    /// Opens the engine (blocking) and returns it with the store options
    /// its config asks for. Refuses what it does not understand (another
    /// layout version, a file that is not its own) with a non-retryable
    /// `Backend` error, and damage with `Corrupt`.
    fn open(config: Self::Config) -> Result<(Self, StoreOptions)>;

    /// What this backend can do.
    fn capabilities(&self) -> Capabilities;

    /// Opens a consistent read view.
    fn snapshot(&self) -> impl Future<Output = Result<Self::Snapshot>> + Send;

    /// Runs `batch` in one atomic write transaction and commits it.
    fn write(&self, durable: bool, batch: &mut Batch<'_>) -> Result<()>;

    /// A failure that stopped the backend for good, if any.
    fn failure(&self) -> Option<Error> {
        None
    }
}
