//! Damaged bytes on disk give typed `Corrupt` errors naming the record,
//! never a panic, and the rest of the store stays readable and writable.
//! The damage is done through the raw sled trees of a closed store.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use common::{fixture, open, watchdog};
use eyrie_core::storage::{Entity, EntityKind, Index, RecordKey, Store, StoreExt, Transaction, UniqueKey};
use eyrie_core::{DeploymentGroup, ErrorKind, Project};
use eyrie_testkit::builders;

#[test]
fn damaged_records_give_typed_errors_and_the_rest_stays_usable() {
    watchdog(60, "corruption", || async {
        let dir = tempfile::tempdir().unwrap();
        let f = fixture();
        let store = open(dir.path()).await;
        store.commit(f.create()).await.unwrap();
        let (prod, stage) = (&f.scopes[0], &f.scopes[1]);
        let web = builders::deployment(100, &f.group, prod, "web");
        let api = builders::deployment(101, &f.group, stage, "api");
        store.commit(Transaction::new().create(web.clone()).create(api.clone())).await.unwrap();
        store.close().await.unwrap();

        // Truncate the group, empty one deployment, plant a record under an unknown kind.
        let group_key = f.group.key().to_bytes();
        let db = common::raw_sled(dir.path()).unwrap();
        let records = db.open_tree("records").unwrap();
        let good = records.get(group_key).unwrap().unwrap();
        records.insert(group_key, &good[..good.len() / 2]).unwrap();
        records.insert(web.key().to_bytes(), &[][..]).unwrap();
        records.insert([200u8, 0, 0, 0, 0, 0, 0, 0, 1], &b"junk"[..]).unwrap();
        db.flush().unwrap();
        drop((records, db));

        let store = open(dir.path()).await;
        let corrupt = |e: eyrie_core::Error, names: &str| {
            assert_eq!(e.kind(), ErrorKind::Corrupt, "{e}");
            assert!(e.to_string().contains(names), "{e} should name {names}");
        };
        corrupt(store.get(f.group.key()).await.unwrap_err(), "group");
        corrupt(store.get(web.key()).await.unwrap_err(), "deployment dep-0000000000000064");
        corrupt(store.find::<DeploymentGroup>(f.group.id.0).await.unwrap_err(), "group");
        corrupt(store.get_unique(&UniqueKey::GroupSlug(f.project.id, "group-2".into())).await.unwrap_err(), "group");
        corrupt(store.list(Index::ProjectGroups(f.project.id)).await.unwrap_err(), "group");
        corrupt(store.list(Index::ScopeDeployments(prod.id)).await.unwrap_err(), "deployment");
        corrupt(store.list_kind(EntityKind::Group).await.unwrap_err(), "group");
        corrupt(store.dump().await.unwrap_err(), "");
        let problems = store.verify().await.unwrap();
        assert!(problems.iter().any(|p| p.contains("group")), "{problems:#?}");
        assert!(problems.iter().any(|p| p.contains("c80000000000000001")), "the unknown key is named: {problems:#?}");

        // Everything else still reads.
        assert_eq!(store.fetch::<Project>(1).await.unwrap().value, f.project);
        assert_eq!(store.list(Index::ScopeDeployments(stage.id)).await.unwrap().len(), 1);
        assert_eq!(store.list(Index::GroupScopes(f.group.id)).await.unwrap().len(), 3);
        assert_eq!(store.count(Index::ScopeDeployments(prod.id)).await.unwrap(), 1);
        assert_eq!(store.list_kind(EntityKind::Scope).await.unwrap().len(), 3);

        // A write touching the damaged record is refused with Corrupt; others commit.
        let read =
            eyrie_core::storage::Versioned { revision: eyrie_core::storage::Revision::FIRST, value: web.clone() };
        let e = store.commit(Transaction::new().delete(&read)).await.unwrap_err();
        corrupt(e, "deployment");
        let v = store.fetch::<Project>(1).await.unwrap();
        let mut blocked = v.value.clone();
        blocked.portal_blocked = true;
        store.commit(Transaction::new().update(&v, blocked)).await.unwrap();
        let other = builders::deployment(102, &f.group, stage, "other");
        store.commit(Transaction::new().create(other)).await.unwrap();
        assert_eq!(store.count(Index::ScopeDeployments(stage.id)).await.unwrap(), 2);
        assert!(store.writer_status().failed.is_none(), "a corrupt record does not fail the store");
        assert!(store.get(RecordKey::new(EntityKind::Deployment, 102)).await.unwrap().is_some());
        store.close().await.unwrap();
    });
}
