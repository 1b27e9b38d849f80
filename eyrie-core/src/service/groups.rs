//! Deployment groups and their scopes.

use crate::permission::Principal;
use std::collections::BTreeSet;

use super::{Eyrie, allow, as_seen, unseen};
use crate::error::{Error, Result};
use crate::ids::{ClusterId, GroupId, ProjectId, ScopeId};
use crate::lifecycle::{ClusterState, LifecycleState};
use crate::model::{
    ClaimSource, Cluster, DataType, Datasource, Deployment, DeploymentGroup, GroupType, Scope, ScopeConfig, Settings,
    User,
};
use crate::permission::{Action, Actor};
use crate::rules::{check_scope_clusters, deployment_clusters};
use crate::storage::{Check, EntityKind, Index, RecordKey, StoreExt, Transaction, Versioned, Write};
use crate::validate::{Name, Slug, ValidationError};

/// What a new group needs: [`NewGroup::new`] and the `with_…` setters.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NewGroup {
    /// Display name.
    pub name: Name,
    /// Slug, unique in the project; derived from the name when `None`.
    pub slug: Option<Slug>,
    /// What its deployments run.
    pub group_type: GroupType,
    /// Its clusters (at least one, none deleted or cancelled).
    pub group_cluster_ids: BTreeSet<ClusterId>,
    /// Defaults for its deployments.
    pub settings: Settings,
}

/// Changes to a group; `None` leaves a field as it is. The type never changes.
/// Start from [`GroupPatch::default`] (changes nothing) and name fields with
/// the `with_…` setters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GroupPatch {
    /// New name.
    pub name: Option<Name>,
    /// New slug.
    pub slug: Option<Slug>,
    /// New cluster links (needs `link_clusters`).
    pub group_cluster_ids: Option<BTreeSet<ClusterId>>,
    /// Changes to its defaults: only the fields (and params) named.
    pub settings: Option<crate::model::SettingsPatch>,
}

/// What a new scope needs: [`NewScope::new`] and [`NewScope::with_config`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NewScope {
    /// Display name.
    pub name: Name,
    /// Code, unique in the group (e.g. `prod`).
    pub code: Slug,
    /// Its configuration.
    pub config: ScopeConfig,
}

/// Changes to a scope; `None` leaves a part as it is. Start from
/// [`ScopePatch::default`] (changes nothing) and name parts with the
/// `with_…` setters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ScopePatch {
    /// New name.
    pub name: Option<Name>,
    /// New code.
    pub code: Option<Slug>,
    /// Changes to its configuration: only the fields named.
    pub config: Option<crate::model::ScopeConfigPatch>,
}

impl NewGroup {
    /// A group of `group_type` named `name` on `group_cluster_ids`, its slug
    /// derived from the name, with no defaults for its deployments.
    pub fn new(name: Name, group_type: GroupType, group_cluster_ids: BTreeSet<ClusterId>) -> Self {
        NewGroup { name, slug: None, group_type, group_cluster_ids, settings: Settings::default() }
    }

    /// With this slug instead of one derived from the name.
    pub fn with_slug(mut self, slug: Slug) -> Self {
        self.slug = Some(slug);
        self
    }

    /// With these defaults for its deployments.
    pub fn with_settings(mut self, settings: Settings) -> Self {
        self.settings = settings;
        self
    }
}

impl GroupPatch {
    /// Renames the group.
    pub fn with_name(mut self, name: Name) -> Self {
        self.name = Some(name);
        self
    }

    /// Changes the slug.
    pub fn with_slug(mut self, slug: Slug) -> Self {
        self.slug = Some(slug);
        self
    }

    /// Replaces the cluster links.
    pub fn with_group_cluster_ids(mut self, ids: BTreeSet<ClusterId>) -> Self {
        self.group_cluster_ids = Some(ids);
        self
    }

    /// Changes the defaults: only what `settings` names.
    pub fn with_settings(mut self, settings: crate::model::SettingsPatch) -> Self {
        self.settings = Some(settings);
        self
    }
}

impl NewScope {
    /// A scope named `name` with `code`, configured as [`ScopeConfig::default`].
    pub fn new(name: Name, code: Slug) -> Self {
        NewScope { name, code, config: ScopeConfig::default() }
    }

    /// With this configuration.
    pub fn with_config(mut self, config: ScopeConfig) -> Self {
        self.config = config;
        self
    }
}

impl ScopePatch {
    /// Renames the scope.
    pub fn with_name(mut self, name: Name) -> Self {
        self.name = Some(name);
        self
    }

    /// Changes the code.
    pub fn with_code(mut self, code: Slug) -> Self {
        self.code = Some(code);
        self
    }

