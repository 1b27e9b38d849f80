//! Users, memberships, invitations and role overrides.

use super::access::ProjectAccess;
use super::{Eyrie, allow, as_seen, unseen};
use crate::error::{Error, Result};
use crate::ids::{InvitationId, MembershipId, ProjectId, RoleOverrideId, UserId};
use crate::lifecycle::InvitationState;
use crate::model::{Deployment, DeploymentGroup, Invitation, Membership, OverrideTarget, RoleOverride, User};
use crate::permission::Principal;
use crate::permission::{Action, Actor, Grants, Resource, Role, explain};
use crate::storage::{Check, Entity, EntityKind, Index, Record, RecordKey, StoreExt, Transaction, UniqueKey, Write};
use crate::validate::{Email, Name, Slug};

/// What a new user needs: [`NewUser::new`] and [`NewUser::with_platform_admin`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NewUser {
    /// Display name.
    pub name: Name,
    /// Unique e-mail address.
    pub email: Email,
    /// Whether they administer the platform.
    pub platform_admin: bool,
}

impl NewUser {
    /// A user named `name` with the e-mail address `email`, not a platform administrator.
    pub fn new(name: Name, email: Email) -> Self {
        NewUser { name, email, platform_admin: false }
    }

    /// Whether they administer the platform.
    pub fn with_platform_admin(mut self, platform_admin: bool) -> Self {
        self.platform_admin = platform_admin;
        self
    }
}

fn user_id(actor: Principal) -> Result<UserId> {
    match actor {
        Principal::User { id, .. } => Ok(id),
        Principal::System => Err(Error::policy("this operation needs a user actor")),
    }
}

impl Eyrie {
    /// Registers a user (platform administrators, or the system actor when
    /// bootstrapping). Fails with `AlreadyExists` for a known e-mail address.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor), err(level = "debug", Display))]
    pub async fn register_user(&self, actor: Actor, input: NewUser) -> Result<User> {
        let actor = self.identify(actor).await?;
        allow(actor, Action::ManageGlobalResources, &Resource::Global)?;
        let user = User {
            id: UserId(self.next_id()),
            name: input.name,
            email: input.email,
            platform_admin: input.platform_admin,
            favourite_groups: Default::default(),
            created_at: self.now(),
        };
        self.commit(Transaction::new().create(user.clone()), self.audit(actor, None, "user.register", user.id)).await?;
        Ok(user)
    }

    /// Reads a user record: for the user themselves, anyone who shares a
    /// project with them, and platform administrators. Anyone else gets the
    /// `NotFound` a missing id gets.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor, id = %id), err(level = "debug", Display))]
    pub async fn get_user(&self, actor: Actor, id: UserId) -> Result<User> {
        let actor = self.identify(actor).await?;
        match self.store.find::<User>(id.0).await? {
            Some(user) if self.may_see_user(actor, id).await? => Ok(user.value),
            _ => Err(Error::not_found("user", id)),
        }
    }

    /// Finds a user by e-mail address, with [`Eyrie::get_user`]'s rule:
    /// `None` both for an unknown address and for one the actor may not see.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor), err(level = "debug", Display))]
    pub async fn find_user_by_email(&self, actor: Actor, email: &Email) -> Result<Option<User>> {
        let actor = self.identify(actor).await?;
        match self.store.find_unique::<User>(&UniqueKey::UserEmail(email.to_string())).await? {
            Some(user) if self.may_see_user(actor, user.value.id).await? => Ok(Some(user.value)),
            _ => Ok(None),
        }
    }

