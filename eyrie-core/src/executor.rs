//! The cluster executor: what runs a deployment's desired state on a
//! cluster. The core only describes the work as plain values
//! ([`DesiredDeployment`], [`ClusterAccess`]); an executor crate such as
//! `eyrie-kube` performs it, and the testkit has a recording fake.

use async_trait::async_trait;

use crate::effective::EffectiveDeployment;
use crate::error::Result;
use crate::ids::{BackupId, ClusterId, DeploymentId, GroupId, ProjectId};
use crate::lifecycle::LifecycleState;
use crate::model::ObservedState;
use crate::secret::SecretString;
use crate::validate::{DomainName, ImageRef, Slug};

/// How to reach one cluster, with its secret opened. Built by the service
/// right before a call; never stored, never printed (`Debug` redacts).
#[derive(Debug, Clone)]
pub struct ClusterAccess {
    /// The cluster.
    pub cluster_id: ClusterId,
    /// Its slug, for messages.
    pub slug: Slug,
    /// How to connect.
    pub credentials: ClusterCredentials,
}

/// Opened connection material.
#[derive(Debug, Clone)]
pub enum ClusterCredentials {
    /// A kubeconfig document (YAML), opened from its sealed form.
    Kubeconfig(SecretString),
    /// The service account of the pod Eyrie runs in.
    InCluster,
}

/// Everything an executor needs to render and apply one deployment: names,
/// labels' sources and every resolved setting. A plain value: no store
/// access. A job keeps the one it started with ([`crate::Job::desired`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DesiredDeployment {
    /// The project.
    pub project_id: ProjectId,
    /// Its slug (labels only; names never derive from it).
    pub project_slug: Slug,
    /// The project's base domain.
    pub project_domain: Option<DomainName>,
    /// The group.
    pub group_id: GroupId,
    /// Its slug.
    pub group_slug: Slug,
    /// The deployment.
    pub deployment_id: DeploymentId,
    /// Its slug.
    pub deployment_slug: Slug,
    /// The Kubernetes namespace (from the namespace uid).
    pub namespace: String,
    /// The resolved image reference, when one is set.
    pub image: Option<ImageRef>,
    /// The desired lifecycle state.
    pub state: LifecycleState,
    /// Every resolved setting with its source.
    pub effective: EffectiveDeployment,
}

impl DesiredDeployment {
    /// Resolves `deployment` in its `scope`, `group` and `project` (see
    /// [`EffectiveDeployment::resolve`]), with the image reference the caller
    /// looked up. Pure: no store access.
    pub fn resolve(
        project: &crate::model::Project,
        group: &crate::model::DeploymentGroup,
        scope: &crate::model::Scope,
        deployment: &crate::model::Deployment,
        image: Option<ImageRef>,
    ) -> Result<DesiredDeployment> {
        let effective = EffectiveDeployment::resolve(project, group, scope, deployment)?;
        Ok(Self::from_effective(project, group, deployment, effective, image))
    }

    /// Assembles the value from an already resolved effective view.
    pub fn from_effective(
        project: &crate::model::Project,
        group: &crate::model::DeploymentGroup,
        deployment: &crate::model::Deployment,
        effective: EffectiveDeployment,
        image: Option<ImageRef>,
    ) -> DesiredDeployment {
        DesiredDeployment {
            project_id: project.id,
            project_slug: project.slug.clone(),
            project_domain: project.domain.clone(),
            group_id: group.id,
            group_slug: group.slug.clone(),
            deployment_id: deployment.id,
            deployment_slug: deployment.slug.clone(),
            namespace: deployment.namespace(),
            image,
            state: deployment.state,
            effective,
        }
    }
}