    /// Changes the configuration: only what `config` names.
    pub fn with_config(mut self, config: crate::model::ScopeConfigPatch) -> Self {
        self.config = Some(config);
        self
    }
}

fn scope_key(id: ScopeId) -> RecordKey {
    RecordKey::new(EntityKind::Scope, id.0)
}

impl Eyrie {
    /// Checks that every cluster exists and is usable for linking, and pins them.
    async fn linkable_clusters(&self, ids: &BTreeSet<ClusterId>, tx: Transaction) -> Result<Transaction> {
        if ids.is_empty() {
            return Err(ValidationError::field("group_cluster_ids", "[]", "a group needs at least one cluster").into());
        }
        let mut tx = tx;
        for id in ids {
            let cluster = self.store.fetch::<Cluster>(id.0).await?;
            if matches!(cluster.value.state, ClusterState::Cancel | ClusterState::Delete) {
                return Err(Error::policy(format!(
                    "cluster {} is {} and cannot be linked",
                    cluster.value.slug, cluster.value.state
                )));
            }
            tx = tx.unchanged(&cluster);
        }
        Ok(tx)
    }

    /// Creates a group; the creator gets it added to their favourites.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor, project_id = %project_id), err(level = "debug", Display))]
    pub async fn create_group(&self, actor: Actor, project_id: ProjectId, input: NewGroup) -> Result<DeploymentGroup> {
        let actor = self.identify(actor).await?;
        input.settings.validate()?;
        self.retrying(|| async {
            let access = self.project_access(actor, project_id, None, None).await?;
            allow(actor, Action::CreateGroup, &access.resource())?;
            let group = DeploymentGroup {
                id: GroupId(self.next_id()),
                project_id,
                namespace_uid: access.project.value.namespace_uid,
                name: input.name.clone(),
                slug: input.slug.clone().unwrap_or_else(|| Slug::from_name(input.name.as_str())),
                group_type: input.group_type,
                group_cluster_ids: input.group_cluster_ids.clone(),
                settings: input.settings.clone(),
                state: LifecycleState::Draft,
                created_at: self.now(),
            };
            self.check_settings_refs(&input.settings, project_id).await?;
            let mut tx = self.linkable_clusters(&group.group_cluster_ids, access.pinned()).await?.create(group.clone());
            if let Principal::User { id, .. } = actor {
                let user = self.store.fetch::<User>(id.0).await?;
                let mut updated = user.value.clone();
                updated.favourite_groups.insert(group.id);
                tx = tx.update(&user, updated);
            }
            self.commit(tx, self.audit(actor, Some(project_id), "group.create", group.id)).await?;
            Ok(group)
        })
        .await
    }

    /// Reads a group.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor, id = %id), err(level = "debug", Display))]
    pub async fn get_group(&self, actor: Actor, id: GroupId) -> Result<DeploymentGroup> {
        let actor = self.identify(actor).await?;
        let g = self.group_access(actor, id).await?;
        allow(actor, Action::ReadGroup, &g.resource())?;
        Ok(g.group.value)
    }

    /// The groups of a project.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor, project_id = %project_id), err(level = "debug", Display))]
    pub async fn list_groups(&self, actor: Actor, project_id: ProjectId) -> Result<Vec<DeploymentGroup>> {
        let actor = self.identify(actor).await?;
        let access = self.project_access(actor, project_id, None, None).await?;
        allow(actor, Action::ReadProject, &access.resource())?;
        Ok(self
            .store
            .children::<DeploymentGroup>(Index::ProjectGroups(project_id))
            .await?
            .into_iter()
            .map(|v| v.value)
            .collect())
    }

    /// Edits a group. Changing its clusters needs `link_clusters` and is
    /// refused when a scope or a live deployment still uses a cluster being unlinked.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor, id = %id), err(level = "debug", Display))]
    pub async fn update_group(&self, actor: Actor, id: GroupId, patch: GroupPatch) -> Result<DeploymentGroup> {
        let actor = self.identify(actor).await?;
        self.retrying(|| async {
            let ga = self.group_access(actor, id).await?;
            allow(actor, Action::EditGroup, &ga.resource())?;
            let mut group = ga.group.value.clone();
            let mut tx = ga.access.pinned();
            if let Some(name) = &patch.name {
                group.name = name.clone();
            }
            if let Some(slug) = &patch.slug {
                group.slug = slug.clone();
            }
            if let Some(changes) = &patch.settings {
                let settings = changes.apply(&group.settings);
                settings.validate()?;
                self.check_settings_refs(&settings, group.project_id).await?;
                group.settings = settings;
            }
            if let Some(clusters) = &patch.group_cluster_ids {
                allow(actor, Action::LinkClusters, &ga.resource())?;
                tx = self.linkable_clusters(clusters, tx).await?;
                group.group_cluster_ids = clusters.clone();
                for scope in self.store.children::<Scope>(Index::GroupScopes(id)).await? {
                    check_scope_clusters(&group, &scope.value.deployment_cluster_ids)?;
                    tx = tx.unchanged(&scope);
                    for d in self.store.children::<Deployment>(Index::ScopeLiveDeployments(scope.value.id)).await? {
                        deployment_clusters(&d.value.cluster_ids, &group, &scope.value)?;
                        tx = tx.unchanged(&d);
                    }
                }
            }
            let tx = tx.update(&ga.group, group.clone());
            self.commit(tx, self.audit(actor, Some(group.project_id), "group.update", id)).await?;
            Ok(group)
        })
        .await
    }

