//! The job engine: creates jobs from books, runs their steps with bounded
//! concurrency, persists every transition before acting on it, retries with
//! capped exponential back-off, times steps out, and resumes jobs whose
//! engine died.

use crate::permission::Principal;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tracing::Instrument;

use super::handler::{HandlerRegistry, StepContext, StepOutcome};
use super::lifecycle::{action_permission, apply_outcome, check_can_start};
use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::ids::{BookId, DeploymentId, JobId};
use crate::lifecycle::JobState;
use crate::model::{Job, JobAction, JobStep, Lease, Scope, StepKind, StepState, StepStats};
use crate::permission::Actor;
use crate::rules::deployment_clusters;
use crate::service::{Eyrie, allow, as_seen};
use crate::storage::{Index, Store, StoreExt, Transaction, UniqueKey, Versioned};

/// Entries of a job's parameters, at most.
pub const MAX_JOB_PARAMETERS: usize = 16;
/// Bytes of a job's parameters (keys and values), at most.
pub const MAX_JOB_PARAMETER_BYTES: usize = 8 * 1024;

/// What one [`Engine::run_until_idle`] did.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct RunReport {
    /// Jobs that reached a final state (done, error or cancel).
    pub finished: usize,
    /// Every error met, with the job it came from when known.
    pub errors: Vec<(Option<JobId>, Error)>,
}

impl RunReport {
    /// Whether no error was met.
    pub fn is_clean(&self) -> bool {
        self.errors.is_empty()
    }
}

impl std::fmt::Display for RunReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} job(s) finished", self.finished)?;
        for (job, e) in &self.errors {
            match job {
                Some(job) => write!(f, "; {job}: {e}")?,
                None => write!(f, "; {e}")?,
            }
        }
        Ok(())
    }
}

/// How an engine runs jobs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct EngineConfig {
    /// This engine's id, shown in the leases it takes. `None` (the default)
    /// draws a fresh id from the service's [`IdSource`](crate::IdSource) when
    /// the engine is built, so two engines never share one. Ownership of a
    /// claim never rests on this id: every claim carries a fresh token.
    pub engine_id: Option<u64>,
    /// Jobs run at once, at most.
    pub max_concurrent_jobs: usize,
    /// How long a claim on a running job lasts without renewal (seconds, by the injected clock).
    pub lease_seconds: u64,
    /// First retry delay; doubles on every attempt.
    pub retry_base: Duration,
    /// Longest retry delay.
    pub retry_cap: Duration,
    /// Attempts of one step before it fails for good.
    pub max_attempts: u32,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            engine_id: None,
            max_concurrent_jobs: 4,
            lease_seconds: 300,
            retry_base: Duration::from_secs(1),
            retry_cap: Duration::from_secs(300),
            max_attempts: 8,
        }
    }
}

/// Runs jobs. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Engine {
    id: u64,
    eyrie: Eyrie,
    handlers: Arc<HandlerRegistry>,
    config: EngineConfig,
    slots: Arc<Semaphore>,
    monitoring: Option<Arc<super::monitoring::Monitoring>>,
}

fn job_key(id: JobId) -> crate::storage::RecordKey {
    crate::storage::RecordKey::new(crate::storage::EntityKind::Job, id.0)
}