/// Runs deployments on clusters.
///
/// # Contract
///
/// - Every method is **idempotent**: calling it again after a success, or
///   after a failure part-way, converges on the same end state. The job
///   engine relies on this to resume a job after a crash.
/// - Errors are [`crate::Error`]s; `Backend { retryable: true }` means the
///   same call may succeed later (time-outs, 409 conflicts, 5xx), anything
///   else is final for this attempt (422 invalid objects, 403).
/// - Methods may be called concurrently for different deployments; the job
///   engine never calls them concurrently for the same deployment.
/// - An executor never invents results: `observe` reports what the cluster
///   said, or fails.
#[async_trait]
pub trait ClusterExecutor: Send + Sync + std::fmt::Debug {
    /// Creates the namespace if missing.
    async fn ensure_namespace(&self, cluster: &ClusterAccess, deployment: &DesiredDeployment) -> Result<()>;
    /// Brings the cluster's objects for `deployment` to its desired state.
    async fn apply(&self, cluster: &ClusterAccess, deployment: &DesiredDeployment) -> Result<()>;
    /// Stops it, keeping its data (scale to zero, or the operator's pause).
    async fn pause(&self, cluster: &ClusterAccess, deployment: &DesiredDeployment) -> Result<()>;
    /// Starts a paused deployment again.
    async fn resume(&self, cluster: &ClusterAccess, deployment: &DesiredDeployment) -> Result<()>;
    /// Deletes everything of `deployment` on the cluster and confirms it is gone.
    async fn remove(&self, cluster: &ClusterAccess, deployment: &DesiredDeployment) -> Result<()>;
    /// Reads back what the cluster reports.
    async fn observe(&self, cluster: &ClusterAccess, deployment: &DesiredDeployment) -> Result<ObservedState>;

    /// Takes (or reports on) the backup `target` of `deployment` into its
    /// bucket. Idempotent: the first call starts the work, later calls with
    /// the same target report on it. A group type without backups is
    /// refused with a non-retryable error. The default refuses everything.
    async fn backup(
        &self,
        cluster: &ClusterAccess,
        deployment: &DesiredDeployment,
        target: &BackupTarget,
    ) -> Result<Progress> {
        let _ = (cluster, deployment, target);
        Err(unsupported("backup"))
    }

    /// Loads `source` into `deployment`, replacing its data. Idempotent as
    /// [`ClusterExecutor::backup`]. The default refuses.
    async fn restore(
        &self,
        cluster: &ClusterAccess,
        deployment: &DesiredDeployment,
        source: &RestoreSource,
    ) -> Result<Progress> {
        let _ = (cluster, deployment, source);
        Err(unsupported("restore"))
    }

    /// Whether [`ClusterExecutor::restore`] can load, into a deployment of
    /// `group_type`, a backup taken of *another* deployment (a restore into a
    /// copy, or seeding from `restore_from_scope`). The engine asks before it
    /// creates such a job: a restore is refused up front, and an
    /// initialization seeds nothing and says why. Default: it can.
    fn restores_across_deployments(&self, group_type: crate::model::GroupType) -> bool {
        let _ = group_type;
        true
    }

    /// What the deployment's pods use now, from the cluster's metrics API
    /// (`metrics.k8s.io` PodMetrics), one entry per pod. An executor that
    /// cannot read metrics keeps this default: a `Backend` error saying so.
    async fn pod_metrics(&self, cluster: &ClusterAccess, deployment: &DesiredDeployment) -> Result<Vec<PodUsage>> {
        let _ = (cluster, deployment);
        Err(crate::Error::Backend {
            message: "pod metrics are not supported by this executor".into(),
            retryable: false,
        })
    }
}

/// What one pod uses, summed over its containers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodUsage {
    /// The pod's name.
    pub pod: String,
    /// CPU in millicores.
    pub cpu_millicores: u64,
    /// Memory in bytes.
    pub memory_bytes: u64,
}

/// An S3-compatible bucket with its credentials opened: where a
/// deployment's backups go (the scope's `backup_dest_datasource`). Built by
/// the engine right before a call; never stored; `Debug` shows no secret.
#[derive(Clone, PartialEq, Eq)]
pub struct ObjectStorage {
    /// The endpoint URL (`http(s)://host[:port]`); `None` for AWS itself.
    pub endpoint: Option<String>,
    /// The signing region (`us-east-1` unless the datasource names one).
    pub region: String,
    /// The bucket.
    pub bucket: String,
    /// Path-style addressing (`endpoint/bucket/key`) rather than
    /// virtual-hosted (`bucket.endpoint/key`).
    pub path_style: bool,
    /// The access key id (not secret on its own, but kept out of logs too).
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: SecretString,
}

impl std::fmt::Debug for ObjectStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectStorage")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("bucket", &self.bucket)
            .field("path_style", &self.path_style)
            .finish_non_exhaustive()
    }
}

