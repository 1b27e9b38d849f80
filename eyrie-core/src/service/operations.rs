//! Backup schedules and monitor logs (SPEC §6), as far as the scheduler needs them.

use super::{Eyrie, allow};
use crate::error::{Error, Result};
use crate::ids::{BackupScheduleId, DeploymentId, MonitorId, MonitorLogId};
use crate::model::{BackupSchedule, Monitor, MonitorLog, MonitorState, ScheduleKind, Scope};
use crate::permission::{Action, Actor};
use crate::storage::{EntityKind, Index, RecordKey, StoreExt};

impl Eyrie {
    /// Sets a deployment's backup schedule (replacing an earlier one). A
    /// daily schedule is first due at once, then every 24 hours; a cron
    /// schedule at its next firing minute (the expression was validated when parsed).
    pub async fn set_backup_schedule(
        &self,
        actor: Actor,
        id: DeploymentId,
        kind: ScheduleKind,
    ) -> Result<BackupSchedule> {
        let actor = self.identify(actor).await?;
        self.retrying(|| async {
            let da = self.deployment_access(actor, id).await?;
            allow(actor, Action::Backup, &da.resource())?;
            let now = self.now();
            let next_run_at = match &kind {
                ScheduleKind::DailyTriggered => Some(now),
                ScheduleKind::CronFull(cron) => cron.next_after(now),
            };
            let mut tx = da.access.pinned().unchanged(&da.deployment);
            for old in self.store.children::<BackupSchedule>(Index::DeploymentSchedules(id)).await? {
                tx = tx.delete(&old);
            }
            let schedule = BackupSchedule {
                id: BackupScheduleId(self.next_id()),
                project_id: da.deployment.value.project_id,
                deployment_id: id,
                kind: kind.clone(),
                last_run_at: None,
                next_run_at,
            };
            let tx = tx.create(schedule.clone());
            self.commit(tx, self.audit(actor, Some(schedule.project_id), "backup_schedule.set", schedule.id)).await?;
            Ok(schedule)
        })
        .await
    }

    /// Records one check of a monitor (the system actor, or whoever may edit
    /// its monitors). The log may be pruned after its scope's
    /// `monitor_log_delete_after_seconds`, counted from now.
    pub async fn record_monitor_log(
        &self,
        actor: Actor,
        monitor: MonitorId,
        state: MonitorState,
        value: Option<u64>,
        message: &str,
    ) -> Result<MonitorLog> {
        let actor = self.identify(actor).await?;
        if message.len() > 4096 {
            return Err(crate::ValidationError::field("message", message.len(), "must be at most 4096 bytes").into());
        }
        self.retrying(|| async {
            let read = self.store.fetch::<Monitor>(monitor.0).await?;
            let named = RecordKey::new(EntityKind::Monitor, monitor.0);
            let da = self.deployment_access(actor, read.value.deployment_id).await.map_err(super::as_seen(named))?;
            allow(actor, Action::EditMonitors, &da.resource())?;
            let scope: &Scope = &da.scope.value;
            let now = self.now();
            let log = MonitorLog {
                id: MonitorLogId(self.next_id()),
                project_id: read.value.project_id,
                monitor_id: monitor,
                at: now,
                state,
                value,
                message: message.to_owned(),
                delete_after: None,
                scope_id: Some(scope.id),
            };
            let mut m = read.value.clone();
            m.state = state;
            m.last_check_at = Some(now);
            let tx = da.access.pinned().update(&read, m).create(log.clone());
            self.store.commit(tx).await.map_err(|e| match e {
                Error::AlreadyExists { .. } => Error::Conflict("id reuse".into()),
                other => other,
            })?;
            Ok(log)
        })
        .await
    }
}
