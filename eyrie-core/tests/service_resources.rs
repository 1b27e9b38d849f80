//! SPEC §3 — clusters, repositories, images, datasources, and sealed
//! secrets, through the service. Each test names its rule.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::sync::Arc;

use eyrie_core::service::{KeyRing, NewCluster, NewConnection, NewDatasource, NewImage, NewRepository, SealingKey};
use eyrie_core::storage::kit::kv::Table;
use eyrie_core::storage::{Index, Store, StoreExt, Transaction};
use eyrie_core::{
    Actor, ClusterState, DataType, DatasourceUsage, Deployment, ErrorKind, Eyrie, LifecycleState, SecretString,
    Settings,
};
use eyrie_testkit::MemoryStore;
use eyrie_testkit::fixtures::{CountingNonces, ManualClock, SequentialIds, Tenant, typical_tenant};

async fn tenant() -> (Tenant, Arc<MemoryStore>) {
    let store = Arc::new(MemoryStore::new());
    (typical_tenant(store.clone()).await.unwrap(), store)
}

fn raw_bytes(store: &MemoryStore) -> Vec<u8> {
    let mut out = Vec::new();
    for table in Table::ALL {
        store
            .with_raw(
                |t| {
                    for (k, v) in t.iter() {
                        out.extend_from_slice(k);
                        out.extend_from_slice(v);
                    }
                },
                table,
            )
            .unwrap();
    }
    out
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn only_platform_administrators_manage_clusters() {
    let (t, _) = tenant().await;
    let input = NewCluster::new("EU 3".parse().unwrap(), "uid-eu-3".parse().unwrap(), NewConnection::InCluster);
    for actor in [t.owner, t.admin, t.developer] {
        assert_eq!(t.eyrie.create_cluster(actor, input.clone()).await.unwrap_err().kind(), ErrorKind::PermissionDenied);
        let e = t.eyrie.transition_cluster(actor, t.clusters[0].id, ClusterState::Transitioning).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::PermissionDenied);
    }
    let c = t.eyrie.create_cluster(t.root, input).await.unwrap();
    assert_eq!((c.state, c.slug.as_str()), (ClusterState::Draft, "eu-3"), "slug derived from the name");
    assert_eq!(t.eyrie.list_clusters(t.viewer).await.unwrap().len(), 3, "everyone may list clusters");
}

#[tokio::test]
async fn cluster_states_follow_only_the_allowed_chain() {
    let (t, _) = tenant().await;
    let id = t.clusters[1].id;
    let e = t.eyrie.transition_cluster(t.root, id, ClusterState::Delete).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidTransition, "active cannot jump to delete");
    t.eyrie.transition_cluster(t.root, id, ClusterState::Transitioning).await.unwrap();
    t.eyrie.transition_cluster(t.root, id, ClusterState::Active).await.unwrap();
    t.eyrie.transition_cluster(t.root, id, ClusterState::Cancel).await.unwrap();
    assert_eq!(
        t.eyrie.transition_cluster(t.root, id, ClusterState::Active).await.unwrap_err().kind(),
        ErrorKind::InvalidTransition
    );
}

#[tokio::test]
async fn a_cluster_used_by_a_live_deployment_cannot_be_deleted() {
    let (t, store) = tenant().await;
    let id = t.clusters[1].id; // used by stage and dev (they inherit both clusters)
    t.eyrie.transition_cluster(t.root, id, ClusterState::Cancel).await.unwrap();
    let e = t.eyrie.transition_cluster(t.root, id, ClusterState::Delete).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PolicyViolation);
    assert!(e.to_string().contains("2 live deployment"), "{e}");
    for d in [t.preview.id, t.sandbox.id] {
        let read = store.fetch::<Deployment>(d.0).await.unwrap();
        let mut dropped = read.value.clone();
        dropped.state = LifecycleState::Dropped;
        store.commit(Transaction::new().update(&read, dropped)).await.unwrap();
    }
    t.eyrie.transition_cluster(t.root, id, ClusterState::Delete).await.unwrap();
    let mut input = eyrie_testkit::fixtures::new_deployment("late", &t.dev).unwrap();
    input.cluster_ids = [id].into();
    let e = t.eyrie.create_deployment(t.owner, t.group.id, input).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PolicyViolation, "nothing new starts on a deleted cluster: {e}");
}

