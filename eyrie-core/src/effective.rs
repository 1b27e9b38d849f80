//! The effective view of a deployment: every setting resolved deployment →
//! scope → group → built-in default, each with where it came from.
//!
//! Choices made where SPEC is silent:
//! - `params` (type-specific settings) merge key by key: a deployment that
//!   sets `workers` keeps the group's `db_filter`.
//! - The hostname is `<deployment slug>.<scope root_subdomain>`, else
//!   `<deployment slug>.<project domain>`, else there is none.
//! - Scope-only fields (`allow_drop`, `monitor`, `gather_logs`,
//!   `role_to_admin`) are reported with the scope as their source.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::error::{Error, Result};
use crate::ids::{BranchId, ClusterId, DeploymentId, ImageId, RepositoryId};
use crate::model::{Deployment, DeploymentGroup, GroupType, Project, Scope, Settings};
use crate::permission::Role;
use crate::rules::deployment_clusters;
use crate::validate::{GitRef, Quantity, Slug};

/// A deployment's effective hostname: `<slug>.<scope root_subdomain>`, else
/// `<slug>.<project domain>`, else none.
pub fn hostname(project: &Project, scope: &Scope, slug: &Slug) -> Option<String> {
    let base = scope.root_subdomain.as_ref().or(project.domain.as_ref())?;
    Some(format!("{slug}.{base}"))
}

/// Where an effective value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// Set on the deployment.
    Deployment,
    /// Set on its scope.
    Scope,
    /// Set on its group.
    Group,
    /// Derived from its project (namespace, domain).
    Project,
    /// Eyrie's built-in default for the group type.
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::Deployment => "deployment",
            Source::Scope => "scope",
            Source::Group => "group",
            Source::Project => "project",
            Source::Default => "default",
        })
    }
}

/// A value with its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sourced<T> {
    /// The value.
    pub value: T,
    /// Where it came from.
    pub source: Source,
}

/// Built-in defaults per group type, used when no level sets a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltinDefaults {
    /// Replicas.
    pub replicas: u32,
    /// CPU request.
    pub cpu_request: &'static str,
    /// CPU limit.
    pub cpu_limit: &'static str,
    /// Memory request.
    pub memory_request: &'static str,
    /// Memory limit.
    pub memory_limit: &'static str,
    /// Storage size.
    pub storage_size: &'static str,
    /// Type-specific parameters.
    pub params: &'static [(&'static str, &'static str)],
}

impl BuiltinDefaults {
    /// The defaults for `group_type`.
    pub fn for_type(group_type: GroupType) -> BuiltinDefaults {
        let base = BuiltinDefaults {
            replicas: 1,
            cpu_request: "250m",
            cpu_limit: "1",
            memory_request: "256Mi",
            memory_limit: "1Gi",
            storage_size: "1Gi",
            params: &[],
        };
        match group_type {
            GroupType::Odoo => BuiltinDefaults {
                memory_request: "512Mi",
                memory_limit: "2Gi",
                storage_size: "10Gi",
                params: &[("workers", "2"), ("db_filter", "^%d$")],
                ..base
            },
            GroupType::Pgo => BuiltinDefaults { storage_size: "10Gi", params: &[("postgres_version", "16")], ..base },
            GroupType::Pxc => BuiltinDefaults {
                replicas: 3,
                memory_request: "512Mi",
                memory_limit: "2Gi",
                storage_size: "10Gi",
                ..base
            },
            GroupType::None => base,
        }
    }
}

/// A deployment with every setting resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EffectiveDeployment {
    /// The deployment.
    pub deployment_id: DeploymentId,
    /// Always the group's.
    pub group_type: GroupType,
    /// The project's Kubernetes namespace.
    pub namespace: Sourced<String>,
    /// Clusters it runs on.
    pub cluster_ids: Sourced<BTreeSet<ClusterId>>,
    /// Hostname, when a root subdomain or project domain exists.
    pub host: Option<Sourced<String>>,
    /// Repository.
    pub repository_id: Option<Sourced<RepositoryId>>,
    /// Branch.
    pub branch_id: Option<Sourced<BranchId>>,
    /// Pinned commit.
    pub commit_ref: Option<Sourced<GitRef>>,
    /// Image.
    pub image_id: Option<Sourced<ImageId>>,
    /// Replicas.
    pub replicas: Sourced<u32>,
    /// CPU request.
    pub cpu_request: Sourced<Quantity>,
    /// CPU limit.
    pub cpu_limit: Sourced<Quantity>,
    /// Memory request.
    pub memory_request: Sourced<Quantity>,
    /// Memory limit.
    pub memory_limit: Sourced<Quantity>,
    /// Storage size.
    pub storage_size: Sourced<Quantity>,
    /// Type-specific parameters, merged key by key.
    pub params: BTreeMap<String, Sourced<String>>,
    /// Whether it may be dropped (scope).
    pub allow_drop: Sourced<bool>,
    /// Whether it gets a default monitor (scope).
    pub monitor: Sourced<bool>,
    /// Whether logs are gathered (scope).
    pub gather_logs: Sourced<bool>,
    /// Minimum role for its admin actions (scope).
    pub role_to_admin: Sourced<Role>,
}

/// The first of deployment, scope, group that sets a field.
fn pick<T: Clone>(levels: [(&Settings, Source); 3], field: impl Fn(&Settings) -> &Option<T>) -> Option<Sourced<T>> {
    levels.into_iter().find_map(|(settings, source)| field(settings).clone().map(|value| Sourced { value, source }))
}

