//! # eyrie
//!
//! Eyrie for embedders: one dependency, one prelude, and a one-call setup.
//! Eyrie runs many tenants' application instances (Odoo servers, PostgreSQL
//! and MySQL clusters, plain containers) on shared Kubernetes clusters; this
//! crate re-exports its public API (`eyrie-core`, the stores, the Kubernetes
//! adapter) and adds the batteries the pure core must not have: the system
//! clock, collision-safe ids, OS nonces and a sealing key file — as the
//! `kube` crate sits over `kube-core`, `kube-client` and `kube-runtime`.
//!
//! ```
//! use eyrie::prelude::*;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> eyrie::Result<()> {
//! # let tmp = tempfile::tempdir().map_err(|e| Error::backend(e.to_string(), false))?;
//! # let data = tmp.path().join("data");
//! # let manifests = tmp.path().join("manifests");
//! // A redb store and a sealing key file in `data` (both created on first use).
//! let eyrie = Eyrie::builder().data_dir(&data).build().await?;
//! // Jobs write each cluster's manifests under `manifests`, for Argo CD or Flux.
//! let engine = Engine::builder(&eyrie).manifest_dir(&manifests).build()?;
//! assert_eq!(engine.config().max_concurrent_jobs, EngineConfig::default().max_concurrent_jobs);
//! assert!(data.join("eyrie.redb").exists() && data.join("sealing.keys").exists());
//! # Ok(())
//! # }
//! ```
//!
//! # Guides
//!
//! [Embed Eyrie in 40 lines](guide::embed), [write a cluster executor](guide::executor),
//! [run jobs and the scheduler](guide::jobs), [run several replicas](guide::replicas).
//!
//! # What it provides
//!
//! - [`Eyrie::builder()`](builder::EyrieExt::builder) and
//!   [`Engine::builder(&eyrie)`](builder::EngineExt::builder), with the
//!   defaults tabulated in [`builder`](mod@builder). They are extension traits (the types
//!   live in `eyrie-core`), brought in by the [`prelude`]; [`builder()`] is
//!   the same without the trait.
//! - [`SystemClock`], [`TimeOrderedIds`] (time-ordered 64-bit ids with
//!   random low bits; why, and what it guarantees: [`system`]),
//!   [`OsNonces`].
//! - [`keys`]: the sealing key ring from a file or an environment variable,
//!   generated on first use (file `0600`, never logged).
//! - [`ManifestDir`]: the GitOps executor, writing each cluster's objects as
//!   YAML files; with the `kube` feature, `KubeExecutor` applies them with
//!   kube-rs instead.
//!
//! # Features
//!
//! | feature | default | brings |
//! | --- | --- | --- |
//! | `redb` | yes | the redb store ([`redb_store`]), the default store |
//! | `sled` | no | the sled store (`sled_store`) |
//! | `postgres` | no | the PostgreSQL store (`postgres_store`), shared by several processes |
//! | `monitor` | yes | monitor checks run by the engine's scheduler ([`monitor`]: HTTP and certificate checks behind a private-network guard, resource checks through the executor) |
//! | `backup` | yes | backups on S3-compatible storage ([`backup`]: `eyrie-backup`'s `S3Objects`, set on every service the builder builds) |
//! | `kube` | no | `KubeExecutor` (kube-rs with rustls and ring) |
//!
//! Every item of `eyrie-core` is re-exported at the root (`eyrie::Project`,
//! `eyrie::service::NewProject`, `eyrie::jobs::HandlerRegistry`, …);
//! [`kubernetes`] is `eyrie-kube` (rendering, plans, labels).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod builder;
pub mod guide;
pub mod keys;
pub mod system;

/// The attribute the core's async traits are written with (`#[eyrie::async_trait]`
/// on an `impl ClusterExecutor`), so an embedder needs no dependency of its own.
pub use async_trait::async_trait;
#[cfg(feature = "backup")]
pub use eyrie_backup as backup;
pub use eyrie_core::*;
pub use eyrie_kube as kubernetes;
#[cfg(feature = "kube")]
pub use eyrie_kube::KubeExecutor;
pub use eyrie_kube::manifests::{ManifestDir, WriteStats, Written};
#[cfg(feature = "monitor")]
pub use eyrie_monitor as monitor;
#[cfg(feature = "postgres")]
pub use eyrie_store_postgres as postgres_store;
#[cfg(feature = "redb")]
pub use eyrie_store_redb as redb_store;
#[cfg(feature = "sled")]
pub use eyrie_store_sled as sled_store;

pub use builder::{EngineBuilder, EngineExt, EyrieBuilder, EyrieExt};
pub use system::{OsNonces, SystemClock, TimeOrderedIds};

/// [`Eyrie::builder()`](EyrieExt::builder) without the trait.
pub fn builder() -> EyrieBuilder {
    EyrieBuilder::default()
}

/// Everything a program embedding Eyrie usually names: `use eyrie::prelude::*;`.
pub mod prelude {
    pub use crate::builder::{EngineExt as _, EyrieExt as _};
    pub use crate::jobs::RestoreOptions;
    pub use crate::service::{
        BackupQuery, NewCluster, NewConnection, NewDeployment, NewGroup, NewProject, NewScope, NewUser, ScopeConfig,
    };
    pub use crate::{
        Action, Actor, ClusterState, Deployment, DeploymentGroup, DeploymentId, Engine, EngineConfig, Error, ErrorKind,
        Eyrie, GroupType, Job, JobAction, JobState, LifecycleState, ManifestDir, Project, Result, Role, Scope,
        SecretString, Settings, SystemClock,
    };
}
