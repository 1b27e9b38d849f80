//! Reading a deployment's workload status back: what the cluster reports,
//! as an [`ObservedState`] (kept apart from the desired state), plus whether
//! the workload is ready for its current spec.
//!
//! | workload | desired / ready replicas | ready when |
//! | --- | --- | --- |
//! | `Deployment` (odoo, none) | `spec.replicas` / `status.readyReplicas` | the controller saw this generation and updated, ready and available replicas reach the desired count |
//! | `PostgresCluster` (pgo) | sum of `spec.instances[].replicas` (0 when shut down) / sum of `status.instances[].readyReplicas` | the operator saw this generation and ready and updated replicas reach the desired count |
//! | `PerconaXtraDBCluster` (pxc) | `spec.pxc.size` (0 when paused) / `status.pxc.ready` | the operator saw this generation and `status.state` is `ready` (`paused` when paused) |
//!
//! Conditions are copied as reported (`type`, `status`, `message`).

use eyrie_core::{Condition, GroupType, ObservedState, Timestamp};
use serde_json::Value;

use crate::kinds::Kind;
use crate::render::Object;

/// The kind of a group type's workload: the object whose status tells
/// whether the deployment runs.
pub fn workload_kind(group_type: GroupType) -> Kind {
    match group_type {
        GroupType::Odoo | GroupType::None => Kind::Deployment,
        GroupType::Pgo => Kind::PostgresCluster,
        GroupType::Pxc => Kind::PerconaXtraDbCluster,
    }
}

/// What one read of a workload says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// The observed state, stamped `observed_at`.
    pub state: ObservedState,
    /// Whether the workload is ready for its current spec.
    pub ready: bool,
}

fn count(v: Option<&Value>) -> u32 {
    v.and_then(Value::as_i64).map_or(0, |n| u32::try_from(n.max(0)).unwrap_or(u32::MAX))
}

fn int(object: &Object, pointer: &str) -> Option<i64> {
    object.body.pointer(pointer).and_then(Value::as_i64)
}

fn flag(object: &Object, pointer: &str) -> bool {
    object.body.pointer(pointer).and_then(Value::as_bool).unwrap_or(false)
}

/// Whether the controller has seen the object's latest generation (true when
/// either side is not reported).
fn generation_seen(object: &Object) -> bool {
    match (int(object, "/metadata/generation"), int(object, "/status/observedGeneration")) {
        (Some(generation), Some(observed)) => observed >= generation,
        (Some(_), None) => false,
        _ => true,
    }
}

fn conditions(object: &Object) -> Vec<Condition> {
    let items = object.body.pointer("/status/conditions").and_then(Value::as_array);
    items
        .into_iter()
        .flatten()
        .filter_map(|c| {
            Some(Condition {
                kind: c.get("type")?.as_str()?.to_owned(),
                status: c.get("status").and_then(Value::as_str).unwrap_or("Unknown").to_owned(),
                message: c.get("message").and_then(Value::as_str).filter(|m| !m.is_empty()).map(str::to_owned),
            })
        })
        .collect()
}

