//! SPEC §9 — tenancy and identity, through the service. Each test names its rule.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::collections::BTreeMap;
use std::sync::Arc;

use eyrie_core::service::{NewCluster, NewConnection, NewDatasource, NewProject, NewUser};
use eyrie_core::{
    Action, Actor, ClusterConnection, DataType, DatasourceUsage, ErrorKind, InvitationState, JobAction, OverrideTarget,
    ProjectId, Role, SecretString, UserId,
};
use eyrie_testkit::MemoryStore;
use eyrie_testkit::fixtures::{Tenant, new_deployment, new_scope, typical_tenant};

fn id(actor: Actor) -> UserId {
    match actor {
        Actor::User { id } => id,
        Actor::System => panic!("a user actor"),
    }
}

/// The typical tenant, plus Zoe: a registered user who owns another project.
async fn with_stranger() -> (Tenant, Actor, ProjectId) {
    let t = typical_tenant(Arc::new(MemoryStore::new())).await.unwrap();
    let zoe = NewUser::new("Zoe".parse().unwrap(), "zoe@zulu.example".parse().unwrap());
    let zoe = t.eyrie.actor(t.eyrie.register_user(Actor::System, zoe).await.unwrap().id).await.unwrap();
    let zulu = NewProject::new("Zulu".parse().unwrap());
    let zulu = t.eyrie.create_project(zoe, zulu).await.unwrap();
    (t, zoe, zulu.id)
}

/// The same answer with the ids taken out.
fn shape(e: &eyrie_core::Error, ids: &[u64]) -> (ErrorKind, String) {
    let mut text = e.to_string();
    for id in ids {
        text = text.replace(&format!("{id:016x}"), "<id>");
    }
    (e.kind(), text)
}

const MISSING: u64 = 0x0dd_0dd_0dd;

#[tokio::test]
async fn identity_comes_from_the_store_an_unknown_user_is_refused_everything() {
    let t = typical_tenant(Arc::new(MemoryStore::new())).await.unwrap();
    let ghost = Actor::user(UserId(MISSING));
    assert_eq!(t.eyrie.actor(UserId(MISSING)).await.unwrap_err().kind(), ErrorKind::PermissionDenied);
    let cluster = NewCluster::new("Rogue".parse().unwrap(), "rogue".parse().unwrap(), NewConnection::InCluster);
    assert_eq!(t.eyrie.create_cluster(ghost, cluster).await.unwrap_err().kind(), ErrorKind::PermissionDenied);
    let admin = NewUser::new("Mallory".parse().unwrap(), "m@evil.example".parse().unwrap()).with_platform_admin(true);
    assert_eq!(t.eyrie.register_user(ghost, admin).await.unwrap_err().kind(), ErrorKind::PermissionDenied);
    let p = NewProject::new("Ghost".parse().unwrap());
    assert_eq!(t.eyrie.create_project(ghost, p).await.unwrap_err().kind(), ErrorKind::PermissionDenied);
    assert_eq!(t.eyrie.list_clusters(ghost).await.unwrap_err().kind(), ErrorKind::PermissionDenied);
    assert_eq!(t.eyrie.get_project(ghost, t.project.id).await.unwrap_err().kind(), ErrorKind::PermissionDenied);
}

#[tokio::test]
async fn identity_comes_from_the_store_only_a_stored_platform_administrator_manages_clusters() {
    let t = typical_tenant(Arc::new(MemoryStore::new())).await.unwrap();
    let cluster = || NewCluster::new("EU 3".parse().unwrap(), "uid-eu-3".parse().unwrap(), NewConnection::InCluster);
    // The owner is an ordinary registered user: no Actor can say otherwise.
    assert_eq!(t.eyrie.create_cluster(t.owner, cluster()).await.unwrap_err().kind(), ErrorKind::PermissionDenied);
    let admin = NewUser::new("Mallory".parse().unwrap(), "m@evil.example".parse().unwrap()).with_platform_admin(true);
    assert_eq!(t.eyrie.register_user(t.owner, admin).await.unwrap_err().kind(), ErrorKind::PermissionDenied);
    assert!(t.eyrie.create_cluster(t.root, cluster()).await.is_ok(), "root is stored as a platform administrator");
}

