//! Many concurrent writers and readers on one store: every caller gets
//! exactly its own result, races on unique values and revisions have one
//! winner, and readers only ever see whole transactions.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::{assert_consistent, open, project};
use eyrie_core::storage::{EntityKind, RecordKey, Revision, Store, StoreExt, Transaction, UniqueKey};
use eyrie_core::{ErrorKind, Project, Slug};
use futures::future::join_all;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_creates_of_one_slug_have_exactly_one_winner_each() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open(dir.path()).await);
    // 40 slugs, three contenders each, plus 40 uncontested creates.
    let mut tasks = Vec::new();
    for id in 1..=160u64 {
        let slug = if id <= 120 { format!("contested-{}", id % 40) } else { format!("free-{id}") };
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            (id, slug.clone(), store.commit(Transaction::new().create(project(id, &slug))).await)
        }));
    }
    let results: Vec<_> = join_all(tasks).await.into_iter().map(Result::unwrap).collect();
    let mut winners = std::collections::BTreeMap::new();
    for (id, slug, result) in &results {
        match result {
            Ok(receipt) => {
                assert_eq!(receipt.written, vec![(RecordKey::new(EntityKind::Project, *id), Some(Revision::FIRST))]);
                assert!(winners.insert(slug.clone(), *id).is_none(), "two winners for {slug}");
            }
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{e}");
                assert!(e.to_string().contains(slug.as_str()), "{id} lost with someone else's error: {e}");
            }
        }
    }
    assert_eq!(winners.len(), 80);
    for (slug, id) in &winners {
        let holder = store.find_unique::<Project>(&UniqueKey::ProjectSlug(slug.clone())).await.unwrap().unwrap();
        assert_eq!(holder.value.id.0, *id, "{slug} is held by its reported winner");
    }
    assert_eq!(store.list_kind(EntityKind::Project).await.unwrap().len(), 80);
    assert_consistent(&*store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn read_modify_write_loops_lose_no_update() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open(dir.path()).await);
    store.commit(Transaction::new().create(project(1, "counter"))).await.unwrap();
    const WRITERS: u64 = 8;
    const INCREMENTS: u64 = 25;
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut conflicts = 0u64;
            let mut revisions = Vec::new();
            for i in 0..INCREMENTS {
                loop {
                    let read = store.fetch::<Project>(1).await.unwrap();
                    let mut next = read.value.clone();
                    next.slug = Slug::from_name(&format!("counter-{w}-{i}"));
                    match store.commit(Transaction::new().update(&read, next)).await {
                        Ok(receipt) => {
                            assert_eq!(receipt.written[0].1, Some(read.revision.next()));
                            revisions.push(read.revision.next().0);
                            break;
                        }
                        Err(e) if e.kind() == ErrorKind::Conflict => conflicts += 1,
                        Err(e) => panic!("unexpected {e}"),
                    }
                }
            }
            (revisions, conflicts)
        }));
    }
    let mut all_revisions = Vec::new();
    for task in join_all(tasks).await {
        all_revisions.extend(task.unwrap().0);
    }
    all_revisions.sort_unstable();
    // Each successful update produced a distinct revision: no lost update.
    assert_eq!(all_revisions, (2..=1 + WRITERS * INCREMENTS).collect::<Vec<_>>());
    assert_eq!(store.fetch::<Project>(1).await.unwrap().revision, Revision(1 + WRITERS * INCREMENTS));
    assert_consistent(&*store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn readers_see_whole_transactions_only() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open(dir.path()).await);
    store.commit(Transaction::new().create(project(1, "left-0")).create(project(2, "right-0"))).await.unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let mut readers = Vec::new();
    for _ in 0..3 {
        let (store, done) = (store.clone(), done.clone());
        readers.push(tokio::spawn(async move {
            let mut snapshots = 0u64;
            while !done.load(Ordering::Relaxed) || snapshots == 0 {
                let dump = store.dump().await.unwrap();
                assert_eq!(dump.len(), 2);
                assert_eq!(dump[0].revision, dump[1].revision, "a snapshot split a transaction");
                snapshots += 1;
            }
            snapshots
        }));
    }
    let mut writers = Vec::new();
    for w in 0..4u64 {
        let store = store.clone();
        writers.push(tokio::spawn(async move {
            let mut applied = 0u64;
            while applied < 20 {
                let (l, r) = (store.fetch::<Project>(1).await.unwrap(), store.fetch::<Project>(2).await.unwrap());
                let mut l2 = l.value.clone();
                l2.slug = Slug::from_name(&format!("left-{w}-{applied}"));
                let mut r2 = r.value.clone();
                r2.slug = Slug::from_name(&format!("right-{w}-{applied}"));
                match store.commit(Transaction::new().update(&l, l2).update(&r, r2)).await {
                    Ok(_) => applied += 1,
                    Err(e) => assert_eq!(e.kind(), ErrorKind::Conflict, "{e}"),
                }
            }
        }));
    }
    for w in join_all(writers).await {
        w.unwrap();
    }
    done.store(true, Ordering::Relaxed);
    for r in join_all(readers).await {
        assert!(r.unwrap() > 0);
    }
    let p1 = store.get(RecordKey::new(EntityKind::Project, 1)).await.unwrap().unwrap();
    assert_eq!(p1.revision, Revision(1 + 4 * 20));
    assert_consistent(&*store).await;
}
