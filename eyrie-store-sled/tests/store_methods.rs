//! Every `Store` method on a `SledStore`, the error of each refusal, reopen,
//! layout versions, and serializability of concurrent (group) commits.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::sync::Arc;

use common::{assert_consistent, fixture, open, room_in, watchdog};
use eyrie_core::storage::{Entity, EntityKind, Index, RecordKey, Revision, Store, StoreExt, Transaction, UniqueKey};
use eyrie_core::{Deployment, DeploymentGroup, ErrorKind, LifecycleState, Project, Slug};
use eyrie_store_sled::{Durability, SledConfig, SledStore};
use eyrie_testkit::builders;

#[test]
fn every_method_reads_what_was_committed() {
    watchdog(60, "every_method", || async {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path()).await;
        let f = fixture();
        let receipt = store.commit(f.create()).await.unwrap();
        assert_eq!(receipt.written.len(), 5);
        assert!(receipt.written.iter().all(|(_, r)| *r == Some(Revision::FIRST)));

        let prod = &f.scopes[0];
        let d1 = builders::deployment(100, &f.group, prod, "web");
        let d2 = builders::deployment(101, &f.group, prod, "api");
        store.commit(Transaction::new().create(d1.clone()).create(d2.clone())).await.unwrap();

        // get / find
        let got = store.get(RecordKey::new(EntityKind::Deployment, 100)).await.unwrap().unwrap();
        assert_eq!(got.revision, Revision::FIRST);
        assert_eq!(store.fetch::<Deployment>(100).await.unwrap().value, d1);
        assert!(store.get(RecordKey::new(EntityKind::Deployment, 999)).await.unwrap().is_none());
        // get_unique
        let by_slug = store.get_unique(&UniqueKey::DeploymentSlug(f.group.id, "api".into())).await.unwrap().unwrap();
        assert_eq!(by_slug.record.key(), RecordKey::new(EntityKind::Deployment, 101));
        assert!(store.get_unique(&UniqueKey::DeploymentSlug(f.group.id, "nope".into())).await.unwrap().is_none());
        assert_eq!(
            store.find_unique::<Project>(&UniqueKey::ProjectSlug("acme-1".into())).await.unwrap().unwrap().value,
            f.project
        );
        // list / count, in id order
        let listed: Vec<u64> = store
            .children::<Deployment>(Index::ScopeDeployments(prod.id))
            .await
            .unwrap()
            .iter()
            .map(|d| d.value.id.0)
            .collect();
        assert_eq!(listed, [100, 101]);
        assert_eq!(store.count(Index::ScopeLiveDeployments(prod.id)).await.unwrap(), 2);
        assert_eq!(store.count(Index::GroupScopes(f.group.id)).await.unwrap(), 3);
        assert!(store.list(Index::ScopeDeployments(f.scopes[1].id)).await.unwrap().is_empty());
        // list_kind
        assert_eq!(store.list_kind(EntityKind::Scope).await.unwrap().len(), 3);
        assert_eq!(store.all::<DeploymentGroup>().await.unwrap().len(), 1);
        // dump: every record in key order
        let dump = store.dump().await.unwrap();
        assert_eq!(dump.len(), 7);
        assert!(dump.windows(2).all(|w| w[0].record.key() < w[1].record.key()));

        // update moves indexes and unique values; revisions advance
        let v1 = store.fetch::<Deployment>(100).await.unwrap();
        let mut moved = v1.value.clone();
        moved.scope_id = f.scopes[1].id;
        moved.slug = Slug::from_name("www");
        let receipt = store.commit(Transaction::new().update(&v1, moved)).await.unwrap();
        assert_eq!(receipt.written, vec![(v1.value.key(), Some(Revision(2)))]);
        assert_eq!(store.count(Index::ScopeDeployments(prod.id)).await.unwrap(), 1);
        assert_eq!(store.count(Index::ScopeDeployments(f.scopes[1].id)).await.unwrap(), 1);
        assert!(store.get_unique(&UniqueKey::DeploymentSlug(f.group.id, "web".into())).await.unwrap().is_none());
        assert!(store.get_unique(&UniqueKey::DeploymentSlug(f.group.id, "www".into())).await.unwrap().is_some());

        // delete removes the record and its entries
        let v2 = store.fetch::<Deployment>(101).await.unwrap();
        let receipt = store.commit(Transaction::new().delete(&v2)).await.unwrap();
        assert_eq!(receipt.written, vec![(v2.value.key(), None)]);
        assert!(store.find::<Deployment>(101).await.unwrap().is_none());
        assert!(store.list(Index::ScopeDeployments(prod.id)).await.unwrap().is_empty());
        assert_consistent(&store).await;
        store.close().await.unwrap();
    });
}

