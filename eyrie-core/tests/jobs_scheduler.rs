//! The scheduler's tick: timers at their boundary instants, idempotence,
//! image-driven redeploys, due backups and monitor-log pruning; and a
//! property test that random handler outcomes keep jobs in their graph.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use eyrie_core::jobs::{HandlerRegistry, StepContext, StepHandler, StepOutcome};
use eyrie_core::service::{GroupPatch, NewImage, ScopeConfig, ScopePatch};
use eyrie_core::{
    Clock, Engine, EngineConfig, GroupType, JobAction, JobState, LifecycleState, MonitorState, ScheduleKind, Settings,
    StepSpec, StepState, Timestamp,
};
use eyrie_testkit::MemoryStore;
use eyrie_testkit::fixtures::{Tenant, typical_tenant};
use proptest::prelude::*;

async fn rig() -> (Tenant, Engine) {
    let t = typical_tenant(Arc::new(MemoryStore::new())).await.unwrap();
    let engine = eyrie_testkit::fixtures::recording_engine(&t);
    (t, engine)
}

async fn drive(t: &Tenant, engine: &Engine, d: eyrie_core::DeploymentId, actions: &[JobAction]) {
    for &action in actions {
        engine.submit(t.owner, d, action, BTreeMap::new()).await.unwrap();
        engine.run_until_idle().await.unwrap();
    }
}

fn at(t: Timestamp, seconds: i64) -> Timestamp {
    Timestamp(t.as_millis() + seconds * 1000)
}

#[tokio::test(start_paused = true)]
async fn the_pause_timer_fires_at_its_deadline_and_a_second_tick_launches_nothing() {
    let (t, engine) = rig().await;
    drive(&t, &engine, t.sandbox.id, &[JobAction::Initialize, JobAction::Deploy]).await;
    let entered = t.eyrie.get_deployment(t.owner, t.sandbox.id).await.unwrap().entered_deploy_at.unwrap();
    let deadline = entered.plus_seconds(8 * 3600);
    let before = engine.tick(at(deadline, -1)).await.unwrap();
    assert!(before.jobs.is_empty(), "one second before: nothing");
    let report = engine.tick(deadline).await.unwrap();
    assert_eq!(report.plan.pauses, vec![t.sandbox.id], "exactly at the deadline");
    assert_eq!(report.jobs.len(), 1);
    let again = engine.tick(deadline).await.unwrap();
    assert!(again.jobs.is_empty() && again.plan.pauses.is_empty(), "same instant again: nothing");
    engine.run_until_idle().await.unwrap();
    assert_eq!(t.eyrie.get_deployment(t.owner, t.sandbox.id).await.unwrap().state, LifecycleState::Pause);
    assert!(engine.tick(at(deadline, 1)).await.unwrap().jobs.is_empty(), "after: already paused");
}

#[tokio::test(start_paused = true)]
async fn the_drop_timer_fires_only_where_the_scope_allows_drops() {
    let (t, engine) = rig().await;
    drive(&t, &engine, t.sandbox.id, &[JobAction::Initialize, JobAction::Deploy]).await;
    let entered = t.eyrie.get_deployment(t.owner, t.sandbox.id).await.unwrap().entered_deploy_at.unwrap();
    let drop_at = entered.plus_seconds(7 * 86_400);
    // allow_drop = false: the drop never fires, the pause still does.
    let no_drop = ScopeConfig::default()
        .with_allow_drop(false)
        .with_role_to_admin(eyrie_core::Role::Developer)
        .with_deployment_pause_after_seconds(8 * 3600)
        .with_deployment_drop_after_seconds(7 * 86_400)
        .with_priority(10);
    t.eyrie.update_scope(t.owner, t.dev.id, ScopePatch::default().with_config(no_drop.clone().into())).await.unwrap();
    let plan = engine.plan_tick(at(drop_at, 1)).await.unwrap();
    assert_eq!((plan.pauses.clone(), plan.drops.clone()), (vec![t.sandbox.id], vec![]));
    engine.tick(at(drop_at, 1)).await.unwrap();
    engine.run_until_idle().await.unwrap();
    assert!(
        engine.plan_tick(at(drop_at, 86_400 * 365)).await.unwrap().drops.is_empty(),
        "never, while drops are forbidden"
    );
    // allow_drop = true: a paused deployment is dropped on time.
    let allow = no_drop.with_allow_drop(true);
    t.eyrie.update_scope(t.owner, t.dev.id, ScopePatch::default().with_config(allow.into())).await.unwrap();
    assert!(engine.plan_tick(at(drop_at, -1)).await.unwrap().drops.is_empty(), "one second before");
    let report = engine.tick(drop_at).await.unwrap();
    assert_eq!(report.plan.drops, vec![t.sandbox.id], "exactly at");
    engine.run_until_idle().await.unwrap();
    assert_eq!(t.eyrie.get_deployment(t.owner, t.sandbox.id).await.unwrap().state, LifecycleState::Dropped);
    assert!(engine.tick(at(drop_at, 1)).await.unwrap().jobs.is_empty(), "after: gone");
}

