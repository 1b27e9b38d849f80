//! SPEC §6/§7 monitors, the running side: the scheduler launches due checks
//! (once per instant), outside the tick and with bounded concurrency; a
//! state changes only after two agreeing results; every change is audited
//! and handed to the hook once; no result for three intervals is `unknown`;
//! resource checks read pod metrics through the cluster executor.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use MonitorState::{Error, Ok as Up, Unknown, Warning};
use async_trait::async_trait;
use eyrie_core::executor::PodUsage;
use eyrie_core::jobs::monitoring::{
    CheckTarget, MonitorChecker, MonitorHook, Monitoring, MonitoringConfig, check_resources,
};
use eyrie_core::service::NewMonitor;
use eyrie_core::storage::{Index, StoreExt};
use eyrie_core::{
    AuditEvent, CheckOutcome, Clock, Engine, JobAction, Monitor, MonitorId, MonitorState, StateChange, Timestamp,
};
use eyrie_testkit::MemoryStore;
use eyrie_testkit::fixtures::{Tenant, typical_tenant};

mockall::mock! {
    #[derive(Debug)]
    Hook {}
    #[async_trait]
    impl MonitorHook for Hook {
        async fn state_changed(&self, change: &StateChange);
    }
}

#[path = "support/mock_executor.rs"]
mod mock_executor;
use mock_executor::MockExec;

/// Answers with the scripted states in order, and remembers what it was asked.
#[derive(Debug, Default)]
struct Scripted {
    states: Mutex<VecDeque<MonitorState>>,
    seen: Mutex<Vec<String>>,
}

#[async_trait]
impl MonitorChecker for Scripted {
    async fn check(&self, target: &CheckTarget, _now: Timestamp) -> CheckOutcome {
        let what = match target {
            CheckTarget::Http { url, .. } => format!("http {url}"),
            CheckTarget::Certificate { url, .. } => format!("certificate {url}"),
            CheckTarget::Resource { clusters, deployment, .. } => {
                format!("resource of {} on {} clusters", deployment.deployment_slug, clusters.len())
            }
            _ => "other".into(),
        };
        self.seen.lock().unwrap().push(what);
        match self.states.lock().unwrap().pop_front() {
            Some(state) => CheckOutcome::new(state, Some(42), "scripted"),
            None => CheckOutcome::unknown("script ran out"),
        }
    }
}

/// The tenant with its sandbox deployed.
async fn deployed() -> (Tenant, Engine) {
    let t = typical_tenant(Arc::new(MemoryStore::new())).await.unwrap();
    let engine = eyrie_testkit::fixtures::recording_engine(&t);
    for action in [JobAction::Initialize, JobAction::Deploy] {
        engine.submit(t.developer, t.sandbox.id, action, BTreeMap::new()).await.unwrap();
        engine.run_until_idle().await.unwrap();
    }
    (t, engine)
}

fn with_monitoring(t: &Tenant, engine: Engine, checker: Arc<dyn MonitorChecker>, hook: MockHook) -> Engine {
    let config = MonitoringConfig::default().with_max_concurrent_checks(2);
    engine.with_monitoring(Arc::new(Monitoring::new(t.eyrie.clone(), checker, Arc::new(hook), config)))
}

async fn monitor(t: &Tenant, id: MonitorId) -> Monitor {
    t.store.fetch::<Monitor>(id.0).await.unwrap().value
}

async fn state_events(t: &Tenant) -> Vec<String> {
    let events = t.store.children::<AuditEvent>(Index::ProjectAudit(t.project.id)).await.unwrap();
    events.into_iter().filter(|e| e.value.action == "monitor.state").map(|e| e.value.target).collect()
}

#[tokio::test(start_paused = true)]
async fn a_state_changes_after_two_agreeing_results_and_each_change_is_audited_and_handed_to_the_hook_once() {
    let (t, engine) = deployed().await;
    let m = t.eyrie.create_monitor(t.developer, t.sandbox.id, NewMonitor::http()).await.unwrap();
    let script = [Up, Up, Warning, Up, Warning, Warning, Error, Error];
    let checker = Arc::new(Scripted { states: Mutex::new(script.into()), ..Scripted::default() });
    let mut hook = MockHook::new();
    let mut seq = mockall::Sequence::new();
    for (from, to) in [(Unknown, Up), (Up, Warning), (Warning, Error)] {
        hook.expect_state_changed()
            .withf(move |c| c.from == from && c.to == to)
            .times(1)
            .in_sequence(&mut seq)
            .return_const(());
    }
    let engine = with_monitoring(&t, engine, checker.clone(), hook);
    let expected = [Unknown, Up, Up, Up, Up, Warning, Warning, Error];
    for (i, want) in expected.into_iter().enumerate() {
        let now = t.clock.now();
        let report = engine.tick(now).await.unwrap();
        assert_eq!(report.checks_launched, 1, "check {i} is due");
        assert_eq!(
            engine.tick(now).await.unwrap().checks_launched,
            0,
            "a second tick at the same instant launches nothing"
        );
        engine.monitoring().unwrap().settle().await;
        assert_eq!(monitor(&t, m.id).await.state, want, "after result {i} ({:?})", script[i]);
        assert!(
            engine.plan_tick(eyrie_core::Timestamp(now.as_millis() + 59_999)).await.unwrap().monitor_checks.is_empty()
        );
        t.clock.advance_seconds(60);
    }
    assert_eq!(state_events(&t).await.len(), 3, "three changes, three audit events: {:?}", state_events(&t).await);
    let logs = t.store.list(Index::MonitorLogs(m.id)).await.unwrap();
    assert_eq!(logs.len(), script.len(), "every check writes a log");
    assert!(checker.seen.lock().unwrap().iter().all(|s| s == "http https://sandbox.acme.example/web/health"));
}

