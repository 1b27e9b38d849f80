//! [`SledStore`]: the shared store layer over [`SledBackend`].

use eyrie_core::storage::KvStore;

use crate::backend::SledBackend;

/// A durable [`Store`](eyrie_core::storage::Store) on sled 0.34: the shared
/// [`KvStore`] over [`SledBackend`]. See the crate docs for layout,
/// durability and the stall hazard.
///
/// Open it with `SledStore::open(SledConfig::new(dir))` (or
/// `open_blocking`); `flush`, `close` and `writer_status` work as on every
/// embedded backend. sled locks its directory while open: the lock is
/// released when the store is dropped (after `close`, at once).
pub type SledStore = KvStore<SledBackend>;
