//! The conformance suite: checks that any [`Store`] must pass.
//!
//! Every backend crate runs [`run_all`] against its own store; CI runs it
//! against [`crate::MemoryStore`]. Each check takes a fresh, empty store from
//! the factory it is given, and panics with a message naming the broken
//! guarantee. The individual checks are public so a backend can run one in
//! isolation while debugging.

use std::future::Future;
use std::sync::Arc;

use eyrie_core::service::{NewDeployment, NewGroup, NewProject, ScopeConfig, ScopePatch};
use eyrie_core::storage::{Check, EntityKind, Index, Revision, Store, StoreExt, Transaction, UniqueKey};
use eyrie_core::{Actor, ClusterState, Deployment, ErrorKind, GroupType, LifecycleState, Project, Role};

use crate::fixtures::typical_tenant;

mod layer;
mod model;
mod races;

pub use layer::{
    counts_follow_the_lists, oversized_records_are_refused, reads_yield_to_commits, snapshot_sees_one_state,
};
pub use model::{Rng, model_based};
pub use races::{
    race_cluster_uid, race_deployment_slug, race_group_slug, race_ownership_transfer, race_project_slug,
    race_scope_code, race_scope_limit, race_stale_updates,
};

/// Runs every check, each on a fresh store from `make`; a check that needs
/// a capability ([`Store::capabilities`]) adapts to what the store declares.
pub async fn run_all<F, Fut>(make: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn Store>>,
{
    crud_and_revisions(make().await).await;
    listing_by_parent(make().await).await;
    listing_by_time(make().await).await;
    race_stale_updates(make().await).await;
    race_scope_limit(make().await).await;
    race_project_slug(make().await).await;
    race_group_slug(make().await).await;
    race_scope_code(make().await).await;
    race_deployment_slug(make().await).await;
    race_cluster_uid(make().await).await;
    race_ownership_transfer(make().await).await;
    cascade_and_refusal(make().await).await;
    refused_operations_change_nothing(make().await).await;
    snapshot_sees_one_state(make().await).await;
    counts_follow_the_lists(make().await).await;
    oversized_records_are_refused(make().await).await;
    reads_yield_to_commits(make().await).await;
    model_based(make().await, 0x5eed_0001, 400).await;
}

async fn assert_consistent(store: &dyn Store, when: &str) {
    let problems = store.verify().await.unwrap_or_else(|e| panic!("{when}: verify failed: {e}"));
    assert!(problems.is_empty(), "{when}: indexes disagree with records:\n{}", problems.join("\n"));
}

/// Create, read, update with revisions, conflicts, delete.
pub async fn crud_and_revisions(store: Arc<dyn Store>) {
    let project = crate::builders::project(1, eyrie_core::UserId(1));
    let key = eyrie_core::storage::Entity::key(&project);
    assert!(store.get(key).await.expect("get").is_none(), "an empty store has no records");
    let receipt = store.commit(Transaction::new().create(project.clone())).await.expect("create");
    assert_eq!(receipt.written, vec![(key, Some(Revision::FIRST))], "a create reports revision 1");
    let read = store.fetch::<Project>(1).await.expect("fetch");
    assert_eq!((read.revision, &read.value), (Revision::FIRST, &project));

    let again = store.commit(Transaction::new().create(project.clone())).await.expect_err("duplicate create");
    assert_eq!(again.kind(), ErrorKind::AlreadyExists);
    let absent = store.commit(Transaction::new().check(Check::Absent(key))).await.expect_err("absent check");
    assert_eq!(absent.kind(), ErrorKind::AlreadyExists);

    let mut renamed = project.clone();
    renamed.name = "Renamed".parse().expect("name");
    store.commit(Transaction::new().update(&read, renamed.clone())).await.expect("update");
    let read2 = store.fetch::<Project>(1).await.expect("fetch");
    assert_eq!((read2.revision, &read2.value), (Revision(2), &renamed), "an update bumps the revision");

    let stale = store.commit(Transaction::new().update(&read, project.clone())).await.expect_err("stale update");
    assert_eq!(stale.kind(), ErrorKind::Conflict, "a write based on a stale revision conflicts");
    assert!(stale.is_retryable());
    let stale_check = store.commit(Transaction::new().unchanged(&read)).await.expect_err("stale check");
    assert_eq!(stale_check.kind(), ErrorKind::Conflict);
    assert_eq!(store.fetch::<Project>(1).await.expect("fetch").value, renamed, "refused writes change nothing");

    let by_slug =
        store.find_unique::<Project>(&UniqueKey::ProjectSlug(project.slug.to_string())).await.expect("unique");
    assert_eq!(by_slug.map(|v| v.value.id), Some(project.id), "unique values find their record");

    let stale_delete = store.commit(Transaction::new().delete(&read)).await.expect_err("stale delete");
    assert_eq!(stale_delete.kind(), ErrorKind::Conflict);
    store.commit(Transaction::new().delete(&read2)).await.expect("delete");
    assert!(store.get(key).await.expect("get").is_none());
    let gone = store.commit(Transaction::new().delete(&read2)).await.expect_err("delete twice");
    assert_eq!(gone.kind(), ErrorKind::NotFound);
    let by_slug = store.get_unique(&UniqueKey::ProjectSlug(project.slug.to_string())).await.expect("unique");
    assert!(by_slug.is_none(), "a deleted record releases its unique values");
    let missing = store.fetch::<Project>(99).await.expect_err("fetch missing");
    assert_eq!(missing.kind(), ErrorKind::NotFound);
    assert_consistent(&*store, "after crud").await;
}

/// Children by parent, kinds, counts.
pub async fn listing_by_parent(store: Arc<dyn Store>) {
    let t = typical_tenant(store.clone()).await.expect("tenant");
    let groups = store.list(Index::ProjectGroups(t.project.id)).await.expect("list");
    assert_eq!(groups.len(), 1);
    let scopes = store.children::<eyrie_core::Scope>(Index::GroupScopes(t.group.id)).await.expect("scopes");
    let mut codes: Vec<String> = scopes.iter().map(|s| s.value.code.to_string()).collect();
    codes.sort();
    assert_eq!(codes, ["dev", "prod", "stage"]);
    let deployments = store.children::<Deployment>(Index::GroupDeployments(t.group.id)).await.expect("deps");
    assert_eq!(deployments.len(), 3);
    let in_prod = store.children::<Deployment>(Index::ScopeDeployments(t.prod.id)).await.expect("prod");
    assert_eq!(in_prod.iter().map(|d| d.value.id).collect::<Vec<_>>(), vec![t.shop.id]);
    let ids: Vec<u64> = deployments.iter().map(|d| d.value.id.0).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "lists come in id order");
    assert_eq!(store.count(Index::ProjectMembers(t.project.id)).await.expect("count"), 4, "owner + 3 members");
    assert_eq!(store.count(Index::DeploymentVersions(t.shop.id)).await.expect("count"), 1);
    assert_eq!(store.count(Index::DeploymentMonitors(t.shop.id)).await.expect("count"), 1, "prod has monitor = true");
    assert!(store.count(Index::ProjectAudit(t.project.id)).await.expect("count") >= 10);
    assert_eq!(store.list_kind(EntityKind::User).await.expect("users").len(), 5);
    assert_eq!(store.list_kind(EntityKind::Cluster).await.expect("clusters").len(), 2);
    let empty = store.list(Index::GroupScopes(eyrie_core::GroupId(u64::MAX))).await.expect("empty list");
    assert!(empty.is_empty());
    let dump = store.dump().await.expect("dump");
    let keys: Vec<_> = dump.iter().map(|s| s.record.key()).collect();
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "dump is in key order");
    assert_consistent(&*store, "after the tenant").await;
}

