//! Backup and restore jobs: starting them ([`Engine::backup_now`],
//! [`Engine::restore`], seeding at initialization from a scope's
//! `restore_from_scope`), the records a job creates with itself, and the two
//! step handlers that reach a cluster and the bucket.
//!
//! How a backup runs: the `backup` step asks the executor to take it
//! ([`ClusterExecutor::backup`], idempotent; `Running` is polled), then
//! lists what the executor wrote under the location it reported — which
//! must lie inside the deployment's own prefix — and requires at least one
//! object and no empty one. It records location, keys, total size and the
//! bucket's checksums, and marks the backup `done`. A job that ends without
//! that leaves its backups in `error`, with the job's reason.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tracing::Instrument;

use super::Engine;
use super::handler::{StepContext, StepHandler, StepOutcome};
use crate::error::{Error, Result};
use crate::executor::{BackupTarget, ClusterExecutor, Progress, RestoreSource};
use crate::ids::{BackupId, DeploymentId, JobId};
use crate::model::{Backup, BackupKind, BackupState, Deployment, GroupType, Job, JobAction, JobStep};
use crate::permission::{Action, Actor, Principal};
use crate::service::{Eyrie, allow, as_seen, unseen};
use crate::storage::{EntityKind, Index, RecordKey, StoreExt, Transaction, Versioned};

/// Job parameter: the backup a backup job takes.
pub const PARAM_BACKUP: &str = "backup";
/// Job parameter: the backup a restore (or a seeding initialize) loads.
pub const PARAM_SOURCE: &str = "source";
/// Job parameter: the safety backup a restore takes first.
pub const PARAM_PRE_RESTORE: &str = "pre_restore_backup";
/// Job parameter the scheduler sets on a backup job: `daily` or `cron`.
pub const PARAM_SCHEDULE: &str = "schedule";
/// Job parameter of [`Engine::submit`] for a restore: `"false"` skips the
/// safety backup.
pub const PARAM_TAKE_PRE_RESTORE: &str = "pre_restore";
/// Step parameter: a step that runs only when the job has this parameter.
pub const STEP_ONLY_WITH: &str = "only_with";
/// The most object keys recorded on one backup.
pub const MAX_RECORDED_KEYS: usize = 1_000;

/// Options of [`Engine::restore`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RestoreOptions {
    /// Take a `pre_restore` backup of the target first (default: yes).
    pub pre_restore: bool,
}

impl Default for RestoreOptions {
    fn default() -> Self {
        RestoreOptions { pre_restore: true }
    }
}

impl RestoreOptions {
    /// Whether to take the safety backup first.
    pub fn with_pre_restore(mut self, take: bool) -> Self {
        self.pre_restore = take;
        self
    }
}

/// What a backup-related job adds to its creation.
#[derive(Debug, Default)]
pub(crate) struct Extras {
    pub(crate) parameters: BTreeMap<String, String>,
    pub(crate) backups: Vec<Backup>,
    pub(crate) pins: Vec<Versioned<Backup>>,
    pub(crate) notes: Vec<String>,
}

fn refuse_none(group_type: GroupType, action: JobAction) -> Result<()> {
    if group_type == GroupType::None {
        return Err(Error::policy(format!(
            "deployments of group type none keep no data: {action} is not offered for them"
        )));
    }
    Ok(())
}

fn parse_id(parameters: &BTreeMap<String, String>, name: &str) -> Option<u64> {
    parameters.get(name).and_then(|v| v.parse().ok())
}

impl Engine {
    /// Starts a `manual` backup of a deployment (`developer` and up): a
    /// Backup job, and the `running` backup record it fills. The backup id
    /// is the job's `backup` parameter. Refused for group type `none`, for a
    /// deployment not in `deploy` or `pause`, and for a scope with no
    /// `backup_dest_datasource`.
    pub async fn backup_now(&self, actor: Actor, deployment: DeploymentId) -> Result<Job> {
        self.submit(actor, deployment, JobAction::Backup, BTreeMap::new()).await
    }

