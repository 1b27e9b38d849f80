//! Rendering: a deployment's desired state as Kubernetes objects. Pure
//! functions, no I/O; the same input always renders the same bytes.
//!
//! [`render`] builds every namespaced object of a deployment (built-in kinds
//! through k8s-openapi types, operator resources as JSON shaped by their
//! published schemas) and [`render_namespace`] its project's namespace. Each
//! object carries the labels and annotations of [`crate::labels`] and is named
//! from the base name of [`crate::names`].
//!
//! Parameters (`params` of the effective view) read by the renderers, beside
//! the type-specific ones each module lists:
//!
//! | param | used by | meaning |
//! | --- | --- | --- |
//! | `storage_class` | odoo, pgo, pxc | storage class of the volumes (cluster default when unset) |
//! | `ingress_class` | odoo, none | `ingressClassName` of the Ingress |
//! | `tls_secret` | odoo, none | a TLS Secret for the Ingress host |

pub mod none;
pub mod odoo;
pub mod pgo;
pub mod pxc;

use std::collections::BTreeMap;
use std::fmt;

use eyrie_core::executor::DesiredDeployment;
use eyrie_core::{Error, GroupType, Result, SecretString, ValidationError};
use k8s_openapi::api::core::v1::{Namespace, ResourceRequirements};
use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressRule, IngressServiceBackend, IngressSpec,
    IngressTLS, ServiceBackendPort,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::{Map, Value};

use crate::kinds::Kind;
use crate::{labels, names};

/// Whether the rendered workload runs or is stopped with its data kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Run {
    /// Serving with its effective replicas.
    Running,
    /// Stopped: zero replicas for Deployments, the operator's own
    /// `shutdown` (PGO) or `pause` (Percona) for database clusters.
    Paused,
}

impl Run {
    /// What a deployment in `desired.state` runs as: `pause` is paused,
    /// every other state runs.
    pub fn for_state(desired: &DesiredDeployment) -> Run {
        if desired.state == eyrie_core::LifecycleState::Pause { Run::Paused } else { Run::Running }
    }
}

/// Secret values handed to the renderer for one deployment, by name (for
/// Odoo: `admin_passwd`, `db_password`). Nothing from the sealed store ends
/// up in an object unless it is given here. `Debug` shows names only.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct DeploymentSecrets(BTreeMap<String, SecretString>);

impl DeploymentSecrets {
    /// No secrets.
    pub fn none() -> Self {
        DeploymentSecrets::default()
    }

    /// Adds or replaces the secret `name`.
    pub fn with(mut self, name: impl Into<String>, value: SecretString) -> Self {
        self.0.insert(name.into(), value);
        self
    }

    /// The secret `name`, if given.
    pub fn get(&self, name: &str) -> Option<&SecretString> {
        self.0.get(name)
    }
}

impl fmt::Debug for DeploymentSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DeploymentSecrets").field(&self.0.keys().collect::<Vec<_>>()).finish()
    }
}

