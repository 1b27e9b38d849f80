//! `Eyrie::builder()` and `Engine::builder(&eyrie)`: the one-call setup.
//!
//! `Eyrie` and `Engine` live in `eyrie-core`, so their `builder` functions
//! come from the extension traits [`EyrieExt`] and [`EngineExt`], both in the
//! [prelude](crate::prelude); [`builder()`](fn@crate::builder) is the same without
//! the trait.
//!
//! | piece | default | change it with |
//! | --- | --- | --- |
//! | data directory | `eyrie-data` | [`EyrieBuilder::data_dir`] |
//! | store | redb at `<data dir>/eyrie.redb` (feature `redb`) | `redb(…)`, `sled(…)` (feature `sled`), [`EyrieBuilder::store`] |
//! | clock | [`SystemClock`] | [`EyrieBuilder::clock`] |
//! | ids | [`TimeOrderedIds`] | [`EyrieBuilder::ids`] |
//! | sealing keys | `$EYRIE_SEALING_KEYS` when set, else `<data dir>/sealing.keys`, generated on first use | [`EyrieBuilder::key_file`], [`EyrieBuilder::key_env`], [`EyrieBuilder::sealer`] |
//! | engine | [`EngineConfig::default()`] | [`EngineBuilder::config`] |
//! | executor | none: say where deployments go | [`EngineBuilder::manifest_dir`], [`EngineBuilder::executor`], [`EngineBuilder::handlers`] |

#[cfg(any(feature = "redb", feature = "sled"))]
use std::path::Path;
use std::path::PathBuf;
use std::sync::Arc;

use eyrie_core::executor::ClusterExecutor;
use eyrie_core::jobs::HandlerRegistry;
use eyrie_core::service::Sealer;
use eyrie_core::storage::Store;
use eyrie_core::{Clock, Engine, EngineConfig, Error, Eyrie, IdSource, Result, ValidationError};
use eyrie_kube::ManifestDir;

use crate::keys::{self, KEYS_ENV};
use crate::system::{SystemClock, TimeOrderedIds};

/// The data directory when none is given.
pub const DEFAULT_DATA_DIR: &str = "eyrie-data";

enum StoreChoice {
    Default,
    #[cfg(feature = "redb")]
    Redb(PathBuf),
    #[cfg(feature = "sled")]
    Sled(PathBuf),
    #[cfg(feature = "postgres")]
    Postgres(String),
    Given(Arc<dyn Store>),
}

enum KeyChoice {
    Default,
    File(PathBuf),
    Env(String),
    Given(Arc<dyn Sealer>),
}

/// Builds an [`Eyrie`] service with defaults; see the module docs.
pub struct EyrieBuilder {
    data_dir: PathBuf,
    store: StoreChoice,
    clock: Option<Arc<dyn Clock>>,
    ids: Option<Arc<dyn IdSource>>,
    keys: KeyChoice,
    objects: Option<Arc<dyn eyrie_core::backups::BackupObjects>>,
}

impl std::fmt::Debug for EyrieBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EyrieBuilder").field("data_dir", &self.data_dir).finish_non_exhaustive()
    }
}

impl Default for EyrieBuilder {
    fn default() -> Self {
        EyrieBuilder {
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
            store: StoreChoice::Default,
            clock: None,
            ids: None,
            keys: KeyChoice::Default,
            objects: None,
        }
    }
}

