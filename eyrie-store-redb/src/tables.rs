//! The engine's key-value view ([`KvRead`], [`KvWrite`]) over redb's
//! transactions: [`ReadTables`] over a `ReadTransaction` (one consistent
//! snapshot), [`WriteTables`] over a `WriteTransaction` (reads its own
//! writes, so the engine's checks see everything written before them).
//!
//! Each of the engine's three key spaces is one redb table of byte keys and
//! byte values named by [`Table::name`].

use eyrie_core::storage::kit::kv::{KvRead, KvWrite, Pairs, Table};
use eyrie_core::{Error, Result};
use redb::{ReadOnlyTable, ReadTransaction, ReadableTable, StorageError, TableDefinition, WriteTransaction};

use crate::error::from_redb;

/// Keys and values of the three tables.
type Bytes = &'static [u8];

/// The redb definition of one of the engine's key spaces.
pub(crate) fn definition(table: Table) -> TableDefinition<'static, Bytes, Bytes> {
    TableDefinition::new(table.name())
}

fn failed(action: &str, table: Table, error: StorageError) -> Error {
    from_redb(&format!("{action} table {}", table.name()), error)
}

fn get_from(t: &impl ReadableTable<Bytes, Bytes>, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>> {
    Ok(t.get(key).map_err(|e| failed("reading", table, e))?.map(|value| value.value().to_vec()))
}

/// Visits every pair whose key starts with `prefix`, in key order.
fn visit_prefix(
    t: &impl ReadableTable<Bytes, Bytes>,
    table: Table,
    prefix: &[u8],
    mut visit: impl FnMut(&[u8], &[u8]),
) -> Result<()> {
    for entry in t.range::<&[u8]>(prefix..).map_err(|e| failed("scanning", table, e))? {
        let (key, value) = entry.map_err(|e| failed("scanning", table, e))?;
        if !key.value().starts_with(prefix) {
            break;
        }
        visit(key.value(), value.value());
    }
    Ok(())
}

fn scan_from(t: &impl ReadableTable<Bytes, Bytes>, table: Table, prefix: &[u8]) -> Result<Pairs> {
    let mut out = Vec::new();
    visit_prefix(t, table, prefix, |k, v| out.push((k.to_vec(), v.to_vec())))?;
    Ok(out)
}

/// Every pair with `start <= key <= end`, in key order: one ordered range read.
fn range_from(t: &impl ReadableTable<Bytes, Bytes>, table: Table, start: &[u8], end: &[u8]) -> Result<Pairs> {
    let mut out = Vec::new();
    if start > end {
        return Ok(out);
    }
    for entry in t.range::<&[u8]>(start..=end).map_err(|e| failed("scanning", table, e))? {
        let (key, value) = entry.map_err(|e| failed("scanning", table, e))?;
        out.push((key.value().to_vec(), value.value().to_vec()));
    }
    Ok(out)
}

fn count_from(t: &impl ReadableTable<Bytes, Bytes>, table: Table, prefix: &[u8]) -> Result<u64> {
    let mut count = 0u64;
    visit_prefix(t, table, prefix, |_, _| count += 1)?;
    Ok(count)
}

/// The three tables of one read snapshot: [`crate::RedbBackend`]'s
/// snapshot, read by the shared engine. Each table is opened the first time
/// the snapshot reads it and kept for every later read, so a `get` opens
/// one table and a snapshot serving many reads opens each once.
pub struct ReadTables {
    txn: ReadTransaction,
    tables: [Option<ReadOnlyTable<Bytes, Bytes>>; 3],
}

impl ReadTables {
    /// A view of `txn`'s snapshot. The tables exist in every store
    /// [`crate::layout::prepare`] accepted.
    pub(crate) fn new(txn: ReadTransaction) -> Self {
        ReadTables { txn, tables: [None, None, None] }
    }

    fn table(&mut self, table: Table) -> Result<&ReadOnlyTable<Bytes, Bytes>> {
        let slot = &mut self.tables[table as usize];
        if slot.is_none() {
            let opened = self
                .txn
                .open_table(definition(table))
                .map_err(|e| from_redb(&format!("opening table {}", table.name()), e))?;
            *slot = Some(opened);
        }
        slot.as_ref().ok_or_else(|| Error::backend("a redb table did not open", false))
    }
}

impl std::fmt::Debug for ReadTables {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadTables").finish_non_exhaustive()
    }
}