    /// Deletes a group with its scopes and overrides (owner only). Refused
    /// while it has a live deployment.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor, id = %id), err(level = "debug", Display))]
    pub async fn delete_group(&self, actor: Actor, id: GroupId) -> Result<()> {
        let actor = self.identify(actor).await?;
        self.retrying(|| async {
            let ga = self.group_access(actor, id).await?;
            allow(actor, Action::DeleteGroup, &ga.resource())?;
            let mut tx = ga.access.pinned();
            let (contents, pins) = self.group_contents(&ga.group).await?;
            tx.checks.extend(pins);
            for s in contents {
                tx.writes.push(Write::Delete(s.record.key(), s.revision));
            }
            tx = self.unfavour(id, tx).await?;
            let tx = tx.delete(&ga.group);
            self.commit(tx, self.audit(actor, Some(ga.group.value.project_id), "group.delete", id)).await
        })
        .await
    }

    /// Checks a scope configuration against its group.
    async fn check_scope_config(
        &self,
        group: &DeploymentGroup,
        this: Option<ScopeId>,
        c: &ScopeConfig,
    ) -> Result<Vec<Check>> {
        c.settings.validate()?;
        check_scope_clusters(group, &c.deployment_cluster_ids)?;
        let mut pins = Vec::new();
        if let Some(from) = c.restore_from_scope {
            let source = self.store.fetch::<Scope>(from.0).await?;
            if source.value.group_id != group.id {
                return Err(unseen(scope_key(from)));
            }
            if Some(from) == this {
                return Err(Error::policy("restore_from_scope must be another scope of the same group"));
            }
            pins.push(Check::Revision(crate::storage::Entity::key(&source.value), source.revision));
        }
        if let Some(ds) = c.backup_dest_datasource {
            let source = self.store.fetch::<Datasource>(ds.0).await?;
            if source.value.project_id != group.project_id {
                return Err(unseen(RecordKey::new(EntityKind::Datasource, ds.0)));
            }
            if source.value.data_type != DataType::S3like {
                return Err(Error::policy("backup_dest_datasource must be an s3like datasource of the project"));
            }
        }
        self.check_settings_refs(&c.settings, group.project_id).await?;
        Ok(pins)
    }

    /// Creates a scope in a group.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor, group_id = %group_id), err(level = "debug", Display))]
    pub async fn create_scope(&self, actor: Actor, group_id: GroupId, input: NewScope) -> Result<Scope> {
        let actor = self.identify(actor).await?;
        self.retrying(|| async {
            let ga = self.group_access(actor, group_id).await?;
            allow(actor, Action::ManageScopes, &ga.resource())?;
            let g = &ga.group.value;
            let pins = self.check_scope_config(g, None, &input.config).await?;
            let id = ScopeId(self.next_id());
            let scope = Scope::new(id, g, input.name.clone(), input.code.clone(), self.now(), input.config.clone());
            let mut tx = ga.access.pinned().unchanged(&ga.group).create(scope.clone());
            let sub = scope.root_subdomain.as_ref();
            tx = self.reclaim(g.project_id, ClaimSource::ScopeSubdomain(id), sub, tx).await?;
            tx.checks.extend(pins);
            self.commit(tx, self.audit(actor, Some(g.project_id), "scope.create", scope.id)).await?;
            Ok(scope)
        })
        .await
    }

    /// The scopes of a group, highest priority first, then by sequence.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor, group_id = %group_id), err(level = "debug", Display))]
    pub async fn list_scopes(&self, actor: Actor, group_id: GroupId) -> Result<Vec<Scope>> {
        let actor = self.identify(actor).await?;
        let ga = self.group_access(actor, group_id).await?;
        allow(actor, Action::ReadGroup, &ga.resource())?;
        let mut scopes: Vec<Scope> =
            self.store.children::<Scope>(Index::GroupScopes(group_id)).await?.into_iter().map(|v| v.value).collect();
        scopes.sort_by_key(|s| (std::cmp::Reverse(s.priority), s.sequence, s.id));
        Ok(scopes)
    }