impl EyrieBuilder {
    /// The directory holding the default store and key file (created when
    /// missing).
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.data_dir = dir.into();
        self
    }

    /// The redb store at `path` (a file).
    #[cfg(feature = "redb")]
    pub fn redb(mut self, path: impl Into<PathBuf>) -> Self {
        self.store = StoreChoice::Redb(path.into());
        self
    }

    /// The sled store in `dir`.
    #[cfg(feature = "sled")]
    pub fn sled(mut self, dir: impl Into<PathBuf>) -> Self {
        self.store = StoreChoice::Sled(dir.into());
        self
    }

    /// The PostgreSQL store at `url` (`postgres://user@host:port/db`), shared
    /// by every process that opens it; the schema is created or migrated.
    #[cfg(feature = "postgres")]
    pub fn postgres(mut self, url: impl Into<String>) -> Self {
        self.store = StoreChoice::Postgres(url.into());
        self
    }

    /// A store opened by the caller (a memory store in tests, a database).
    pub fn store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = StoreChoice::Given(store);
        self
    }

    /// Another clock than the system's.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Another id source than [`TimeOrderedIds`]. It must never repeat an
    /// id for one store, across restarts and processes.
    pub fn ids(mut self, ids: Arc<dyn IdSource>) -> Self {
        self.ids = Some(ids);
        self
    }

    /// Sealing keys from this file, generated on first use.
    pub fn key_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.keys = KeyChoice::File(path.into());
        self
    }

    /// Sealing keys from this environment variable (required to be set).
    pub fn key_env(mut self, var: impl Into<String>) -> Self {
        self.keys = KeyChoice::Env(var.into());
        self
    }

    /// A sealer built by the caller (a key ring from a secret manager).
    pub fn sealer(mut self, sealer: Arc<dyn Sealer>) -> Self {
        self.keys = KeyChoice::Given(sealer);
        self
    }

    /// The client backups are verified, expired and downloaded through.
    /// With the `backup` feature (default) it is `eyrie-backup`'s
    /// [`S3Objects`](eyrie_backup::S3Objects) with default options (HTTPS
    /// only); without it and without this call, backup jobs fail saying so.
    pub fn backup_objects(mut self, objects: Arc<dyn eyrie_core::backups::BackupObjects>) -> Self {
        self.objects = Some(objects);
        self
    }

    /// The default S3 client with other options (time-outs, retries, or
    /// `allow_http` for an S3-compatible server on a private network).
    #[cfg(feature = "backup")]
    pub fn backup_options(self, options: eyrie_backup::S3Options) -> Self {
        self.backup_objects(Arc::new(eyrie_backup::S3Objects::new(options)))
    }

    /// Where the default store lives in `data_dir`: `eyrie.redb`.
    pub fn default_store_path(&self) -> PathBuf {
        self.data_dir.join("eyrie.redb")
    }

    /// Where the default key file lives in `data_dir`: `sealing.keys`.
    pub fn default_key_path(&self) -> PathBuf {
        self.data_dir.join("sealing.keys")
    }

    /// Opens the store and the keys and builds the service.
    pub async fn build(self) -> Result<Eyrie> {
        let sealer = self.sealer_from_choice()?;
        let store = self.open_store().await?;
        let clock = self.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let ids = match self.ids {
            Some(ids) => ids,
            None => Arc::new(TimeOrderedIds::new()?),
        };
        let eyrie = Eyrie::new(store, clock, ids, sealer);
        #[cfg(feature = "backup")]
        let objects = Some(self.objects.unwrap_or_else(|| Arc::new(eyrie_backup::S3Objects::default())));
        #[cfg(not(feature = "backup"))]
        let objects = self.objects;
        Ok(match objects {
            Some(objects) => eyrie.with_backup_objects(objects),
            None => eyrie,
        })
    }

    fn sealer_from_choice(&self) -> Result<Arc<dyn Sealer>> {
        let ring = match &self.keys {
            KeyChoice::Given(sealer) => return Ok(sealer.clone()),
            KeyChoice::File(path) => keys::from_file(path)?,
            KeyChoice::Env(var) => keys::from_env(var)?.ok_or_else(|| {
                Error::Invalid(ValidationError::field("sealing keys", format!("${var}"), "is not set"))
            })?,
            KeyChoice::Default => match keys::from_env(KEYS_ENV)? {
                Some(ring) => ring,
                None => keys::from_file(&self.default_key_path())?,
            },
        };
        Ok(Arc::new(ring))
    }

    async fn open_store(&self) -> Result<Arc<dyn Store>> {
        match &self.store {
            StoreChoice::Given(store) => Ok(store.clone()),
            #[cfg(feature = "redb")]
            StoreChoice::Redb(path) => open_redb(path).await,
            #[cfg(feature = "sled")]
            StoreChoice::Sled(dir) => open_sled(dir).await,
            #[cfg(feature = "postgres")]
            StoreChoice::Postgres(url) => {
                let config = eyrie_store_postgres::PostgresConfig::new(url)?;
                Ok(Arc::new(eyrie_store_postgres::PostgresStore::open(config).await?))
            }
            StoreChoice::Default => {
                #[cfg(feature = "redb")]
                {
                    open_redb(&self.default_store_path()).await
                }
                #[cfg(not(feature = "redb"))]
                {
                    Err(Error::Invalid(ValidationError::field(
                        "store",
                        "default",
                        "the default store needs the `redb` feature; choose one with .store(…) or .sled(…)",
                    )))
                }
            }
        }
    }
}

#[cfg(any(feature = "redb", feature = "sled"))]
fn create_parent(path: &Path) -> Result<()> {
    match path.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) => std::fs::create_dir_all(dir)
            .map_err(|e| Error::backend(format!("cannot create {}: {e}", dir.display()), false)),
        None => Ok(()),
    }
}

#[cfg(feature = "redb")]
async fn open_redb(path: &Path) -> Result<Arc<dyn Store>> {
    create_parent(path)?;
    let store = eyrie_store_redb::RedbStore::open(eyrie_store_redb::RedbConfig::new(path)).await?;
    Ok(Arc::new(store))
}

