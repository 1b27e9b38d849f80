//! [`SledBackend`]: sled as a [`Backend`] of the shared store layer.
//!
//! sled has no read snapshots, so the backend keeps a gate: a snapshot
//! holds it shared, and the writer takes it exclusively only while it
//! writes one multi-tree sled transaction (never while it flushes). Every
//! sled write and flush runs on the shared writer thread, never inside a
//! sled transaction and never with `flush_async`.
//!
//! After a failed sled write or flush the backend is failed for good: every
//! later call returns that error (reopen the store), because what reached
//! the disk is then unknown.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use eyrie_core::storage::kit::kv::Overlay;
use eyrie_core::storage::{Backend, Batch, Capabilities, StoreOptions};
use eyrie_core::{Error, Result};
use tokio::sync::RwLock;

use crate::config::SledConfig;
use crate::error::backend;
use crate::layout::{self, Trees};
use crate::tables::{SledSnapshot, SledTables, write_changes};

/// One sled directory holding an Eyrie store.
#[derive(Debug)]
pub struct SledBackend {
    /// The writer's handle on the trees (it reads committed state without
    /// the gate: nothing else writes).
    trees: Trees,
    /// The trees again, behind the gate readers hold shared.
    gate: Arc<RwLock<Trees>>,
    failed: AtomicBool,
    failure: Mutex<Option<Error>>,
    background_flush: bool,
    path: PathBuf,
}

impl SledBackend {
    /// The store's directory.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    fn check(&self) -> Result<()> {
        if !self.failed.load(Ordering::Acquire) {
            return Ok(());
        }
        match &*self.failure.lock().unwrap_or_else(PoisonError::into_inner) {
            Some(e) => Err(Error::backend(format!("sled store failed earlier, reopen it: {e}"), false)),
            None => Ok(()),
        }
    }

    fn fail(&self, e: &Error) {
        tracing::error!(error = %e, "sled store failed; refusing further work until reopened");
        self.failure.lock().unwrap_or_else(PoisonError::into_inner).get_or_insert_with(|| e.clone());
        self.failed.store(true, Ordering::Release);
    }
}

impl Backend for SledBackend {
    type Config = SledConfig;
    type Snapshot = SledSnapshot;
    const WRITER_NAME: &'static str = "eyrie-sled-writer";

    fn open(config: SledConfig) -> Result<(Self, StoreOptions)> {
        let trees = layout::open(&config)?;
        let options = config.store_options();
        let backend = SledBackend {
            gate: Arc::new(RwLock::new(trees.clone())),
            trees,
            failed: AtomicBool::new(false),
            failure: Mutex::new(None),
            background_flush: config.background_flush_ms().is_some(),
            path: config.path,
        };
        Ok((backend, options))
    }

    /// Durable, one process (sled locks its directory); a snapshot holds
    /// the gate, so commits wait for it.
    fn capabilities(&self) -> Capabilities {
        Capabilities::EMBEDDED.with_blocking_snapshots()
    }

    /// Waits (asynchronously) for the gate, shared: only while the writer
    /// writes a sled transaction.
    async fn snapshot(&self) -> Result<SledSnapshot> {
        self.check()?;
        Ok(SledSnapshot::new(self.gate.clone().read_owned().await))
    }

    fn write(&self, durable: bool, batch: &mut Batch<'_>) -> Result<()> {
        self.check()?;
        let mut committed = SledTables::new(&self.trees);
        let mut staged = Overlay::new(&mut committed);
        batch(&mut staged)?;
        let changes = staged.into_changes();
        let mut written = Ok(());
        if !changes.is_empty() {
            let _exclusive = futures::executor::block_on(self.gate.write());
            written = write_changes(&self.trees, &changes);
        }
        if written.is_ok() && durable {
            written = self.trees.db.flush().map(drop).map_err(|e| backend("flush", e));
        }
        if let Err(e) = &written {
            self.fail(e);
        }
        written
    }

    fn failure(&self) -> Option<Error> {
        self.check().err()
    }

    /// With `Durability::Eventual`, sled's background flusher keeps the interval.
    fn flushes_in_background(&self) -> bool {
        self.background_flush
    }
}
