//! The job engine: transitions, retries, time-outs, one job per deployment,
//! crash and resume, cancel, manual steps, books.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use eyrie_core::jobs::{HandlerRegistry, builtin, default_steps};
use eyrie_core::storage::StoreExt;
use eyrie_core::{
    Deployment, Engine, EngineConfig, Error, ErrorKind, GroupType, Job, JobAction, JobState, LifecycleState, StepSpec,
    StepState,
};
use eyrie_testkit::fixtures::{Tenant, typical_tenant};
use eyrie_testkit::{MemoryStore, Op, RecordingExecutor};

struct Rig {
    t: Tenant,
    engine: Engine,
    fake: RecordingExecutor,
}

fn engine_for(t: &Tenant, fake: &RecordingExecutor, id: u64) -> Engine {
    let config = EngineConfig::default().with_engine_id(id).with_max_attempts(4);
    Engine::new(t.eyrie.clone(), HandlerRegistry::with_executor(Arc::new(fake.clone())), config)
}

async fn rig() -> Rig {
    let t = typical_tenant(Arc::new(MemoryStore::new())).await.unwrap();
    let fake = RecordingExecutor::new();
    let engine = engine_for(&t, &fake, 1);
    Rig { t, engine, fake }
}

async fn run(r: &Rig, d: eyrie_core::DeploymentId, action: JobAction) -> Job {
    let job = r.engine.submit(r.t.developer, d, action, BTreeMap::new()).await.unwrap();
    r.engine.run_until_idle().await.unwrap();
    r.engine.get_job(r.t.owner, job.id).await.unwrap()
}

async fn deployment(r: &Rig, d: eyrie_core::DeploymentId) -> Deployment {
    r.t.eyrie.get_deployment(r.t.owner, d).await.unwrap()
}

/// Runs `job` on engine 1 (whose executor stalls `op`) until `step` is
/// persisted as running, then kills that engine mid-step and lets `op` go.
async fn die_during(r: &Rig, job: eyrie_core::JobId, step: &str, op: Op) {
    let first = r.engine.clone();
    let dying = tokio::spawn(async move { first.run_until_idle().await });
    loop {
        tokio::time::sleep(Duration::from_millis(10)).await;
        let j = r.t.store.fetch::<Job>(job.0).await.unwrap().value;
        if j.steps.iter().any(|s| s.spec.name == step && s.state == StepState::Running) {
            break;
        }
    }
    dying.abort(); // the process dies mid-step
    let _ = dying.await;
    r.fake.release(op);
}

fn states(job: &Job) -> Vec<JobState> {
    job.transitions.iter().map(|(s, _)| *s).collect()
}

#[tokio::test(start_paused = true)]
async fn a_job_moves_draft_scheduled_running_done_and_advances_its_deployment() {
    let r = rig().await;
    let d = r.t.sandbox.id;
    let submitted = r.engine.submit(r.t.developer, d, JobAction::Initialize, BTreeMap::new()).await.unwrap();
    assert_eq!(states(&submitted), [JobState::Draft, JobState::Scheduled]);
    assert_eq!(deployment(&r, d).await.state, LifecycleState::Draft, "nothing changes before the job is done");
    r.engine.run_until_idle().await.unwrap();
    let job = r.engine.get_job(r.t.owner, submitted.id).await.unwrap();
    assert_eq!(states(&job), [JobState::Draft, JobState::Scheduled, JobState::Running, JobState::Done]);
    assert!(job.steps.iter().all(|s| s.state == StepState::Done && s.attempts == 1));
    assert_eq!(deployment(&r, d).await.state, LifecycleState::Initialize);

    for (action, state) in [
        (JobAction::Deploy, LifecycleState::Deploy),
        (JobAction::Pause, LifecycleState::Pause),
        (JobAction::Deploy, LifecycleState::Deploy),
        (JobAction::Drop, LifecycleState::Dropped),
    ] {
        let job = run(&r, d, action).await;
        assert_eq!(job.state, JobState::Done, "{action}: {:?}", job.error);
        assert_eq!(deployment(&r, d).await.state, state, "after {action}");
    }
    let ops: Vec<Op> = r.fake.calls().iter().map(|c| c.op).collect();
    assert_eq!(ops.iter().filter(|o| **o == Op::Remove).count(), 2, "drop removes on both clusters");
    assert!(ops.contains(&Op::Pause) && ops.contains(&Op::Observe));
    assert_eq!(r.fake.running(r.t.clusters[0].id, d), None, "gone from the cluster");
}

