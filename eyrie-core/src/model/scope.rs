//! [`Scope`]: an environment tier (`prod`, `stage`, `dev`) of a group.

use std::collections::BTreeSet;

use super::settings::Settings;
use crate::backups::retention::RetentionPolicy;
use crate::clock::Timestamp;
use crate::ids::{ClusterId, DatasourceId, GroupId, ProjectId, ScopeId};
use crate::model::DeploymentGroup;
use crate::permission::Role;
use crate::validate::{DomainName, Name, Slug};

/// An environment tier of one group. See SPEC §2 for each field's rule; the
/// rules themselves are in [`crate::rules`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Scope {
    /// Identity.
    pub id: ScopeId,
    /// The project.
    pub project_id: ProjectId,
    /// The group that owns it.
    pub group_id: GroupId,
    /// Display name.
    pub name: Name,
    /// Unique in the group, e.g. `prod`.
    pub code: Slug,
    /// Higher first.
    pub priority: i32,
    /// Tie-break after priority, lower first.
    pub sequence: i32,
    /// Live deployments allowed in it; `None` = unlimited.
    pub deployment_limit: Option<u32>,
    /// Empty = the group's clusters; non-empty = only these (a subset of the group's).
    pub deployment_cluster_ids: BTreeSet<ClusterId>,
    /// Hostnames of its deployments live under it.
    pub root_subdomain: Option<DomainName>,
    /// Whether its deployments may be dropped, by a person or by the timer.
    pub allow_drop: bool,
    /// New deployments get a default monitor.
    pub monitor: bool,
    /// Whether logs are gathered.
    pub gather_logs: bool,
    /// Minimum role for admin actions on its deployments.
    pub role_to_admin: Role,
    /// Pause a deployment this long after it last entered `deploy`.
    pub deployment_pause_after_seconds: Option<u64>,
    /// Drop a deployment this long after it last entered `deploy`.
    pub deployment_drop_after_seconds: Option<u64>,
    /// Another scope of the same group whose latest backup seeds new deployments.
    pub restore_from_scope: Option<ScopeId>,
    /// An `s3like` datasource for remote backups.
    pub backup_dest_datasource: Option<DatasourceId>,
    /// Monitor logs older than this are pruned.
    pub monitor_log_delete_after_seconds: Option<u64>,
    /// How many backups of its deployments are kept (7 daily, 4 weekly, 3
    /// monthly, manual ones 30 days unless set).
    #[serde(default)]
    pub backup_retention: RetentionPolicy,
    /// Tier defaults for its deployments, between theirs and the group's.
    pub settings: Settings,
    /// When it was created.
    pub created_at: Timestamp,
}

/// The editable configuration of a scope (SPEC §2); see [`Scope`] for each field.
/// Start from [`ScopeConfig::default`] and change it with the `with_…` setters.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
#[non_exhaustive]
pub struct ScopeConfig {
    pub priority: i32,
    pub sequence: i32,
    pub deployment_limit: Option<u32>,
    pub deployment_cluster_ids: BTreeSet<ClusterId>,
    pub root_subdomain: Option<DomainName>,
    pub allow_drop: bool,
    pub monitor: bool,
    pub gather_logs: bool,
    pub role_to_admin: Role,
    pub deployment_pause_after_seconds: Option<u64>,
    pub deployment_drop_after_seconds: Option<u64>,
    pub restore_from_scope: Option<ScopeId>,
    pub backup_dest_datasource: Option<DatasourceId>,
    pub monitor_log_delete_after_seconds: Option<u64>,
    pub backup_retention: RetentionPolicy,
    pub settings: Settings,
}

impl Default for ScopeConfig {
    /// Unlimited, the group's clusters, drops **not** allowed (dropping
    /// destroys data, so it is opt-in), no timers, `role_to_admin = admin`.
    fn default() -> Self {
        ScopeConfig {
            priority: 0,
            sequence: 0,
            deployment_limit: None,
            deployment_cluster_ids: BTreeSet::new(),
            root_subdomain: None,
            allow_drop: false,
            monitor: false,
            gather_logs: false,
            role_to_admin: Role::Admin,
            deployment_pause_after_seconds: None,
            deployment_drop_after_seconds: None,
            restore_from_scope: None,
            backup_dest_datasource: None,
            monitor_log_delete_after_seconds: None,
            backup_retention: RetentionPolicy::default(),
            settings: Settings::default(),
        }
    }
}

impl Scope {
    /// Its editable configuration, as [`Scope::new`] takes it.
    pub fn config(&self) -> ScopeConfig {
        ScopeConfig {
            priority: self.priority,
            sequence: self.sequence,
            deployment_limit: self.deployment_limit,
            deployment_cluster_ids: self.deployment_cluster_ids.clone(),
            root_subdomain: self.root_subdomain.clone(),
            allow_drop: self.allow_drop,
            monitor: self.monitor,
            gather_logs: self.gather_logs,
            role_to_admin: self.role_to_admin,
            deployment_pause_after_seconds: self.deployment_pause_after_seconds,
            deployment_drop_after_seconds: self.deployment_drop_after_seconds,
            restore_from_scope: self.restore_from_scope,
            backup_dest_datasource: self.backup_dest_datasource,
            monitor_log_delete_after_seconds: self.monitor_log_delete_after_seconds,
            backup_retention: self.backup_retention,
            settings: self.settings.clone(),
        }
    }

    /// A scope record: its identity and place in `group`, with configuration `c`.
    pub fn new(
        id: ScopeId,
        group: &DeploymentGroup,
        name: Name,
        code: Slug,
        created_at: Timestamp,
        c: ScopeConfig,
    ) -> Scope {
        Scope {
            id,
            project_id: group.project_id,
            group_id: group.id,
            name,
            code,
            priority: c.priority,
            sequence: c.sequence,
            deployment_limit: c.deployment_limit,
            deployment_cluster_ids: c.deployment_cluster_ids,
            root_subdomain: c.root_subdomain,
            allow_drop: c.allow_drop,
            monitor: c.monitor,
            gather_logs: c.gather_logs,
            role_to_admin: c.role_to_admin,
            deployment_pause_after_seconds: c.deployment_pause_after_seconds,
            deployment_drop_after_seconds: c.deployment_drop_after_seconds,
            restore_from_scope: c.restore_from_scope,
            backup_dest_datasource: c.backup_dest_datasource,
            monitor_log_delete_after_seconds: c.monitor_log_delete_after_seconds,
            backup_retention: c.backup_retention,
            settings: c.settings,
            created_at,
        }
    }
}
