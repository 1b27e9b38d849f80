//! [`KubeExecutor`]: eyrie-core's [`ClusterExecutor`] on Kubernetes.
//!
//! Every operation renders, reads what is live, plans, and sends only the
//! writes the plan needs, so each is idempotent and a repeated call on a
//! converged deployment sends no write request:
//!
//! - `ensure_namespace`: reads the namespace; applies it only when missing or
//!   when its labels or annotations differ. A namespace being deleted is a
//!   retryable error. Namespaces are never deleted by Eyrie here: a project's
//!   namespace outlives its deployments.
//! - `apply`: renders for the desired state (`pause` renders paused, every
//!   other state running), lists the objects carrying the deployment's labels
//!   in the kinds its group type owns, and applies what the plan creates or
//!   changes and deletes what it no longer renders. A dropped deployment is
//!   refused.
//! - `pause` / `resume`: the same, rendered paused or running whatever the
//!   desired state says (the job moves the state after the step).
//! - `remove`: refused when the scope forbids drops (`allow_drop = false`);
//!   otherwise deletes every object carrying the deployment's labels, then
//!   lists again (a kind whose CRD is not installed lists as empty):
//!   objects still terminating (finalizers, a PVC in use) make a retryable
//!   error, so the step runs again until they are gone.
//! - `observe` and [`KubeExecutor::wait_ready`]: see [`crate::observe`].
//! - `pod_metrics`: see [`crate::metrics`].
//! - `backup` / `restore`: see [`crate::backups`]. The objects they create
//!   carry the deployment's labels plus `eyrie.dev/operation`: `apply`
//!   leaves them alone, `remove` deletes them with the rest.
//!
//! Every call runs in a span named after it (`backup`, `apply`, …) with the
//! deployment id and the cluster slug, plus the backup id or the restore's
//! job id; never a secret.
//!
//! A cluster is reached through its stored kubeconfig (or in-cluster
//! credentials) with one kube-rs client per cluster, built on first use and
//! reused by every later call (and every poll of `wait_ready`) until the
//! cluster's credentials change ([`crate::connect::Clients`]);
//! [`KubeExecutor::with_client`] fixes one client instead.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use eyrie_core::executor::{
    BackupTarget, ClusterAccess, ClusterExecutor, DesiredDeployment, PodUsage, Progress, RestoreSource,
};
use eyrie_core::{Clock, Error, LifecycleState, ObservedState, Result};
use kube::Client;

use crate::apply::{Cluster, is_terminating};
use crate::connect::Clients;
use crate::kinds::Kind;
use crate::observe::{Observation, observe, workload_kind};
use crate::plan::{Plan, plan};
use crate::render::{Object, Run, base_name, render, render_namespace};
use crate::{labels, plan as plan_mod};

pub use crate::secrets::{NoSecrets, SecretSource, SystemClock};

enum Connector {
    PerCluster(Clients),
    Fixed(Client),
}

/// Runs deployments on Kubernetes clusters with kube-rs. See the module docs.
pub struct KubeExecutor {
    connector: Connector,
    clock: Arc<dyn Clock>,
    secrets: Arc<dyn SecretSource>,
    poll_interval: Duration,
}

impl fmt::Debug for KubeExecutor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let connector = match self.connector {
            Connector::PerCluster(_) => "one client per cluster",
            Connector::Fixed(_) => "fixed client",
        };
        f.debug_struct("KubeExecutor")
            .field("connector", &connector)
            .field("poll_interval", &self.poll_interval)
            .finish_non_exhaustive()
    }
}