    /// Restores a `done` backup into `into`, a deployment of the same group
    /// type in the same project (`developer` and up on both), first taking
    /// a `pre_restore` backup of `into` unless `options` say not to.
    /// Refused, changing nothing, for a backup that is not `done`, another
    /// project's deployment, or another group type.
    pub async fn restore(
        &self,
        actor: Actor,
        backup: BackupId,
        into: DeploymentId,
        options: RestoreOptions,
    ) -> Result<Job> {
        let parameters = BTreeMap::from([
            (PARAM_SOURCE.to_owned(), backup.0.to_string()),
            (PARAM_TAKE_PRE_RESTORE.to_owned(), options.pre_restore.to_string()),
        ]);
        self.submit(actor, into, JobAction::Restore, parameters).await
    }

    /// The backup records, parameters and pins a job of `action` brings,
    /// decided with the rest of [`Engine::prepare`].
    pub(crate) async fn backup_extras(
        &self,
        actor: Principal,
        da: &crate::service::DeploymentAccess,
        action: JobAction,
        parameters: &BTreeMap<String, String>,
        job: JobId,
    ) -> Result<Extras> {
        let mut extras = Extras::default();
        let d = &da.deployment.value;
        let group_type = da.group.value.group_type;
        match action {
            JobAction::Backup => {
                refuse_none(group_type, action)?;
                let kind = match parameters.get(PARAM_SCHEDULE).map(String::as_str) {
                    None => BackupKind::Manual,
                    Some("cron") => BackupKind::CronFull,
                    Some(_) => BackupKind::DailyTriggered,
                };
                let b = self.new_backup(d, da, kind, job)?;
                extras.parameters.insert(PARAM_BACKUP.to_owned(), b.id.0.to_string());
                extras.backups.push(b);
            }
            JobAction::Restore => {
                refuse_none(group_type, action)?;
                let Some(source) = parse_id(parameters, PARAM_SOURCE) else {
                    return Err(crate::validate::ValidationError::field(
                        "parameters",
                        PARAM_SOURCE,
                        "a restore names the backup to restore",
                    )
                    .into());
                };
                let source = self.restorable(actor, BackupId(source), d, group_type).await?;
                if source.value.deployment_id != d.id && !self.restores_across_deployments(group_type) {
                    return Err(Error::policy(format!(
                        "this engine's executor cannot restore a {group_type} deployment from another deployment's \
                         backup ({} is of {})",
                        source.value.id, source.value.deployment_id
                    )));
                }
                if parameters.get(PARAM_TAKE_PRE_RESTORE).is_none_or(|v| v != "false") {
                    let b = self.new_backup(d, da, BackupKind::PreRestore, job).map_err(|e| {
                        Error::policy(format!("{e}; restore with pre_restore off to skip the safety backup"))
                    })?;
                    extras.parameters.insert(PARAM_PRE_RESTORE.to_owned(), b.id.0.to_string());
                    extras.backups.push(b);
                }
                extras.pins.push(source);
            }
            JobAction::Initialize => {
                if let Some(from) = da.scope.value.restore_from_scope {
                    if !self.restores_across_deployments(group_type) {
                        extras.notes.push(format!(
                            "restore_from_scope names scope {from}, but this engine's executor cannot seed a \
                             {group_type} deployment from another deployment's backup: starting empty"
                        ));
                        return Ok(extras);
                    }
                    match self.newest_done_in(from, group_type).await? {
                        Some(seed) => {
                            extras.parameters.insert(PARAM_SOURCE.to_owned(), seed.value.id.0.to_string());
                            extras.notes.push(format!(
                                "seeded from backup {} of deployment {} (restore_from_scope {from})",
                                seed.value.id, seed.value.deployment_id
                            ));
                            extras.pins.push(seed);
                        }
                        None => extras.notes.push(format!(
                            "restore_from_scope names scope {from}, which has no done backup: starting empty"
                        )),
                    }
                }
            }
            _ => {}
        }
        Ok(extras)
    }

    fn new_backup(
        &self,
        d: &Deployment,
        da: &crate::service::DeploymentAccess,
        kind: BackupKind,
        job: JobId,
    ) -> Result<Backup> {
        let Some(datasource) = da.scope.value.backup_dest_datasource else {
            return Err(Error::policy(format!(
                "scope {} has no backup_dest_datasource: there is nowhere to put a backup",
                da.scope.value.code
            )));
        };
        let mut b = Backup::started(BackupId(self.eyrie().next_id()), d.project_id, d.id, kind, self.eyrie().now());
        b.scope_id = Some(d.scope_id);
        b.group_type = Some(da.group.value.group_type);
        b.job_id = Some(job);
        b.datasource_id = Some(datasource);
        Ok(b)
    }