#[tokio::test(start_paused = true)]
async fn entering_deploy_records_the_instant_and_starts_the_timers() {
    let r = rig().await;
    let d = r.t.sandbox.id;
    run(&r, d, JobAction::Initialize).await;
    r.t.clock.advance_seconds(60);
    run(&r, d, JobAction::Deploy).await;
    let dep = deployment(&r, d).await;
    let entered = dep.entered_deploy_at.unwrap();
    assert_eq!(entered, eyrie_core::Clock::now(&*r.t.clock));
    assert_eq!(dep.timer_due_at, Some(entered.plus_seconds(8 * 3600)), "dev pauses after 8 h");
}

#[tokio::test(start_paused = true)]
async fn a_failed_job_records_the_error_and_leaves_the_state() {
    let r = rig().await;
    let d = r.t.sandbox.id;
    run(&r, d, JobAction::Initialize).await;
    r.fake.fail_next(Op::Apply, Error::Invalid(eyrie_core::ValidationError::field("spec", "x", "422 from the API")));
    let job = run(&r, d, JobAction::Deploy).await;
    assert_eq!(job.state, JobState::Error);
    assert!(job.error.as_deref().unwrap().contains("422"), "{:?}", job.error);
    let dep = deployment(&r, d).await;
    assert_eq!(dep.state, LifecycleState::Initialize, "the state stays where it was");
    assert!(dep.last_error.unwrap().contains("422"));
    let job = run(&r, d, JobAction::Deploy).await;
    assert_eq!(job.state, JobState::Done);
    assert_eq!(deployment(&r, d).await.last_error, None, "a later success clears the error");
}

#[tokio::test(start_paused = true)]
async fn retryable_failures_retry_with_capped_exponential_backoff() {
    let r = rig().await;
    assert_eq!(r.engine.backoff(1), Duration::from_secs(1));
    assert_eq!(r.engine.backoff(4), Duration::from_secs(8));
    assert_eq!(r.engine.backoff(30), Duration::from_secs(300), "capped");
    let d = r.t.sandbox.id;
    run(&r, d, JobAction::Initialize).await;
    for _ in 0..2 {
        r.fake.fail_next(Op::Apply, Error::backend("409 conflict", true));
    }
    let started = tokio::time::Instant::now();
    let job = run(&r, d, JobAction::Deploy).await;
    assert_eq!(job.state, JobState::Done);
    let apply = job.steps.iter().find(|s| s.spec.name == "apply").unwrap();
    assert_eq!(apply.attempts, 3);
    assert!(started.elapsed() >= Duration::from_secs(1 + 2), "waited the back-off: {:?}", started.elapsed());
}

#[tokio::test(start_paused = true)]
async fn a_step_fails_after_the_maximum_attempts() {
    let r = rig().await;
    let d = r.t.sandbox.id;
    run(&r, d, JobAction::Initialize).await;
    for _ in 0..10 {
        r.fake.fail_next(Op::Apply, Error::backend("500", true));
    }
    let job = run(&r, d, JobAction::Deploy).await;
    assert_eq!(job.state, JobState::Error);
    assert!(job.error.as_deref().unwrap().contains("gave up after 4 attempts"), "{:?}", job.error);
}

