//! The engine's key-value view ([`KvRead`]) over a PostgreSQL connection or
//! transaction: with `store.rs`, the only place this crate meets
//! [`eyrie_core::storage::kit::kv`]. Writes are not here: a commit runs
//! [`kv::apply`](eyrie_core::storage::kit::kv::apply) over a
//! [`kv::Overlay`](eyrie_core::storage::kit::kv::Overlay) on this reader, which
//! buffers them, and [`crate::sql::write`] sends the final changes.
//!
//! # The bridge
//!
//! `KvRead` is synchronous and tokio-postgres is asynchronous, so every read
//! blocks on the async client with [`Handle::block_on`]. Callers run the
//! engine on a blocking thread (`spawn_blocking`), never on a runtime
//! worker; the connection's own task keeps running on the runtime.
//!
//! # Read-ahead
//!
//! The engine reads a list as its index entries, then each record they
//! name: one round trip per record. When it scans index entries, the reader
//! also fetches the records they name ([`Index::record_of_entry`]) in one
//! more statement and answers the following record reads from that. The
//! reader lives for one read call or one commit, inside one snapshot (a
//! commit's own writes wait in the engine's overlay until the end), so what
//! it read ahead is what the database would answer.

use std::collections::HashMap;

use deadpool_postgres::GenericClient;
use eyrie_core::storage::Index;
use eyrie_core::storage::kit::kv::{KvRead, Pairs, Table};
use eyrie_core::{ErrorKind, Result};
use tokio::runtime::Handle;

use crate::sql::{self, Range};

/// Reads of one connection or transaction, from a blocking thread.
pub(crate) struct SqlReader<'a, C> {
    conn: &'a C,
    runtime: Handle,
    /// Set when a read lost a serialization race: the whole commit may be
    /// re-run, whatever error the engine made of it.
    raced: bool,
    /// Records read ahead: key → envelope, or `None` when absent.
    ahead: HashMap<Vec<u8>, Option<Vec<u8>>>,
}

impl<'a, C: GenericClient> SqlReader<'a, C> {
    /// Reads through `conn`, driving its futures on `runtime`.
    pub(crate) fn new(conn: &'a C, runtime: Handle) -> Self {
        SqlReader { conn, runtime, raced: false, ahead: HashMap::new() }
    }

    /// Whether a read lost a serialization race.
    pub(crate) fn raced(&self) -> bool {
        self.raced
    }

    fn run<T>(&mut self, read: impl Future<Output = Result<T>>) -> Result<T> {
        let result = self.runtime.block_on(read);
        if let Err(e) = &result
            && e.kind() == ErrorKind::Conflict
        {
            self.raced = true;
        }
        result
    }

    /// Scans `range`; for index entries, reads their records ahead.
    fn scan(&mut self, table: Table, range: Range) -> Result<Pairs> {
        let conn = self.conn;
        let pairs = self.run(sql::scan(conn, table, &range))?;
        // A whole-table scan (`verify`) reads the records itself.
        let whole_table = matches!(&range, Range::Prefix(prefix) if prefix.is_empty());
        if table == Table::Index && !whole_table && !pairs.is_empty() {
            let keys: Vec<Vec<u8>> = pairs
                .iter()
                .filter_map(|(entry, _)| Index::record_of_entry(entry).ok())
                .map(|key| key.to_bytes().to_vec())
                .filter(|key| !self.ahead.contains_key(key))
                .collect();
            let found: HashMap<Vec<u8>, Vec<u8>> =
                self.run(sql::get_many(conn, Table::Records, &keys))?.into_iter().collect();
            for key in keys {
                let value = found.get(&key).cloned();
                self.ahead.insert(key, value);
            }
        }
        Ok(pairs)
    }
}

impl<C: GenericClient> KvRead for SqlReader<'_, C> {
    fn get(&mut self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>> {
        if table == Table::Records
            && let Some(value) = self.ahead.get(key)
        {
            return Ok(value.clone());
        }
        let conn = self.conn;
        self.run(sql::get(conn, table, key))
    }

    fn scan_prefix(&mut self, table: Table, prefix: &[u8]) -> Result<Pairs> {
        self.scan(table, Range::Prefix(prefix.to_vec()))
    }

    fn scan_range(&mut self, table: Table, start: &[u8], end: &[u8]) -> Result<Pairs> {
        if start > end {
            return Ok(Vec::new());
        }
        self.scan(table, Range::Between(start.to_vec(), end.to_vec()))
    }

    fn count_prefix(&mut self, table: Table, prefix: &[u8]) -> Result<u64> {
        let conn = self.conn;
        self.run(sql::count(conn, table, &Range::Prefix(prefix.to_vec())))
    }
}
