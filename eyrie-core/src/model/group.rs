//! [`DeploymentGroup`] and [`GroupType`].

use std::collections::BTreeSet;
use std::fmt;

use super::settings::Settings;
use crate::clock::Timestamp;
use crate::ids::{ClusterId, GroupId, NamespaceUid, ProjectId};
use crate::lifecycle::LifecycleState;
use crate::model::Namespace;
use crate::validate::{Name, Slug};

/// What a group runs. Chosen on the group, never per deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupType {
    /// Odoo servers.
    Odoo,
    /// PostgreSQL clusters through the Crunchy PostgreSQL operator.
    Pgo,
    /// MySQL clusters through the Percona XtraDB Cluster operator.
    Pxc,
    /// A generic container.
    None,
}

impl GroupType {
    /// Every group type.
    pub const ALL: [GroupType; 4] = [GroupType::Odoo, GroupType::Pgo, GroupType::Pxc, GroupType::None];

    /// The platform's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            GroupType::Odoo => "odoo",
            GroupType::Pgo => "pgo",
            GroupType::Pxc => "pxc",
            GroupType::None => "none",
        }
    }
}

impl fmt::Display for GroupType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Deployments of one type inside a project; owns its scopes and gives its
/// deployments their defaults.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DeploymentGroup {
    /// Identity.
    pub id: GroupId,
    /// The project it belongs to.
    pub project_id: ProjectId,
    /// The project's namespace uid, copied at creation. Read-only: a
    /// namespace uid never changes, so the copy never goes stale.
    pub namespace_uid: NamespaceUid,
    /// Display name.
    pub name: Name,
    /// Unique within the project.
    pub slug: Slug,
    /// What its deployments run.
    pub group_type: GroupType,
    /// The clusters its deployments may use (at least one).
    pub group_cluster_ids: BTreeSet<ClusterId>,
    /// Defaults for its deployments.
    pub settings: Settings,
    /// Groups follow the deployment state model.
    pub state: LifecycleState,
    /// When it was created.
    pub created_at: Timestamp,
}

impl DeploymentGroup {
    /// The Kubernetes namespace its deployments live in (the project's).
    pub fn namespace(&self) -> String {
        Namespace::name_for(self.namespace_uid)
    }
}
