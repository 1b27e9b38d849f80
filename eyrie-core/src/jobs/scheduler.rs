//! The scheduler's one pass, [`Engine::tick`]: due pauses and drops,
//! image-driven redeploys, due backups, monitor-log pruning and, with
//! [`super::Monitoring`] attached, monitor checks and staleness.
//!
//! Everything due is found through time indexes (deployments by their next
//! timer, schedules by their next run, logs by their expiry) and the list of
//! images waiting for redeploys, so a tick reads what is due and nothing
//! else. Running two ticks at the same instant launches nothing the second
//! time: a launched job holds its deployment, a launched backup moves its
//! schedule on, pruned logs are gone and a handled image is cleared.

use crate::permission::Principal;
use std::collections::BTreeMap;

use super::Engine;
use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::ids::{BackupScheduleId, DeploymentId, ImageId, MonitorLogId, ScopeId};
use crate::model::{BackupSchedule, Deployment, Image, JobAction, MonitorLog, ScheduleKind, Scope};
use crate::permission::Actor;
use crate::rules::{TimerAction, due_timer};
use crate::storage::{Index, StoreExt, Transaction, UniqueKey, Write};

/// What a tick at one instant would launch. Computing it only reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TickPlan {
    /// Deployments whose pause timer is due.
    pub pauses: Vec<DeploymentId>,
    /// Deployments whose drop timer is due (their scope allows drops).
    pub drops: Vec<DeploymentId>,
    /// Images with a new digest, the subscribers to redeploy now, and how
    /// many subscribers must wait (their deployment is busy).
    pub redeploys: Vec<(ImageId, Vec<DeploymentId>, usize)>,
    /// Backup schedules that are due.
    pub backups: Vec<BackupScheduleId>,
    /// Deployments whose backups retention should look at.
    pub backup_reviews: Vec<DeploymentId>,
    /// Monitor logs past their retention.
    pub expired_logs: Vec<MonitorLogId>,
    /// Monitors whose next check is due.
    pub monitor_checks: Vec<crate::ids::MonitorId>,
    /// Monitors without a result for three intervals.
    pub stale_monitors: Vec<crate::ids::MonitorId>,
}

/// What a tick did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TickReport {
    /// The plan it carried out.
    pub plan: TickPlan,
    /// Jobs launched.
    pub jobs: Vec<crate::ids::JobId>,
    /// Monitor logs deleted.
    pub pruned: usize,
    /// Backups expired by retention.
    pub backups_expired: usize,
    /// Monitor checks started (they finish outside the tick).
    pub checks_launched: usize,
    /// Monitors that went `unknown` for want of results.
    pub went_unknown: usize,
    /// What could not be launched, and why (left due for the next tick).
    pub skipped: Vec<String>,
}

/// The next run of a schedule after `now`.
pub fn next_run(kind: &ScheduleKind, now: Timestamp) -> Option<Timestamp> {
    match kind {
        ScheduleKind::DailyTriggered => Some(now.plus_seconds(86_400)),
        ScheduleKind::CronFull(cron) => cron.next_after(now),
    }
}

impl Engine {
    async fn busy(&self, d: DeploymentId) -> Result<bool> {
        Ok(self.store().get_unique(&UniqueKey::ActiveJob(d)).await?.is_some())
    }

