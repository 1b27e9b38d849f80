//! SPEC §10: several engines over one store. Each engine takes a unique
//! identity by default and holds a claim by a fresh token, so every step's
//! handler runs once, and a job left by a stopped engine is resumed by
//! exactly one other.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use eyrie_core::jobs::HandlerRegistry;
use eyrie_core::storage::StoreExt;
use eyrie_core::{DeploymentId, Engine, EngineConfig, Job, JobAction, JobState, StepState};
use eyrie_testkit::fixtures::{Tenant, typical_tenant};
use eyrie_testkit::{MemoryStore, Op, RecordingExecutor};

/// An engine built exactly as an embedder would: the default configuration.
fn default_engine(t: &Tenant, fake: &RecordingExecutor) -> Engine {
    Engine::new(t.eyrie.clone(), HandlerRegistry::with_executor(Arc::new(fake.clone())), EngineConfig::default())
}

/// The executor calls as (op, cluster index, deployment name), sorted: comparable across tenants.
fn calls(t: &Tenant, fake: &RecordingExecutor) -> Vec<(Op, usize, String)> {
    let name = |d: DeploymentId| {
        [&t.shop, &t.preview, &t.sandbox].iter().find(|x| x.id == d).map(|x| x.slug.to_string()).unwrap()
    };
    let mut out: Vec<_> = fake
        .calls()
        .iter()
        .map(|c| (c.op, t.clusters.iter().position(|k| k.id == c.cluster).unwrap(), name(c.deployment)))
        .collect();
    out.sort();
    out
}

async fn submit_all(t: &Tenant, engine: &Engine, action: JobAction) -> Vec<eyrie_core::JobId> {
    let mut jobs = Vec::new();
    for d in [t.shop.id, t.preview.id, t.sandbox.id] {
        jobs.push(engine.submit(t.owner, d, action, BTreeMap::new()).await.unwrap().id);
    }
    jobs
}

async fn assert_done_once(t: &Tenant, engine: &Engine, jobs: &[eyrie_core::JobId]) {
    for id in jobs {
        let job = engine.get_job(t.owner, *id).await.unwrap();
        assert_eq!(job.state, JobState::Done, "{id}: {:?}", job.error);
        let done = job.transitions.iter().filter(|(s, _)| *s == JobState::Done).count();
        assert_eq!(done, 1, "{id} finished once");
    }
}

/// What one engine alone calls for initialize then deploy of every deployment.
async fn baseline() -> Vec<(Op, usize, String)> {
    let t = typical_tenant(Arc::new(MemoryStore::new())).await.unwrap();
    let fake = RecordingExecutor::new();
    let engine = default_engine(&t, &fake);
    for action in [JobAction::Initialize, JobAction::Deploy] {
        submit_all(&t, &engine, action).await;
        engine.run_until_idle().await.unwrap();
    }
    calls(&t, &fake)
}

#[tokio::test(start_paused = true)]
async fn engines_built_with_the_default_configuration_have_distinct_identities() {
    let t = typical_tenant(Arc::new(MemoryStore::new())).await.unwrap();
    let fake = RecordingExecutor::new();
    let (a, b) = (default_engine(&t, &fake), default_engine(&t, &fake));
    assert_ne!(a.id(), b.id());
    let pinned = Engine::new(t.eyrie.clone(), HandlerRegistry::new(), EngineConfig::default().with_engine_id(7));
    assert_eq!(pinned.id(), 7, "an explicit id is kept");
}

#[tokio::test(start_paused = true)]
async fn two_default_engines_over_one_store_run_every_step_exactly_once() {
    let expected = baseline().await;
    let t = typical_tenant(Arc::new(MemoryStore::new())).await.unwrap();
    let fake = RecordingExecutor::new();
    let (a, b) = (default_engine(&t, &fake), default_engine(&t, &fake));
    for action in [JobAction::Initialize, JobAction::Deploy] {
        let jobs = submit_all(&t, &a, action).await;
        let (ra, rb) = tokio::join!(a.run_until_idle(), b.run_until_idle());
        assert_eq!(ra.unwrap().finished + rb.unwrap().finished, 3, "{action}: each job finished by exactly one engine");
        assert_done_once(&t, &a, &jobs).await;
    }
    assert_eq!(calls(&t, &fake), expected, "the same calls as one engine alone: none twice");
}

#[tokio::test(start_paused = true)]
async fn three_engines_with_one_stopped_mid_step_resume_it_once() {
    let expected = baseline().await;
    let t = typical_tenant(Arc::new(MemoryStore::new())).await.unwrap();
    let fake = RecordingExecutor::new();
    let engines = [default_engine(&t, &fake), default_engine(&t, &fake), default_engine(&t, &fake)];
    submit_all(&t, &engines[0], JobAction::Initialize).await;
    engines[0].run_until_idle().await.unwrap();

    fake.stall(Op::Apply);
    let jobs = submit_all(&t, &engines[0], JobAction::Deploy).await;
    let first = engines[0].clone();
    let dying = tokio::spawn(async move { first.run_until_idle().await });
    loop {
        tokio::time::sleep(Duration::from_millis(10)).await;
        let running = t.store.fetch::<Job>(jobs[0].0).await.unwrap().value;
        if running.steps.iter().any(|s| s.spec.name == "apply" && s.state == StepState::Running) {
            break;
        }
    }
    dying.abort(); // engine 0 stops mid-step, its leases still live
    let _ = dying.await;
    fake.release(Op::Apply);

    let (r1, r2) = tokio::join!(engines[1].run_until_idle(), engines[2].run_until_idle());
    assert_eq!(r1.unwrap().finished + r2.unwrap().finished, 0, "live leases are left alone by the others");
    t.clock.advance_seconds(301 + 3600);
    let (r1, r2) = tokio::join!(engines[1].run_until_idle(), engines[2].run_until_idle());
    assert_eq!(r1.unwrap().finished + r2.unwrap().finished, 3, "after the leases lapse, each job is taken over once");
    assert_done_once(&t, &engines[1], &jobs).await;

    // The fake records a call when it completes; engine 0's applies never
    // did. So every call of one engine alone happened exactly once.
    assert_eq!(calls(&t, &fake), expected, "each step ran once to completion, none twice");
}
