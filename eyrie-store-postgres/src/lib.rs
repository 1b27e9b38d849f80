//! Persistence for Eyrie on PostgreSQL: a [`Store`](eyrie_core::storage::Store)
//! that several processes share, each with its own `Eyrie`, job engine and
//! scheduler (SPEC §10).
//!
//! [`PostgresStore`] keeps Eyrie's records, the lists (indexes) and unique
//! values derived from them in three tables of one PostgreSQL schema, and
//! fulfils the `Store` contract with the shared engine of
//! [`eyrie_core::storage::kit::kv`]: this crate only moves bytes and maps errors.
//! Every commit is one `SERIALIZABLE` transaction in which the engine's
//! checks read the database and its writes are sent together at the end.
//!
//! # Example
//!
//! ```no_run
//! use eyrie_core::storage::{Store, StoreExt, Transaction};
//! use eyrie_core::{NamespaceUid, Project, ProjectId, Slug, Timestamp, UserId};
//! use eyrie_store_postgres::{PostgresConfig, PostgresStore};
//!
//! # #[tokio::main]
//! # async fn main() -> eyrie_core::Result<()> {
//! let config = PostgresConfig::new("postgres://eyrie@127.0.0.1:5432/eyrie")?.schema("eyrie")?;
//! let store = PostgresStore::open(config).await?;
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
//! store.commit(Transaction::new().create(acme.clone())).await?;
//! assert_eq!(store.fetch::<Project>(1).await?.value, acme);
//! assert!(store.verify().await?.is_empty());
//! # Ok(())
//! # }
//! ```
//!
//! # Tables
//!
//! One schema ([`PostgresConfig::schema`], default `eyrie`) holds `records`,
//! `index_entries`, `unique_values` and `schema_version`; see [`schema`] for
//! the columns. Records keep the exact envelope of
//! [`eyrie_core::storage::kit::codec`] in `envelope`, with the kind, id, revision
//! and the record as `jsonb` beside it for operators:
//!
//! ```sql
//! SELECT id, revision, body ->> 'slug' AS slug
//! FROM eyrie.records WHERE kind = 'deployment';
//! ```
//!
//! [`PostgresStore::open`] creates the schema when missing and migrates it to
//! [`SCHEMA_VERSION`] under an advisory lock (processes starting together
//! migrate once); a schema newer than this build is refused with
//! [`SchemaTooNew`] (a non-retryable `Backend` error).
//!
//! # Transactions and errors
//!
//! A commit takes a pooled connection and the schema's commit lock (a
//! session-level advisory lock, exclusive by default: commits from every
//! process run one at a time; see the `session` module and
//! [`PostgresConfig::serial_commits`]), opens a `SERIALIZABLE` transaction,
//! runs [`kv::apply`](eyrie_core::storage::kit::kv::apply) over a
//! [`kv::Overlay`](eyrie_core::storage::kit::kv::Overlay) whose reads go to that
//! transaction, sends the final changes in at most six pipelined statements,
//! commits and unlocks. A serialization failure (`40001`, `40P01`; only
//! possible with `serial_commits(false)`) means nothing was applied: the
//! commit is re-run from the start, alone, after a short random pause, and
//! after [`PostgresConfig::serialization_retries`] re-runs it is a retryable
//! `Conflict`. So racing commits get the same answers as on the embedded
//! stores (`AlreadyExists`, `PolicyViolation`, …). A lost
//! connection is a retryable `Backend` error; the pool replaces broken
//! connections, so calls succeed again once the server is back, without
//! reopening the store. The table in the `error` module lists every mapping.
//!
//! The engine's `KvRead` is synchronous and the driver asynchronous: the
//! engine runs on a blocking thread (`spawn_blocking`) and each read blocks
//! on the driver with `Handle::block_on`. That costs a thread hop per call;
//! it goes when the engine's reads become asynchronous.
//!
//! # Why tokio-postgres and deadpool-postgres
//!
//! tokio-postgres is the maintained asynchronous PostgreSQL client most of
//! the ecosystem builds on (sqlx's own PostgreSQL driver aside); it
//! pipelines statements sent together, which a commit's batch uses, and
//! exposes SQLSTATEs for the error mapping. deadpool-postgres adds a small
//! pool with bounded waits, replacement of closed connections and a
//! per-connection statement cache. sqlx would bring its macros, its own
//! runtime glue and an `Any` layer we do not need: our SQL is a dozen fixed
//! statements over `bytea`.
//!
//! # Several processes
//!
//! Processes that open the same schema share one store: commits from all of
//! them are serializable, so the job engine's leases and the scheduler's
//! conditional writes hold across processes. `tests/processes.rs` runs two
//! and three real processes over one schema.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod config;
mod error;
mod glue;
mod pool;
pub mod schema;
mod session;
mod snapshot;
mod sql;
mod store;

pub use config::{DEFAULT_SCHEMA, PostgresConfig};
pub use error::SchemaTooNew;
pub use schema::SCHEMA_VERSION;
pub use store::PostgresStore;
