//! SPEC §1 — the hierarchy, through the service. Each test names its rule.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::sync::Arc;

use eyrie_core::service::{
    DeploymentPatch, GroupPatch, NewBranch, NewGroup, NewImage, NewProject, NewRepository, ProjectPatch,
};
use eyrie_core::storage::{EntityKind, Store, StoreExt};
use eyrie_core::{ErrorKind, GroupType, Namespace, Role, Settings, Slug, Source, VersionField};
use eyrie_testkit::MemoryStore;
use eyrie_testkit::fixtures::{Tenant, new_deployment, typical_tenant};

async fn tenant() -> Tenant {
    typical_tenant(Arc::new(MemoryStore::new())).await.unwrap()
}

#[tokio::test]
async fn project_slug_is_unique_across_the_whole_store() {
    let t = tenant().await;
    let again = NewProject::new("Another Acme".parse().unwrap()).with_slug("acme".parse().unwrap());
    let e = t.eyrie.create_project(t.admin, again).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists);
    let derived = NewProject::new("ACME!".parse().unwrap());
    assert_eq!(t.eyrie.create_project(t.admin, derived).await.unwrap_err().kind(), ErrorKind::AlreadyExists);
}

#[tokio::test]
async fn project_creator_becomes_owner_and_admin_member() {
    let t = tenant().await;
    let p = t.eyrie.create_project(t.developer, NewProject::new("Side Project".parse().unwrap())).await.unwrap();
    assert_eq!(eyrie_core::Actor::user(p.owner), t.developer);
    assert_eq!(p.slug.as_str(), "side-project", "slug derived from the name");
    let members = t.eyrie.list_members(t.developer, p.id).await.unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].role, Role::Admin);
}

#[tokio::test]
async fn namespace_is_created_with_the_project_and_named_from_its_uid_never_the_slug() {
    let t = tenant().await;
    let ns = t.store.find::<Namespace>(t.project.namespace_uid.0).await.unwrap().unwrap().value;
    assert_eq!(ns.project_id, t.project.id);
    let renamed = t
        .eyrie
        .update_project(t.owner, t.project.id, ProjectPatch::default().with_slug("acme-corp".parse().unwrap()))
        .await
        .unwrap();
    assert_eq!(renamed.slug.as_str(), "acme-corp", "slug is editable");
    assert_eq!(renamed.namespace_uid, t.project.namespace_uid, "renaming moves nothing");
    let d = t.eyrie.get_deployment(t.owner, t.shop.id).await.unwrap();
    assert_eq!(d.namespace(), ns.name(), "deployments expose the project's namespace");
    assert_eq!(t.eyrie.get_group(t.owner, t.group.id).await.unwrap().namespace(), ns.name());
    assert!(!ns.name().contains("acme"));
    assert_eq!(t.store.list_kind(EntityKind::Namespace).await.unwrap().len(), 1, "exactly one per project");
}

#[tokio::test]
async fn primary_deployment_must_be_a_deployment_of_the_project() {
    let t = tenant().await;
    let ok = ProjectPatch::default().with_primary_deployment(Some(t.shop.id));
    assert_eq!(t.eyrie.update_project(t.admin, t.project.id, ok).await.unwrap().primary_deployment, Some(t.shop.id));
    let other = t.eyrie.create_project(t.admin, NewProject::new("Other".parse().unwrap())).await.unwrap();
    let foreign = ProjectPatch::default().with_primary_deployment(Some(t.shop.id));
    let e = t.eyrie.update_project(t.admin, other.id, foreign).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PolicyViolation);
}

#[tokio::test]
async fn group_slug_is_unique_within_its_project_only() {
    let t = tenant().await;
    let shop = |clusters| NewGroup::new("Shop".parse().unwrap(), GroupType::None, clusters);
    let clusters: std::collections::BTreeSet<_> = [t.clusters[0].id].into();
    let e = t.eyrie.create_group(t.owner, t.project.id, shop(clusters.clone())).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists);
    let other = t.eyrie.create_project(t.admin, NewProject::new("Other".parse().unwrap())).await.unwrap();
    assert!(t.eyrie.create_group(t.admin, other.id, shop(clusters)).await.is_ok(), "same slug, other project");
}

