//! The SQL frame of one commit attempt: a session-level advisory lock on
//! the schema's commit key, then a `SERIALIZABLE` transaction, then
//! `COMMIT` (or `ROLLBACK`) and the unlock.
//!
//! # The commit lock
//!
//! Every commit holds the schema's commit lock while its transaction runs.
//! By default ([`crate::PostgresConfig::serial_commits`]) it is taken
//! **exclusively**: commits from every process run one at a time, each
//! seeing all the commits before it, and never lose a serialization race.
//! With `serial_commits(false)` a first attempt takes it **shared**, so
//! commits run side by side and `SERIALIZABLE` keeps them serializable, and
//! only a re-run after a lost race takes it exclusively: it waits for the
//! commits in flight, then runs alone and cannot lose again. The lock is
//! taken before `BEGIN`, so the transaction's snapshot is taken once it is
//! held.
//!
//! The lock is session-level: the server drops it with the connection. A
//! session that cannot end cleanly (a failed unlock, a panic half-way)
//! closes its connection instead of returning it to the pool. A commit
//! waits at most `lock_timeout` (30 s) for the lock, then fails with a
//! retryable `Backend` error; a process frozen while holding it (stopped,
//! not killed) has its session ended by the server after
//! `idle_in_transaction_session_timeout` (5 min), which releases the lock.

use deadpool_postgres::{Client, Object};
use eyrie_core::Result;
use tokio::runtime::Handle;
use tokio_postgres::SimpleQueryMessage;

use crate::error::{from_pg, from_pool};

/// Two-key advisory locks: this first key is Eyrie's, the second names
/// the schema ([`commit_lock_key`]).
const LOCK_SPACE: i32 = 0x4579_7269; // "Eyri"

/// The second advisory-lock key of `schema`'s commit lock (FNV-1a). Two
/// schemas sharing a key only serialize each other's re-runs a little more.
pub(crate) fn commit_lock_key(schema: &str) -> i32 {
    let hash = schema.bytes().fold(0x811c_9dc5u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
    i32::from_ne_bytes(hash.to_ne_bytes())
}

/// How an attempt holds the commit lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LockMode {
    /// Alongside other shared holders.
    Shared,
    /// Alone.
    Exclusive,
}

impl LockMode {
    fn functions(self) -> (&'static str, &'static str) {
        match self {
            LockMode::Shared => ("pg_advisory_lock_shared", "pg_advisory_unlock_shared"),
            LockMode::Exclusive => ("pg_advisory_lock", "pg_advisory_unlock"),
        }
    }
}

/// An open commit: the lock held, a `SERIALIZABLE` transaction begun.
/// Dropped without [`Session::commit`] or [`Session::rollback`] (a panic),
/// it closes its connection, which ends the transaction and the lock.
pub(crate) struct Session {
    client: Option<Client>,
    runtime: Handle,
    key: i32,
    mode: LockMode,
}

impl Session {
    /// Takes a pooled connection, the lock and begins the transaction, in
    /// one round trip once connected.
    pub(crate) fn begin(pool: &deadpool_postgres::Pool, runtime: &Handle, key: i32, mode: LockMode) -> Result<Self> {
        let client = runtime.block_on(pool.get()).map_err(from_pool)?;
        let (lock, _) = mode.functions();
        let session = Session { client: Some(client), runtime: runtime.clone(), key, mode };
        let begun = {
            let client = session.client()?;
            // Two simple queries, each sent when first polled: pipelined, and
            // the lock is held before `BEGIN` runs.
            let lock_sql = format!("SELECT {lock}({LOCK_SPACE}, {key})");
            runtime.block_on(async {
                let locked = client.batch_execute(&lock_sql);
                let began = client.batch_execute("BEGIN ISOLATION LEVEL SERIALIZABLE");
                let (locked, began) = futures::join!(locked, began);
                locked.and(began)
            })
        };
        match begun {
            Ok(()) => Ok(session),
            // The connection is closed on drop: no lock or transaction outlives it.
            Err(e) => Err(from_pg("starting a commit", &e)),
        }
    }

    /// The connection, for the commit's statements.
    pub(crate) fn client(&self) -> Result<&Client> {
        self.client.as_ref().ok_or_else(|| eyrie_core::Error::backend("the commit session has ended", false))
    }

    /// Ends the transaction with `end` (`COMMIT` or `ROLLBACK`), then
    /// releases the lock; returns the result of `end`.
    fn end(mut self, end: &str) -> std::result::Result<(), tokio_postgres::Error> {
        let Some(client) = self.client.take() else { return Ok(()) };
        let (_, unlock) = self.mode.functions();
        let unlock_sql = format!("SELECT {unlock}({LOCK_SPACE}, {})", self.key);
        let (ended, unlocked) = self.runtime.block_on(async {
            let ended = client.batch_execute(end);
            let unlocked = client.simple_query(&unlock_sql);
            futures::join!(ended, unlocked)
        });
        let released = unlocked.ok().is_some_and(|messages| {
            messages.iter().any(|m| matches!(m, SimpleQueryMessage::Row(row) if row.get(0) == Some("t")))
        });
        if !released {
            // Never hand a connection that may still hold the lock back to the pool.
            drop(Object::take(client));
        }
        ended
    }

    /// Commits. A lost serialization race comes back as the driver error.
    pub(crate) fn commit(self) -> std::result::Result<(), tokio_postgres::Error> {
        self.end("COMMIT")
    }

    /// Rolls back, ignoring failures (the connection is then closed).
    pub(crate) fn rollback(self) {
        let _ = self.end("ROLLBACK");
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            drop(Object::take(client));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_keys_are_stable_and_differ_between_schemas() {
        assert_eq!(commit_lock_key("eyrie"), commit_lock_key("eyrie"));
        assert_ne!(commit_lock_key("eyrie"), commit_lock_key("eyrie2"));
        assert_eq!(LockMode::Shared.functions().0, "pg_advisory_lock_shared");
        assert_eq!(LockMode::Exclusive.functions().1, "pg_advisory_unlock");
    }
}
