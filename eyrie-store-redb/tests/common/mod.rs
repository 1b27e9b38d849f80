//! Records and helpers shared by the integration tests: the testkit's
//! builders with the slugs a test chooses, and store shortcuts.

#![allow(dead_code, unreachable_pub)] // each test binary uses a different part

use std::path::Path;

use eyrie_core::storage::{Store, Stored};
use eyrie_core::{Deployment, DeploymentGroup, GroupType, Project, Scope, Slug, UserId};
use eyrie_store_redb::{RedbConfig, RedbStore};
use eyrie_testkit::builders;

/// A project with slug `slug`, owned by user 1.
pub fn project(id: u64, slug: &str) -> Project {
    let mut project = builders::project(id, UserId(1));
    project.slug = Slug::from_name(slug);
    project
}

/// An Odoo group of `project` with slug `slug` and no clusters.
pub fn group(id: u64, project: &Project, slug: &str) -> DeploymentGroup {
    let mut group = builders::group(id, project, GroupType::Odoo, &[]);
    group.slug = Slug::from_name(slug);
    group
}

/// An unlimited scope of `group` with code `code`.
pub fn scope(id: u64, group: &DeploymentGroup, code: &str) -> Scope {
    builders::scope(id, group, code)
}

/// A draft deployment of `group` in `scope`.
pub fn deployment(id: u64, group: &DeploymentGroup, scope: &Scope, slug: &str) -> Deployment {
    builders::deployment(id, group, scope, slug)
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