#[tokio::test(start_paused = true)]
async fn no_result_for_three_intervals_is_unknown() {
    let (t, engine) = deployed().await;
    let m = t.eyrie.create_monitor(t.developer, t.sandbox.id, NewMonitor::http()).await.unwrap();
    let checker = Arc::new(Scripted { states: Mutex::new([Up, Up, Up].into()), ..Scripted::default() });
    let mut hook = MockHook::new();
    hook.expect_state_changed().withf(|c| c.to == Up).times(1).return_const(());
    hook.expect_state_changed().withf(|c| c.from == Up && c.to == Unknown).times(1).return_const(());
    let engine = with_monitoring(&t, engine, checker, hook);
    for _ in 0..2 {
        engine.tick(t.clock.now()).await.unwrap();
        engine.monitoring().unwrap().settle().await;
        t.clock.advance_seconds(60);
    }
    let ok = monitor(&t, m.id).await;
    assert_eq!(ok.state, Up);
    let stale = ok.last_check_at.unwrap().plus_seconds(180);
    let before = Timestamp(stale.as_millis() - 1);
    assert!(engine.plan_tick(before).await.unwrap().stale_monitors.is_empty(), "three intervals not yet over");
    assert_eq!(engine.plan_tick(stale).await.unwrap().stale_monitors, vec![m.id]);
    let report = engine.tick(stale).await.unwrap();
    assert_eq!(report.went_unknown, 1);
    assert_eq!(engine.tick(stale).await.unwrap().went_unknown, 0, "once");
    engine.monitoring().unwrap().settle().await;
    let after = monitor(&t, m.id).await;
    assert_eq!(after.state, Unknown, "one fresh result does not bring it back alone");
    assert_eq!(after.pending, Some(Up));
    assert_eq!(state_events(&t).await.last().unwrap(), &format!("{} ok -> unknown", m.id));
}

/// Hangs on one URL until cut off; answers every other at once.
#[derive(Debug)]
struct OneSlowTarget;

#[async_trait]
impl MonitorChecker for OneSlowTarget {
    async fn check(&self, target: &CheckTarget, _now: Timestamp) -> CheckOutcome {
        if let CheckTarget::Http { url, .. } = target
            && url.contains("slow")
        {
            std::future::pending::<()>().await;
        }
        CheckOutcome::new(Up, Some(1), "fast")
    }
}

