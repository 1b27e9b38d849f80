//! Every `Store` method of `RedbStore`, its errors, and that reopening the
//! file keeps everything.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::time::Duration;

use common::{assert_consistent, db_path, deployment, group, keys_and_revisions, open, project, scope};
use eyrie_core::storage::{
    Check, EntityKind, Index, RecordKey, Revision, Store, StoreExt, Transaction, UniqueKey, Versioned,
};
use eyrie_core::{Deployment, DeploymentGroup, ErrorKind, LifecycleState, Project, Scope, Slug};
use eyrie_store_redb::{Durability, RedbConfig, RedbStore};

#[tokio::test]
async fn reads_see_what_was_committed() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let p = project(1, "acme");
    let g = group(2, &p, "web");
    let s = scope(3, &g, "prod");
    let d1 = deployment(5, &g, &s, "one");
    let d2 = deployment(4, &g, &s, "two");
    let receipt = store
        .commit(Transaction::new().create(p.clone()).create(g.clone()).create(s.clone()).create(d1).create(d2))
        .await
        .unwrap();
    assert_eq!(receipt.written.len(), 5);
    assert!(receipt.written.iter().all(|(_, r)| *r == Some(Revision::FIRST)));

    // get / fetch
    let got = store.get(RecordKey::new(EntityKind::Project, 1)).await.unwrap().unwrap();
    assert_eq!((got.revision, got.record), (Revision::FIRST, eyrie_core::storage::Entity::into_record(p.clone())));
    assert!(store.get(RecordKey::new(EntityKind::Project, 99)).await.unwrap().is_none());
    assert_eq!(store.fetch::<Project>(1).await.unwrap().value, p);
    assert_eq!(store.fetch::<Project>(99).await.unwrap_err().kind(), ErrorKind::NotFound);

    // get_unique
    let by_slug = store.find_unique::<Project>(&UniqueKey::ProjectSlug("acme".into())).await.unwrap().unwrap();
    assert_eq!(by_slug.value.id, p.id);
    let by_code = store.find_unique::<Scope>(&UniqueKey::ScopeCode(g.id, "prod".into())).await.unwrap().unwrap();
    assert_eq!(by_code.value.id, s.id);
    assert!(store.get_unique(&UniqueKey::ProjectSlug("nope".into())).await.unwrap().is_none());

    // list (id order) / count
    let listed = store.children::<Deployment>(Index::GroupDeployments(g.id)).await.unwrap();
    assert_eq!(listed.iter().map(|d| d.value.id.0).collect::<Vec<_>>(), [4, 5]);
    assert_eq!(store.count(Index::ScopeLiveDeployments(s.id)).await.unwrap(), 2);
    assert_eq!(store.count(Index::GroupScopes(g.id)).await.unwrap(), 1);
    assert_eq!(store.count(Index::GroupScopes(eyrie_core::GroupId(77))).await.unwrap(), 0);
    assert!(store.list(Index::ProjectGroups(eyrie_core::ProjectId(42))).await.unwrap().is_empty());

    // list_kind / dump (key order: kind tag, then id)
    assert_eq!(store.all::<DeploymentGroup>().await.unwrap().len(), 1);
    assert_eq!(store.list_kind(EntityKind::Deployment).await.unwrap().len(), 2);
    assert!(store.list_kind(EntityKind::Cluster).await.unwrap().is_empty());
    let dump = store.dump().await.unwrap();
    assert_eq!(
        keys_and_revisions(&dump).into_iter().map(|(k, _)| k).collect::<Vec<_>>(),
        [
            "project prj-0000000000000001",
            "group grp-0000000000000002",
            "deployment dep-0000000000000004",
            "deployment dep-0000000000000005",
            "scope scp-0000000000000003"
        ]
    );
    assert_consistent(&store).await;
}

