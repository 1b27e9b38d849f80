//! Reading what authorization needs: the project, the actor's grants and,
//! for deployments, the scope's `role_to_admin`; and the checks that pin
//! them for the transaction that follows.

use super::Eyrie;
use crate::error::{Error, Result};
use crate::ids::{DeploymentId, GroupId, ProjectId};
use crate::model::{Deployment, DeploymentGroup, Membership, OverrideTarget, Project, RoleOverride, Scope};
use crate::permission::Principal;
use crate::permission::{Actor, Grants, ProjectFacts, Resource, Role};
use crate::storage::{Check, Entity, EntityKind, RecordKey, Snapshot, SnapshotExt, Transaction, UniqueKey, Versioned};

/// The answer someone gets about a record they may not know of: exactly
/// the `NotFound` a missing record gives, so that an id that exists and one
/// that does not are answered alike.
pub(crate) fn unseen(key: RecordKey) -> Error {
    Error::NotFound { entity: key.kind.name(), id: key.id_text() }
}

/// For calls that name one record and reach its project through another:
/// a `NotFound` on the way becomes the answer about the named record.
pub(crate) fn as_seen(key: RecordKey) -> impl FnOnce(Error) -> Error {
    move |e| if matches!(e, Error::NotFound { .. }) { unseen(key) } else { e }
}

/// A project, the actor's grants in it, and the checks that pin them.
#[derive(Debug, Clone)]
pub(crate) struct ProjectAccess {
    pub(crate) project: Versioned<Project>,
    pub(crate) grants: Grants,

    pins: Vec<Check>,
}

impl ProjectAccess {
    pub(crate) fn facts(&self) -> ProjectFacts {
        let p = &self.project.value;
        ProjectFacts { id: p.id, owner: p.owner, portal_blocked: p.portal_blocked }
    }

    /// The project as a resource.
    pub(crate) fn resource(&self) -> Resource {
        Resource::Project {
            project: self.facts(),
            grants: Grants { project: self.grants.project, ..Grants::default() },
        }
    }

    /// A group of the project as a resource.
    pub(crate) fn group_resource(&self, group: GroupId) -> Resource {
        let grants = Grants { deployment: None, ..self.grants };
        Resource::Group { project: self.facts(), group, grants }
    }

    /// A deployment of the project as a resource under `role_to_admin`.
    pub(crate) fn deployment_resource(&self, deployment: &Deployment, role_to_admin: Role) -> Resource {
        Resource::Deployment {
            project: self.facts(),
            group: deployment.group_id,
            deployment: deployment.id,
            role_to_admin,
            grants: self.grants,
        }
    }

    /// A transaction that fails if the project or the grants changed since read.
    pub(crate) fn pinned(&self) -> Transaction {
        let mut tx = Transaction::new();
        tx.checks.extend(self.pins.iter().cloned());
        tx
    }
}

/// A group with its project access.
#[derive(Debug, Clone)]
pub(crate) struct GroupAccess {
    pub(crate) access: ProjectAccess,
    pub(crate) group: Versioned<DeploymentGroup>,
}

impl GroupAccess {
    pub(crate) fn resource(&self) -> Resource {
        self.access.group_resource(self.group.value.id)
    }
}

/// A deployment with its scope, group and project access.
#[derive(Debug, Clone)]
pub(crate) struct DeploymentAccess {
    pub(crate) access: ProjectAccess,
    pub(crate) group: Versioned<DeploymentGroup>,
    pub(crate) scope: Versioned<Scope>,
    pub(crate) deployment: Versioned<Deployment>,
}

impl DeploymentAccess {
    pub(crate) fn resource(&self) -> Resource {
        self.access.deployment_resource(&self.deployment.value, self.scope.value.role_to_admin)
    }
}

impl Eyrie {
    /// Explains whether `actor` may do `action` on a deployment, and which
    /// grant or rule decides (SPEC §4). Reads only what the decision needs.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor, id = %id), err(level = "debug", Display))]
    pub async fn explain_on_deployment(
        &self,
        actor: Actor,
        action: crate::Action,
        id: DeploymentId,
    ) -> Result<crate::Decision> {
        let actor = self.identify(actor).await?;
        let da = self.deployment_access(actor, id).await?;
        Ok(crate::permission::explain(actor, action, &da.resource()))
    }

