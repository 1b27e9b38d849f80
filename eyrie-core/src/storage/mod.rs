//! Storage: the [`Store`] contract, the record format and the transaction
//! engine shared by every backend.
//!
//! A backend (memory, redb, sled) provides three ordered key spaces and an
//! atomic write path; everything else — what a record's indexes and unique
//! values are, how a transaction is checked and applied, how records are
//! encoded — is here, once, so that backends cannot disagree.

pub mod codec;
mod keys;
pub mod kv;
mod record;
mod store;
mod tx;

pub use keys::{EntityKind, Index, RecordKey, UniqueKey, hex};
pub use record::{Entity, Record};
pub use store::{Store, StoreExt};
pub use tx::{Check, Receipt, Revision, Stored, Transaction, Versioned, Write};