impl KubeExecutor {
    /// An executor that connects to each cluster through its
    /// [`ClusterAccess`], stamping observations with `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        KubeExecutor {
            connector: Connector::PerCluster(Clients::default()),
            clock,
            secrets: Arc::new(NoSecrets),
            poll_interval: Duration::from_secs(5),
        }
    }

    /// An executor that sends everything through `client`, whatever cluster
    /// is asked for (one cluster, or a scripted client in tests).
    pub fn with_client(client: Client, clock: Arc<dyn Clock>) -> Self {
        KubeExecutor { connector: Connector::Fixed(client), ..KubeExecutor::new(clock) }
    }

    /// Renders configuration secrets from `source`.
    pub fn with_secrets(mut self, source: Arc<dyn SecretSource>) -> Self {
        self.secrets = source;
        self
    }

    /// How long [`KubeExecutor::wait_ready`] waits between reads (default 5 s).
    pub fn with_poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    async fn cluster(&self, access: &ClusterAccess) -> Result<Cluster> {
        self.client(access).await.map(Cluster::new)
    }

    async fn client(&self, access: &ClusterAccess) -> Result<Client> {
        match &self.connector {
            Connector::Fixed(client) => Ok(client.clone()),
            Connector::PerCluster(clients) => clients.get(access).await,
        }
    }

    fn desired_objects(&self, deployment: &DesiredDeployment, run: Run) -> Result<Vec<Object>> {
        if deployment.state == LifecycleState::Dropped {
            return Err(Error::policy(format!("deployment {} is dropped: nothing to apply", deployment.deployment_id)));
        }
        let secrets = self.secrets.secrets_for(deployment)?;
        Ok(render(deployment, run, &secrets)?.objects)
    }

    /// The deployment's own live objects: what a reconcile plans against
    /// (the objects of backups and restores left out).
    async fn live_objects(&self, cluster: &Cluster, deployment: &DesiredDeployment) -> Result<Vec<Object>> {
        let selector = labels::selector(deployment);
        let mut live = Vec::new();
        for kind in Kind::owned_by(deployment.effective.group_type) {
            let objects = cluster.list(*kind, &deployment.namespace, &selector).await?;
            live.extend(objects.into_iter().filter(|o| !labels::is_operation(&o.body)));
        }
        Ok(live)
    }

    /// Everything live that carries the deployment's labels, the objects of
    /// its backups and restores included: what a drop deletes.
    async fn every_object(&self, cluster: &Cluster, deployment: &DesiredDeployment) -> Result<Vec<Object>> {
        let selector = labels::selector(deployment);
        let group_type = deployment.effective.group_type;
        let mut live = Vec::new();
        for kind in Kind::owned_by(group_type).iter().chain(Kind::operations_of(group_type)) {
            live.extend(cluster.list(*kind, &deployment.namespace, &selector).await?);
        }
        Ok(live)
    }

    /// What [`ClusterExecutor::apply`] would do now, without writing.
    pub async fn plan(&self, access: &ClusterAccess, deployment: &DesiredDeployment) -> Result<Plan> {
        let cluster = self.cluster(access).await?;
        let desired = self.desired_objects(deployment, Run::for_state(deployment))?;
        Ok(plan(&desired, &self.live_objects(&cluster, deployment).await?))
    }

    /// Renders `deployment` as `run`, plans against the cluster and carries
    /// the plan out; returns the plan.
    pub async fn reconcile(&self, access: &ClusterAccess, deployment: &DesiredDeployment, run: Run) -> Result<Plan> {
        let cluster = self.cluster(access).await?;
        let desired = self.desired_objects(deployment, run)?;
        let plan = plan(&desired, &self.live_objects(&cluster, deployment).await?);
        if !plan.is_noop() {
            tracing::info!(deployment = %deployment.deployment_id, writes = plan.writes().count(), "reconcile");
        }
        cluster.execute(&plan).await?;
        Ok(plan)
    }

    async fn read_workload(&self, cluster: &Cluster, deployment: &DesiredDeployment) -> Result<Observation> {
        let kind = workload_kind(deployment.effective.group_type);
        let name = base_name(deployment);
        match cluster.get(kind, Some(&deployment.namespace), &name).await? {
            Some(workload) => Ok(observe(&workload, self.clock.now())),
            None => Err(Error::not_found("kubernetes object", format!("{kind}/{}/{name}", deployment.namespace))),
        }
    }

    /// Reads the workload until it is ready for its current spec, or fails
    /// with a retryable error once `within` has passed (a missing workload
    /// fails at once). Returns the last observation.
    pub async fn wait_ready(
        &self,
        access: &ClusterAccess,
        deployment: &DesiredDeployment,
        within: Duration,
    ) -> Result<ObservedState> {
        let cluster = self.cluster(access).await?;
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let seen = self.read_workload(&cluster, deployment).await?;
            if seen.ready {
                return Ok(seen.state);
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Err(Error::backend(
                    format!(
                        "deployment {} not ready within {}s: {}/{} replicas ready",
                        deployment.deployment_id,
                        within.as_secs(),
                        seen.state.ready_replicas,
                        seen.state.desired_replicas
                    ),
                    true,
                ));
            }
            tokio::time::sleep(self.poll_interval.min(deadline - now)).await;
        }
    }
}

#[async_trait]
impl ClusterExecutor for KubeExecutor {
    #[tracing::instrument(name = "ensure_namespace", skip_all, fields(deployment = %deployment.deployment_id, cluster = %access.slug))]
    async fn ensure_namespace(&self, access: &ClusterAccess, deployment: &DesiredDeployment) -> Result<()> {
        let cluster = self.cluster(access).await?;
        let namespace = render_namespace(deployment)?;
        match cluster.get(Kind::Namespace, None, &namespace.name).await? {
            Some(live) if is_terminating(&live) => Err(Error::backend(
                format!("namespace {} is being deleted; try again when it is gone", namespace.name),
                true,
            )),
            Some(live) if plan_mod::changed_fields(&namespace.body, &live.body).is_empty() => Ok(()),
            _ => cluster.apply(&namespace).await,
        }
    }

