//! [`User`], [`Membership`], [`RoleOverride`] and [`Invitation`].

use std::collections::BTreeSet;

use crate::clock::Timestamp;
use crate::ids::{DeploymentId, GroupId, InvitationId, MembershipId, ProjectId, RoleOverrideId, UserId};
use crate::lifecycle::InvitationState;
use crate::permission::Role;
use crate::validate::{Email, Name};

/// A person.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct User {
    /// Identity.
    pub id: UserId,
    /// Display name.
    pub name: Name,
    /// Unique e-mail address.
    pub email: Email,
    /// Platform administrators manage clusters and global resources.
    pub platform_admin: bool,
    /// Groups this user marked (a group's creator gets it added).
    pub favourite_groups: BTreeSet<GroupId>,
    /// When the record was created.
    pub created_at: Timestamp,
}

/// A user's role in a project.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Membership {
    /// Identity.
    pub id: MembershipId,
    /// The project.
    pub project_id: ProjectId,
    /// The member.
    pub user_id: UserId,
    /// The project-wide role.
    pub role: Role,
    /// When it was granted.
    pub created_at: Timestamp,
}

/// What a [`RoleOverride`] applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OverrideTarget {
    /// One group and everything in it.
    Group(GroupId),
    /// One deployment.
    Deployment(DeploymentId),
}

/// A member's different role on one group or one deployment. The most
/// specific grant wins, up or down.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RoleOverride {
    /// Identity.
    pub id: RoleOverrideId,
    /// The project.
    pub project_id: ProjectId,
    /// The member.
    pub user_id: UserId,
    /// Where it applies.
    pub target: OverrideTarget,
    /// The role there.
    pub role: Role,
}

/// An invitation by e-mail to join a project.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Invitation {
    /// Identity.
    pub id: InvitationId,
    /// The project.
    pub project_id: ProjectId,
    /// Who is invited.
    pub email: Email,
    /// The user record of that address (found, or created for an unknown one).
    pub user_id: UserId,
    /// The role offered.
    pub role: Role,
    /// Who invited.
    pub invited_by: UserId,
    /// Pending, accepted or rejected.
    pub state: InvitationState,
    /// When it was sent.
    pub created_at: Timestamp,
    /// When it was answered, revoked or found expired.
    pub decided_at: Option<Timestamp>,
    /// It can no longer be accepted from this instant on. Invitations stored
    /// before expiry existed read as `None` and never expire.
    #[serde(default)]
    pub expires_at: Option<Timestamp>,
}

impl Invitation {
    /// Whether it can no longer be accepted at `now`.
    pub fn expired(&self, now: Timestamp) -> bool {
        self.expires_at.is_some_and(|at| now >= at)
    }
}