fn or_default(found: Option<Sourced<Quantity>>, default: &'static str) -> Result<Sourced<Quantity>> {
    match found {
        Some(found) => Ok(found),
        None => Ok(Sourced { value: default.parse()?, source: Source::Default }),
    }
}

impl EffectiveDeployment {
    /// Resolves `deployment` in its `scope`, `group` and `project`. Fails when
    /// the records do not belong together or its clusters are not allowed.
    pub fn resolve(project: &Project, group: &DeploymentGroup, scope: &Scope, deployment: &Deployment) -> Result<Self> {
        let belongs = deployment.group_id == group.id
            && deployment.scope_id == scope.id
            && scope.group_id == group.id
            && group.project_id == project.id
            && deployment.project_id == project.id;
        if !belongs {
            return Err(Error::policy(format!(
                "deployment {} does not belong to the given scope, group and project",
                deployment.id
            )));
        }
        let levels = [
            (&deployment.settings, Source::Deployment),
            (&scope.settings, Source::Scope),
            (&group.settings, Source::Group),
        ];
        let defaults = BuiltinDefaults::for_type(group.group_type);
        let cluster_source = if !deployment.cluster_ids.is_empty() {
            Source::Deployment
        } else if !scope.deployment_cluster_ids.is_empty() {
            Source::Scope
        } else {
            Source::Group
        };
        let host = hostname(project, scope, &deployment.slug).map(|value| Sourced {
            value,
            source: if scope.root_subdomain.is_some() { Source::Scope } else { Source::Project },
        });
        let mut params: BTreeMap<String, Sourced<String>> = defaults
            .params
            .iter()
            .map(|(k, v)| (k.to_string(), Sourced { value: v.to_string(), source: Source::Default }))
            .collect();
        for (settings, source) in levels.iter().rev() {
            for (k, v) in &settings.params {
                params.insert(k.clone(), Sourced { value: v.clone(), source: *source });
            }
        }
        let scoped = |value| Sourced { value, source: Source::Scope };
        Ok(EffectiveDeployment {
            deployment_id: deployment.id,
            group_type: group.group_type,
            namespace: Sourced { value: deployment.namespace(), source: Source::Project },
            cluster_ids: Sourced {
                value: deployment_clusters(&deployment.cluster_ids, group, scope)?,
                source: cluster_source,
            },
            host,
            repository_id: pick(levels, |s| &s.repository_id),
            branch_id: pick(levels, |s| &s.branch_id),
            commit_ref: pick(levels, |s| &s.commit_ref),
            image_id: pick(levels, |s| &s.image_id),
            replicas: pick(levels, |s| &s.replicas)
                .unwrap_or(Sourced { value: defaults.replicas, source: Source::Default }),
            cpu_request: or_default(pick(levels, |s| &s.cpu_request), defaults.cpu_request)?,
            cpu_limit: or_default(pick(levels, |s| &s.cpu_limit), defaults.cpu_limit)?,
            memory_request: or_default(pick(levels, |s| &s.memory_request), defaults.memory_request)?,
            memory_limit: or_default(pick(levels, |s| &s.memory_limit), defaults.memory_limit)?,
            storage_size: or_default(pick(levels, |s| &s.storage_size), defaults.storage_size)?,
            params,
            allow_drop: scoped(scope.allow_drop),
            monitor: scoped(scope.monitor),
            gather_logs: scoped(scope.gather_logs),
            role_to_admin: Sourced { value: scope.role_to_admin, source: Source::Scope },
        })
    }

    /// Every setting as `(name, value, source)` lines, for display.
    pub fn entries(&self) -> Vec<(String, String, Source)> {
        fn add<T: fmt::Display>(out: &mut Vec<(String, String, Source)>, name: &str, v: &Sourced<T>) {
            out.push((name.to_owned(), v.value.to_string(), v.source));
        }
        let mut out = Vec::new();
        out.push(("group_type".to_owned(), self.group_type.to_string(), Source::Group));
        add(&mut out, "namespace", &self.namespace);
        let clusters: Vec<String> = self.cluster_ids.value.iter().map(ToString::to_string).collect();
        out.push(("cluster_ids".to_owned(), clusters.join(","), self.cluster_ids.source));
        if let Some(host) = &self.host {
            add(&mut out, "host", host);
        }
        if let Some(v) = &self.repository_id {
            add(&mut out, "repository_id", v);
        }
        if let Some(v) = &self.branch_id {
            add(&mut out, "branch_id", v);
        }
        if let Some(v) = &self.commit_ref {
            add(&mut out, "commit_ref", v);
        }
        if let Some(v) = &self.image_id {
            add(&mut out, "image_id", v);
        }
        add(&mut out, "replicas", &self.replicas);
        add(&mut out, "cpu_request", &self.cpu_request);
        add(&mut out, "cpu_limit", &self.cpu_limit);
        add(&mut out, "memory_request", &self.memory_request);
        add(&mut out, "memory_limit", &self.memory_limit);
        add(&mut out, "storage_size", &self.storage_size);
        for (k, v) in &self.params {
            add(&mut out, &format!("params.{k}"), v);
        }
        add(&mut out, "allow_drop", &self.allow_drop);
        add(&mut out, "monitor", &self.monitor);
        add(&mut out, "gather_logs", &self.gather_logs);
        add(&mut out, "role_to_admin", &self.role_to_admin);
        out
    }
}
