//! [`PgSnapshot`]: the [`Snapshot`] of a `PostgresStore` — one pooled
//! connection holding a `REPEATABLE READ READ ONLY` transaction, whose
//! snapshot is taken when it opens. Commits go on meanwhile (PostgreSQL's
//! MVCC); the snapshot does not see them.
//!
//! Each read runs the shared engine on a blocking thread over
//! [`SqlReader`], like the store's own reads. Dropping the snapshot rolls
//! its transaction back on the runtime before the connection goes back to
//! the pool; a connection whose transaction cannot be ended is closed.

use async_trait::async_trait;
use deadpool_postgres::{Client, Object, Pool};
use eyrie_core::storage::kit::kv;
use eyrie_core::storage::{Index, RecordKey, Snapshot, Stored, UniqueKey};
use eyrie_core::{Error, Result};
use tokio::runtime::Handle;

use crate::error::{from_pg, from_pool, task_failed};
use crate::glue::SqlReader;

/// A connection inside an open transaction: closed, not pooled, if dropped
/// before [`InTransaction::end`].
struct InTransaction(Option<Client>);

impl InTransaction {
    fn client(&self) -> Result<&Client> {
        self.0.as_ref().ok_or_else(|| Error::backend("the snapshot has ended", false))
    }

    /// Rolls the transaction back and returns the connection to the pool.
    async fn end(mut self) {
        if let Some(client) = self.0.take()
            && client.batch_execute("ROLLBACK").await.is_err()
        {
            drop(Object::take(client));
        }
    }
}

impl Drop for InTransaction {
    fn drop(&mut self) {
        if let Some(client) = self.0.take() {
            drop(Object::take(client));
        }
    }
}

/// One consistent read view of a `PostgresStore`.
pub(crate) struct PgSnapshot {
    conn: tokio::sync::Mutex<Option<InTransaction>>,
}

impl std::fmt::Debug for PgSnapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgSnapshot").finish_non_exhaustive()
    }
}

impl PgSnapshot {
    /// Opens a read-only transaction and takes its snapshot now.
    pub(crate) async fn open(pool: &Pool) -> Result<PgSnapshot> {
        let conn = InTransaction(Some(pool.get().await.map_err(from_pool)?));
        // The first statement after BEGIN fixes a REPEATABLE READ snapshot.
        conn.client()?
            .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SELECT 1")
            .await
            .map_err(|e| from_pg("opening a snapshot", &e))?;
        Ok(PgSnapshot { conn: tokio::sync::Mutex::new(Some(conn)) })
    }

    /// Runs `read` in the snapshot, on a blocking thread.
    async fn read<T: Send + 'static>(
        &self,
        read: impl for<'a> FnOnce(&mut SqlReader<'a, Client>) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let mut slot = self.conn.lock().await;
        let conn = slot.take().ok_or_else(|| Error::backend("the snapshot's connection was lost", false))?;
        let runtime = Handle::current();
        let (conn, result) = tokio::task::spawn_blocking(move || {
            let result = conn.client().and_then(|client| read(&mut SqlReader::new(client, runtime)));
            (conn, result)
        })
        .await
        .map_err(|e| task_failed("a PostgreSQL snapshot read", e))?;
        *slot = Some(conn);
        result
    }
}

impl Drop for PgSnapshot {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.get_mut().take()
            && let Ok(runtime) = Handle::try_current()
        {
            runtime.spawn(conn.end());
        }
        // Without a runtime the connection is closed by `InTransaction`'s drop.
    }
}

#[async_trait]
impl Snapshot for PgSnapshot {
    async fn get(&self, key: RecordKey) -> Result<Option<Stored>> {
        self.read(move |r| kv::get(r, key)).await
    }

    async fn get_unique(&self, unique: &UniqueKey) -> Result<Option<Stored>> {
        let unique = unique.clone();
        self.read(move |r| kv::get_unique(r, &unique)).await
    }

    async fn list(&self, index: Index) -> Result<Vec<Stored>> {
        self.read(move |r| kv::list(r, index)).await
    }

    async fn count(&self, index: Index) -> Result<u64> {
        self.read(move |r| kv::count(r, index)).await
    }
}