    /// Edits a scope. A lower `deployment_limit` than its live deployments is
    /// refused, and so are clusters its live deployments still need.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor, id = %id), err(level = "debug", Display))]
    pub async fn update_scope(&self, actor: Actor, id: ScopeId, patch: ScopePatch) -> Result<Scope> {
        let actor = self.identify(actor).await?;
        self.retrying(|| async {
            let scope_v = self.store.fetch::<Scope>(id.0).await?;
            let ga = self.group_access(actor, scope_v.value.group_id).await.map_err(as_seen(scope_key(id)))?;
            allow(actor, Action::ManageScopes, &ga.resource())?;
            let mut scope = scope_v.value.clone();
            let mut tx = ga.access.pinned().unchanged(&ga.group);
            if let Some(name) = &patch.name {
                scope.name = name.clone();
            }
            if let Some(code) = &patch.code {
                scope.code = code.clone();
            }
            if let Some(changes) = &patch.config {
                let config = changes.apply(&scope.config());
                tx.checks.extend(self.check_scope_config(&ga.group.value, Some(id), &config).await?);
                scope = Scope::new(id, &ga.group.value, scope.name, scope.code, scope.created_at, config);
                let live = self.store.children::<Deployment>(Index::ScopeLiveDeployments(id)).await?;
                if let Some(limit) = scope.deployment_limit
                    && live.len() > limit as usize
                {
                    return Err(Error::policy(format!(
                        "scope {} holds {} live deployments, more than the new limit {limit}",
                        scope.code,
                        live.len()
                    )));
                }
                let sub = scope.root_subdomain.as_ref();
                tx = self.reclaim(scope.project_id, ClaimSource::ScopeSubdomain(id), sub, tx).await?;
                for d in &live {
                    deployment_clusters(&d.value.cluster_ids, &ga.group.value, &scope)?;
                    // Timers and the hostname may have changed: keep each deployment current.
                    let mut updated = d.value.clone();
                    updated.timer_due_at = crate::rules::next_timer_at(&d.value, &scope);
                    updated.hostname = crate::effective::hostname(&ga.access.project.value, &scope, &d.value.slug);
                    if updated == d.value {
                        tx = tx.unchanged(d);
                    } else {
                        tx = tx.update(d, updated);
                    }
                }
            }
            let tx = tx.update(&scope_v, scope.clone());
            self.commit(tx, self.audit(actor, Some(scope.project_id), "scope.update", id)).await?;
            Ok(scope)
        })
        .await
    }

    /// Deletes a scope. Refused while it holds a live deployment or another
    /// scope restores from it.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor, id = %id), err(level = "debug", Display))]
    pub async fn delete_scope(&self, actor: Actor, id: ScopeId) -> Result<()> {
        let actor = self.identify(actor).await?;
        self.retrying(|| async {
            let scope = self.store.fetch::<Scope>(id.0).await?;
            let ga = self.group_access(actor, scope.value.group_id).await.map_err(as_seen(scope_key(id)))?;
            allow(actor, Action::ManageScopes, &ga.resource())?;
            let mut tx = ga.access.pinned();
            for other in self.store.children::<Scope>(Index::GroupScopes(scope.value.group_id)).await? {
                if other.value.restore_from_scope == Some(id) {
                    return Err(Error::policy(format!("scope {} restores from this scope", other.value.code)));
                }
                tx = tx.unchanged(&other);
            }
            tx = tx.check(Check::CountBelow {
                index: Index::ScopeLiveDeployments(id),
                limit: 1,
                message: format!("scope {} still holds live deployments", scope.value.code),
            });
            tx = self.release_claims(scope.value.project_id, |s| *s == ClaimSource::ScopeSubdomain(id), tx).await?;
            let tx = tx.delete(&scope);
            self.commit(tx, self.audit(actor, Some(scope.value.project_id), "scope.delete", id)).await
        })
        .await
    }

    /// Reads a scope.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor, id = %id), err(level = "debug", Display))]
    pub async fn get_scope(&self, actor: Actor, id: ScopeId) -> Result<Versioned<Scope>> {
        let actor = self.identify(actor).await?;
        let scope = self.store.fetch::<Scope>(id.0).await?;
        let ga = self.group_access(actor, scope.value.group_id).await.map_err(as_seen(scope_key(id)))?;
        allow(actor, Action::ReadGroup, &ga.resource())?;
        Ok(scope)
    }
}
