//! Invariants raced from many tasks at once.

use std::sync::Arc;

use eyrie_core::service::{NewCluster, NewConnection, NewGroup, NewProject, NewScope, ScopeConfig};
use eyrie_core::storage::{Index, Store, StoreExt, Transaction};
use eyrie_core::{Actor, ErrorKind, GroupType, Project, Result, Role, Slug};
use futures::future::join_all;

use crate::fixtures::{new_deployment, service_with, typical_tenant};

/// Counts successes and checks every failure is of `kind`.
fn tally<T: std::fmt::Debug>(results: Vec<Result<T>>, kind: ErrorKind, what: &str) -> usize {
    let mut ok = 0;
    for r in results {
        match r {
            Ok(_) => ok += 1,
            Err(e) => assert_eq!(e.kind(), kind, "{what}: unexpected error {e}"),
        }
    }
    ok
}

/// Runs `n` copies of `make(i)` on the runtime at once.
async fn race<T, F, Fut>(n: usize, make: F) -> Vec<Result<T>>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Result<T>> + Send + 'static,
{
    let handles: Vec<_> = (0..n).map(|i| tokio::spawn(make(i))).collect();
    join_all(handles)
        .await
        .into_iter()
        .map(|h| h.unwrap_or_else(|e| Err(eyrie_core::Error::backend(format!("task failed: {e}"), false))))
        .collect()
}

/// Two writers update one record from the same revision: exactly one wins.
pub async fn race_stale_updates(store: Arc<dyn Store>) {
    let project = crate::builders::project(1, eyrie_core::UserId(1));
    store.commit(Transaction::new().create(project)).await.expect("create");
    let read = store.fetch::<Project>(1).await.expect("read");
    let results = race(8, |i| {
        let store = store.clone();
        let read = read.clone();
        async move {
            let mut p = read.value.clone();
            p.name = format!("Writer {i}").parse()?;
            store.commit(Transaction::new().update(&read, p)).await
        }
    })
    .await;
    assert_eq!(tally(results, ErrorKind::Conflict, "stale updates"), 1, "exactly one update from one revision wins");
    assert_eq!(store.fetch::<Project>(1).await.expect("read").revision, eyrie_core::storage::Revision(2));
}

/// 32 concurrent creates into a scope with limit 5 end with exactly 5 deployments.
pub async fn race_scope_limit(store: Arc<dyn Store>) {
    let t = typical_tenant(store.clone()).await.expect("tenant");
    let mut config = ScopeConfig::default().with_deployment_limit(5);
    config.priority = 5;
    let scope = t
        .eyrie
        .create_scope(
            t.owner,
            t.group.id,
            NewScope::new("QA".parse().expect("n"), "qa".parse().expect("c")).with_config(config),
        )
        .await
        .expect("scope");
    let results = race(32, |i| {
        let (e, owner, group, scope) = (t.eyrie.clone(), t.owner, t.group.id, scope.clone());
        async move { e.create_deployment(owner, group, new_deployment(&format!("qa {i}"), &scope)?).await }
    })
    .await;
    assert_eq!(tally(results, ErrorKind::PolicyViolation, "scope limit"), 5);
    assert_eq!(store.count(Index::ScopeLiveDeployments(scope.id)).await.expect("count"), 5, "exactly 5 deployments");
    assert!(store.verify().await.expect("verify").is_empty());
}

/// 16 concurrent creates of one project slug end with exactly one project.
pub async fn race_project_slug(store: Arc<dyn Store>) {
    let t = typical_tenant(store.clone()).await.expect("tenant");
    let results = race(16, |i| {
        let (e, owner) = (t.eyrie.clone(), t.owner);
        async move {
            let input = NewProject::new(format!("Twin {i}").parse()?).with_slug("twin".parse()?);
            e.create_project(owner, input).await
        }
    })
    .await;
    assert_eq!(tally(results, ErrorKind::AlreadyExists, "project slug"), 1);
    let projects = store.all::<Project>().await.expect("projects");
    assert_eq!(projects.iter().filter(|p| p.value.slug.as_str() == "twin").count(), 1);
    assert_eq!(
        store.list_kind(eyrie_core::storage::EntityKind::Namespace).await.expect("ns").len(),
        2,
        "one namespace each"
    );
}

