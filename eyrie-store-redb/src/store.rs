//! [`RedbStore`]: the [`Store`] contract on a redb database file.
//!
//! Reads run in `spawn_blocking`, each in its own redb read transaction (one
//! consistent snapshot per call; readers never wait for the writer). Commits
//! go to the writer thread ([`crate::writer`]), which group-commits them.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use eyrie_core::storage::kv::{self, KvRead, Table};
use eyrie_core::storage::{EntityKind, Index, Receipt, RecordKey, Store, Stored, Transaction, UniqueKey};
use eyrie_core::{Error, Result};
use redb::{Database, ReadableDatabase};
use tokio::sync::oneshot;

use crate::config::{Durability, RedbConfig};
use crate::error::{from_redb, writer_gone};
use crate::layout::open_database;
use crate::tables::ReadTables;
use crate::writer::{Job, Writer};

/// A durable [`Store`] in one redb file. Cloning shares the same database.
///
/// Dropping the last clone finishes the queued commits, flushes them (in
/// [`Durability::Eventual`] mode) and closes the file; the drop waits for
/// that, so drop it outside latency-sensitive code or call
/// [`RedbStore::flush`] first.
#[derive(Clone)]
pub struct RedbStore {
    inner: Arc<Inner>,
}

struct Inner {
    // Declared before `db`: the writer thread is joined before the handle
    // this struct holds is released.
    writer: Writer,
    db: Arc<Database>,
    path: PathBuf,
    durability: Durability,
}

impl fmt::Debug for RedbStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedbStore")
            .field("path", &self.inner.path)
            .field("durability", &self.inner.durability)
            .finish_non_exhaustive()
    }
}

impl RedbStore {
    /// Opens the store at `config.path`, creating it when missing, on a
    /// blocking thread. See [`RedbStore::open_blocking`] for the errors.
    pub async fn open(config: RedbConfig) -> Result<RedbStore> {
        tokio::task::spawn_blocking(move || RedbStore::open_blocking(config))
            .await
            .map_err(|e| Error::backend(format!("opening the redb store failed: {e}"), false))?
    }

    /// Opens the store at `config.path`, creating it when missing. Blocks
    /// (reading the file, and repairing it after a crash): call it from
    /// synchronous code or [`RedbStore::open`].
    ///
    /// Fails with a `Backend` error when the file is open elsewhere, is not
    /// a redb database, or holds an unknown layout version or no Eyrie
    /// layout at all; with `Corrupt` when redb finds the file damaged.
    pub fn open_blocking(config: RedbConfig) -> Result<RedbStore> {
        let db = Arc::new(open_database(&config)?);
        let writer = Writer::spawn(db.clone(), config.durability)?;
        tracing::debug!(path = %config.path.display(), durability = ?config.durability, "opened redb store");
        Ok(RedbStore { inner: Arc::new(Inner { writer, db, path: config.path, durability: config.durability }) })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Makes every commit that returned so far durable. Immediate in
    /// [`Durability::Immediate`] mode, where every commit already is.
    pub async fn flush(&self) -> Result<()> {
        let (reply, answer) = oneshot::channel();
        self.inner.writer.send(Job::Flush { reply })?;
        answer.await.map_err(|_| writer_gone())?
    }

    /// Runs `read` on one snapshot, on a blocking thread.
    async fn read<T: Send + 'static>(
        &self,
        read: impl FnOnce(&mut ReadTables) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let db = self.inner.db.clone();
        tokio::task::spawn_blocking(move || {
            let txn = db.begin_read().map_err(|e| from_redb("starting a read", e))?;
            read(&mut ReadTables::open(&txn)?)
        })
        .await
        .map_err(|e| Error::backend(format!("a redb read failed: {e}"), false))?
    }
}

/// # Contract
///
/// As [`Store`]'s, with these specifics:
///
/// - **Reads** each open one redb read transaction on a blocking thread;
///   they never wait for a commit in progress.
/// - **Commits** are serialized by the single writer thread and
///   group-committed (see the [crate docs](crate#group-commit)); a commit
///   whose future is dropped after it was queued may still be applied.
/// - **Durability**: with [`Durability::Immediate`] an `Ok` commit is on
///   disk; with [`Durability::Eventual`] it is within the flush interval.
#[async_trait]
impl Store for RedbStore {
    async fn get(&self, key: RecordKey) -> Result<Option<Stored>> {
        self.read(move |t| kv::get(t, key)).await
    }

    async fn get_unique(&self, unique: &UniqueKey) -> Result<Option<Stored>> {
        let unique = unique.clone();
        self.read(move |t| kv::get_unique(t, &unique)).await
    }

    async fn list(&self, index: Index) -> Result<Vec<Stored>> {
        self.read(move |t| kv::list(t, index)).await
    }

    async fn list_between(&self, from: Index, to: Index) -> Result<Vec<Stored>> {
        self.read(move |t| kv::list_between(t, from, to)).await
    }

    async fn count(&self, index: Index) -> Result<u64> {
        self.read(move |t| t.count_prefix(Table::Index, &index.prefix())).await
    }

    async fn list_kind(&self, kind: EntityKind) -> Result<Vec<Stored>> {
        self.read(move |t| kv::list_kind(t, kind)).await
    }

    async fn commit(&self, tx: Transaction) -> Result<Receipt> {
        let (reply, answer) = oneshot::channel();
        self.inner.writer.send(Job::Commit { tx, reply })?;
        answer.await.map_err(|_| writer_gone())?
    }

    async fn dump(&self) -> Result<Vec<Stored>> {
        self.read(kv::dump).await
    }

    async fn verify(&self) -> Result<Vec<String>> {
        self.read(kv::verify).await
    }
}
