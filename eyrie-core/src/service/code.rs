//! Repositories, branches and images; an image digest change finds the
//! subscribed deployments to redeploy.

use crate::permission::Principal;
use std::collections::BTreeSet;

use super::{Eyrie, allow, as_seen, unseen};
use crate::error::{Error, Result};
use crate::ids::{BranchId, DeploymentId, ImageId, ProjectId, RepositoryId};
use crate::lifecycle::LifecycleState;
use crate::model::{Branch, Deployment, DeploymentGroup, GroupType, Image, Repository, Scope, Settings};
use crate::permission::{Action, Actor, Resource};
use crate::storage::{EntityKind, Index, RecordKey, StoreExt, Transaction};
use crate::validate::{Digest, GitRef, GitUrl, ImageRef, ImageTag, Name};

/// What a new repository needs: [`NewRepository::new`] and the `with_…` setters.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NewRepository {
    /// The project it belongs to; `None` makes it global (platform administrators).
    pub project_id: Option<ProjectId>,
    /// The group type it serves, if any.
    pub group_type: Option<GroupType>,
    /// Display name.
    pub name: Name,
    /// Git remote.
    pub url: GitUrl,
}

/// What a new branch needs: [`NewBranch::new`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NewBranch {
    /// Its repository.
    pub repository_id: RepositoryId,
    /// The branch name.
    pub name: GitRef,
}

/// What a new image needs: [`NewImage::new`] and the `with_…` setters.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NewImage {
    /// The project; `None` makes it global.
    pub project_id: Option<ProjectId>,
    /// The repository it is built from (same project, or global).
    pub repository_id: Option<RepositoryId>,
    /// The image name; a tag or digest in it is kept apart.
    pub reference: ImageRef,
    /// The tag.
    pub tag: Option<ImageTag>,
    /// The digest, if known.
    pub digest: Option<Digest>,
}

impl NewRepository {
    /// A global repository (platform administrators) named `name` at `url`,
    /// for any group type; [`NewRepository::with_project_id`] ties it to a project.
    pub fn new(name: Name, url: GitUrl) -> Self {
        NewRepository { project_id: None, group_type: None, name, url }
    }

    /// Belonging to this project.
    pub fn with_project_id(mut self, project_id: ProjectId) -> Self {
        self.project_id = Some(project_id);
        self
    }

    /// Serving this group type only.
    pub fn with_group_type(mut self, group_type: GroupType) -> Self {
        self.group_type = Some(group_type);
        self
    }
}

impl NewBranch {
    /// The branch `name` of the repository `repository_id`.
    pub fn new(repository_id: RepositoryId, name: GitRef) -> Self {
        NewBranch { repository_id, name }
    }
}

impl NewImage {
    /// A global image (platform administrators) `reference`, without tag,
    /// digest or repository; [`NewImage::with_project_id`] ties it to a project.
    pub fn new(reference: ImageRef) -> Self {
        NewImage { project_id: None, repository_id: None, reference, tag: None, digest: None }
    }

    /// Belonging to this project.
    pub fn with_project_id(mut self, project_id: ProjectId) -> Self {
        self.project_id = Some(project_id);
        self
    }

    /// Built from this repository (of the same project, or global).
    pub fn with_repository_id(mut self, repository_id: RepositoryId) -> Self {
        self.repository_id = Some(repository_id);
        self
    }

    /// With this tag.
    pub fn with_tag(mut self, tag: ImageTag) -> Self {
        self.tag = Some(tag);
        self
    }

    /// With this digest.
    pub fn with_digest(mut self, digest: Digest) -> Self {
        self.digest = Some(digest);
        self
    }
}