#[test]
fn refusals_are_typed_and_change_nothing() {
    watchdog(60, "refusals", || async {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path()).await;
        let f = fixture();
        store.commit(f.create()).await.unwrap();
        let prod = &f.scopes[0];
        store.commit(Transaction::new().create(builders::deployment(100, &f.group, prod, "web"))).await.unwrap();
        let before = store.dump().await.unwrap();

        // AlreadyExists: the same key, and a unique value held by another record.
        let e = store.commit(Transaction::new().create(f.project.clone())).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AlreadyExists);
        let twin = builders::deployment(101, &f.group, prod, "web");
        let fresh = builders::deployment(102, &f.group, prod, "fresh");
        let e = store.commit(Transaction::new().create(fresh).create(twin)).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AlreadyExists);
        assert!(e.to_string().contains("deployment with slug"), "{e}");
        // Conflict: a write based on a stale revision.
        let v1 = store.fetch::<Deployment>(100).await.unwrap();
        let mut paused = v1.value.clone();
        paused.state = LifecycleState::Pause;
        store.commit(Transaction::new().update(&v1, paused.clone())).await.unwrap();
        let e = store.commit(Transaction::new().update(&v1, paused)).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Conflict);
        assert!(e.is_retryable());
        let e = store.commit(Transaction::new().unchanged(&v1)).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Conflict);
        // NotFound: update or delete of a missing record.
        let ghost = eyrie_core::storage::Versioned {
            revision: Revision::FIRST,
            value: builders::deployment(500, &f.group, prod, "ghost"),
        };
        let e = store.commit(Transaction::new().delete(&ghost)).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
        // PolicyViolation: a CountBelow check, evaluated before the writes.
        let e = store
            .commit(Transaction::new().check(room_in(prod, 1)).create(builders::deployment(103, &f.group, prod, "x")))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::PolicyViolation);
        assert!(e.to_string().contains("prod is full"), "{e}");
        // Absent check.
        let e = store
            .commit(Transaction::new().check(eyrie_core::storage::Check::Absent(f.project_key())))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AlreadyExists);

        let after = store.dump().await.unwrap();
        assert_eq!(after.len(), before.len(), "refused transactions wrote nothing");
        assert_eq!(store.fetch::<Deployment>(100).await.unwrap().revision, Revision(2));
        assert_consistent(&store).await;
        store.close().await.unwrap();
    });
}

trait ProjectKey {
    fn project_key(&self) -> RecordKey;
}

impl ProjectKey for common::Fixture {
    fn project_key(&self) -> RecordKey {
        RecordKey::new(EntityKind::Project, self.project.id.0)
    }
}

#[test]
fn reopen_keeps_everything_in_both_durability_modes() {
    watchdog(60, "reopen", || async {
        for durability in
            [Durability::Immediate, Durability::Eventual { flush_interval: std::time::Duration::from_secs(3600) }]
        {
            let dir = tempfile::tempdir().unwrap();
            let config = SledConfig::new(dir.path()).durability(durability).cache_size(8 << 20);
            let store = SledStore::open(config.clone()).await.unwrap();
            let f = fixture();
            store.commit(f.create()).await.unwrap();
            for i in 0..30u64 {
                let scope = &f.scopes[(i % 3) as usize];
                store
                    .commit(Transaction::new().create(builders::deployment(100 + i, &f.group, scope, &format!("d{i}"))))
                    .await
                    .unwrap();
            }
            for i in (0..30u64).step_by(3) {
                let v = store.fetch::<Deployment>(100 + i).await.unwrap();
                let mut dropped = v.value.clone();
                dropped.state = LifecycleState::Dropped;
                store.commit(Transaction::new().update(&v, dropped)).await.unwrap();
            }
            let v = store.fetch::<Deployment>(101).await.unwrap();
            store.commit(Transaction::new().delete(&v)).await.unwrap();
            let before = store.dump().await.unwrap();
            let live_before = store.count(Index::ScopeLiveDeployments(f.scopes[0].id)).await.unwrap();
            store.close().await.unwrap();

            let store = SledStore::open(config).await.unwrap();
            assert_eq!(store.dump().await.unwrap(), before, "{durability:?}");
            assert_eq!(store.count(Index::ScopeLiveDeployments(f.scopes[0].id)).await.unwrap(), live_before);
            assert_consistent(&store).await;
            store.close().await.unwrap();
        }
    });
}

#[test]
fn reopen_after_a_plain_drop_keeps_everything() {
    watchdog(60, "drop_reopen", || async {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path()).await;
        let f = fixture();
        store.commit(f.create()).await.unwrap();
        store
            .commit(Transaction::new().create(builders::deployment(100, &f.group, &f.scopes[0], "web")))
            .await
            .unwrap();
        let before = store.dump().await.unwrap();
        drop(store);
        // The writer thread lets go of the directory lock shortly after the drop.
        let mut attempts = 0;
        let store = loop {
            match SledStore::open(SledConfig::new(dir.path())).await {
                Ok(store) => break store,
                Err(e) if e.kind() == ErrorKind::Backend && attempts < 500 => {
                    attempts += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
                Err(e) => panic!("reopen after drop: {e}"),
            }
        };
        assert_eq!(store.dump().await.unwrap(), before);
        assert_consistent(&store).await;
        store.close().await.unwrap();
    });
}

