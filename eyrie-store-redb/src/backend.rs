//! [`RedbBackend`]: redb as a [`Backend`] of the shared store layer — a read
//! transaction with its three tables opened once is the snapshot, a write
//! transaction is the atomic batch.

use std::path::{Path, PathBuf};

use eyrie_core::Result;
use eyrie_core::storage::{Backend, Batch, Capabilities, StoreOptions};
use redb::{Database, ReadableDatabase};

use crate::config::RedbConfig;
use crate::error::from_redb;
use crate::layout::open_database;
use crate::tables::{ReadTables, WriteTables};

/// One redb database file holding an Eyrie store.
pub struct RedbBackend {
    db: Database,
    path: PathBuf,
}

impl std::fmt::Debug for RedbBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedbBackend").field("path", &self.path).finish_non_exhaustive()
    }
}

impl RedbBackend {
    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Backend for RedbBackend {
    type Config = RedbConfig;
    type Snapshot = ReadTables;
    const WRITER_NAME: &'static str = "eyrie-redb-writer";

    fn open(config: RedbConfig) -> Result<(Self, StoreOptions)> {
        let db = open_database(&config)?;
        tracing::debug!(path = %config.path.display(), durability = ?config.durability, "opened redb store");
        let options = config.store_options();
        Ok((RedbBackend { db, path: config.path }, options))
    }

    /// Durable, one process at a time (redb locks the file), MVCC
    /// snapshots that never block the writer.
    fn capabilities(&self) -> Capabilities {
        Capabilities::EMBEDDED
    }

    /// A redb read transaction: opening it (and later each table it reads)
    /// takes microseconds and never waits on the writer, so it runs inline.
    async fn snapshot(&self) -> Result<ReadTables> {
        let txn = self.db.begin_read().map_err(|e| from_redb("starting a read", e))?;
        Ok(ReadTables::new(txn))
    }

    fn write(&self, durable: bool, batch: &mut Batch<'_>) -> Result<()> {
        let mut txn = self.db.begin_write().map_err(|e| from_redb("starting a write", e))?;
        let durability = if durable { redb::Durability::Immediate } else { redb::Durability::None };
        txn.set_durability(durability).map_err(|e| from_redb("setting the durability", e))?;
        {
            let mut tables = WriteTables::open(&txn)?;
            let outcome = batch(&mut tables);
            // After any redb failure the transaction must be dropped
            // (aborted), whatever the engine made of the error.
            if let Some(failure) = tables.take_failure() {
                return Err(failure);
            }
            outcome?;
        }
        txn.commit().map_err(|e| from_redb("committing", e))
    }
}
