//! The sled trees as the engine's key-value view: [`SledTables`] reads them
//! ([`KvRead`]) and [`write_changes`] applies an [`Overlay`]'s changes in one
//! multi-tree sled transaction.
//!
//! sled reads are not snapshots: two reads may straddle a write. Readers
//! therefore hold the store's gate shared ([`SledSnapshot`]) while the
//! writer applies changes under it exclusively; see `crate::backend`.
//!
//! [`Overlay`]: eyrie_core::storage::kv::Overlay

use eyrie_core::Result;
use eyrie_core::storage::kv::{Change, KvRead, Pairs, Table};
use sled::transaction::{ConflictableTransactionResult, Transactional, TransactionalTree};
use tokio::sync::OwnedRwLockReadGuard;

use crate::error::backend;
use crate::layout::Trees;

/// Reads of the three trees (of whatever is committed at each read).
#[derive(Debug)]
pub(crate) struct SledTables {
    trees: Trees,
}

impl SledTables {
    pub(crate) fn new(trees: Trees) -> Self {
        SledTables { trees }
    }
}

/// A consistent read view: the trees read while the store's gate is held
/// shared, so no write lands until it is dropped.
#[derive(Debug)]
pub struct SledSnapshot {
    tables: SledTables,
    _shared: OwnedRwLockReadGuard<()>,
}

impl SledSnapshot {
    pub(crate) fn new(trees: Trees, shared: OwnedRwLockReadGuard<()>) -> Self {
        SledSnapshot { tables: SledTables::new(trees), _shared: shared }
    }
}

impl KvRead for SledSnapshot {
    fn get(&mut self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.tables.get(table, key)
    }

    fn scan_prefix(&mut self, table: Table, prefix: &[u8]) -> Result<Pairs> {
        self.tables.scan_prefix(table, prefix)
    }

    fn scan_range(&mut self, table: Table, start: &[u8], end: &[u8]) -> Result<Pairs> {
        self.tables.scan_range(table, start, end)
    }

    fn count_prefix(&mut self, table: Table, prefix: &[u8]) -> Result<u64> {
        self.tables.count_prefix(table, prefix)
    }
}

impl KvRead for SledTables {
    fn get(&mut self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let value = self.trees.tree(table).get(key).map_err(|e| backend("read", e))?;
        Ok(value.map(|v| v.to_vec()))
    }

    fn scan_prefix(&mut self, table: Table, prefix: &[u8]) -> Result<Pairs> {
        self.trees
            .tree(table)
            .scan_prefix(prefix)
            .map(|pair| pair.map(|(k, v)| (k.to_vec(), v.to_vec())).map_err(|e| backend("scan", e)))
            .collect()
    }

    fn scan_range(&mut self, table: Table, start: &[u8], end: &[u8]) -> Result<Pairs> {
        self.trees
            .tree(table)
            .range(start..=end)
            .map(|pair| pair.map(|(k, v)| (k.to_vec(), v.to_vec())).map_err(|e| backend("range read", e)))
            .collect()
    }

    fn count_prefix(&mut self, table: Table, prefix: &[u8]) -> Result<u64> {
        let mut n = 0;
        for key in self.trees.tree(table).scan_prefix(prefix).keys() {
            key.map_err(|e| backend("scan", e))?;
            n += 1;
        }
        Ok(n)
    }
}

fn apply_one(tree: &TransactionalTree, key: &[u8], value: Option<&[u8]>) -> ConflictableTransactionResult<(), ()> {
    match value {
        Some(v) => tree.insert(key, v)?,
        None => tree.remove(key)?,
    };
    Ok(())
}

/// Applies `changes` to the three trees in one sled transaction: all of
/// them or none, including after a crash. Never flushes.
pub(crate) fn write_changes(trees: &Trees, changes: &[Change]) -> Result<()> {
    trees
        .all()
        .transaction(|(records, index, unique)| {
            for (table, key, value) in changes {
                let tree = match table {
                    Table::Records => records,
                    Table::Index => index,
                    Table::Unique => unique,
                };
                apply_one(tree, key, value.as_deref())?;
            }
            Ok(())
        })
        .map_err(|e| match e {
            sled::transaction::TransactionError::Storage(e) => backend("transaction", e),
            sled::transaction::TransactionError::Abort(()) => {
                eyrie_core::Error::backend("sled transaction aborted", false)
            }
        })
}
