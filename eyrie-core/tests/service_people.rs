//! SPEC §4 — people and permissions, through the service. Each test names its rule.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::sync::Arc;

use eyrie_core::service::{DeploymentPatch, NewGroup, ProjectPatch};
use eyrie_core::storage::{Index, Store};
use eyrie_core::{Actor, ErrorKind, GroupType, InvitationState, OverrideTarget, Role, UserId};
use eyrie_testkit::MemoryStore;
use eyrie_testkit::fixtures::{Tenant, typical_tenant};

async fn tenant() -> (Tenant, Arc<MemoryStore>) {
    let store = Arc::new(MemoryStore::new());
    (typical_tenant(store.clone()).await.unwrap(), store)
}

fn id(actor: Actor) -> UserId {
    match actor {
        Actor::User { id, .. } => id,
        Actor::System => panic!("a user actor"),
    }
}

#[tokio::test]
async fn an_invitation_is_pending_until_accepted_or_rejected_and_an_unknown_email_creates_a_user() {
    let (t, store) = tenant().await;
    let email: eyrie_core::Email = "newcomer@elsewhere.example".parse().unwrap();
    assert!(t.eyrie.find_user_by_email(t.root, &email).await.unwrap().is_none());
    let inv = t.eyrie.invite(t.admin, t.project.id, email.clone(), Role::Developer).await.unwrap();
    assert_eq!(inv.state, InvitationState::Pending);
    let newcomer = t.eyrie.find_user_by_email(t.root, &email).await.unwrap().expect("a user record was created");
    assert_eq!(newcomer.id, inv.user_id);
    let twice = t.eyrie.invite(t.admin, t.project.id, email.clone(), Role::User).await.unwrap_err();
    assert_eq!(twice.kind(), ErrorKind::AlreadyExists, "one pending invitation per address");
    let rejected = t.eyrie.answer_invitation(Actor::user(newcomer.id), inv.id, false).await.unwrap();
    assert_eq!(rejected.state, InvitationState::Rejected);
    let again = t.eyrie.answer_invitation(Actor::user(newcomer.id), inv.id, true).await.unwrap_err();
    assert_eq!(again.kind(), ErrorKind::InvalidTransition, "an answered invitation stays answered");
    assert_eq!(store.count(Index::ProjectMembers(t.project.id)).await.unwrap(), 4, "rejecting adds no member");
    let inv2 = t.eyrie.invite(t.admin, t.project.id, email, Role::Developer).await.unwrap();
    t.eyrie.answer_invitation(Actor::user(newcomer.id), inv2.id, true).await.unwrap();
    assert_eq!(store.count(Index::ProjectMembers(t.project.id)).await.unwrap(), 5);
}

#[tokio::test]
async fn only_the_invitee_answers_and_only_admins_invite() {
    let (t, _) = tenant().await;
    let email: eyrie_core::Email = "x@y.example".parse().unwrap();
    assert_eq!(
        t.eyrie.invite(t.developer, t.project.id, email.clone(), Role::User).await.unwrap_err().kind(),
        ErrorKind::PermissionDenied
    );
    let inv = t.eyrie.invite(t.admin, t.project.id, email, Role::User).await.unwrap();
    let e = t.eyrie.answer_invitation(t.admin, inv.id, true).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "someone else's invitation is answered as missing: {e}");
    let member = t.eyrie.invite(t.admin, t.project.id, "dev@acme.example".parse().unwrap(), Role::User).await;
    assert_eq!(member.unwrap_err().kind(), ErrorKind::AlreadyExists, "already a member");
}

