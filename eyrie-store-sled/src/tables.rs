//! The sled trees as the engine's key-value view: [`SledTables`] reads them
//! ([`KvRead`]) and [`write_changes`] applies an [`Overlay`]'s changes in one
//! multi-tree sled transaction.
//!
//! sled reads are not snapshots: two reads may straddle a write. Readers
//! therefore hold the store's gate shared ([`SledSnapshot`]) while the
//! writer applies changes under it exclusively; see `crate::backend`.
//!
//! [`Overlay`]: eyrie_core::storage::kit::kv::Overlay

use eyrie_core::Result;
use eyrie_core::storage::kit::kv::{Change, KvRead, Pairs, Table};
use sled::transaction::{ConflictableTransactionResult, Transactional, TransactionalTree};
use tokio::sync::OwnedRwLockReadGuard;

use crate::error::backend;
use crate::layout::Trees;

/// Reads of the three trees (of whatever is committed at each read): the
/// writer's view of committed state (only the writer writes).
#[derive(Debug)]
pub(crate) struct SledTables<'a> {
    trees: &'a Trees,
}

impl<'a> SledTables<'a> {
    pub(crate) fn new(trees: &'a Trees) -> Self {
        SledTables { trees }
    }
}

/// A consistent read view: the trees read while the store's gate (which
/// holds them) is held shared, so no write lands until it is dropped.
#[derive(Debug)]
pub struct SledSnapshot {
    shared: OwnedRwLockReadGuard<Trees>,
}

impl SledSnapshot {
    pub(crate) fn new(shared: OwnedRwLockReadGuard<Trees>) -> Self {
        SledSnapshot { shared }
    }
}

macro_rules! reads_of_trees {
    ($ty:ty, |$s:ident| $trees:expr) => {
        impl KvRead for $ty {
            fn get(&mut self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>> {
                let $s = self;
                read(&$trees, table, key)
            }

            fn scan_prefix(&mut self, table: Table, prefix: &[u8]) -> Result<Pairs> {
                let $s = self;
                scan(&$trees, table, prefix)
            }

            fn scan_range(&mut self, table: Table, start: &[u8], end: &[u8]) -> Result<Pairs> {
                let $s = self;
                range(&$trees, table, start, end)
            }

            fn count_prefix(&mut self, table: Table, prefix: &[u8]) -> Result<u64> {
                let $s = self;
                count(&$trees, table, prefix)
            }
        }
    };
}

reads_of_trees!(SledTables<'_>, |s| s.trees);
reads_of_trees!(SledSnapshot, |s| *s.shared);

fn read(trees: &Trees, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>> {
    let value = trees.tree(table).get(key).map_err(|e| backend("read", e))?;
    Ok(value.map(|v| v.to_vec()))
}

fn scan(trees: &Trees, table: Table, prefix: &[u8]) -> Result<Pairs> {
    trees
        .tree(table)
        .scan_prefix(prefix)
        .map(|pair| pair.map(|(k, v)| (k.to_vec(), v.to_vec())).map_err(|e| backend("scan", e)))
        .collect()
}

fn range(trees: &Trees, table: Table, start: &[u8], end: &[u8]) -> Result<Pairs> {
    trees
        .tree(table)
        .range(start..=end)
        .map(|pair| pair.map(|(k, v)| (k.to_vec(), v.to_vec())).map_err(|e| backend("range read", e)))
        .collect()
}

fn count(trees: &Trees, table: Table, prefix: &[u8]) -> Result<u64> {
    let mut n = 0;
    for key in trees.tree(table).scan_prefix(prefix).keys() {
        key.map_err(|e| backend("scan", e))?;
        n += 1;
    }
    Ok(n)
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