    /// The source of a restore, checked: visible to the actor, `done`, of
    /// the target's project and group type.
    async fn restorable(
        &self,
        actor: Principal,
        id: BackupId,
        into: &Deployment,
        group_type: GroupType,
    ) -> Result<Versioned<Backup>> {
        let named = RecordKey::new(EntityKind::Backup, id.0);
        let read = self.store().find::<Backup>(id.0).await?.ok_or_else(|| unseen(named))?;
        let b = &read.value;
        if b.project_id != into.project_id {
            // Whether or not the actor knows the other project, a backup is
            // restored only within its own: answered as not found here.
            return Err(unseen(named));
        }
        let source = self.eyrie().deployment_access(actor, b.deployment_id).await.map_err(as_seen(named))?;
        allow(actor, Action::ReadBackups, &source.resource())?;
        if b.group_type.is_some_and(|t| t != group_type) {
            return Err(Error::policy(format!(
                "backup {id} is of a {} deployment; it can only be restored into one of the same group type, not {group_type}",
                b.group_type.map_or_else(String::new, |t| t.to_string())
            )));
        }
        if b.state != BackupState::Done {
            return Err(Error::policy(format!(
                "backup {id} is {}: only done backups can be restored",
                b.state.as_str()
            )));
        }
        Ok(read)
    }

    /// Whether the executor can restore a backup of one deployment into
    /// another of `group_type` (see
    /// [`ClusterExecutor::restores_across_deployments`]).
    fn restores_across_deployments(&self, group_type: GroupType) -> bool {
        self.handlers().executor().is_none_or(|e| e.restores_across_deployments(group_type))
    }

    /// The newest `done` backup taken in `scope` of a deployment of `group_type`.
    async fn newest_done_in(
        &self,
        scope: crate::ids::ScopeId,
        group_type: GroupType,
    ) -> Result<Option<Versioned<Backup>>> {
        let all = self.store().children::<Backup>(Index::ScopeBackups(scope)).await?;
        Ok(all
            .into_iter()
            .filter(|b| b.value.state == BackupState::Done && b.value.group_type.is_none_or(|t| t == group_type))
            .max_by_key(|b| (b.value.ended_at.unwrap_or(b.value.started_at), b.value.id)))
    }

    /// Marks every still-running backup of `job` as `error` in `tx`.
    pub(crate) async fn fail_backups(&self, job: &Job, why: &str, mut tx: Transaction) -> Result<Transaction> {
        // Only the records this job created: named by its own parameters
        // (which no caller may set, see `check_reserved`) and tied to it.
        let now = self.eyrie().now();
        for name in [PARAM_BACKUP, PARAM_PRE_RESTORE] {
            let Some(id) = parse_id(&job.parameters, name) else { continue };
            let Some(backup) = self.store().find::<Backup>(id).await? else { continue };
            if backup.value.job_id == Some(job.id) && backup.value.state == BackupState::Running {
                let mut b = backup.value.clone();
                b.state = BackupState::Error;
                b.error = Some(why.to_owned());
                b.ended_at = Some(now);
                b.review_at = Some(now);
                tx = tx.update(&backup, b);
            }
        }
        Ok(tx)
    }
}

/// Refuses job parameters that name backups, which only the engine sets:
/// `backup` and `pre_restore_backup` always, `source` except on a restore
/// (where it is checked like [`Engine::restore`]'s), and `schedule` (which
/// puts a backup in retention's tiers) unless the system asks. Otherwise a
/// caller could point a step at a record it may not touch.
pub(crate) fn check_reserved(actor: Principal, action: JobAction, parameters: &BTreeMap<String, String>) -> Result<()> {
    for name in [PARAM_BACKUP, PARAM_PRE_RESTORE, PARAM_SOURCE, PARAM_SCHEDULE] {
        let allowed = (name == PARAM_SOURCE && action == JobAction::Restore)
            || (name == PARAM_SCHEDULE && actor == Principal::System);
        if parameters.contains_key(name) && !allowed {
            return Err(crate::validate::ValidationError::field(
                "parameters",
                name,
                "is set by the engine, not by the caller",
            )
            .into());
        }
    }
    Ok(())
}

