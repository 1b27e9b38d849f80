//! Retention as a pure planner: given one deployment's backups, the scope's
//! [`RetentionPolicy`] and `now`, which backups to expire.
//!
//! # The rules
//!
//! A backup's *time* is its end time, or its start time when it has none.
//! "Newer" compares time, then id (ids grow, so the later record wins a tie).
//!
//! 1. A backup already `expired` is left alone (neither kept nor expired).
//! 2. A `running` backup is kept: its job has not finished.
//! 3. The newest `done` backup of the deployment, of any kind, is kept — always,
//!    whatever its age or tier.
//! 4. **Scheduled** backups (`daily_triggered` and `cron_full`) that are `done`
//!    form three tiers, each counted on its own (a backup kept by one tier
//!    still counts in the others, as restic's `forget` counts them):
//!    - **daily**: the newest scheduled backup of each UTC calendar day, for
//!      the newest `daily` (default 7) days that have one;
//!    - **weekly**: the newest scheduled backup of each ISO week (Monday 00:00
//!      to Sunday 24:00 UTC), for the newest `weekly` (default 4) weeks that
//!      have one;
//!    - **monthly**: the newest scheduled backup of each UTC calendar month,
//!      for the newest `monthly` (default 3) months that have one.
//!
//!    Periods count only when they hold a backup: a week without backups does
//!    not use up a weekly slot. A scheduled `done` backup no tier keeps is
//!    expired.
//! 5. **Manual** and **pre-restore** backups that are `done` are kept while
//!    younger than `manual_for` (default 30 days), and expired from the instant
//!    they are that old.
//! 6. A backup in `error`, of any kind, is kept for the same `manual_for`
//!    window (its record and any partial object help to find out why), then
//!    expired, which deletes what it left in the bucket.
//!
//! A tier set to 0 keeps nothing by itself. Planning twice at the same `now`,
//! the second time over the outcome of the first, expires nothing more.

mod calendar;

pub use calendar::Tier;

use crate::{BackupId, Timestamp};
use std::collections::{BTreeMap, BTreeSet};

/// Why a backup was taken, as retention sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RetainedKind {
    /// "Backup now".
    Manual,
    /// A daily schedule.
    DailyTriggered,
    /// A cron schedule.
    CronFull,
    /// The safety backup a restore takes first.
    PreRestore,
}

impl RetainedKind {
    /// Whether a schedule took it (it then belongs to the tiers).
    pub fn is_scheduled(self) -> bool {
        matches!(self, RetainedKind::DailyTriggered | RetainedKind::CronFull)
    }
}

/// How far a backup got, as retention sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RetainedState {
    /// Its job has not finished.
    Running,
    /// Stored and verified.
    Done,
    /// Its job failed.
    Error,
    /// Already expired: objects deleted.
    Expired,
}

/// What the planner needs to know of one backup. Build with
/// [`BackupFacts::new`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct BackupFacts {
    /// Identity.
    pub id: BackupId,
    /// Why it was taken.
    pub kind: RetainedKind,
    /// How far it got.
    pub state: RetainedState,
    /// When its job started.
    pub started_at: Timestamp,
    /// When its job ended, if it has.
    pub ended_at: Option<Timestamp>,
}

impl BackupFacts {
    /// The facts of one backup.
    pub fn new(
        id: BackupId,
        kind: RetainedKind,
        state: RetainedState,
        started_at: Timestamp,
        ended_at: Option<Timestamp>,
    ) -> Self {
        BackupFacts { id, kind, state, started_at, ended_at }
    }

    /// Its time for retention: end time, else start time.
    pub fn time(&self) -> Timestamp {
        self.ended_at.unwrap_or(self.started_at)
    }

    /// The sort key of "newer": time, then id.
    fn order(&self) -> (Timestamp, BackupId) {
        (self.time(), self.id)
    }
}

/// A scope's retention policy. [`RetentionPolicy::default`] is 7 daily, 4
/// weekly, 3 monthly, manual ones for 30 days (what Odoo.sh promises).
/// Bounds, checked by [`RetentionPolicy::check`]: at most
/// [`RetentionPolicy::MAX_SLOTS`] periods per tier and
/// [`RetentionPolicy::MAX_MANUAL_SECONDS`] for the manual window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct RetentionPolicy {
    /// Days whose newest scheduled backup is kept.
    pub daily: u32,
    /// ISO weeks whose newest scheduled backup is kept.
    pub weekly: u32,
    /// Calendar months whose newest scheduled backup is kept.
    pub monthly: u32,
    /// How long manual, pre-restore and failed backups are kept, in seconds.
    pub manual_for_seconds: u64,
}

/// Setters: start from [`RetentionPolicy::default`] and change one tier.
impl RetentionPolicy {
    /// Keeping the newest scheduled backup of `days` days.
    pub fn with_daily(mut self, days: u32) -> Self {
        self.daily = days;
        self
    }

    /// Keeping the newest scheduled backup of `weeks` ISO weeks.
    pub fn with_weekly(mut self, weeks: u32) -> Self {
        self.weekly = weeks;
        self
    }

    /// Keeping the newest scheduled backup of `months` calendar months.
    pub fn with_monthly(mut self, months: u32) -> Self {
        self.monthly = months;
        self
    }

    /// Keeping manual, pre-restore and failed backups `seconds`.
    pub fn with_manual_for_seconds(mut self, seconds: u64) -> Self {
        self.manual_for_seconds = seconds;
        self
    }
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        RetentionPolicy { daily: 7, weekly: 4, monthly: 3, manual_for_seconds: 30 * 86_400 }
    }
}

