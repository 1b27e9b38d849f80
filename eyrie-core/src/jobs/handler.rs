//! Step handlers: what a book's handler step runs. Executors register
//! handlers by name; the core ships handlers over any [`ClusterExecutor`].

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tracing::Instrument;

use crate::clock::Timestamp;
use crate::error::Error;
use crate::executor::{ClusterAccess, ClusterExecutor, DesiredDeployment};
use crate::model::{Job, JobStep};

/// What a handler is given: the job, its current step, the deployment's
/// desired state and the opened access to each of its clusters.
#[derive(Debug, Clone)]
pub struct StepContext {
    /// The job (as last persisted).
    pub job: Job,
    /// The step being run (its `attempts` counts this attempt).
    pub step: JobStep,
    /// The deployment, resolved.
    pub desired: DesiredDeployment,
    /// Its clusters.
    pub clusters: Vec<ClusterAccess>,
    /// When this attempt started.
    pub now: Timestamp,
}

/// How a step attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepOutcome {
    /// Finished; go on.
    Done,
    /// Not yet (or a passing failure): run it again after at least this long.
    RetryAfter(Duration, String),
    /// Failed for good; the job fails with this message.
    Failed(String),
}

impl StepOutcome {
    /// Maps an executor error: retryable ones ask for a retry, others fail.
    pub fn from_error(e: &Error) -> StepOutcome {
        if e.is_retryable() {
            StepOutcome::RetryAfter(Duration::ZERO, e.to_string())
        } else {
            StepOutcome::Failed(e.to_string())
        }
    }
}

/// A named step implementation. Must be idempotent: the engine runs it
/// again after a retry or a crash.
#[async_trait]
pub trait StepHandler: Send + Sync + fmt::Debug {
    /// Runs one attempt.
    async fn run(&self, ctx: &StepContext) -> StepOutcome;
}

/// Handlers by name.
#[derive(Debug, Clone, Default)]
pub struct HandlerRegistry {
    handlers: BTreeMap<String, Arc<dyn StepHandler>>,
    executor: Option<Arc<dyn ClusterExecutor>>,
}

impl HandlerRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// A registry with the built-in handlers over `executor`.
    pub fn with_executor(executor: Arc<dyn ClusterExecutor>) -> Self {
        let mut r = Self::new();
        r.executor = Some(executor.clone());
        for op in builtin::ALL {
            r.register(op, Arc::new(ExecutorStep { op, executor: executor.clone() }));
        }
        r
    }

    /// The executor given to [`HandlerRegistry::with_executor`]; the engine
    /// builds its backup and restore steps over it.
    pub fn executor(&self) -> Option<&Arc<dyn ClusterExecutor>> {
        self.executor.as_ref()
    }

    /// Registers (or replaces) a handler.
    pub fn register(&mut self, name: &str, handler: Arc<dyn StepHandler>) {
        self.handlers.insert(name.to_owned(), handler);
    }

    /// Whether a handler of that name exists.
    pub fn contains(&self, name: &str) -> bool {
        self.handlers.contains_key(name)
    }

    /// The handler of that name.
    pub fn get(&self, name: &str) -> Option<Arc<dyn StepHandler>> {
        self.handlers.get(name).cloned()
    }
}

/// Names of the built-in handlers.
pub mod builtin {
    /// Creates the namespace on every cluster.
    pub const ENSURE_NAMESPACE: &str = "ensure_namespace";
    /// Applies the desired objects on every cluster.
    pub const APPLY: &str = "apply";
    /// Observes every cluster until all replicas are ready (retrying until the step's deadline).
    pub const WAIT_READY: &str = "wait_ready";
    /// Pauses on every cluster.
    pub const PAUSE: &str = "pause";
    /// Resumes on every cluster.
    pub const RESUME: &str = "resume";
    /// Removes everything on every cluster.
    pub const REMOVE: &str = "remove";
    /// Takes the backup a job names (its parameter named by the step's
    /// `target` parameter, default `backup`) on the first cluster, then
    /// verifies its objects in the bucket and marks it `done`. Registered by
    /// the engine itself.
    pub const BACKUP: &str = "backup";
    /// Loads the backup a job names (parameter `source`) into the
    /// deployment on its first cluster. Registered by the engine itself.
    pub const RESTORE: &str = "restore";
    /// Every built-in handler that maps to one executor call per cluster.
    pub const ALL: [&str; 6] = [ENSURE_NAMESPACE, APPLY, WAIT_READY, PAUSE, RESUME, REMOVE];
}

#[derive(Debug)]
struct ExecutorStep {
    op: &'static str,
    executor: Arc<dyn ClusterExecutor>,
}

#[async_trait]
impl StepHandler for ExecutorStep {
    async fn run(&self, ctx: &StepContext) -> StepOutcome {
        let d = &ctx.desired;
        for cluster in &ctx.clusters {
            let span = tracing::debug_span!(
                "executor",
                op = self.op,
                cluster = %cluster.slug,
                deployment = %d.effective.deployment_id
            );
            let result = async {
                match self.op {
                    builtin::ENSURE_NAMESPACE => self.executor.ensure_namespace(cluster, d).await.map(|()| None),
                    builtin::APPLY => self.executor.apply(cluster, d).await.map(|()| None),
                    builtin::PAUSE => self.executor.pause(cluster, d).await.map(|()| None),
                    builtin::RESUME => self.executor.resume(cluster, d).await.map(|()| None),
                    builtin::REMOVE => self.executor.remove(cluster, d).await.map(|()| None),
                    builtin::WAIT_READY => self.executor.observe(cluster, d).await.map(Some),
                    other => Err(Error::backend(format!("unknown built-in handler {other}"), false)),
                }
            }
            .instrument(span)
            .await;
            match result {
                Ok(Some(seen)) if seen.ready_replicas < d.effective.replicas.value => {
                    let poll = ctx.step.spec.parameters.get("poll_seconds").and_then(|p| p.parse().ok()).unwrap_or(5);
                    return StepOutcome::RetryAfter(
                        Duration::from_secs(poll),
                        format!(
                            "{} of {} replicas ready on {}",
                            seen.ready_replicas, d.effective.replicas.value, cluster.slug
                        ),
                    );
                }
                Ok(_) => {}
                Err(e) => return StepOutcome::from_error(&e),
            }
        }
        StepOutcome::Done
    }
}
