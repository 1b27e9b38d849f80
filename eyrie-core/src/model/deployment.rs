//! [`Deployment`], its observed state and its version history.

use std::collections::BTreeSet;
use std::fmt;

use super::audit::ActorRef;
use super::settings::Settings;
use crate::clock::Timestamp;
use crate::ids::{ClusterId, DeploymentId, GroupId, NamespaceUid, ProjectId, ScopeId, VersionId};
use crate::lifecycle::LifecycleState;
use crate::model::Namespace;
use crate::validate::{Digest, Name, Slug};

/// One running instance inside a group. Every setting it does not set
/// itself is inherited (see [`crate::EffectiveDeployment`]); its type is
/// always its group's.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Deployment {
    /// Identity.
    pub id: DeploymentId,
    /// The project it belongs to.
    pub project_id: ProjectId,
    /// The group it belongs to; never changes.
    pub group_id: GroupId,
    /// Its scope (environment tier), in the same group.
    pub scope_id: ScopeId,
    /// The project's namespace uid, copied at creation; read-only.
    pub namespace_uid: NamespaceUid,
    /// Display name.
    pub name: Name,
    /// Unique within the group.
    pub slug: Slug,
    /// Its own clusters; empty means "inherit the scope's effective clusters".
    pub cluster_ids: BTreeSet<ClusterId>,
    /// Whether it follows its image: a digest change redeploys it when it is in `deploy`.
    pub image_subscribed: bool,
    /// Its own settings; unset fields inherit.
    pub settings: Settings,
    /// Desired lifecycle state. Advances only when the job that moves it is done.
    pub state: LifecycleState,
    /// The last instant it entered `deploy`; the pause and drop timers count from here.
    pub entered_deploy_at: Option<Timestamp>,
    /// The image digest it was last deployed with.
    pub deployed_digest: Option<Digest>,
    /// When its next timer (pause or drop) falls due, as computed by
    /// [`crate::rules::next_timer_at`] whenever its state or scope changes.
    /// Indexed by time so the scheduler finds due deployments without a scan.
    #[serde(default)]
    pub timer_due_at: Option<Timestamp>,
    /// Its effective hostname ([`crate::EffectiveDeployment`]'s `host`),
    /// kept by the service whenever the slug, the scope, the scope's
    /// `root_subdomain` or the project's `domain` changes. While it is live,
    /// no other deployment may hold the same one.
    #[serde(default)]
    pub hostname: Option<String>,
    /// What the cluster last reported, kept apart from the desired state.
    pub observed: Option<ObservedState>,
    /// The error of the last failed action, if any.
    pub last_error: Option<String>,
    /// When it was created.
    pub created_at: Timestamp,
}

impl Deployment {
    /// The Kubernetes namespace it lives in (its project's).
    pub fn namespace(&self) -> String {
        Namespace::name_for(self.namespace_uid)
    }
}

/// What a cluster last reported about a deployment.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ObservedState {
    /// Replicas ready to serve.
    pub ready_replicas: u32,
    /// Replicas asked for.
    pub desired_replicas: u32,
    /// Conditions as the cluster reports them.
    pub conditions: Vec<Condition>,
    /// When it was read.
    pub observed_at: Timestamp,
}

/// One reported condition (`Available`, `Progressing`, …).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Condition {
    /// The condition type.
    pub kind: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// The reporter's message.
    pub message: Option<String>,
}

/// Which versioned field changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VersionField {
    /// The branch.
    Branch,
    /// The image.
    Image,
    /// The image digest.
    ImageDigest,
    /// The pinned commit ref.
    CommitRef,
}

impl fmt::Display for VersionField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            VersionField::Branch => "branch",
            VersionField::Image => "image",
            VersionField::ImageDigest => "image_digest",
            VersionField::CommitRef => "commit_ref",
        })
    }
}

/// One field's change in a [`DeploymentVersion`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct VersionChange {
    /// The field.
    pub field: VersionField,
    /// The value before, as text.
    pub from: Option<String>,
    /// The value after, as text.
    pub to: Option<String>,
}

/// An immutable record of a change to a deployment's branch, image, image
/// digest or commit ref.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DeploymentVersion {
    /// Identity.
    pub id: VersionId,
    /// The project.
    pub project_id: ProjectId,
    /// The deployment.
    pub deployment_id: DeploymentId,
    /// 1 for the first version of a deployment, then +1 each.
    pub seq: u32,
    /// Who changed it.
    pub actor: ActorRef,
    /// When.
    pub at: Timestamp,
    /// What changed.
    pub changes: Vec<VersionChange>,
}