/// Range reads over a time index: everything due up to an instant, nothing later.
pub async fn listing_by_time(store: Arc<dyn Store>) {
    let project = crate::builders::project(1, eyrie_core::UserId(1));
    let group = crate::builders::group(2, &project, GroupType::Odoo, &[1]);
    let scope = crate::builders::scope(3, &group, "dev");
    let mut tx = Transaction::new().create(project).create(group.clone()).create(scope.clone());
    let base = crate::builders::T0;
    for i in 0..20u64 {
        let mut d = crate::builders::deployment(100 + i, &group, &scope, &format!("d{i}"));
        d.state = LifecycleState::Deploy;
        // Due every 10 minutes, in reverse id order to show the list is ordered by time.
        d.timer_due_at = Some(base.plus_seconds((20 - i) * 600));
        tx = tx.create(d);
    }
    store.commit(tx).await.expect("setup");
    let due = |seconds: u64| {
        let store = store.clone();
        async move {
            let until = Index::time_parent(base.plus_seconds(seconds));
            let found = store.list_between(Index::DeploymentTimers(0), Index::DeploymentTimers(until)).await;
            found.expect("list_between").into_iter().map(|s| s.record.key().id).collect::<Vec<_>>()
        }
    };
    assert!(due(599).await.is_empty(), "nothing is due before the first deadline");
    assert_eq!(due(600).await, vec![119], "a deadline is included");
    assert_eq!(due(1800).await, vec![119, 118, 117], "ordered by due time");
    assert_eq!(due(1_000_000).await.len(), 20);
    let other = store.list_between(Index::BackupsDue(0), Index::BackupsDue(u64::MAX)).await.expect("other index");
    assert!(other.is_empty(), "another time index is not mixed in");
}