#[cfg(feature = "sled")]
async fn open_sled(dir: &Path) -> Result<Arc<dyn Store>> {
    create_parent(dir)?;
    let store = eyrie_store_sled::SledStore::open(eyrie_store_sled::SledConfig::new(dir)).await?;
    Ok(Arc::new(store))
}

/// Builds an [`Engine`] over a service; see the module docs.
pub struct EngineBuilder {
    eyrie: Eyrie,
    config: EngineConfig,
    handlers: Option<HandlerRegistry>,
    executor: Option<Arc<dyn ClusterExecutor>>,
    #[cfg(feature = "monitor")]
    monitor_policy: Option<eyrie_monitor::NetworkPolicy>,
}

impl std::fmt::Debug for EngineBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineBuilder").field("config", &self.config).finish_non_exhaustive()
    }
}

impl EngineBuilder {
    /// A builder for an engine over `eyrie`, with [`EngineConfig::default()`].
    pub fn new(eyrie: &Eyrie) -> Self {
        EngineBuilder {
            eyrie: eyrie.clone(),
            config: EngineConfig::default(),
            handlers: None,
            executor: None,
            #[cfg(feature = "monitor")]
            monitor_policy: Some(eyrie_monitor::NetworkPolicy::strict()),
        }
    }

    /// Another configuration.
    pub fn config(mut self, config: EngineConfig) -> Self {
        self.config = config;
        self
    }

    /// Runs the built-in steps on `executor`.
    pub fn executor(mut self, executor: Arc<dyn ClusterExecutor>) -> Self {
        self.handlers = Some(HandlerRegistry::with_executor(executor.clone()));
        self.executor = Some(executor);
        self
    }

    /// Monitor targets are checked under `policy` (by default
    /// `NetworkPolicy::strict()`: loopback, link-local, private ranges and
    /// cluster-internal names are refused).
    #[cfg(feature = "monitor")]
    pub fn monitor_policy(mut self, policy: eyrie_monitor::NetworkPolicy) -> Self {
        self.monitor_policy = Some(policy);
        self
    }

    /// Runs no monitor checks (the scheduler still prunes their logs).
    #[cfg(feature = "monitor")]
    pub fn without_monitoring(mut self) -> Self {
        self.monitor_policy = None;
        self
    }

    /// Writes every deployment's manifests under `dir` ([`ManifestDir`]),
    /// for Argo CD or Flux to sync, with the system clock.
    pub fn manifest_dir(self, dir: impl Into<PathBuf>) -> Self {
        self.executor(Arc::new(ManifestDir::new(dir, Arc::new(SystemClock))))
    }

    /// Applies to Kubernetes clusters with kube-rs, one client per cluster.
    #[cfg(feature = "kube")]
    pub fn kubernetes(self) -> Self {
        self.executor(Arc::new(eyrie_kube::KubeExecutor::new(Arc::new(SystemClock))))
    }

    /// Step handlers assembled by the caller (own handlers beside the
    /// built-in ones).
    pub fn handlers(mut self, handlers: HandlerRegistry) -> Self {
        self.handlers = Some(handlers);
        self
    }

    /// The engine. Fails when no executor or handlers were given: where
    /// deployments go is the embedder's choice.
    pub fn build(self) -> Result<Engine> {
        let handlers = self.handlers.ok_or_else(|| {
            Error::Invalid(ValidationError::field(
                "executor",
                "none",
                "say where deployments go: .manifest_dir(…), .executor(…) or .handlers(…)",
            ))
        })?;
        let engine = Engine::new(self.eyrie.clone(), handlers, self.config);
        #[cfg(feature = "monitor")]
        if let Some(policy) = self.monitor_policy {
            let mut checker = eyrie_monitor::NetChecker::new(policy);
            if let Some(executor) = self.executor {
                checker = checker.with_executor(executor);
            }
            let monitoring = crate::jobs::Monitoring::new(
                self.eyrie,
                Arc::new(checker),
                Arc::new(crate::jobs::TracingHook),
                crate::jobs::MonitoringConfig::default(),
            );
            return Ok(engine.with_monitoring(Arc::new(monitoring)));
        }
        Ok(engine)
    }
}

/// `Eyrie::builder()`.
pub trait EyrieExt {
    /// A builder with the defaults of the module docs.
    fn builder() -> EyrieBuilder;
}

impl EyrieExt for Eyrie {
    fn builder() -> EyrieBuilder {
        EyrieBuilder::default()
    }
}

/// `Engine::builder(&eyrie)`.
pub trait EngineExt {
    /// A builder for an engine over `eyrie`.
    fn builder(eyrie: &Eyrie) -> EngineBuilder;
}

impl EngineExt for Engine {
    fn builder(eyrie: &Eyrie) -> EngineBuilder {
        EngineBuilder::new(eyrie)
    }
}