#[tokio::test(start_paused = true)]
async fn a_new_digest_redeploys_subscribed_deployments_once() {
    let (t, engine) = rig().await;
    let image = t
        .eyrie
        .create_image(
            t.developer,
            NewImage::new("ghcr.io/acme/odoo".parse().unwrap())
                .with_project_id(t.project.id)
                .with_tag("17.0".parse().unwrap()),
        )
        .await
        .unwrap();
    let settings = Settings::default().with_image_id(image.id);
    t.eyrie.update_group(t.owner, t.group.id, GroupPatch::default().with_settings(settings.into())).await.unwrap();
    drive(&t, &engine, t.sandbox.id, &[JobAction::Initialize, JobAction::Deploy]).await;
    drive(&t, &engine, t.preview.id, &[JobAction::Initialize]).await;
    let digest: eyrie_core::Digest = format!("sha256:{}", "ab".repeat(32)).parse().unwrap();
    t.eyrie.update_image_digest(t.developer, image.id, digest.clone()).await.unwrap();
    let now = t.clock.now();
    let report = engine.tick(now).await.unwrap();
    assert_eq!(report.plan.redeploys, vec![(image.id, vec![t.sandbox.id], 0)], "only the one in deploy");
    assert!(engine.tick(now).await.unwrap().jobs.is_empty(), "a second tick launches nothing");
    engine.run_until_idle().await.unwrap();
    let d = t.eyrie.get_deployment(t.owner, t.sandbox.id).await.unwrap();
    assert_eq!(d.deployed_digest, Some(digest), "the new digest is deployed");
    let versions = t.eyrie.list_versions(t.owner, t.sandbox.id).await.unwrap();
    assert!(versions.last().unwrap().changes.iter().any(|c| c.field == eyrie_core::VersionField::ImageDigest));
}

#[tokio::test(start_paused = true)]
async fn due_backups_launch_once_and_move_their_schedule_on() {
    let (t, _) = rig().await;
    let engine = eyrie_testkit::fixtures::backup_rig(&t).await.unwrap().engine;
    drive(&t, &engine, t.sandbox.id, &[JobAction::Initialize, JobAction::Deploy]).await;
    let cron: eyrie_core::CronExpr = "0 3 * * *".parse().unwrap();
    let schedule = t.eyrie.set_backup_schedule(t.developer, t.sandbox.id, ScheduleKind::CronFull(cron)).await.unwrap();
    let due = schedule.next_run_at.unwrap();
    assert!(engine.plan_tick(at(due, -1)).await.unwrap().backups.is_empty());
    let report = engine.tick(due).await.unwrap();
    assert_eq!(report.plan.backups, vec![schedule.id]);
    assert_eq!(report.jobs.len(), 1);
    assert!(engine.tick(due).await.unwrap().jobs.is_empty(), "a second tick launches nothing");
    assert!(engine.plan_tick(at(due, 86_400 - 1)).await.unwrap().backups.is_empty());
    assert_eq!(engine.plan_tick(at(due, 86_400)).await.unwrap().backups, vec![schedule.id], "next day at 03:00");
}