#[tokio::test(start_paused = true)]
async fn a_slow_target_holds_up_neither_the_tick_nor_other_checks() {
    let (t, engine) = deployed().await;
    let slow = NewMonitor::http()
        .with_url("https://slow.example/".parse().unwrap())
        .with_http(eyrie_core::HttpOptions::default().with_timeout_ms(1_000));
    let slow = t.eyrie.create_monitor(t.developer, t.sandbox.id, slow).await.unwrap();
    let fast = t.eyrie.create_monitor(t.developer, t.sandbox.id, NewMonitor::http()).await.unwrap();
    let mut hook = MockHook::new();
    hook.expect_state_changed().never();
    let engine = with_monitoring(&t, engine, Arc::new(OneSlowTarget), hook);
    let report = engine.tick(t.clock.now()).await.unwrap();
    assert_eq!(report.checks_launched, 2, "the tick returned with the slow check still running");
    let logs = |id: MonitorId| {
        let store = t.store.clone();
        async move { store.list(Index::MonitorLogs(id)).await.unwrap().len() }
    };
    for _ in 0..1000 {
        if logs(fast.id).await == 1 {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(logs(fast.id).await, 1, "the fast check answered");
    assert_eq!(logs(slow.id).await, 0, "while the slow one still waits");
    engine.monitoring().unwrap().settle().await;
    let cut = t.store.children::<eyrie_core::MonitorLog>(Index::MonitorLogs(slow.id)).await.unwrap();
    assert_eq!(cut.len(), 1);
    assert_eq!(cut[0].value.state, Error, "cut off at its time-out plus slack: {}", cut[0].value.message);
    assert!(cut[0].value.message.contains("no answer within 6000 ms"), "{}", cut[0].value.message);
}

#[tokio::test(start_paused = true)]
async fn resource_checks_get_the_deployments_clusters_and_only_deployed_deployments_are_checked() {
    let (t, engine) = deployed().await;
    let r = t.eyrie.create_monitor(t.developer, t.sandbox.id, NewMonitor::resource()).await.unwrap();
    let checker = Arc::new(Scripted { states: Mutex::new([Up].into()), ..Scripted::default() });
    let mut hook = MockHook::new();
    hook.expect_state_changed().never();
    let engine = with_monitoring(&t, engine, checker.clone(), hook);
    // shop's default monitor is due too, but shop is a draft: claimed, not checked.
    let report = engine.tick(t.clock.now()).await.unwrap();
    assert_eq!(report.plan.monitor_checks.len(), 2);
    assert_eq!(report.checks_launched, 1);
    engine.monitoring().unwrap().settle().await;
    assert_eq!(checker.seen.lock().unwrap().clone(), vec![format!("resource of sandbox on 2 clusters")]);
    assert_eq!(t.store.list(Index::MonitorLogs(r.id)).await.unwrap().len(), 1);
}

fn usage(pod: &str, cpu_millicores: u64, memory_bytes: u64) -> PodUsage {
    PodUsage { pod: pod.into(), cpu_millicores, memory_bytes }
}

#[tokio::test]
async fn resource_thresholds_compare_each_pod_with_the_effective_limits() {
    let t = typical_tenant(Arc::new(MemoryStore::new())).await.unwrap();
    let desired = t.eyrie.desired(t.developer, t.sandbox.id).await.unwrap();
    let cpu_limit = eyrie_core::jobs::monitoring::quantity_milli(desired.effective.cpu_limit.value.as_str()).unwrap();
    let cpu_limit = u64::try_from(cpu_limit).unwrap();
    let clusters = [t.eyrie.open_cluster(eyrie_core::Actor::System, t.clusters[0].id).await.unwrap()];
    let cases = [(cpu_limit * 79 / 100, Up), (cpu_limit * 80 / 100, Warning), (cpu_limit * 95 / 100, Error)];
    for (cpu, want) in cases {
        let mut exec = MockExec::new();
        let pods = vec![usage("web-0", 1, 1), usage("web-1", cpu, 1)];
        exec.expect_pod_metrics().times(1).returning(move |_, _| Ok(pods.clone()));
        let outcome = check_resources(&exec, &clusters, &desired, Some(80), Some(95)).await;
        assert_eq!(outcome.state, want, "{cpu} of {cpu_limit} millicores: {}", outcome.message);
        assert!(outcome.message.contains("web-1"), "names the worst pod: {}", outcome.message);
    }
    let mut exec = MockExec::new();
    exec.expect_pod_metrics()
        .returning(|_, _| Err(eyrie_core::Error::Backend { message: "metrics API absent".into(), retryable: true }));
    let outcome = check_resources(&exec, &clusters, &desired, Some(80), Some(95)).await;
    assert_eq!(outcome.state, Unknown, "no metrics, no verdict: {}", outcome.message);
    let mut exec = MockExec::new();
    exec.expect_pod_metrics().returning(|_, _| Ok(Vec::new()));
    assert_eq!(check_resources(&exec, &clusters, &desired, Some(80), Some(95)).await.state, Unknown);
}

#[tokio::test(start_paused = true)]
async fn a_dropped_deployments_monitors_stop() {
    let (t, engine) = deployed().await;
    let m = t.eyrie.create_monitor(t.developer, t.sandbox.id, NewMonitor::http()).await.unwrap();
    engine.submit(t.developer, t.sandbox.id, JobAction::Drop, BTreeMap::new()).await.unwrap();
    engine.run_until_idle().await.unwrap();
    let checker = Arc::new(Scripted { states: Mutex::new([Up].into()), ..Scripted::default() });
    let mut hook = MockHook::new();
    hook.expect_state_changed().never();
    let engine = with_monitoring(&t, engine, checker.clone(), hook);
    let now = t.clock.now();
    assert!(engine.plan_tick(now).await.unwrap().monitor_checks.contains(&m.id));
    assert_eq!(engine.tick(now).await.unwrap().checks_launched, 0, "shop is a draft, sandbox dropped");
    assert_eq!(monitor(&t, m.id).await.next_check_at, None, "taken off the schedule");
    assert!(engine.plan_tick(now.plus_seconds(3600)).await.unwrap().monitor_checks.iter().all(|id| *id != m.id));
    assert!(checker.seen.lock().unwrap().is_empty());
}