#[tokio::test]
async fn updates_and_deletes_move_revisions_indexes_and_unique_values() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let p = project(1, "acme");
    let g = group(2, &p, "web");
    let s = scope(3, &g, "prod");
    store.commit(Transaction::new().create(p.clone()).create(g.clone()).create(s.clone())).await.unwrap();
    store.commit(Transaction::new().create(deployment(10, &g, &s, "d"))).await.unwrap();

    // Rename: revision 2, the slug moves.
    let v1 = store.fetch::<Project>(1).await.unwrap();
    let mut renamed = p.clone();
    renamed.slug = Slug::from_name("globex");
    let receipt = store.commit(Transaction::new().update(&v1, renamed.clone())).await.unwrap();
    assert_eq!(receipt.written, vec![(RecordKey::new(EntityKind::Project, 1), Some(Revision(2)))]);
    assert!(store.get_unique(&UniqueKey::ProjectSlug("acme".into())).await.unwrap().is_none());
    assert!(store.get_unique(&UniqueKey::ProjectSlug("globex".into())).await.unwrap().is_some());

    // Stale writes and stale checks conflict, retryably.
    let stale = store.commit(Transaction::new().update(&v1, p.clone())).await.unwrap_err();
    assert_eq!(stale.kind(), ErrorKind::Conflict);
    assert!(stale.is_retryable());
    let stale_check = Transaction::new().check(Check::Revision(RecordKey::new(EntityKind::Project, 1), Revision(1)));
    assert_eq!(store.commit(stale_check).await.unwrap_err().kind(), ErrorKind::Conflict);

    // Dropping a deployment leaves it in the group's list but not in the live list.
    let d = store.fetch::<Deployment>(10).await.unwrap();
    let mut dropped = d.value.clone();
    dropped.state = LifecycleState::Dropped;
    store.commit(Transaction::new().update(&d, dropped)).await.unwrap();
    assert_eq!(store.count(Index::ScopeLiveDeployments(s.id)).await.unwrap(), 0);
    assert_eq!(store.count(Index::GroupDeployments(g.id)).await.unwrap(), 1);

    // Delete: gone with its entries and unique value; deleting again is NotFound.
    let d = store.fetch::<Deployment>(10).await.unwrap();
    let receipt = store.commit(Transaction::new().delete(&d)).await.unwrap();
    assert_eq!(receipt.written, vec![(RecordKey::new(EntityKind::Deployment, 10), None)]);
    assert!(store.find::<Deployment>(10).await.unwrap().is_none());
    assert_eq!(store.count(Index::GroupDeployments(g.id)).await.unwrap(), 0);
    assert!(store.get_unique(&UniqueKey::DeploymentSlug(g.id, "d".into())).await.unwrap().is_none());
    assert_eq!(store.commit(Transaction::new().delete(&d)).await.unwrap_err().kind(), ErrorKind::NotFound);
    let mut ghost = Versioned { revision: Revision(1), value: renamed.clone() };
    ghost.value.id = eyrie_core::ProjectId(500);
    assert_eq!(
        store.commit(Transaction::new().update(&ghost, ghost.value.clone())).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_consistent(&store).await;
}

#[tokio::test]
async fn refused_transactions_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let p = project(1, "acme");
    let g = group(2, &p, "web");
    let mut s = scope(3, &g, "prod");
    s.deployment_limit = Some(1);
    store.commit(Transaction::new().create(p.clone()).create(g.clone()).create(s.clone())).await.unwrap();
    let before = store.dump().await.unwrap();

    // A unique value taken by a record created earlier in the same transaction.
    let mut twin = group(4, &p, "other");
    twin.slug = g.slug.clone();
    let e = store.commit(Transaction::new().create(scope(5, &g, "dev")).create(twin)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists);
    // The same key twice.
    let e = store.commit(Transaction::new().create(p.clone())).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists);
    // Absent check.
    let e = store.commit(Transaction::new().check(Check::Absent(RecordKey::new(EntityKind::Group, 2)))).await;
    assert_eq!(e.unwrap_err().kind(), ErrorKind::AlreadyExists);
    assert_eq!(store.dump().await.unwrap(), before);

    // CountBelow: the limit holds, and is evaluated before the writes.
    let full =
        || Check::CountBelow { index: Index::ScopeLiveDeployments(s.id), limit: 1, message: "scope full".into() };
    store.commit(Transaction::new().check(full()).create(deployment(10, &g, &s, "a"))).await.unwrap();
    let e = store.commit(Transaction::new().check(full()).create(deployment(11, &g, &s, "b"))).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PolicyViolation);
    assert!(e.to_string().contains("scope full"), "{e}");
    assert_eq!(store.count(Index::ScopeLiveDeployments(s.id)).await.unwrap(), 1);
    assert!(store.find::<Deployment>(11).await.unwrap().is_none());
    assert_consistent(&store).await;
}