#[tokio::test(start_paused = true)]
async fn monitor_logs_are_pruned_after_the_scopes_retention() {
    let (t, engine) = rig().await;
    let keep = ScopeConfig::default()
        .with_priority(30)
        .with_deployment_limit(3)
        .with_deployment_cluster_ids([t.clusters[0].id].into())
        .with_monitor(true)
        .with_monitor_log_delete_after_seconds(3600);
    t.eyrie.update_scope(t.owner, t.prod.id, ScopePatch::default().with_config(keep.into())).await.unwrap();
    let monitors = t.store.list(eyrie_core::storage::Index::DeploymentMonitors(t.shop.id)).await.unwrap();
    let monitor = eyrie_core::MonitorId(monitors[0].record.key().id);
    let log = t
        .eyrie
        .record_monitor_log(eyrie_core::Actor::System, monitor, MonitorState::Ok, Some(120), "200 OK")
        .await
        .unwrap();
    let expiry = at(log.at, 3600);
    assert_eq!(engine.tick(at(expiry, -1)).await.unwrap().pruned, 0, "one second before");
    assert_eq!(engine.tick(expiry).await.unwrap().pruned, 1, "at the retention");
    assert_eq!(engine.tick(expiry).await.unwrap().pruned, 0, "and only once");
}

#[tokio::test(start_paused = true)]
async fn retention_is_decided_when_pruning_shortening_it_prunes_old_logs() {
    let (t, engine) = rig().await;
    let with_retention = |seconds| {
        let mut config = t.prod.config();
        config.monitor_log_delete_after_seconds = Some(seconds);
        ScopePatch::default().with_config(config.into())
    };
    t.eyrie.update_scope(t.owner, t.prod.id, with_retention(30 * 86_400)).await.unwrap();
    let monitors = t.store.list(eyrie_core::storage::Index::DeploymentMonitors(t.shop.id)).await.unwrap();
    let monitor = eyrie_core::MonitorId(monitors[0].record.key().id);
    let mut logs = Vec::new();
    for _ in 0..3 {
        let log = t.eyrie.record_monitor_log(eyrie_core::Actor::System, monitor, MonitorState::Ok, None, "ok");
        logs.push(log.await.unwrap());
        t.clock.advance_seconds(86_400);
    }
    let now = eyrie_core::Clock::now(&*t.clock);
    assert_eq!(engine.tick(now).await.unwrap().pruned, 0, "30 days keep all three");
    t.eyrie.update_scope(t.owner, t.prod.id, with_retention(2 * 86_400 + 1)).await.unwrap();
    let report = engine.tick(now).await.unwrap();
    assert_eq!(report.plan.expired_logs, vec![logs[0].id], "the log older than the new retention goes at once");
    t.eyrie.update_scope(t.owner, t.prod.id, with_retention(86_400)).await.unwrap();
    let report = engine.tick(now).await.unwrap();
    assert_eq!(report.plan.expired_logs, vec![logs[1].id, logs[2].id], "at 1 day, the next two (the boundary is due)");
    assert!(engine.tick(at(now, 10 * 86_400)).await.unwrap().plan.expired_logs.is_empty(), "each only once");
}

#[tokio::test(start_paused = true)]
async fn a_tick_reads_only_what_is_due() {
    let (t, engine) = rig().await;
    drive(&t, &engine, t.sandbox.id, &[JobAction::Initialize, JobAction::Deploy]).await;
    drive(&t, &engine, t.preview.id, &[JobAction::Initialize, JobAction::Deploy]).await;
    let plan = engine.plan_tick(t.clock.now().plus_seconds(8 * 3600)).await.unwrap();
    assert_eq!(plan.pauses, vec![t.sandbox.id], "stage has no timers, so preview is not even indexed");
    let indexed = t
        .store
        .list_between(
            eyrie_core::storage::Index::DeploymentTimers(0),
            eyrie_core::storage::Index::DeploymentTimers(u64::MAX),
        )
        .await
        .unwrap();
    assert_eq!(indexed.len(), 1);
}

