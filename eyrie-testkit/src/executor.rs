//! [`RecordingExecutor`]: a fake cluster for tests. It records every call,
//! keeps a tiny model of what "runs" (replicas per deployment and cluster),
//! and can be told to fail the next call of an operation or to stall an
//! operation until released.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use eyrie_core::executor::{BackupTarget, ClusterAccess, ClusterExecutor, DesiredDeployment, Progress, RestoreSource};
use eyrie_core::{BackupId, ClusterId, DeploymentId, Error, GroupType, ImageRef, ObservedState, Result};
use tokio::sync::Notify;

/// An executor operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Op {
    /// `ensure_namespace`.
    EnsureNamespace,
    /// `apply`.
    Apply,
    /// `pause`.
    Pause,
    /// `resume`.
    Resume,
    /// `remove`.
    Remove,
    /// `observe`.
    Observe,
    /// `backup`.
    Backup,
    /// `restore`.
    Restore,
}

/// One recorded call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// Which operation.
    pub op: Op,
    /// On which cluster.
    pub cluster: ClusterId,
    /// For which deployment.
    pub deployment: DeploymentId,
    /// The image it asked for.
    pub image: Option<ImageRef>,
    /// The replicas it asked for.
    pub replicas: u32,
}

#[derive(Debug, Default)]
struct State {
    calls: Vec<Call>,
    failures: HashMap<Op, VecDeque<Error>>,
    stalled: BTreeSet<Op>,
    running: BTreeMap<(ClusterId, DeploymentId), u32>,
    namespaces: BTreeSet<(ClusterId, String)>,
    progress: HashMap<Op, VecDeque<Progress>>,
    restored: Vec<Restored>,
    no_cross_restore: BTreeSet<GroupType>,
}

/// A restore the fake carried out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    /// Into which deployment.
    pub into: DeploymentId,
    /// Which backup.
    pub backup: BackupId,
    /// From which location.
    pub location: String,
}

/// A recording fake [`ClusterExecutor`]. Cloning shares the same state.
#[derive(Debug, Clone, Default)]
pub struct RecordingExecutor {
    state: Arc<Mutex<State>>,
    wake: Arc<Notify>,
    objects: Option<crate::MemoryObjects>,
}

impl RecordingExecutor {
    /// A fresh fake with nothing running.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// The calls of one operation.
    pub fn calls_of(&self, op: Op) -> Vec<Call> {
        self.calls().into_iter().filter(|c| c.op == op).collect()
    }

    /// Makes the next call of `op` fail with `error` (queued, one per call).
    pub fn fail_next(&self, op: Op, error: Error) {
        self.lock().failures.entry(op).or_default().push_back(error);
    }

    /// The same fake, writing each backup it takes into `objects`: one
    /// object `<prefix>db.dump` whose bytes name the deployment and backup.
    pub fn with_objects(mut self, objects: crate::MemoryObjects) -> Self {
        self.objects = Some(objects);
        self
    }

    /// Makes the next successful call of `op` (backup or restore) answer
    /// `progress` instead of finishing (queued, one per call).
    pub fn answer_next(&self, op: Op, progress: Progress) {
        self.lock().progress.entry(op).or_default().push_back(progress);
    }

    /// Says it cannot restore one deployment's backup into another of
    /// `group_type` ([`ClusterExecutor::restores_across_deployments`]).
    pub fn refuse_cross_restore(&self, group_type: GroupType) {
        self.lock().no_cross_restore.insert(group_type);
    }

    /// Every restore carried out, in order.
    pub fn restored(&self) -> Vec<Restored> {
        self.lock().restored.clone()
    }

    /// Makes every call of `op` wait until [`RecordingExecutor::release`].
    pub fn stall(&self, op: Op) {
        self.lock().stalled.insert(op);
    }

    /// Lets stalled calls of `op` go on.
    pub fn release(&self, op: Op) {
        self.lock().stalled.remove(&op);
        self.wake.notify_waiters();
    }

    /// Replicas running for a deployment on a cluster (`None` = nothing there).
    pub fn running(&self, cluster: ClusterId, deployment: DeploymentId) -> Option<u32> {
        self.lock().running.get(&(cluster, deployment)).copied()
    }

