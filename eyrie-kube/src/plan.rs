//! Plans: what a reconcile would create, change (and which fields) or
//! delete, from the desired objects and the live ones. Pure; the executor
//! carries a plan out and sends nothing when it is empty.
//!
//! How objects are compared:
//! - A live object matches a desired one of the same kind and name.
//! - A desired field is *changed* when the live object lacks it or holds
//!   another value. Fields the server adds (defaults, `status`, other
//!   managers' fields) are ignored; of `metadata`, only labels and
//!   annotations are compared. Resource quantities compare by value (`0.5`
//!   equals `500m`), empty maps and lists equal absent ones, and list
//!   elements compare in order (named elements are shown by name).
//! - A field that Eyrie's own server-side apply set earlier (read from the
//!   live object's `managedFields` entry of manager `eyrie`) and that the
//!   desired object no longer has is changed too: applying removes it.
//! - A live object carrying the deployment's labels that is not desired is
//!   *deleted*.

use std::fmt;

use serde_json::{Map, Value};

use crate::kinds::Kind;
use crate::labels::MANAGER;
use crate::render::Object;

/// One step of a plan.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// The object does not exist: apply it.
    Create(Object),
    /// The object exists and differs in `fields` (dotted paths): apply it.
    Change {
        /// The desired object.
        object: Object,
        /// What differs, e.g. `spec.replicas` or `spec.template.spec.containers[odoo].image`.
        fields: Vec<String>,
    },
    /// The object is not desired any more: delete it.
    Delete {
        /// Its kind.
        kind: Kind,
        /// Its namespace.
        namespace: Option<String>,
        /// Its name.
        name: String,
    },
    /// The object exists as desired: nothing to send.
    Keep {
        /// Its kind.
        kind: Kind,
        /// Its name.
        name: String,
    },
}

impl Step {
    /// Whether carrying the step out sends a write request.
    pub fn is_write(&self) -> bool {
        !matches!(self, Step::Keep { .. })
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Create(object) => write!(f, "create {} {}", object.kind, object.name),
            Step::Change { object, fields } => {
                write!(f, "change {} {}: {}", object.kind, object.name, fields.join(", "))
            }
            Step::Delete { kind, name, .. } => write!(f, "delete {kind} {name}"),
            Step::Keep { kind, name } => write!(f, "keep {kind} {name}"),
        }
    }
}

/// What a reconcile would do, in order: creates and changes in apply order,
/// then deletes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    /// The steps.
    pub steps: Vec<Step>,
}

impl Plan {
    /// Whether the plan sends no write request at all.
    pub fn is_noop(&self) -> bool {
        !self.steps.iter().any(Step::is_write)
    }

    /// The steps that write.
    pub fn writes(&self) -> impl Iterator<Item = &Step> {
        self.steps.iter().filter(|s| s.is_write())
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for step in &self.steps {
            writeln!(f, "{step}")?;
        }
        Ok(())
    }
}

/// The plan from `live` to `desired`; `live` is (everything live that carries the
/// deployment's labels).
pub fn plan(desired: &[Object], live: &[Object]) -> Plan {
    let find = |kind: Kind, name: &str| live.iter().find(|l| l.kind == kind && l.name == name);
    let mut steps = Vec::new();
    for object in desired {
        let step = match find(object.kind, &object.name) {
            None => Step::Create(object.clone()),
            Some(current) => {
                let mut fields = changed_fields(&object.body, &current.body);
                fields.extend(removed_fields(&object.body, &current.body));
                if fields.is_empty() {
                    Step::Keep { kind: object.kind, name: object.name.clone() }
                } else {
                    Step::Change { object: object.clone(), fields }
                }
            }
        };
        steps.push(step);
    }
    for current in live {
        if !desired.iter().any(|d| d.kind == current.kind && d.name == current.name) {
            steps.push(Step::Delete {
                kind: current.kind,
                namespace: current.namespace.clone(),
                name: current.name.clone(),
            });
        }
    }
    Plan { steps }
}

