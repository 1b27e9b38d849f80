//! End to end: the scheduler runs an HTTP monitor against a loopback server
//! through the real client. One failed answer does not flip the state, two
//! do; each change reaches the hook once; without results for three
//! intervals the monitor goes `unknown`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod support;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use eyrie_core::jobs::{HandlerRegistry, MonitorHook, Monitoring, MonitoringConfig};
use eyrie_core::service::NewMonitor;
use eyrie_core::{Clock, Engine, EngineConfig, JobAction, MonitorState, StateChange};
use eyrie_monitor::{NetChecker, NetworkPolicy};
use eyrie_testkit::fixtures::typical_tenant;
use eyrie_testkit::{MemoryStore, RecordingExecutor};

#[derive(Debug, Default)]
struct Recorded(Mutex<Vec<(MonitorState, MonitorState)>>);

#[async_trait]
impl MonitorHook for Recorded {
    async fn state_changed(&self, change: &StateChange) {
        self.0.lock().unwrap().push((change.from, change.to));
    }
}

#[tokio::test]
async fn the_scheduler_checks_a_real_server_with_damping_and_staleness() {
    let (addr, control) = support::http_server().await;
    let t = typical_tenant(Arc::new(MemoryStore::new())).await.unwrap();
    let engine = Engine::new(
        t.eyrie.clone(),
        HandlerRegistry::with_executor(Arc::new(RecordingExecutor::new())),
        EngineConfig::default(),
    );
    for action in [JobAction::Initialize, JobAction::Deploy] {
        engine.submit(t.developer, t.sandbox.id, action, BTreeMap::new()).await.unwrap();
        engine.run_until_idle().await.unwrap();
    }
    let input = NewMonitor::http().with_url(format!("http://{addr}/").parse().unwrap());
    let m = t.eyrie.create_monitor(t.developer, t.sandbox.id, input).await.unwrap();
    let hook = Arc::new(Recorded::default());
    let checker = Arc::new(NetChecker::new(NetworkPolicy::strict().allow_loopback()));
    let monitoring = Arc::new(Monitoring::new(t.eyrie.clone(), checker, hook.clone(), MonitoringConfig::default()));
    let engine = engine.with_monitoring(monitoring.clone());

    let mut states = Vec::new();
    for status in [200, 200, 500, 200, 500, 500] {
        control.set_status(status);
        assert_eq!(engine.tick(t.clock.now()).await.unwrap().checks_launched, 1);
        monitoring.settle().await;
        states.push(t.eyrie.get_monitor(t.viewer, m.id).await.unwrap().state);
        t.clock.advance_seconds(60);
    }
    use MonitorState::{Error, Ok, Unknown};
    assert_eq!(states, [Unknown, Ok, Ok, Ok, Ok, Error], "two agreeing answers change the state, one does not");
    assert_eq!(control.requests(), 6);

    // No tick for three intervals: the next one finds it stale first.
    t.clock.advance_seconds(120);
    let report = engine.tick(t.clock.now()).await.unwrap();
    assert_eq!(report.went_unknown, 1);
    monitoring.settle().await;
    assert_eq!(t.eyrie.get_monitor(t.viewer, m.id).await.unwrap().state, Unknown);
    assert_eq!(hook.0.lock().unwrap().clone(), [(Unknown, Ok), (Ok, Error), (Error, Unknown)], "once per change");
    let logs = t.store.list(eyrie_core::storage::Index::MonitorLogs(m.id)).await.unwrap();
    assert_eq!(logs.len(), 7, "every check logged");
}
