//! [`KvStore`]: the one [`Store`] implementation over any [`Backend`].
//!
//! - **Reads** run where they are called, on one backend snapshot each:
//!   an embedded MVCC read takes microseconds and never waits on the
//!   writer, so a thread hop would cost more than the read. Whole-store
//!   scans (`dump`, `verify`) run on the blocking pool.
//! - **Commits** are checked against the record size bound, then queued to
//!   the shared group-commit writer (see the `writer` module).
//! - **Opening** runs the counters' migration ([`counts::ensure`]) once.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use super::backend::{Backend, Capabilities, StoreOptions};
use super::counts;
use super::keys::{EntityKind, Index, RecordKey, UniqueKey};
use super::kv;
use super::snapshot::{KvSnapshot, Snapshot};
use super::store::Store;
use super::tx::{Receipt, Stored, Transaction};
use super::writer::{Writer, WriterStatus};
use crate::error::{Error, Result};

/// A [`Store`] over a key-value [`Backend`].
///
/// Dropping it finishes the queued commits, flushes them and stops the
/// writer thread; the drop waits for that. [`KvStore::close`] does the same
/// explicitly and reports the outcome.
pub struct KvStore<B: Backend> {
    // Declared first: the writer thread is joined before the backend handle
    // this struct holds is released.
    writer: Writer,
    backend: Arc<B>,
    options: StoreOptions,
}

impl<B: Backend> fmt::Debug for KvStore<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KvStore").field("backend", &self.backend).field("options", &self.options).finish()
    }
}

impl<B: Backend> KvStore<B> {
    /// Opens the backend described by `config` and the store over it, on
    /// the blocking pool (inline without a runtime). See
    /// [`KvStore::open_blocking`].
    pub async fn open(config: B::Config) -> Result<Self> {
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => runtime
                .spawn_blocking(move || Self::open_blocking(config))
                .await
                .map_err(|e| Error::backend(format!("opening the store did not finish: {e}"), false))?,
            Err(_) => Self::open_blocking(config),
        }
    }

    /// Opens the backend described by `config` ([`Backend::open`]) and the
    /// store over it ([`KvStore::new`]). Blocks: call it from synchronous
    /// code or [`KvStore::open`].
    pub fn open_blocking(config: B::Config) -> Result<Self> {
        let (backend, options) = B::open(config)?;
        Self::new(backend, options)
    }

    /// A store over an open `backend`: brings the list counters up to date
    /// (a store written before they existed is counted once) and starts the
    /// writer thread. Blocks on the backend.
    pub fn new(backend: B, options: StoreOptions) -> Result<Self> {
        let backend = Arc::new(backend);
        let mut counted = false;
        backend.write(true, &mut |view| {
            counted = counts::ensure(view)?;
            Ok(())
        })?;
        if counted {
            tracing::info!(backend = ?backend, "counted every list of the store once (list counters added)");
        }
        let writer = Writer::spawn(backend.clone(), options.durability, B::WRITER_NAME)?;
        Ok(KvStore { writer, backend, options })
    }

    /// The backend.
    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// The options it was opened with.
    pub fn options(&self) -> StoreOptions {
        self.options
    }

    /// Makes every commit that returned so far durable (immediate with
    /// `Durability::Immediate`, where each already is).
    pub async fn flush(&self) -> Result<()> {
        self.writer.flush().await
    }

    /// Finishes queued commits, flushes, stops the writer and releases the
    /// backend (its files and locks): the store can be opened again as soon
    /// as this returns. Reports the final flush's outcome, which dropping
    /// the store cannot. A store shared in an `Arc` is closed with
    /// `Arc::into_inner(store)` once the other handles are gone.
    pub async fn close(self) -> Result<()> {
        let result = self.writer.close().await;
        // The writer thread has let go of the backend; this drops the last handle.
        drop(self);
        result
    }

    /// What the writer is doing: for health checks that want to notice a
    /// stalled backend without waiting on it.
    pub fn writer_status(&self) -> WriterStatus {
        self.writer.status(self.backend.failure())
    }

    async fn read<T>(&self, read: impl FnOnce(&mut B::Snapshot) -> Result<T>) -> Result<T> {
        let mut view = self.backend.snapshot().await?;
        read(&mut view)
    }

    /// Runs a long read (the whole store) on the blocking pool, or inline
    /// without a runtime.
    async fn read_long<T: Send + 'static>(
        &self,
        read: impl FnOnce(&mut B::Snapshot) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let mut view = self.backend.snapshot().await?;
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => runtime
                .spawn_blocking(move || read(&mut view))
                .await
                .map_err(|e| Error::backend(format!("a store read did not finish: {e}"), false))?,
            Err(_) => read(&mut view),
        }
    }
}

#[async_trait]
impl<B: Backend> Store for KvStore<B> {
    async fn get(&self, key: RecordKey) -> Result<Option<Stored>> {
        self.read(|v| kv::get(v, key)).await
    }

    async fn get_unique(&self, unique: &UniqueKey) -> Result<Option<Stored>> {
        self.read(|v| kv::get_unique(v, unique)).await
    }

    async fn list(&self, index: Index) -> Result<Vec<Stored>> {
        self.read(|v| kv::list(v, index)).await
    }

    async fn list_between(&self, from: Index, to: Index) -> Result<Vec<Stored>> {
        self.read(|v| kv::list_between(v, from, to)).await
    }

    async fn count(&self, index: Index) -> Result<u64> {
        self.read(|v| kv::count(v, index)).await
    }

    async fn list_kind(&self, kind: EntityKind) -> Result<Vec<Stored>> {
        self.read(|v| kv::list_kind(v, kind)).await
    }

    async fn commit(&self, tx: Transaction) -> Result<Receipt> {
        kv::check_record_sizes(&tx, self.options.max_record_bytes)?;
        self.writer.commit(tx).await
    }

    async fn dump(&self) -> Result<Vec<Stored>> {
        self.read_long(kv::dump).await
    }

    async fn verify(&self) -> Result<Vec<String>> {
        self.read_long(kv::verify).await
    }

    async fn snapshot(&self) -> Result<Box<dyn Snapshot>> {
        Ok(Box::new(KvSnapshot::new(self.backend.snapshot().await?)))
    }

    fn capabilities(&self) -> Capabilities {
        self.backend.capabilities()
    }
}