#[test]
fn concurrent_commits_are_serializable() {
    watchdog(60, "concurrent", || async {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(open(dir.path()).await);
        let f = fixture();
        store.commit(f.create()).await.unwrap();
        let prod = f.scopes[0].clone();

        // 40 racing creates into a scope with room for 5: exactly 5 win.
        let mut tasks = Vec::new();
        for i in 0..40u64 {
            let (store, group, prod) = (store.clone(), f.group.clone(), prod.clone());
            tasks.push(tokio::spawn(async move {
                let d = builders::deployment(100 + i, &group, &prod, &format!("d{i}"));
                store.commit(Transaction::new().check(room_in(&prod, 5)).create(d)).await
            }));
        }
        let outcomes = futures::future::join_all(tasks).await;
        let won = outcomes.iter().filter(|o| o.as_ref().unwrap().is_ok()).count();
        assert_eq!(won, 5);
        for o in &outcomes {
            if let Err(e) = o.as_ref().unwrap() {
                assert_eq!(e.kind(), ErrorKind::PolicyViolation, "{e}");
            }
        }
        assert_eq!(store.count(Index::ScopeLiveDeployments(prod.id)).await.unwrap(), 5);

        // 20 racing creates of the same slug in another scope: one wins.
        let stage = f.scopes[1].clone();
        let tasks: Vec<_> = (0..20u64)
            .map(|i| {
                let (store, group, stage) = (store.clone(), f.group.clone(), stage.clone());
                tokio::spawn(async move {
                    store.commit(Transaction::new().create(builders::deployment(200 + i, &group, &stage, "same"))).await
                })
            })
            .collect();
        let outcomes = futures::future::join_all(tasks).await;
        assert_eq!(outcomes.iter().filter(|o| o.as_ref().unwrap().is_ok()).count(), 1);

        // 20 racing updates from the same read: one wins, the rest conflict.
        let read = store.fetch::<Project>(1).await.unwrap();
        let tasks: Vec<_> = (0..20u64)
            .map(|i| {
                let (store, read) = (store.clone(), read.clone());
                tokio::spawn(async move {
                    let mut renamed = read.value.clone();
                    renamed.slug = Slug::from_name(&format!("renamed-{i}"));
                    store.commit(Transaction::new().update(&read, renamed)).await
                })
            })
            .collect();
        let outcomes = futures::future::join_all(tasks).await;
        let errors: Vec<_> = outcomes.iter().filter_map(|o| o.as_ref().unwrap().as_ref().err()).collect();
        assert_eq!(errors.len(), 19);
        assert!(errors.iter().all(|e| e.kind() == ErrorKind::Conflict));
        assert_eq!(store.fetch::<Project>(1).await.unwrap().revision, Revision(2));
        assert!(store.writer_status().commits >= 8);
        assert_consistent(&*store).await;
        Arc::into_inner(store).unwrap().close().await.unwrap();
    });
}

#[test]
fn unknown_or_missing_layout_is_refused() {
    watchdog(60, "layout", || async {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path()).await;
        store.commit(fixture().create()).await.unwrap();
        store.close().await.unwrap();

        let db = common::raw_sled(dir.path()).unwrap();
        db.open_tree("meta").unwrap().insert(b"layout", &7u32.to_be_bytes()).unwrap();
        db.flush().unwrap();
        drop(db);
        let e = SledStore::open(SledConfig::new(dir.path())).await.unwrap_err();
        assert_eq!((e.kind(), e.is_retryable()), (ErrorKind::Backend, false));
        assert!(e.to_string().contains("layout version 7; this version reads only 2"), "{e}");

        let db = common::raw_sled(dir.path()).unwrap();
        db.open_tree("meta").unwrap().remove(b"layout").unwrap();
        db.flush().unwrap();
        drop(db);
        let e = SledStore::open(SledConfig::new(dir.path())).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Backend);
        assert!(e.to_string().contains("bad layout metadata"), "{e}");
    });
}

#[test]
fn a_second_open_of_an_open_store_is_refused() {
    watchdog(60, "double_open", || async {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path()).await;
        let e = SledStore::open(SledConfig::new(dir.path())).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Backend);
        assert!(e.to_string().contains("cannot open sled store"), "{e}");
        store.close().await.unwrap();
        open(dir.path()).await.close().await.unwrap();
    });
}

#[test]
fn works_without_a_tokio_runtime_and_flushes_on_demand() {
    let dir = tempfile::tempdir().unwrap();
    let config = SledConfig::new(dir.path())
        .durability(Durability::Eventual { flush_interval: std::time::Duration::from_secs(3600) });
    let (done, outcome) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let store = SledStore::open_blocking(config).unwrap();
        futures::executor::block_on(async {
            store.commit(fixture().create()).await.unwrap();
            store.flush().await.unwrap();
            assert_eq!(store.dump().await.unwrap().len(), 5);
            assert_consistent(&store).await;
            let status = store.writer_status();
            assert_eq!(status.commits, 1);
            assert_eq!(status.failed, None);
            assert_eq!(status.busy_for, None, "idle once the flush has been answered");
            store.close().await.unwrap();
        });
        done.send(()).unwrap();
    });
    outcome
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("sled stalled: no progress for 60 s without a runtime");
}
