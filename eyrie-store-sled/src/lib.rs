//! # eyrie-store-sled
//!
//! Durable persistence for Eyrie on [sled] 0.34: [`SledStore`] is the shared
//! store layer of eyrie-core ([`KvStore`](eyrie_core::storage::KvStore))
//! over [`SledBackend`], a small adapter that gives it three sled trees, a
//! consistent read view and an atomic multi-tree write. Records, indexes,
//! counters, transactions, group commit and the `Store` itself are the
//! shared ones, so it behaves exactly like the in-memory reference store and
//! passes the same conformance suite; the config names (`durability`,
//! `cache_size`, `max_record_bytes`), durability modes and `open`/`close`
//! are those of `eyrie-store-redb`. Read the stall hazard below before
//! choosing it.
//!
//! ```
//! use eyrie_core::storage::{StoreExt, Store, Transaction};
//! use eyrie_core::{Project, UserId};
//! use eyrie_store_sled::{SledConfig, SledStore};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! # let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
//! # runtime.block_on(async {
//! let store = SledStore::open(SledConfig::new(dir.path())).await?;
//! let project = eyrie_testkit::builders::project(1, UserId(7));
//! store.commit(Transaction::new().create(project.clone())).await?;
//! assert_eq!(store.fetch::<Project>(1).await?.value, project);
//! assert!(store.verify().await?.is_empty());
//! store.close().await?; // flushes; dropping the store releases the directory lock
//! # Ok::<_, Box<dyn std::error::Error>>(())
//! # })
//! # }
//! ```
//!
//! ## On-disk layout
//!
//! One sled directory holding four trees:
//!
//! | tree | key | value |
//! | --- | --- | --- |
//! | `records` | record key: kind tag (1) · id (8, big-endian) | record envelope: format version (1) · revision (8, BE) · JSON |
//! | `index` | index tag (1) · parent id (8, BE) · record key (9) | empty |
//! | `unique` | space tag (1) · scope id (8, BE) · value | owning record key (9) |
//! | `meta` | `layout` | layout version, u32 BE ([`LAYOUT_VERSION`] = 2; 1 is upgraded on open) |
//!
//! The first three are named by [`eyrie_core::storage::kit::kv::Table::name`] and
//! use the keys and envelope of [`eyrie_core::storage`] unchanged. Opening a
//! store with another layout version fails with
//! a non-retryable `Backend` error naming both versions; a store holding
//! data but no version, with one saying the metadata is bad. A record whose bytes are damaged reads as
//! [`eyrie_core::Error::Corrupt`] naming it; the rest of the store stays
//! readable and writable.
//!
//! ## Write path
//!
//! The shared writer thread owns every write. It takes all queued commits
//! (up to 512), runs each through the shared engine on its own overlay
//! layered over the earlier ones of the batch (a refused one is dropped
//! alone, with its own error), and the backend writes the batch's changes
//! to the three trees in **one** sled transaction, flushes once if the
//! durability asks, and only then are the batch's callers answered.
//! Indexes, counters and unique values therefore change in the same sled
//! transaction as their records. Reads run where they are called under a
//! shared gate that the writer holds exclusively only while it writes the
//! sled transaction (not while flushing), so each read call, and each
//! snapshot, sees one consistent state; a commit waits while a snapshot is
//! open (`Capabilities::snapshots_block_writes`). A read may see a commit
//! whose flush is still running; if that flush fails, the store refuses all
//! further work (`writer_status().failed`) until it is reopened.
//!
//! ## Durability
//!
//! - [`Durability::Immediate`] (the default): a commit returns `Ok` only
//!   after its batch was flushed; it survives a process kill. The crash
//!   test kills a writing child process with SIGKILL 50 times and finds every
//!   reported commit at its exact revision, the one in flight whole or
//!   absent, and indexes consistent.
//! - [`Durability::Eventual`]: sled's background flusher flushes at that
//!   interval, so a flush never holds up the writer; a kill loses at most
//!   about one interval of commits, always whole transactions. `flush`
//!   forces a flush (on the writer thread), and `close` flushes before
//!   stopping the writer.
//!
//! ## The stall hazard
//!
//! sled 0.34 is unmaintained upstream and has open reports of hangs under
//! sustained writes (sled issues 1308 and 1412), and it hangs here too: in
//! 2 of 16 runs of a raw 3-tree transaction loop (below), and inside its own
//! code in 4 of 9 criterion runs of this store's create loop on the shared
//! layer (`Tree::insert` waiting in the segment accountant while every sled
//! I/O thread waits in `write_to_log`). A stalled sled call never returns,
//! and nothing in this crate can cancel it.
//!
//! Measured with `examples/soak.rs` (a 2-core shared machine, release build):
//!
//! - **sled alone** (`--mode raw --iters 300000 --secs 600 --runs 6`: one
//!   thread looping 3-tree transactions, two reader threads, sled's default
//!   500 ms background flusher): 16 runs of up to 300,000 transactions
//!   (about 55 s each, 4,400–6,300 transactions/s). **2 of 16 deadlocked**
//!   mid-loop, after 271,965 and 235,542 transactions: writer and readers
//!   all asleep, no CPU used, never resumed. Of the 12 runs whose close was
//!   measured, 2 more took over 10 s to drop the database (sled's
//!   flush-on-drop, its I/O threads busy). Stall rate: 12% of runs hung for
//!   good. Three 20 s runs (90,000–125,000 transactions each) did not stall.
//! - **Through this adapter** (`--mode store`: 8 writer tasks creating,
//!   updating and moving deployments with `CountBelow` checks, 8 readers):
//!   with flush-every-commit, 3 × 20 s (~500 commits/s, ~6,000 ops/s) and
//!   3 × 60 s (~520 commits/s, ~6,000 ops/s); with periodic flushing, 3 × 20 s
//!   (~810 commits/s, ~5,200 ops/s) and 2 × 300 s (220,890 and 267,010
//!   commits, 740–890 commits/s, ~5,200 ops/s). **No stall in any of these
//!   11 runs.**
//! - **Through the `Eyrie` service** (`--store sled`, the default `service`
//!   mode: 8 writers as owner, admin and developer creating deployments in
//!   scopes with limits, updating and moving them; 8 readers calling
//!   `get_deployment`, `list_deployments` and `effective`): 5 × 20 s,
//!   27,000–33,000 service calls per run, 1,340–1,650 calls/s (320–420
//!   writes/s), flush-every-commit. **No stall.** The same load on
//!   `eyrie-store-redb`: 10 × 20 s, 1,390–1,780 calls/s, no stall. Both
//!   side by side: `SOAK.md` in this crate. On the shared store layer
//!   (inline reads, shared writer), one 20 s run: 150,768 calls, 7,519
//!   calls/s (594 writes/s), no stall.
//!
//! Caveat: all these adapter runs put far fewer transactions through sled
//! (group commit makes one sled transaction per batch) than the raw runs
//! that hung, so they do not show that the adapter avoids the hazard: treat
//! it as present.
//!
//! What the adapter does about it: sled only ever sees one writing thread
//! and one transaction at a time (no transaction conflicts or retries inside
//! sled), and far fewer transactions (one per group commit); with immediate
//! durability sled's background flusher is off, so every sled write and
//! flush happens on that one thread; flushes never run inside a transaction or on an async worker,
//! and `flush_async` is never used. Reads wait for the gate asynchronously
//! and then read sled inline (cached reads take microseconds). What it
//! cannot do is unstick sled: if the writer stalls, commits wait forever and
//! reads wait behind the stalled transaction. `SledStore::writer_status`
//! reports how long the current group commit has been running, without waiting on it, so a health check can notice a
//! stall and restart the process. Where a stall is unacceptable, choose
//! another backend (the workspace also has a redb one).
//!
//! [sled]: https://docs.rs/sled/0.34.7
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod backend;
mod config;
mod error;
mod layout;
mod store;
mod tables;

pub use backend::SledBackend;
pub use config::SledConfig;
pub use eyrie_core::storage::{Durability, WriterStatus};
pub use layout::{LAYOUT_VERSION, PREVIOUS_LAYOUT_VERSION};
pub use store::SledStore;
pub use tables::SledSnapshot;
