//! Durable persistence for Eyrie on [redb](https://www.redb.org) 4: the
//! embedded default [`Store`](eyrie_core::storage::Store).
//!
//! [`RedbStore`] keeps Eyrie's records, the lists (indexes), their counters
//! and unique values derived from them in one redb file. It is the shared
//! store layer of eyrie-core ([`KvStore`](eyrie_core::storage::KvStore))
//! over [`RedbBackend`], a small adapter that supplies what a key-value
//! engine must: a consistent read snapshot (a redb read transaction, its
//! tables opened once) and an atomic write of a batch (a redb write
//! transaction). Every commit evaluates its checks and writes its records,
//! index entries, counters and unique values in one redb transaction.
//!
//! # Example
//!
//! ```
//! use eyrie_core::storage::{Store, StoreExt, Transaction};
//! use eyrie_core::{NamespaceUid, Project, ProjectId, Slug, Timestamp, UserId};
//! use eyrie_store_redb::{RedbConfig, RedbStore};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> eyrie_core::Result<()> {
//! let dir = tempfile::tempdir().map_err(|e| eyrie_core::Error::backend(e.to_string(), false))?;
//! let store = RedbStore::open(RedbConfig::new(dir.path().join("eyrie.redb"))).await?;
//!
//! let acme = Project {
//!     id: ProjectId(1),
//!     name: "Acme".parse()?,
//!     slug: Slug::from_name("Acme"),
//!     owner: UserId(7),
//!     domain: None,
//!     primary_deployment: None,
//!     portal_blocked: false,
//!     namespace_uid: NamespaceUid(1001),
//!     created_at: Timestamp::from_unix_seconds(1_767_225_600),
//! };
//! let receipt = store.commit(Transaction::new().create(acme.clone())).await?;
//! assert_eq!(receipt.written.len(), 1);
//!
//! let read = store.fetch::<Project>(1).await?;
//! assert_eq!(read.value, acme);
//! assert_eq!(read.revision.0, 1);
//! assert!(store.verify().await?.is_empty());
//! # Ok(())
//! # }
//! ```
//!
//! # On-disk layout
//!
//! One redb file with four tables (see [`layout`]):
//!
//! - `records`: record key → the record envelope of
//!   [`eyrie_core::storage::kit::codec`] — a format-version byte (currently
//!   [`FORMAT_VERSION`](eyrie_core::storage::kit::codec::FORMAT_VERSION)), the
//!   revision, then the record as JSON. This crate stores exactly those
//!   bytes, so every backend holds the same records; a record whose envelope
//!   cannot be decoded reads as `ErrorKind::Corrupt` naming it, and the rest
//!   of the store stays readable.
//! - `index`: one empty-valued key per list entry (`list prefix · record key`),
//!   and the list counters of [`eyrie_core::storage::kit::counts`] (tag 0).
//! - `unique`: unique value → the record key that holds it.
//! - `eyrie_meta`: `"layout_version"` → [`LAYOUT_VERSION`], this crate's own
//!   layout version. A file of [`PREVIOUS_LAYOUT_VERSION`] (no counters) is
//!   upgraded when opened: its lists are counted once, and its records keep
//!   their envelopes until next written ([`eyrie_core::storage::kit::codec::upgrade`]).
//!   Opening a file with another version, or a redb file
//!   without Eyrie's metadata, fails with a non-retryable `Backend` error
//!   instead of guessing; so does a file that is not a redb database at all.
//!   A file redb finds damaged fails with `Corrupt`.
//!
//! Key encodings are eyrie-core's ([`eyrie_core::storage`]'s `keys`); indexes
//! and unique values change in the same write transaction as their records,
//! and [`Store::verify`](eyrie_core::storage::Store::verify) rebuilds them
//! from the records to prove it.
//!
//! # Durability
//!
//! [`Durability::Immediate`] (the default): a commit returns `Ok` only once
//! it is fsynced, so it survives a process kill or a power cut. Concurrent
//! commits are **group-committed** by the shared writer of eyrie-core: one
//! thread applies every queued transaction in one redb write transaction —
//! each on its own overlay, so a refused one is dropped alone and gets its
//! own error, and each sees the ones before it — and commits them with one
//! fsync.
//!
//! [`Durability::Eventual`]: commits return once visible to readers and
//! reach the disk together within `flush_interval`, on `flush`, on `close`
//! and when the store is dropped. A kill can lose the last interval's
//! commits, never part of one: what survives is a prefix of the commit
//! order, indexes included. Both modes, and the config names (`durability`,
//! `cache_size`, `max_record_bytes`), are the same on every embedded backend.
//!
//! # Reads and commits
//!
//! Reads run where they are called, each on its own redb read transaction
//! (microseconds, never waiting on the writer: no thread hop). Commits are
//! queued to the writer thread and awaited on a one-shot channel; the writer
//! drains up to 512 queued transactions per redb transaction. If redb itself
//! fails (an I/O error, a damaged page) the whole redb transaction is
//! aborted and every caller of that batch gets the error — none of them was
//! applied, so each may retry. A record whose encoding exceeds
//! `max_record_bytes` is refused with `Invalid` before it is queued.
//!
//! # Soak
//!
//! The concurrency soak (`eyrie-store-sled/examples/soak.rs --store redb`)
//! drives the `Eyrie` service on this store: 8 writer tasks (owner, admin,
//! developer) creating deployments in scopes with limits, updating and
//! moving them, and 8 readers calling `get_deployment`, `list_deployments`
//! and `effective`, each run in a child process with a 10 s stall watchdog.
//! On the shared store layer, one run of 20 s: 144,730 service calls, 7,188
//! calls/s (568 writes/s) with immediate durability on a shared 2-core
//! machine, no stall, no unexpected error, `verify` clean and every scope
//! within its limit (the earlier layer, 10 runs: 1,390–1,780 calls/s).
//! `eyrie-store-sled/SOAK.md` has both backends side by side, and the
//! reader-starvation stall the first run of the new layer found.
//!
//! # Why redb is the default
//!
//! redb is maintained, ACID, crash-safe (a commit is atomic: after a kill the
//! file opens at the last completed commit, checksums verified) and its
//! readers work on snapshots that **never block the writer**, nor the writer
//! them. sled 0.34, the previous default, is unmaintained and stalls when
//! reads and writes run concurrently (upstream issue 1412,
//! <https://github.com/spacejam/sled/issues/1412>); `eyrie-store-sled` remains
//! for existing installations.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod backend;
mod config;
mod error;
pub mod layout;
mod store;
mod tables;

pub use backend::RedbBackend;
pub use config::RedbConfig;
pub use eyrie_core::storage::Durability;
pub use layout::{LAYOUT_VERSION, PREVIOUS_LAYOUT_VERSION};
pub use store::RedbStore;
pub use tables::ReadTables;