/// How a job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ending {
    Done,
    Failed(String),
    Cancelled,
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Engine {
    /// An engine over the service's store, with these handlers.
    pub fn new(eyrie: Eyrie, handlers: HandlerRegistry, config: EngineConfig) -> Self {
        let slots = Arc::new(Semaphore::new(config.max_concurrent_jobs.max(1)));
        let id = config.engine_id.unwrap_or_else(|| eyrie.next_id());
        let mut handlers = handlers;
        for (name, handler) in super::backups::handlers(&eyrie, handlers.executor().cloned()) {
            if !handlers.contains(name) {
                handlers.register(name, handler);
            }
        }
        Engine { id, eyrie, handlers: Arc::new(handlers), config, slots, monitoring: None }
    }

    /// The same engine with monitor checks: its ticks launch due checks and
    /// mark stale monitors through `monitoring`. Without it, monitors are
    /// left due.
    pub fn with_monitoring(mut self, monitoring: Arc<super::monitoring::Monitoring>) -> Self {
        self.monitoring = Some(monitoring);
        self
    }

    /// The monitoring attached with [`Engine::with_monitoring`].
    pub fn monitoring(&self) -> Option<&Arc<super::monitoring::Monitoring>> {
        self.monitoring.as_ref()
    }

    /// This engine's identity, as written in the leases it takes.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The service.
    pub fn eyrie(&self) -> &Eyrie {
        &self.eyrie
    }

    pub(crate) fn store(&self) -> &Arc<dyn Store> {
        self.eyrie.store()
    }

    /// The registered handlers.
    pub fn handlers(&self) -> &HandlerRegistry {
        &self.handlers
    }

    /// The configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The retry delay after `attempts` attempts: `base × 2^(attempts-1)`, capped.
    pub fn backoff(&self, attempts: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempts.saturating_sub(1));
        self.config.retry_base.saturating_mul(factor).min(self.config.retry_cap)
    }

    /// Creates a job for `action` on a deployment, copying its book's steps.
    ///
    /// One job per deployment at a time: while a job of the deployment is
    /// active (draft, scheduled or running), another action is **refused**
    /// with [`Error::Busy`] rather than queued, so nobody's request waits
    /// silently behind a job that may take long or fail. Cancel the active
    /// job, or wait for it, then ask again.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor, deployment = %deployment, action = %action), err(level = "debug", Display))]
    pub async fn submit(
        &self,
        actor: Actor,
        deployment: DeploymentId,
        action: JobAction,
        parameters: BTreeMap<String, String>,
    ) -> Result<Job> {
        let actor = self.eyrie.identify(actor).await?;
        crate::model::check_params("parameters", &parameters, MAX_JOB_PARAMETERS, MAX_JOB_PARAMETER_BYTES)?;
        super::backups::check_reserved(actor, action, &parameters)?;
        self.eyrie
            .retrying(|| async {
                let (job, tx) = self.prepare(actor, deployment, action, &parameters).await?;
                let event = self.eyrie.audit(actor, Some(job.project_id), &format!("job.{action}"), job.id);
                match self.eyrie.commit(tx, event).await {
                    Ok(()) => Ok(job),
                    Err(e @ Error::AlreadyExists { .. }) => Err(self.busy_or(e, deployment).await),
                    Err(e) => Err(e),
                }
            })
            .await
    }

    /// Builds the job and the transaction that creates it (shared with the scheduler).
    pub(crate) async fn prepare(
        &self,
        actor: Principal,
        deployment: DeploymentId,
        action: JobAction,
        parameters: &BTreeMap<String, String>,
    ) -> Result<(Job, Transaction)> {
        let da = self.eyrie.deployment_access(actor, deployment).await?;
        allow(actor, action_permission(action), &da.resource())?;
        let d = &da.deployment.value;
        check_can_start(action, d, &da.scope.value)?;
        if matches!(action, JobAction::Initialize | JobAction::Deploy | JobAction::Redeploy) {
            let mut clusters = Vec::new();
            for id in deployment_clusters(&d.cluster_ids, &da.group.value, &da.scope.value)? {
                clusters.push(self.store().fetch::<crate::model::Cluster>(id.0).await?.value);
            }
            crate::rules::check_clusters_active(&clusters)?;
        }
        if let Some(active) = self.store().get_unique(&UniqueKey::ActiveJob(deployment)).await? {
            return Err(Error::Busy { deployment, job: Some(JobId(active.record.key().id)) });
        }
        let group_type = da.group.value.group_type;
        let (book_id, book_name, steps) = match self.latest_book(group_type, action).await? {
            Some(b) => (b.id, format!("{} v{}", b.name, b.version), b.steps),
            None => (
                BookId(0),
                format!("{group_type}-{action} (built-in)"),
                super::books::default_steps(group_type, action),
            ),
        };
        let now = self.eyrie.now();
        let id = JobId(self.eyrie.next_id());
        let extras = self.backup_extras(actor, &da, action, parameters, id).await?;
        let mut parameters = parameters.clone();
        parameters.extend(extras.parameters);
        let mut steps: Vec<JobStep> = steps
            .into_iter()
            .map(|spec| JobStep {
                spec,
                state: StepState::Pending,
                attempts: 0,
                started_at: None,
                finished_at: None,
                retry_at: None,
                last_error: None,
            })
            .collect();
        super::backups::keep_steps(&mut steps, &parameters);
        let job = Job {
            id,
            project_id: d.project_id,
            deployment_id: d.id,
            action,
            book_id,
            book: book_name,
            actor: actor.reference(),
            state: JobState::Scheduled,
            transitions: vec![(JobState::Draft, now), (JobState::Scheduled, now)],
            steps,
            lease: None,
            desired: None,
            notes: extras.notes,
            cancel_requested: false,
            error: None,
            parameters,
            created_at: now,
        };
        let mut tx = da.access.pinned().unchanged(&da.deployment).create(job.clone());
        for pinned in &extras.pins {
            tx = tx.unchanged(pinned);
        }
        for backup in extras.backups {
            tx = tx.create(backup);
        }
        Ok((job, tx))
    }

    /// A create refused as `AlreadyExists` while a job was being added: when
    /// the deployment now has an active job, the typed [`Error::Busy`]
    /// (another submit won the race); otherwise the store's own error.
    pub(crate) async fn busy_or(&self, e: Error, deployment: DeploymentId) -> Error {
        match self.store().get_unique(&UniqueKey::ActiveJob(deployment)).await {
            Ok(Some(active)) => Error::Busy { deployment, job: Some(JobId(active.record.key().id)) },
            _ => e,
        }
    }

    /// Reads a job (authorized as reading the deployment's jobs).
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor, id = %id), err(level = "debug", Display))]
    pub async fn get_job(&self, actor: Actor, id: JobId) -> Result<Job> {
        let actor = self.eyrie.identify(actor).await?;
        let job = self.store().fetch::<Job>(id.0).await?.value;
        let da = self.eyrie.deployment_access(actor, job.deployment_id).await.map_err(as_seen(job_key(id)))?;
        allow(actor, crate::permission::Action::ReadJobs, &da.resource())?;
        Ok(job)
    }

    /// The jobs of a deployment, oldest first.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor, deployment = %deployment), err(level = "debug", Display))]
    pub async fn list_jobs(&self, actor: Actor, deployment: DeploymentId) -> Result<Vec<Job>> {
        let actor = self.eyrie.identify(actor).await?;
        let da = self.eyrie.deployment_access(actor, deployment).await?;
        allow(actor, crate::permission::Action::ReadJobs, &da.resource())?;
        let mut jobs: Vec<Job> = self
            .store()
            .children::<Job>(Index::DeploymentJobs(deployment))
            .await?
            .into_iter()
            .map(|v| v.value)
            .collect();
        jobs.sort_by_key(|j| (j.created_at, j.id));
        Ok(jobs)
    }

    /// Reads a job for a change by `actor`, who needs the permission of the
    /// job's action; the transaction pins what that decision rested on.
    async fn job_for_change(&self, actor: Principal, id: JobId) -> Result<(Versioned<Job>, Transaction)> {
        let read = self.store().fetch::<Job>(id.0).await?;
        let da = self.eyrie.deployment_access(actor, read.value.deployment_id).await.map_err(as_seen(job_key(id)))?;
        allow(actor, action_permission(read.value.action), &da.resource())?;
        Ok((read, da.access.pinned()))
    }

    /// Cancels a job: at once when it has not started, between steps when it runs.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor, id = %id), err(level = "debug", Display))]
    pub async fn cancel(&self, actor: Actor, id: JobId) -> Result<Job> {
        let actor = self.eyrie.identify(actor).await?;
        self.eyrie
            .retrying(|| async {
                let (read, pinned) = self.job_for_change(actor, id).await?;
                let mut job = read.value.clone();
                match job.state {
                    JobState::Draft | JobState::Scheduled => job.enter(JobState::Cancel, self.eyrie.now())?,
                    JobState::Running => job.cancel_requested = true,
                    other => {
                        return Err(Error::InvalidTransition {
                            machine: "job",
                            from: other.as_str().into(),
                            to: JobState::Cancel.as_str().into(),
                        });
                    }
                }
                let event = self.eyrie.audit(actor, Some(job.project_id), "job.cancel", id);
                self.eyrie.commit(pinned.update(&read, job.clone()), event).await?;
                Ok(job)
            })
            .await
    }

    /// Marks the manual step a job waits on as done; the job goes on at the next run.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor, id = %id), err(level = "debug", Display))]
    pub async fn complete_manual_step(&self, actor: Actor, id: JobId) -> Result<Job> {
        let actor = self.eyrie.identify(actor).await?;
        self.eyrie
            .retrying(|| async {
                let (read, pinned) = self.job_for_change(actor, id).await?;
                let mut job = read.value.clone();
                let waiting = job.current_step().filter(|&i| job.steps[i].state == StepState::WaitingManual);
                let Some(i) = waiting else {
                    return Err(Error::policy(format!("job {id} is not waiting for a manual step")));
                };
                let now = self.eyrie.now();
                job.steps[i].state = StepState::Done;
                job.steps[i].finished_at = Some(now);
                let event = self.eyrie.audit(actor, Some(job.project_id), "job.manual_step_done", id);
                self.eyrie.commit(pinned.update(&read, job.clone()), event).await?;
                Ok(job)
            })
            .await
    }

    /// A lease on a job for `lease_seconds` plus `extra`, under `token`.
    fn lease(&self, token: u64, extra: Duration) -> Lease {
        let seconds = self.config.lease_seconds.saturating_add(extra.as_secs());
        Lease { engine: self.id, token, until: self.eyrie.now().plus_seconds(seconds) }
    }

    /// Whether the claim stored on `job` is still ours: the same token.
    fn still_ours(stored: &Job, ours: &Job) -> bool {
        matches!((stored.lease, ours.lease), (Some(a), Some(b)) if a.token == b.token)
    }

    /// Whether anyone may claim `job` now. A live lease is never claimable,
    /// not even by the engine that holds it: one run of a job at a time.
    fn claimable(&self, job: &Job, now: Timestamp) -> bool {
        match job.state {
            JobState::Scheduled => true,
            JobState::Running => {
                let lease_ok = job.lease.is_none_or(|l| l.until <= now);
                let waiting = job.current_step().is_some_and(|i| job.steps[i].state == StepState::WaitingManual);
                lease_ok && (!waiting || job.cancel_requested)
            }
            _ => false,
        }
    }

    /// The jobs this engine may run now: scheduled ones, its own running
    /// ones, and running ones whose engine's lease lapsed (a dead process).
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug", Display))]
    pub async fn runnable_jobs(&self) -> Result<Vec<JobId>> {
        let now = self.eyrie.now();
        let mut out = Vec::new();
        for state in [JobState::Scheduled, JobState::Running] {
            for job in self.store().children::<Job>(Index::JobsInState(Index::job_state_parent(state))).await? {
                if self.claimable(&job.value, now) {
                    out.push(job.value.id);
                }
            }
        }
        Ok(out)
    }

    /// Runs every runnable job until none is left, at most
    /// `max_concurrent_jobs` at once, and reports what happened: how many
    /// jobs reached a final state, and every error met on the way (a job
    /// that errs does not hide another's). Jobs waiting for a manual step
    /// stay running and are left alone. Fails only when the runnable jobs
    /// cannot be listed at all.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug", Display))]
    pub async fn run_until_idle(&self) -> Result<RunReport> {
        let mut report = RunReport::default();
        loop {
            let runnable = self.runnable_jobs().await?;
            if runnable.is_empty() {
                break;
            }
            let mut set = JoinSet::new();
            for id in runnable {
                let engine = self.clone();
                set.spawn(async move {
                    let _slot = engine.slots.clone().acquire_owned().await;
                    let outcome = match engine.claim(id).await {
                        Ok(Some(claimed)) => engine.drive(claimed).await.map(Some),
                        Ok(None) => Ok(None),
                        Err(e) => Err(e),
                    };
                    (id, outcome)
                });
            }
            let mut progressed = false;
            while let Some(joined) = set.join_next().await {
                match joined {
                    Ok((_, Ok(Some(job)))) => {
                        progressed = true;
                        if !job.state.is_active() {
                            report.finished += 1;
                        }
                    }
                    // Another engine claimed it first: nothing to do here.
                    Ok((_, Ok(None))) => {}
                    Ok((id, Err(e))) => {
                        tracing::warn!(job = %id, error = %e, "a job run failed");
                        report.errors.push((Some(id), e));
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "a job task panicked or was cancelled");
                        report.errors.push((None, Error::backend(format!("job task failed: {e}"), false)));
                    }
                }
            }
            if !progressed {
                break;
            }
        }
        Ok(report)
    }

    /// Claims a job for this engine (scheduled → running, or a lapsed
    /// lease) under a fresh token; `None` when it is not claimable or
    /// another engine claimed it first.
    async fn claim(&self, id: JobId) -> Result<Option<Versioned<Job>>> {
        let read = self.store().fetch::<Job>(id.0).await?;
        let now = self.eyrie.now();
        if !self.claimable(&read.value, now) {
            return Ok(None);
        }
        let mut job = read.value.clone();
        if job.state == JobState::Scheduled {
            job.enter(JobState::Running, now)?;
        }
        job.lease = Some(self.lease(self.eyrie.next_id(), Duration::ZERO));
        match self.store().commit(Transaction::new().update(&read, job.clone())).await {
            Ok(receipt) => {
                let revision = receipt.written.first().and_then(|w| w.1).unwrap_or(read.revision);
                Ok(Some(Versioned { revision, value: job }))
            }
            Err(Error::Conflict(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Persists `next` over `current`, merging a concurrent cancel request.
    /// Fails with `Conflict` when another engine took the job.
    async fn save(&self, current: Versioned<Job>, mut next: Job) -> Result<Versioned<Job>> {
        let mut base = current;
        for _ in 0..crate::service::MAX_ATTEMPTS {
            match self.store().commit(Transaction::new().update(&base, next.clone())).await {
                Ok(receipt) => {
                    let revision = receipt.written.first().and_then(|w| w.1).unwrap_or(base.revision);
                    return Ok(Versioned { revision, value: next });
                }
                Err(Error::Conflict(_)) => {
                    let stored = self.store().fetch::<Job>(next.id.0).await?;
                    if !Self::still_ours(&stored.value, &base.value) || !stored.value.state.is_active() {
                        return Err(Error::Conflict(format!("job {} was taken over by another engine", next.id)));
                    }
                    // Only the engine holding the lease changes steps and state;
                    // people only ask for a cancel, which is kept.
                    next.cancel_requested |= stored.value.cancel_requested;
                    base = stored;
                }
                Err(e) => return Err(e),
            }
        }
        Err(Error::Conflict(format!("job {} kept changing", next.id)))
    }

    /// How long step `i` may run: `estimated_duration × over_stop`, with a
    /// zero estimate replaced by the step's historical average; `None` when unknown.
    async fn step_limit(&self, job: &Job, group_type: crate::model::GroupType, i: usize) -> Result<Option<Duration>> {
        let spec = &job.steps[i].spec;
        let estimate = if spec.estimated_duration > 0 {
            Some(spec.estimated_duration)
        } else {
            let id = StepStats::id_for(group_type, job.action, &spec.name);
            self.store().find::<StepStats>(id.0).await?.and_then(|s| s.value.average_seconds())
        };
        Ok(estimate.map(|e| Duration::from_secs(e.saturating_mul(u64::from(spec.estimated_duration_over_stop)))))
    }

    /// What a step needs, read afresh. The rules checked when the job was
    /// submitted are checked again here, before every step that may reach a
    /// cluster (SPEC §9): the deployment's state still allows the action,
    /// the scope still allows a drop, and every cluster is still `active`
    /// for initialize, deploy and redeploy. A broken rule fails the step for
    /// good with a message naming it, and nothing reaches a cluster.
    async fn context(&self, job: &Job, i: usize) -> Result<(StepContext, crate::model::GroupType)> {
        let da = self.eyrie.deployment_access(Principal::System, job.deployment_id).await?;
        let recheck = |e: Error| Error::policy(format!("checked again when the step ran: {e}"));
        check_can_start(job.action, &da.deployment.value, &da.scope.value).map_err(recheck)?;
        // The desired state is fixed at the first step that reaches a cluster
        // (saved on the job with that step's start) and reused by the rest.
        let desired = match &job.desired {
            Some(fixed) => (**fixed).clone(),
            None => {
                self.eyrie
                    .desired_of(&da.access.project.value, &da.group.value, &da.scope.value, &da.deployment.value)
                    .await?
            }
        };
        let mut records = Vec::new();
        for id in desired.effective.cluster_ids.value.iter() {
            records.push(self.store().fetch::<crate::model::Cluster>(id.0).await?.value);
        }
        if matches!(job.action, JobAction::Initialize | JobAction::Deploy | JobAction::Redeploy) {
            crate::rules::check_clusters_active(&records).map_err(recheck)?;
        }
        // The system principal may open every cluster: no further check.
        let clusters = records.into_iter().map(|c| self.eyrie.open_cluster_record(c)).collect::<Result<Vec<_>>>()?;
        let ctx =
            StepContext { job: job.clone(), step: job.steps[i].clone(), desired, clusters, now: self.eyrie.now() };
        Ok((ctx, da.group.value.group_type))
    }

    async fn record_stats(&self, group_type: crate::model::GroupType, job: &Job, i: usize) -> Result<()> {
        let step = &job.steps[i];
        let (Some(start), Some(end)) = (step.started_at, step.finished_at) else { return Ok(()) };
        let elapsed = u64::try_from(end.millis_since(start)).unwrap_or(0);
        let id = StepStats::id_for(group_type, job.action, &step.spec.name);
        self.eyrie
            .retrying(|| async {
                let tx = match self.store().find::<StepStats>(id.0).await? {
                    Some(read) => {
                        let mut s = read.value.clone();
                        s.count += 1;
                        s.total_millis = s.total_millis.saturating_add(elapsed);
                        Transaction::new().update(&read, s)
                    }
                    None => Transaction::new().create(StepStats { id, count: 1, total_millis: elapsed }),
                };
                self.store().commit(tx).await.map(|_| ()).map_err(|e| match e {
                    Error::AlreadyExists { .. } => Error::Conflict("stats created meanwhile".into()),
                    other => other,
                })
            })
            .await
    }

    /// Runs one job from its current step until it finishes, waits for a
    /// person, or is lost to another engine. Every step transition is
    /// persisted before the step runs.
    /// Fails with `Conflict` when the job cannot be claimed now.
    #[tracing::instrument(level = "debug", skip_all, fields(id = %id), err(level = "debug", Display))]
    pub async fn run_job(&self, id: JobId) -> Result<Job> {
        match self.claim(id).await? {
            Some(claimed) => self.drive(claimed).await,
            None => Err(Error::Conflict(format!("job {id} is not claimable by engine {} now", self.id))),
        }
    }

    /// Runs a claimed job; see [`Engine::run_job`].
    #[tracing::instrument(
        name = "job",
        level = "info",
        skip_all,
        fields(job = %claimed.value.id, deployment = %claimed.value.deployment_id, action = %claimed.value.action, engine = self.id),
        err(Display)
    )]
    async fn drive(&self, claimed: Versioned<Job>) -> Result<Job> {
        let mut current = claimed;
        loop {
            let job = current.value.clone();
            if !job.state.is_active() {
                return Ok(job);
            }
            if job.cancel_requested {
                return self.finish(current, Ending::Cancelled).await;
            }
            let Some(i) = job.current_step() else {
                return self.finish(current, Ending::Done).await;
            };
            let step = &job.steps[i];
            let handler = match &step.spec.kind {
                StepKind::Manual => {
                    // Waiting for a person holds no claim: once the step is
                    // completed, any engine may take the job on.
                    let mut next = job.clone();
                    if step.state != StepState::WaitingManual {
                        next.steps[i].state = StepState::WaitingManual;
                        next.steps[i].started_at = Some(self.eyrie.now());
                    }
                    next.lease = None;
                    current = self.save(current, next).await?;
                    return Ok(current.value);
                }
                StepKind::Handler(name) => match self.handlers.get(name) {
                    Some(h) => h,
                    None => {
                        let msg = format!("step {} names the unknown handler {name:?}", step.spec.name);
                        return self.fail_step(current, i, msg).await;
                    }
                },
            };
            if step.state == StepState::Running && step.spec.parameters.get("resumable").is_some_and(|v| v == "false") {
                let msg = format!("step {} was interrupted (the engine stopped) and cannot be resumed", step.spec.name);
                return self.fail_step(current, i, msg).await;
            }
            if step.state == StepState::RetryWait
                && let Some(at) = step.retry_at
            {
                let wait = at.millis_since(self.eyrie.now());
                if wait > 0 {
                    tokio::time::sleep(Duration::from_millis(wait.unsigned_abs())).await;
                }
            }
            let (ctx, group_type) = match self.context(&job, i).await {
                Ok(c) => c,
                Err(e) if e.is_retryable() => {
                    match self.retry_later(current, i, e.to_string(), Duration::ZERO).await? {
                        Ok(c) => {
                            current = c;
                            continue;
                        }
                        Err(done) => return Ok(done),
                    }
                }
                Err(e) => return self.fail_step(current, i, e.to_string()).await,
            };
            let limit = self.step_limit(&job, group_type, i).await?;
            let mut next = job.clone();
            let token = job.lease.map_or(0, |l| l.token);
            next.lease = Some(self.lease(token, limit.unwrap_or_default()));
            if next.desired.is_none() {
                next.desired = Some(Box::new(ctx.desired.clone()));
            }
            let s = &mut next.steps[i];
            s.state = StepState::Running;
            s.attempts += 1;
            s.started_at = Some(self.eyrie.now());
            s.retry_at = None;
            current = self.save(current, next).await?;
            let ctx = StepContext { step: current.value.steps[i].clone(), job: current.value.clone(), ..ctx };
            let span = tracing::info_span!(
                "step",
                job = %ctx.job.id,
                deployment = %ctx.job.deployment_id,
                step = %ctx.step.spec.name,
                attempt = ctx.step.attempts,
                outcome = tracing::field::Empty,
            );
            let outcome = async {
                match limit {
                    Some(limit) => match tokio::time::timeout(limit, handler.run(&ctx)).await {
                        Ok(outcome) => outcome,
                        Err(_) => {
                            tracing::warn!(seconds = limit.as_secs(), "step timed out");
                            StepOutcome::Failed(format!(
                                "step {} timed out after {}s (estimated_duration × estimated_duration_over_stop)",
                                ctx.step.spec.name,
                                limit.as_secs()
                            ))
                        }
                    },
                    None => handler.run(&ctx).await,
                }
            }
            .instrument(span.clone())
            .await;
            span.record(
                "outcome",
                match &outcome {
                    StepOutcome::Done => "done",
                    StepOutcome::RetryAfter(..) => "retry",
                    StepOutcome::Failed(_) => "failed",
                },
            );
            match outcome {
                StepOutcome::Done => {
                    let mut next = current.value.clone();
                    let s = &mut next.steps[i];
                    s.state = StepState::Done;
                    s.finished_at = Some(self.eyrie.now());
                    s.last_error = None;
                    current = self.save(current, next).await?;
                    self.record_stats(group_type, &current.value, i).await?;
                }
                StepOutcome::RetryAfter(at_least, why) => match self.retry_later(current, i, why, at_least).await? {
                    Ok(c) => current = c,
                    Err(done) => return Ok(done),
                },
                StepOutcome::Failed(msg) => return self.fail_step(current, i, msg).await,
            }
        }
    }

    /// Schedules another attempt of step `i` (`Ok(Ok(job))`), or fails it
    /// after `max_attempts` (`Ok(Err(finished job))`).
    async fn retry_later(
        &self,
        current: Versioned<Job>,
        i: usize,
        why: String,
        at_least: Duration,
    ) -> Result<std::result::Result<Versioned<Job>, Job>> {
        let attempts = current.value.steps[i].attempts;
        tracing::info!(job = %current.value.id, step = %current.value.steps[i].spec.name, attempts, why = %why, "step will be retried");
        if attempts >= self.config.max_attempts {
            let msg = format!("step {} gave up after {attempts} attempts: {why}", current.value.steps[i].spec.name);
            return self.fail_step(current, i, msg).await.map(Err);
        }
        let delay = self.backoff(attempts.max(1)).max(at_least);
        let mut next = current.value.clone();
        let s = &mut next.steps[i];
        s.state = StepState::RetryWait;
        s.retry_at = Some(Timestamp(
            self.eyrie.now().as_millis().saturating_add(i64::try_from(millis(delay)).unwrap_or(i64::MAX)),
        ));
        s.last_error = Some(why);
        self.save(current, next).await.map(Ok)
    }

    async fn fail_step(&self, current: Versioned<Job>, i: usize, msg: String) -> Result<Job> {
        let mut next = current.value.clone();
        next.steps[i].state = StepState::Failed;
        next.steps[i].finished_at = Some(self.eyrie.now());
        next.steps[i].last_error = Some(msg.clone());
        let current = self.save(current, next).await?;
        self.finish(current, Ending::Failed(msg)).await
    }

    /// Ends a job and applies its effect on the deployment, atomically.
    async fn finish(&self, current: Versioned<Job>, ending: Ending) -> Result<Job> {
        let mut base = current;
        for _ in 0..crate::service::MAX_ATTEMPTS {
            let job = &base.value;
            let now = self.eyrie.now();
            let da = self.eyrie.deployment_access(Principal::System, job.deployment_id).await?;
            let scope: &Scope = &da.scope.value;
            let mut deployment = da.deployment.value.clone();
            let mut tx = Transaction::new();
            let effective = crate::effective::EffectiveDeployment::resolve(
                &da.access.project.value,
                &da.group.value,
                scope,
                &da.deployment.value,
            )?;
            let digest = match effective.image_id {
                Some(image) => self.store().fetch::<crate::model::Image>(image.value.0).await?.value.digest,
                None => None,
            };
            apply_outcome(job.action, &ending, &mut deployment, scope, now, digest)?;
            let changes = crate::service::version_changes(Some(&da.deployment.value), &deployment);
            if !changes.is_empty() {
                tx = tx.create(self.eyrie.version_record(Principal::System, &deployment, changes).await?);
            }
            let mut done = job.clone();
            let (state, error) = match &ending {
                Ending::Done => (JobState::Done, None),
                Ending::Failed(msg) => (JobState::Error, Some(msg.clone())),
                Ending::Cancelled => (JobState::Cancel, None),
            };
            done.enter(state, now)?;
            done.error = error;
            done.lease = None;
            // Backups of this job still `running` were never verified.
            let why = match &ending {
                Ending::Failed(msg) => msg.clone(),
                Ending::Cancelled => "the job was cancelled".to_owned(),
                Ending::Done => "the job ended without verifying the backup".to_owned(),
            };
            tx = self.fail_backups(job, &why, tx).await?;
            tx = tx.update(&base, done.clone());
            if deployment != da.deployment.value {
                tx = tx.update(&da.deployment, deployment);
            }
            let event =
                self.eyrie.audit(Principal::System, Some(job.project_id), &format!("job.{}", state.as_str()), job.id);
            match self.eyrie.commit(tx, event).await {
                Ok(()) => return Ok(done),
                Err(Error::Conflict(_)) => {
                    let stored = self.store().fetch::<Job>(job.id.0).await?;
                    if !Self::still_ours(&stored.value, &base.value) || !stored.value.state.is_active() {
                        return Err(Error::Conflict(format!("job {} was taken over by another engine", job.id)));
                    }
                    base = stored;
                }
                Err(e) => return Err(e),
            }
        }
        Err(Error::Conflict("the deployment kept changing while its job finished".into()))
    }
}