#[tokio::test]
async fn cluster_uid_is_unique() {
    let (t, _) = tenant().await;
    let input = NewCluster::new("Copy".parse().unwrap(), "uid-eu-1".parse().unwrap(), NewConnection::InCluster);
    assert_eq!(t.eyrie.create_cluster(t.root, input).await.unwrap_err().kind(), ErrorKind::AlreadyExists);
}

#[tokio::test]
async fn secrets_are_sealed_before_they_reach_the_store() {
    let (t, store) = tenant().await;
    let ds = NewDatasource::new("Backups".parse().unwrap(), DataType::S3like, DatasourceUsage::RemoteBackup)
        .with_endpoint("https://s3.example".parse().unwrap())
        .with_bucket("acme")
        .with_connection(SecretString::new("postgres://u:pw-7f3a@db/x"))
        .with_credentials(SecretString::new("AKIA-ACCESS-KEY-9c1e"));
    let created = t.eyrie.create_datasource(t.admin, t.project.id, ds).await.unwrap();
    let bytes = raw_bytes(&store);
    for secret in ["kubeconfig-of-uid-eu-1", "kubeconfig-of-uid-eu-2", "pw-7f3a", "AKIA-ACCESS-KEY-9c1e"] {
        assert!(!contains(&bytes, secret), "{secret} reached the store in plaintext");
    }
    assert!(contains(&bytes, "acme-backups") || contains(&bytes, "s3.example"), "the scan can see plaintext fields");
    assert!(!format!("{created:?}").contains("AKIA"), "Debug never shows a secret");
    let opened = t.eyrie.open_datasource_credentials(t.admin, created.id).await.unwrap().unwrap();
    assert_eq!(opened.expose(), "AKIA-ACCESS-KEY-9c1e");
    assert_eq!(
        t.eyrie.open_datasource_credentials(t.developer, created.id).await.unwrap_err().kind(),
        ErrorKind::PermissionDenied
    );
    let access = t.eyrie.open_cluster(t.root, t.clusters[0].id).await.unwrap();
    assert!(!format!("{access:?}").contains("kubeconfig-of"), "ClusterAccess redacts the kubeconfig");
    assert_eq!(t.eyrie.open_cluster(t.owner, t.clusters[0].id).await.unwrap_err().kind(), ErrorKind::PermissionDenied);
}

#[tokio::test]
async fn rotating_the_key_reseals_every_secret() {
    let (t, store) = tenant().await;
    let rotated = KeyRing::new("test-1", SealingKey::from_bytes([0x42; 32]), CountingNonces::default())
        .unwrap()
        .with_active_key("test-2", SealingKey::from_bytes([0x43; 32]))
        .unwrap();
    let eyrie = Eyrie::new(
        store.clone(),
        Arc::new(ManualClock::new(eyrie_testkit::builders::T0)),
        Arc::new(SequentialIds::starting_at(1_000_000)),
        Arc::new(rotated),
    );
    assert_eq!(eyrie.reseal_all(t.owner).await.unwrap_err().kind(), ErrorKind::PermissionDenied);
    assert_eq!(eyrie.reseal_all(Actor::System).await.unwrap(), 2, "both kubeconfigs");
    assert_eq!(eyrie.reseal_all(Actor::System).await.unwrap(), 0, "nothing left to reseal");
    let only_new = KeyRing::new("test-2", SealingKey::from_bytes([0x43; 32]), CountingNonces::default()).unwrap();
    let eyrie = Eyrie::new(
        store.clone(),
        Arc::new(ManualClock::new(eyrie_testkit::builders::T0)),
        Arc::new(SequentialIds::starting_at(2_000_000)),
        Arc::new(only_new),
    );
    let access = eyrie.open_cluster(t.root, t.clusters[0].id).await.unwrap();
    let eyrie_core::executor::ClusterCredentials::Kubeconfig(k) = access.credentials else {
        panic!("kubeconfig expected")
    };
    assert_eq!(k.expose(), "kubeconfig-of-uid-eu-1", "opens without the old key");
}

