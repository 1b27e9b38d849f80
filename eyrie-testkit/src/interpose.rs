//! [`InterposingStore`]: a store that changes the world between a call's
//! authorization and its commit, to show that every mutation pins what its
//! decision rested on.
//!
//! Arm it with a [`Change`]; the next commit first applies that change
//! straight to the store underneath (as a concurrent writer would), then
//! passes the call's own transaction on. A mutation that pinned its
//! project and grants now conflicts, re-reads, and is refused; one that did
//! not pin them commits on a decision that no longer holds.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use eyrie_core::storage::{
    Capabilities, EntityKind, Index, Receipt, RecordKey, Snapshot, Store, StoreExt, Stored, Transaction, UniqueKey,
};
use eyrie_core::{Error, Membership, Project, ProjectId, Result, UserId};

/// A change made between authorization and commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The user's membership in the project is deleted.
    RemoveMember(ProjectId, UserId),
    /// The project's portal is blocked.
    BlockPortal(ProjectId),
    /// Any transaction, e.g. what a racing call would commit.
    Commit(Transaction),
}

/// Wraps a store; see the module docs.
#[derive(Debug, Clone)]
pub struct InterposingStore {
    inner: Arc<dyn Store>,
    armed: Arc<Mutex<Option<Change>>>,
    fired: Arc<Mutex<Option<Vec<Stored>>>>,
}

impl InterposingStore {
    /// Wraps `inner`, unarmed.
    pub fn new(inner: Arc<dyn Store>) -> Self {
        InterposingStore { inner, armed: Arc::default(), fired: Arc::default() }
    }

    /// The next commit first applies `change`.
    pub fn arm(&self, change: Change) {
        *self.armed.lock().unwrap_or_else(|e| e.into_inner()) = Some(change);
        *self.fired.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// The whole store as it was right after the change was applied, or
    /// `None` when no commit came to fire it.
    pub fn after_change(&self) -> Option<Vec<Stored>> {
        self.fired.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    async fn apply(&self, change: Change) -> Result<()> {
        let tx = match change {
            Change::RemoveMember(project, user) => {
                let m = self
                    .inner
                    .find_unique::<Membership>(&UniqueKey::Membership(project, user))
                    .await?
                    .ok_or_else(|| Error::not_found("membership", user))?;
                Transaction::new().delete(&m)
            }
            Change::BlockPortal(project) => {
                let p = self.inner.fetch::<Project>(project.0).await?;
                let mut blocked = p.value.clone();
                blocked.portal_blocked = true;
                Transaction::new().update(&p, blocked)
            }
            Change::Commit(tx) => tx,
        };
        self.inner.commit(tx).await.map(|_| ())
    }
}

#[async_trait]
impl Store for InterposingStore {
    async fn get(&self, key: RecordKey) -> Result<Option<Stored>> {
        self.inner.get(key).await
    }

    async fn get_unique(&self, unique: &UniqueKey) -> Result<Option<Stored>> {
        self.inner.get_unique(unique).await
    }

    async fn list(&self, index: Index) -> Result<Vec<Stored>> {
        self.inner.list(index).await
    }

    async fn list_between(&self, from: Index, to: Index) -> Result<Vec<Stored>> {
        self.inner.list_between(from, to).await
    }

    async fn count(&self, index: Index) -> Result<u64> {
        self.inner.count(index).await
    }

    async fn list_kind(&self, kind: EntityKind) -> Result<Vec<Stored>> {
        self.inner.list_kind(kind).await
    }

    async fn commit(&self, tx: Transaction) -> Result<Receipt> {
        let change = self.armed.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(change) = change {
            self.apply(change).await?;
            let after = self.inner.dump().await?;
            *self.fired.lock().unwrap_or_else(|e| e.into_inner()) = Some(after);
        }
        self.inner.commit(tx).await
    }

    async fn dump(&self) -> Result<Vec<Stored>> {
        self.inner.dump().await
    }

    async fn verify(&self) -> Result<Vec<String>> {
        self.inner.verify().await
    }

    async fn snapshot(&self) -> Result<Box<dyn Snapshot>> {
        self.inner.snapshot().await
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
}
