//! Storage: the [`Store`] contract, the record format and the transaction
//! engine shared by every backend.
//!
//! A backend (redb, sled, …) provides three ordered key spaces, a
//! consistent read snapshot and an atomic write of a batch ([`Backend`]);
//! everything else — what a record's indexes, counters and unique values
//! are, how a transaction is checked and applied, how records are encoded,
//! group commit, the `Store` itself ([`KvStore`]) — is here, once, so that
//! backends cannot disagree.
//!
//! # How a backend plugs in
//!
//! - **Embedded engines** (one process, a blocking API) implement
//!   [`Backend`] and wrap [`KvStore`]: reads run inline on a snapshot,
//!   commits go through the shared group-commit writer.
//! - **Engines with their own transactions and network round trips**
//!   (PostgreSQL) implement [`kv::KvRead`] over a read-only snapshot and
//!   [`kv::KvWrite`] over one serializable transaction, and their own
//!   `Store` calls the shared engine: [`kv::check_record_sizes`] then
//!   [`kv::apply`] per commit, [`kv::get`], [`kv::list`], [`kv::count`]
//!   … per read, [`KvSnapshot`] (or their own [`Snapshot`]) for
//!   `snapshot`, and [`counts::ensure`] once when opening.

mod backend;
mod keys;
/// For store authors: the engine every store runs — the key-value view
/// ([`kit::kv`]), the record encoding ([`kit::codec`]) and the list
/// counters ([`kit::counts`]). A program that embeds Eyrie never needs them;
/// they are not in any prelude.
pub mod kit;
pub(crate) use kit::{codec, counts, kv};
mod kv_store;
mod record;
mod snapshot;
mod store;
mod tx;
mod writer;

pub use backend::{Backend, Batch, Capabilities, Durability, StoreOptions};
pub use keys::{
    EntityKind, Index, RecordKey, UniqueKey, group_type_tag, hex, job_action_tag, job_state_tag, stable_hash,
};
pub use kv_store::KvStore;
pub use record::{Entity, Record};
pub use snapshot::{KvSnapshot, Snapshot, SnapshotExt};
pub use store::{Store, StoreExt};
pub use tx::{Check, Receipt, Revision, Stored, Transaction, Versioned, Write};
pub use writer::{MAX_BATCH, WriterStatus, commit_batch};
