//! Opening and closing the store a run drives, on either backend: both are
//! the shared store layer, opened, configured and closed alike.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use eyrie_core::storage::{Backend as KvBackend, Durability, KvStore, Store};
use eyrie_store_redb::{RedbBackend, RedbConfig};
use eyrie_store_sled::{SledBackend, SledConfig};

use super::args::{Args, Backend};

/// How often `--durability periodic` flushes, on both backends.
const FLUSH_INTERVAL: Duration = Duration::from_millis(500);

/// The store of one run.
pub enum Opened {
    Sled(Arc<KvStore<SledBackend>>),
    Redb(Arc<KvStore<RedbBackend>>),
    Postgres(Arc<eyrie_store_postgres::PostgresStore>),
}

async fn close<B: KvBackend>(store: Arc<KvStore<B>>) {
    let store = Arc::into_inner(store).expect("every clone of the store was dropped before closing");
    store.close().await.unwrap();
}

impl Opened {
    /// Opens the chosen backend in `dir`: immediate durability by default,
    /// a 500 ms flush interval with `--durability periodic`.
    pub async fn open(args: &Args, dir: &Path) -> Opened {
        let durability =
            if args.periodic { Durability::Eventual { flush_interval: FLUSH_INTERVAL } } else { Durability::Immediate };
        match args.backend {
            Backend::Sled => {
                let config = SledConfig::new(dir).durability(durability);
                Opened::Sled(Arc::new(KvStore::open(config).await.unwrap()))
            }
            Backend::Redb => {
                let config = RedbConfig::new(dir.join("eyrie.redb")).durability(durability);
                Opened::Redb(Arc::new(KvStore::open(config).await.unwrap()))
            }
            Backend::Postgres => {
                // A fresh schema per run, named after the run's temporary directory.
                let url = args.postgres_url.as_deref().expect("--store postgres takes the database URL");
                let name = dir.file_name().map(|n| n.to_string_lossy().to_lowercase()).unwrap_or_default();
                let schema: String =
                    format!("soak_{name}").chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
                let config = eyrie_store_postgres::PostgresConfig::new(url).unwrap().schema(&schema).unwrap();
                Opened::Postgres(Arc::new(eyrie_store_postgres::PostgresStore::open(config).await.unwrap()))
            }
        }
    }

    pub fn store(&self) -> Arc<dyn Store> {
        match self {
            Opened::Sled(s) => s.clone(),
            Opened::Redb(s) => s.clone(),
            Opened::Postgres(s) => s.clone(),
        }
    }

    /// Flushes and closes the store. Every `Arc<dyn Store>` handed out by
    /// [`Opened::store`] must be dropped first.
    pub async fn close(self) {
        match self {
            Opened::Sled(s) => close(s).await,
            Opened::Redb(s) => close(s).await,
            // The pool closes its connections when the store is dropped.
            Opened::Postgres(s) => drop(s),
        }
    }
}
