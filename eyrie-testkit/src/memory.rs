//! [`MemoryStore`]: the in-memory [`Store`], and the reference every other
//! backend is compared with.
//!
//! It keeps the same encoded bytes as the durable backends (the shared
//! record format) in three ordered maps behind one mutex; commits run the
//! shared transaction engine over an overlay and apply its changes while
//! the mutex is held, so commits are serializable. Nothing survives the
//! process.

use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use eyrie_core::storage::kv::{self, KvRead, MemoryTables, Overlay, Table};
use eyrie_core::storage::{EntityKind, Index, Receipt, RecordKey, Store, Stored, Transaction, UniqueKey};
use eyrie_core::{Error, Result};

/// An in-memory store. Cloning shares the same data.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    tables: Arc<Mutex<MemoryTables>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<MutexGuard<'_, MemoryTables>> {
        self.tables.lock().map_err(|_| Error::backend("memory store mutex poisoned", false))
    }

    /// Runs `f` on the raw tables: for tests that damage stored bytes on purpose.
    pub fn with_raw<T>(
        &self,
        f: impl FnOnce(&mut std::collections::BTreeMap<Vec<u8>, Vec<u8>>) -> T,
        table: Table,
    ) -> Result<T> {
        Ok(f(self.lock()?.raw_mut(table)))
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn get(&self, key: RecordKey) -> Result<Option<Stored>> {
        kv::get(&mut *self.lock()?, key)
    }

    async fn get_unique(&self, unique: &UniqueKey) -> Result<Option<Stored>> {
        kv::get_unique(&mut *self.lock()?, unique)
    }

    async fn list(&self, index: Index) -> Result<Vec<Stored>> {
        kv::list(&mut *self.lock()?, index)
    }

    async fn list_between(&self, from: Index, to: Index) -> Result<Vec<Stored>> {
        kv::list_between(&mut *self.lock()?, from, to)
    }

    async fn count(&self, index: Index) -> Result<u64> {
        self.lock()?.count_prefix(Table::Index, &index.prefix())
    }

    async fn list_kind(&self, kind: EntityKind) -> Result<Vec<Stored>> {
        kv::list_kind(&mut *self.lock()?, kind)
    }

    async fn commit(&self, tx: Transaction) -> Result<Receipt> {
        let mut tables = self.lock()?;
        let mut overlay = Overlay::new(&mut *tables);
        let receipt = kv::apply(&mut overlay, &tx)?;
        let changes = overlay.into_changes();
        tables.apply_changes(changes);
        Ok(receipt)
    }

    async fn dump(&self) -> Result<Vec<Stored>> {
        kv::dump(&mut *self.lock()?)
    }

    async fn verify(&self) -> Result<Vec<String>> {
        kv::verify(&mut *self.lock()?)
    }
}
