//! [`RedbStore`]: the shared store layer over [`RedbBackend`].

use eyrie_core::storage::KvStore;

use crate::backend::RedbBackend;

/// A durable [`Store`](eyrie_core::storage::Store) in one redb file: the
/// shared [`KvStore`] over [`RedbBackend`].
///
/// Open it with `RedbStore::open(RedbConfig::new(path))` (or
/// `open_blocking`); [`KvStore::flush`], [`KvStore::close`] and
/// [`KvStore::writer_status`] work as on every embedded backend, and
/// `store.backend().path()` names the file. Dropping it finishes the queued
/// commits, flushes them (in `Durability::Eventual` mode) and closes the
/// file; the drop waits for that, so drop it outside latency-sensitive code
/// or call `close` first.
pub type RedbStore = KvStore<RedbBackend>;
