//! [`PostgresStore`]: the [`Store`] contract on a PostgreSQL database.
//!
//! Every call takes a pooled connection and runs the shared engine
//! ([`eyrie_core::storage::kit::kv`]) on a blocking thread over
//! [`crate::glue::SqlReader`]; reads that need more than one statement run
//! in one `REPEATABLE READ READ ONLY` transaction (one snapshot), commits in
//! one `SERIALIZABLE` transaction.

use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Client, Pool, Transaction as SqlTransaction};
use eyrie_core::storage::kit::kv::{self, Overlay};
use eyrie_core::storage::{
    Capabilities, EntityKind, Index, Receipt, RecordKey, Snapshot, Store, Stored, Transaction, UniqueKey,
};
use eyrie_core::{ErrorKind, Result};
use tokio::runtime::Handle;
use tokio_postgres::IsolationLevel;

use crate::config::PostgresConfig;
use crate::error::{from_pg, from_pool, is_retryable_race, task_failed};
use crate::glue::SqlReader;
use crate::session::{LockMode, Session, commit_lock_key};
use crate::snapshot::PgSnapshot;
use crate::{pool, schema, sql};

/// A [`Store`] in a PostgreSQL schema, shareable by several processes.
/// Cloning shares the same pool.
#[derive(Clone)]
pub struct PostgresStore {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    schema: String,
    retries: u32,
    /// The schema's commit lock ([`crate::session`]).
    lock_key: i32,
    /// How first attempts take it.
    first_attempt: LockMode,
    /// The longest record envelope a commit may write.
    max_record_bytes: usize,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let status = self.inner.pool.status();
        f.debug_struct("PostgresStore")
            .field("schema", &self.inner.schema)
            .field("connections", &status.size)
            .field("max_connections", &status.max_size)
            .finish_non_exhaustive()
    }
}

/// What one attempt at a commit came to.
enum Attempt {
    /// Final: applied, or refused for a reason a re-run would not change.
    Done(Result<Receipt>),
    /// Lost a serialization race: nothing was applied; the commit may be re-run.
    Raced(eyrie_core::Error),
}

impl PostgresStore {
    /// Connects, creates the schema and its tables when missing and
    /// migrates them to [`crate::SCHEMA_VERSION`].
    ///
    /// Fails with a retryable `Backend` error when the server cannot be
    /// reached, and with a non-retryable one when the schema is newer than
    /// this build ([`crate::SchemaTooNew`]).
    pub async fn open(config: PostgresConfig) -> Result<PostgresStore> {
        let pool = pool::build(&config)?;
        let mut client = pool.get().await.map_err(from_pool)?;
        schema::prepare(&mut client, &config.schema).await?;
        drop(client);
        tracing::debug!(schema = %config.schema, pool_size = config.pool_size, "opened PostgreSQL store");
        Ok(PostgresStore {
            inner: Arc::new(Inner {
                pool,
                lock_key: commit_lock_key(&config.schema),
                schema: config.schema,
                retries: config.serialization_retries,
                first_attempt: if config.serial_commits { LockMode::Exclusive } else { LockMode::Shared },
                max_record_bytes: config.max_record_bytes,
            }),
        })
    }

    /// The schema holding the tables.
    pub fn schema(&self) -> &str {
        &self.inner.schema
    }

    /// The schema version stored in the database.
    pub async fn schema_version(&self) -> Result<i32> {
        let client = self.inner.pool.get().await.map_err(from_pool)?;
        schema::stored_version(&client).await
    }