#[tokio::test(start_paused = true)]
async fn a_step_running_longer_than_its_estimate_times_over_stop_times_out() {
    let r = rig().await;
    let d = r.t.sandbox.id;
    run(&r, d, JobAction::Initialize).await;
    r.fake.stall(Op::Apply);
    let started = tokio::time::Instant::now();
    let job = run(&r, d, JobAction::Deploy).await;
    assert_eq!(job.state, JobState::Error);
    assert!(job.error.as_deref().unwrap().contains("timed out after 100s"), "{:?}", job.error);
    assert!(started.elapsed() >= Duration::from_secs(100));
}

#[tokio::test(start_paused = true)]
async fn a_zero_estimate_uses_the_steps_historical_average() {
    let r = rig().await;
    let mut steps = default_steps(GroupType::Odoo, JobAction::Initialize);
    steps[0].estimated_duration = 0;
    r.engine
        .publish_book(eyrie_core::Actor::System, GroupType::Odoo, JobAction::Initialize, "init", steps)
        .await
        .unwrap();
    // No history yet: no limit, a slow step still finishes.
    r.fake.stall(Op::EnsureNamespace);
    let job = r.engine.submit(r.t.developer, r.t.sandbox.id, JobAction::Initialize, BTreeMap::new()).await.unwrap();
    let engine = r.engine.clone();
    let running = tokio::spawn(async move { engine.run_until_idle().await });
    tokio::time::sleep(Duration::from_secs(500)).await;
    r.fake.release(Op::EnsureNamespace);
    running.await.unwrap().unwrap();
    assert_eq!(r.engine.get_job(r.t.owner, job.id).await.unwrap().state, JobState::Done);
    // Now the average is known (a fast run by the manual clock): 1 s × 10 = 10 s limit.
    r.fake.stall(Op::EnsureNamespace);
    let job = run(&r, r.t.preview.id, JobAction::Initialize).await;
    assert_eq!(job.state, JobState::Error);
    assert!(job.error.as_deref().unwrap().contains("timed out after 10s"), "{:?}", job.error);
}

#[tokio::test(start_paused = true)]
async fn a_second_action_on_a_busy_deployment_is_refused_not_queued() {
    let r = rig().await;
    let d = r.t.sandbox.id;
    r.engine.submit(r.t.developer, d, JobAction::Initialize, BTreeMap::new()).await.unwrap();
    let e = r.engine.submit(r.t.developer, d, JobAction::Drop, BTreeMap::new()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Busy);
    assert!(matches!(e, Error::Busy { deployment, job: Some(_) } if deployment == d), "{e:?}");
    assert!(e.to_string().contains("already has an active job"), "{e}");
    let other = r.engine.submit(r.t.developer, r.t.preview.id, JobAction::Initialize, BTreeMap::new()).await;
    assert!(other.is_ok(), "other deployments are not held");
}

