//! The shared group commit on redb, without the thread: one batch, one
//! redb transaction, each Eyrie transaction with its own result.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use eyrie_core::storage::kit::kv::{self, KvRead, Table};
use eyrie_core::storage::{Backend, EntityKind, RecordKey, Revision, Transaction, UniqueKey, Versioned, commit_batch};
use eyrie_core::{DeploymentGroup, ErrorKind, GroupId, GroupType, LifecycleState, Project, ProjectId, Slug, UserId};
use eyrie_store_redb::{ReadTables, RedbBackend, RedbConfig};

fn project(id: u64, slug: &str) -> Project {
    Project {
        id: ProjectId(id),
        name: format!("Project {id}").parse().unwrap(),
        slug: Slug::from_name(slug),
        owner: UserId(1),
        domain: None,
        primary_deployment: None,
        portal_blocked: false,
        namespace_uid: eyrie_core::NamespaceUid(1000 + id),
        created_at: eyrie_core::Timestamp::from_unix_seconds(0),
    }
}

fn group(id: u64, project: &Project) -> DeploymentGroup {
    DeploymentGroup {
        id: GroupId(id),
        project_id: project.id,
        namespace_uid: project.namespace_uid,
        name: "Web".parse().unwrap(),
        slug: Slug::from_name("web"),
        group_type: GroupType::Odoo,
        group_cluster_ids: Default::default(),
        settings: Default::default(),
        state: LifecycleState::Draft,
        created_at: eyrie_core::Timestamp::from_unix_seconds(0),
    }
}

fn database(dir: &tempfile::TempDir) -> RedbBackend {
    RedbBackend::open(RedbConfig::new(dir.path().join("t.redb"))).unwrap().0
}

fn snapshot(db: &RedbBackend) -> ReadTables {
    futures::executor::block_on(db.snapshot()).unwrap()
}

fn at(revision: u64, value: Project) -> Versioned<Project> {
    Versioned { revision: Revision(revision), value }
}

#[test]
fn a_batch_sees_its_earlier_transactions_and_answers_each_one() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(&dir);
    let p1 = project(1, "a");
    let mut p1_renamed = p1.clone();
    p1_renamed.slug = Slug::from_name("b");
    let batch = vec![
        // 0: accepted.
        Transaction::new().create(p1.clone()),
        // 1: slug "a" is taken by 0 — refused alone.
        Transaction::new().create(project(2, "a")),
        // 2: updates what 0 created, at the revision 0 gave it.
        Transaction::new().update(&at(1, p1.clone()), p1_renamed.clone()),
        // 3: "a" was freed by 2.
        Transaction::new().create(project(3, "a")),
        // 4: its first write is fine, its second is not: neither is applied.
        Transaction::new().create(group(10, &p1)).create(project(1, "c")),
        // 5: a stale revision: 2 moved project 1 to revision 2.
        Transaction::new().update(&at(1, p1.clone()), p1.clone()),
        // 6: deletes what 3 created.
        Transaction::new().delete(&at(1, project(3, "a"))),
    ];
    let results = commit_batch(&db, true, &batch).unwrap();
    let kinds: Vec<Option<ErrorKind>> = results.iter().map(|r| r.as_ref().err().map(|e| e.kind())).collect();
    assert_eq!(
        kinds,
        [
            None,
            Some(ErrorKind::AlreadyExists),
            None,
            None,
            Some(ErrorKind::AlreadyExists),
            Some(ErrorKind::Conflict),
            None
        ]
    );
    let key = |id| RecordKey::new(EntityKind::Project, id);
    assert_eq!(results[2].as_ref().unwrap().written, vec![(key(1), Some(Revision(2)))]);
    assert_eq!(results[6].as_ref().unwrap().written, vec![(key(3), None)]);

    let mut read = snapshot(&db);
    let stored = kv::get(&mut read, key(1)).unwrap().unwrap();
    assert_eq!((stored.revision, stored.record), (Revision(2), eyrie_core::storage::Entity::into_record(p1_renamed)));
    assert!(kv::get(&mut read, key(2)).unwrap().is_none());
    assert!(kv::get(&mut read, key(3)).unwrap().is_none());
    assert!(kv::get(&mut read, RecordKey::new(EntityKind::Group, 10)).unwrap().is_none(), "4 left nothing behind");
    assert!(kv::get_unique(&mut read, &UniqueKey::ProjectSlug("a".into())).unwrap().is_none());
    assert_eq!(kv::get_unique(&mut read, &UniqueKey::ProjectSlug("b".into())).unwrap().unwrap().record.key(), key(1));
    assert_eq!(read.count_prefix(Table::Index, &[]).unwrap(), 0);
    assert!(kv::verify(&mut read).unwrap().is_empty());
}

#[test]
fn an_empty_batch_commits_and_a_non_durable_commit_is_visible() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(&dir);
    assert!(commit_batch(&db, true, &[]).unwrap().is_empty());
    let results = commit_batch(&db, false, &[Transaction::new().create(project(1, "a"))]).unwrap();
    assert!(results[0].is_ok());
    assert!(kv::get(&mut snapshot(&db), RecordKey::new(EntityKind::Project, 1)).unwrap().is_some());
    assert!(commit_batch(&db, true, &[]).unwrap().is_empty());
}