impl Eyrie {
    /// Authorizes `action` on code owned by `project` (or global code) and
    /// returns a transaction pinning what the decision rested on (the
    /// project and the actor's membership; global code rests on the stored
    /// platform administrator flag, which never changes).
    async fn authorize_code(&self, actor: Principal, project: Option<ProjectId>, write: bool) -> Result<Transaction> {
        match project {
            Some(p) => {
                let access = self.project_access(actor, p, None, None).await?;
                let action = if write { Action::ManageCode } else { Action::ReadProject };
                allow(actor, action, &access.resource())?;
                Ok(access.pinned())
            }
            None => {
                let action = if write { Action::ManageGlobalResources } else { Action::ReadGlobal };
                allow(actor, action, &Resource::Global)?;
                Ok(Transaction::new())
            }
        }
    }

    /// Adds a repository to a project (developers) or globally (platform administrators).
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor), err(level = "debug", Display))]
    pub async fn create_repository(&self, actor: Actor, input: NewRepository) -> Result<Repository> {
        let actor = self.identify(actor).await?;
        let pinned = self.authorize_code(actor, input.project_id, true).await?;
        let repo = Repository {
            id: RepositoryId(self.next_id()),
            project_id: input.project_id,
            group_type: input.group_type,
            name: input.name,
            url: input.url,
            created_at: self.now(),
        };
        self.commit(pinned.create(repo.clone()), self.audit(actor, repo.project_id, "repository.create", repo.id))
            .await?;
        Ok(repo)
    }

    /// The repositories of a project, or the global ones.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor), err(level = "debug", Display))]
    pub async fn list_repositories(&self, actor: Actor, project: Option<ProjectId>) -> Result<Vec<Repository>> {
        let actor = self.identify(actor).await?;
        self.authorize_code(actor, project, false).await?;
        let index = project.map_or(Index::GlobalRepositories, Index::ProjectRepositories);
        Ok(self.store.children::<Repository>(index).await?.into_iter().map(|v| v.value).collect())
    }

    /// Adds a branch to a repository.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor), err(level = "debug", Display))]
    pub async fn create_branch(&self, actor: Actor, input: NewBranch) -> Result<Branch> {
        let actor = self.identify(actor).await?;
        let repo = self.store.fetch::<Repository>(input.repository_id.0).await?;
        let named = RecordKey::new(EntityKind::Repository, input.repository_id.0);
        let pinned = self.authorize_code(actor, repo.value.project_id, true).await.map_err(as_seen(named))?;
        let branch = Branch {
            id: BranchId(self.next_id()),
            repository_id: repo.value.id,
            project_id: repo.value.project_id,
            name: input.name,
            created_at: self.now(),
        };
        let tx = pinned.unchanged(&repo).create(branch.clone());
        self.commit(tx, self.audit(actor, branch.project_id, "branch.create", branch.id)).await?;
        Ok(branch)
    }

    /// The branches of a repository.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor, repository = %repository), err(level = "debug", Display))]
    pub async fn list_branches(&self, actor: Actor, repository: RepositoryId) -> Result<Vec<Branch>> {
        let actor = self.identify(actor).await?;
        let repo = self.store.fetch::<Repository>(repository.0).await?;
        let named = RecordKey::new(EntityKind::Repository, repository.0);
        self.authorize_code(actor, repo.value.project_id, false).await.map_err(as_seen(named))?;
        Ok(self
            .store
            .children::<Branch>(Index::RepositoryBranches(repository))
            .await?
            .into_iter()
            .map(|v| v.value)
            .collect())
    }

    /// Adds an image.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor), err(level = "debug", Display))]
    pub async fn create_image(&self, actor: Actor, input: NewImage) -> Result<Image> {
        let actor = self.identify(actor).await?;
        let mut tx = self.authorize_code(actor, input.project_id, true).await?;
        if let Some(repo_id) = input.repository_id {
            let repo = self.store.fetch::<Repository>(repo_id.0).await?;
            if repo.value.project_id.is_some() && repo.value.project_id != input.project_id {
                return Err(unseen(RecordKey::new(EntityKind::Repository, repo_id.0)));
            }
            tx = tx.unchanged(&repo);
        }
        let name: ImageRef = input.reference.name().parse()?;
        let image = Image {
            id: ImageId(self.next_id()),
            repository_id: input.repository_id,
            project_id: input.project_id,
            reference: name,
            tag: input.tag,
            digest: input.digest,
            redeploy_pending: false,
            created_at: self.now(),
        };
        self.commit(tx.create(image.clone()), self.audit(actor, image.project_id, "image.create", image.id)).await?;
        Ok(image)
    }

    /// Records a new digest for an image and returns the deployments to
    /// redeploy: those subscribed to it (as their effective image) that are
    /// in `deploy`. Paused and draft ones pick the digest up on their next deploy.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor, id = %id), err(level = "debug", Display))]
    pub async fn update_image_digest(&self, actor: Actor, id: ImageId, digest: Digest) -> Result<Vec<DeploymentId>> {
        let actor = self.identify(actor).await?;
        self.retrying(|| async {
            let read = self.store.fetch::<Image>(id.0).await?;
            let named = RecordKey::new(EntityKind::Image, id.0);
            let pinned = self.authorize_code(actor, read.value.project_id, true).await.map_err(as_seen(named))?;
            if read.value.digest.as_ref() == Some(&digest) {
                return Ok(Vec::new());
            }
            let mut image = read.value.clone();
            image.digest = Some(digest.clone());
            image.redeploy_pending = true;
            self.commit(pinned.update(&read, image), self.audit(actor, read.value.project_id, "image.digest", id))
                .await?;
            self.subscribers(id).await
        })
        .await
    }

    /// Deployments in `deploy`, subscribed, whose effective image is `id`.
    pub(crate) async fn subscribers(&self, id: ImageId) -> Result<Vec<DeploymentId>> {
        let mut candidates: Vec<Deployment> = self
            .store
            .children::<Deployment>(Index::ImageDeployments(id))
            .await?
            .into_iter()
            .map(|v| v.value)
            .collect();
        for scope in self.store.children::<Scope>(Index::ImageScopes(id)).await? {
            for d in self.store.children::<Deployment>(Index::ScopeLiveDeployments(scope.value.id)).await? {
                candidates.push(d.value);
            }
        }
        for group in self.store.children::<DeploymentGroup>(Index::ImageGroups(id)).await? {
            for d in self.store.children::<Deployment>(Index::GroupDeployments(group.value.id)).await? {
                let scope = self.store.fetch::<Scope>(d.value.scope_id.0).await?;
                if scope.value.settings.image_id.is_none() {
                    candidates.push(d.value);
                }
            }
        }
        let mut out = BTreeSet::new();
        for d in candidates {
            let effective_is_this = match d.settings.image_id {
                Some(own) => own == id,
                None => true,
            };
            if effective_is_this && d.image_subscribed && d.state == LifecycleState::Deploy {
                out.insert(d.id);
            }
        }
        Ok(out.into_iter().collect())
    }

    /// Checks that the repository, branch and image a [`Settings`] names
    /// exist and belong to `project` (or are global).
    pub(crate) async fn check_settings_refs(&self, s: &Settings, project: ProjectId) -> Result<()> {
        let ok = |owner: Option<ProjectId>| owner.is_none() || owner == Some(project);
        // Code of another project is answered as missing: nothing of it is named.
        if let Some(id) = s.repository_id
            && !ok(self.store.fetch::<Repository>(id.0).await?.value.project_id)
        {
            return Err(unseen(RecordKey::new(EntityKind::Repository, id.0)));
        }
        if let Some(id) = s.branch_id {
            let branch = self.store.fetch::<Branch>(id.0).await?.value;
            if !ok(branch.project_id) {
                return Err(unseen(RecordKey::new(EntityKind::Branch, id.0)));
            }
            if s.repository_id.is_some_and(|r| r != branch.repository_id) {
                return Err(Error::policy(format!("branch {id} is not a branch of the chosen repository")));
            }
        }
        if let Some(id) = s.image_id
            && !ok(self.store.fetch::<Image>(id.0).await?.value.project_id)
        {
            return Err(unseen(RecordKey::new(EntityKind::Image, id.0)));
        }
        Ok(())
    }
}
