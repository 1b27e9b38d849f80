//! Property tests of the retention planner over random backup histories.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use eyrie_backup::retention::{
    BackupFacts, Decision, KeepReason, RetainedKind, RetainedState, RetentionPlan, RetentionPolicy, Tier, plan,
};
use eyrie_core::{BackupId, Timestamp};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

const DAY_MS: i64 = 86_400_000;
/// 2026-01-01T00:00Z.
const BASE_MS: i64 = 1_767_225_600_000;

fn kind() -> impl Strategy<Value = RetainedKind> {
    prop_oneof![
        1 => Just(RetainedKind::Manual),
        4 => Just(RetainedKind::DailyTriggered),
        2 => Just(RetainedKind::CronFull),
        1 => Just(RetainedKind::PreRestore),
    ]
}

fn state() -> impl Strategy<Value = RetainedState> {
    prop_oneof![
        1 => Just(RetainedState::Running),
        8 => Just(RetainedState::Done),
        1 => Just(RetainedState::Error),
        1 => Just(RetainedState::Expired),
    ]
}

/// Up to 80 backups over 200 days, several a day at times, some with equal times.
fn history() -> impl Strategy<Value = Vec<BackupFacts>> {
    prop::collection::vec((kind(), state(), 0..200 * 24i64, 0..3_600_000_i64, any::<bool>()), 0..80).prop_map(|raw| {
        raw.into_iter()
            .enumerate()
            .map(|(i, (kind, state, hour, ms, ended))| {
                let started_at = Timestamp(BASE_MS + hour * 3_600_000);
                let ended_at = (ended && state != RetainedState::Running).then_some(Timestamp(started_at.0 + ms));
                BackupFacts::new(BackupId(i as u64 + 1), kind, state, started_at, ended_at)
            })
            .collect()
    })
}

fn policy() -> impl Strategy<Value = RetentionPolicy> {
    (0..10u32, 0..6u32, 0..5u32, 0..60u64)
        .prop_map(|(daily, weekly, monthly, days)| RetentionPolicy::new(daily, weekly, monthly, days * 86_400))
}

fn order(b: &BackupFacts) -> (Timestamp, BackupId) {
    (b.time(), b.id)
}

fn reasons(plan: &RetentionPlan, id: BackupId) -> BTreeSet<KeepReason> {
    match plan.decision(id) {
        Some(Decision::Keep(r)) => r.clone(),
        _ => BTreeSet::new(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn retention_invariants(backups in history(), policy in policy(), after in 200 * DAY_MS..240 * DAY_MS) {
        let now = Timestamp(BASE_MS + after);
        let window = policy.manual_for_seconds as i64 * 1000;
        let p = plan(&backups, &policy, now);

        // One decision per backup; already expired ones are left alone.
        prop_assert_eq!(p.decisions.len(), backups.len());
        for b in &backups {
            let d = p.decision(b.id).unwrap();
            prop_assert_eq!(b.state == RetainedState::Expired, *d == Decision::Untouched, "{:?}: {:?}", b, d);
            if let Decision::Keep(r) = d { prop_assert!(!r.is_empty()); }
        }

        // The newest done backup survives.
        let newest_done = backups.iter().filter(|b| b.state == RetainedState::Done).max_by_key(|b| order(b));
        if let Some(n) = newest_done {
            prop_assert!(reasons(&p, n.id).contains(&KeepReason::NewestDone), "newest done {:?} not kept", n);
        }
        // A running backup is never expired.
        for b in backups.iter().filter(|b| b.state == RetainedState::Running) {
            prop_assert!(reasons(&p, b.id).contains(&KeepReason::Running));
        }

        // Per tier: the newest backup of the newest N periods, no more, no other.
        let scheduled: Vec<&BackupFacts> =
            backups.iter().filter(|b| b.state == RetainedState::Done && b.kind.is_scheduled()).collect();
        for tier in Tier::ALL {
            let mut newest_of: BTreeMap<i64, &BackupFacts> = BTreeMap::new();
            for b in &scheduled {
                let slot = newest_of.entry(tier.period(b.time())).or_insert(b);
                if order(b) > order(slot) { *slot = b; }
            }
            let kept: Vec<&BackupFacts> =
                backups.iter().filter(|b| reasons(&p, b.id).contains(&KeepReason::Tier(tier))).collect();
            let want = (policy.slots(tier) as usize).min(newest_of.len());
            prop_assert_eq!(kept.len(), want, "{:?} keeps {} of {} periods", tier, kept.len(), newest_of.len());
            let kept_periods: BTreeSet<i64> = kept.iter().map(|b| tier.period(b.time())).collect();
            prop_assert_eq!(kept_periods.len(), kept.len(), "{:?} keeps two of one period", tier);
            for k in &kept {
                let period = tier.period(k.time());
                prop_assert_eq!(newest_of[&period].id, k.id, "{:?} kept {:?}, not the newest of its period", tier, k);
            }
            // Nothing kept by the tier is older than a period it passed over.
            for (period, rep) in &newest_of {
                if !kept_periods.contains(period) {
                    prop_assert!(kept_periods.iter().all(|k| k > period), "{:?} passed over {:?}", tier, rep);
                }
            }
        }

        // Expiry is exactly what no rule keeps.
        for b in &backups {
            let age = now.millis_since(b.time());
            let expired = p.decision(b.id) == Some(&Decision::Expire);
            let is_newest = newest_done.is_some_and(|n| n.id == b.id);
            match (b.state, b.kind.is_scheduled()) {
                (RetainedState::Done, false) => prop_assert_eq!(expired, age >= window && !is_newest, "{:?}", b),
                (RetainedState::Error, _) => prop_assert_eq!(expired, age >= window, "{:?}", b),
                (RetainedState::Done, true) => {
                    let tiered = Tier::ALL.iter().any(|t| reasons(&p, b.id).contains(&KeepReason::Tier(*t)));
                    prop_assert_eq!(expired, !tiered && !is_newest, "{:?}", b);
                }
                (RetainedState::Running | RetainedState::Expired, _) => prop_assert!(!expired),
            }
        }

        // Planning again over the outcome, at the same instant, expires nothing more.
        let to_expire: BTreeSet<BackupId> = p.expire().into_iter().collect();
        let after_expiry: Vec<BackupFacts> = backups
            .iter()
            .map(|b| {
                let mut b = *b;
                if to_expire.contains(&b.id) { b.state = RetainedState::Expired; }
                b
            })
            .collect();
        prop_assert_eq!(plan(&after_expiry, &policy, now).expire(), Vec::<BackupId>::new());
    }

    #[test]
    fn the_plan_does_not_depend_on_input_order(backups in history(), policy in policy(), seed in any::<u64>()) {
        let now = Timestamp(BASE_MS + 210 * DAY_MS);
        let mut shuffled = backups.clone();
        // A cheap deterministic shuffle.
        let mut x = seed | 1;
        for i in (1..shuffled.len()).rev() {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            shuffled.swap(i, (x % (i as u64 + 1)) as usize);
        }
        prop_assert_eq!(plan(&backups, &policy, now), plan(&shuffled, &policy, now));
    }
}