/// Reads `workload` (a live object of [`workload_kind`]) at `now`.
pub fn observe(workload: &Object, now: Timestamp) -> Observation {
    let status = |p: &str| workload.body.pointer(p);
    let (desired, ready_replicas, ready) = match workload.kind {
        Kind::PostgresCluster => {
            let sum = |items: Option<&Value>, field: &str| -> u32 {
                let items = items.and_then(Value::as_array);
                items.into_iter().flatten().map(|i| count(i.get(field))).fold(0u32, u32::saturating_add)
            };
            let desired = if flag(workload, "/spec/shutdown") { 0 } else { sum(status("/spec/instances"), "replicas") };
            let ready = sum(status("/status/instances"), "readyReplicas");
            let updated = sum(status("/status/instances"), "updatedReplicas");
            let running = if desired == 0 { ready == 0 } else { ready >= desired && updated >= desired };
            (desired, ready, generation_seen(workload) && running)
        }
        Kind::PerconaXtraDbCluster => {
            let paused = flag(workload, "/spec/pause");
            let desired = if paused { 0 } else { count(status("/spec/pxc/size")) };
            let ready = count(status("/status/pxc/ready"));
            let state = status("/status/state").and_then(Value::as_str).unwrap_or("");
            let expected = if paused { "paused" } else { "ready" };
            (desired, ready, generation_seen(workload) && state == expected)
        }
        _ => {
            let desired = status("/spec/replicas").map_or(1, |v| count(Some(v)));
            let ready = count(status("/status/readyReplicas"));
            let updated = count(status("/status/updatedReplicas"));
            let available = count(status("/status/availableReplicas"));
            let total = count(status("/status/replicas"));
            let running =
                if desired == 0 { total == 0 } else { ready >= desired && updated >= desired && available >= desired };
            (desired, ready, generation_seen(workload) && running)
        }
    };
    Observation {
        state: ObservedState {
            ready_replicas,
            desired_replicas: desired,
            conditions: conditions(workload),
            observed_at: now,
        },
        ready,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn object(kind: Kind, body: Value) -> Object {
        Object { kind, name: "x".into(), namespace: Some("ns".into()), body }
    }

    #[test]
    fn deployments() {
        let now = Timestamp::from_unix_seconds(10);
        let rolling = object(
            Kind::Deployment,
            json!({"metadata": {"generation": 3}, "spec": {"replicas": 2},
                   "status": {"observedGeneration": 3, "readyReplicas": 1, "updatedReplicas": 2, "availableReplicas": 1,
                              "conditions": [{"type": "Available", "status": "False", "message": "min not met"}]}}),
        );
        let seen = observe(&rolling, now);
        assert_eq!((seen.state.ready_replicas, seen.state.desired_replicas, seen.ready), (1, 2, false));
        assert_eq!(seen.state.conditions[0].message.as_deref(), Some("min not met"));
        assert_eq!(seen.state.observed_at, now);

        let done = object(
            Kind::Deployment,
            json!({"metadata": {"generation": 3}, "spec": {"replicas": 2},
                   "status": {"observedGeneration": 3, "readyReplicas": 2, "updatedReplicas": 2, "availableReplicas": 2}}),
        );
        assert!(observe(&done, now).ready);
        let stale = object(
            Kind::Deployment,
            json!({"metadata": {"generation": 4}, "spec": {"replicas": 2},
                   "status": {"observedGeneration": 3, "readyReplicas": 2, "updatedReplicas": 2, "availableReplicas": 2}}),
        );
        assert!(!observe(&stale, now).ready, "an old generation's status says nothing about the new spec");
    }

    #[test]
    fn operators() {
        let now = Timestamp::from_unix_seconds(10);
        let pg = object(
            Kind::PostgresCluster,
            json!({"spec": {"instances": [{"name": "pg", "replicas": 2}]},
                   "status": {"instances": [{"name": "pg", "readyReplicas": 2, "updatedReplicas": 2}]}}),
        );
        let seen = observe(&pg, now);
        assert_eq!((seen.state.ready_replicas, seen.state.desired_replicas, seen.ready), (2, 2, true));
        let shut = object(
            Kind::PostgresCluster,
            json!({"spec": {"shutdown": true, "instances": [{"name": "pg", "replicas": 2}]},
                   "status": {"instances": [{"name": "pg", "readyReplicas": 1}]}}),
        );
        assert_eq!((observe(&shut, now).state.desired_replicas, observe(&shut, now).ready), (0, false));

        let pxc = object(
            Kind::PerconaXtraDbCluster,
            json!({"spec": {"pxc": {"size": 3}}, "status": {"state": "initializing", "pxc": {"ready": 1}}}),
        );
        let seen = observe(&pxc, now);
        assert_eq!((seen.state.ready_replicas, seen.state.desired_replicas, seen.ready), (1, 3, false));
        let paused = object(
            Kind::PerconaXtraDbCluster,
            json!({"spec": {"pause": true, "pxc": {"size": 3}}, "status": {"state": "paused"}}),
        );
        assert!(observe(&paused, now).ready);
    }
}