impl KvRead for ReadTables {
    fn get(&mut self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>> {
        get_from(self.table(table)?, table, key)
    }

    fn scan_prefix(&mut self, table: Table, prefix: &[u8]) -> Result<Pairs> {
        scan_from(self.table(table)?, table, prefix)
    }

    fn scan_range(&mut self, table: Table, start: &[u8], end: &[u8]) -> Result<Pairs> {
        range_from(self.table(table)?, table, start, end)
    }

    fn count_prefix(&mut self, table: Table, prefix: &[u8]) -> Result<u64> {
        count_from(self.table(table)?, table, prefix)
    }
}

/// The three tables of an open write transaction.
///
/// Remembers the first redb failure ([`WriteTables::take_failure`]): after
/// one, the redb transaction must be aborted whatever the engine made of the
/// error, because redb may have poisoned it.
pub(crate) struct WriteTables<'txn> {
    records: redb::Table<'txn, Bytes, Bytes>,
    index: redb::Table<'txn, Bytes, Bytes>,
    unique: redb::Table<'txn, Bytes, Bytes>,
    failure: Option<Error>,
}

impl<'txn> WriteTables<'txn> {
    /// Opens (creating if needed) the three tables in `txn`.
    pub(crate) fn open(txn: &'txn WriteTransaction) -> Result<Self> {
        let open = |table: Table| {
            txn.open_table(definition(table)).map_err(|e| from_redb(&format!("opening table {}", table.name()), e))
        };
        Ok(WriteTables {
            records: open(Table::Records)?,
            index: open(Table::Index)?,
            unique: open(Table::Unique)?,
            failure: None,
        })
    }

    /// The first redb failure since the tables were opened, if any.
    pub(crate) fn take_failure(&mut self) -> Option<Error> {
        self.failure.take()
    }

    fn note<T>(&mut self, result: Result<T>) -> Result<T> {
        if let Err(e) = &result
            && self.failure.is_none()
        {
            self.failure = Some(e.clone());
        }
        result
    }

    fn table(&mut self, table: Table) -> &mut redb::Table<'txn, Bytes, Bytes> {
        match table {
            Table::Records => &mut self.records,
            Table::Index => &mut self.index,
            Table::Unique => &mut self.unique,
        }
    }
}

impl KvRead for WriteTables<'_> {
    fn get(&mut self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let result = get_from(self.table(table), table, key);
        self.note(result)
    }

    fn scan_prefix(&mut self, table: Table, prefix: &[u8]) -> Result<Pairs> {
        let result = scan_from(self.table(table), table, prefix);
        self.note(result)
    }

    fn scan_range(&mut self, table: Table, start: &[u8], end: &[u8]) -> Result<Pairs> {
        let result = range_from(self.table(table), table, start, end);
        self.note(result)
    }

    fn count_prefix(&mut self, table: Table, prefix: &[u8]) -> Result<u64> {
        let result = count_from(self.table(table), table, prefix);
        self.note(result)
    }
}

impl KvWrite for WriteTables<'_> {
    fn put(&mut self, table: Table, key: &[u8], value: &[u8]) -> Result<()> {
        let result = self.table(table).insert(key, value).map(drop).map_err(|e| failed("writing", table, e));
        self.note(result)
    }

    fn delete(&mut self, table: Table, key: &[u8]) -> Result<()> {
        let result = self.table(table).remove(key).map(drop).map_err(|e| failed("deleting from", table, e));
        self.note(result)
    }
}
