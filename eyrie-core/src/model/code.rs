//! [`Repository`], [`Branch`] and [`Image`].

use crate::clock::Timestamp;
use crate::ids::{BranchId, ImageId, ProjectId, RepositoryId};
use crate::model::GroupType;
use crate::validate::{Digest, GitRef, GitUrl, ImageRef, ImageTag, Name};

/// A git repository, optionally tied to a project and/or a group type.
/// One tied to no project is a global resource (platform administrators).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Repository {
    /// Identity.
    pub id: RepositoryId,
    /// The project it belongs to; `None` = global.
    pub project_id: Option<ProjectId>,
    /// The group type it serves, if any.
    pub group_type: Option<GroupType>,
    /// Display name.
    pub name: Name,
    /// Where it lives.
    pub url: GitUrl,
    /// When it was added.
    pub created_at: Timestamp,
}

/// A branch of a repository.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Branch {
    /// Identity.
    pub id: BranchId,
    /// Its repository.
    pub repository_id: RepositoryId,
    /// The repository's project (copied; `None` = global).
    pub project_id: Option<ProjectId>,
    /// The branch name.
    pub name: GitRef,
    /// When it was added.
    pub created_at: Timestamp,
}

/// A container image built from a repository. When its digest changes,
/// subscribed deployments in `deploy` are redeployed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Image {
    /// Identity.
    pub id: ImageId,
    /// The repository it is built from.
    pub repository_id: Option<RepositoryId>,
    /// The project it belongs to; `None` = global.
    pub project_id: Option<ProjectId>,
    /// The image name, e.g. `ghcr.io/acme/odoo` (tag and digest apart).
    pub reference: ImageRef,
    /// The tag.
    pub tag: Option<ImageTag>,
    /// The current digest.
    pub digest: Option<Digest>,
    /// Set when the digest changed and subscribed deployments still wait for
    /// their redeploy; the scheduler clears it once all are launched.
    #[serde(default)]
    pub redeploy_pending: bool,
    /// When it was added.
    pub created_at: Timestamp,
}

impl Image {
    /// The full reference, `name[:tag][@digest]`, ready for a pod spec.
    pub fn full_reference(&self) -> ImageRef {
        self.reference.with(self.tag.as_ref(), self.digest.as_ref())
    }
}
