//! Operations are observable, and no secret reaches a trace: every span and
//! event at TRACE level is captured while kubeconfigs and credentials are
//! sealed, opened, used by the engine and re-sealed.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::collections::BTreeMap;
use std::sync::Arc;

use eyrie_core::JobAction;
use eyrie_testkit::MemoryStore;
use eyrie_testkit::fixtures::{KNOWN_SECRETS, occurrences, write_known_secrets};

#[tokio::test(flavor = "current_thread")]
async fn spans_cover_service_calls_jobs_steps_and_executor_calls_and_carry_no_secret() {
    let (_guard, captured) = eyrie_testkit::trace::capture();

    let t = write_known_secrets(Arc::new(MemoryStore::new())).await.unwrap();
    t.eyrie.open_cluster(t.root, t.clusters[0].id).await.unwrap();
    let ds = t.eyrie.list_datasources(t.admin, t.project.id).await.unwrap();
    t.eyrie.open_datasource_credentials(t.admin, ds[0].id).await.unwrap();
    let engine = eyrie_testkit::fixtures::recording_engine(&t);
    engine.submit(t.developer, t.sandbox.id, JobAction::Initialize, BTreeMap::new()).await.unwrap();
    assert!(engine.run_until_idle().await.unwrap().is_clean());
    let refused = t.eyrie.open_cluster(t.developer, t.clusters[0].id).await;
    assert!(refused.is_err());

    let text = captured.text();
    for needle in ["create_cluster", "create_datasource", "open_cluster", "job", "step", "executor", "store.commit"] {
        assert!(text.contains(needle), "no {needle} span in the trace");
    }
    assert!(text.contains("authorization refused"), "refusals are events");
    assert!(text.contains("step=namespace") || text.contains("step=\"namespace\""), "steps name themselves");
    assert_eq!(occurrences(text.as_bytes(), &KNOWN_SECRETS), Vec::<&str>::new(), "a secret reached the trace");
}