#[tokio::test]
async fn reads_reveal_nothing_to_strangers_an_existing_id_is_answered_like_a_missing_one() {
    let (t, zoe, _) = with_stranger().await;
    let engine = eyrie_testkit::fixtures::recording_engine(&t);
    let job = engine.submit(t.owner, t.sandbox.id, JobAction::Initialize, BTreeMap::new()).await.unwrap();
    t.eyrie.set_portal_blocked(t.owner, t.project.id, true).await.unwrap();
    let e = &t.eyrie;
    let pairs = [
        (e.get_project(zoe, t.project.id).await.map(drop), e.get_project(zoe, ProjectId(MISSING)).await.map(drop)),
        (
            e.explain_on_project(zoe, Action::ReadProject, t.project.id).await.map(drop),
            e.explain_on_project(zoe, Action::ReadProject, ProjectId(MISSING)).await.map(drop),
        ),
        (
            e.explain_on_deployment(zoe, Action::Deploy, t.shop.id).await.map(drop),
            e.explain_on_deployment(zoe, Action::Deploy, eyrie_core::DeploymentId(MISSING)).await.map(drop),
        ),
        (e.get_group(zoe, t.group.id).await.map(drop), e.get_group(zoe, eyrie_core::GroupId(MISSING)).await.map(drop)),
        (e.get_scope(zoe, t.prod.id).await.map(drop), e.get_scope(zoe, eyrie_core::ScopeId(MISSING)).await.map(drop)),
        (
            e.get_deployment(zoe, t.shop.id).await.map(drop),
            e.get_deployment(zoe, eyrie_core::DeploymentId(MISSING)).await.map(drop),
        ),
        (engine.get_job(zoe, job.id).await.map(drop), engine.get_job(zoe, eyrie_core::JobId(MISSING)).await.map(drop)),
        (e.get_user(zoe, id(t.developer)).await.map(drop), e.get_user(zoe, UserId(MISSING)).await.map(drop)),
    ];
    let ids = [t.project.id.0, t.shop.id.0, t.group.id.0, t.prod.id.0, job.id.0, id(t.developer).0, MISSING];
    for (i, (existing, missing)) in pairs.into_iter().enumerate() {
        let (existing, missing) = (existing.unwrap_err(), missing.unwrap_err());
        assert_eq!(shape(&existing, &ids), shape(&missing, &ids), "case {i}: {existing} vs {missing}");
        assert_eq!(existing.kind(), ErrorKind::NotFound, "case {i}");
        assert!(!existing.to_string().contains("block"), "case {i}: the portal state leaks: {existing}");
    }
    let email = "dev@acme.example".parse().unwrap();
    assert_eq!(e.find_user_by_email(zoe, &email).await.unwrap(), None, "a stranger's address is not found");
    assert_eq!(e.find_project(zoe, &t.project.slug).await.unwrap(), None, "nor a project's slug");
    assert_eq!(e.find_project(zoe, &"nobody-holds-this".parse().unwrap()).await.unwrap(), None);
    assert!(e.find_user_by_email(t.owner, &email).await.unwrap().is_some(), "a co-member's is");
    assert!(e.get_user(t.developer, id(t.owner)).await.is_ok(), "co-members see each other");
    assert!(e.get_user(t.root, id(t.developer)).await.is_ok(), "platform administrators see users");
}

#[tokio::test]
async fn no_error_names_a_record_of_another_project() {
    let (t, zoe, zulu) = with_stranger().await;
    let zgroup = t
        .eyrie
        .create_group(
            zoe,
            zulu,
            eyrie_core::service::NewGroup::new(
                "Zulu shop".parse().unwrap(),
                eyrie_core::GroupType::Odoo,
                [t.clusters[0].id].into(),
            ),
        )
        .await
        .unwrap();
    let zscope =
        t.eyrie.create_scope(zoe, zgroup.id, new_scope("zulu-prod", Default::default()).unwrap()).await.unwrap();
    let mut input = new_deployment("sneaky", &t.dev).unwrap();
    input.scope_id = zscope.id;
    let e = t.eyrie.create_deployment(t.owner, t.group.id, input).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    for secret in ["zulu", "Zulu"] {
        assert!(!e.to_string().contains(secret), "{e}");
    }
    let e = t.eyrie.move_deployment(t.owner, t.sandbox.id, zscope.id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(!e.to_string().contains("zulu"), "{e}");
    let target = OverrideTarget::Group(zgroup.id);
    let e = t.eyrie.set_override(t.owner, t.project.id, id(t.developer), target, Role::Admin).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(!e.to_string().contains("zulu"), "{e}");
}

#[tokio::test]
async fn sealed_blobs_go_only_to_those_who_may_open_them() {
    let t = typical_tenant(Arc::new(MemoryStore::new())).await.unwrap();
    for c in t.eyrie.list_clusters(t.developer).await.unwrap() {
        assert_eq!(c.connection, ClusterConnection::Withheld, "{}", c.slug);
    }
    for c in t.eyrie.list_clusters(t.root).await.unwrap() {
        assert!(matches!(c.connection, ClusterConnection::Kubeconfig(_)), "{}", c.slug);
    }
    let ds = NewDatasource::new("Backups".parse().unwrap(), DataType::S3like, DatasourceUsage::RemoteBackup)
        .with_bucket("acme-backups")
        .with_connection(SecretString::new("postgres://u:p@db/x"))
        .with_credentials(SecretString::new("AKIA-x"));
    t.eyrie.create_datasource(t.admin, t.project.id, ds).await.unwrap();
    let seen = t.eyrie.list_datasources(t.developer, t.project.id).await.unwrap();
    assert!(seen[0].connection.is_none() && seen[0].credentials.is_none(), "a developer may not open them");
    let seen = t.eyrie.list_datasources(t.admin, t.project.id).await.unwrap();
    assert!(seen[0].connection.is_some() && seen[0].credentials.is_some(), "an admin may");
}

#[tokio::test]
async fn invitations_can_be_revoked_by_anyone_who_may_invite() {
    let t = typical_tenant(Arc::new(MemoryStore::new())).await.unwrap();
    let inv = t.eyrie.invite(t.admin, t.project.id, "x@else.example".parse().unwrap(), Role::User).await.unwrap();
    let e = t.eyrie.revoke_invitation(t.developer, inv.id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "developers may not invite, so not revoke");
    let revoked = t.eyrie.revoke_invitation(t.owner, inv.id).await.unwrap();
    assert_eq!(revoked.state, InvitationState::Revoked, "the owner may, though the admin sent it");
    let e = t.eyrie.answer_invitation(Actor::user(inv.user_id), inv.id, true).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidTransition, "a revoked invitation cannot be accepted");
}

