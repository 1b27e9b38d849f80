//! Deployments: create (scope, cluster and limit checks), read, the
//! effective view, edit (with version records), move between scopes.

use crate::permission::Principal;
use std::collections::BTreeSet;

use super::{Eyrie, allow, unseen};
use crate::effective::EffectiveDeployment;
use crate::error::{Error, Result};
use crate::executor::DesiredDeployment;
use crate::ids::{ClusterId, DeploymentId, GroupId, ScopeId, VersionId};
use crate::lifecycle::LifecycleState;
use crate::model::{
    Deployment, DeploymentGroup, DeploymentVersion, Image, Project, Scope, Settings, VersionChange, VersionField,
};
use crate::permission::{Action, Actor};
use crate::rules::{ScopeMove, check_scope_move, deployment_clusters};
use crate::storage::{Check, EntityKind, Index, RecordKey, StoreExt, Versioned};
use crate::validate::{Name, Slug};

/// What a new deployment needs: [`NewDeployment::new`] and the `with_…`
/// setters. Every field but the name and the scope has a default: the slug
/// derives from the name, the clusters are the scope's, no image
/// subscription, no settings of its own (everything inherited).
///
/// ```
/// use eyrie_core::service::NewDeployment;
/// use eyrie_core::{ClusterId, ScopeId, Settings};
///
/// let input = NewDeployment::new("Shop".parse()?, ScopeId(7))
///     .with_slug("shop-prod".parse()?)
///     .with_cluster_ids([ClusterId(1)].into())
///     .with_image_subscribed(true)
///     .with_settings(Settings::default().with_replicas(2));
/// assert_eq!(input.slug.as_ref().map(|s| s.as_str()), Some("shop-prod"));
/// assert_eq!(input.settings.replicas, Some(2));
///
/// let plain = NewDeployment::new("Shop".parse()?, ScopeId(7));
/// assert!(plain.slug.is_none() && plain.cluster_ids.is_empty() && !plain.image_subscribed);
/// # Ok::<(), eyrie_core::ValidationError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NewDeployment {
    /// Display name.
    pub name: Name,
    /// Slug, unique in the group; derived from the name when `None`.
    pub slug: Option<Slug>,
    /// Its scope, in the same group.
    pub scope_id: ScopeId,
    /// Its own clusters; empty inherits the scope's.
    pub cluster_ids: BTreeSet<ClusterId>,
    /// Whether image digest changes redeploy it.
    pub image_subscribed: bool,
    /// Its own settings.
    pub settings: Settings,
}

/// Changes to a deployment; `None` leaves a field as it is. Start from
/// [`DeploymentPatch::default`] (changes nothing) and name fields with the
/// `with_…` setters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeploymentPatch {
    /// New name.
    pub name: Option<Name>,
    /// New slug.
    pub slug: Option<Slug>,
    /// New own clusters (needs `link_clusters`).
    pub cluster_ids: Option<BTreeSet<ClusterId>>,
    /// New subscription flag.
    pub image_subscribed: Option<bool>,
    /// Changes to its own settings: only the fields (and params) named.
    pub settings: Option<crate::model::SettingsPatch>,
}

impl NewDeployment {
    /// A deployment named `name` in the scope `scope_id`, with every default.
    pub fn new(name: Name, scope_id: ScopeId) -> Self {
        NewDeployment {
            name,
            slug: None,
            scope_id,
            cluster_ids: BTreeSet::new(),
            image_subscribed: false,
            settings: Settings::default(),
        }
    }

    /// With this slug instead of one derived from the name.
    pub fn with_slug(mut self, slug: Slug) -> Self {
        self.slug = Some(slug);
        self
    }

    /// On these clusters (a subset of the scope's) instead of the scope's.
    pub fn with_cluster_ids(mut self, cluster_ids: BTreeSet<ClusterId>) -> Self {
        self.cluster_ids = cluster_ids;
        self
    }

    /// Whether image digest changes redeploy it.
    pub fn with_image_subscribed(mut self, subscribed: bool) -> Self {
        self.image_subscribed = subscribed;
        self
    }

    /// With these settings of its own.
    pub fn with_settings(mut self, settings: Settings) -> Self {
        self.settings = settings;
        self
    }
}

impl DeploymentPatch {
    /// Renames the deployment.
    pub fn with_name(mut self, name: Name) -> Self {
        self.name = Some(name);
        self
    }

