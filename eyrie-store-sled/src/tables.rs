//! The sled trees as the engine's key-value view: [`SledTables`] reads them
//! ([`KvRead`]) and [`write_changes`] applies an [`Overlay`]'s changes in one
//! multi-tree sled transaction.
//!
//! sled reads are not snapshots: two reads may straddle a write. Callers
//! therefore read under the store's gate (shared) while the writer applies
//! changes under it (exclusive); see `crate::store`.
//!
//! [`Overlay`]: eyrie_core::storage::kv::Overlay

use eyrie_core::Result;
use eyrie_core::storage::kv::{Change, KvRead, Pairs, Table};
use sled::transaction::{ConflictableTransactionResult, Transactional, TransactionalTree};

use crate::error::backend;
use crate::layout::Trees;

/// Reads of the three trees.
#[derive(Debug)]
pub(crate) struct SledTables<'a> {
    trees: &'a Trees,
}

impl<'a> SledTables<'a> {
    pub(crate) fn new(trees: &'a Trees) -> Self {
        SledTables { trees }
    }
}

impl KvRead for SledTables<'_> {
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
