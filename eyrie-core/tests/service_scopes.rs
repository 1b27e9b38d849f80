//! SPEC §2 — scopes, through the service. Each test names its rule.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::sync::Arc;

use eyrie_core::service::{DeploymentPatch, NewDatasource, ScopeConfig, ScopePatch};
use eyrie_core::storage::{Index, Store, StoreExt};
use eyrie_core::{DataType, DatasourceUsage, ErrorKind, Role, ScopeId};
use eyrie_testkit::MemoryStore;
use eyrie_testkit::fixtures::{Tenant, new_deployment, new_scope, typical_tenant};

async fn tenant() -> (Tenant, Arc<MemoryStore>) {
    let store = Arc::new(MemoryStore::new());
    (typical_tenant(store.clone()).await.unwrap(), store)
}

#[tokio::test]
async fn scope_code_is_unique_in_its_group() {
    let (t, _) = tenant().await;
    let e = t
        .eyrie
        .create_scope(t.admin, t.group.id, new_scope("prod", ScopeConfig::default()).unwrap())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists);
}

#[tokio::test]
async fn scopes_list_by_priority_then_sequence() {
    let (t, _) = tenant().await;
    let cfg = ScopeConfig::default().with_priority(20).with_sequence(-1);
    t.eyrie.create_scope(t.admin, t.group.id, new_scope("uat", cfg).unwrap()).await.unwrap();
    let codes: Vec<String> =
        t.eyrie.list_scopes(t.viewer, t.group.id).await.unwrap().iter().map(|s| s.code.to_string()).collect();
    assert_eq!(codes, ["prod", "uat", "stage", "dev"]);
}

#[tokio::test]
async fn deployment_limit_refuses_a_create_into_a_full_scope() {
    let (t, store) = tenant().await;
    for i in 0..2 {
        t.eyrie
            .create_deployment(t.developer, t.group.id, new_deployment(&format!("p{i}"), &t.prod).unwrap())
            .await
            .unwrap();
    }
    let before = store.dump().await.unwrap();
    let e =
        t.eyrie.create_deployment(t.developer, t.group.id, new_deployment("p9", &t.prod).unwrap()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PolicyViolation);
    assert!(e.to_string().contains("deployment_limit is 3"), "{e}");
    assert_eq!(store.dump().await.unwrap(), before);
}

#[tokio::test]
async fn deployment_limit_refuses_a_move_into_a_full_scope() {
    let (t, _) = tenant().await;
    let cfg = ScopeConfig::default().with_deployment_limit(1);
    let tiny = t.eyrie.create_scope(t.admin, t.group.id, new_scope("tiny", cfg).unwrap()).await.unwrap();
    t.eyrie.move_deployment(t.admin, t.preview.id, tiny.id).await.unwrap();
    let e = t.eyrie.move_deployment(t.admin, t.sandbox.id, tiny.id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PolicyViolation, "{e}");
    let limit_too_low =
        ScopePatch::default().with_config(eyrie_core::ScopeConfigPatch::default().with_deployment_limit(Some(0)));
    assert_eq!(
        t.eyrie.update_scope(t.admin, tiny.id, limit_too_low).await.unwrap_err().kind(),
        ErrorKind::PolicyViolation
    );
}

#[tokio::test]
async fn scope_clusters_must_be_a_subset_of_the_groups() {
    let (t, _) = tenant().await;
    let cfg = ScopeConfig::default().with_deployment_cluster_ids([eyrie_core::ClusterId(u64::MAX)].into());
    let e = t.eyrie.create_scope(t.admin, t.group.id, new_scope("edge", cfg).unwrap()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PolicyViolation);
}