    /// Explains whether `actor` may do `action` on a project as a whole.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor, id = %id), err(level = "debug", Display))]
    pub async fn explain_on_project(
        &self,
        actor: Actor,
        action: crate::Action,
        id: ProjectId,
    ) -> Result<crate::Decision> {
        let actor = self.identify(actor).await?;
        let access = self.project_access(actor, id, None, None).await?;
        Ok(crate::permission::explain(actor, action, &access.resource()))
    }

    /// Reads the project and the actor's grants (project, and group/deployment
    /// overrides when given), all from one snapshot of the store.
    pub(crate) async fn project_access(
        &self,
        actor: Principal,
        project_id: ProjectId,
        group: Option<GroupId>,
        deployment: Option<DeploymentId>,
    ) -> Result<ProjectAccess> {
        let snapshot = self.store.snapshot().await?;
        project_access_in(&*snapshot, actor, project_id, group, deployment).await
    }

    /// Reads a group and the actor's access to it, from one snapshot.
    pub(crate) async fn group_access(&self, actor: Principal, group_id: GroupId) -> Result<GroupAccess> {
        let snapshot = self.store.snapshot().await?;
        let group = snapshot.fetch::<DeploymentGroup>(group_id.0).await?;
        let access = project_access_in(&*snapshot, actor, group.value.project_id, Some(group_id), None).await?;
        Ok(GroupAccess { access, group })
    }

    /// Reads a deployment, its scope and group, and the actor's access to it,
    /// from one snapshot: no commit between two of these reads can make the
    /// decision rest on records that never existed together.
    pub(crate) async fn deployment_access(
        &self,
        actor: Principal,
        deployment_id: DeploymentId,
    ) -> Result<DeploymentAccess> {
        let snapshot = self.store.snapshot().await?;
        let deployment = snapshot.fetch::<Deployment>(deployment_id.0).await?;
        let d = &deployment.value;
        let group = snapshot.fetch::<DeploymentGroup>(d.group_id.0).await?;
        let scope = snapshot.fetch::<Scope>(d.scope_id.0).await?;
        if scope.value.group_id != group.value.id || group.value.project_id != d.project_id {
            return Err(Error::Corrupt {
                record: d.id.to_string(),
                reason: "deployment, scope and group do not belong together".into(),
            });
        }
        let access = project_access_in(&*snapshot, actor, d.project_id, Some(d.group_id), Some(d.id)).await?;
        Ok(DeploymentAccess { access, group, scope, deployment })
    }
}

/// [`Eyrie::project_access`] within an open snapshot. The snapshot is
/// dropped by the caller before any commit (on sled, an open snapshot holds
/// commits back).
async fn project_access_in(
    snapshot: &dyn Snapshot,
    actor: Principal,
    project_id: ProjectId,
    group: Option<GroupId>,
    deployment: Option<DeploymentId>,
) -> Result<ProjectAccess> {
    let named = match (deployment, group) {
        (Some(d), _) => RecordKey::new(EntityKind::Deployment, d.0),
        (None, Some(g)) => RecordKey::new(EntityKind::Group, g.0),
        (None, None) => RecordKey::new(EntityKind::Project, project_id.0),
    };
    let project = snapshot.find::<Project>(project_id.0).await?.ok_or_else(|| unseen(named))?;
    let mut pins = vec![Check::Revision(project.value.key(), project.revision)];
    let mut grants = Grants::default();
    if let Principal::User { id, .. } = actor {
        let membership = snapshot.find_unique::<Membership>(&UniqueKey::Membership(project_id, id)).await?;
        match &membership {
            Some(m) => {
                grants.project = Some(m.value.role);
                pins.push(Check::Revision(m.value.key(), m.revision));
            }
            // A stranger learns nothing, not even that the record exists.
            None if project.value.owner != id => return Err(unseen(named)),
            None => {}
        }
        let targets = group.map(OverrideTarget::Group).into_iter().chain(deployment.map(OverrideTarget::Deployment));
        for target in targets {
            let found = snapshot.find_unique::<RoleOverride>(&UniqueKey::Override(id, target)).await?;
            if let Some(o) = found {
                match target {
                    OverrideTarget::Group(_) => grants.group = Some(o.value.role),
                    OverrideTarget::Deployment(_) => grants.deployment = Some(o.value.role),
                }
                pins.push(Check::Revision(o.value.key(), o.revision));
            }
        }
    }
    Ok(ProjectAccess { project, grants, pins })
}
