//! Opening and closing the store a run drives, on either backend.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use eyrie_core::storage::Store;
use eyrie_store_redb::{RedbConfig, RedbStore};
use eyrie_store_sled::{Durability, SledConfig, SledStore};

use super::args::{Args, Backend};

/// How often `--durability periodic` flushes, on both backends.
const FLUSH_INTERVAL: Duration = Duration::from_millis(500);

/// The store of one run.
pub enum Opened {
    Sled(Arc<SledStore>),
    Redb(RedbStore),
}

impl Opened {
    /// Opens the chosen backend in `dir`: flush on every commit (sled) or
    /// immediate durability (redb) by default, a 500 ms flush interval with
    /// `--durability periodic`.
    pub async fn open(args: &Args, dir: &Path) -> Opened {
        match args.backend {
            Backend::Sled => {
                let durability =
                    if args.periodic { Durability::Periodic(FLUSH_INTERVAL) } else { Durability::FlushEveryCommit };
                let config = SledConfig::new(dir).with_durability(durability);
                Opened::Sled(Arc::new(SledStore::open(config).await.unwrap()))
            }
            Backend::Redb => {
                let durability = if args.periodic {
                    eyrie_store_redb::Durability::Eventual { flush_interval: FLUSH_INTERVAL }
                } else {
                    eyrie_store_redb::Durability::Immediate
                };
                let config = RedbConfig::new(dir.join("eyrie.redb")).durability(durability);
                Opened::Redb(RedbStore::open(config).await.unwrap())
            }
        }
    }

    pub fn store(&self) -> Arc<dyn Store> {
        match self {
            Opened::Sled(s) => s.clone(),
            Opened::Redb(s) => Arc::new(s.clone()),
        }
    }

    /// Flushes and closes the store. Every `Arc<dyn Store>` handed out by
    /// [`Opened::store`] must be dropped first.
    pub async fn close(self) {
        match self {
            Opened::Sled(s) => {
                let s = Arc::into_inner(s).expect("every clone of the store was dropped before closing");
                s.close().await.unwrap();
            }
            Opened::Redb(s) => {
                s.flush().await.unwrap();
                // The last drop joins the writer thread: keep it off the async workers.
                tokio::task::spawn_blocking(move || drop(s)).await.unwrap();
            }
        }
    }
}