#[tokio::test]
async fn the_most_specific_grant_wins_in_both_directions() {
    let (t, _) = tenant().await;
    // Upwards: Uma is a user in the project but developer on sandbox.
    let rename = || DeploymentPatch::default().with_name("Renamed".parse().unwrap());
    t.eyrie.update_deployment(t.viewer, t.sandbox.id, rename()).await.unwrap();
    assert_eq!(
        t.eyrie.update_deployment(t.viewer, t.preview.id, rename()).await.unwrap_err().kind(),
        ErrorKind::PermissionDenied
    );
    // Downwards: Dev is a developer in the project, made a user on the group.
    t.eyrie
        .set_override(t.admin, t.project.id, id(t.developer), OverrideTarget::Group(t.group.id), Role::User)
        .await
        .unwrap();
    assert_eq!(
        t.eyrie.update_deployment(t.developer, t.preview.id, rename()).await.unwrap_err().kind(),
        ErrorKind::PermissionDenied
    );
    // A deployment override beats the group one.
    t.eyrie
        .set_override(t.admin, t.project.id, id(t.developer), OverrideTarget::Deployment(t.preview.id), Role::Developer)
        .await
        .unwrap();
    t.eyrie.update_deployment(t.developer, t.preview.id, rename()).await.unwrap();
    t.eyrie
        .remove_override(t.admin, t.project.id, id(t.developer), OverrideTarget::Deployment(t.preview.id))
        .await
        .unwrap();
    assert_eq!(
        t.eyrie.update_deployment(t.developer, t.preview.id, rename()).await.unwrap_err().kind(),
        ErrorKind::PermissionDenied
    );
}

#[tokio::test]
async fn the_owner_cannot_be_overridden_or_demoted() {
    let (t, _) = tenant().await;
    let e =
        t.eyrie.set_override(t.admin, t.project.id, id(t.owner), OverrideTarget::Group(t.group.id), Role::User).await;
    assert_eq!(e.unwrap_err().kind(), ErrorKind::PermissionDenied, "demoting an admin is the owner's alone");
    let e =
        t.eyrie.set_override(t.owner, t.project.id, id(t.owner), OverrideTarget::Group(t.group.id), Role::User).await;
    assert_eq!(e.unwrap_err().kind(), ErrorKind::PolicyViolation, "and not even the owner overrides the owner");
    let e = t.eyrie.change_role(t.owner, t.project.id, id(t.owner), Role::User).await;
    assert_eq!(e.unwrap_err().kind(), ErrorKind::PolicyViolation);
    assert_eq!(
        t.eyrie.remove_member(t.owner, t.project.id, id(t.owner)).await.unwrap_err().kind(),
        ErrorKind::PolicyViolation
    );
}

#[tokio::test]
async fn only_the_owner_deletes_groups_transfers_ownership_and_blocks_the_portal() {
    let (t, _) = tenant().await;
    let g = t
        .eyrie
        .create_group(
            t.admin,
            t.project.id,
            NewGroup::new("Empty".parse().unwrap(), GroupType::None, [t.clusters[0].id].into()),
        )
        .await
        .unwrap();
    assert_eq!(t.eyrie.delete_group(t.admin, g.id).await.unwrap_err().kind(), ErrorKind::PermissionDenied);
    assert_eq!(
        t.eyrie.transfer_ownership(t.admin, t.project.id, id(t.admin)).await.unwrap_err().kind(),
        ErrorKind::PermissionDenied
    );
    assert_eq!(
        t.eyrie.set_portal_blocked(t.admin, t.project.id, true).await.unwrap_err().kind(),
        ErrorKind::PermissionDenied
    );
    assert_eq!(t.eyrie.delete_project(t.admin, t.project.id).await.unwrap_err().kind(), ErrorKind::PermissionDenied);
    t.eyrie.delete_group(t.owner, g.id).await.unwrap();
    let p = t.eyrie.transfer_ownership(t.owner, t.project.id, id(t.developer)).await.unwrap();
    assert_eq!(p.owner, id(t.developer));
    let members = t.eyrie.list_members(t.developer, t.project.id).await.unwrap();
    assert_eq!(
        members.iter().find(|m| m.user_id == id(t.developer)).unwrap().role,
        Role::Admin,
        "the new owner is admin"
    );
    assert_eq!(
        t.eyrie.set_portal_blocked(t.owner, t.project.id, true).await.unwrap_err().kind(),
        ErrorKind::PermissionDenied
    );
}