/// Deletes cascade where they should and are refused where they must be.
pub async fn cascade_and_refusal(store: Arc<dyn Store>) {
    let t = typical_tenant(store.clone()).await.expect("tenant");
    let e = &t.eyrie;
    let before = store.dump().await.expect("dump");
    let refused = [
        e.delete_group(t.owner, t.group.id).await.expect_err("group with live deployments"),
        e.delete_scope(t.owner, t.dev.id).await.expect_err("scope with a live deployment"),
        e.delete_project(t.owner, t.project.id).await.expect_err("project with live deployments"),
    ];
    for err in &refused {
        assert_eq!(err.kind(), ErrorKind::PolicyViolation, "{err}");
    }
    assert_eq!(store.dump().await.expect("dump"), before, "refused deletes change nothing");
    e.transition_cluster(t.root, t.clusters[0].id, ClusterState::Cancel).await.expect("cancel");
    let before = store.dump().await.expect("dump");
    let in_use = e.transition_cluster(t.root, t.clusters[0].id, ClusterState::Delete).await.expect_err("in use");
    assert_eq!(in_use.kind(), ErrorKind::PolicyViolation, "{in_use}");
    assert_eq!(store.dump().await.expect("dump"), before, "a refused cluster delete changes nothing");

    // Drop every deployment (directly: the lifecycle engine is another layer).
    for d in store.children::<Deployment>(Index::GroupDeployments(t.group.id)).await.expect("deps") {
        let mut dropped = d.value.clone();
        dropped.state = LifecycleState::Dropped;
        store.commit(Transaction::new().update(&d, dropped)).await.expect("drop");
    }
    assert_eq!(store.count(Index::ScopeLiveDeployments(t.prod.id)).await.expect("count"), 0, "tombstones are not live");
    e.transition_cluster(t.root, t.clusters[0].id, ClusterState::Delete).await.expect("unused cluster can be deleted");
    e.delete_scope(t.owner, t.stage.id).await.expect("a scope without live deployments can be deleted");
    e.delete_group(t.owner, t.group.id).await.expect("a group without live deployments can be deleted");
    assert_eq!(store.count(Index::GroupScopes(t.group.id)).await.expect("count"), 0, "scopes go with the group");
    assert_eq!(store.count(Index::GroupDeployments(t.group.id)).await.expect("count"), 0);
    assert_eq!(store.count(Index::DeploymentVersions(t.shop.id)).await.expect("count"), 0);
    assert_eq!(store.count(Index::DeploymentMonitors(t.shop.id)).await.expect("count"), 0);
    assert_eq!(store.count(Index::ProjectOverrides(t.project.id)).await.expect("count"), 0, "overrides on it too");
    e.delete_project(t.owner, t.project.id).await.expect("delete project");
    assert!(store.find::<Project>(t.project.id.0).await.expect("find").is_none());
    assert_eq!(store.count(Index::ProjectMembers(t.project.id)).await.expect("count"), 0);
    assert!(store.count(Index::ProjectAudit(t.project.id)).await.expect("count") > 0, "audit events stay");
    let taken = e
        .create_project(t.owner, NewProject::new("Acme".parse().expect("name")))
        .await
        .expect("the slug is free again");
    assert_eq!(taken.slug.as_str(), "acme");
    assert_consistent(&*store, "after cascades").await;
}

