//! Labels and annotations on everything Eyrie applies.
//!
//! Labels carry **ids**, which never change: `eyrie.dev/project`,
//! `eyrie.dev/group` and `eyrie.dev/deployment` hold `prj-…`, `grp-…` and
//! `dep-…`, so selectors (immutable on a Deployment) survive a rename, as the
//! namespace name does. Annotations carry the **slugs**, for people reading
//! the cluster; they follow renames at the next apply. Every object also has
//! `app.kubernetes.io/managed-by: eyrie`, and the workload objects the usual
//! `app.kubernetes.io/name` and `app.kubernetes.io/instance`.

use std::collections::BTreeMap;

use eyrie_core::executor::DesiredDeployment;
use eyrie_core::{GroupType, ProjectId};

/// `app.kubernetes.io/managed-by`.
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
/// The value of [`MANAGED_BY`], and the server-side apply field manager.
pub const MANAGER: &str = "eyrie";
/// `app.kubernetes.io/name`: what runs (`odoo`, `postgresql`, `mysql`, `app`).
pub const APP_NAME: &str = "app.kubernetes.io/name";
/// `app.kubernetes.io/instance`: the deployment's base name.
pub const APP_INSTANCE: &str = "app.kubernetes.io/instance";
/// The project id label.
pub const PROJECT: &str = "eyrie.dev/project";
/// The group id label.
pub const GROUP: &str = "eyrie.dev/group";
/// The deployment id label.
pub const DEPLOYMENT: &str = "eyrie.dev/deployment";
/// The group type label.
pub const GROUP_TYPE: &str = "eyrie.dev/group-type";
/// The project slug annotation.
pub const PROJECT_SLUG: &str = "eyrie.dev/project-slug";
/// The group slug annotation.
pub const GROUP_SLUG: &str = "eyrie.dev/group-slug";
/// The deployment slug annotation.
pub const DEPLOYMENT_SLUG: &str = "eyrie.dev/deployment-slug";
/// A checksum of a deployment's configuration on its pod template, so that a
/// configuration change rolls the pods.
pub const CONFIG_HASH: &str = "eyrie.dev/config-hash";
/// On the objects of backups and restores (see [`crate::backups`]): what
/// they are for (`backup`, `restore` or `backup-storage`). A reconcile
/// leaves objects with this label alone; a drop deletes them.
pub const OPERATION: &str = "eyrie.dev/operation";
/// On the objects of one backup: the backup id (`bak-…`).
pub const BACKUP: &str = "eyrie.dev/backup";
/// On the objects of one restore: the id of the job running it (`job-…`).
pub const RUN: &str = "eyrie.dev/run";

/// What `app.kubernetes.io/name` says for a group type.
pub fn app_name(group_type: GroupType) -> &'static str {
    match group_type {
        GroupType::Odoo => "odoo",
        GroupType::Pgo => "postgresql",
        GroupType::Pxc => "mysql",
        GroupType::None => "app",
    }
}

/// The labels of the project namespace.
pub fn namespace_labels(project: ProjectId) -> BTreeMap<String, String> {
    BTreeMap::from([(MANAGED_BY.to_owned(), MANAGER.to_owned()), (PROJECT.to_owned(), project.to_string())])
}

/// The annotations of the project namespace.
pub fn namespace_annotations(desired: &DesiredDeployment) -> BTreeMap<String, String> {
    BTreeMap::from([(PROJECT_SLUG.to_owned(), desired.project_slug.to_string())])
}

/// The labels of every object of `desired`, named `base`.
pub fn labels(desired: &DesiredDeployment, base: &str) -> BTreeMap<String, String> {
    let mut labels = selector_labels(desired);
    labels.insert(PROJECT.to_owned(), desired.project_id.to_string());
    labels.insert(GROUP.to_owned(), desired.group_id.to_string());
    labels.insert(GROUP_TYPE.to_owned(), desired.effective.group_type.to_string());
    labels.insert(APP_NAME.to_owned(), app_name(desired.effective.group_type).to_owned());
    labels.insert(APP_INSTANCE.to_owned(), base.to_owned());
    labels
}

/// The annotations of every object of `desired`.
pub fn annotations(desired: &DesiredDeployment) -> BTreeMap<String, String> {
    BTreeMap::from([
        (PROJECT_SLUG.to_owned(), desired.project_slug.to_string()),
        (GROUP_SLUG.to_owned(), desired.group_slug.to_string()),
        (DEPLOYMENT_SLUG.to_owned(), desired.deployment_slug.to_string()),
    ])
}

/// The labels that select a deployment's objects and pods: the manager and
/// the deployment id. Never changes for a deployment.
pub fn selector_labels(desired: &DesiredDeployment) -> BTreeMap<String, String> {
    BTreeMap::from([
        (MANAGED_BY.to_owned(), MANAGER.to_owned()),
        (DEPLOYMENT.to_owned(), desired.deployment_id.to_string()),
    ])
}

/// Whether a live object is one of a backup or a restore ([`OPERATION`]).
pub fn is_operation(body: &serde_json::Value) -> bool {
    body.pointer("/metadata/labels").and_then(|l| l.get(OPERATION)).is_some()
}

/// [`selector_labels`] as a label selector string (`k=v,k=v`).
pub fn selector(desired: &DesiredDeployment) -> String {
    selector_labels(desired).iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
}