#[tokio::test]
async fn reopening_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let p = project(1, "acme");
    let g = group(2, &p, "web");
    let s = scope(3, &g, "prod");
    let before = {
        let store = open(dir.path()).await;
        store.commit(Transaction::new().create(p.clone()).create(g.clone()).create(s.clone())).await.unwrap();
        for i in 0..20 {
            store.commit(Transaction::new().create(deployment(100 + i, &g, &s, &format!("d{i}")))).await.unwrap();
        }
        let v = store.fetch::<Project>(1).await.unwrap();
        let mut renamed = p.clone();
        renamed.slug = Slug::from_name("renamed");
        store.commit(Transaction::new().update(&v, renamed)).await.unwrap();
        let d = store.fetch::<Deployment>(105).await.unwrap();
        store.commit(Transaction::new().delete(&d)).await.unwrap();
        store.dump().await.unwrap()
    };
    assert_eq!(before.len(), 3 + 19);

    let store = open(dir.path()).await;
    assert_eq!(store.dump().await.unwrap(), before);
    assert_eq!(store.fetch::<Project>(1).await.unwrap().revision, Revision(2));
    assert_eq!(store.count(Index::GroupDeployments(g.id)).await.unwrap(), 19);
    assert!(store.get_unique(&UniqueKey::ProjectSlug("renamed".into())).await.unwrap().is_some());
    assert_consistent(&store).await;
    // And it keeps working.
    store.commit(Transaction::new().create(deployment(500, &g, &s, "late"))).await.unwrap();
    assert_eq!(store.count(Index::GroupDeployments(g.id)).await.unwrap(), 20);
}

#[tokio::test]
async fn eventual_durability_is_visible_at_once_and_on_disk_after_flush_or_drop() {
    let dir = tempfile::tempdir().unwrap();
    let config = RedbConfig::new(db_path(dir.path()))
        .durability(Durability::Eventual { flush_interval: Duration::from_secs(3600) })
        .cache_size(8 << 20);
    let p = project(1, "acme");
    let g = group(2, &p, "web");
    {
        let store = RedbStore::open(config.clone()).await.unwrap();
        store.commit(Transaction::new().create(p.clone())).await.unwrap();
        assert_eq!(store.fetch::<Project>(1).await.unwrap().value, p, "visible before any flush");
        store.flush().await.unwrap();
        store.commit(Transaction::new().create(g.clone())).await.unwrap();
        // Dropped without a flush: the drop flushes.
    }
    let store = RedbStore::open(config).await.unwrap();
    assert_eq!(store.fetch::<DeploymentGroup>(2).await.unwrap().value, g);
    assert_consistent(&store).await;
    // A flush with nothing pending, and in immediate mode, is a no-op that succeeds.
    store.flush().await.unwrap();
    store.flush().await.unwrap();
}

#[tokio::test]
async fn a_short_flush_interval_flushes_on_its_own() {
    // Not timed: whether or not the timer fired, every commit must read back
    // and survive a reopen; this exercises the writer's timed flush path.
    let dir = tempfile::tempdir().unwrap();
    let config = RedbConfig::new(db_path(dir.path()))
        .durability(Durability::Eventual { flush_interval: Duration::from_millis(1) });
    {
        let store = RedbStore::open(config.clone()).await.unwrap();
        for i in 0..30 {
            store.commit(Transaction::new().create(project(i + 1, &format!("p{i}")))).await.unwrap();
            if i % 10 == 0 {
                tokio::time::sleep(Duration::from_millis(3)).await;
            }
        }
    }
    let store = RedbStore::open(config).await.unwrap();
    assert_eq!(store.list_kind(EntityKind::Project).await.unwrap().len(), 30);
    assert_consistent(&store).await;
}

#[tokio::test]
async fn a_second_open_is_refused_and_close_releases_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    store.commit(Transaction::new().create(project(1, "acme"))).await.unwrap();
    assert!(store.find::<Project>(1).await.unwrap().is_some());
    assert_eq!(store.backend().path(), db_path(dir.path()));
    assert!(format!("{store:?}").contains("RedbBackend"));

    let second = RedbStore::open(RedbConfig::new(db_path(dir.path()))).await.unwrap_err();
    assert_eq!(second.kind(), ErrorKind::Backend);
    assert!(!second.is_retryable());
    assert!(second.to_string().contains("already open"), "{second}");
    assert_consistent(&store).await;

    store.close().await.unwrap();
    let reopened = open(dir.path()).await;
    assert!(reopened.find::<Project>(1).await.unwrap().is_some(), "close released the file at once");
}
