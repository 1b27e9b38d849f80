//! [`MemoryStore`]: the in-memory [`Store`], and the reference every other
//! backend is compared with.
//!
//! It keeps the same encoded bytes as the durable backends (the shared
//! record format) in three ordered maps behind one mutex; commits run the
//! shared transaction engine over an overlay and apply its changes while
//! the mutex is held, so commits are serializable. A snapshot shares the
//! maps (copy on write: the next commit copies them while a snapshot is
//! alive). Nothing survives the process.

use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use eyrie_core::storage::kit::codec::DEFAULT_MAX_RECORD_BYTES;
use eyrie_core::storage::kit::kv::{self, KvRead, MemoryTables, Overlay, Pairs, Table};
use eyrie_core::storage::{
    EntityKind, Index, KvSnapshot, Receipt, RecordKey, Snapshot, Store, Stored, Transaction, UniqueKey,
};
use eyrie_core::{Error, Result};

/// An in-memory store. Cloning shares the same data.
#[derive(Debug, Clone)]
pub struct MemoryStore {
    tables: Arc<Mutex<Arc<MemoryTables>>>,
    max_record_bytes: usize,
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore { tables: Arc::default(), max_record_bytes: DEFAULT_MAX_RECORD_BYTES }
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The same store refusing records whose encoding exceeds `bytes`
    /// (`max_record_bytes`; 1 MiB by default).
    pub fn max_record_bytes(mut self, bytes: usize) -> Self {
        self.max_record_bytes = bytes;
        self
    }

    fn lock(&self) -> Result<MutexGuard<'_, Arc<MemoryTables>>> {
        self.tables.lock().map_err(|_| Error::backend("memory store mutex poisoned", false))
    }

    /// Runs `f` on the raw tables: for tests that damage stored bytes on purpose.
    pub fn with_raw<T>(
        &self,
        f: impl FnOnce(&mut std::collections::BTreeMap<Vec<u8>, Vec<u8>>) -> T,
        table: Table,
    ) -> Result<T> {
        Ok(f(Arc::make_mut(&mut *self.lock()?).raw_mut(table)))
    }

    /// The current tables, shared (a snapshot).
    fn current(&self) -> Result<Shared> {
        Ok(Shared(self.lock()?.clone()))
    }

    /// The current tables for one read, after spending one unit of tokio's
    /// cooperative budget: a task looping on reads still yields, as on
    /// every store of the shared layer.
    async fn read(&self) -> Result<Shared> {
        tokio::task::consume_budget().await;
        self.current()
    }
}

/// The tables as of one commit, shared with the store until it next commits.
#[derive(Debug)]
struct Shared(Arc<MemoryTables>);

impl KvRead for Shared {
    fn get(&mut self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.0.read(table, key)
    }

    fn scan_prefix(&mut self, table: Table, prefix: &[u8]) -> Result<Pairs> {
        self.0.scan(table, prefix)
    }

    fn scan_range(&mut self, table: Table, start: &[u8], end: &[u8]) -> Result<Pairs> {
        self.0.range(table, start, end)
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn get(&self, key: RecordKey) -> Result<Option<Stored>> {
        kv::get(&mut self.read().await?, key)
    }

    async fn get_unique(&self, unique: &UniqueKey) -> Result<Option<Stored>> {
        kv::get_unique(&mut self.read().await?, unique)
    }

    async fn list(&self, index: Index) -> Result<Vec<Stored>> {
        kv::list(&mut self.read().await?, index)
    }

    async fn list_between(&self, from: Index, to: Index) -> Result<Vec<Stored>> {
        kv::list_between(&mut self.read().await?, from, to)
    }

    async fn count(&self, index: Index) -> Result<u64> {
        kv::count(&mut self.read().await?, index)
    }

    async fn list_kind(&self, kind: EntityKind) -> Result<Vec<Stored>> {
        kv::list_kind(&mut self.read().await?, kind)
    }

    async fn commit(&self, tx: Transaction) -> Result<Receipt> {
        kv::check_record_sizes(&tx, self.max_record_bytes)?;
        let mut tables = self.lock()?;
        let mut base = Shared(tables.clone());
        let mut overlay = Overlay::new(&mut base);
        let receipt = kv::apply(&mut overlay, &tx)?;
        let changes = overlay.into_changes();
        drop(base);
        Arc::make_mut(&mut *tables).apply_changes(changes);
        Ok(receipt)
    }

    async fn dump(&self) -> Result<Vec<Stored>> {
        kv::dump(&mut self.current()?)
    }

    async fn verify(&self) -> Result<Vec<String>> {
        kv::verify(&mut self.current()?)
    }

    async fn snapshot(&self) -> Result<Box<dyn Snapshot>> {
        Ok(Box::new(KvSnapshot::new(self.read().await?)))
    }
}