#[tokio::test]
async fn while_the_portal_is_blocked_everyone_but_the_owner_is_refused() {
    let (t, _) = tenant().await;
    t.eyrie.set_portal_blocked(t.owner, t.project.id, true).await.unwrap();
    for actor in [t.admin, t.developer, t.viewer] {
        assert_eq!(t.eyrie.get_project(actor, t.project.id).await.unwrap_err().kind(), ErrorKind::PermissionDenied);
        assert_eq!(t.eyrie.get_deployment(actor, t.sandbox.id).await.unwrap_err().kind(), ErrorKind::PermissionDenied);
    }
    t.eyrie.get_project(t.owner, t.project.id).await.unwrap();
    t.eyrie.set_portal_blocked(t.owner, t.project.id, false).await.unwrap();
    t.eyrie.get_project(t.viewer, t.project.id).await.unwrap();
}

#[tokio::test]
async fn admins_change_roles_but_only_the_owner_removes_or_demotes_an_admin() {
    let (t, store) = tenant().await;
    t.eyrie.change_role(t.admin, t.project.id, id(t.viewer), Role::Developer).await.unwrap();
    assert_eq!(
        t.eyrie.change_role(t.developer, t.project.id, id(t.viewer), Role::Admin).await.unwrap_err().kind(),
        ErrorKind::PermissionDenied
    );
    let promoted = t.eyrie.change_role(t.admin, t.project.id, id(t.developer), Role::Admin).await.unwrap();
    assert_eq!(promoted.role, Role::Admin);
    assert_eq!(
        t.eyrie.change_role(t.admin, t.project.id, id(t.developer), Role::User).await.unwrap_err().kind(),
        ErrorKind::PermissionDenied,
        "demoting an admin is removing an admin"
    );
    assert_eq!(
        t.eyrie.remove_member(t.admin, t.project.id, id(t.developer)).await.unwrap_err().kind(),
        ErrorKind::PermissionDenied
    );
    t.eyrie.remove_member(t.admin, t.project.id, id(t.viewer)).await.unwrap();
    assert_eq!(store.count(Index::ProjectOverrides(t.project.id)).await.unwrap(), 0, "their overrides go with them");
    t.eyrie.remove_member(t.owner, t.project.id, id(t.developer)).await.unwrap();
    assert_eq!(store.count(Index::ProjectMembers(t.project.id)).await.unwrap(), 2);
}

#[tokio::test]
async fn users_read_developers_edit_deployments_admins_edit_the_project() {
    let (t, _) = tenant().await;
    t.eyrie.get_deployment(t.viewer, t.shop.id).await.unwrap();
    t.eyrie.list_groups(t.viewer, t.project.id).await.unwrap();
    let rename = DeploymentPatch::default().with_name("Shop!".parse().unwrap());
    t.eyrie.update_deployment(t.developer, t.shop.id, rename).await.unwrap();
    let patch = ProjectPatch::default().with_domain(None);
    assert_eq!(
        t.eyrie.update_project(t.developer, t.project.id, patch.clone()).await.unwrap_err().kind(),
        ErrorKind::PermissionDenied
    );
    t.eyrie.update_project(t.admin, t.project.id, patch).await.unwrap();
}

#[tokio::test]
async fn role_to_admin_gates_deployment_admin_actions() {
    let (t, _) = tenant().await;
    // Relinking clusters is an admin action; moving needs role_to_admin of both scopes.
    assert_eq!(
        t.eyrie.move_deployment(t.developer, t.sandbox.id, t.stage.id).await.unwrap_err().kind(),
        ErrorKind::PermissionDenied
    );
    let e = t.eyrie.move_deployment(t.viewer, t.sandbox.id, t.dev.id).await;
    assert!(e.is_ok(), "Uma's developer override passes dev's role_to_admin: {e:?}");
}

#[tokio::test]
async fn platform_administrators_have_no_implicit_access_to_tenants() {
    let (t, _) = tenant().await;
    assert_eq!(t.eyrie.get_project(t.root, t.project.id).await.unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(t.eyrie.list_groups(t.root, t.project.id).await.unwrap_err().kind(), ErrorKind::NotFound);
}