/// Removes the steps whose `only_with` parameter the job lacks.
pub(crate) fn keep_steps(steps: &mut Vec<JobStep>, parameters: &BTreeMap<String, String>) {
    steps.retain(|s| s.spec.parameters.get(STEP_ONLY_WITH).is_none_or(|p| parameters.contains_key(p)));
}

/// The `backup` and `restore` handlers over `executor`.
pub(crate) fn handlers(
    eyrie: &Eyrie,
    executor: Option<Arc<dyn ClusterExecutor>>,
) -> [(&'static str, Arc<dyn StepHandler>); 2] {
    let step = |op| Arc::new(DataStep { op, eyrie: eyrie.clone(), executor: executor.clone() }) as Arc<dyn StepHandler>;
    [(super::handler::builtin::BACKUP, step(DataOp::Backup)), (super::handler::builtin::RESTORE, step(DataOp::Restore))]
}

fn poll(ctx: &StepContext) -> Duration {
    Duration::from_secs(ctx.step.spec.parameters.get("poll_seconds").and_then(|p| p.parse().ok()).unwrap_or(10))
}

/// Which data operation a [`DataStep`] runs.
#[derive(Debug, Clone, Copy)]
enum DataOp {
    Backup,
    Restore,
}

impl DataOp {
    fn name(self) -> &'static str {
        match self {
            DataOp::Backup => "backup",
            DataOp::Restore => "restore",
        }
    }
}

/// The `backup` and `restore` handlers: a cluster operation through the
/// executor (polled while it runs), with the store and the bucket around it.
#[derive(Debug)]
struct DataStep {
    op: DataOp,
    eyrie: Eyrie,
    executor: Option<Arc<dyn ClusterExecutor>>,
}

#[async_trait]
impl StepHandler for DataStep {
    async fn run(&self, ctx: &StepContext) -> StepOutcome {
        let attempt = match self.op {
            DataOp::Backup => self.backup(ctx).await,
            DataOp::Restore => self.restore(ctx).await,
        };
        attempt.unwrap_or_else(|e| StepOutcome::from_error(&e))
    }
}

impl DataStep {
    async fn backup(&self, ctx: &StepContext) -> Result<StepOutcome> {
        let param = ctx.step.spec.parameters.get("target").map_or(PARAM_BACKUP, String::as_str);
        let Some(id) = parse_id(&ctx.job.parameters, param) else {
            return Ok(StepOutcome::Failed(format!("the job names no backup to take (parameter {param})")));
        };
        let store = self.eyrie.store();
        let read = store.fetch::<Backup>(id).await?;
        if read.value.job_id != Some(ctx.job.id) {
            return Ok(StepOutcome::Failed(format!("backup {} does not belong to this job", read.value.id)));
        }
        if read.value.state == BackupState::Done {
            return Ok(StepOutcome::Done);
        }
        if read.value.state != BackupState::Running {
            return Ok(StepOutcome::Failed(format!("backup {} is {}", read.value.id, read.value.state.as_str())));
        }
        let (executor, cluster) = match self.reach(ctx) {
            Ok(reached) => reached,
            Err(outcome) => return Ok(outcome),
        };
        let Some(ds) = read.value.datasource_id else {
            return Ok(StepOutcome::Failed(format!("backup {} names no datasource", read.value.id)));
        };
        let objects = self.eyrie.backup_objects()?.clone();
        let storage = self.eyrie.object_storage(ds).await?;
        let deployment = store.fetch::<Deployment>(read.value.deployment_id.0).await?.value;
        let deployment_prefix = crate::service::deployment_prefix(&deployment);
        let target = BackupTarget {
            backup_id: read.value.id,
            kind: read.value.kind,
            prefix: format!("{deployment_prefix}{:016x}/", read.value.id.0),
            deployment_prefix: deployment_prefix.clone(),
            storage: storage.clone(),
        };
        let span = tracing::debug_span!("executor", op = "backup", cluster = %cluster.slug, backup = %read.value.id);
        let progress = executor.backup(cluster, &ctx.desired, &target).instrument(span).await?;
        let location = match self.finished(progress, ctx, cluster) {
            Ok(location) => location,
            Err(outcome) => return Ok(outcome),
        };
        if !crate::service::inside(&location, &deployment_prefix) {
            return Ok(StepOutcome::Failed(format!(
                "the executor reported location {location:?}, outside the deployment's prefix {deployment_prefix}"
            )));
        }
        let found = objects.inspect(&storage, &location).await?;
        if found.is_empty() {
            return Ok(StepOutcome::Failed(format!(
                "no backup object found under {location} in bucket {}",
                storage.bucket
            )));
        }
        if let Some(empty) = found.iter().find(|o| o.size == 0) {
            return Ok(StepOutcome::Failed(format!("backup object {} is empty", empty.key)));
        }
        let size = found.iter().map(|o| o.size).sum();
        let checksum = found.iter().map(|o| o.checksum.clone().unwrap_or_default()).collect::<Vec<_>>().join(",");
        let keys: Vec<String> = found.into_iter().take(MAX_RECORDED_KEYS).map(|o| o.key).collect();
        let now = self.eyrie.now();
        self.eyrie
            .retrying(|| async {
                let read = store.fetch::<Backup>(id).await?;
                if read.value.state != BackupState::Running {
                    return Ok(());
                }
                let mut b = read.value.clone();
                b.state = BackupState::Done;
                b.location = Some(location.clone());
                b.object_keys = keys.clone();
                b.size_bytes = Some(size);
                b.checksum = Some(checksum.clone());
                b.ended_at = Some(now);
                b.review_at = Some(now);
                store.commit(Transaction::new().update(&read, b)).await.map(|_| ())
            })
            .await?;
        tracing::info!(backup = %read.value.id, size, "backup verified");
        Ok(StepOutcome::Done)
    }