    /// Changes the slug.
    pub fn with_slug(mut self, slug: Slug) -> Self {
        self.slug = Some(slug);
        self
    }

    /// Replaces its own clusters (empty: the scope's).
    pub fn with_cluster_ids(mut self, cluster_ids: BTreeSet<ClusterId>) -> Self {
        self.cluster_ids = Some(cluster_ids);
        self
    }

    /// Changes the subscription flag.
    pub fn with_image_subscribed(mut self, subscribed: bool) -> Self {
        self.image_subscribed = Some(subscribed);
        self
    }

    /// Changes its own settings: only what `settings` names.
    pub fn with_settings(mut self, settings: crate::model::SettingsPatch) -> Self {
        self.settings = Some(settings);
        self
    }
}

/// The version-relevant values of a deployment, as text.
fn versioned_fields(d: &Deployment) -> [(VersionField, Option<String>); 4] {
    let s = &d.settings;
    [
        (VersionField::Branch, s.branch_id.map(|b| b.to_string())),
        (VersionField::Image, s.image_id.map(|i| i.to_string())),
        (VersionField::ImageDigest, d.deployed_digest.as_ref().map(ToString::to_string)),
        (VersionField::CommitRef, s.commit_ref.as_ref().map(ToString::to_string)),
    ]
}

/// What changed between two states of a deployment, in versioned fields.
pub(crate) fn version_changes(before: Option<&Deployment>, after: &Deployment) -> Vec<VersionChange> {
    let old = before.map(versioned_fields);
    versioned_fields(after)
        .into_iter()
        .enumerate()
        .filter_map(|(i, (field, to))| {
            let from = old.as_ref().and_then(|o| o[i].1.clone());
            (from != to).then_some(VersionChange { field, from, to })
        })
        .collect()
}

impl Eyrie {
    /// A version record for `changes`, numbered after the existing ones.
    pub(crate) async fn version_record(
        &self,
        actor: Principal,
        d: &Deployment,
        changes: Vec<VersionChange>,
    ) -> Result<DeploymentVersion> {
        let seq = self.store.count(Index::DeploymentVersions(d.id)).await? as u32 + 1;
        Ok(DeploymentVersion {
            id: VersionId(self.next_id()),
            project_id: d.project_id,
            deployment_id: d.id,
            seq,
            actor: actor.reference(),
            at: self.now(),
            changes,
        })
    }

    /// Creates a deployment in a group: its scope must belong to the group and
    /// have room, its clusters must be allowed there. Writes its first version
    /// record, and a default monitor when the scope asks for one.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor, group_id = %group_id), err(level = "debug", Display))]
    pub async fn create_deployment(&self, actor: Actor, group_id: GroupId, input: NewDeployment) -> Result<Deployment> {
        let actor = self.identify(actor).await?;
        input.settings.validate()?;
        self.retrying(|| async {
            let ga = self.group_access(actor, group_id).await?;
            allow(actor, Action::CreateDeployment, &ga.resource())?;
            let group = &ga.group.value;
            // A scope is looked up within the group: any other is answered
            // as missing, so no error names another group's or project's scope.
            let scope = self.store.fetch::<Scope>(input.scope_id.0).await?;
            if scope.value.group_id != group_id {
                return Err(unseen(RecordKey::new(EntityKind::Scope, input.scope_id.0)));
            }
            let clusters = deployment_clusters(&input.cluster_ids, group, &scope.value)?;
            self.check_settings_refs(&input.settings, group.project_id).await?;
            let slug = input.slug.clone().unwrap_or_else(|| Slug::from_name(input.name.as_str()));
            let hostname = crate::effective::hostname(&ga.access.project.value, &scope.value, &slug);
            let deployment = Deployment {
                id: DeploymentId(self.next_id()),
                project_id: group.project_id,
                group_id,
                scope_id: scope.value.id,
                namespace_uid: group.namespace_uid,
                name: input.name.clone(),
                slug,
                hostname,
                cluster_ids: input.cluster_ids.clone(),
                image_subscribed: input.image_subscribed,
                settings: input.settings.clone(),
                state: LifecycleState::Draft,
                entered_deploy_at: None,
                deployed_digest: None,
                timer_due_at: None,
                observed: None,
                last_error: None,
                created_at: self.now(),
            };
            let mut tx = ga.access.pinned().unchanged(&ga.group).unchanged(&scope);
            tx = self.pin_clusters(&clusters, tx).await?;
            if let Some(limit) = scope.value.deployment_limit {
                tx = tx.check(Check::CountBelow {
                    index: Index::ScopeLiveDeployments(scope.value.id),
                    limit: u64::from(limit),
                    message: format!("scope {} is full: its deployment_limit is {limit}", scope.value.code),
                });
            }
            let version = self.version_record(actor, &deployment, version_changes(None, &deployment)).await?;
            tx = tx.create(deployment.clone()).create(version);
            if let Some(monitor) = self.default_monitor(&scope.value, group.group_type, &deployment) {
                tx = tx.create(monitor);
            }
            self.commit(tx, self.audit(actor, Some(deployment.project_id), "deployment.create", deployment.id)).await?;
            Ok(deployment)
        })
        .await
    }

