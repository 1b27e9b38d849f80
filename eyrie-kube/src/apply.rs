//! The requests Eyrie sends: list, get, server-side apply and delete of
//! rendered kinds, addressed dynamically, and carrying out a [`Plan`].
//!
//! Every write is a server-side apply (`PATCH` with
//! `application/apply-patch+yaml`, `fieldManager=eyrie`, `force=true`: Eyrie
//! takes back fields another manager changed) or a `DELETE`. Nothing is
//! logged beyond kinds and names.

use eyrie_core::Result;
use kube::Client;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};

use crate::errors::{from_kube, is_not_found};
use crate::kinds::Kind;
use crate::labels::MANAGER;
use crate::plan::{Plan, Step};
use crate::render::Object;

/// A connection to one cluster.
#[derive(Clone)]
pub struct Cluster {
    client: Client,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cluster")
    }
}

impl Cluster {
    /// Wraps a client.
    pub fn new(client: Client) -> Self {
        Cluster { client }
    }

    fn api(&self, kind: Kind, namespace: Option<&str>) -> Api<DynamicObject> {
        let resource = kind.api_resource();
        match namespace {
            Some(ns) if kind.namespaced() => Api::namespaced_with(self.client.clone(), ns, &resource),
            _ => Api::all_with(self.client.clone(), &resource),
        }
    }

    /// Every object of `kind` in `namespace` matching the label `selector`.
    /// A kind the cluster does not know (an operator's CRD not installed)
    /// answers 404: no object of it can exist, so the list is empty.
    pub async fn list(&self, kind: Kind, namespace: &str, selector: &str) -> Result<Vec<Object>> {
        let what = format!("list {} in {namespace}", kind.plural());
        let list = match self.api(kind, Some(namespace)).list(&ListParams::default().labels(selector)).await {
            Ok(list) => list,
            Err(e) if is_not_found(&e) => return Ok(Vec::new()),
            Err(e) => return Err(from_kube(e, &what)),
        };
        list.items.into_iter().map(|item| to_object(kind, item, &what)).collect()
    }

    /// The object `kind`/`name`, or `None` when it does not exist.
    pub async fn get(&self, kind: Kind, namespace: Option<&str>, name: &str) -> Result<Option<Object>> {
        let what = format!("get {kind} {name}");
        match self.api(kind, namespace).get(name).await {
            Ok(item) => to_object(kind, item, &what).map(Some),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(from_kube(e, &what)),
        }
    }

    /// Server-side applies `object` with field manager `eyrie`.
    pub async fn apply(&self, object: &Object) -> Result<()> {
        self.apply_as(object, MANAGER).await
    }

    /// Server-side applies `object` with field manager `manager` (backups
    /// use their own, see [`crate::backups::FIELD_MANAGER`]).
    pub async fn apply_as(&self, object: &Object, manager: &str) -> Result<()> {
        let what = format!("apply {}", object.id());
        tracing::debug!(object = %object.id(), manager, "server-side apply");
        let params = PatchParams::apply(manager).force();
        self.api(object.kind, object.namespace.as_deref())
            .patch(&object.name, &params, &Patch::Apply(&object.body))
            .await
            .map_err(|e| from_kube(e, &what))?;
        Ok(())
    }

    /// Deletes `kind`/`name`; an object already gone is not an error.
    pub async fn delete(&self, kind: Kind, namespace: Option<&str>, name: &str) -> Result<()> {
        let what = format!("delete {kind} {name}");
        tracing::debug!(%kind, name, "delete");
        match self.api(kind, namespace).delete(name, &DeleteParams::background()).await {
            Ok(_) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(from_kube(e, &what)),
        }
    }

    /// Carries out the writes of `plan`, in order; stops at the first failure.
    pub async fn execute(&self, plan: &Plan) -> Result<()> {
        for step in &plan.steps {
            match step {
                Step::Create(object) | Step::Change { object, .. } => self.apply(object).await?,
                Step::Delete { kind, namespace, name } => self.delete(*kind, namespace.as_deref(), name).await?,
                Step::Keep { .. } => {}
            }
        }
        Ok(())
    }
}

fn to_object(kind: Kind, item: DynamicObject, what: &str) -> Result<Object> {
    let name = item.metadata.name.clone().unwrap_or_default();
    let namespace = item.metadata.namespace.clone();
    let body = serde_json::to_value(&item)
        .map_err(|e| eyrie_core::Error::backend(format!("{what}: unreadable object {name}: {e}"), false))?;
    Ok(Object { kind, name, namespace, body })
}

/// Whether a live object is being deleted (`metadata.deletionTimestamp` set).
pub fn is_terminating(object: &Object) -> bool {
    object.body.pointer("/metadata/deletionTimestamp").is_some_and(|v| !v.is_null())
}
