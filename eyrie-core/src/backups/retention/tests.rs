//! Worked examples of the retention rules, each date checked by hand.

use super::calendar::utc;
use super::*;

fn facts(id: u64, kind: RetainedKind, state: RetainedState, at: Timestamp) -> BackupFacts {
    BackupFacts { id: BackupId(id), kind, state, started_at: Timestamp(at.0 - 60_000), ended_at: Some(at) }
}

fn kept(plan: &RetentionPlan) -> Vec<u64> {
    let mut ids: Vec<u64> =
        plan.decisions.iter().filter(|(_, d)| matches!(d, Decision::Keep(_))).map(|(id, _)| id.0).collect();
    ids.sort_unstable();
    ids
}

fn reasons(plan: &RetentionPlan, id: u64) -> Vec<KeepReason> {
    match plan.decision(BackupId(id)) {
        Some(Decision::Keep(r)) => r.iter().copied().collect(),
        other => panic!("backup {id} is not kept: {other:?}"),
    }
}

#[test]
fn two_months_of_daily_backups_under_the_default_policy() {
    // One daily backup at 02:00 UTC from 2026-01-01 (id 1) to 2026-02-28 (id 59).
    // 2026-02-28 is a Saturday; the Sundays before it are Feb 22, 15 and 8.
    let day = |id: u64| if id <= 31 { utc(2026, 1, id as i64, 2) } else { utc(2026, 2, id as i64 - 31, 2) };
    let backups: Vec<_> =
        (1..=59).map(|id| facts(id, RetainedKind::DailyTriggered, RetainedState::Done, day(id))).collect();
    let plan = plan(&backups, &RetentionPolicy::default(), utc(2026, 2, 28, 12));
    // Daily: Feb 22-28 (ids 53-59). Weekly: Feb 28, 22, 15 (46), 8 (39).
    // Monthly: Feb 28, Jan 31 (31); only two months have backups.
    assert_eq!(kept(&plan), [31, 39, 46, 53, 54, 55, 56, 57, 58, 59]);
    assert_eq!(plan.expire().len(), 49);
    assert_eq!(
        reasons(&plan, 59),
        [
            KeepReason::NewestDone,
            KeepReason::Tier(Tier::Daily),
            KeepReason::Tier(Tier::Weekly),
            KeepReason::Tier(Tier::Monthly)
        ]
    );
    assert_eq!(reasons(&plan, 53), [KeepReason::Tier(Tier::Daily), KeepReason::Tier(Tier::Weekly)]);
    assert_eq!(reasons(&plan, 46), [KeepReason::Tier(Tier::Weekly)]);
    assert_eq!(reasons(&plan, 31), [KeepReason::Tier(Tier::Monthly)]);
    // Expired newest first.
    assert_eq!(plan.expire()[0], BackupId(52));
}

#[test]
fn the_newest_of_a_day_represents_it_and_cron_counts_like_daily() {
    let now = utc(2026, 3, 10, 23);
    let backups = [
        facts(1, RetainedKind::CronFull, RetainedState::Done, utc(2026, 3, 10, 1)),
        facts(2, RetainedKind::CronFull, RetainedState::Done, utc(2026, 3, 10, 13)),
        facts(3, RetainedKind::DailyTriggered, RetainedState::Done, utc(2026, 3, 9, 2)),
        facts(4, RetainedKind::DailyTriggered, RetainedState::Done, utc(2026, 3, 8, 2)),
    ];
    let plan = plan(&backups, &RetentionPolicy::new(2, 0, 0, 86_400), now);
    assert_eq!(kept(&plan), [2, 3]);
    assert_eq!(plan.expire(), [BackupId(1), BackupId(4)]);
}

#[test]
fn manual_and_pre_restore_backups_last_the_window() {
    let now = utc(2026, 6, 30, 12);
    let thirty_days = 30 * 86_400_000;
    let backups = [
        facts(1, RetainedKind::Manual, RetainedState::Done, Timestamp(now.0 - thirty_days + 1)),
        facts(2, RetainedKind::Manual, RetainedState::Done, Timestamp(now.0 - thirty_days)),
        facts(3, RetainedKind::PreRestore, RetainedState::Done, Timestamp(now.0 - thirty_days - 1)),
        facts(4, RetainedKind::PreRestore, RetainedState::Done, Timestamp(now.0 - 1000)),
    ];
    let plan = plan(&backups, &RetentionPolicy::default(), now);
    assert_eq!(reasons(&plan, 1), [KeepReason::Recent]);
    assert_eq!(reasons(&plan, 4), [KeepReason::NewestDone, KeepReason::Recent]);
    // Due at the instant it is 30 days old.
    assert_eq!(plan.expire(), [BackupId(2), BackupId(3)]);
}

#[test]
fn the_newest_done_backup_survives_everything() {
    let now = utc(2027, 1, 1, 0);
    let old = utc(2025, 1, 1, 0);
    let backups = [
        facts(1, RetainedKind::Manual, RetainedState::Done, old),
        facts(2, RetainedKind::DailyTriggered, RetainedState::Error, utc(2026, 12, 31, 0)),
        facts(3, RetainedKind::DailyTriggered, RetainedState::Expired, utc(2026, 12, 30, 0)),
    ];
    let plan = plan(&backups, &RetentionPolicy::new(0, 0, 0, 0), now);
    assert_eq!(reasons(&plan, 1), [KeepReason::NewestDone]);
    assert_eq!(plan.decision(BackupId(3)), Some(&Decision::Untouched));
    assert_eq!(plan.expire(), [BackupId(2)]);
}

#[test]
fn running_is_kept_and_failed_ones_wait_out_the_window() {
    let now = utc(2026, 6, 30, 12);
    let backups = [
        BackupFacts {
            id: BackupId(1),
            kind: RetainedKind::DailyTriggered,
            state: RetainedState::Running,
            started_at: utc(2026, 1, 1, 0),
            ended_at: None,
        },
        facts(2, RetainedKind::CronFull, RetainedState::Error, utc(2026, 6, 29, 0)),
        facts(3, RetainedKind::Manual, RetainedState::Error, utc(2026, 5, 1, 0)),
    ];
    let plan = plan(&backups, &RetentionPolicy::default(), now);
    assert_eq!(reasons(&plan, 1), [KeepReason::Running]);
    assert_eq!(reasons(&plan, 2), [KeepReason::Recent]);
    assert_eq!(plan.expire(), [BackupId(3)]);
}

#[test]
fn duplicate_ids_are_planned_once() {
    let at = utc(2026, 1, 1, 0);
    let b = facts(1, RetainedKind::Manual, RetainedState::Done, at);
    let plan = plan(&[b, b], &RetentionPolicy::default(), at);
    assert_eq!(plan.decisions.len(), 1);
}

#[test]
fn a_setter_changes_one_tier_of_the_default() {
    let policy = RetentionPolicy::default().with_daily(14).with_manual_for_seconds(86_400);
    assert_eq!(policy, RetentionPolicy::new(14, 4, 3, 86_400));
    assert_eq!(RetentionPolicy::default().with_weekly(0).with_monthly(12), RetentionPolicy::new(7, 0, 12, 30 * 86_400));
}
