//! [`Action`] and what each one requires.

use std::fmt;

use super::Role;

/// What an action requires, before the owner and blocking rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Requirement {
    /// Any user.
    Anyone,
    /// A platform administrator.
    PlatformAdmin,
    /// At least this role in the project, by the deciding grant.
    Role(Role),
    /// At least the deployment's scope `role_to_admin` (admin where there is no scope).
    RoleToAdmin,
    /// The project owner.
    Owner,
}

macro_rules! actions {
    ($($(#[$doc:meta])* $variant:ident = $name:literal => $req:expr;)*) => {
        /// Everything an actor can ask to do.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Action {
            $($(#[$doc])* $variant,)*
        }

        impl Action {
            /// Every action.
            pub const ALL: &'static [Action] = &[$(Action::$variant),*];

            /// Its stable snake_case name (used in explanations and tables).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Action::$variant => $name,)*
                }
            }

            /// What it requires.
            pub fn requirement(self) -> Requirement {
                match self {
                    $(Action::$variant => $req,)*
                }
            }

            /// The action named `name` (its [`Action::as_str`]).
            pub fn from_name(name: &str) -> Option<Action> {
                match name {
                    $($name => Some(Action::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

use Requirement::{Anyone, Owner, PlatformAdmin, RoleToAdmin};
const USER: Requirement = Requirement::Role(Role::User);
const DEVELOPER: Requirement = Requirement::Role(Role::Developer);
const ADMIN: Requirement = Requirement::Role(Role::Admin);

actions! {
    /// Create a new project (the creator becomes its owner).
    CreateProject = "create_project" => Anyone;
    /// Read global resources: the cluster list (never their connections), global repositories and images.
    ReadGlobal = "read_global" => Anyone;
    /// Register, edit, move through the lifecycle and delete clusters.
    ManageClusters = "manage_clusters" => PlatformAdmin;
    /// Manage global resources (repositories, images tied to no project).
    ManageGlobalResources = "manage_global_resources" => PlatformAdmin;
    /// Read the project.
    ReadProject = "read_project" => USER;
    /// Read a group and its scopes.
    ReadGroup = "read_group" => USER;
    /// Read a deployment and its versions.
    ReadDeployment = "read_deployment" => USER;
    /// Read jobs.
    ReadJobs = "read_jobs" => USER;
    /// Read logs and monitor logs.
    ReadLogs = "read_logs" => USER;
    /// Read backups.
    ReadBackups = "read_backups" => USER;
    /// Create a deployment in a group.
    CreateDeployment = "create_deployment" => DEVELOPER;
    /// Edit a deployment's settings, or move it to another scope.
    EditDeployment = "edit_deployment" => DEVELOPER;
    /// Initialize, deploy or redeploy.
    Deploy = "deploy" => DEVELOPER;
    /// Pause or resume.
    Pause = "pause" => DEVELOPER;
    /// Take a backup.
    Backup = "backup" => DEVELOPER;
    /// Restore a backup.
    Restore = "restore" => DEVELOPER;
    /// Issue pre-signed download URLs for a backup.
    DownloadBackups = "download_backups" => DEVELOPER;
    /// Drop a deployment (the scope must also allow it).
    Drop = "drop" => DEVELOPER;
    /// Manage the project's repositories, branches and images.
    ManageCode = "manage_code" => DEVELOPER;
    /// Create a group.
    CreateGroup = "create_group" => ADMIN;
    /// Edit a group.
    EditGroup = "edit_group" => ADMIN;
    /// Create, edit and delete scopes.
    ManageScopes = "manage_scopes" => ADMIN;
    /// Link clusters to groups, scopes and deployments.
    LinkClusters = "link_clusters" => ADMIN;
    /// Edit project settings (name, slug, domain, primary deployment).
    EditProject = "edit_project" => ADMIN;
    /// Manage datasources (they hold credentials).
    ManageDatasources = "manage_datasources" => ADMIN;
    /// Invite members.
    InviteMember = "invite_member" => ADMIN;
    /// Change a member's role or overrides (not the owner's, not removing an admin).
    ChangeRole = "change_role" => ADMIN;
    /// Remove a member who is not an admin.
    RemoveMember = "remove_member" => ADMIN;
    /// A deployment's admin page.
    DeploymentAdmin = "deployment_admin" => RoleToAdmin;
    /// Edit a deployment's monitors.
    EditMonitors = "edit_monitors" => RoleToAdmin;
    /// The upgrade tab.
    Upgrade = "upgrade" => RoleToAdmin;
    /// Delete a group.
    DeleteGroup = "delete_group" => Owner;
    /// Delete the project.
    DeleteProject = "delete_project" => Owner;
    /// Remove an admin, or lower an admin's role.
    RemoveAdmin = "remove_admin" => Owner;
    /// Transfer ownership.
    TransferOwnership = "transfer_ownership" => Owner;
    /// Block or unblock portal access.
    BlockPortal = "block_portal" => Owner;
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for &a in Action::ALL {
            assert_eq!(Action::from_name(a.as_str()), Some(a));
        }
        assert_eq!(Action::from_name("fly"), None);
    }
}