    /// Reads a deployment.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor, id = %id), err(level = "debug", Display))]
    pub async fn get_deployment(&self, actor: Actor, id: DeploymentId) -> Result<Deployment> {
        let actor = self.identify(actor).await?;
        let da = self.deployment_access(actor, id).await?;
        allow(actor, Action::ReadDeployment, &da.resource())?;
        Ok(da.deployment.value)
    }

    /// The deployments of a group, dropped ones included.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor, group_id = %group_id), err(level = "debug", Display))]
    pub async fn list_deployments(&self, actor: Actor, group_id: GroupId) -> Result<Vec<Deployment>> {
        let actor = self.identify(actor).await?;
        let ga = self.group_access(actor, group_id).await?;
        allow(actor, Action::ReadGroup, &ga.resource())?;
        Ok(self
            .store
            .children::<Deployment>(Index::GroupDeployments(group_id))
            .await?
            .into_iter()
            .map(|v| v.value)
            .collect())
    }

    /// The effective view of a deployment: every setting with its source.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor, id = %id), err(level = "debug", Display))]
    pub async fn effective(&self, actor: Actor, id: DeploymentId) -> Result<EffectiveDeployment> {
        let actor = self.identify(actor).await?;
        let da = self.deployment_access(actor, id).await?;
        allow(actor, Action::ReadDeployment, &da.resource())?;
        EffectiveDeployment::resolve(&da.access.project.value, &da.group.value, &da.scope.value, &da.deployment.value)
    }

    /// What an executor needs to run the deployment.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor, id = %id), err(level = "debug", Display))]
    pub async fn desired(&self, actor: Actor, id: DeploymentId) -> Result<DesiredDeployment> {
        let actor = self.identify(actor).await?;
        let da = self.deployment_access(actor, id).await?;
        allow(actor, Action::ReadDeployment, &da.resource())?;
        self.desired_of(&da.access.project.value, &da.group.value, &da.scope.value, &da.deployment.value).await
    }

    pub(crate) async fn desired_of(
        &self,
        project: &Project,
        group: &DeploymentGroup,
        scope: &Scope,
        d: &Deployment,
    ) -> Result<DesiredDeployment> {
        let effective = EffectiveDeployment::resolve(project, group, scope, d)?;
        let image = match &effective.image_id {
            Some(id) => {
                let image = self.store.fetch::<Image>(id.value.0).await?.value;
                Some(image.full_reference())
            }
            None => None,
        };
        Ok(DesiredDeployment::from_effective(project, group, d, effective, image))
    }

    /// Edits a deployment. Dropped deployments are read-only. Changing its
    /// clusters needs `link_clusters`. A change of branch, image or commit ref
    /// appends a version record.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor, id = %id), err(level = "debug", Display))]
    pub async fn update_deployment(
        &self,
        actor: Actor,
        id: DeploymentId,
        patch: DeploymentPatch,
    ) -> Result<Deployment> {
        let actor = self.identify(actor).await?;
        self.retrying(|| async {
            let da = self.deployment_access(actor, id).await?;
            allow(actor, Action::EditDeployment, &da.resource())?;
            let before = &da.deployment.value;
            if !before.state.is_live() {
                return Err(Error::policy(format!("deployment {} is dropped and can no longer change", before.slug)));
            }
            let mut d = before.clone();
            let mut tx = da.access.pinned().unchanged(&da.group).unchanged(&da.scope);
            if let Some(name) = &patch.name {
                d.name = name.clone();
            }
            if let Some(slug) = &patch.slug {
                d.slug = slug.clone();
                d.hostname = crate::effective::hostname(&da.access.project.value, &da.scope.value, slug);
            }
            if let Some(subscribed) = patch.image_subscribed {
                d.image_subscribed = subscribed;
            }
            if let Some(changes) = &patch.settings {
                let settings = changes.apply(&d.settings);
                settings.validate()?;
                self.check_settings_refs(&settings, d.project_id).await?;
                d.settings = settings;
            }
            if let Some(clusters) = &patch.cluster_ids {
                allow(actor, Action::LinkClusters, &da.resource())?;
                d.cluster_ids = clusters.clone();
            }
            let clusters = deployment_clusters(&d.cluster_ids, &da.group.value, &da.scope.value)?;
            tx = self.pin_clusters(&clusters, tx).await?;
            let changes = version_changes(Some(before), &d);
            if !changes.is_empty() {
                tx = tx.create(self.version_record(actor, &d, changes).await?);
            }
            tx = tx.update(&da.deployment, d.clone());
            self.commit(tx, self.audit(actor, Some(d.project_id), "deployment.update", id)).await?;
            Ok(d)
        })
        .await
    }