/// The desired fields whose live value differs (see the module docs).
pub fn changed_fields(desired: &Value, live: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let (Some(desired), Some(live)) = (desired.as_object(), live.as_object()) else {
        out.push("(whole object)".to_owned());
        return out;
    };
    let empty = Map::new();
    for (key, want) in desired {
        match key.as_str() {
            "apiVersion" | "kind" | "status" => {}
            "metadata" => {
                let live_meta = live.get("metadata").and_then(Value::as_object).unwrap_or(&empty);
                for part in ["labels", "annotations"] {
                    if let Some(want) = want.get(part) {
                        diff(&format!("metadata.{part}"), want, live_meta.get(part), &mut out);
                    }
                }
            }
            _ => diff(key, want, live.get(key), &mut out),
        }
    }
    out
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

fn diff(path: &str, want: &Value, have: Option<&Value>, out: &mut Vec<String>) {
    let Some(have) = have.filter(|h| !h.is_null()) else {
        if !is_empty(want) {
            out.push(path.to_owned());
        }
        return;
    };
    match (want, have) {
        (Value::Object(want), Value::Object(have)) => {
            for (key, w) in want {
                diff(&format!("{path}.{key}"), w, have.get(key), out);
            }
        }
        (Value::Array(want), Value::Array(have)) => {
            if want.len() != have.len() {
                out.push(path.to_owned());
                return;
            }
            for (i, (w, h)) in want.iter().zip(have).enumerate() {
                diff(&format!("{path}[{}]", element_label(w, i)), w, Some(h), out);
            }
        }
        (Value::String(w), Value::String(h)) if w != h => {
            if !quantities_equal(w, h) {
                out.push(path.to_owned());
            }
        }
        (w, h) if w == h => {}
        (Value::Number(w), Value::Number(h)) if w.as_f64() == h.as_f64() => {}
        _ => out.push(path.to_owned()),
    }
}

/// How a list element is named in a path: by its `name` when it has one.
fn element_label(element: &Value, index: usize) -> String {
    match element.get("name").and_then(Value::as_str) {
        Some(name) => name.to_owned(),
        None => index.to_string(),
    }
}

/// Whether two strings are the same Kubernetes quantity written differently.
fn quantities_equal(a: &str, b: &str) -> bool {
    match (quantity_value(a), quantity_value(b)) {
        (Some(x), Some(y)) => (x - y).abs() <= f64::EPSILON * 16.0 * x.abs().max(y.abs()).max(1.0),
        _ => false,
    }
}

fn quantity_value(s: &str) -> Option<f64> {
    const SUFFIXES: [(&str, f64); 13] = [
        ("Ki", 1024.0),
        ("Mi", 1_048_576.0),
        ("Gi", 1_073_741_824.0),
        ("Ti", 1_099_511_627_776.0),
        ("Pi", 1_125_899_906_842_624.0),
        ("Ei", 1_152_921_504_606_846_976.0),
        ("m", 1e-3),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("P", 1e15),
        ("E", 1e18),
    ];
    let (number, factor) =
        SUFFIXES.iter().find_map(|(suffix, f)| s.strip_suffix(suffix).map(|n| (n, *f))).unwrap_or((s, 1.0));
    let digits_ok = !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && number.bytes().filter(|b| *b == b'.').count() <= 1
        && number != ".";
    if !digits_ok {
        return None;
    }
    number.parse::<f64>().ok().map(|n| n * factor)
}

/// Fields that Eyrie's last apply owned (per the live object's
/// `managedFields`) and the desired object no longer sets.
pub fn removed_fields(desired: &Value, live: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let entries = live.pointer("/metadata/managedFields").and_then(Value::as_array);
    for entry in entries.into_iter().flatten() {
        let ours = entry.get("manager").and_then(Value::as_str) == Some(MANAGER)
            && entry.get("operation").and_then(Value::as_str) == Some("Apply");
        if let (true, Some(fields)) = (ours, entry.get("fieldsV1").and_then(Value::as_object)) {
            owned(fields, Some(desired), "", &mut out);
        }
    }
    out
}

/// Walks a `fieldsV1` set against the desired value at the same place.
fn owned(fields: &Map<String, Value>, desired: Option<&Value>, path: &str, out: &mut Vec<String>) {
    let join = |segment: &str| if path.is_empty() { segment.to_owned() } else { format!("{path}.{segment}") };
    for (key, sub) in fields {
        let sub = sub.as_object();
        if let Some(name) = key.strip_prefix("f:") {
            let child = desired.and_then(|d| d.get(name)).filter(|v| !v.is_null());
            match child {
                None => out.push(join(name)),
                Some(child) => {
                    if let Some(sub) = sub {
                        owned(sub, Some(child), &join(name), out);
                    }
                }
            }
        } else if let Some(keys) = key.strip_prefix("k:") {
            let Ok(Value::Object(keys)) = serde_json::from_str::<Value>(keys) else { continue };
            let element = desired
                .and_then(Value::as_array)
                .and_then(|items| items.iter().find(|item| keys.iter().all(|(k, v)| item.get(k) == Some(v))));
            let label =
                keys.values().map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned)).collect::<Vec<_>>();
            let here = format!("{path}[{}]", label.join(","));
            match element {
                None => out.push(here),
                Some(element) => {
                    if let Some(sub) = sub {
                        owned(sub, Some(element), &here, out);
                    }
                }
            }
        } else if let Some(value) = key.strip_prefix("v:") {
            let Ok(value) = serde_json::from_str::<Value>(value) else { continue };
            let present = desired.and_then(Value::as_array).is_some_and(|items| items.contains(&value));
            if !present {
                out.push(format!("{path}[{value}]"));
            }
        } else if let Some(index) = key.strip_prefix("i:") {
            let element = index.parse::<usize>().ok().and_then(|i| desired.and_then(|d| d.get(i)));
            match element {
                None => out.push(format!("{path}[{index}]")),
                Some(element) => {
                    if let Some(sub) = sub {
                        owned(sub, Some(element), &format!("{path}[{index}]"), out);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn object(kind: Kind, name: &str, body: Value) -> Object {
        Object { kind, name: name.to_owned(), namespace: Some("ns".to_owned()), body }
    }

    #[test]
    fn server_defaults_and_other_metadata_are_not_changes() {
        let desired = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "a", "labels": {"x": "1"}},
            "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "odoo", "image": "odoo:18"}]}}}
        });
        let live = json!({
            "metadata": {"name": "a", "uid": "u", "resourceVersion": "7", "labels": {"x": "1", "other": "y"}},
            "spec": {"replicas": 2, "progressDeadlineSeconds": 600,
                     "template": {"spec": {"containers": [{"name": "odoo", "image": "odoo:18", "imagePullPolicy": "IfNotPresent"}]}}},
            "status": {"readyReplicas": 2}
        });
        assert_eq!(changed_fields(&desired, &live), Vec::<String>::new());
    }

    #[test]
    fn changes_are_named_by_path() {
        let desired = json!({
            "metadata": {"labels": {"x": "2"}},
            "spec": {"replicas": 3, "template": {"spec": {"containers": [{"name": "odoo", "image": "odoo:19"}]}}}
        });
        let live = json!({
            "metadata": {"labels": {"x": "1"}},
            "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "odoo", "image": "odoo:18"}]}}}
        });
        assert_eq!(
            changed_fields(&desired, &live),
            ["metadata.labels.x", "spec.replicas", "spec.template.spec.containers[odoo].image"]
        );
    }

    #[test]
    fn quantities_compare_by_value() {
        let desired = json!({"spec": {"cpu": "0.5", "mem": "1Gi", "disk": "1024Mi", "other": "1"}});
        let live = json!({"spec": {"cpu": "500m", "mem": "1Gi", "disk": "1Gi", "other": "2"}});
        assert_eq!(changed_fields(&desired, &live), ["spec.other"]);
        assert!(!quantities_equal("1Gi", "1G"));
        assert!(!quantities_equal("abc", "abc2"));
    }

    #[test]
    fn empty_values_equal_absent_ones_and_lists_compare_by_length() {
        let desired = json!({"spec": {"tolerations": [], "selector": {}, "ports": [1, 2]}});
        let live = json!({"spec": {"ports": [1]}});
        assert_eq!(changed_fields(&desired, &live), ["spec.ports"]);
    }

    #[test]
    fn fields_eyrie_set_earlier_and_no_longer_wants_are_changes() {
        let desired = json!({"spec": {"rules": [{"host": "a"}], "ports": [{"name": "http", "port": 80}]}});
        let live = json!({
            "metadata": {"managedFields": [
                {"manager": "eyrie", "operation": "Apply", "fieldsV1": {"f:spec": {
                    "f:rules": {}, "f:tls": {},
                    "f:ports": {"k:{\"port\":80,\"protocol\":\"TCP\"}": {".": {}, "f:name": {}},
                                "k:{\"port\":8072,\"protocol\":\"TCP\"}": {".": {}}}
                }}},
                {"manager": "kube-controller-manager", "operation": "Update", "fieldsV1": {"f:spec": {"f:other": {}}}}
            ]},
            "spec": {"rules": [{"host": "a"}], "tls": [{"hosts": ["a"]}], "ports": [{"name": "http", "port": 80}, {"port": 8072}]}
        });
        // The `protocol` key is not in the desired element, so both keyed entries count as gone.
        assert_eq!(removed_fields(&desired, &live), ["spec.ports[80,TCP]", "spec.ports[8072,TCP]", "spec.tls"]);
        let desired = json!({"spec": {"rules": [], "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}});
        assert_eq!(removed_fields(&desired, &live), ["spec.ports[8072,TCP]", "spec.tls"]);
    }

    #[test]
    fn plan_creates_changes_keeps_and_deletes() {
        let a = object(Kind::Secret, "a", json!({"data": {"k": "dg=="}}));
        let b = object(Kind::Service, "b", json!({"spec": {"type": "ClusterIP"}}));
        let c = object(Kind::Deployment, "c", json!({"spec": {"replicas": 1}}));
        let live = vec![
            object(Kind::Service, "b", json!({"spec": {"type": "ClusterIP", "clusterIP": "10.0.0.1"}})),
            object(Kind::Deployment, "c", json!({"spec": {"replicas": 0}})),
            object(Kind::Ingress, "old", json!({})),
        ];
        let plan = plan(&[a, b, c], &live);
        assert_eq!(
            plan.to_string(),
            "create Secret a\nkeep Service b\nchange Deployment c: spec.replicas\ndelete Ingress old\n"
        );
        assert!(!plan.is_noop());
        assert_eq!(plan.writes().count(), 3);
    }

    #[test]
    fn a_plan_with_nothing_to_change_is_a_noop() {
        let a = object(Kind::Service, "b", json!({"spec": {"type": "ClusterIP"}}));
        let plan = plan(std::slice::from_ref(&a), std::slice::from_ref(&a));
        assert!(plan.is_noop());
        assert!(super::plan(&[], &[]).is_noop());
    }
}
