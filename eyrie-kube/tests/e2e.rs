//! End to end against a real cluster: the quickstart tenant applied,
//! re-applied without writes, observed, paused, resumed and dropped.
//!
//! Ignored by default. Run it with a cluster you can write to:
//!
//! ```text
//! EYRIE_KUBE_E2E=1 KUBECONFIG=~/.kube/config cargo test -p eyrie-kube --test e2e -- --ignored
//! ```
//!
//! Odoo pods need a database to become ready, so readiness is checked on a
//! plain `nginx` deployment (`none` type) added to the tenant; the `pgo`
//! deployment runs only when the PostgresCluster CRD is installed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use eyrie_core::executor::{ClusterAccess, ClusterCredentials, ClusterExecutor, DesiredDeployment};
use eyrie_core::{ClusterId, ErrorKind, GroupType, SecretString};
use eyrie_kube::{KubeExecutor, SystemClock, demo};

fn kubeconfig() -> Option<String> {
    let path = std::env::var("KUBECONFIG")
        .ok()
        .or_else(|| std::env::var("HOME").ok().map(|home| format!("{home}/.kube/config")))?;
    std::fs::read_to_string(path.split(':').next()?).ok()
}

#[tokio::test]
#[ignore = "needs a real cluster: set EYRIE_KUBE_E2E=1 and provide a kubeconfig"]
async fn quickstart_tenant_on_a_real_cluster() {
    if std::env::var("EYRIE_KUBE_E2E").as_deref() != Ok("1") {
        eprintln!("EYRIE_KUBE_E2E is not 1: skipped");
        return;
    }
    let kubeconfig = kubeconfig().expect("EYRIE_KUBE_E2E=1 needs a kubeconfig (KUBECONFIG or ~/.kube/config)");
    let access = ClusterAccess {
        cluster_id: ClusterId(1),
        slug: "e2e".parse().unwrap(),
        credentials: ClusterCredentials::Kubeconfig(SecretString::new(kubeconfig)),
    };
    let executor = KubeExecutor::new(Arc::new(SystemClock)).with_poll_interval(Duration::from_secs(2));

    let mut tenant: Vec<DesiredDeployment> = demo::quickstart().unwrap();
    let mut web = support::deployment(GroupType::None, "web", "hello", 9_001);
    web.image = Some("nginx:1.27".parse().unwrap());
    web.effective
        .params
        .insert("port".into(), eyrie_core::Sourced { value: "80".into(), source: eyrie_core::Source::Deployment });
    tenant.push(web.clone());

    let mut ran = Vec::new();
    for d in &tenant {
        executor.ensure_namespace(&access, d).await.unwrap();
        match executor.apply(&access, d).await {
            Err(e) if d.effective.group_type == GroupType::Pgo && e.kind() == ErrorKind::NotFound => {
                eprintln!("PostgresCluster CRD not installed: {} skipped ({e})", d.deployment_slug);
                continue;
            }
            other => other.unwrap(),
        }
        // The server's defaults and normalisations must not look like changes.
        let again = executor.plan(&access, d).await.unwrap();
        assert!(again.is_noop(), "{}: second apply would write:\n{again}", d.deployment_slug);
        ran.push(d.clone());
    }

    let observed = executor.wait_ready(&access, &web, Duration::from_secs(300)).await.unwrap();
    assert_eq!((observed.ready_replicas, observed.desired_replicas), (1, 1));

    executor.pause(&access, &web).await.unwrap();
    let paused = executor.observe(&access, &web).await.unwrap();
    assert_eq!(paused.desired_replicas, 0);
    executor.resume(&access, &web).await.unwrap();
    let resumed = executor.wait_ready(&access, &web, Duration::from_secs(300)).await.unwrap();
    assert_eq!(resumed.desired_replicas, 1);

    for d in &mut ran {
        d.effective.allow_drop.value = true; // prod forbids drops; the test cleans up anyway
        let mut attempts = 0;
        loop {
            match executor.remove(&access, d).await {
                Ok(()) => break,
                Err(e) if e.is_retryable() && attempts < 60 => {
                    attempts += 1;
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
                Err(e) => panic!("{}: {e}", d.deployment_slug),
            }
        }
        let gone = executor.observe(&access, d).await.unwrap_err();
        assert_eq!(gone.kind(), ErrorKind::NotFound);
    }
}