#[tokio::test]
async fn an_image_digest_change_redeploys_only_subscribed_deployments_in_deploy() {
    let (t, store) = tenant().await;
    let e = &t.eyrie;
    let repo = e
        .create_repository(
            t.developer,
            NewRepository::new("odoo".parse().unwrap(), "git@git.example:acme/odoo.git".parse().unwrap())
                .with_project_id(t.project.id),
        )
        .await
        .unwrap();
    let image = e
        .create_image(
            t.developer,
            NewImage::new("ghcr.io/acme/odoo:17.0".parse().unwrap())
                .with_project_id(t.project.id)
                .with_repository_id(repo.id)
                .with_tag("17.0".parse().unwrap()),
        )
        .await
        .unwrap();
    assert_eq!(image.reference.as_str(), "ghcr.io/acme/odoo", "the tag is kept apart");
    let settings = Settings::default().with_image_id(image.id);
    e.update_group(t.owner, t.group.id, eyrie_core::service::GroupPatch::default().with_settings(settings.into()))
        .await
        .unwrap();
    // shop and preview run; sandbox is paused; preview is not subscribed.
    for (id, state, subscribed) in [
        (t.shop.id, LifecycleState::Deploy, true),
        (t.preview.id, LifecycleState::Deploy, false),
        (t.sandbox.id, LifecycleState::Pause, true),
    ] {
        let read = store.fetch::<Deployment>(id.0).await.unwrap();
        let mut d = read.value.clone();
        d.state = state;
        d.image_subscribed = subscribed;
        store.commit(Transaction::new().update(&read, d)).await.unwrap();
    }
    let digest = "sha256:1111111111111111111111111111111111111111111111111111111111111111".parse().unwrap();
    let redeploy = e.update_image_digest(t.developer, image.id, digest).await.unwrap();
    assert_eq!(redeploy, vec![t.shop.id]);
    let same = "sha256:1111111111111111111111111111111111111111111111111111111111111111".parse().unwrap();
    assert!(e.update_image_digest(t.developer, image.id, same).await.unwrap().is_empty(), "no change, no redeploy");
    assert_eq!(
        e.update_image_digest(
            t.viewer,
            image.id,
            "sha256:2222222222222222222222222222222222222222222222222222222222222222".parse().unwrap()
        )
        .await
        .unwrap_err()
        .kind(),
        ErrorKind::PermissionDenied
    );
    assert_eq!(store.count(Index::ImageGroups(image.id)).await.unwrap(), 1);
}

#[tokio::test]
async fn global_repositories_are_for_platform_administrators() {
    let (t, _) = tenant().await;
    let input = NewRepository::new("shared".parse().unwrap(), "https://git.example/shared.git".parse().unwrap());
    assert_eq!(
        t.eyrie.create_repository(t.owner, input.clone()).await.unwrap_err().kind(),
        ErrorKind::PermissionDenied
    );
    t.eyrie.create_repository(t.root, input).await.unwrap();
    assert_eq!(t.eyrie.list_repositories(t.viewer, None).await.unwrap().len(), 1);
}

#[tokio::test]
async fn project_code_is_managed_by_developers_not_users() {
    let (t, _) = tenant().await;
    let input = NewRepository::new("addons".parse().unwrap(), "https://git.example/addons.git".parse().unwrap())
        .with_project_id(t.project.id);
    assert_eq!(
        t.eyrie.create_repository(t.viewer, input.clone()).await.unwrap_err().kind(),
        ErrorKind::PermissionDenied
    );
    t.eyrie.create_repository(t.developer, input).await.unwrap();
}
