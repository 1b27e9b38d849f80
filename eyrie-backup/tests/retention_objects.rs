//! Retention end to end against a real S3-compatible server: plan, delete
//! the expired backups' objects, and exactly the kept ones remain.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use common::{S3Server, bounded};
use eyrie_backup::retention::{BackupFacts, RetainedKind, RetainedState, RetentionPolicy, plan};
use eyrie_backup::{BackupPrefix, DeploymentPrefix, ObjectKey};
use eyrie_core::{BackupId, DeploymentId, NamespaceUid, Timestamp};
use std::collections::BTreeSet;

const DAY_S: i64 = 86_400;
/// 2026-01-05T03:00Z, a Monday.
const MONDAY: i64 = 1_767_582_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_deletes_exactly_the_expired_backups_objects() {
    bounded("retention", async {
        let server = S3Server::start().await;
        let store = server.store();
        let (ns, dep) = (NamespaceUid(0x51), DeploymentId(0x52));
        let deployment = DeploymentPrefix::new(ns, dep);

        // 21 daily backups (ids 1-21) over three ISO weeks, two manual ones
        // (40 days old and 2 days old), a failed one from last month.
        let mut backups: Vec<BackupFacts> = (1..=21)
            .map(|i| {
                let started = MONDAY + (i as i64 - 1) * DAY_S;
                let (started, ended) =
                    (Timestamp::from_unix_seconds(started), Timestamp::from_unix_seconds(started + 600));
                BackupFacts::new(BackupId(i), RetainedKind::DailyTriggered, RetainedState::Done, started, Some(ended))
            })
            .collect();
        let now = Timestamp::from_unix_seconds(MONDAY + 21 * DAY_S);
        let manual = |id, days_old: i64, state| {
            let started = Timestamp::from_unix_seconds(MONDAY + 21 * DAY_S - days_old * DAY_S);
            BackupFacts::new(BackupId(id), RetainedKind::Manual, state, started, None)
        };
        backups.push(manual(30, 40, RetainedState::Done));
        backups.push(manual(31, 2, RetainedState::Done));
        backups.push(manual(32, 35, RetainedState::Error));

        // Two files per backup; the failed one left a partial dump only.
        for b in &backups {
            let files: &[&str] =
                if b.state == RetainedState::Error { &["db.dump"] } else { &["db.dump", "filestore.tar"] };
            for file in files {
                let key = BackupPrefix::new(ns, dep, b.id).key(file).unwrap();
                store.upload(&key, &b"backup bytes"[..]).await.unwrap();
            }
        }
        // A neighbour deployment whose objects retention must not touch.
        let neighbour = BackupPrefix::new(ns, DeploymentId(0x53), BackupId(1)).key("db.dump").unwrap();
        store.upload(&neighbour, &b"neighbour"[..]).await.unwrap();

        // 3 daily, 2 weekly, 1 monthly: daily keeps days 19-21; weekly the
        // newest of week 3 (21) and of week 2 (14); monthly January's newest (21).
        let policy = RetentionPolicy::new(3, 2, 1, 30 * DAY_S as u64);
        let p = plan(&backups, &policy, now);
        let mut expire: Vec<u64> = p.expire().iter().map(|id| id.0).collect();
        expire.sort_unstable();
        let mut want_expired: Vec<u64> = (1..=13).chain(15..=18).collect();
        want_expired.extend([30, 32]);
        assert_eq!(expire, want_expired);

        let mut deleted = 0;
        for id in p.expire() {
            deleted += store.delete_backup(BackupPrefix::new(ns, dep, id)).await.unwrap();
        }
        assert_eq!(deleted, 17 * 2 + 2 + 1);

        let left: BTreeSet<u64> = store
            .list_deployment(deployment)
            .await
            .unwrap()
            .iter()
            .map(|o| ObjectKey::parse(&o.key).unwrap().prefix().backup.0)
            .collect();
        assert_eq!(left, BTreeSet::from([14, 19, 20, 21, 31]));
        assert_eq!(store.list_deployment(deployment).await.unwrap().len(), 10);
        assert!(store.verify(&neighbour).await.is_ok(), "the neighbour's object was touched");
    })
    .await;
}