    async fn restore(&self, ctx: &StepContext) -> Result<StepOutcome> {
        let Some(id) = parse_id(&ctx.job.parameters, PARAM_SOURCE) else {
            return Ok(StepOutcome::Failed("the job names no backup to restore (parameter source)".into()));
        };
        let (executor, cluster) = match self.reach(ctx) {
            Ok(reached) => reached,
            Err(outcome) => return Ok(outcome),
        };
        let b = self.eyrie.store().fetch::<Backup>(id).await?.value;
        if b.project_id != ctx.job.project_id {
            return Ok(StepOutcome::Failed(format!("backup {} is not of this project", b.id)));
        }
        if b.state != BackupState::Done {
            return Ok(StepOutcome::Failed(format!(
                "backup {} is {}: it can no longer be restored",
                b.id,
                b.state.as_str()
            )));
        }
        let (Some(ds), Some(location)) = (b.datasource_id, b.location.clone()) else {
            return Ok(StepOutcome::Failed(format!("backup {} has no recorded location", b.id)));
        };
        let storage = self.eyrie.object_storage(ds).await?;
        let source = RestoreSource {
            run: ctx.job.id,
            backup_id: b.id,
            source_deployment: b.deployment_id,
            location,
            object_keys: b.object_keys.clone(),
            ended_at: b.ended_at,
            storage,
        };
        let span = tracing::debug_span!("executor", op = "restore", cluster = %cluster.slug, backup = %b.id);
        let progress = executor.restore(cluster, &ctx.desired, &source).instrument(span).await?;
        Ok(self.finished(progress, ctx, cluster).map_or_else(|outcome| outcome, |_| StepOutcome::Done))
    }

    /// The executor and the cluster the data lives on (the first), or the
    /// step's failure without them.
    fn reach<'a>(
        &'a self,
        ctx: &'a StepContext,
    ) -> std::result::Result<(&'a Arc<dyn ClusterExecutor>, &'a crate::executor::ClusterAccess), StepOutcome> {
        let Some(executor) = &self.executor else {
            return Err(StepOutcome::Failed(format!(
                "this engine has no cluster executor to run a {} with",
                self.op.name()
            )));
        };
        let Some(cluster) = ctx.clusters.first() else {
            return Err(StepOutcome::Failed("the deployment runs on no cluster".into()));
        };
        Ok((executor, cluster))
    }

    /// The location a finished operation reports, or the step's outcome
    /// while it runs (poll again) or once it failed.
    fn finished(
        &self,
        progress: Progress,
        ctx: &StepContext,
        cluster: &crate::executor::ClusterAccess,
    ) -> std::result::Result<String, StepOutcome> {
        match progress {
            Progress::Running(msg) => Err(StepOutcome::RetryAfter(poll(ctx), msg)),
            Progress::Failed(why) => {
                Err(StepOutcome::Failed(format!("{} failed on {}: {why}", self.op.name(), cluster.slug)))
            }
            Progress::Succeeded { location } => Ok(location),
        }
    }
}