#[tokio::test(start_paused = true)]
async fn concurrent_submits_on_one_deployment_create_exactly_one_job() {
    let r = rig().await;
    let d = r.t.sandbox.id;
    let mut handles = Vec::new();
    for _ in 0..8 {
        let (engine, actor) = (r.engine.clone(), r.t.developer);
        handles
            .push(tokio::spawn(async move { engine.submit(actor, d, JobAction::Initialize, BTreeMap::new()).await }));
    }
    let mut ok = 0;
    for h in handles {
        match h.await.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => assert_eq!(e.kind(), ErrorKind::Busy, "{e}"),
        }
    }
    assert_eq!(ok, 1);
    assert_eq!(r.engine.list_jobs(r.t.owner, d).await.unwrap().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn actions_are_authorized_and_drop_respects_allow_drop() {
    let r = rig().await;
    let e = r.engine.submit(r.t.viewer, r.t.preview.id, JobAction::Initialize, BTreeMap::new()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied);
    let e = r.engine.submit(r.t.owner, r.t.shop.id, JobAction::Drop, BTreeMap::new()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PolicyViolation, "prod forbids drops, even for the owner: {e}");
    let e = r.engine.submit(r.t.owner, r.t.shop.id, JobAction::Pause, BTreeMap::new()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidTransition, "a draft cannot pause");
    let e = r.engine.submit(r.t.owner, r.t.shop.id, JobAction::Redeploy, BTreeMap::new()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PolicyViolation, "redeploy needs deploy: {e}");
    let e = r.engine.submit(r.t.owner, r.t.shop.id, JobAction::Deploy, BTreeMap::new()).await.unwrap_err();
    assert!(e.to_string().contains("initialize it first"), "deploying a draft says what comes first: {e}");
}

#[tokio::test(start_paused = true)]
async fn deploys_need_every_cluster_active() {
    let r = rig().await;
    let d = r.t.sandbox.id;
    run(&r, d, JobAction::Initialize).await;
    r.t.eyrie.transition_cluster(r.t.root, r.t.clusters[1].id, eyrie_core::ClusterState::Transitioning).await.unwrap();
    let e = r.engine.submit(r.t.developer, d, JobAction::Deploy, BTreeMap::new()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PolicyViolation, "{e}");
}

#[tokio::test(start_paused = true)]
async fn a_job_left_running_by_a_dead_engine_is_resumed_and_finishes_exactly_once() {
    let r = rig().await;
    let d = r.t.sandbox.id;
    run(&r, d, JobAction::Initialize).await;
    r.fake.stall(Op::Apply);
    let job = r.engine.submit(r.t.developer, d, JobAction::Deploy, BTreeMap::new()).await.unwrap();
    die_during(&r, job.id, "apply", Op::Apply).await;
    let second = engine_for(&r.t, &r.fake, 2);
    assert_eq!(
        second.run_until_idle().await.unwrap().finished,
        0,
        "the lease still holds: nobody runs it twice at once"
    );
    r.t.clock.advance_seconds(301 + 100);
    assert_eq!(second.run_until_idle().await.unwrap().finished, 1, "after the lease lapses, the job is resumed");
    let done = r.engine.get_job(r.t.owner, job.id).await.unwrap();
    assert_eq!(done.state, JobState::Done);
    assert_eq!(states(&done).iter().filter(|s| **s == JobState::Done).count(), 1);
    let apply = done.steps.iter().find(|s| s.spec.name == "apply").unwrap();
    assert_eq!(apply.attempts, 2, "resumed from its current step");
    assert_eq!(done.steps[0].attempts, 1, "finished steps are not run again");
    assert_eq!(deployment(&r, d).await.state, LifecycleState::Deploy);
    assert_eq!(second.run_until_idle().await.unwrap().finished, 0, "and it never runs again");
}

#[tokio::test(start_paused = true)]
async fn a_step_that_cannot_be_resumed_fails_the_job_clearly() {
    let r = rig().await;
    let mut steps = default_steps(GroupType::Odoo, JobAction::Initialize);
    steps[0].parameters.insert("resumable".into(), "false".into());
    r.engine
        .publish_book(eyrie_core::Actor::System, GroupType::Odoo, JobAction::Initialize, "init", steps)
        .await
        .unwrap();
    r.fake.stall(Op::EnsureNamespace);
    let job = r.engine.submit(r.t.developer, r.t.sandbox.id, JobAction::Initialize, BTreeMap::new()).await.unwrap();
    die_during(&r, job.id, "namespace", Op::EnsureNamespace).await;
    r.t.clock.advance_seconds(1000);
    engine_for(&r.t, &r.fake, 2).run_until_idle().await.unwrap();
    let failed = r.engine.get_job(r.t.owner, job.id).await.unwrap();
    assert_eq!(failed.state, JobState::Error);
    assert!(failed.error.unwrap().contains("cannot be resumed"));
}

#[tokio::test(start_paused = true)]
async fn cancel_stops_a_scheduled_job_at_once_and_a_running_one_between_steps() {
    let r = rig().await;
    let job = r.engine.submit(r.t.developer, r.t.sandbox.id, JobAction::Initialize, BTreeMap::new()).await.unwrap();
    let cancelled = r.engine.cancel(r.t.developer, job.id).await.unwrap();
    assert_eq!(cancelled.state, JobState::Cancel);
    assert_eq!(r.engine.run_until_idle().await.unwrap().finished, 0);
    assert!(r.fake.calls().is_empty(), "a cancelled job runs nothing");
    assert_eq!(r.engine.cancel(r.t.developer, job.id).await.unwrap_err().kind(), ErrorKind::InvalidTransition);

    run(&r, r.t.sandbox.id, JobAction::Initialize).await;
    r.fake.stall(Op::EnsureNamespace);
    let job = r.engine.submit(r.t.developer, r.t.sandbox.id, JobAction::Deploy, BTreeMap::new()).await.unwrap();
    let engine = r.engine.clone();
    let running = tokio::spawn(async move { engine.run_until_idle().await });
    tokio::time::sleep(Duration::from_secs(1)).await;
    r.engine.cancel(r.t.developer, job.id).await.unwrap();
    r.fake.release(Op::EnsureNamespace);
    running.await.unwrap().unwrap();
    let job = r.engine.get_job(r.t.owner, job.id).await.unwrap();
    assert_eq!(job.state, JobState::Cancel);
    assert_eq!(job.steps[0].state, StepState::Done, "the running step finished");
    assert_eq!(job.steps[1].state, StepState::Pending, "the next one never started");
    assert_eq!(deployment(&r, r.t.sandbox.id).await.state, LifecycleState::Initialize);
}

#[tokio::test(start_paused = true)]
async fn a_manual_step_waits_for_a_person() {
    let r = rig().await;
    let d = r.t.sandbox.id;
    run(&r, d, JobAction::Initialize).await;
    run(&r, d, JobAction::Deploy).await;
    let steps = vec![
        StepSpec::manual("confirm", 10, "a person confirms").with_estimated_duration(5),
        StepSpec::handler("pause", builtin::PAUSE, 20, 30, "Scale to zero"),
    ];
    let system = eyrie_core::Actor::System;
    r.engine.publish_book(system, GroupType::Odoo, JobAction::Pause, "confirmed pause", steps).await.unwrap();
    let job = run(&r, d, JobAction::Pause).await;
    assert_eq!(job.state, JobState::Running);
    assert_eq!(job.steps[0].state, StepState::WaitingManual);
    assert_eq!(r.engine.run_until_idle().await.unwrap().finished, 0, "nothing to run while a person is needed");
    assert_eq!(r.t.eyrie.get_deployment(r.t.owner, d).await.unwrap().state, eyrie_core::LifecycleState::Deploy);
    r.engine.complete_manual_step(r.t.developer, job.id).await.unwrap();
    r.engine.run_until_idle().await.unwrap();
    assert_eq!(r.engine.get_job(r.t.owner, job.id).await.unwrap().state, JobState::Done);
    assert_eq!(r.t.eyrie.get_deployment(r.t.owner, d).await.unwrap().state, eyrie_core::LifecycleState::Pause);
}

#[tokio::test(start_paused = true)]
async fn books_are_versioned_checked_and_copied_into_jobs() {
    let r = rig().await;
    assert_eq!(r.engine.install_default_books().await.unwrap(), 4 * 7, "every group type and action");
    assert_eq!(r.engine.install_default_books().await.unwrap(), 0, "idempotent");
    let bad = vec![StepSpec::handler("x", "teleport", 10, 1, "no such handler")];
    let e = r
        .engine
        .publish_book(eyrie_core::Actor::System, GroupType::Odoo, JobAction::Pause, "bad", bad)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PolicyViolation, "refused when registered, not when run: {e}");
    let e = r
        .engine
        .publish_book(
            r.t.owner,
            GroupType::Odoo,
            JobAction::Pause,
            "mine",
            default_steps(GroupType::Odoo, JobAction::Pause),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied);
    let job = r.engine.submit(r.t.developer, r.t.sandbox.id, JobAction::Initialize, BTreeMap::new()).await.unwrap();
    let two = vec![
        StepSpec::handler("namespace", builtin::ENSURE_NAMESPACE, 10, 5, "ns"),
        StepSpec::manual("check", 20, "look").with_estimated_duration(5),
    ];
    let v2 = r
        .engine
        .publish_book(eyrie_core::Actor::System, GroupType::Odoo, JobAction::Initialize, "init", two)
        .await
        .unwrap();
    assert_eq!(v2.version, 2);
    assert_eq!(r.engine.book_versions(GroupType::Odoo, JobAction::Initialize).await.unwrap().len(), 2, "old kept");
    r.engine.run_until_idle().await.unwrap();
    let done = r.engine.get_job(r.t.owner, job.id).await.unwrap();
    assert_eq!((done.state, done.steps.len()), (JobState::Done, 1), "the job kept the steps it was created with");
}