impl RetentionPolicy {
    /// A policy of `daily`, `weekly` and `monthly` slots and a manual window.
    pub fn new(daily: u32, weekly: u32, monthly: u32, manual_for_seconds: u64) -> Self {
        RetentionPolicy { daily, weekly, monthly, manual_for_seconds }
    }

    /// The most periods one tier may keep.
    pub const MAX_SLOTS: u32 = 1_000;
    /// The longest manual window: ten years.
    pub const MAX_MANUAL_SECONDS: u64 = 10 * 366 * 86_400;

    /// Refuses a tier above [`Self::MAX_SLOTS`] or a manual window above
    /// [`Self::MAX_MANUAL_SECONDS`].
    pub fn check(&self) -> Result<(), crate::validate::ValidationError> {
        for (field, value) in [("daily", self.daily), ("weekly", self.weekly), ("monthly", self.monthly)] {
            if value > Self::MAX_SLOTS {
                return Err(crate::validate::ValidationError::field(
                    "backup_retention",
                    format!("{field} = {value}"),
                    "at most 1000 periods per tier",
                ));
            }
        }
        if self.manual_for_seconds > Self::MAX_MANUAL_SECONDS {
            return Err(crate::validate::ValidationError::field(
                "backup_retention",
                format!("manual_for_seconds = {}", self.manual_for_seconds),
                "at most ten years",
            ));
        }
        Ok(())
    }

    /// The number of periods a tier keeps.
    pub fn slots(&self, tier: Tier) -> u32 {
        match tier {
            Tier::Daily => self.daily,
            Tier::Weekly => self.weekly,
            Tier::Monthly => self.monthly,
        }
    }
}

/// Why a backup is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KeepReason {
    /// Its job is still running.
    Running,
    /// The newest `done` backup of the deployment.
    NewestDone,
    /// The newest scheduled backup of one of the tier's kept periods.
    Tier(Tier),
    /// Manual, pre-restore or failed, and younger than the manual window.
    Recent,
}

/// What the planner decided for one backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Keep it, for these reasons (at least one).
    Keep(BTreeSet<KeepReason>),
    /// Delete its objects, then mark it `expired`.
    Expire,
    /// Already expired: nothing to do.
    Untouched,
}

/// The outcome of [`plan`]: one decision per backup, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionPlan {
    /// Each backup and its decision, newest first.
    pub decisions: Vec<(BackupId, Decision)>,
}

impl RetentionPlan {
    /// The backups to expire, newest first.
    pub fn expire(&self) -> Vec<BackupId> {
        self.decisions.iter().filter(|(_, d)| *d == Decision::Expire).map(|(id, _)| *id).collect()
    }

    /// The decision about one backup.
    pub fn decision(&self, id: BackupId) -> Option<&Decision> {
        self.decisions.iter().find(|(i, _)| *i == id).map(|(_, d)| d)
    }
}

/// Plans retention for one deployment's `backups` under `policy` at `now`
/// (see the module docs for the rules). Pure; never fails; duplicate ids are
/// planned once (the first occurrence).
pub fn plan(backups: &[BackupFacts], policy: &RetentionPolicy, now: Timestamp) -> RetentionPlan {
    let mut seen = BTreeSet::new();
    let mut sorted: Vec<&BackupFacts> = backups.iter().filter(|b| seen.insert(b.id)).collect();
    sorted.sort_by_key(|b| std::cmp::Reverse(b.order()));

    let newest_done = sorted.iter().find(|b| b.state == RetainedState::Done).map(|b| b.id);
    let scheduled: Vec<&BackupFacts> =
        sorted.iter().copied().filter(|b| b.state == RetainedState::Done && b.kind.is_scheduled()).collect();
    let mut tier_keeps: BTreeMap<BackupId, BTreeSet<KeepReason>> = BTreeMap::new();
    for tier in Tier::ALL {
        for id in tier_representatives(&scheduled, tier, policy.slots(tier)) {
            tier_keeps.entry(id).or_default().insert(KeepReason::Tier(tier));
        }
    }

    let window_ms = i64::try_from(policy.manual_for_seconds.saturating_mul(1000)).unwrap_or(i64::MAX);
    let decisions = sorted
        .iter()
        .map(|b| {
            let mut reasons = tier_keeps.remove(&b.id).unwrap_or_default();
            if newest_done == Some(b.id) {
                reasons.insert(KeepReason::NewestDone);
            }
            let recent = now.millis_since(b.time()) < window_ms;
            match b.state {
                RetainedState::Expired => return (b.id, Decision::Untouched),
                RetainedState::Running => {
                    reasons.insert(KeepReason::Running);
                }
                RetainedState::Error if recent => {
                    reasons.insert(KeepReason::Recent);
                }
                RetainedState::Done if !b.kind.is_scheduled() && recent => {
                    reasons.insert(KeepReason::Recent);
                }
                RetainedState::Error | RetainedState::Done => {}
            }
            let decision = if reasons.is_empty() { Decision::Expire } else { Decision::Keep(reasons) };
            (b.id, decision)
        })
        .collect();
    RetentionPlan { decisions }
}

/// The newest backup of each of the `slots` newest periods of `tier`;
/// `scheduled` is sorted newest first.
fn tier_representatives(scheduled: &[&BackupFacts], tier: Tier, slots: u32) -> Vec<BackupId> {
    let mut kept = Vec::new();
    let mut last_period = None;
    for b in scheduled {
        if kept.len() >= slots as usize {
            break;
        }
        let period = tier.period(b.time());
        if last_period != Some(period) {
            last_period = Some(period);
            kept.push(b.id);
        }
    }
    kept
}

#[cfg(test)]
mod tests;