    /// The user themselves, a co-member of one of their projects, a platform
    /// administrator, or the system.
    async fn may_see_user(&self, actor: Principal, user: UserId) -> Result<bool> {
        let me = match actor {
            Principal::System | Principal::User { platform_admin: true, .. } => return Ok(true),
            Principal::User { id, .. } if id == user => return Ok(true),
            Principal::User { id, .. } => id,
        };
        for m in self.store.children::<Membership>(Index::UserMemberships(user)).await? {
            let project = m.value.project_id;
            if self.store.find_unique::<Membership>(&UniqueKey::Membership(project, me)).await?.is_some() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The memberships of a project.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor, project = %project), err(level = "debug", Display))]
    pub async fn list_members(&self, actor: Actor, project: ProjectId) -> Result<Vec<Membership>> {
        let actor = self.identify(actor).await?;
        let access = self.project_access(actor, project, None, None).await?;
        allow(actor, Action::ReadProject, &access.resource())?;
        Ok(self
            .store
            .children::<Membership>(Index::ProjectMembers(project))
            .await?
            .into_iter()
            .map(|v| v.value)
            .collect())
    }

    /// Invites `email` to a project with `role`. An unknown address gets a
    /// user record. Refused when the person is already a member or has a
    /// pending invitation; a pending one that expired, or whose inviter may
    /// no longer invite, is replaced (marked `expired` or `revoked`).
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor, project = %project), err(level = "debug", Display))]
    pub async fn invite(&self, actor: Actor, project: ProjectId, email: Email, role: Role) -> Result<Invitation> {
        let actor = self.identify(actor).await?;
        self.retrying(|| async {
            let access = self.project_access(actor, project, None, None).await?;
            allow(actor, Action::InviteMember, &access.resource())?;
            let mut tx = access.pinned();
            let pending = UniqueKey::PendingInvitation(project, email.to_string());
            if let Some(old) = self.store.find_unique::<Invitation>(&pending).await? {
                let now = self.now();
                let to = if old.value.expired(now) {
                    InvitationState::Expired
                } else if !self.inviter_may_invite(&access, &old.value).await?.0 {
                    InvitationState::Revoked
                } else {
                    return Err(Error::already_exists("invitation", format!("{email} in {project}")));
                };
                let mut closed = old.value.clone();
                closed.state = closed.state.transition(to)?;
                closed.decided_at = Some(now);
                tx = tx.update(&old, closed);
            }
            let user = match self.store.find_unique::<User>(&UniqueKey::UserEmail(email.to_string())).await? {
                Some(u) => {
                    if self
                        .store
                        .find_unique::<Membership>(&UniqueKey::Membership(project, u.value.id))
                        .await?
                        .is_some()
                    {
                        return Err(Error::already_exists("membership", format!("{email} in {project}")));
                    }
                    u.value
                }
                None => {
                    let local = email.as_str().split('@').next().unwrap_or("invitee");
                    let name = Name::try_from(local).or_else(|_| Name::try_from(Slug::from_name(local).as_str()))?;
                    let user = User {
                        id: UserId(self.next_id()),
                        name,
                        email: email.clone(),
                        platform_admin: false,
                        favourite_groups: Default::default(),
                        created_at: self.now(),
                    };
                    tx = tx.create(user.clone());
                    user
                }
            };
            let now = self.now();
            let invitation = Invitation {
                id: InvitationId(self.next_id()),
                project_id: project,
                email: email.clone(),
                user_id: user.id,
                role,
                invited_by: user_id(actor)?,
                state: InvitationState::Pending,
                created_at: now,
                decided_at: None,
                expires_at: Some(now.plus_seconds(self.config.invitation_ttl_seconds)),
            };
            let tx = tx.create(invitation.clone());
            self.commit(tx, self.audit(actor, Some(project), "invitation.create", invitation.id)).await?;
            Ok(invitation)
        })
        .await
    }

    /// Whether the inviter of `invitation` may still invite to its project,
    /// with the checks that pin what that rests on (their membership).
    async fn inviter_may_invite(&self, access: &ProjectAccess, invitation: &Invitation) -> Result<(bool, Vec<Check>)> {
        let inviter = invitation.invited_by;
        let membership =
            self.store.find_unique::<Membership>(&UniqueKey::Membership(invitation.project_id, inviter)).await?;
        let grants = Grants { project: membership.as_ref().map(|m| m.value.role), ..Grants::default() };
        let resource = Resource::Project { project: access.facts(), grants };
        let allowed = explain(Principal::user(inviter), Action::InviteMember, &resource).allowed;
        // Without a membership nobody but the owner may invite, and the
        // owner always has one: a refusal needs no pin.
        let pins = membership.iter().map(|m| Check::Revision(m.value.key(), m.revision)).collect();
        Ok((allowed, pins))
    }

    /// The invitations of a project.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor, project = %project), err(level = "debug", Display))]
    pub async fn list_invitations(&self, actor: Actor, project: ProjectId) -> Result<Vec<Invitation>> {
        let actor = self.identify(actor).await?;
        let access = self.project_access(actor, project, None, None).await?;
        allow(actor, Action::InviteMember, &access.resource())?;
        Ok(self
            .store
            .children::<Invitation>(Index::ProjectInvitations(project))
            .await?
            .into_iter()
            .map(|v| v.value)
            .collect())
    }

    /// Withdraws a pending invitation (anyone who may invite to its project).
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor, id = %id), err(level = "debug", Display))]
    pub async fn revoke_invitation(&self, actor: Actor, id: InvitationId) -> Result<Invitation> {
        let actor = self.identify(actor).await?;
        let named = RecordKey::new(EntityKind::Invitation, id.0);
        self.retrying(|| async {
            let read = self.store.fetch::<Invitation>(id.0).await?;
            let access = self.project_access(actor, read.value.project_id, None, None).await.map_err(as_seen(named))?;
            allow(actor, Action::InviteMember, &access.resource())?;
            let mut invitation = read.value.clone();
            invitation.state = invitation.state.transition(InvitationState::Revoked)?;
            invitation.decided_at = Some(self.now());
            let tx = access.pinned().update(&read, invitation.clone());
            self.commit(tx, self.audit(actor, Some(invitation.project_id), "invitation.revoke", id)).await?;
            Ok(invitation)
        })
        .await
    }

    /// Accepts (`true`) or rejects (`false`) an invitation; only the invitee
    /// may (anyone else is answered as if it did not exist). Accepting makes
    /// them a member with the offered role, unless the invitation expired or
    /// its inviter has since lost the right to invite (it is then void).
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor, id = %id), err(level = "debug", Display))]
    pub async fn answer_invitation(&self, actor: Actor, id: InvitationId, accept: bool) -> Result<Invitation> {
        let actor = self.identify(actor).await?;
        let named = RecordKey::new(EntityKind::Invitation, id.0);
        self.retrying(|| async {
            let read = self.store.fetch::<Invitation>(id.0).await?;
            if actor.user_id() != Some(read.value.user_id) {
                return Err(unseen(named));
            }
            let to = if accept { InvitationState::Accepted } else { InvitationState::Rejected };
            let mut invitation = read.value.clone();
            invitation.state = invitation.state.transition(to)?;
            let now = self.now();
            if read.value.expired(now) {
                return Err(Error::policy("this invitation has expired; ask for a new one"));
            }
            invitation.decided_at = Some(now);
            let mut tx = Transaction::new().update(&read, invitation.clone());
            if accept {
                let access = self.project_access(Principal::System, invitation.project_id, None, None).await?;
                let (allowed, pins) = self.inviter_may_invite(&access, &invitation).await?;
                if !allowed {
                    return Err(Error::policy("this invitation is void: whoever sent it may no longer invite"));
                }
                tx.checks.extend(pins);
                tx.checks.push(Check::Revision(access.project.value.key(), access.project.revision));
                tx = tx.create(Membership {
                    id: MembershipId(self.next_id()),
                    project_id: invitation.project_id,
                    user_id: invitation.user_id,
                    role: invitation.role,
                    created_at: now,
                });
            }
            let action = if accept { "invitation.accept" } else { "invitation.reject" };
            self.commit(tx, self.audit(actor, Some(invitation.project_id), action, id)).await?;
            Ok(invitation)
        })
        .await
    }

    /// Changes a member's project role. Lowering an admin is the owner-only
    /// `remove_admin`; the owner's own role never changes.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor, project = %project, user = %user), err(level = "debug", Display))]
    pub async fn change_role(&self, actor: Actor, project: ProjectId, user: UserId, role: Role) -> Result<Membership> {
        let actor = self.identify(actor).await?;
        self.retrying(|| async {
            let access = self.project_access(actor, project, None, None).await?;
            let member = self.member(project, user).await?;
            let action = if member.value.role == Role::Admin && role < Role::Admin {
                Action::RemoveAdmin
            } else {
                Action::ChangeRole
            };
            allow(actor, action, &access.resource())?;
            if user == access.project.value.owner {
                return Err(Error::policy("the owner is always admin; transfer ownership first"));
            }
            let mut updated = member.value.clone();
            updated.role = role;
            let tx = access.pinned().update(&member, updated.clone());
            self.commit(tx, self.audit(actor, Some(project), "member.change_role", user)).await?;
            Ok(updated)
        })
        .await
    }

    /// Removes a member and their overrides. Removing an admin is owner-only;
    /// the owner cannot be removed.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor, project = %project, user = %user), err(level = "debug", Display))]
    pub async fn remove_member(&self, actor: Actor, project: ProjectId, user: UserId) -> Result<()> {
        let actor = self.identify(actor).await?;
        self.retrying(|| async {
            let access = self.project_access(actor, project, None, None).await?;
            let member = self.member(project, user).await?;
            let action = if member.value.role == Role::Admin { Action::RemoveAdmin } else { Action::RemoveMember };
            allow(actor, action, &access.resource())?;
            if user == access.project.value.owner {
                return Err(Error::policy("the owner cannot be removed; transfer ownership first"));
            }
            // The override list is pinned: one set meanwhile would survive the removal.
            let overrides = Index::ProjectOverrides(project);
            let mut tx = access.pinned().delete(&member);
            tx = tx.check(Check::Count { index: overrides, count: self.store.count(overrides).await? });
            for o in self.store.list(overrides).await? {
                if matches!(&o.record, Record::RoleOverride(ov) if ov.user_id == user) {
                    tx.writes.push(Write::Delete(o.record.key(), o.revision));
                }
            }
            self.commit(tx, self.audit(actor, Some(project), "member.remove", user)).await
        })
        .await
    }

    async fn member(&self, project: ProjectId, user: UserId) -> Result<crate::storage::Versioned<Membership>> {
        self.store
            .find_unique::<Membership>(&UniqueKey::Membership(project, user))
            .await?
            .ok_or_else(|| Error::not_found("membership", format!("{user} in {project}")))
    }

    /// Gives a member a different role on one group or deployment (replacing
    /// an earlier override there). Not for the owner, who is admin everywhere.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor, project = %project, user = %user), err(level = "debug", Display))]
    pub async fn set_override(
        &self,
        actor: Actor,
        project: ProjectId,
        user: UserId,
        target: OverrideTarget,
        role: Role,
    ) -> Result<RoleOverride> {
        let actor = self.identify(actor).await?;
        self.retrying(|| async {
            let access = self.project_access(actor, project, None, None).await?;
            let member = self.member(project, user).await?;
            // An override below admin on an admin demotes them there: that is
            // removing an admin, which only the owner may do (as change_role decides).
            let action = if member.value.role == Role::Admin && role < Role::Admin {
                Action::RemoveAdmin
            } else {
                Action::ChangeRole
            };
            allow(actor, action, &access.resource())?;
            if user == access.project.value.owner {
                return Err(Error::policy("the owner is admin everywhere and cannot be overridden"));
            }
            let mut tx = access.pinned().unchanged(&member);
            let (target_project, target_key) = match target {
                OverrideTarget::Group(g) => {
                    let group = self.store.fetch::<DeploymentGroup>(g.0).await?;
                    tx = tx.unchanged(&group);
                    (group.value.project_id, group.value.key())
                }
                OverrideTarget::Deployment(d) => {
                    let dep = self.store.fetch::<Deployment>(d.0).await?;
                    tx = tx.unchanged(&dep);
                    (dep.value.project_id, dep.value.key())
                }
            };
            if target_project != project {
                return Err(unseen(target_key));
            }
            let existing = self.store.find_unique::<RoleOverride>(&UniqueKey::Override(user, target)).await?;
            let ov = match &existing {
                Some(e) => RoleOverride { role, ..e.value.clone() },
                None => RoleOverride {
                    id: RoleOverrideId(self.next_id()),
                    project_id: project,
                    user_id: user,
                    target,
                    role,
                },
            };
            let tx = match &existing {
                Some(e) => tx.update(e, ov.clone()),
                None => tx.create(ov.clone()),
            };
            self.commit(tx, self.audit(actor, Some(project), "override.set", ov.id)).await?;
            Ok(ov)
        })
        .await
    }

    /// Removes an override.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = ?actor, project = %project, user = %user), err(level = "debug", Display))]
    pub async fn remove_override(
        &self,
        actor: Actor,
        project: ProjectId,
        user: UserId,
        target: OverrideTarget,
    ) -> Result<()> {
        let actor = self.identify(actor).await?;
        self.retrying(|| async {
            let access = self.project_access(actor, project, None, None).await?;
            allow(actor, Action::ChangeRole, &access.resource())?;
            let existing = self
                .store
                .find_unique::<RoleOverride>(&UniqueKey::Override(user, target))
                .await?
                .filter(|o| o.value.project_id == project)
                .ok_or_else(|| Error::not_found("role override", format!("{user} on {target:?}")))?;
            let tx = access.pinned().delete(&existing);
            self.commit(tx, self.audit(actor, Some(project), "override.remove", existing.value.id)).await
        })
        .await
    }
}