#[tokio::test]
async fn invitations_expire_after_the_configured_time() {
    let t = typical_tenant(Arc::new(MemoryStore::new())).await.unwrap();
    let email: eyrie_core::Email = "late@else.example".parse().unwrap();
    let inv = t.eyrie.invite(t.admin, t.project.id, email.clone(), Role::User).await.unwrap();
    assert_eq!(inv.expires_at, Some(inv.created_at.plus_seconds(14 * 86_400)), "14 days by default");
    t.clock.advance_seconds(14 * 86_400);
    let e = t.eyrie.answer_invitation(Actor::user(inv.user_id), inv.id, true).await.unwrap_err();
    assert!(e.to_string().contains("expired"), "{e}");
    let again = t.eyrie.invite(t.admin, t.project.id, email, Role::User).await.unwrap();
    assert!(t.eyrie.answer_invitation(Actor::user(again.user_id), again.id, true).await.is_ok());
    let old = t.eyrie.list_invitations(t.owner, t.project.id).await.unwrap();
    let old = old.iter().find(|i| i.id == inv.id).unwrap();
    assert_eq!(old.state, InvitationState::Expired, "the new invitation replaced the expired one");

    let short = eyrie_core::service::ServiceConfig::default().with_invitation_ttl_seconds(60);
    let eyrie = t.eyrie.clone().with_config(short);
    let inv = eyrie.invite(t.admin, t.project.id, "soon@else.example".parse().unwrap(), Role::User).await.unwrap();
    assert_eq!(inv.expires_at, Some(inv.created_at.plus_seconds(60)), "configurable");
}

#[tokio::test]
async fn invitations_are_void_once_the_inviter_lost_the_right_to_invite() {
    let t = typical_tenant(Arc::new(MemoryStore::new())).await.unwrap();
    // Ada (admin) invites her second address as admin, then is removed.
    let second = "ada.private@else.example".parse().unwrap();
    let inv = t.eyrie.invite(t.admin, t.project.id, second, Role::Admin).await.unwrap();
    t.eyrie.remove_member(t.owner, t.project.id, id(t.admin)).await.unwrap();
    let e = t.eyrie.answer_invitation(Actor::user(inv.user_id), inv.id, true).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PolicyViolation);
    assert!(e.to_string().contains("void"), "{e}");
    let members = t.eyrie.list_members(t.owner, t.project.id).await.unwrap();
    assert!(members.iter().all(|m| m.user_id != inv.user_id), "she did not come back");

    // Demoted below admin counts too.
    let inv = t.eyrie.invite(t.owner, t.project.id, "x@else.example".parse().unwrap(), Role::User).await.unwrap();
    assert!(t.eyrie.answer_invitation(Actor::user(inv.user_id), inv.id, true).await.is_ok(), "the owner still may");
}

#[tokio::test]
async fn an_override_cannot_demote_an_admin() {
    let t = typical_tenant(Arc::new(MemoryStore::new())).await.unwrap();
    let second_admin = "bo@acme.example".parse().unwrap();
    let inv = t.eyrie.invite(t.owner, t.project.id, second_admin, Role::Admin).await.unwrap();
    t.eyrie.answer_invitation(Actor::user(inv.user_id), inv.id, true).await.unwrap();
    let target = OverrideTarget::Group(t.group.id);
    let e = t.eyrie.set_override(t.admin, t.project.id, inv.user_id, target, Role::User).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "an admin may not demote another admin: {e}");
    assert!(t.eyrie.set_override(t.admin, t.project.id, inv.user_id, target, Role::Admin).await.is_ok());
    assert!(
        t.eyrie.set_override(t.owner, t.project.id, inv.user_id, target, Role::User).await.is_ok(),
        "the owner may"
    );
}