    /// Runs one-statement `read` on a pooled connection, on a blocking thread.
    async fn read_one<T: Send + 'static>(
        &self,
        read: impl for<'a> FnOnce(&mut SqlReader<'a, Client>) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let pool = self.inner.pool.clone();
        let runtime = Handle::current();
        tokio::task::spawn_blocking(move || {
            let client = runtime.block_on(pool.get()).map_err(from_pool)?;
            read(&mut SqlReader::new(&client, runtime.clone()))
        })
        .await
        .map_err(|e| task_failed("a PostgreSQL read", e))?
    }

    /// Runs `read` in one read-only snapshot, on a blocking thread.
    async fn read_snapshot<T: Send + 'static>(
        &self,
        read: impl for<'a, 't> FnOnce(&mut SqlReader<'a, SqlTransaction<'t>>) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let pool = self.inner.pool.clone();
        let runtime = Handle::current();
        tokio::task::spawn_blocking(move || {
            let mut client = runtime.block_on(pool.get()).map_err(from_pool)?;
            let start = client.build_transaction().isolation_level(IsolationLevel::RepeatableRead).read_only(true);
            let txn = runtime.block_on(start.start()).map_err(|e| from_pg("starting a read", &e))?;
            let value = read(&mut SqlReader::new(&txn, runtime.clone()))?;
            runtime.block_on(txn.commit()).map_err(|e| from_pg("ending a read", &e))?;
            Ok(value)
        })
        .await
        .map_err(|e| task_failed("a PostgreSQL read", e))?
    }

    /// One attempt at `tx`: the commit lock held in `mode`, then a
    /// SERIALIZABLE transaction in which the engine's checks and reads go to
    /// the database while its writes wait in an overlay, sent at the end in
    /// one pipelined batch ([`crate::session`]).
    fn commit_once(pool: &Pool, runtime: &Handle, key: i32, mode: LockMode, tx: &Transaction) -> Attempt {
        let session = match Session::begin(pool, runtime, key, mode) {
            Ok(session) => session,
            Err(e) => return Attempt::Done(Err(e)),
        };
        let outcome = (|| {
            let client = session.client().map_err(|e| (e, false))?;
            let mut reader = SqlReader::new(client, runtime.clone());
            let mut overlay = Overlay::new(&mut reader);
            let applied = kv::apply(&mut overlay, tx);
            let changes = overlay.into_changes();
            let receipt = applied.map_err(|e| (e, reader.raced()))?;
            runtime.block_on(sql::write(client, changes)).map_err(|e| {
                let raced = e.kind() == ErrorKind::Conflict;
                (e, raced)
            })?;
            Ok(receipt)
        })();
        let receipt = match outcome {
            Ok(receipt) => receipt,
            Err((e, raced)) => {
                session.rollback();
                return if raced { Attempt::Raced(e) } else { Attempt::Done(Err(e)) };
            }
        };
        match session.commit() {
            Ok(()) => Attempt::Done(Ok(receipt)),
            Err(e) if is_retryable_race(&e) => Attempt::Raced(from_pg("committing", &e)),
            Err(e) => Attempt::Done(Err(from_pg("committing", &e))),
        }
    }
}

/// A random pause before re-running a commit that lost a race: up to
/// 2^attempt ms (at most 64 ms), so racing commits spread out.
fn backoff(attempt: u32) -> Duration {
    let ceiling_micros = 1000u64 << attempt.min(6);
    Duration::from_micros(RandomState::new().hash_one(attempt) % ceiling_micros)
}

