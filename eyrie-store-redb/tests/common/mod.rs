//! Records and helpers shared by the integration tests. Built from
//! eyrie-core types directly so that the tests depend only on the store.

#![allow(dead_code, unreachable_pub)] // each test binary uses a different part

use std::collections::BTreeSet;
use std::path::Path;

use eyrie_core::storage::{Store, Stored};
use eyrie_core::{
    Deployment, DeploymentGroup, DeploymentId, GroupId, GroupType, LifecycleState, Name, NamespaceUid, Project,
    ProjectId, Role, Scope, ScopeId, Settings, Slug, Timestamp, UserId,
};
use eyrie_store_redb::{RedbConfig, RedbStore};

/// When every test record is created.
pub const T0: Timestamp = Timestamp::from_unix_seconds(1_767_225_600);

fn name(text: &str) -> Name {
    text.parse().expect("a valid name")
}

/// A project with slug `slug`.
pub fn project(id: u64, slug: &str) -> Project {
    Project {
        id: ProjectId(id),
        name: name(&format!("Project {id}")),
        slug: Slug::from_name(slug),
        owner: UserId(1),
        domain: None,
        primary_deployment: None,
        portal_blocked: false,
        namespace_uid: NamespaceUid(1000 + id),
        created_at: T0,
    }
}

/// An Odoo group of `project` with slug `slug`.
pub fn group(id: u64, project: &Project, slug: &str) -> DeploymentGroup {
    DeploymentGroup {
        id: GroupId(id),
        project_id: project.id,
        namespace_uid: project.namespace_uid,
        name: name(&format!("Group {id}")),
        slug: Slug::from_name(slug),
        group_type: GroupType::Odoo,
        group_cluster_ids: BTreeSet::new(),
        settings: Settings::default(),
        state: LifecycleState::Draft,
        created_at: T0,
    }
}

/// A scope of `group` with code `code`.
pub fn scope(id: u64, group: &DeploymentGroup, code: &str) -> Scope {
    Scope {
        id: ScopeId(id),
        project_id: group.project_id,
        group_id: group.id,
        name: name(code),
        code: Slug::from_name(code),
        priority: 0,
        sequence: 0,
        deployment_limit: None,
        deployment_cluster_ids: BTreeSet::new(),
        root_subdomain: None,
        allow_drop: true,
        monitor: false,
        gather_logs: false,
        role_to_admin: Role::Admin,
        deployment_pause_after_seconds: None,
        deployment_drop_after_seconds: None,
        restore_from_scope: None,
        backup_dest_datasource: None,
        monitor_log_delete_after_seconds: None,
        settings: Settings::default(),
        created_at: T0,
    }
}

/// A draft deployment of `group` in `scope`.
pub fn deployment(id: u64, group: &DeploymentGroup, scope: &Scope, slug: &str) -> Deployment {
    Deployment {
        id: DeploymentId(id),
        project_id: group.project_id,
        group_id: group.id,
        scope_id: scope.id,
        namespace_uid: group.namespace_uid,
        name: name(slug),
        slug: Slug::from_name(slug),
        cluster_ids: BTreeSet::new(),
        image_subscribed: false,
        settings: Settings::default(),
        state: LifecycleState::Draft,
        entered_deploy_at: None,
        deployed_digest: None,
        observed: None,
        last_error: None,
        created_at: T0,
    }
}

/// The store file inside `dir`.
pub fn db_path(dir: &Path) -> std::path::PathBuf {
    dir.join("eyrie.redb")
}

/// Opens (or creates) the store in `dir` with immediate durability.
pub async fn open(dir: &Path) -> RedbStore {
    RedbStore::open(RedbConfig::new(db_path(dir))).await.expect("the store opens")
}

/// Fails the test if `store` is inconsistent.
pub async fn assert_consistent(store: &impl Store) {
    let problems = store.verify().await.expect("verify runs");
    assert!(problems.is_empty(), "verify found problems: {problems:#?}");
}

/// Every record as `(key, revision)`, for compact comparisons.
pub fn keys_and_revisions(records: &[Stored]) -> Vec<(String, u64)> {
    records.iter().map(|s| (s.record.key().to_string(), s.revision.0)).collect()
}