    /// Moves a deployment to another scope of its group. The actor must pass
    /// `role_to_admin` of both scopes, the target must have room, and its
    /// clusters must be allowed there.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor, id = %id, to = %to), err(level = "debug", Display))]
    pub async fn move_deployment(&self, actor: Actor, id: DeploymentId, to: ScopeId) -> Result<Deployment> {
        let actor = self.identify(actor).await?;
        self.retrying(|| async {
            let da = self.deployment_access(actor, id).await?;
            allow(actor, Action::EditDeployment, &da.resource())?;
            let target = self.store.fetch::<Scope>(to.0).await?;
            let d = &da.deployment.value;
            if target.value.group_id != d.group_id {
                return Err(unseen(RecordKey::new(EntityKind::Scope, to.0)));
            }
            if !d.state.is_live() {
                return Err(Error::policy(format!("deployment {} is dropped and can no longer move", d.slug)));
            }
            let live_in_target = self.store.count(Index::ScopeLiveDeployments(to)).await? as usize;
            let to_resource = da.access.deployment_resource(d, target.value.role_to_admin);
            let clusters = check_scope_move(
                actor,
                &ScopeMove {
                    deployment: d,
                    group: &da.group.value,
                    from: &da.scope.value,
                    to: &target.value,
                    live_in_target,
                    from_resource: &da.resource(),
                    to_resource: &to_resource,
                },
            )?;
            let mut moved = d.clone();
            moved.scope_id = to;
            moved.hostname = crate::effective::hostname(&da.access.project.value, &target.value, &moved.slug);
            moved.timer_due_at = crate::rules::next_timer_at(&moved, &target.value);
            let mut tx = da.access.pinned().unchanged(&da.group).unchanged(&da.scope).unchanged(&target);
            tx = self.pin_clusters(&clusters, tx).await?;
            if let Some(limit) = target.value.deployment_limit
                && to != d.scope_id
            {
                tx = tx.check(Check::CountBelow {
                    index: Index::ScopeLiveDeployments(to),
                    limit: u64::from(limit),
                    message: format!("scope {} is full: its deployment_limit is {limit}", target.value.code),
                });
            }
            let tx = tx.update(&da.deployment, moved.clone());
            self.commit(tx, self.audit(actor, Some(moved.project_id), "deployment.move", id)).await?;
            Ok(moved)
        })
        .await
    }

    /// The version history of a deployment, oldest first.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor, id = %id), err(level = "debug", Display))]
    pub async fn list_versions(&self, actor: Actor, id: DeploymentId) -> Result<Vec<DeploymentVersion>> {
        let actor = self.identify(actor).await?;
        let da = self.deployment_access(actor, id).await?;
        allow(actor, Action::ReadDeployment, &da.resource())?;
        let mut versions: Vec<DeploymentVersion> = self
            .store
            .children::<DeploymentVersion>(Index::DeploymentVersions(id))
            .await?
            .into_iter()
            .map(|v| v.value)
            .collect();
        versions.sort_by_key(|v| v.seq);
        Ok(versions)
    }

    /// Reads a deployment with its revision, for callers that pin it.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor, id = %id), err(level = "debug", Display))]
    pub async fn get_deployment_versioned(&self, actor: Actor, id: DeploymentId) -> Result<Versioned<Deployment>> {
        let actor = self.identify(actor).await?;
        let da = self.deployment_access(actor, id).await?;
        allow(actor, Action::ReadDeployment, &da.resource())?;
        Ok(da.deployment)
    }
}