    /// What a tick at `now` would launch; reads only what is due.
    pub async fn plan_tick(&self, now: Timestamp) -> Result<TickPlan> {
        let mut plan = TickPlan::default();
        let until = Index::time_parent(now);
        let mut scopes: BTreeMap<ScopeId, Scope> = BTreeMap::new();
        for d in self.store().list_between(Index::DeploymentTimers(0), Index::DeploymentTimers(until)).await? {
            let Some(d) = crate::storage::Versioned::<Deployment>::from_stored(d) else { continue };
            let d = d.value;
            let scope = match scopes.get(&d.scope_id) {
                Some(s) => s.clone(),
                None => {
                    let s = self.store().fetch::<Scope>(d.scope_id.0).await?.value;
                    scopes.insert(d.scope_id, s.clone());
                    s
                }
            };
            match due_timer(&d, &scope, now) {
                Some(_) if self.busy(d.id).await? => {}
                Some(TimerAction::Pause) => plan.pauses.push(d.id),
                Some(TimerAction::Drop) => plan.drops.push(d.id),
                None => {}
            }
        }
        for image in self.store().children::<Image>(Index::ImagesPendingRedeploy).await? {
            let mut now_ready = Vec::new();
            let mut waiting = 0;
            for d in self.eyrie().subscribers(image.value.id).await? {
                if self.busy(d).await? {
                    waiting += 1;
                } else {
                    now_ready.push(d);
                }
            }
            plan.redeploys.push((image.value.id, now_ready, waiting));
        }
        for s in self.store().list_between(Index::BackupsDue(0), Index::BackupsDue(until)).await? {
            if let Some(s) = crate::storage::Versioned::<BackupSchedule>::from_stored(s)
                && s.value.next_run_at.is_some_and(|at| at <= now)
            {
                plan.backups.push(s.value.id);
            }
        }
        plan.backup_reviews = self.retention_due(now).await?;
        for l in self.store().list_between(Index::LogsExpiring(0), Index::LogsExpiring(until)).await? {
            if let Some(l) = crate::storage::Versioned::<MonitorLog>::from_stored(l)
                && l.value.delete_after.is_some_and(|at| at <= now)
            {
                plan.expired_logs.push(l.value.id);
            }
        }
        // Retention is decided now, by each scope's current setting: for every
        // scope that has one, one range read over its logs by minute written,
        // up to the cutoff. The cost follows the scopes with retention and the
        // logs due, not the number of logs kept.
        for scope in self.store().children::<Scope>(Index::ScopesWithLogRetention).await? {
            let Some(keep) = scope.value.monitor_log_delete_after_seconds else { continue };
            let cutoff =
                Timestamp(now.as_millis().saturating_sub(i64::try_from(keep.saturating_mul(1000)).unwrap_or(i64::MAX)));
            let id = scope.value.id;
            let (from, to) = (Index::scope_log_parent(id, Timestamp(0)), Index::scope_log_parent(id, cutoff));
            for l in self.store().list_between(Index::ScopeLogs(from), Index::ScopeLogs(to)).await? {
                if let Some(l) = crate::storage::Versioned::<MonitorLog>::from_stored(l)
                    && l.value.scope_id == Some(id)
                    && l.value.at <= cutoff
                {
                    plan.expired_logs.push(l.value.id);
                }
            }
        }
        (plan.monitor_checks, plan.stale_monitors) = super::monitoring::plan(self.store().as_ref(), now).await?;
        Ok(plan)
    }

    /// The scheduler's pass at `now`: launches what [`Engine::plan_tick`]
    /// finds, as the system actor. A launch that fails is reported in
    /// `skipped` and stays due.
    pub async fn tick(&self, now: Timestamp) -> Result<TickReport> {
        let plan = self.plan_tick(now).await?;
        let mut report = TickReport { plan: plan.clone(), ..TickReport::default() };
        let timed =
            plan.pauses.iter().map(|d| (*d, JobAction::Pause)).chain(plan.drops.iter().map(|d| (*d, JobAction::Drop)));
        for (d, action) in timed {
            match self.submit(Actor::System, d, action, BTreeMap::new()).await {
                Ok(job) => report.jobs.push(job.id),
                Err(e) => report.skipped.push(format!("{action} of {d}: {e}")),
            }
        }
        for (image, ready, waiting) in &plan.redeploys {
            let mut waiting = *waiting;
            for d in ready {
                match self.submit(Actor::System, *d, JobAction::Redeploy, BTreeMap::new()).await {
                    Ok(job) => report.jobs.push(job.id),
                    Err(e) => {
                        waiting += 1;
                        report.skipped.push(format!("redeploy of {d}: {e}"));
                    }
                }
            }
            if waiting == 0 {
                self.clear_redeploy(*image).await?;
            }
        }
        for id in &plan.backups {
            match self.launch_backup(*id, now).await {
                Ok(Some(job)) => report.jobs.push(job),
                Ok(None) => {}
                Err(e) => report.skipped.push(format!("backup of schedule {id}: {e}")),
            }
        }
        for d in &plan.backup_reviews {
            match self.review_backups(*d, now).await {
                Ok(r) => report.backups_expired += r.expired.len(),
                Err(e) => report.skipped.push(format!("backup retention of {d}: {e}")),
            }
        }
        for chunk in plan.expired_logs.chunks(256) {
            let mut tx = Transaction::new();
            for id in chunk {
                if let Some(log) = self.store().find::<MonitorLog>(id.0).await? {
                    tx.writes.push(Write::Delete(crate::storage::Entity::key(&log.value), log.revision));
                }
            }
            report.pruned += tx.writes.len();
            self.store().commit(tx).await?;
        }
        if let Some(monitoring) = self.monitoring() {
            // Staleness first: a check launched now has not answered yet.
            report.went_unknown = monitoring.mark_stale(&plan.stale_monitors, now).await?;
            let (launched, skipped) = monitoring.launch(&plan.monitor_checks, now).await;
            report.checks_launched = launched;
            report.skipped.extend(skipped);
        }
        Ok(report)
    }