/// A handler that panics for one deployment and succeeds for the others.
#[derive(Debug)]
struct PanicsFor(eyrie_core::DeploymentId);

#[async_trait::async_trait]
impl eyrie_core::jobs::StepHandler for PanicsFor {
    async fn run(&self, ctx: &eyrie_core::jobs::StepContext) -> eyrie_core::jobs::StepOutcome {
        assert_ne!(ctx.job.deployment_id, self.0, "this handler breaks on purpose");
        eyrie_core::jobs::StepOutcome::Done
    }
}

#[tokio::test(start_paused = true)]
async fn run_until_idle_reports_every_error_it_met_beside_the_jobs_that_finished() {
    let t = typical_tenant(Arc::new(MemoryStore::new())).await.unwrap();
    let mut handlers = HandlerRegistry::new();
    handlers.register("flaky", Arc::new(PanicsFor(t.sandbox.id)));
    let engine = Engine::new(t.eyrie.clone(), handlers, EngineConfig::default());
    let book = vec![StepSpec::handler("only", "flaky", 0, 0, "works except for sandbox")];
    engine
        .publish_book(eyrie_core::Actor::System, GroupType::Odoo, JobAction::Initialize, "flaky", book)
        .await
        .unwrap();
    for d in [t.shop.id, t.preview.id, t.sandbox.id] {
        engine.submit(t.owner, d, JobAction::Initialize, BTreeMap::new()).await.unwrap();
    }
    let report = engine.run_until_idle().await.unwrap();
    assert_eq!(report.finished, 2, "{report}");
    assert_eq!(report.errors.len(), 1, "the broken job's error is reported, not dropped: {report}");
    assert!(!report.is_clean());
    assert!(report.to_string().contains("job task failed"), "{report}");
}

