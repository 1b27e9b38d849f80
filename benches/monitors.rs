//! The cost of finding due monitor checks (`Engine::plan_tick`) with 1,000
//! and with 10,000 monitors in the store, 100 of them due. Due monitors
//! come from a time index, so the cost follows the due count, not the
//! number of monitors.
//!
//! Run: `cargo bench -p eyrie-benches --bench monitors`

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark fails loudly

use std::sync::Arc;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use eyrie_core::storage::{Store, Transaction};
use eyrie_core::{Clock, Engine, HttpOptions, Monitor, MonitorId, MonitorState, MonitorType, Timestamp};
use eyrie_testkit::MemoryStore;
use eyrie_testkit::fixtures::typical_tenant;

const DUE: usize = 100;

/// A tenant with `total` monitors, `DUE` of them due at the returned instant.
fn setup(rt: &tokio::runtime::Runtime, total: usize) -> (Engine, Timestamp) {
    rt.block_on(async {
        let store = Arc::new(MemoryStore::new());
        let t = typical_tenant(store.clone()).await.unwrap();
        let now = t.clock.now().plus_seconds(86_400);
        for chunk in (0..total).collect::<Vec<_>>().chunks(1000) {
            let mut tx = Transaction::new();
            for &i in chunk {
                let next = if i < DUE { Timestamp(now.0 - 1000) } else { now.plus_seconds(3600) };
                tx = tx.create(Monitor {
                    id: MonitorId(10_000_000 + i as u64),
                    project_id: t.project.id,
                    deployment_id: t.shop.id,
                    monitor_type: MonitorType::HttpRequest,
                    target: "https://shop.acme.example/web/health".into(),
                    warning: Some(2_000),
                    error: Some(10_000),
                    state: MonitorState::Unknown,
                    last_check_at: None,
                    interval_seconds: 60,
                    http: HttpOptions::default(),
                    pending: None,
                    next_check_at: Some(next),
                });
            }
            store.commit(tx).await.unwrap();
        }
        let engine = eyrie_testkit::fixtures::recording_engine(&t);
        let plan = engine.plan_tick(now).await.unwrap();
        // shop's default monitor (due since its creation) comes on top.
        assert_eq!(plan.monitor_checks.len(), DUE + 1, "the setup makes exactly {DUE} due");
        (engine, now)
    })
}

fn plan(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut group = c.benchmark_group("monitor_plan_100_due");
    group.sample_size(30);
    for total in [1_000usize, 10_000] {
        let (engine, now) = setup(&rt, total);
        group.bench_with_input(BenchmarkId::from_parameter(total), &total, |b, _| {
            b.iter(|| rt.block_on(engine.plan_tick(now)).unwrap());
        });
    }
    group.finish();
}

criterion_group!(benches, plan);
criterion_main!(benches);
