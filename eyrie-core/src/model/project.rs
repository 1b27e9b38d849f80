//! [`Project`] (the tenant) and its [`Namespace`].

use crate::clock::Timestamp;
use crate::ids::{DeploymentId, NamespaceUid, ProjectId, UserId};
use crate::validate::{DomainName, Name, Slug};

/// A tenant. Every other tenant resource belongs to exactly one project.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Project {
    /// Identity.
    pub id: ProjectId,
    /// Display name; editable.
    pub name: Name,
    /// Unique across the whole store; editable (nothing on a cluster is named from it).
    pub slug: Slug,
    /// The one owner; the creator until ownership is transferred.
    pub owner: UserId,
    /// Base domain for deployment hostnames.
    pub domain: Option<DomainName>,
    /// A deployment of this project shown first; must belong to it.
    pub primary_deployment: Option<DeploymentId>,
    /// While set, every member but the owner is refused.
    pub portal_blocked: bool,
    /// The project's namespace, created with it and never changed.
    pub namespace_uid: NamespaceUid,
    /// When it was created.
    pub created_at: Timestamp,
}

/// The one Kubernetes namespace of a project. Its name derives from its
/// `uid`, never from the project slug, so renaming a project moves nothing
/// and two projects never collide.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Namespace {
    /// Never changes.
    pub uid: NamespaceUid,
    /// The project it belongs to.
    pub project_id: ProjectId,
    /// When it was created (with the project).
    pub created_at: Timestamp,
}

impl Namespace {
    /// The Kubernetes namespace name for a namespace uid: `eyrie-` and 16 hex
    /// digits, a valid DNS label of 22 characters.
    pub fn name_for(uid: NamespaceUid) -> String {
        format!("eyrie-{:016x}", uid.0)
    }

    /// This namespace's Kubernetes name.
    pub fn name(&self) -> String {
        Self::name_for(self.uid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::is_dns_label;

    #[test]
    fn namespace_names_are_dns_labels_from_the_uid() {
        for uid in [0, 1, u64::MAX, 0xdead_beef] {
            let name = Namespace::name_for(NamespaceUid(uid));
            assert!(is_dns_label(&name), "{name}");
        }
        assert_ne!(Namespace::name_for(NamespaceUid(1)), Namespace::name_for(NamespaceUid(2)));
    }
}