    async fn enter(&self, op: Op, cluster: &ClusterAccess, d: &DesiredDeployment) -> Result<()> {
        loop {
            let notified = self.wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if !self.lock().stalled.contains(&op) {
                break;
            }
            notified.await;
        }
        let mut state = self.lock();
        state.calls.push(Call {
            op,
            cluster: cluster.cluster_id,
            deployment: d.deployment_id,
            image: d.image.clone(),
            replicas: d.effective.replicas.value,
        });
        match state.failures.get_mut(&op).and_then(VecDeque::pop_front) {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}

#[async_trait]
impl ClusterExecutor for RecordingExecutor {
    async fn ensure_namespace(&self, cluster: &ClusterAccess, d: &DesiredDeployment) -> Result<()> {
        self.enter(Op::EnsureNamespace, cluster, d).await?;
        self.lock().namespaces.insert((cluster.cluster_id, d.namespace.clone()));
        Ok(())
    }

    async fn apply(&self, cluster: &ClusterAccess, d: &DesiredDeployment) -> Result<()> {
        self.enter(Op::Apply, cluster, d).await?;
        let mut state = self.lock();
        if !state.namespaces.contains(&(cluster.cluster_id, d.namespace.clone())) {
            return Err(Error::backend(format!("namespace {} does not exist on {}", d.namespace, cluster.slug), false));
        }
        state.running.insert((cluster.cluster_id, d.deployment_id), d.effective.replicas.value);
        Ok(())
    }

    async fn pause(&self, cluster: &ClusterAccess, d: &DesiredDeployment) -> Result<()> {
        self.enter(Op::Pause, cluster, d).await?;
        if let Some(r) = self.lock().running.get_mut(&(cluster.cluster_id, d.deployment_id)) {
            *r = 0;
        }
        Ok(())
    }

    async fn resume(&self, cluster: &ClusterAccess, d: &DesiredDeployment) -> Result<()> {
        self.enter(Op::Resume, cluster, d).await?;
        if let Some(r) = self.lock().running.get_mut(&(cluster.cluster_id, d.deployment_id)) {
            *r = d.effective.replicas.value;
        }
        Ok(())
    }

    async fn remove(&self, cluster: &ClusterAccess, d: &DesiredDeployment) -> Result<()> {
        self.enter(Op::Remove, cluster, d).await?;
        self.lock().running.remove(&(cluster.cluster_id, d.deployment_id));
        Ok(())
    }

    async fn backup(&self, cluster: &ClusterAccess, d: &DesiredDeployment, target: &BackupTarget) -> Result<Progress> {
        self.enter(Op::Backup, cluster, d).await?;
        if let Some(p) = self.lock().progress.get_mut(&Op::Backup).and_then(VecDeque::pop_front) {
            return Ok(p);
        }
        if let Some(objects) = &self.objects {
            let body = format!("dump of {} for backup {}", d.deployment_id, target.backup_id);
            objects.put(&target.storage.bucket, &format!("{}db.dump", target.prefix), body.into_bytes());
        }
        Ok(Progress::Succeeded { location: target.prefix.clone() })
    }

    fn restores_across_deployments(&self, group_type: GroupType) -> bool {
        !self.lock().no_cross_restore.contains(&group_type)
    }

    async fn restore(
        &self,
        cluster: &ClusterAccess,
        d: &DesiredDeployment,
        source: &RestoreSource,
    ) -> Result<Progress> {
        self.enter(Op::Restore, cluster, d).await?;
        let mut state = self.lock();
        if let Some(p) = state.progress.get_mut(&Op::Restore).and_then(VecDeque::pop_front) {
            return Ok(p);
        }
        state.restored.push(Restored {
            into: d.deployment_id,
            backup: source.backup_id,
            location: source.location.clone(),
        });
        Ok(Progress::Succeeded { location: String::new() })
    }

    async fn observe(&self, cluster: &ClusterAccess, d: &DesiredDeployment) -> Result<ObservedState> {
        self.enter(Op::Observe, cluster, d).await?;
        let ready = self.running(cluster.cluster_id, d.deployment_id).unwrap_or(0);
        Ok(ObservedState { ready_replicas: ready, desired_replicas: d.effective.replicas.value, ..Default::default() })
    }
}
