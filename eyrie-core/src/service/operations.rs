//! Backup schedules (SPEC §6), as far as the scheduler needs them. Monitors are in `monitors.rs`.

use super::{Eyrie, allow};
use crate::error::Result;
use crate::ids::{BackupScheduleId, DeploymentId};
use crate::model::{BackupSchedule, ScheduleKind};
use crate::permission::{Action, Actor};
use crate::storage::{Index, StoreExt};

impl Eyrie {
    /// Sets a deployment's backup schedule (replacing an earlier one). A
    /// daily schedule is first due at once, then every 24 hours; a cron
    /// schedule at its next firing minute (the expression was validated when parsed).
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor, id = %id), err(level = "debug", Display))]
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
}
