//! Checks of the shared store layer's guarantees: snapshots, maintained
//! list counts and the record size bound.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use eyrie_core::storage::kit::codec::DEFAULT_MAX_RECORD_BYTES;
use eyrie_core::storage::{Index, SnapshotExt, Store, StoreExt, Transaction, UniqueKey};
use eyrie_core::{
    DeploymentGroup, ErrorKind, GroupType, MonitorId, MonitorLog, MonitorLogId, MonitorState, Project, ProjectId,
    Timestamp, UserId,
};

use crate::builders;

fn log(id: u64, message: String) -> MonitorLog {
    MonitorLog {
        id: MonitorLogId(id),
        project_id: ProjectId(1),
        monitor_id: MonitorId(1),
        at: Timestamp::from_unix_seconds(1_767_225_600),
        state: MonitorState::Ok,
        value: None,
        message,
        delete_after: None,
        scope_id: None,
    }
}

/// A snapshot sees the state when it was opened: not a commit that returns
/// after it (on a store whose snapshots hold commits back, the commit waits
/// for the snapshot instead; the capabilities say which).
pub async fn snapshot_sees_one_state(store: Arc<dyn Store>) {
    let project = builders::project(1, UserId(1));
    let group = builders::group(2, &project, GroupType::Odoo, &[]);
    store.commit(Transaction::new().create(project.clone()).create(group)).await.expect("setup");
    let read = store.fetch::<Project>(1).await.expect("fetch");

    let snapshot = store.snapshot().await.expect("snapshot");
    let mut renamed = project.clone();
    renamed.slug = "renamed".parse().expect("slug");
    let late_group = builders::group(3, &project, GroupType::Pgo, &[]);
    let tx = Transaction::new().update(&read, renamed.clone()).create(late_group);
    let writer = store.clone();
    let commit = tokio::spawn(async move { writer.commit(tx).await });
    let blocking = store.capabilities().snapshots_block_writes;
    let mut commit = Some(commit);
    if !blocking && let Some(pending) = commit.take() {
        pending.await.expect("commit task").expect("commit");
    }

    let seen = snapshot.fetch::<Project>(1).await.expect("snapshot fetch");
    assert_eq!((seen.revision, &seen.value), (read.revision, &project), "a snapshot does not see a later commit");
    assert_eq!(snapshot.count(Index::ProjectGroups(project.id)).await.expect("count"), 1);
    assert_eq!(snapshot.children::<DeploymentGroup>(Index::ProjectGroups(project.id)).await.expect("list").len(), 1);
    let old_slug = UniqueKey::ProjectSlug(project.slug.to_string());
    assert!(snapshot.get_unique(&old_slug).await.expect("unique").is_some(), "the old slug is held in the snapshot");
    drop(snapshot);
    if let Some(pending) = commit {
        pending.await.expect("commit task").expect("commit once the snapshot is gone");
    }

    assert_eq!(store.fetch::<Project>(1).await.expect("fetch").value, renamed, "the store sees the commit");
    assert_eq!(store.count(Index::ProjectGroups(project.id)).await.expect("count"), 2);
    let fresh = store.snapshot().await.expect("snapshot");
    assert_eq!(fresh.count(Index::ProjectGroups(project.id)).await.expect("count"), 2, "a new snapshot does");
}

