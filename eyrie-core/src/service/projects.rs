//! Projects: create (with the namespace and the owner's membership), read,
//! edit, transfer ownership, block the portal, delete.

use crate::permission::Principal;
use std::collections::{BTreeMap, BTreeSet};

use super::{Eyrie, allow};
use crate::error::{Error, Result};
use crate::ids::{DeploymentId, MembershipId, MonitorId, NamespaceUid, ProjectId, RepositoryId, UserId};
use crate::model::{
    AuditEvent, ClaimSource, Deployment, DeploymentGroup, Membership, Namespace, OverrideTarget, Project, User,
};
use crate::permission::{Action, Actor, Resource, Role};
use crate::storage::{
    Check, Entity, EntityKind, Index, Record, RecordKey, StoreExt, Stored, Transaction, UniqueKey, Versioned, Write,
};
use crate::validate::{DomainName, Name, Slug};

/// What a new project needs: [`NewProject::new`] and the `with_…` setters.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NewProject {
    /// Display name.
    pub name: Name,
    /// Slug; derived from the name when `None`.
    pub slug: Option<Slug>,
    /// Base domain for hostnames.
    pub domain: Option<DomainName>,
}

/// Changes to a project; `None` leaves a field as it is. Start from
/// [`ProjectPatch::default`] (changes nothing) and name fields with the
/// `with_…` setters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProjectPatch {
    /// New name.
    pub name: Option<Name>,
    /// New slug (nothing on any cluster is named from it).
    pub slug: Option<Slug>,
    /// New domain, or `Some(None)` to clear it.
    pub domain: Option<Option<DomainName>>,
    /// New primary deployment (must be a live deployment of this project), or `Some(None)` to clear it.
    pub primary_deployment: Option<Option<DeploymentId>>,
}

impl NewProject {
    /// A project named `name`, its slug derived from the name, no domain.
    pub fn new(name: Name) -> Self {
        NewProject { name, slug: None, domain: None }
    }

    /// With this slug instead of one derived from the name.
    pub fn with_slug(mut self, slug: Slug) -> Self {
        self.slug = Some(slug);
        self
    }

    /// With this base domain for hostnames.
    pub fn with_domain(mut self, domain: DomainName) -> Self {
        self.domain = Some(domain);
        self
    }
}

impl ProjectPatch {
    /// Renames the project.
    pub fn with_name(mut self, name: Name) -> Self {
        self.name = Some(name);
        self
    }

    /// Changes the slug.
    pub fn with_slug(mut self, slug: Slug) -> Self {
        self.slug = Some(slug);
        self
    }

    /// Sets the domain (`Some`) or clears it (`None`).
    pub fn with_domain(mut self, domain: Option<DomainName>) -> Self {
        self.domain = Some(domain);
        self
    }

    /// Sets the primary deployment (`Some`) or clears it (`None`).
    pub fn with_primary_deployment(mut self, deployment: Option<DeploymentId>) -> Self {
        self.primary_deployment = Some(deployment);
        self
    }
}

fn user_of(actor: Principal) -> Result<UserId> {
    match actor {
        Principal::User { id, .. } => Ok(id),
        Principal::System => Err(Error::policy("this operation needs a user actor")),
    }
}

impl Eyrie {
    /// Creates a project owned by `actor`, with its namespace and the owner's
    /// admin membership, atomically. Fails with `AlreadyExists` when the slug is taken.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor), err(level = "debug", Display))]
    pub async fn create_project(&self, actor: Actor, input: NewProject) -> Result<Project> {
        let actor = self.identify(actor).await?;
        allow(actor, Action::CreateProject, &Resource::Global)?;
        let owner = user_of(actor)?;
        self.store.fetch::<User>(owner.0).await?;
        let now = self.now();
        let project = Project {
            id: ProjectId(self.next_id()),
            slug: input.slug.unwrap_or_else(|| Slug::from_name(input.name.as_str())),
            name: input.name,
            owner,
            domain: input.domain,
            primary_deployment: None,
            portal_blocked: false,
            namespace_uid: NamespaceUid(self.next_id()),
            created_at: now,
        };
        let namespace = Namespace { uid: project.namespace_uid, project_id: project.id, created_at: now };
        let membership = Membership {
            id: MembershipId(self.next_id()),
            project_id: project.id,
            user_id: owner,
            role: Role::Admin,
            created_at: now,
        };
        self.retrying(|| async {
            let tx = Transaction::new().create(project.clone()).create(namespace.clone()).create(membership.clone());
            let tx = self.reclaim(project.id, ClaimSource::ProjectDomain, project.domain.as_ref(), tx).await?;
            self.commit(tx, self.audit(actor, Some(project.id), "project.create", project.id)).await
        })
        .await?;
        Ok(project)
    }

