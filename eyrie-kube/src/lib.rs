//! # eyrie-kube
//!
//! Runs Eyrie deployments on Kubernetes. It turns a deployment's effective
//! view ([`DesiredDeployment`](eyrie_core::executor::DesiredDeployment)) into
//! Kubernetes objects, plans them against what is live, and applies them
//! with kube-rs server-side apply under the field manager `eyrie`.
//! [`KubeExecutor`] implements eyrie-core's
//! [`ClusterExecutor`](eyrie_core::executor::ClusterExecutor).
//!
//! The crate has two layers, as kube-rs has: [`render`] and [`plan`] are pure
//! functions over values (k8s-openapi types for built-in kinds, JSON for the
//! operators' custom resources); `apply` and `executor` send requests.
//! [`ManifestDir`] is a second executor that writes the rendered objects as
//! YAML files for Argo CD or Flux instead of sending them.
//!
//! # Features
//!
//! As kube-rs, this crate lets the embedder choose the client, its TLS stack
//! and its crypto provider:
//!
//! | feature | default | brings |
//! | --- | --- | --- |
//! | `client` | yes | the kube-rs client: `KubeExecutor`, `apply`, `connect` |
//! | `rustls-tls` | yes | TLS through rustls |
//! | `openssl-tls` | no | TLS through OpenSSL instead |
//! | `ring` | yes | rustls' crypto provider ring |
//! | `aws-lc-rs` | no | rustls' crypto provider aws-lc-rs instead |
//! | `demo` | no | the quickstart tenant (`demo`) |
//!
//! Without `client` (`default-features = false`) the crate renders, plans
//! and writes manifest directories with no kube-rs, TLS or HTTP in the build.
//!
//! ```
//! use eyrie_kube::render::{DeploymentSecrets, Run, render};
//!
//! let tenant = eyrie_kube::demo::quickstart()?;
//! let shop = &tenant[0];
//! let rendered = render(shop, Run::Running, &DeploymentSecrets::none())?;
//! assert_eq!(rendered.namespace.name, "eyrie-00000000000003e9"); // from the namespace uid
//! let kinds: Vec<&str> = rendered.objects.iter().map(|o| o.kind.kind()).collect();
//! assert_eq!(kinds, ["Secret", "PersistentVolumeClaim", "Deployment", "Service", "Ingress"]);
//! assert!(rendered.to_yaml()?.contains("host: shop.acme.example"));
//! # Ok::<(), eyrie_core::Error>(())
//! ```
//!
//! # What reaches a cluster
//!
//! - The project namespace, named from its uid ([`render::render_namespace`]).
//! - Per group type (see each module under [`render`]): `odoo` a Secret with
//!   `odoo.conf`, a filestore PVC, a Deployment, a Service and an Ingress;
//!   `pgo` a Crunchy `PostgresCluster`; `pxc` a Percona
//!   `PerconaXtraDBCluster`; `none` a Deployment, a Service and an Ingress
//!   when the deployment has a host.
//! - Labels with ids and annotations with slugs ([`labels`]); names within
//!   Kubernetes limits and unique per deployment ([`names`]).
//! - For backups and restores ([`backups`]): a Job per operation for `odoo`,
//!   the `PostgresCluster`'s pgBackRest repository and its `manual` and
//!   `restore` sections for `pgo`, a storage plus
//!   `PerconaXtraDBClusterBackup` / `PerconaXtraDBClusterRestore` for `pxc`,
//!   and a Secret with the bucket's credentials; `none` has no backups.
//!
//! # Backups
//!
//! [`KubeExecutor`] takes backups and restores as each group type's tool
//! does them: a Job for `odoo`, pgBackRest through the `PostgresCluster` for
//! `pgo`, the Percona operator's backup and restore resources for `pxc`;
//! `none` refuses. What is created, named and reported is in [`backups`].
//!
//! # Choices made here
//!
//! - Names end in the deployment id (base 36), which makes them unique by
//!   construction; see [`names`].
//! - Selectors use ids only, so renames never touch immutable selectors.
//! - A paused deployment keeps every object: Deployments scale to zero, PGO
//!   gets `shutdown: true`, Percona `pause: true`.
//! - Dropping deletes every object with the deployment's labels (the
//!   filestore and database volumes included) but never the namespace.
//! - Secrets reach a rendered Secret only through a [`SecretSource`]; the
//!   default gives none. `Debug` of rendered objects shows kinds and names
//!   only, and logs carry kinds and names only.
//! - Errors map as [`errors`] tabulates: 409 is a retryable conflict, 422 an
//!   invalid object, 5xx and time-outs retryable backend failures.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(feature = "client")]
pub mod apply;
pub mod backups;
#[cfg(feature = "client")]
pub mod connect;
#[cfg(feature = "demo")]
pub mod demo;
pub mod errors;
#[cfg(feature = "client")]
pub mod executor;
pub mod kinds;
pub mod labels;
pub mod manifests;
#[cfg(feature = "client")]
pub mod metrics;
pub mod names;
pub mod observe;
pub mod plan;
pub mod render;
pub mod secrets;

#[cfg(feature = "client")]
pub use executor::KubeExecutor;
pub use kinds::Kind;
pub use manifests::{ManifestDir, WriteStats};
pub use plan::{Plan, Step};
pub use render::{DeploymentSecrets, Object, Rendered, Run};
pub use secrets::{NoSecrets, SecretSource, SystemClock};
