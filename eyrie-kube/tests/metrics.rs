//! Resource monitors read PodMetrics through the executor: the request is
//! the one list of `metrics.k8s.io/v1beta1` pods in the deployment's
//! namespace by its labels; containers are summed per pod; a cluster
//! without the metrics API is a final backend error; scripted with
//! `tower-test` behind a real `kube::Client`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use eyrie_core::executor::{ClusterExecutor, PodUsage};
use eyrie_core::{ErrorKind, GroupType};
use eyrie_kube::{KubeExecutor, labels};
use serde_json::json;
use support::server::{Exchange, list, scripted, status};
use support::{access, clock, deployment};

fn pod(name: &str, containers: &[(&str, &str)]) -> serde_json::Value {
    let containers: Vec<_> =
        containers.iter().map(|(cpu, memory)| json!({"name": "c", "usage": {"cpu": cpu, "memory": memory}})).collect();
    json!({
        "apiVersion": "metrics.k8s.io/v1beta1", "kind": "PodMetrics",
        "metadata": {"name": name, "namespace": "ns"},
        "timestamp": "2026-01-01T00:00:00Z", "window": "30s",
        "containers": containers,
    })
}

#[tokio::test]
async fn pod_metrics_are_listed_by_the_deployments_labels_and_summed_per_pod() {
    let d = deployment(GroupType::Odoo, "erp", "shop", 77);
    let path = format!("/apis/metrics.k8s.io/v1beta1/namespaces/{}/pods", d.namespace);
    let items = vec![pod("shop-0", &[("250000000n", "512Mi"), ("50m", "64Mi")]), pod("shop-1", &[("1", "1Gi")])];
    let (client, server) = scripted(vec![Exchange::get(&path, 200, list("PodMetrics", items))]);
    let executor = KubeExecutor::with_client(client, clock());
    let usage = executor.pod_metrics(&access(), &d).await.unwrap();
    drop(executor);
    let seen = server.await.unwrap();
    assert_eq!(seen.len(), 1);
    assert!(seen[0].expected, "{}", seen[0].line());
    assert_eq!(seen[0].query.get("labelSelector"), Some(&labels::selector(&d)));
    assert_eq!(
        usage,
        [
            PodUsage { pod: "shop-0".into(), cpu_millicores: 300, memory_bytes: 576 << 20 },
            PodUsage { pod: "shop-1".into(), cpu_millicores: 1000, memory_bytes: 1 << 30 },
        ]
    );
}

#[tokio::test]
async fn a_cluster_without_the_metrics_api_is_a_final_backend_error() {
    let d = deployment(GroupType::Odoo, "erp", "shop", 77);
    let path = format!("/apis/metrics.k8s.io/v1beta1/namespaces/{}/pods", d.namespace);
    let (client, server) = scripted(vec![Exchange::get(
        &path,
        404,
        status(404, "NotFound", "the server could not find the requested resource"),
    )]);
    let executor = KubeExecutor::with_client(client, clock());
    let e = executor.pod_metrics(&access(), &d).await.unwrap_err();
    drop(executor);
    server.await.unwrap();
    assert_eq!(e.kind(), ErrorKind::Backend);
    assert!(!e.is_retryable());
    assert!(e.to_string().contains("no metrics API"), "{e}");
}

#[test]
fn an_unreadable_quantity_is_an_error() {
    let body = pod("p", &[("lots", "1Mi")]);
    assert!(eyrie_kube::metrics::usage_of("p", &body).is_err());
}