#[tokio::test]
async fn deployment_clusters_must_be_a_non_empty_subset_of_the_scopes_effective_clusters() {
    let (t, _) = tenant().await;
    let mut input = new_deployment("pinned", &t.prod).unwrap();
    input.cluster_ids = [t.clusters[1].id].into();
    let e = t.eyrie.create_deployment(t.admin, t.group.id, input.clone()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PolicyViolation, "prod allows only the first cluster");
    input.cluster_ids = [t.clusters[0].id].into();
    let d = t.eyrie.create_deployment(t.admin, t.group.id, input).await.unwrap();
    assert_eq!(t.eyrie.effective(t.viewer, d.id).await.unwrap().cluster_ids.value, [t.clusters[0].id].into());
    let inherited = t.eyrie.effective(t.viewer, t.sandbox.id).await.unwrap().cluster_ids.value;
    assert_eq!(inherited.len(), 2, "dev inherits both of the group's clusters");
}

#[tokio::test]
async fn moving_a_deployment_needs_role_to_admin_of_both_scopes_and_its_clusters_allowed() {
    let (t, _) = tenant().await;
    // The developer passes dev's role_to_admin (developer) but not prod's (admin).
    let e = t.eyrie.move_deployment(t.developer, t.sandbox.id, t.prod.id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
    let pinned = DeploymentPatch::default().with_cluster_ids([t.clusters[1].id].into());
    t.eyrie.update_deployment(t.admin, t.sandbox.id, pinned).await.unwrap();
    let e = t.eyrie.move_deployment(t.admin, t.sandbox.id, t.prod.id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PolicyViolation, "its cluster is not allowed in prod: {e}");
    let moved = t.eyrie.move_deployment(t.admin, t.preview.id, t.prod.id).await.unwrap();
    assert_eq!(moved.scope_id, t.prod.id);
}

#[tokio::test]
async fn moving_a_deployment_stays_within_its_group() {
    let (t, _) = tenant().await;
    let other = t
        .eyrie
        .create_group(
            t.admin,
            t.project.id,
            eyrie_core::service::NewGroup::new(
                "Other".parse().unwrap(),
                eyrie_core::GroupType::None,
                [t.clusters[0].id].into(),
            ),
        )
        .await
        .unwrap();
    let foreign =
        t.eyrie.create_scope(t.admin, other.id, new_scope("dev", ScopeConfig::default()).unwrap()).await.unwrap();
    let e = t.eyrie.move_deployment(t.admin, t.sandbox.id, foreign.id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "scopes are looked up within the deployment's group: {e}");
}

#[tokio::test]
async fn restore_from_scope_must_be_another_scope_of_the_same_group() {
    let (t, _) = tenant().await;
    let ok = ScopeConfig::default().with_restore_from_scope(t.prod.id);
    t.eyrie.create_scope(t.admin, t.group.id, new_scope("qa", ok).unwrap()).await.unwrap();
    let bad = ScopeConfig::default().with_restore_from_scope(ScopeId(u64::MAX));
    assert_eq!(
        t.eyrie.create_scope(t.admin, t.group.id, new_scope("qa2", bad).unwrap()).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    let itself = ScopeConfig::default().with_restore_from_scope(t.dev.id);
    let e = t.eyrie.update_scope(t.admin, t.dev.id, ScopePatch::default().with_config(itself.into())).await;
    assert_eq!(e.unwrap_err().kind(), ErrorKind::PolicyViolation);
}

#[tokio::test]
async fn backup_destination_must_be_an_s3like_datasource_of_the_project() {
    let (t, _) = tenant().await;
    let ds = |data_type| {
        NewDatasource::new("Backups".parse().unwrap(), data_type, DatasourceUsage::RemoteBackup)
            .with_endpoint("https://s3.example".parse().unwrap())
            .with_bucket("acme-backups")
            .with_credentials(eyrie_core::SecretString::new("AKIA/secret"))
    };
    let s3 = t.eyrie.create_datasource(t.admin, t.project.id, ds(DataType::S3like)).await.unwrap();
    let db = t.eyrie.create_datasource(t.admin, t.project.id, ds(DataType::Database)).await.unwrap();
    let cfg = |d| ScopeConfig::default().with_backup_dest_datasource(d);
    t.eyrie.create_scope(t.admin, t.group.id, new_scope("bk", cfg(s3.id)).unwrap()).await.unwrap();
    let e = t.eyrie.create_scope(t.admin, t.group.id, new_scope("bk2", cfg(db.id)).unwrap()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PolicyViolation);
}

#[tokio::test]
async fn scope_monitor_gives_new_deployments_a_default_monitor() {
    let (t, store) = tenant().await;
    assert_eq!(store.count(Index::DeploymentMonitors(t.shop.id)).await.unwrap(), 1, "prod: monitor = true");
    assert_eq!(store.count(Index::DeploymentMonitors(t.sandbox.id)).await.unwrap(), 0, "dev: monitor = false");
}

#[tokio::test]
async fn deleting_a_scope_with_live_deployments_is_refused() {
    let (t, store) = tenant().await;
    let e = t.eyrie.delete_scope(t.admin, t.dev.id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PolicyViolation);
    let empty =
        t.eyrie.create_scope(t.admin, t.group.id, new_scope("empty", ScopeConfig::default()).unwrap()).await.unwrap();
    t.eyrie.delete_scope(t.admin, empty.id).await.unwrap();
    assert!(store.find::<eyrie_core::Scope>(empty.id.0).await.unwrap().is_none());
}

#[tokio::test]
async fn managing_scopes_needs_admin() {
    let (t, _) = tenant().await;
    let e = t.eyrie.create_scope(t.developer, t.group.id, new_scope("x", ScopeConfig::default()).unwrap()).await;
    assert_eq!(e.unwrap_err().kind(), ErrorKind::PermissionDenied);
    let cfg = ScopeConfig::default().with_role_to_admin(Role::User);
    let e = t.eyrie.update_scope(t.developer, t.dev.id, ScopePatch::default().with_config(cfg.into())).await;
    assert_eq!(e.unwrap_err().kind(), ErrorKind::PermissionDenied);
}

#[tokio::test]
async fn patches_change_only_the_fields_they_name() {
    let (t, _) = tenant().await;
    let patch = ScopePatch::default()
        .with_config(eyrie_core::ScopeConfigPatch::default().with_monitor_log_delete_after_seconds(Some(60)));
    let prod = t.eyrie.update_scope(t.owner, t.prod.id, patch).await.unwrap();
    assert_eq!(prod.monitor_log_delete_after_seconds, Some(60));
    assert_eq!(prod.deployment_limit, Some(3), "the limit was not named, so it stays");
    assert_eq!(prod.deployment_cluster_ids, t.prod.deployment_cluster_ids);
    assert!(prod.monitor, "monitor stays on");

    let mut params = std::collections::BTreeMap::new();
    params.insert("workers".to_owned(), Some("4".to_owned()));
    let settings = eyrie_core::SettingsPatch::default().with_params(params.clone());
    let patch = eyrie_core::service::DeploymentPatch::default().with_settings(settings);
    let d = t.eyrie.update_deployment(t.owner, t.sandbox.id, patch).await.unwrap();
    let mut more = std::collections::BTreeMap::new();
    more.insert("db_filter".to_owned(), Some("^sandbox$".to_owned()));
    let settings = eyrie_core::SettingsPatch::default().with_replicas(Some(1)).with_params(more);
    let patch = eyrie_core::service::DeploymentPatch::default().with_settings(settings);
    let d2 = t.eyrie.update_deployment(t.owner, t.sandbox.id, patch).await.unwrap();
    assert_eq!(d.settings.params.get("workers").map(String::as_str), Some("4"));
    assert_eq!(d2.settings.params.get("workers").map(String::as_str), Some("4"), "a key not named stays");
    assert_eq!(d2.settings.params.get("db_filter").map(String::as_str), Some("^sandbox$"));
    assert_eq!(d2.settings.replicas, Some(1));
    params.insert("workers".to_owned(), None);
    let settings = eyrie_core::SettingsPatch::default().with_params(params).with_replicas(None);
    let patch = eyrie_core::service::DeploymentPatch::default().with_settings(settings);
    let d3 = t.eyrie.update_deployment(t.owner, t.sandbox.id, patch).await.unwrap();
    assert!(!d3.settings.params.contains_key("workers") && d3.settings.replicas.is_none(), "removed and cleared");
}