#[tokio::test]
async fn group_needs_at_least_one_existing_cluster() {
    let t = tenant().await;
    let mut g = NewGroup::new("DB".parse().unwrap(), GroupType::Pgo, Default::default());
    assert_eq!(t.eyrie.create_group(t.owner, t.project.id, g.clone()).await.unwrap_err().kind(), ErrorKind::Invalid);
    g.group_cluster_ids = [eyrie_core::ClusterId(u64::MAX)].into();
    assert_eq!(t.eyrie.create_group(t.owner, t.project.id, g).await.unwrap_err().kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn group_creator_gets_it_added_to_their_favourites() {
    let t = tenant().await;
    let eyrie_core::Actor::User { id, .. } = t.owner else { unreachable!() };
    assert!(t.eyrie.get_user(t.owner, id).await.unwrap().favourite_groups.contains(&t.group.id));
    let eyrie_core::Actor::User { id: admin, .. } = t.admin else { unreachable!() };
    assert!(!t.eyrie.get_user(t.admin, admin).await.unwrap().favourite_groups.contains(&t.group.id));
}

#[tokio::test]
async fn deployment_inherits_type_and_settings_and_the_view_says_where_from() {
    let t = tenant().await;
    let patch = GroupPatch::default().with_settings(Settings::default().with_replicas(4).into());
    t.eyrie.update_group(t.owner, t.group.id, patch).await.unwrap();
    let view = t.eyrie.effective(t.viewer, t.preview.id).await.unwrap();
    assert_eq!(view.group_type, GroupType::Odoo, "reading the type on a deployment reads the group's");
    assert_eq!((view.replicas.value, view.replicas.source), (4, Source::Group));
    assert_eq!(view.host.unwrap().value, "preview.stage.acme.example");
    let own = DeploymentPatch::default().with_settings(Settings::default().with_replicas(1).into());
    t.eyrie.update_deployment(t.developer, t.preview.id, own).await.unwrap();
    let view = t.eyrie.effective(t.viewer, t.preview.id).await.unwrap();
    assert_eq!((view.replicas.value, view.replicas.source), (1, Source::Deployment));
    assert_eq!(view.cpu_request.source, Source::Default);
}

#[tokio::test]
async fn deployment_slug_is_unique_within_its_group() {
    let t = tenant().await;
    let e =
        t.eyrie.create_deployment(t.developer, t.group.id, new_deployment("shop", &t.dev).unwrap()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists);
    let slug_patch = DeploymentPatch::default().with_slug(Slug::from_name("sandbox"));
    let e = t.eyrie.update_deployment(t.developer, t.preview.id, slug_patch).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists);
}

#[tokio::test]
async fn changing_branch_image_or_commit_appends_a_version_and_other_edits_do_not() {
    let t = tenant().await;
    let e = &t.eyrie;
    let repo = e
        .create_repository(
            t.developer,
            NewRepository::new("addons".parse().unwrap(), "https://git.example/acme/addons.git".parse().unwrap())
                .with_project_id(t.project.id)
                .with_group_type(GroupType::Odoo),
        )
        .await
        .unwrap();
    let branch = e.create_branch(t.developer, NewBranch::new(repo.id, "17.0".parse().unwrap())).await.unwrap();
    let image = e
        .create_image(
            t.developer,
            NewImage::new("ghcr.io/acme/odoo".parse().unwrap())
                .with_project_id(t.project.id)
                .with_repository_id(repo.id)
                .with_tag("17.0".parse().unwrap()),
        )
        .await
        .unwrap();
    assert_eq!(e.list_versions(t.viewer, t.sandbox.id).await.unwrap().len(), 1, "created with version 1");
    let rename = DeploymentPatch::default().with_name("Sandbox 2".parse().unwrap());
    e.update_deployment(t.developer, t.sandbox.id, rename).await.unwrap();
    assert_eq!(e.list_versions(t.viewer, t.sandbox.id).await.unwrap().len(), 1, "a rename is not a version");
    let settings = Settings::default()
        .with_repository_id(repo.id)
        .with_branch_id(branch.id)
        .with_image_id(image.id)
        .with_commit_ref("0a1b2c3".parse().unwrap());
    e.update_deployment(t.developer, t.sandbox.id, DeploymentPatch::default().with_settings(settings.into()))
        .await
        .unwrap();
    let versions = e.list_versions(t.viewer, t.sandbox.id).await.unwrap();
    assert_eq!(versions.len(), 2);
    let last = &versions[1];
    assert_eq!(last.seq, 2);
    let fields: Vec<VersionField> = last.changes.iter().map(|c| c.field).collect();
    assert_eq!(fields, [VersionField::Branch, VersionField::Image, VersionField::CommitRef]);
    assert_eq!(last.actor, t.developer.reference(), "who");
    assert_eq!(last.at, eyrie_core::Clock::now(&*t.clock), "when");
}

#[tokio::test]
async fn every_successful_mutation_appends_one_audit_event() {
    let t = tenant().await;
    let before = t.eyrie.list_audit(t.owner, t.project.id).await.unwrap();
    let patch = ProjectPatch::default().with_name("Acme Inc".parse().unwrap());
    t.eyrie.update_project(t.admin, t.project.id, patch).await.unwrap();
    let after = t.eyrie.list_audit(t.owner, t.project.id).await.unwrap();
    assert_eq!(after.len(), before.len() + 1);
    let last = after.last().unwrap();
    assert_eq!((last.action.as_str(), last.actor), ("project.update", t.admin.reference()));
    assert_eq!(last.target, t.project.id.to_string());
    let refused = ProjectPatch::default().with_name("Nope".parse().unwrap());
    t.eyrie.update_project(t.viewer, t.project.id, refused).await.unwrap_err();
    assert_eq!(t.eyrie.list_audit(t.owner, t.project.id).await.unwrap().len(), after.len(), "refusals are not audited");
}

#[tokio::test]
async fn a_refused_call_leaves_the_store_unchanged() {
    let store = Arc::new(MemoryStore::new());
    let t = typical_tenant(store.clone()).await.unwrap();
    let before = store.dump().await.unwrap();
    let bad = DeploymentPatch::default().with_cluster_ids([t.clusters[1].id].into());
    let e = t.eyrie.update_deployment(t.owner, t.shop.id, bad).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PolicyViolation, "prod only allows the first cluster: {e}");
    let e = t.eyrie.update_deployment(t.viewer, t.shop.id, DeploymentPatch::default()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied);
    assert_eq!(store.dump().await.unwrap(), before);
}
