//! Backup retention, as the scheduler applies it (SPEC §6).
//!
//! When retention looks: a backup that becomes `done` or `error` is due for
//! review at once; after a review, each backup kept only for being recent
//! (manual, pre-restore, failed) is due again at the instant it ages out.
//! Tier decisions change only when a newer backup arrives, which is itself
//! a review. So a tick reads the `BackupsToReview` time index up to now,
//! and the cost follows the deployments due, not the number of backups.
//!
//! A review plans the deployment's backups with
//! [`retention::plan`](crate::backups::retention::plan) under its scope's
//! **current** policy, deletes each expiring backup's objects, then marks it
//! `expired` (so a crash in between leaves a backup that is expired again,
//! harmlessly, at the next review). Only a backup's own prefix
//! (`<ns>/<deployment>/<backup>/`, with whatever the executor wrote below it)
//! is deleted: a location outside it, shared by the
//! deployment's backups (pgBackRest's repository, for `pgo`) is left to the
//! tool that owns it, and the record alone is marked `expired`.

use super::Engine;
use crate::backups::retention::{self, BackupFacts, Decision, KeepReason, RetainedKind, RetainedState};
use crate::clock::Timestamp;
use crate::error::Result;
use crate::ids::DeploymentId;
use crate::model::{Backup, BackupKind, BackupState, Deployment, Scope};
use crate::storage::{Index, StoreExt, Transaction, Versioned};

/// What a review did to one deployment's backups.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reviewed {
    /// Backups marked `expired`.
    pub expired: Vec<crate::ids::BackupId>,
    /// Objects deleted from the bucket.
    pub objects_deleted: usize,
}

fn facts(b: &Backup) -> BackupFacts {
    let kind = match b.kind {
        BackupKind::Manual => RetainedKind::Manual,
        BackupKind::DailyTriggered => RetainedKind::DailyTriggered,
        BackupKind::CronFull => RetainedKind::CronFull,
        BackupKind::PreRestore => RetainedKind::PreRestore,
    };
    let state = match b.state {
        BackupState::Running => RetainedState::Running,
        BackupState::Done => RetainedState::Done,
        BackupState::Error => RetainedState::Error,
        BackupState::Expired => RetainedState::Expired,
    };
    BackupFacts::new(b.id, kind, state, b.started_at, b.ended_at)
}

impl Engine {
    /// Deployments whose backups are due for review at `now`.
    pub(crate) async fn retention_due(&self, now: Timestamp) -> Result<Vec<DeploymentId>> {
        let until = Index::time_parent(now);
        let mut due = std::collections::BTreeSet::new();
        for b in self.store().list_between(Index::BackupsToReview(0), Index::BackupsToReview(until)).await? {
            if let Some(b) = Versioned::<Backup>::from_stored(b)
                && b.value.review_at.is_some_and(|at| at <= now)
            {
                due.insert(b.value.deployment_id);
            }
        }
        Ok(due.into_iter().collect())
    }

    /// Reviews one deployment's backups at `now` (see the module docs).
    #[tracing::instrument(name = "retention", level = "info", skip_all, fields(deployment = %deployment), err(Display))]
    pub async fn review_backups(&self, deployment: DeploymentId, now: Timestamp) -> Result<Reviewed> {
        let backups = self.store().children::<Backup>(Index::DeploymentBackups(deployment)).await?;
        let Some(d) = self.store().find::<Deployment>(deployment.0).await? else { return Ok(Reviewed::default()) };
        let policy = self.store().fetch::<Scope>(d.value.scope_id.0).await?.value.backup_retention;
        let all: Vec<BackupFacts> = backups.iter().map(|b| facts(&b.value)).collect();
        let plan = retention::plan(&all, &policy, now);
        let own_prefix = |b: &Backup| format!("{}{:016x}/", crate::service::deployment_prefix(&d.value), b.id.0);
        let mut reviewed = Reviewed::default();
        for read in &backups {
            let b = &read.value;
            let mut next = b.clone();
            match plan.decision(b.id) {
                Some(Decision::Expire) => {
                    let prefix = own_prefix(b);
                    let shared = b.location.as_ref().is_some_and(|l| !l.starts_with(&prefix));
                    if !shared && let Some(ds) = b.datasource_id {
                        let storage = self.eyrie().object_storage(ds).await?;
                        reviewed.objects_deleted +=
                            self.eyrie().backup_objects()?.delete_prefix(&storage, &prefix).await?;
                    }
                    next.state = BackupState::Expired;
                    next.review_at = None;
                    reviewed.expired.push(b.id);
                    tracing::info!(backup = %b.id, kind = b.kind.as_str(), "backup expired");
                }
                Some(Decision::Keep(reasons)) if reasons.len() == 1 && reasons.contains(&KeepReason::Recent) => {
                    next.review_at = Some(b.ended_at.unwrap_or(b.started_at).plus_seconds(policy.manual_for_seconds));
                }
                _ => next.review_at = None,
            }
            if next != *b {
                self.eyrie()
                    .retrying(|| async {
                        match self.store().find::<Backup>(b.id.0).await? {
                            // Written only over the state it was planned from.
                            Some(now_read) if now_read.value.state == b.state => self
                                .store()
                                .commit(Transaction::new().update(&now_read, next.clone()))
                                .await
                                .map(|_| ()),
                            _ => Ok(()),
                        }
                    })
                    .await?;
            }
        }
        Ok(reviewed)
    }
}