/// A handler that plays back a script of outcomes.
#[derive(Debug)]
struct Scripted(Mutex<Vec<StepOutcome>>);

#[async_trait]
impl StepHandler for Scripted {
    async fn run(&self, _ctx: &StepContext) -> StepOutcome {
        self.0.lock().unwrap().pop().unwrap_or(StepOutcome::Done)
    }
}

fn outcome() -> impl Strategy<Value = StepOutcome> {
    prop_oneof![
        3 => Just(StepOutcome::Done),
        2 => (0u64..5).prop_map(|s| StepOutcome::RetryAfter(Duration::from_secs(s), "not yet".into())),
        1 => Just(StepOutcome::Failed("broken".into())),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn random_handler_outcomes_keep_jobs_inside_their_state_graph(
        script in proptest::collection::vec(outcome(), 0..12),
        steps in 1usize..4,
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().unwrap();
        rt.block_on(async {
            let t = typical_tenant(Arc::new(MemoryStore::new())).await.unwrap();
            let mut handlers = HandlerRegistry::new();
            handlers.register("scripted", Arc::new(Scripted(Mutex::new(script.clone()))));
            let config = EngineConfig::default().with_max_attempts(3);
            let engine = Engine::new(t.eyrie.clone(), handlers, config);
            let book: Vec<StepSpec> =
                (0..steps).map(|i| StepSpec::handler(&format!("s{i}"), "scripted", i as u32, 0, "scripted")).collect();
            engine.publish_book(eyrie_core::Actor::System, GroupType::Odoo, JobAction::Initialize, "p", book).await.unwrap();
            let job = engine.submit(t.owner, t.sandbox.id, JobAction::Initialize, BTreeMap::new()).await.unwrap();
            engine.run_until_idle().await.unwrap();
            let job = engine.get_job(t.owner, job.id).await.unwrap();
            let states: Vec<JobState> = job.transitions.iter().map(|(s, _)| *s).collect();
            for pair in states.windows(2) {
                prop_assert!(pair[0].can_transition(pair[1]), "{:?} -> {:?} in {states:?}", pair[0], pair[1]);
            }
            prop_assert!(matches!(job.state, JobState::Done | JobState::Error), "ended in {:?}", job.state);
            prop_assert_eq!(job.transitions.last().map(|(s, _)| *s), Some(job.state));
            let d = t.eyrie.get_deployment(t.owner, t.sandbox.id).await.unwrap();
            if job.state == JobState::Done {
                prop_assert!(job.steps.iter().all(|s| s.state == StepState::Done));
                prop_assert_eq!(d.state, LifecycleState::Initialize);
            } else {
                prop_assert_eq!(job.steps.iter().filter(|s| s.state == StepState::Failed).count(), 1);
                prop_assert_eq!(d.state, LifecycleState::Draft, "a failed job leaves the state");
                prop_assert!(d.last_error.is_some());
            }
            prop_assert!(job.steps.iter().all(|s| s.attempts <= 3));
            Ok(())
        })?;
    }
}

#[tokio::test(start_paused = true)]
async fn serve_ticks_and_runs_jobs_until_shut_down() {
    let (t, engine) = rig().await;
    drive(&t, &engine, t.sandbox.id, &[JobAction::Initialize, JobAction::Deploy]).await;
    t.clock.advance_seconds(8 * 3600);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn({
        let engine = engine.clone();
        async move { engine.serve(Duration::from_secs(30), async { stopped.await.unwrap_or(()) }).await }
    });
    tokio::time::sleep(Duration::from_secs(65)).await;
    assert_eq!(t.eyrie.get_deployment(t.owner, t.sandbox.id).await.unwrap().state, LifecycleState::Pause);
    stop.send(()).unwrap();
    serving.await.unwrap();
}
