//! Who may do what: [`Role`], [`Action`], [`Actor`], the resource snapshot
//! ([`Resource`]) and one pure function, [`explain`], with [`authorize`] on top.
//! The caller names an [`Actor`]; the service resolves it to a [`Principal`]
//! from the store before anything is decided.
//!
//! # The rules, in the order they are applied
//!
//! 1. The [`Principal::System`] (scheduler, job engine) is allowed everything.
//! 2. Actions anyone may take ([`Action::CreateProject`], [`Action::ReadGlobal`])
//!    are allowed to every user.
//! 3. Cluster management, and every action on a global resource (a resource
//!    outside any project, such as a repository tied to no project), needs a
//!    platform administrator. Being a platform administrator grants **nothing**
//!    inside a tenant's project: like anyone else, they need a membership there.
//! 4. The project owner is allowed everything in the project, whatever the
//!    overrides say and even while portal access is blocked.
//! 5. Without a membership in the project the actor is refused, whatever
//!    overrides exist: overrides refine a member's role, they do not make a
//!    member. This comes before the portal rule, so that a stranger learns
//!    nothing about the project (the service answers them as if it did not
//!    exist).
//! 6. While the project's portal is blocked, every member but the owner is refused.
//! 7. Owner-only actions (delete a group or the project, remove an admin,
//!    transfer ownership, block or unblock the portal) are refused to everyone else.
//! 8. Otherwise the most specific grant that covers the resource decides —
//!    the deployment override, else the group override, else the project
//!    membership — up or down. It must reach the action's minimum role; for
//!    deployment admin actions ([`Action::DeploymentAdmin`], [`Action::EditMonitors`],
//!    [`Action::Upgrade`]) the minimum is the scope's `role_to_admin`.
//!
//! Whether a scope allows drops is a scope rule, not a permission: see
//! [`crate::rules::check_drop_allowed`].

mod action;
mod decide;

pub use action::{Action, Requirement};
pub use decide::{Decision, Denied, Rule, authorize, explain};

use std::fmt;

use crate::ids::{DeploymentId, GroupId, ProjectId, UserId};

/// A member's role, ordered `User < Developer < Admin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads the project, its groups, deployments, jobs, logs and backups.
    User,
    /// Also creates, edits, deploys, pauses, backs up, restores and drops deployments.
    Developer,
    /// Also manages groups, scopes, clusters links, project settings and members.
    Admin,
}

impl Role {
    /// Every role, lowest first.
    pub const ALL: [Role; 3] = [Role::User, Role::Developer, Role::Admin];

    /// The platform's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Developer => "developer",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who asks, as the embedding program names them: a user id from its own
/// authentication, or the system itself.
///
/// An `Actor` carries no privilege. Every service call looks the user up in
/// the store (see [`crate::Eyrie::actor`]) and decides from the stored record:
/// whether they are a platform administrator is never the caller's word, and
/// an id that was never registered is refused everything.
/// [`Actor::System`] is the embedding program's own authority (bootstrapping
/// users, the scheduler, the job engine); never hand it to a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Actor {
    /// A person, by id.
    User {
        /// Their id.
        id: UserId,
    },
    /// Eyrie itself, or the embedding program acting as the platform.
    System,
}

impl Actor {
    /// The user with this id.
    pub fn user(id: UserId) -> Actor {
        Actor::User { id }
    }

    /// How records name this actor.
    pub fn reference(self) -> crate::model::ActorRef {
        match self {
            Actor::User { id } => crate::model::ActorRef::User(id),
            Actor::System => crate::model::ActorRef::System,
        }
    }
}

/// Who asks, as the store knows them: the input of [`explain`] and
/// [`authorize`]. The service builds it from the stored user record; its
/// public calls take an [`Actor`], never a `Principal`, so no caller can
/// claim a flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Principal {
    /// A registered person.
    User {
        /// Their id.
        id: UserId,
        /// Whether the stored record makes them a platform administrator.
        platform_admin: bool,
    },
    /// Eyrie itself.
    System,
}

impl Principal {
    /// A user who is not a platform administrator.
    pub fn user(id: UserId) -> Principal {
        Principal::User { id, platform_admin: false }
    }

    /// How records name this principal.
    pub fn reference(self) -> crate::model::ActorRef {
        match self {
            Principal::User { id, .. } => crate::model::ActorRef::User(id),
            Principal::System => crate::model::ActorRef::System,
        }
    }

    /// The user's id, unless this is the system.
    pub fn user_id(self) -> Option<UserId> {
        match self {
            Principal::User { id, .. } => Some(id),
            Principal::System => None,
        }
    }
}

/// The level a grant was given at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GrantLevel {
    /// The project membership.
    Project,
    /// A group override.
    Group,
    /// A deployment override.
    Deployment,
}

impl fmt::Display for GrantLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GrantLevel::Project => "project",
            GrantLevel::Group => "group",
            GrantLevel::Deployment => "deployment",
        })
    }
}

/// The actor's grants in one project, as far as they cover the resource.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Grants {
    /// The project membership's role.
    pub project: Option<Role>,
    /// The override on the resource's group.
    pub group: Option<Role>,
    /// The override on the resource's deployment.
    pub deployment: Option<Role>,
}

/// What authorization needs to know about a project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProjectFacts {
    /// The project.
    pub id: ProjectId,
    /// Its owner.
    pub owner: UserId,
    /// Whether portal access is blocked.
    pub portal_blocked: bool,
}

/// A snapshot of the resource an action targets, with the actor's grants on
/// it. The service builds it from the store; [`explain`] only reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resource {
    /// Something outside every project: clusters, global repositories and images.
    Global,
    /// A project as a whole.
    Project {
        /// The project.
        project: ProjectFacts,
        /// The actor's grants (only `project` applies).
        grants: Grants,
    },
    /// A group (or something inside it that is not a deployment, such as a scope).
    Group {
        /// The project.
        project: ProjectFacts,
        /// The group.
        group: GroupId,
        /// The actor's grants (`project` and `group` apply).
        grants: Grants,
    },
    /// A deployment (or something of it: monitors, backups, jobs).
    Deployment {
        /// The project.
        project: ProjectFacts,
        /// Its group.
        group: GroupId,
        /// The deployment.
        deployment: DeploymentId,
        /// Its scope's `role_to_admin`.
        role_to_admin: Role,
        /// The actor's grants (all three apply).
        grants: Grants,
    },
}

impl Resource {
    /// The project, unless the resource is global.
    pub fn project(&self) -> Option<&ProjectFacts> {
        match self {
            Resource::Global => None,
            Resource::Project { project, .. }
            | Resource::Group { project, .. }
            | Resource::Deployment { project, .. } => Some(project),
        }
    }

    /// The most specific grant that covers this resource, with its level.
    pub fn deciding_grant(&self) -> Option<(GrantLevel, Role)> {
        let (grants, levels): (&Grants, &[GrantLevel]) = match self {
            Resource::Global => return None,
            Resource::Project { grants, .. } => (grants, &[GrantLevel::Project]),
            Resource::Group { grants, .. } => (grants, &[GrantLevel::Group, GrantLevel::Project]),
            Resource::Deployment { grants, .. } => {
                (grants, &[GrantLevel::Deployment, GrantLevel::Group, GrantLevel::Project])
            }
        };
        levels.iter().find_map(|&level| {
            let role = match level {
                GrantLevel::Deployment => grants.deployment,
                GrantLevel::Group => grants.group,
                GrantLevel::Project => grants.project,
            };
            role.map(|r| (level, r))
        })
    }
}
