//! [`SledStore`]: the [`Store`] over sled.
//!
//! Reads run on tokio's blocking pool, holding the gate shared so that each
//! call sees one consistent state (sled reads alone are not snapshots: a
//! `list` could otherwise meet an index entry whose record was just
//! deleted). Commits go to the single writer thread (`crate::writer`), which
//! takes the gate exclusively only while it writes a sled transaction, never
//! while it flushes.

use std::sync::{Arc, PoisonError, RwLock};

use async_trait::async_trait;
use eyrie_core::storage::kv::{self, KvRead, Table};
use eyrie_core::storage::{EntityKind, Index, Receipt, RecordKey, Store, Stored, Transaction, UniqueKey};
use eyrie_core::{Error, Result};

use crate::config::{Durability, SledConfig};
use crate::error::OpenError;
use crate::layout::{self, Trees};
use crate::tables::SledTables;
use crate::writer::{Writer, WriterStatus};

/// A durable [`Store`] on sled 0.34. See the crate docs for layout,
/// durability and the stall hazard.
#[derive(Debug)]
pub struct SledStore {
    trees: Trees,
    gate: Arc<RwLock<()>>,
    writer: Writer,
}

/// Runs blocking `job` on tokio's blocking pool, or inline without a runtime.
async fn off_runtime<T: Send + 'static>(job: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => runtime
            .spawn_blocking(job)
            .await
            .map_err(|e| Error::backend(format!("sled task did not finish: {e}"), false))?,
        Err(_) => job(),
    }
}

impl SledStore {
    /// Opens (or creates) the store described by `config`, off the async
    /// runtime's workers. Refuses a store of another layout version.
    pub async fn open(config: SledConfig) -> Result<SledStore, OpenError> {
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => runtime.spawn_blocking(move || Self::open_blocking(&config)).await.map_err(|e| {
                OpenError::Sled { path: String::new(), message: format!("the open task did not finish: {e}") }
            })?,
            Err(_) => Self::open_blocking(&config),
        }
    }

    /// [`SledStore::open`] on the calling thread (it blocks: sled recovers
    /// its log on open).
    pub fn open_blocking(config: &SledConfig) -> Result<SledStore, OpenError> {
        let trees = layout::open(config)?;
        let gate = Arc::new(RwLock::new(()));
        let flush_every_commit = config.durability == Durability::FlushEveryCommit;
        let writer = Writer::spawn(trees.clone(), gate.clone(), flush_every_commit)
            .map_err(|e| OpenError::Sled { path: config.path.display().to_string(), message: e.to_string() })?;
        Ok(SledStore { trees, gate, writer })
    }

    /// Flushes everything committed so far to disk (useful with
    /// [`Durability::Periodic`]). Runs on the writer thread.
    pub async fn flush(&self) -> Result<()> {
        self.writer.flush().await
    }

    /// Finishes queued commits, flushes and releases the database, so that
    /// it can be reopened (sled locks its directory while open). Dropping a
    /// store without closing it also releases it, a moment later.
    pub async fn close(self) -> Result<()> {
        let SledStore { trees, gate, writer } = self;
        drop((trees, gate));
        writer.close().await
    }

    /// What the writer thread is doing, without waiting on it.
    pub fn writer_status(&self) -> WriterStatus {
        self.writer.state.status()
    }

    /// Runs `read` on one consistent state of the trees, off the runtime.
    async fn read<T: Send + 'static>(
        &self,
        read: impl FnOnce(&mut SledTables<'_>) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        self.writer.state.check()?;
        let (trees, gate) = (self.trees.clone(), self.gate.clone());
        off_runtime(move || {
            let _shared = gate.read().unwrap_or_else(PoisonError::into_inner);
            read(&mut SledTables::new(&trees))
        })
        .await
    }
}

#[async_trait]
impl Store for SledStore {
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
        self.writer.commit(tx).await
    }

    async fn dump(&self) -> Result<Vec<Stored>> {
        self.read(|t| kv::dump(t)).await
    }

    async fn verify(&self) -> Result<Vec<String>> {
        self.read(|t| kv::verify(t)).await
    }
}