    #[tracing::instrument(name = "apply", skip_all, fields(deployment = %deployment.deployment_id, cluster = %access.slug))]
    async fn apply(&self, access: &ClusterAccess, deployment: &DesiredDeployment) -> Result<()> {
        self.reconcile(access, deployment, Run::for_state(deployment)).await.map(drop)
    }

    #[tracing::instrument(name = "pause", skip_all, fields(deployment = %deployment.deployment_id, cluster = %access.slug))]
    async fn pause(&self, access: &ClusterAccess, deployment: &DesiredDeployment) -> Result<()> {
        self.reconcile(access, deployment, Run::Paused).await.map(drop)
    }

    #[tracing::instrument(name = "resume", skip_all, fields(deployment = %deployment.deployment_id, cluster = %access.slug))]
    async fn resume(&self, access: &ClusterAccess, deployment: &DesiredDeployment) -> Result<()> {
        self.reconcile(access, deployment, Run::Running).await.map(drop)
    }

    #[tracing::instrument(name = "remove", skip_all, fields(deployment = %deployment.deployment_id, cluster = %access.slug))]
    async fn remove(&self, access: &ClusterAccess, deployment: &DesiredDeployment) -> Result<()> {
        if !deployment.effective.allow_drop.value {
            return Err(Error::policy(format!("the scope of deployment {} forbids drops", deployment.deployment_id)));
        }
        let cluster = self.cluster(access).await?;
        for object in self.every_object(&cluster, deployment).await? {
            if !is_terminating(&object) {
                cluster.delete(object.kind, object.namespace.as_deref(), &object.name).await?;
            }
        }
        let left = self.every_object(&cluster, deployment).await?;
        if left.is_empty() {
            return Ok(());
        }
        let names: Vec<String> = left.iter().map(Object::id).collect();
        Err(Error::backend(format!("still being deleted: {}", names.join(", ")), true))
    }

    #[tracing::instrument(name = "observe", skip_all, fields(deployment = %deployment.deployment_id, cluster = %access.slug))]
    async fn observe(&self, access: &ClusterAccess, deployment: &DesiredDeployment) -> Result<ObservedState> {
        let cluster = self.cluster(access).await?;
        Ok(self.read_workload(&cluster, deployment).await?.state)
    }

    #[tracing::instrument(name = "pod_metrics", skip_all, fields(deployment = %deployment.deployment_id, cluster = %access.slug))]
    async fn pod_metrics(&self, access: &ClusterAccess, deployment: &DesiredDeployment) -> Result<Vec<PodUsage>> {
        crate::metrics::pod_metrics(self.client(access).await?, deployment).await
    }

    #[tracing::instrument(
        name = "backup",
        skip_all,
        fields(deployment = %deployment.deployment_id, cluster = %access.slug, backup = %target.backup_id),
        err(level = "debug", Display)
    )]
    async fn backup(
        &self,
        access: &ClusterAccess,
        deployment: &DesiredDeployment,
        target: &BackupTarget,
    ) -> Result<Progress> {
        if deployment.effective.group_type == eyrie_core::GroupType::None {
            return Err(crate::backups::refused(eyrie_core::GroupType::None, "backup"));
        }
        let cluster = self.cluster(access).await?;
        let progress = crate::backups::run::backup(&cluster, deployment, target).await?;
        tracing::debug!(?progress, "backup progress");
        Ok(progress)
    }

    /// Not for `pgo`: PGO restores in place from the cluster's own pgBackRest
    /// repository, and configuring another deployment's would archive this
    /// cluster's WAL into it (see [`crate::backups::pgo`]).
    fn restores_across_deployments(&self, group_type: eyrie_core::GroupType) -> bool {
        group_type != eyrie_core::GroupType::Pgo
    }

    #[tracing::instrument(
        name = "restore",
        skip_all,
        fields(deployment = %deployment.deployment_id, cluster = %access.slug, run = %source.run, backup = %source.backup_id),
        err(level = "debug", Display)
    )]
    async fn restore(
        &self,
        access: &ClusterAccess,
        deployment: &DesiredDeployment,
        source: &RestoreSource,
    ) -> Result<Progress> {
        if deployment.effective.group_type == eyrie_core::GroupType::None {
            return Err(crate::backups::refused(eyrie_core::GroupType::None, "restore"));
        }
        let cluster = self.cluster(access).await?;
        let progress = crate::backups::run::restore(&cluster, deployment, source).await?;
        tracing::debug!(?progress, "restore progress");
        Ok(progress)
    }
}
