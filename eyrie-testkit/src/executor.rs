//! [`RecordingExecutor`]: a fake cluster for tests. It records every call,
//! keeps a tiny model of what "runs" (replicas per deployment and cluster),
//! and can be told to fail the next call of an operation or to stall an
//! operation until released.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use eyrie_core::executor::{ClusterAccess, ClusterExecutor, DesiredDeployment};
use eyrie_core::{ClusterId, DeploymentId, Error, ImageRef, ObservedState, Result};
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
}

/// A recording fake [`ClusterExecutor`]. Cloning shares the same state.
#[derive(Debug, Clone, Default)]
pub struct RecordingExecutor {
    state: Arc<Mutex<State>>,
    wake: Arc<Notify>,
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

    async fn observe(&self, cluster: &ClusterAccess, d: &DesiredDeployment) -> Result<ObservedState> {
        self.enter(Op::Observe, cluster, d).await?;
        let ready = self.running(cluster.cluster_id, d.deployment_id).unwrap_or(0);
        Ok(ObservedState { ready_replicas: ready, desired_replicas: d.effective.replicas.value, ..Default::default() })
    }
}