#[tokio::test(start_paused = true)]
async fn the_desired_state_a_job_applies_is_fixed_when_the_job_starts() {
    let r = rig().await;
    let d = r.t.sandbox.id;
    run(&r, d, JobAction::Initialize).await;
    r.fake.stall(Op::EnsureNamespace);
    let job = r.engine.submit(r.t.developer, d, JobAction::Deploy, BTreeMap::new()).await.unwrap();
    let engine = r.engine.clone();
    let running = tokio::spawn(async move { engine.run_until_idle().await });
    tokio::time::sleep(Duration::from_secs(1)).await;
    let patch = eyrie_core::service::DeploymentPatch::default()
        .with_settings(eyrie_core::SettingsPatch::default().with_replicas(Some(5)));
    r.t.eyrie.update_deployment(r.t.owner, d, patch).await.unwrap();
    r.fake.release(Op::EnsureNamespace);
    running.await.unwrap().unwrap();
    assert_eq!(r.engine.get_job(r.t.owner, job.id).await.unwrap().state, JobState::Done);
    let applied: Vec<u32> = r.fake.calls_of(Op::Apply).iter().map(|c| c.replicas).collect();
    assert_eq!(applied, vec![2, 2], "the edit made during the job waits for the next job");
    run(&r, d, JobAction::Redeploy).await;
    let applied: Vec<u32> = r.fake.calls_of(Op::Apply).iter().map(|c| c.replicas).collect();
    assert_eq!(applied, vec![2, 2, 5, 5], "and the next job applies it");
}
