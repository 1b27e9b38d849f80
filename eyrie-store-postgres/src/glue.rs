//! The engine's key-value view ([`KvRead`]) over a PostgreSQL connection or
//! transaction: the only place this crate meets
//! [`eyrie_core::storage::kv`]. Writes are not here: a commit runs
//! [`kv::apply`](eyrie_core::storage::kv::apply) over a
//! [`kv::Overlay`](eyrie_core::storage::kv::Overlay) on this reader, which
//! buffers them, and [`crate::sql::write`] sends the final changes.
//!
//! # The bridge
//!
//! `KvRead` is synchronous and tokio-postgres is asynchronous, so every read
//! blocks on the async client with [`Handle::block_on`]. Callers run the
//! engine on a blocking thread (`spawn_blocking`), never on a runtime
//! worker; the connection's own task keeps running on the runtime.

use deadpool_postgres::GenericClient;
use eyrie_core::storage::kv::{KvRead, Pairs, Table};
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
}

impl<'a, C: GenericClient> SqlReader<'a, C> {
    /// Reads through `conn`, driving its futures on `runtime`.
    pub(crate) fn new(conn: &'a C, runtime: Handle) -> Self {
        SqlReader { conn, runtime, raced: false }
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
}

impl<C: GenericClient> KvRead for SqlReader<'_, C> {
    fn get(&mut self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let conn = self.conn;
        self.run(sql::get(conn, table, key))
    }

    fn scan_prefix(&mut self, table: Table, prefix: &[u8]) -> Result<Pairs> {
        let conn = self.conn;
        self.run(sql::scan(conn, table, &Range::Prefix(prefix.to_vec())))
    }

    fn scan_range(&mut self, table: Table, start: &[u8], end: &[u8]) -> Result<Pairs> {
        if start > end {
            return Ok(Vec::new());
        }
        let conn = self.conn;
        self.run(sql::scan(conn, table, &Range::Between(start.to_vec(), end.to_vec())))
    }

    fn count_prefix(&mut self, table: Table, prefix: &[u8]) -> Result<u64> {
        let conn = self.conn;
        self.run(sql::count(conn, table, &Range::Prefix(prefix.to_vec())))
    }
}
