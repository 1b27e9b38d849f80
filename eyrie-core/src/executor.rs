//! The cluster executor: what runs a deployment's desired state on a
//! cluster. The core only describes the work as plain values
//! ([`DesiredDeployment`], [`ClusterAccess`]); an executor crate such as
//! `eyrie-kube` performs it, and the testkit has a recording fake.

use async_trait::async_trait;

use crate::effective::EffectiveDeployment;
use crate::error::Result;
use crate::ids::{ClusterId, DeploymentId, GroupId, ProjectId};
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