    /// Reads a project.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor, id = %id), err(level = "debug", Display))]
    pub async fn get_project(&self, actor: Actor, id: ProjectId) -> Result<Project> {
        let actor = self.identify(actor).await?;
        self.project_as(actor, id).await
    }

    async fn project_as(&self, actor: Principal, id: ProjectId) -> Result<Project> {
        let access = self.project_access(actor, id, None, None).await?;
        allow(actor, Action::ReadProject, &access.resource())?;
        Ok(access.project.value)
    }

    /// The projects `actor` may read, through their memberships.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor), err(level = "debug", Display))]
    pub async fn list_projects(&self, actor: Actor) -> Result<Vec<Project>> {
        let actor = self.identify(actor).await?;
        let user = user_of(actor)?;
        let mut out = Vec::new();
        for m in self.store.children::<Membership>(Index::UserMemberships(user)).await? {
            if let Ok(p) = self.project_as(actor, m.value.project_id).await {
                out.push(p);
            }
        }
        Ok(out)
    }

    /// Finds a project by slug (authorized like [`Eyrie::get_project`]).
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor), err(level = "debug", Display))]
    pub async fn find_project(&self, actor: Actor, slug: &Slug) -> Result<Option<Project>> {
        let actor = self.identify(actor).await?;
        match self.store.find_unique::<Project>(&UniqueKey::ProjectSlug(slug.to_string())).await? {
            // A stranger gets `None`, as for a slug nobody holds.
            Some(p) => match self.project_as(actor, p.value.id).await {
                Ok(project) => Ok(Some(project)),
                Err(Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            },
            None => Ok(None),
        }
    }

    /// Edits name, slug, domain or primary deployment.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor, id = %id), err(level = "debug", Display))]
    pub async fn update_project(&self, actor: Actor, id: ProjectId, patch: ProjectPatch) -> Result<Project> {
        let actor = self.identify(actor).await?;
        self.retrying(|| async {
            let access = self.project_access(actor, id, None, None).await?;
            allow(actor, Action::EditProject, &access.resource())?;
            let mut project = access.project.value.clone();
            let mut tx = access.pinned();
            if let Some(name) = &patch.name {
                project.name = name.clone();
            }
            if let Some(slug) = &patch.slug {
                project.slug = slug.clone();
            }
            if let Some(domain) = &patch.domain
                && *domain != project.domain
            {
                project.domain = domain.clone();
                tx = self.reclaim(id, ClaimSource::ProjectDomain, domain.as_ref(), tx).await?;
                let scopes: Vec<_> = self.project_scopes(id).await?.into_iter().map(|s| s.value).collect();
                tx = self.rehost(&project, &scopes, tx).await?;
            }
            if let Some(primary) = patch.primary_deployment {
                if let Some(dep_id) = primary {
                    let d = self.store.fetch::<Deployment>(dep_id.0).await?;
                    if d.value.project_id != id || !d.value.state.is_live() {
                        return Err(Error::policy("the primary deployment must be a live deployment of this project"));
                    }
                    tx = tx.unchanged(&d);
                }
                project.primary_deployment = primary;
            }
            let tx = tx.update(&access.project, project.clone());
            self.commit(tx, self.audit(actor, Some(id), "project.update", id)).await?;
            Ok(project)
        })
        .await
    }

    /// Makes `new_owner` (a member) the owner; their membership becomes admin.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor, id = %id, new_owner = %new_owner), err(level = "debug", Display))]
    pub async fn transfer_ownership(&self, actor: Actor, id: ProjectId, new_owner: UserId) -> Result<Project> {
        let actor = self.identify(actor).await?;
        self.retrying(|| async {
            let access = self.project_access(actor, id, None, None).await?;
            allow(actor, Action::TransferOwnership, &access.resource())?;
            let member = self
                .store
                .find_unique::<Membership>(&UniqueKey::Membership(id, new_owner))
                .await?
                .ok_or_else(|| Error::policy(format!("{new_owner} is not a member of the project")))?;
            let mut project = access.project.value.clone();
            project.owner = new_owner;
            let mut promoted = member.value.clone();
            promoted.role = Role::Admin;
            let tx = access.pinned().update(&access.project, project.clone()).update(&member, promoted);
            self.commit(tx, self.audit(actor, Some(id), "project.transfer_ownership", new_owner)).await?;
            Ok(project)
        })
        .await
    }

    /// Blocks or unblocks portal access for everyone but the owner.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor, id = %id), err(level = "debug", Display))]
    pub async fn set_portal_blocked(&self, actor: Actor, id: ProjectId, blocked: bool) -> Result<Project> {
        let actor = self.identify(actor).await?;
        self.retrying(|| async {
            let access = self.project_access(actor, id, None, None).await?;
            allow(actor, Action::BlockPortal, &access.resource())?;
            let mut project = access.project.value.clone();
            project.portal_blocked = blocked;
            let action = if blocked { "project.block_portal" } else { "project.unblock_portal" };
            self.commit(
                access.pinned().update(&access.project, project.clone()),
                self.audit(actor, Some(id), action, id),
            )
            .await?;
            Ok(project)
        })
        .await
    }

    /// Deletes the project and everything it owns except its audit events.
    /// Refused while any of its deployments is live.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor, id = %id), err(level = "debug", Display))]
    pub async fn delete_project(&self, actor: Actor, id: ProjectId) -> Result<()> {
        let actor = self.identify(actor).await?;
        self.retrying(|| async {
            let access = self.project_access(actor, id, None, None).await?;
            allow(actor, Action::DeleteProject, &access.resource())?;
            let mut doomed: BTreeMap<RecordKey, Stored> = BTreeMap::new();
            let mut add = |items: Vec<Stored>| {
                for s in items {
                    doomed.insert(s.record.key(), s);
                }
            };
            let mut pins = vec![Check::Count {
                index: Index::ProjectGroups(id),
                count: self.store.count(Index::ProjectGroups(id)).await?,
            }];
            for group in self.store.children::<DeploymentGroup>(Index::ProjectGroups(id)).await? {
                let (contents, group_pins) = self.group_contents(&group).await?;
                add(contents);
                pins.extend(group_pins);
                add(vec![stored(group)]);
            }
            for index in [
                Index::ProjectMembers(id),
                Index::ProjectOverrides(id),
                Index::ProjectInvitations(id),
                Index::ProjectDatasources(id),
                Index::ProjectImages(id),
                Index::ProjectClaims(id),
            ] {
                add(self.store.list(index).await?);
            }
            for repo in self.store.list(Index::ProjectRepositories(id)).await? {
                add(self.store.list(Index::RepositoryBranches(RepositoryId(repo.record.key().id))).await?);
                add(vec![repo]);
            }
            let namespace = RecordKey::new(EntityKind::Namespace, access.project.value.namespace_uid.0);
            add(self.store.get(namespace).await?.into_iter().collect());
            self.delete_backup_objects(doomed.values()).await?;
            let mut tx = access.pinned();
            tx.checks.extend(pins);
            for group in self.store.children::<DeploymentGroup>(Index::ProjectGroups(id)).await? {
                tx = self.unfavour(group.value.id, tx).await?;
            }
            for s in doomed.values() {
                tx.writes.push(Write::Delete(s.record.key(), s.revision));
            }
            tx.writes.push(Write::Delete(access.project.value.key(), access.project.revision));
            self.commit(tx, self.audit(actor, Some(id), "project.delete", id)).await
        })
        .await
    }

    /// Deletes, from their buckets, every object of the deployments among
    /// `doomed` that still have a backup not `expired`: the whole deployment
    /// prefix `<ns uid>/<deployment id>/`, so that a tool's shared
    /// repository (pgBackRest) goes too. Refused (nothing deleted) when such
    /// backups exist and this service has no bucket client. Runs before the
    /// records are deleted, so a failure leaves the project whole; deleting
    /// again after a failure or a conflict is harmless.
    async fn delete_backup_objects<'a>(&self, doomed: impl Iterator<Item = &'a Stored>) -> Result<()> {
        let mut deployments = BTreeMap::new();
        let mut targets: BTreeSet<(DeploymentId, crate::ids::DatasourceId)> = BTreeSet::new();
        for s in doomed {
            match &s.record {
                crate::storage::Record::Deployment(d) => {
                    deployments.insert(d.id, d.clone());
                }
                crate::storage::Record::Backup(b) if b.state != crate::model::BackupState::Expired => {
                    if let Some(ds) = b.datasource_id {
                        targets.insert((b.deployment_id, ds));
                    }
                }
                _ => {}
            }
        }
        if targets.is_empty() {
            return Ok(());
        }
        let objects = self.backup_objects().map_err(|_| {
            Error::policy(format!(
                "the project has {} deployment(s) with backups in a bucket, and this service has no bucket \
                 client to delete them (Eyrie::with_backup_objects)",
                targets.len()
            ))
        })?;
        for (deployment, ds) in targets {
            let Some(d) = deployments.get(&deployment) else { continue };
            let storage = self.object_storage(ds).await?;
            let prefix = super::backups::deployment_prefix(d);
            let deleted = objects.delete_prefix(&storage, &prefix).await?;
            tracing::info!(deployment = %deployment, deleted, "backup objects deleted with the project");
        }
        Ok(())
    }

    /// Everything a group owns (scopes, overrides on it, its deployments'
    /// tombstones and their records). Refuses when a deployment is live.
    pub(crate) async fn group_contents(&self, group: &Versioned<DeploymentGroup>) -> Result<(Vec<Stored>, Vec<Check>)> {
        let g = &group.value;
        let mut out = Vec::new();
        let deployments = Index::GroupDeployments(g.id);
        let pins = vec![
            Check::Count { index: deployments, count: self.store.count(deployments).await? },
            Check::Count { index: Index::GroupScopes(g.id), count: self.store.count(Index::GroupScopes(g.id)).await? },
        ];
        let mut members = BTreeSet::from([OverrideTarget::Group(g.id)]);
        for d in self.store.children::<Deployment>(Index::GroupDeployments(g.id)).await? {
            if d.value.state.is_live() {
                return Err(Error::policy(format!(
                    "group {} still has the live deployment {}; drop it first",
                    g.slug, d.value.slug
                )));
            }
            for index in [
                Index::DeploymentVersions(d.value.id),
                Index::DeploymentBackups(d.value.id),
                Index::DeploymentSchedules(d.value.id),
                Index::DeploymentJobs(d.value.id),
            ] {
                out.extend(self.store.list(index).await?);
            }
            for m in self.store.list(Index::DeploymentMonitors(d.value.id)).await? {
                out.extend(self.store.list(Index::MonitorLogs(MonitorId(m.record.key().id))).await?);
                out.push(m);
            }
            members.insert(OverrideTarget::Deployment(d.value.id));
            out.push(stored(d));
        }
        let scopes = self.store.list(Index::GroupScopes(g.id)).await?;
        let scope_ids: BTreeSet<u64> = scopes.iter().map(|s| s.record.key().id).collect();
        out.extend(scopes);
        for c in self.store.list(Index::ProjectClaims(g.project_id)).await? {
            if let Record::HostClaim(claim) = &c.record
                && let ClaimSource::ScopeSubdomain(s) = claim.source
                && scope_ids.contains(&s.0)
            {
                out.push(c);
            }
        }
        for o in self.store.list(Index::ProjectOverrides(g.project_id)).await? {
            if let Record::RoleOverride(ov) = &o.record
                && members.contains(&ov.target)
            {
                out.push(o);
            }
        }
        Ok((out, pins))
    }

    /// The audit events of a project, oldest first.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor, id = %id), err(level = "debug", Display))]
    pub async fn list_audit(&self, actor: Actor, id: ProjectId) -> Result<Vec<AuditEvent>> {
        let actor = self.identify(actor).await?;
        let access = self.project_access(actor, id, None, None).await?;
        allow(actor, Action::ReadLogs, &access.resource())?;
        let mut events: Vec<AuditEvent> =
            self.store.children::<AuditEvent>(Index::ProjectAudit(id)).await?.into_iter().map(|v| v.value).collect();
        events.sort_by_key(|e| (e.at, e.id));
        Ok(events)
    }
}

impl Eyrie {
    /// Adds to `tx` the removal of `group` from every user's favourites.
    pub(crate) async fn unfavour(&self, group: crate::ids::GroupId, mut tx: Transaction) -> Result<Transaction> {
        for user in self.store.children::<User>(Index::FavouredBy(group)).await? {
            let mut updated = user.value.clone();
            updated.favourite_groups.remove(&group);
            tx = tx.update(&user, updated);
        }
        Ok(tx)
    }
}

/// A typed record back as a [`Stored`].
pub(crate) fn stored<T: Entity>(v: Versioned<T>) -> Stored {
    Stored { revision: v.revision, record: v.value.into_record() }
}
