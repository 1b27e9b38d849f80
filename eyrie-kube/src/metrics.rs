//! Pod metrics for resource monitors: one list of `metrics.k8s.io/v1beta1`
//! PodMetrics in the deployment's namespace, selected by its labels, each
//! pod's containers summed. A cluster without the metrics API (404) is a
//! final `Backend` error saying so; the monitor records `unknown`.

use eyrie_core::executor::{DesiredDeployment, PodUsage};
use eyrie_core::jobs::monitoring::quantity_milli;
use eyrie_core::{Error, Result};
use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject, ListParams};
use serde_json::Value;

use crate::errors::{from_kube, is_not_found};
use crate::labels;

fn pod_metrics_resource() -> ApiResource {
    ApiResource {
        group: "metrics.k8s.io".into(),
        version: "v1beta1".into(),
        api_version: "metrics.k8s.io/v1beta1".into(),
        kind: "PodMetrics".into(),
        plural: "pods".into(),
    }
}

/// One pod's usage from a PodMetrics object: CPU in millicores and memory
/// in bytes, summed over its containers. An unreadable quantity is an error.
pub fn usage_of(name: &str, body: &Value) -> Result<PodUsage> {
    let mut usage = PodUsage { pod: name.to_owned(), cpu_millicores: 0, memory_bytes: 0 };
    let containers = body.get("containers").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    for container in containers {
        let read = |what: &str| -> Result<u128> {
            let text = container["usage"][what].as_str().unwrap_or("0");
            quantity_milli(text)
                .ok_or_else(|| Error::backend(format!("PodMetrics {name}: unreadable {what} quantity {text:?}"), false))
        };
        let cpu = u64::try_from(read("cpu")?).unwrap_or(u64::MAX);
        let memory = u64::try_from(read("memory")? / 1000).unwrap_or(u64::MAX);
        usage.cpu_millicores = usage.cpu_millicores.saturating_add(cpu);
        usage.memory_bytes = usage.memory_bytes.saturating_add(memory);
    }
    Ok(usage)
}

/// The usage of every pod of `deployment`, from the cluster behind `client`.
pub async fn pod_metrics(client: Client, deployment: &DesiredDeployment) -> Result<Vec<PodUsage>> {
    let api: Api<DynamicObject> = Api::namespaced_with(client, &deployment.namespace, &pod_metrics_resource());
    let what = format!("list PodMetrics/{}", deployment.namespace);
    let list = match api.list(&ListParams::default().labels(&labels::selector(deployment))).await {
        Ok(list) => list,
        Err(e) if is_not_found(&e) => {
            return Err(Error::backend(format!("{what}: the cluster has no metrics API (metrics.k8s.io)"), false));
        }
        Err(e) => return Err(from_kube(e, &what)),
    };
    list.items.iter().map(|item| usage_of(item.metadata.name.as_deref().unwrap_or("?"), &item.data)).collect()
}