    /// Runs the scheduler and the jobs until `shutdown` completes: every
    /// `every`, one [`Engine::tick`] at the clock's current instant, then
    /// [`Engine::run_until_idle`]. Errors of one round are logged through
    /// `tracing` and do not stop the loop; a job that is running when
    /// `shutdown` completes is left for the next start (its lease lapses and
    /// it is resumed).
    pub async fn serve(&self, every: std::time::Duration, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            let round = async {
                let report = self.tick(self.eyrie().clock().now()).await?;
                for skipped in &report.skipped {
                    tracing::info!(skipped = %skipped, "scheduler left work due");
                }
                self.run_until_idle().await
            };
            tokio::select! {
                () = &mut shutdown => return,
                result = round => {
                    if let Err(e) = result {
                        tracing::warn!(error = %e, "scheduler round failed");
                    }
                }
            }
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(every) => {}
            }
        }
    }

    async fn clear_redeploy(&self, id: ImageId) -> Result<()> {
        self.eyrie()
            .retrying(|| async {
                let read = self.store().fetch::<Image>(id.0).await?;
                let mut image = read.value.clone();
                image.redeploy_pending = false;
                self.store().commit(Transaction::new().update(&read, image)).await.map(|_| ())
            })
            .await
    }

    /// Launches one due backup and moves its schedule on, in one transaction.
    /// A busy deployment keeps the schedule due; a deployment that cannot be
    /// backed up (not deployed) skips this run.
    async fn launch_backup(&self, id: BackupScheduleId, now: Timestamp) -> Result<Option<crate::ids::JobId>> {
        let read = self.store().fetch::<BackupSchedule>(id.0).await?;
        let mut schedule = read.value.clone();
        schedule.last_run_at = Some(now);
        schedule.next_run_at = next_run(&schedule.kind, now);
        let kind = match schedule.kind {
            ScheduleKind::DailyTriggered => "daily",
            ScheduleKind::CronFull(_) => "cron",
        };
        let params = BTreeMap::from([(super::backups::PARAM_SCHEDULE.to_owned(), kind.to_owned())]);
        match self.prepare(Principal::System, schedule.deployment_id, JobAction::Backup, &params).await {
            Ok((job, tx)) => {
                let tx = tx.update(&read, schedule);
                let event = self.eyrie().audit(Principal::System, Some(job.project_id), "job.backup", job.id);
                match self.eyrie().commit(tx, event).await {
                    Ok(()) => Ok(Some(job.id)),
                    Err(e @ Error::AlreadyExists { .. }) => Err(self.busy_or(e, read.value.deployment_id).await),
                    Err(e) => Err(e),
                }
            }
            Err(e @ Error::Busy { .. }) => Err(e),
            Err(e) => {
                self.store().commit(Transaction::new().update(&read, schedule)).await?;
                Err(e)
            }
        }
    }
}
