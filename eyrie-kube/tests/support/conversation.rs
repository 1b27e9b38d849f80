//! Scripted API conversations for the backup tests: paths, the 404 body,
//! and running one executor call against a script.

use eyrie_core::executor::DesiredDeployment;
use eyrie_kube::backups;
use eyrie_kube::render::{DeploymentSecrets, Run, render};
use eyrie_kube::{Kind, KubeExecutor, Object};
use http::Method;
use serde_json::Value;

use super::clock;
use super::server::{Exchange, Seen, scripted, status};

pub fn collection(kind: Kind, ns: &str) -> String {
    let base = if kind.group().is_empty() { "/api/v1".to_owned() } else { format!("/apis/{}", kind.api_version()) };
    format!("{base}/namespaces/{ns}/{}", kind.plural())
}

pub fn path(kind: Kind, d: &DesiredDeployment, name: &str) -> String {
    format!("{}/{name}", collection(kind, &d.namespace))
}

pub fn lines(seen: &[Seen]) -> Vec<String> {
    seen.iter().map(Seen::line).collect()
}

pub fn missing() -> Value {
    status(404, "NotFound", "not found")
}

pub async fn run<T>(
    script: Vec<Exchange>,
    call: impl AsyncFnOnce(&KubeExecutor) -> eyrie_core::Result<T>,
) -> (eyrie_core::Result<T>, Vec<Seen>) {
    let (client, server) = scripted(script);
    let executor = KubeExecutor::with_client(client, clock());
    let result = call(&executor).await;
    drop(executor);
    let seen = server.await.unwrap();
    assert!(seen.iter().all(|s| s.expected), "unexpected requests: {:?}", lines(&seen));
    (result, seen)
}

/// Every write was a server-side apply by the backups' field manager.
pub fn writes_are_backup_applies(seen: &[Seen]) {
    for write in seen.iter().filter(|s| s.is_write()) {
        assert_eq!(write.method, Method::PATCH);
        assert_eq!(write.query["fieldManager"], backups::FIELD_MANAGER);
        assert_eq!(write.query["force"], "true");
        assert_eq!(write.content_type.as_deref(), Some("application/apply-patch+yaml"));
    }
}

/// The deployment's operator resource as the cluster returns it.
pub fn live_cluster(d: &DesiredDeployment) -> Object {
    render(d, Run::Running, &DeploymentSecrets::none()).unwrap().objects.remove(0)
}