/// 16 concurrent creates of one group slug in a project end with one group.
pub async fn race_group_slug(store: Arc<dyn Store>) {
    let t = typical_tenant(store.clone()).await.expect("tenant");
    let clusters: std::collections::BTreeSet<_> = t.clusters.iter().map(|c| c.id).collect();
    let results = race(16, |i| {
        let (e, owner, project, clusters) = (t.eyrie.clone(), t.owner, t.project.id, clusters.clone());
        async move {
            let input = NewGroup::new(format!("DB {i}").parse()?, GroupType::Pgo, clusters).with_slug("db".parse()?);
            e.create_group(owner, project, input).await
        }
    })
    .await;
    assert_eq!(tally(results, ErrorKind::AlreadyExists, "group slug"), 1);
    assert_eq!(store.count(Index::ProjectGroups(t.project.id)).await.expect("count"), 2);
}

/// 16 concurrent creates of one scope code in a group end with one scope.
pub async fn race_scope_code(store: Arc<dyn Store>) {
    let t = typical_tenant(store.clone()).await.expect("tenant");
    let results = race(16, |i| {
        let (e, owner, group) = (t.eyrie.clone(), t.owner, t.group.id);
        async move {
            let input = NewScope::new(format!("QA {i}").parse()?, "qa".parse()?);
            e.create_scope(owner, group, input).await
        }
    })
    .await;
    assert_eq!(tally(results, ErrorKind::AlreadyExists, "scope code"), 1);
    assert_eq!(store.count(Index::GroupScopes(t.group.id)).await.expect("count"), 4);
}

/// 16 concurrent creates of one deployment slug in a group end with one deployment.
pub async fn race_deployment_slug(store: Arc<dyn Store>) {
    let t = typical_tenant(store.clone()).await.expect("tenant");
    let results = race(16, |_| {
        let (e, owner, group, dev) = (t.eyrie.clone(), t.owner, t.group.id, t.dev.clone());
        async move { e.create_deployment(owner, group, new_deployment("twin", &dev)?).await }
    })
    .await;
    assert_eq!(tally(results, ErrorKind::AlreadyExists, "deployment slug"), 1);
    let twins = store.children::<eyrie_core::Deployment>(Index::GroupDeployments(t.group.id)).await.expect("list");
    assert_eq!(twins.iter().filter(|d| d.value.slug == Slug::from_name("twin")).count(), 1);
}

/// 16 concurrent registrations of one cluster uid end with one cluster.
pub async fn race_cluster_uid(store: Arc<dyn Store>) {
    let (e, _) = service_with(store.clone(), 1);
    let results = race(16, |i| {
        let e = e.clone();
        async move {
            let input = NewCluster::new(format!("Twin {i}").parse()?, "uid-twin".parse()?, NewConnection::InCluster);
            e.create_cluster(Actor::System, input).await
        }
    })
    .await;
    assert_eq!(tally(results, ErrorKind::AlreadyExists, "cluster uid"), 1);
    assert_eq!(store.list_kind(eyrie_core::storage::EntityKind::Cluster).await.expect("list").len(), 1);
}

/// Two concurrent ownership transfers: exactly one happens, and the project
/// ends with one owner who is an admin member.
pub async fn race_ownership_transfer(store: Arc<dyn Store>) {
    let t = typical_tenant(store.clone()).await.expect("tenant");
    let targets = [t.admin, t.developer, t.viewer];
    let results = race(3, |i| {
        let (e, owner, project) = (t.eyrie.clone(), t.owner, t.project.id);
        let target = match targets[i] {
            Actor::User { id, .. } => id,
            Actor::System => eyrie_core::UserId(0),
        };
        async move { e.transfer_ownership(owner, project, target).await }
    })
    .await;
    assert_eq!(tally(results, ErrorKind::PermissionDenied, "transfers"), 1, "the old owner can transfer only once");
    let project = store.fetch::<Project>(t.project.id.0).await.expect("project").value;
    let members = store.children::<eyrie_core::Membership>(Index::ProjectMembers(t.project.id)).await.expect("members");
    let owner_membership = members.iter().find(|m| m.value.user_id == project.owner).expect("owner is a member");
    assert_eq!(owner_membership.value.role, Role::Admin);
    assert_ne!(Actor::user(project.owner), t.owner);
}
