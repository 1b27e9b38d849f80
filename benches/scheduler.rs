//! The cost of one scheduler pass (`Engine::plan_tick`: finding what is due)
//! with 1,000 and with 100,000 deployments in the store, 100 of them due.
//! The time index makes the cost follow the due work, not the store size.
//!
//! Run: `cargo bench -p eyrie-benches --bench scheduler`

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark fails loudly

use std::sync::Arc;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use eyrie_core::storage::{Store, Transaction};
use eyrie_core::{Clock, DeploymentId, Engine, LifecycleState, Timestamp};
use eyrie_testkit::fixtures::typical_tenant;
use eyrie_testkit::{MemoryStore, builders};

const DUE: usize = 100;

/// A tenant whose dev scope holds `total` deployments in `deploy`, `DUE` of
/// them past their pause deadline at the returned instant.
fn setup(rt: &tokio::runtime::Runtime, total: usize) -> (Engine, Timestamp) {
    rt.block_on(async {
        let store = Arc::new(MemoryStore::new());
        let t = typical_tenant(store.clone()).await.unwrap();
        let now = t.clock.now().plus_seconds(30 * 86_400);
        let pause = t.dev.deployment_pause_after_seconds.unwrap();
        for chunk in (0..total).collect::<Vec<_>>().chunks(1000) {
            let mut tx = Transaction::new();
            for &i in chunk {
                let mut d = builders::deployment(10_000_000 + i as u64, &t.group, &t.dev, &format!("bench-{i}"));
                d.state = LifecycleState::Deploy;
                // The first DUE entered deploy long ago; the others just now.
                let entered = if i < DUE { now.plus_seconds(0).0 - (pause as i64 + 60) * 1000 } else { now.0 };
                d.entered_deploy_at = Some(Timestamp(entered));
                d.timer_due_at = eyrie_core::rules::next_timer_at(&d, &t.dev);
                tx = tx.create(d);
            }
            store.commit(tx).await.unwrap();
        }
        let engine = eyrie_testkit::fixtures::recording_engine(&t);
        let plan = engine.plan_tick(now).await.unwrap();
        assert_eq!(plan.pauses.len(), DUE, "the setup makes exactly {DUE} due");
        assert!(plan.pauses.iter().all(|d: &DeploymentId| d.0 < 10_000_000 + DUE as u64));
        (engine, now)
    })
}

fn tick(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut group = c.benchmark_group("scheduler_tick_100_due");
    group.sample_size(30);
    for total in [1_000usize, 100_000] {
        let (engine, now) = setup(&rt, total);
        group.bench_with_input(BenchmarkId::from_parameter(total), &total, |b, _| {
            b.iter(|| rt.block_on(engine.plan_tick(now)).unwrap());
        });
    }
    group.finish();
}

criterion_group!(benches, tick);
criterion_main!(benches);
