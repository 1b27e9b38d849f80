//! SPEC §9: a rule checked when a job is requested is checked again when it
//! runs. Conditions change between the two; a broken rule ends the job in
//! `error` naming it, and nothing reaches a cluster. The executor here is a
//! mockall mock whose every operation is expected never to be called.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::collections::BTreeMap;
use std::sync::Arc;

use eyrie_core::jobs::HandlerRegistry;
use eyrie_core::service::ScopePatch;
use eyrie_core::storage::{StoreExt, Transaction};
use eyrie_core::{ClusterState, Deployment, Engine, EngineConfig, JobAction, JobState, LifecycleState};
use eyrie_testkit::MemoryStore;
use eyrie_testkit::fixtures::{Tenant, typical_tenant};

#[path = "support/mock_executor.rs"]
mod mock_executor;
use mock_executor::MockExec;

/// An executor that must never be called.
fn untouchable() -> Arc<MockExec> {
    let mut exec = MockExec::new();
    exec.expect_ensure_namespace().never();
    exec.expect_apply().never();
    exec.expect_pause().never();
    exec.expect_resume().never();
    exec.expect_remove().never();
    exec.expect_observe().never();
    Arc::new(exec)
}

/// The tenant with its sandbox deployed, and an engine whose executor must stay untouched.
async fn deployed_sandbox() -> (Tenant, Engine) {
    let t = typical_tenant(Arc::new(MemoryStore::new())).await.unwrap();
    let setup = eyrie_testkit::fixtures::recording_engine(&t);
    for action in [JobAction::Initialize, JobAction::Deploy] {
        setup.submit(t.developer, t.sandbox.id, action, BTreeMap::new()).await.unwrap();
        setup.run_until_idle().await.unwrap();
    }
    let engine = Engine::new(t.eyrie.clone(), HandlerRegistry::with_executor(untouchable()), EngineConfig::default());
    (t, engine)
}

async fn run_and_fail(t: &Tenant, engine: &Engine, job: eyrie_core::JobId, rule: &str) {
    engine.run_until_idle().await.unwrap();
    let job = engine.get_job(t.owner, job).await.unwrap();
    assert_eq!(job.state, JobState::Error, "{:?}", job.error);
    let why = job.error.unwrap();
    assert!(why.contains("checked again") && why.contains(rule), "{why}");
}

#[tokio::test(start_paused = true)]
async fn a_deploy_queued_before_its_cluster_left_active_fails_and_reaches_no_cluster() {
    let (t, engine) = deployed_sandbox().await;
    let job = engine.submit(t.developer, t.sandbox.id, JobAction::Redeploy, BTreeMap::new()).await.unwrap();
    t.eyrie.transition_cluster(t.root, t.clusters[1].id, ClusterState::Transitioning).await.unwrap();
    run_and_fail(&t, &engine, job.id, "not active").await;
    let d = t.eyrie.get_deployment(t.owner, t.sandbox.id).await.unwrap();
    assert_eq!(d.state, LifecycleState::Deploy, "the state stays where it was");
}

#[tokio::test(start_paused = true)]
async fn a_drop_queued_before_allow_drop_was_switched_off_fails_and_reaches_no_cluster() {
    let (t, engine) = deployed_sandbox().await;
    let job = engine.submit(t.developer, t.sandbox.id, JobAction::Drop, BTreeMap::new()).await.unwrap();
    let mut config = t.dev.config();
    config.allow_drop = false;
    let patch = ScopePatch::default().with_config(config.into());
    t.eyrie.update_scope(t.owner, t.dev.id, patch).await.unwrap();
    run_and_fail(&t, &engine, job.id, "allow_drop").await;
    let d = t.eyrie.get_deployment(t.owner, t.sandbox.id).await.unwrap();
    assert_eq!(d.state, LifecycleState::Deploy, "not dropped");
}

#[tokio::test(start_paused = true)]
async fn a_job_whose_deployment_state_no_longer_allows_it_fails_and_reaches_no_cluster() {
    let (t, engine) = deployed_sandbox().await;
    let job = engine.submit(t.developer, t.sandbox.id, JobAction::Pause, BTreeMap::new()).await.unwrap();
    // A state change that the service would refuse while the job is active,
    // written straight to the store: the engine must not trust its submit-time view.
    let store = t.store.clone();
    let read = store.fetch::<Deployment>(t.sandbox.id.0).await.unwrap();
    let mut paused = read.value.clone();
    paused.state = LifecycleState::Pause;
    store.commit(Transaction::new().update(&read, paused)).await.unwrap();
    run_and_fail(&t, &engine, job.id, "pause").await;
}
