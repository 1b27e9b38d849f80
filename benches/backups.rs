//! Backups: what retention's scheduler pass costs, and what a page of a
//! deployment's backups costs.
//!
//! - `retention_due_100`: `Engine::plan_tick` with 100 backups due for
//!   review among 1,000 and among 100,000 backups in the store. The
//!   `BackupsToReview` time index makes the cost follow the due work.
//! - `list_backups_page_20`: the first page of 20 of one deployment's
//!   backups when it has 100 and 1,000. A page reads the deployment's whole
//!   backup list (sorted in memory), so this grows with the list.
//!
//! Run: `cargo bench -p eyrie-benches --bench backups`

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark fails loudly

use std::sync::Arc;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use eyrie_core::service::BackupQuery;
use eyrie_core::storage::{Store, Transaction};
use eyrie_core::{Backup, BackupId, BackupKind, BackupState, Clock, DeploymentId, Engine, Timestamp};
use eyrie_testkit::MemoryStore;
use eyrie_testkit::fixtures::{Tenant, typical_tenant};

const DUE: usize = 100;

fn backup(t: &Tenant, id: u64, deployment: DeploymentId, at: Timestamp, review_at: Option<Timestamp>) -> Backup {
    let mut b = Backup::started(BackupId(id), t.project.id, deployment, BackupKind::DailyTriggered, at);
    b.scope_id = Some(t.dev.id);
    b.group_type = Some(eyrie_core::GroupType::Odoo);
    b.state = BackupState::Done;
    b.ended_at = Some(at);
    b.size_bytes = Some(1);
    b.review_at = review_at;
    b
}

async fn fill(store: &Arc<MemoryStore>, backups: Vec<Backup>) {
    for chunk in backups.chunks(1000) {
        let mut tx = Transaction::new();
        for b in chunk {
            tx = tx.create(b.clone());
        }
        store.commit(tx).await.unwrap();
    }
}

/// `total` backups, `DUE` of them due for review at the returned instant
/// (one per deployment id, so the plan names `DUE` deployments).
fn setup_due(rt: &tokio::runtime::Runtime, total: usize) -> (Engine, Timestamp) {
    rt.block_on(async {
        let store = Arc::new(MemoryStore::new());
        let t = typical_tenant(store.clone()).await.unwrap();
        let now = t.clock.now();
        let backups = (0..total)
            .map(|i| {
                let review = (i < DUE).then(|| Timestamp(now.0 - 1000));
                backup(&t, 50_000_000 + i as u64, DeploymentId(20_000_000 + i as u64), now, review)
            })
            .collect();
        fill(&store, backups).await;
        let engine = eyrie_testkit::fixtures::recording_engine(&t);
        let plan = engine.plan_tick(now).await.unwrap();
        assert_eq!(plan.backup_reviews.len(), DUE, "the setup makes exactly {DUE} due");
        (engine, now)
    })
}

fn retention_due(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut group = c.benchmark_group("retention_due_100");
    group.sample_size(30);
    for total in [1_000usize, 100_000] {
        let (engine, now) = setup_due(&rt, total);
        group.bench_with_input(BenchmarkId::from_parameter(total), &total, |b, _| {
            b.iter(|| rt.block_on(engine.plan_tick(now)).unwrap());
        });
    }
    group.finish();
}

fn list_page(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut group = c.benchmark_group("list_backups_page_20");
    for n in [100usize, 1_000] {
        let (t, d) = rt.block_on(async {
            let store = Arc::new(MemoryStore::new());
            let t = typical_tenant(store.clone()).await.unwrap();
            let d = t.sandbox.id;
            let now = t.clock.now();
            let backups =
                (0..n).map(|i| backup(&t, 60_000_000 + i as u64, d, Timestamp(now.0 + i as i64), None)).collect();
            fill(&store, backups).await;
            (t, d)
        });
        let page = rt.block_on(t.eyrie.list_backups(t.viewer, d, BackupQuery::first(20))).unwrap();
        assert_eq!(page.backups.len(), 20);
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| rt.block_on(t.eyrie.list_backups(t.viewer, d, BackupQuery::first(20))).unwrap());
        });
    }
    group.finish();
}

criterion_group!(benches, retention_due, list_page);
criterion_main!(benches);
