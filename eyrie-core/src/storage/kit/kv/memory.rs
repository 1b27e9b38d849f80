//! [`MemoryTables`]: the three key spaces in memory.

use std::collections::BTreeMap;

use super::{Change, KvRead, Pairs, Table};
use crate::error::Result;

/// Three in-memory key spaces: the simplest [`KvRead`], used by the memory
/// store and by tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryTables {
    tables: [BTreeMap<Vec<u8>, Vec<u8>>; 3],
}

impl MemoryTables {
    fn table(&self, table: Table) -> &BTreeMap<Vec<u8>, Vec<u8>> {
        &self.tables[table as usize]
    }

    /// Applies changes from an [`Overlay`](super::Overlay).
    pub fn apply_changes(&mut self, changes: Vec<Change>) {
        for (table, key, value) in changes {
            let t = &mut self.tables[table as usize];
            match value {
                Some(v) => t.insert(key, v),
                None => t.remove(&key),
            };
        }
    }

    /// The value under `key` (the [`KvRead`] read, without `&mut`).
    pub fn read(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.table(table).get(key).cloned())
    }

    /// Every pair under `prefix`, in key order.
    pub fn scan(&self, table: Table, prefix: &[u8]) -> Result<Pairs> {
        Ok(self
            .table(table)
            .range(prefix.to_vec()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    /// Every pair with `start <= key <= end`, in key order.
    pub fn range(&self, table: Table, start: &[u8], end: &[u8]) -> Result<Pairs> {
        if start > end {
            return Ok(Vec::new());
        }
        Ok(self.table(table).range(start.to_vec()..=end.to_vec()).map(|(k, v)| (k.clone(), v.clone())).collect())
    }

    /// Direct access for tests that damage data on purpose.
    pub fn raw_mut(&mut self, table: Table) -> &mut BTreeMap<Vec<u8>, Vec<u8>> {
        &mut self.tables[table as usize]
    }
}

impl KvRead for MemoryTables {
    fn get(&mut self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.read(table, key)
    }

    fn scan_prefix(&mut self, table: Table, prefix: &[u8]) -> Result<Pairs> {
        self.scan(table, prefix)
    }

    fn count_prefix(&mut self, table: Table, prefix: &[u8]) -> Result<u64> {
        Ok(self.table(table).range(prefix.to_vec()..).take_while(|(k, _)| k.starts_with(prefix)).count() as u64)
    }

    fn scan_range(&mut self, table: Table, start: &[u8], end: &[u8]) -> Result<Pairs> {
        self.range(table, start, end)
    }
}
