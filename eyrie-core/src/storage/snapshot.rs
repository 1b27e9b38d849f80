//! [`Snapshot`]: reads that all see one committed state, for a service call
//! that must decide on several records at once (an access check reads the
//! project, the membership, the overrides …), and typed reads over it
//! ([`SnapshotExt`]).

use std::fmt;
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;

use super::keys::{Index, RecordKey, UniqueKey};
use super::kv::{self, KvRead};
use super::record::Entity;
use super::store::typed;
use super::tx::{Stored, Versioned};
use crate::error::{Error, Result};

/// A consistent read view of a store, from [`super::Store::snapshot`].
///
/// # Contract
///
/// Every read of one snapshot sees the same committed state: the state when
/// the snapshot was opened. A commit that returns after that is invisible
/// to it. Keep a snapshot short, and drop it before committing: on a
/// backend that declares [`super::Capabilities::snapshots_block_writes`]
/// (sled), commits wait until it is dropped, so a task that commits (or
/// reads the store directly behind a waiting commit) while holding its own
/// snapshot waits for ever. Reads are the `Store` reads of the same name.
#[async_trait]
pub trait Snapshot: Send + Sync + fmt::Debug {
    /// The record under `key`, or `None`.
    async fn get(&self, key: RecordKey) -> Result<Option<Stored>>;

    /// The record holding `unique`, or `None`.
    async fn get_unique(&self, unique: &UniqueKey) -> Result<Option<Stored>>;

    /// The records in one list, in id order.
    async fn list(&self, index: Index) -> Result<Vec<Stored>>;

    /// How many records are in one list.
    async fn count(&self, index: Index) -> Result<u64>;
}

super::store::typed_reads! {
    /// Typed reads over any [`Snapshot`].
    SnapshotExt: Snapshot {}
}

/// A [`Snapshot`] over any owned consistent [`KvRead`]: reads run inline
/// on the engine's read paths, each spending one unit of tokio's
/// cooperative budget (see [`super::KvStore`]).
pub struct KvSnapshot<R> {
    view: Mutex<R>,
}

impl<R> fmt::Debug for KvSnapshot<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KvSnapshot").finish_non_exhaustive()
    }
}

impl<R: KvRead + Send> KvSnapshot<R> {
    /// A snapshot reading `view`, which must itself be consistent.
    pub fn new(view: R) -> Self {
        KvSnapshot { view: Mutex::new(view) }
    }

    fn read<T>(&self, read: impl FnOnce(&mut R) -> Result<T>) -> Result<T> {
        read(&mut self.view.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

#[async_trait]
impl<R: KvRead + Send> Snapshot for KvSnapshot<R> {
    async fn get(&self, key: RecordKey) -> Result<Option<Stored>> {
        tokio::task::consume_budget().await;
        self.read(|v| kv::get(v, key))
    }

    async fn get_unique(&self, unique: &UniqueKey) -> Result<Option<Stored>> {
        tokio::task::consume_budget().await;
        self.read(|v| kv::get_unique(v, unique))
    }

    async fn list(&self, index: Index) -> Result<Vec<Stored>> {
        tokio::task::consume_budget().await;
        self.read(|v| kv::list(v, index))
    }

    async fn count(&self, index: Index) -> Result<u64> {
        tokio::task::consume_budget().await;
        self.read(|v| kv::count(v, index))
    }
}
