//! [`Scope`]: an environment tier (`prod`, `stage`, `dev`) of a group.

use std::collections::BTreeSet;

use super::settings::Settings;
use crate::clock::Timestamp;
use crate::ids::{ClusterId, DatasourceId, GroupId, ProjectId, ScopeId};
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
    /// Tier defaults for its deployments, between theirs and the group's.
    pub settings: Settings,
    /// When it was created.
    pub created_at: Timestamp,
}