/// One rendered object: its kind, name, namespace and full body
/// (`apiVersion`, `kind`, `metadata`, `spec`…). `Debug` prints the identity
/// only, never the body (a Secret's body holds secret values).
#[derive(Clone, PartialEq)]
pub struct Object {
    /// Its kind.
    pub kind: Kind,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`; `None` for the namespace itself.
    pub namespace: Option<String>,
    /// The whole object as JSON.
    pub body: Value,
}

impl Object {
    /// Wraps a serializable object (a k8s-openapi type or JSON).
    pub fn new(kind: Kind, name: &str, namespace: Option<&str>, body: &impl serde::Serialize) -> Result<Object> {
        let body = serde_json::to_value(body)
            .map_err(|e| Error::backend(format!("cannot serialize {kind} {name}: {e}"), false))?;
        Ok(Object { kind, name: name.to_owned(), namespace: namespace.map(str::to_owned), body })
    }

    /// Wraps a body that is JSON already (no copy).
    pub fn from_value(kind: Kind, name: &str, namespace: Option<&str>, body: Value) -> Object {
        Object { kind, name: name.to_owned(), namespace: namespace.map(str::to_owned), body }
    }

    /// `Kind/namespace/name`, for messages.
    pub fn id(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{}/{ns}/{}", self.kind, self.name),
            None => format!("{}/{}", self.kind, self.name),
        }
    }
}

impl fmt::Debug for Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Object({})", self.id())
    }
}

/// Everything rendered for one deployment.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// The project namespace (shared with the project's other deployments).
    pub namespace: Object,
    /// The deployment's own objects, in apply order.
    pub objects: Vec<Object>,
}

impl Rendered {
    /// The namespace, then the objects, as a multi-document YAML stream.
    pub fn to_yaml(&self) -> Result<String> {
        to_yaml(std::iter::once(&self.namespace).chain(&self.objects))
    }
}

/// `objects` as a multi-document YAML stream, each document opened by `---`.
///
/// Written by serde-saphyr with plain (never folded) scalars, so a long
/// value such as a Secret's base64 stays on one line.
pub fn to_yaml<'a>(objects: impl IntoIterator<Item = &'a Object>) -> Result<String> {
    let mut out = String::new();
    for object in objects {
        out.push_str("---\n");
        write_yaml(&mut out, object)?;
    }
    Ok(out)
}

/// Appends `object`'s body to `out` as one YAML document (without `---`).
pub fn write_yaml(out: &mut String, object: &Object) -> Result<()> {
    let options = serde_saphyr::ser_options! { prefer_block_scalars: false };
    serde_saphyr::to_fmt_writer_with_options(out, &object.body, options)
        .map_err(|e| Error::backend(format!("cannot write {} as YAML: {e}", object.id()), false))
}

/// Renders `desired` as it should run (`run`), with the given secrets.
pub fn render(desired: &DesiredDeployment, run: Run, secrets: &DeploymentSecrets) -> Result<Rendered> {
    let ctx = Ctx::new(desired, run, secrets);
    let objects = match desired.effective.group_type {
        GroupType::Odoo => odoo::render(&ctx)?,
        GroupType::Pgo => pgo::render(&ctx)?,
        GroupType::Pxc => pxc::render(&ctx)?,
        GroupType::None => none::render(&ctx)?,
    };
    Ok(Rendered { namespace: render_namespace(desired)?, objects })
}

/// The project namespace of `desired`: named from the namespace uid (as
/// `desired.namespace` already is), never from the slug.
pub fn render_namespace(desired: &DesiredDeployment) -> Result<Object> {
    if !names::is_rfc1035_label(&desired.namespace) {
        return Err(invalid("namespace", &desired.namespace, "must be a DNS label starting with a letter"));
    }
    let namespace = Namespace {
        metadata: ObjectMeta {
            name: Some(desired.namespace.clone()),
            labels: Some(labels::namespace_labels(desired.project_id)),
            annotations: Some(labels::namespace_annotations(desired)),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    };
    Object::new(Kind::Namespace, &desired.namespace, None, &namespace)
}

/// The base name of `desired`'s objects.
pub fn base_name(desired: &DesiredDeployment) -> String {
    names::base_name(
        &desired.group_slug,
        &desired.deployment_slug,
        desired.deployment_id,
        names::budget(desired.effective.group_type),
    )
}

/// `value` as JSON.
pub(crate) fn to_json(value: &impl serde::Serialize) -> Result<Value> {
    serde_json::to_value(value).map_err(|e| Error::backend(format!("cannot serialize a rendered value: {e}"), false))
}

/// A JSON object of `pairs`, moving the values in (`json!` would copy
/// every embedded `Value` by serializing it again).
pub(crate) fn json_object<const N: usize>(pairs: [(&str, Value); N]) -> Value {
    Value::Object(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

/// Sets `key` to `value` in the JSON object at `path` of `body` (the parts
/// a renderer leaves empty in the typed value and fills from [`Ctx`]).
pub(crate) fn put(body: &mut Value, path: &[&str], key: &str, value: Value) -> Result<()> {
    let mut at = body;
    for part in path {
        at = at.get_mut(*part).ok_or_else(|| Error::backend(format!("rendered object has no {part}"), false))?;
    }
    let map = at.as_object_mut().ok_or_else(|| Error::backend(format!("rendered {key} has no parent"), false))?;
    map.insert(key.to_owned(), value);
    Ok(())
}

/// An [`Error::Invalid`] about a rendered field.
pub(crate) fn invalid(field: &'static str, value: impl fmt::Display, reason: &str) -> Error {
    Error::Invalid(ValidationError::field(field, value, reason))
}

/// What every renderer needs: the deployment, its names, labels and settings.
///
/// The label and annotation maps are built once per render, as JSON, and
/// put into each object's body after it is serialized: building them as
/// `BTreeMap<String, String>` per object and converting each through
/// `serde_json::Value` was most of the cost of rendering (allocations).
pub(crate) struct Ctx<'a> {
    pub(crate) desired: &'a DesiredDeployment,
    pub(crate) run: Run,
    pub(crate) secrets: &'a DeploymentSecrets,
    pub(crate) base: String,
    pub(crate) namespace: &'a str,
    labels: Map<String, Value>,
    annotations: Map<String, Value>,
    selector: Map<String, Value>,
}

/// A string map as a JSON object.
fn json_map(map: BTreeMap<String, String>) -> Map<String, Value> {
    map.into_iter().map(|(k, v)| (k, Value::String(v))).collect()
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(desired: &'a DesiredDeployment, run: Run, secrets: &'a DeploymentSecrets) -> Self {
        let base = base_name(desired);
        Ctx {
            labels: json_map(labels::labels(desired, &base)),
            annotations: json_map(labels::annotations(desired)),
            selector: json_map(labels::selector_labels(desired)),
            desired,
            run,
            secrets,
            base,
            namespace: &desired.namespace,
        }
    }

    /// `metadata` of the object `name`: name, namespace, labels, annotations.
    pub(crate) fn meta(&self, name: &str) -> Value {
        let mut meta = Map::new();
        meta.insert("annotations".to_owned(), Value::Object(self.annotations.clone()));
        meta.insert("labels".to_owned(), self.labels());
        meta.insert("name".to_owned(), Value::String(name.to_owned()));
        meta.insert("namespace".to_owned(), Value::String(self.namespace.to_owned()));
        Value::Object(meta)
    }

    /// Every label of the deployment's objects.
    pub(crate) fn labels(&self) -> Value {
        Value::Object(self.labels.clone())
    }

    /// The labels that select the deployment's pods.
    pub(crate) fn selector(&self) -> Value {
        Value::Object(self.selector.clone())
    }

    /// The identifying labels handed to operators for the objects they make:
    /// the ids, not `managed-by` (those objects are the operator's).
    pub(crate) fn id_labels(&self) -> Value {
        let mut ids = self.labels.clone();
        ids.remove(labels::MANAGED_BY);
        Value::Object(ids)
    }

    /// The object `name` of `kind` in the deployment's namespace, from a
    /// k8s-openapi value rendered without metadata: [`Ctx::meta`] is put in.
    pub(crate) fn object(&self, kind: Kind, name: &str, typed: &impl serde::Serialize) -> Result<Object> {
        let mut object = Object::new(kind, name, Some(self.namespace), typed)?;
        put(&mut object.body, &[], "metadata", self.meta(name))?;
        Ok(object)
    }

    /// A type-specific parameter.
    pub(crate) fn param(&self, key: &str) -> Option<&'a str> {
        self.desired.effective.params.get(key).map(|p| p.value.as_str())
    }

    /// The effective replicas as the API's `int32`.
    pub(crate) fn replicas(&self) -> Result<i32> {
        let replicas = self.desired.effective.replicas.value;
        i32::try_from(replicas).map_err(|_| invalid("replicas", replicas, "must fit in a 32-bit integer"))
    }

    /// Replicas of a Deployment: zero when paused.
    pub(crate) fn running_replicas(&self) -> Result<i32> {
        match self.run {
            Run::Running => self.replicas(),
            Run::Paused => Ok(0),
        }
    }

    /// Requests and limits from the effective view.
    pub(crate) fn resources(&self) -> ResourceRequirements {
        let e = &self.desired.effective;
        let q = |v: &eyrie_core::Quantity| Quantity(v.to_string());
        ResourceRequirements {
            requests: Some(BTreeMap::from([
                ("cpu".to_owned(), q(&e.cpu_request.value)),
                ("memory".to_owned(), q(&e.memory_request.value)),
            ])),
            limits: Some(BTreeMap::from([
                ("cpu".to_owned(), q(&e.cpu_limit.value)),
                ("memory".to_owned(), q(&e.memory_limit.value)),
            ])),
            ..ResourceRequirements::default()
        }
    }

    /// The requests and limits as JSON, for operator resources.
    pub(crate) fn resources_json(&self) -> Result<Value> {
        serde_json::to_value(self.resources())
            .map_err(|e| Error::backend(format!("cannot serialize resources: {e}"), false))
    }

    /// The effective storage size.
    pub(crate) fn storage(&self) -> String {
        self.desired.effective.storage_size.value.to_string()
    }

    /// The image of `desired`, else `default`.
    pub(crate) fn image_or(&self, default: &str) -> String {
        self.desired.image.as_ref().map_or_else(|| default.to_owned(), |i| i.to_string())
    }

    /// An Ingress for the effective host to the Service `self.base`, with
    /// `paths` as `(path, service port name)`; `None` without a host.
    pub(crate) fn ingress(&self, paths: &[(&str, &str)]) -> Result<Option<Object>> {
        let Some(host) = &self.desired.effective.host else { return Ok(None) };
        let host = host.value.clone();
        let paths = paths
            .iter()
            .map(|(path, port)| HTTPIngressPath {
                path: Some((*path).to_owned()),
                path_type: "Prefix".to_owned(),
                backend: IngressBackend {
                    service: Some(IngressServiceBackend {
                        name: self.base.clone(),
                        port: Some(ServiceBackendPort { name: Some((*port).to_owned()), number: None }),
                    }),
                    ..IngressBackend::default()
                },
            })
            .collect();
        let tls = self
            .param("tls_secret")
            .map(|secret| vec![IngressTLS { hosts: Some(vec![host.clone()]), secret_name: Some(secret.to_owned()) }]);
        let ingress = Ingress {
            spec: Some(IngressSpec {
                ingress_class_name: self.param("ingress_class").map(str::to_owned),
                rules: Some(vec![IngressRule { host: Some(host), http: Some(HTTPIngressRuleValue { paths }) }]),
                tls,
                ..IngressSpec::default()
            }),
            ..Ingress::default()
        };
        self.object(Kind::Ingress, &self.base, &ingress).map(Some)
    }
}
