//! The [`Store`] trait: the contract every persistence backend fulfils, and
//! typed conveniences on top of it ([`StoreExt`]).

use async_trait::async_trait;

use super::backend::Capabilities;
use super::keys::{EntityKind, Index, RecordKey, UniqueKey};
use super::record::Entity;
use super::snapshot::Snapshot;
use super::tx::{Receipt, Stored, Transaction, Versioned};
use crate::error::{Error, Result};

/// Durable (or in-memory) storage of Eyrie's records.
///
/// # Contract
///
/// - **Records** are addressed by [`RecordKey`] and carry a [`super::Revision`]:
///   1 on create, +1 on each update. Stores keep the encoded form of
///   [`super::codec`] (the memory store included), so every backend reads and
///   writes the same bytes.
/// - **Indexes and unique values** are derived from records alone
///   ([`super::Record::indexes`], [`super::Record::unique_keys`]) and change in
///   the same atomic write as the records they describe. [`Store::verify`]
///   rebuilds them and reports any disagreement.
/// - **Atomicity**: [`Store::commit`] applies a whole [`Transaction`] or
///   nothing. Its checks are evaluated against the state the writes apply
///   to, with no other commit in between (commits are serializable). A
///   refused transaction changes nothing, including indexes.
/// - **Errors** are portable: `NotFound` (an update or delete of a missing
///   record), `AlreadyExists` (a create of an existing key, or a unique value
///   held by another record), `Conflict` (a revision check or a write based
///   on a stale revision — retryable after re-reading), `PolicyViolation`
///   (a `CountBelow` check), `Corrupt` (undecodable stored bytes, naming the
///   record; the rest of the store stays readable), `Backend` (I/O).
/// - **Reads** see only committed state: each call reads one consistent
///   snapshot; two calls may see different snapshots. [`Store::snapshot`]
///   gives several reads one state.
/// - **Concurrency**: every method may be called from many tasks at once.
///   A read may run on the calling worker when it takes microseconds and
///   never waits on the writer (an MVCC engine's read); anything longer or
///   blocking stays off the async runtime's workers.
/// - **Record size**: a commit writing a record whose encoding exceeds the
///   store's `max_record_bytes` is refused with `Invalid` and changes
///   nothing ([`super::kv::check_record_sizes`]).
/// - **Durability** is the backend's to declare (see its crate docs); a
///   commit that returned `Ok` on a backend configured as durable survives a
///   process kill.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    /// The record under `key`, or `None`.
    async fn get(&self, key: RecordKey) -> Result<Option<Stored>>;

    /// The record holding `unique`, or `None`.
    async fn get_unique(&self, unique: &UniqueKey) -> Result<Option<Stored>>;

    /// The records in one list, in id order. Reads only that list's entries
    /// and the records they name, never unrelated records.
    async fn list(&self, index: Index) -> Result<Vec<Stored>>;

    /// The records of every list from `from` to `to` — the same kind of
    /// index, parents in between, inclusive — ordered by parent, then id.
    /// For the time indexes this reads exactly what is due up to an instant,
    /// without touching later entries. Implement it with
    /// [`super::kv::list_between`] over an ordered range read.
    async fn list_between(&self, from: Index, to: Index) -> Result<Vec<Stored>>;

    /// How many records are in one list: a maintained counter, read in
    /// constant time whatever the list's length.
    async fn count(&self, index: Index) -> Result<u64>;

    /// Every record of one kind, in id order.
    async fn list_kind(&self, kind: EntityKind) -> Result<Vec<Stored>>;

    /// Applies `tx` atomically; see the contract.
    async fn commit(&self, tx: Transaction) -> Result<Receipt>;

    /// Every record in key order: for tests, exports and comparisons.
    async fn dump(&self) -> Result<Vec<Stored>>;

    /// Rebuilds indexes, list counters and unique values from the records
    /// and lists every disagreement (empty when consistent).
    async fn verify(&self) -> Result<Vec<String>>;

    /// A consistent read view: every read of it sees the state at the time
    /// it was opened (see [`Snapshot`]'s contract).
    async fn snapshot(&self) -> Result<Box<dyn Snapshot>>;

    /// What this store can do (durable, several processes, …); the
    /// conformance suite picks its checks from it.
    fn capabilities(&self) -> Capabilities {
        Capabilities::MEMORY
    }
}

fn wrong_kind(stored: &Stored, expected: EntityKind) -> Error {
    Error::Corrupt { record: stored.record.key().to_string(), reason: format!("expected a {expected}") }
}

/// A stored record as a `T`, or `Corrupt` naming it: shared by the typed
/// reads of [`StoreExt`] and [`super::SnapshotExt`].
pub(super) fn typed<T: Entity>(stored: Stored) -> Result<Versioned<T>> {
    let kind_error = wrong_kind(&stored, T::KIND);
    Versioned::from_stored(stored).ok_or(kind_error)
}

/// Declares a trait of typed reads over `$base`'s `get`, `get_unique` and
/// `list`, plus `$extra` methods: [`StoreExt`] and [`super::SnapshotExt`]
/// share these reads written once.
macro_rules! typed_reads {
    ($(#[$meta:meta])* $name:ident: $base:ident { $($extra:tt)* }) => {
        $(#[$meta])*
        #[async_trait]
        pub trait $name: $base {
            /// The `T` with this id, or `None`.
            async fn find<T: Entity>(&self, id: u64) -> Result<Option<Versioned<T>>> {
                self.get(RecordKey::new(T::KIND, id)).await?.map(typed).transpose()
            }

            /// The `T` with this id, or [`Error::NotFound`].
            async fn fetch<T: Entity>(&self, id: u64) -> Result<Versioned<T>> {
                self.find(id).await?.ok_or_else(|| Error::NotFound {
                    entity: T::KIND.name(),
                    id: RecordKey::new(T::KIND, id).id_text(),
                })
            }

            /// The `T` holding `unique`, or `None`.
            async fn find_unique<T: Entity>(&self, unique: &UniqueKey) -> Result<Option<Versioned<T>>> {
                self.get_unique(unique).await?.map(typed).transpose()
            }

            /// The `T`s of one list.
            async fn children<T: Entity>(&self, index: Index) -> Result<Vec<Versioned<T>>> {
                self.list(index).await?.into_iter().map(typed).collect()
            }

            $($extra)*
        }

        impl<S: $base + ?Sized> $name for S {}
    };
}
pub(super) use typed_reads;

typed_reads! {
    /// Typed reads over any [`Store`].
    StoreExt: Store {
        /// Every `T`.
        async fn all<T: Entity>(&self) -> Result<Vec<Versioned<T>>> {
            self.list_kind(T::KIND).await?.into_iter().map(typed).collect()
        }
    }
}
