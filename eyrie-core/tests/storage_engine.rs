//! The shared transaction engine over plain in-memory tables: revisions,
//! uniqueness, counts, index maintenance, atomic refusal, corruption.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use eyrie_core::storage::kit::kv::{self, KvRead, MemoryTables, Overlay, Table};
use eyrie_core::storage::{Check, Entity, Index, RecordKey, Revision, Transaction, UniqueKey, Versioned, kit::codec};
use eyrie_core::{DeploymentGroup, ErrorKind, GroupType, LifecycleState, Project, Result, Slug, UserId};
use eyrie_testkit::builders;

fn commit(tables: &mut MemoryTables, tx: &Transaction) -> Result<eyrie_core::storage::Receipt> {
    let mut overlay = Overlay::new(tables);
    let receipt = kv::apply(&mut overlay, tx)?;
    let changes = overlay.into_changes();
    tables.apply_changes(changes);
    Ok(receipt)
}

fn read<T: eyrie_core::storage::Entity>(tables: &mut MemoryTables, id: u64) -> Versioned<T> {
    Versioned::from_stored(kv::get(tables, RecordKey::new(T::KIND, id)).unwrap().unwrap()).unwrap()
}

fn setup() -> (MemoryTables, Project, DeploymentGroup) {
    let mut t = MemoryTables::default();
    let p = builders::project(1, UserId(1));
    let g = builders::group(2, &p, GroupType::Odoo, &[1]);
    commit(&mut t, &Transaction::new().create(p.clone()).create(g.clone())).unwrap();
    (t, p, g)
}

#[test]
fn revisions_advance_and_stale_writes_conflict() {
    let (mut t, p, _) = setup();
    let v1 = read::<Project>(&mut t, 1);
    assert_eq!(v1.revision, Revision::FIRST);
    let mut renamed = p.clone();
    renamed.slug = Slug::from_name("renamed");
    commit(&mut t, &Transaction::new().update(&v1, renamed.clone())).unwrap();
    let v2 = read::<Project>(&mut t, 1);
    assert_eq!(v2.revision, Revision(2));
    let e = commit(&mut t, &Transaction::new().update(&v1, p.clone())).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict);
    assert!(e.is_retryable());
    let e = commit(&mut t, &Transaction::new().check(Check::Revision(v1.value.key(), v1.revision))).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict);
    // The unique slug moved with the update.
    assert!(kv::get_unique(&mut t, &UniqueKey::ProjectSlug("acme-1".into())).unwrap().is_none());
    assert!(kv::get_unique(&mut t, &UniqueKey::ProjectSlug("renamed".into())).unwrap().is_some());
    assert!(kv::verify(&mut t).unwrap().is_empty());
}

#[test]
fn unique_values_are_refused_and_a_refused_transaction_changes_nothing() {
    let (mut t, p, g) = setup();
    let before = t.clone();
    let mut twin = builders::group(3, &p, GroupType::Pgo, &[1]);
    twin.slug = g.slug.clone();
    let scope = builders::scope(9, &g, "prod");
    let tx = Transaction::new().create(scope).create(twin);
    let e = commit(&mut t, &tx).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists);
    assert!(e.to_string().contains("group with slug"), "{e}");
    assert_eq!(t, before, "the scope created first in the same transaction is gone too");
    let e = commit(&mut t, &Transaction::new().create(g.clone())).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists);
}

#[test]
fn counts_indexes_and_deletes() {
    let (mut t, _, g) = setup();
    let scope = builders::scope(9, &g, "prod");
    commit(&mut t, &Transaction::new().create(scope.clone())).unwrap();
    let full =
        |limit| Check::CountBelow { index: Index::ScopeLiveDeployments(scope.id), limit, message: "full".into() };
    for i in 0..3 {
        let d = builders::deployment(100 + i, &g, &scope, &format!("d{i}"));
        commit(&mut t, &Transaction::new().check(full(3)).create(d)).unwrap();
    }
    let d = builders::deployment(200, &g, &scope, "d-extra");
    let e = commit(&mut t, &Transaction::new().check(full(3)).create(d.clone())).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PolicyViolation);
    assert_eq!(t.count_prefix(Table::Index, &Index::ScopeLiveDeployments(scope.id).prefix()).unwrap(), 3);

    // Dropping one leaves it listed in the group but frees the scope's limit.
    let v = read::<eyrie_core::Deployment>(&mut t, 100);
    let mut dropped = v.value.clone();
    dropped.state = LifecycleState::Dropped;
    commit(&mut t, &Transaction::new().update(&v, dropped)).unwrap();
    assert_eq!(kv::list(&mut t, Index::GroupDeployments(g.id)).unwrap().len(), 3);
    commit(&mut t, &Transaction::new().check(full(3)).create(d)).unwrap();

    let v = read::<eyrie_core::Deployment>(&mut t, 101);
    commit(&mut t, &Transaction::new().delete(&v)).unwrap();
    assert_eq!(kv::list(&mut t, Index::GroupDeployments(g.id)).unwrap().len(), 3);
    let e = commit(&mut t, &Transaction::new().delete(&v)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(kv::verify(&mut t).unwrap().is_empty());
}

#[test]
fn corrupt_records_give_typed_errors_and_the_rest_stays_readable() {
    let (mut t, p, g) = setup();
    let key = RecordKey::new(eyrie_core::storage::EntityKind::Group, g.id.0);
    let good = t.raw_mut(Table::Records).get(&key.to_bytes().to_vec()).cloned().unwrap();
    for damaged in [good[..good.len() / 2].to_vec(), vec![], vec![9, 0, 0], {
        let mut b = good.clone();
        b[0] = 7;
        b
    }] {
        t.raw_mut(Table::Records).insert(key.to_bytes().to_vec(), damaged);
        let e = kv::get(&mut t, key).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Corrupt);
        assert!(e.to_string().contains("group"), "{e}");
        assert!(kv::get(&mut t, RecordKey::new(eyrie_core::storage::EntityKind::Project, p.id.0)).unwrap().is_some());
        assert!(!kv::verify(&mut t).unwrap().is_empty());
    }
    assert_eq!(codec::decode(key, &good).unwrap().revision, Revision::FIRST);
}