/// # Contract
///
/// As [`Store`]'s, with these specifics:
///
/// - **Commits** run in one `SERIALIZABLE` transaction under the schema's
///   commit lock (exclusive by default, so one at a time across every
///   process; see [`PostgresConfig::serial_commits`]): the checks and the writes see one
///   state, and commits from every process sharing the schema are
///   serializable. With `serial_commits(false)`, one that loses a
///   serialization race (SQLSTATE `40001`/`40P01`) is re-run from the start,
///   alone, up to [`PostgresConfig::serialization_retries`] times, then
///   returned as a retryable `Conflict`.
/// - **Reads** of one statement (`get`, `count`) run alone; the others run
///   in one `REPEATABLE READ READ ONLY` transaction (one snapshot), and so
///   does a [`Store::snapshot`], held open until it is dropped. Commits go
///   on meanwhile.
/// - **Records** longer than [`PostgresConfig::max_record_bytes`] are
///   refused with `Invalid` before anything is sent.
/// - **Lost connections** give retryable `Backend` errors; the pool replaces
///   the connection and a later call succeeds without reopening the store.
///   A commit whose connection broke while committing may or may not have
///   been applied: re-running it is safe, since its revision checks then
///   refuse it.
/// - **Durability** is the server's: with PostgreSQL's defaults
///   (`fsync`, `synchronous_commit = on`) an `Ok` commit is on disk.
#[async_trait]
impl Store for PostgresStore {
    async fn get(&self, key: RecordKey) -> Result<Option<Stored>> {
        self.read_one(move |r| kv::get(r, key)).await
    }

    async fn get_unique(&self, unique: &UniqueKey) -> Result<Option<Stored>> {
        let unique = unique.clone();
        self.read_snapshot(move |r| kv::get_unique(r, &unique)).await
    }

    async fn list(&self, index: Index) -> Result<Vec<Stored>> {
        self.read_snapshot(move |r| kv::list(r, index)).await
    }

    async fn list_between(&self, from: Index, to: Index) -> Result<Vec<Stored>> {
        self.read_snapshot(move |r| kv::list_between(r, from, to)).await
    }

    async fn count(&self, index: Index) -> Result<u64> {
        self.read_one(move |r| kv::count(r, index)).await
    }

    async fn list_kind(&self, kind: EntityKind) -> Result<Vec<Stored>> {
        self.read_one(move |r| kv::list_kind(r, kind)).await
    }

    async fn commit(&self, tx: Transaction) -> Result<Receipt> {
        kv::check_record_sizes(&tx, self.inner.max_record_bytes)?;
        let tx = Arc::new(tx);
        let mut attempt = 0;
        loop {
            // A first attempt runs beside other commits; a re-run after a
            // lost race runs alone (see `session`).
            let mode = if attempt == 0 { self.inner.first_attempt } else { LockMode::Exclusive };
            let (pool, runtime, tx, key) =
                (self.inner.pool.clone(), Handle::current(), tx.clone(), self.inner.lock_key);
            let outcome =
                tokio::task::spawn_blocking(move || PostgresStore::commit_once(&pool, &runtime, key, mode, &tx))
                    .await
                    .map_err(|e| task_failed("a PostgreSQL commit", e))?;
            match outcome {
                Attempt::Done(result) => return result,
                Attempt::Raced(e) if attempt >= self.inner.retries => return Err(e),
                Attempt::Raced(e) => {
                    tracing::debug!(attempt, error = %e, "commit lost a serialization race; re-running it");
                    tokio::time::sleep(backoff(attempt)).await;
                    attempt += 1;
                }
            }
        }
    }

    async fn dump(&self) -> Result<Vec<Stored>> {
        self.read_one(|r| kv::dump(r)).await
    }

    async fn verify(&self) -> Result<Vec<String>> {
        self.read_snapshot(|r| kv::verify(r)).await
    }

    async fn snapshot(&self) -> Result<Box<dyn Snapshot>> {
        Ok(Box::new(PgSnapshot::open(&self.inner.pool).await?))
    }

    /// Durable, persistent, shared by several processes; snapshots never
    /// hold commits back.
    fn capabilities(&self) -> Capabilities {
        let mut capabilities = Capabilities::EMBEDDED;
        capabilities.multi_process = true;
        capabilities
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_bounded_and_grows() {
        for attempt in 0..20 {
            assert!(backoff(attempt) < Duration::from_millis(64), "attempt {attempt}");
        }
        let spread: std::collections::BTreeSet<_> = (0..32).map(|_| backoff(6)).collect();
        assert!(spread.len() > 1, "the pause is random");
    }
}