/// List counts follow creates, moves and deletes (they are maintained, not
/// recounted), and agree with the lists.
pub async fn counts_follow_the_lists(store: Arc<dyn Store>) {
    let index = Index::MonitorLogs(MonitorId(1));
    let mut tx = Transaction::new();
    for id in 1..=30 {
        tx = tx.create(log(id, format!("check {id}")));
    }
    store.commit(tx).await.expect("create");
    assert_eq!(store.count(index).await.expect("count"), 30);
    let mut tx = Transaction::new();
    for id in (1..=30).step_by(3) {
        tx = tx.delete(&store.fetch::<MonitorLog>(id).await.expect("fetch"));
    }
    let moved = store.fetch::<MonitorLog>(2).await.expect("fetch");
    let mut elsewhere = moved.value.clone();
    elsewhere.monitor_id = MonitorId(2);
    store.commit(tx.update(&moved, elsewhere)).await.expect("delete and move");
    assert_eq!(store.count(index).await.expect("count"), 19);
    assert_eq!(store.list(index).await.expect("list").len(), 19);
    assert_eq!(store.count(Index::MonitorLogs(MonitorId(2))).await.expect("count"), 1);
    assert_eq!(store.count(Index::MonitorLogs(MonitorId(3))).await.expect("count"), 0);
    super::assert_consistent(&*store, "after counted writes").await;
}

/// A record over the store's size bound (1 MiB by default) is refused with
/// `Invalid`, on create and on update, and changes nothing; the message
/// names the kind and sizes, not the content.
pub async fn oversized_records_are_refused(store: Arc<dyn Store>) {
    store.commit(Transaction::new().create(log(1, "ok".into()))).await.expect("a small record");
    let huge = "x".repeat(DEFAULT_MAX_RECORD_BYTES + 1);
    let e = store.commit(Transaction::new().create(log(2, huge.clone()))).await.expect_err("oversized create");
    assert_eq!(e.kind(), ErrorKind::Invalid, "{e}");
    let text = e.to_string();
    assert!(text.contains("monitor log") && text.contains(&DEFAULT_MAX_RECORD_BYTES.to_string()), "{text}");
    assert!(!text.contains("xxxx"), "the message carries no content");
    assert!(store.find::<MonitorLog>(2).await.expect("find").is_none(), "a refused create writes nothing");

    let small = store.fetch::<MonitorLog>(1).await.expect("fetch");
    let update = Transaction::new().update(&small, log(1, huge)).create(log(3, "other".into()));
    let e = store.commit(update).await.expect_err("oversized update");
    assert_eq!(e.kind(), ErrorKind::Invalid);
    let after = store.fetch::<MonitorLog>(1).await.expect("fetch");
    assert_eq!((after.revision, after.value.message.as_str()), (small.revision, "ok"), "the update changed nothing");
    assert!(store.find::<MonitorLog>(3).await.expect("find").is_none(), "nor did the rest of its transaction");
    assert_eq!(store.count(Index::MonitorLogs(MonitorId(1))).await.expect("count"), 1);
    super::assert_consistent(&*store, "after oversized writes").await;
}

/// A task that only reads still yields to other tasks on its thread: a
/// commit started beside a loop of reads, both on one thread (a
/// `LocalSet`), finishes while the loop runs. Reads that never yield would
/// let it finish only after the loop.
pub async fn reads_yield_to_commits(store: Arc<dyn Store>) {
    tokio::task::LocalSet::new().run_until(reads_beside_a_commit(store)).await;
}

async fn reads_beside_a_commit(store: Arc<dyn Store>) {
    store.commit(Transaction::new().create(builders::project(1, UserId(1)))).await.expect("setup");
    let committed = Arc::new(AtomicBool::new(false));
    let (writer_store, flag) = (store.clone(), committed.clone());
    let writer = tokio::task::spawn_local(async move {
        let mut second = builders::project(2, UserId(1));
        second.slug = "second".parse().expect("slug");
        writer_store.commit(Transaction::new().create(second)).await.expect("commit");
        flag.store(true, Ordering::Release);
    });
    let reader = tokio::task::spawn_local(async move {
        for done in 0..200_000u32 {
            if committed.load(Ordering::Acquire) {
                return Some(done);
            }
            store.find::<Project>(1).await.expect("read");
        }
        None
    });
    let reads = reader.await.expect("reader task");
    writer.await.expect("writer task");
    assert!(reads.is_some(), "200,000 reads ran before a commit beside them could finish: reads never yield");
}