/// One backup to take: which record, and where its objects must go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupTarget {
    /// The backup record being filled.
    pub backup_id: BackupId,
    /// Why it is taken.
    pub kind: crate::model::BackupKind,
    /// The key prefix the backup's own objects go under:
    /// `<namespace uid>/<deployment id>/<backup id>/` (16 hex digits each,
    /// see [`crate::backups::keys`]). Executors whose tool keeps one
    /// repository per deployment (pgBackRest) write under
    /// [`BackupTarget::deployment_prefix`] instead and say so in
    /// [`Progress::Succeeded`].
    pub prefix: String,
    /// `<namespace uid>/<deployment id>/`: everything of this deployment.
    pub deployment_prefix: String,
    /// The bucket.
    pub storage: ObjectStorage,
}

/// A `done` backup to load into a deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreSource {
    /// The job running this restore: names the cluster objects of this run,
    /// so restoring the same backup again later is a new operation.
    pub run: crate::ids::JobId,
    /// The backup restored.
    pub backup_id: BackupId,
    /// The deployment it was taken of (same project and group type).
    pub source_deployment: DeploymentId,
    /// Where its objects are: the `location` its backup step reported.
    pub location: String,
    /// Its objects' keys, as verified after the backup.
    pub object_keys: Vec<String>,
    /// When the backup ended (a point-in-time target for tools that restore
    /// by time, such as pgBackRest).
    pub ended_at: Option<crate::clock::Timestamp>,
    /// The bucket.
    pub storage: ObjectStorage,
}

/// How a long-running cluster operation (a backup or a restore) stands.
/// The calls that return it are idempotent: the first call starts the
/// work, later calls report on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// Started or still running; the message says what the cluster reports.
    Running(String),
    /// Finished. For a backup, `location` is the key prefix its objects are
    /// under (within the deployment's prefix); for a restore it is empty.
    Succeeded {
        /// Key prefix of the backup's objects.
        location: String,
    },
    /// Finished and failed, with the reason the cluster gives (for a pod,
    /// its termination reason and message).
    Failed(String),
}

/// The error an executor returns for an operation it does not offer.
pub fn unsupported(what: &str) -> crate::Error {
    crate::Error::Backend { message: format!("{what} is not supported by this executor"), retryable: false }
}

impl ObjectStorage {
    /// Splits opened datasource credentials, `ACCESS_KEY_ID:SECRET_ACCESS_KEY`,
    /// into the key id and the secret. `Invalid` names the field
    /// `credentials` and never echoes the secret.
    pub fn parse_credentials(
        secret: &SecretString,
    ) -> std::result::Result<(String, SecretString), crate::validate::ValidationError> {
        let refuse = |why: &str| crate::validate::ValidationError::field("credentials", "[redacted]", why.to_owned());
        let text = secret.expose().trim();
        let Some((id, key)) = text.split_once(':') else {
            return Err(refuse("must be ACCESS_KEY_ID:SECRET_ACCESS_KEY"));
        };
        if id.is_empty() || id.len() > 128 || id.chars().any(char::is_whitespace) {
            return Err(refuse("the access key id must be 1-128 characters without spaces"));
        }
        if key.is_empty() || key.len() > 1024 || key.chars().any(char::is_control) {
            return Err(refuse("the secret access key must be 1-1024 characters without control characters"));
        }
        Ok((id.to_owned(), SecretString::new(key)))
    }

    /// The bucket of an `s3like` datasource, with its opened credentials.
    /// Refuses (`PolicyViolation`) a datasource that is not `s3like` or has
    /// no bucket, and (`Invalid`) credentials of the wrong shape.
    pub fn from_datasource(ds: &crate::model::Datasource, credentials: &SecretString) -> Result<ObjectStorage> {
        if ds.data_type != crate::model::DataType::S3like {
            return Err(crate::Error::policy(format!("datasource {} is not s3like: it cannot hold backups", ds.id)));
        }
        let Some(bucket) = &ds.bucket else {
            return Err(crate::Error::policy(format!("datasource {} names no bucket", ds.id)));
        };
        let (access_key_id, secret_access_key) = Self::parse_credentials(credentials)?;
        let endpoint = ds.endpoint.as_ref().map(|u| u.as_str().trim_end_matches('/').to_owned());
        Ok(ObjectStorage {
            path_style: ds.path_style.unwrap_or(endpoint.is_some()),
            endpoint,
            region: ds.region.clone().unwrap_or_else(|| "us-east-1".to_owned()),
            bucket: bucket.clone(),
            access_key_id,
            secret_access_key,
        })
    }
}