/// A refused or invalid call leaves a full dump of the store unchanged.
pub async fn refused_operations_change_nothing(store: Arc<dyn Store>) {
    let t = typical_tenant(store.clone()).await.expect("tenant");
    let e = &t.eyrie;
    let before = store.dump().await.expect("dump");
    let group = |slug: &str| {
        NewGroup::new("Other".parse().expect("name"), GroupType::Pgo, t.clusters.iter().map(|c| c.id).collect())
            .with_slug(slug.parse().expect("slug"))
    };
    let mut full = ScopeConfig::default().with_deployment_limit(0);
    full.priority = 1;
    let attempts: Vec<(&str, eyrie_core::Error)> = vec![
        ("viewer creates a group", e.create_group(t.viewer, t.project.id, group("db")).await.expect_err("denied")),
        ("duplicate group slug", e.create_group(t.owner, t.project.id, group("shop")).await.expect_err("dup")),
        ("developer deletes a group", e.delete_group(t.developer, t.group.id).await.expect_err("owner only")),
        (
            "deployment into another group's scope",
            e.create_deployment(
                t.owner,
                t.group.id,
                NewDeployment::new("x".parse().expect("name"), eyrie_core::ScopeId(u64::MAX)),
            )
            .await
            .expect_err("unknown scope"),
        ),
        (
            "limit below live deployments",
            e.update_scope(t.owner, t.prod.id, ScopePatch::default().with_config(full.into()))
                .await
                .expect_err("limit"),
        ),
        (
            "stranger reads",
            e.get_project(Actor::user(eyrie_core::UserId(u64::MAX)), t.project.id).await.expect_err("no"),
        ),
        (
            "admin removes admin",
            e.change_role(t.admin, t.project.id, user_of(t.admin), Role::User).await.expect_err("x"),
        ),
        ("owner demoted", e.change_role(t.owner, t.project.id, user_of(t.owner), Role::User).await.expect_err("x")),
        ("non-admin links clusters", e.create_cluster(t.owner, crate_cluster()).await.expect_err("platform only")),
    ];
    for (what, err) in &attempts {
        assert!(
            matches!(
                err.kind(),
                ErrorKind::PermissionDenied
                    | ErrorKind::AlreadyExists
                    | ErrorKind::PolicyViolation
                    | ErrorKind::NotFound
            ),
            "{what}: unexpected {err}"
        );
    }
    assert_eq!(store.dump().await.expect("dump"), before, "refused operations changed the store");
}

fn user_of(actor: Actor) -> eyrie_core::UserId {
    match actor {
        Actor::User { id, .. } => id,
        Actor::System => eyrie_core::UserId(0),
    }
}

fn crate_cluster() -> eyrie_core::service::NewCluster {
    eyrie_core::service::NewCluster::new(
        "Rogue".parse().expect("name"),
        "uid-rogue".parse().expect("uid"),
        eyrie_core::service::NewConnection::InCluster,
    )
}
