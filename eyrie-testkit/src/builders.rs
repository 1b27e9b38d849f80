//! Builders for records with sensible defaults, so a test states only what
//! it cares about. Ids are given explicitly; every record is created at
//! [`T0`].

use std::collections::BTreeSet;

use eyrie_core::{
    Cluster, ClusterConnection, ClusterId, ClusterState, Deployment, DeploymentGroup, DeploymentId, Grants, GroupId,
    GroupType, LifecycleState, Name, NamespaceUid, Principal, Project, ProjectFacts, ProjectId, Resource, Scope,
    ScopeConfig, ScopeId, Settings, Slug, Timestamp, UserId,
};

/// The instant every built record is created at: 2026-01-01T00:00:00Z.
pub const T0: Timestamp = Timestamp::from_unix_seconds(1_767_225_600);

fn name(text: &str) -> Name {
    Name::try_from(text).unwrap_or_else(|_| Name::try_from("unnamed").unwrap_or_else(|_| unreachable!()))
}

/// A project owned by `owner`, slug `acme-<id>`, namespace uid `1000 + id`.
pub fn project(id: u64, owner: UserId) -> Project {
    Project {
        id: ProjectId(id),
        name: name(&format!("Acme {id}")),
        slug: Slug::from_name(&format!("acme-{id}")),
        owner,
        domain: None,
        primary_deployment: None,
        portal_blocked: false,
        namespace_uid: NamespaceUid(1000 + id),
        created_at: T0,
    }
}

/// A group of `project` with the given type and clusters.
pub fn group(id: u64, project: &Project, group_type: GroupType, clusters: &[u64]) -> DeploymentGroup {
    DeploymentGroup {
        id: GroupId(id),
        project_id: project.id,
        namespace_uid: project.namespace_uid,
        name: name(&format!("Group {id}")),
        slug: Slug::from_name(&format!("group-{id}")),
        group_type,
        group_cluster_ids: clusters.iter().copied().map(ClusterId).collect(),
        settings: Settings::default(),
        state: LifecycleState::Draft,
        created_at: T0,
    }
}

/// A scope of `group` with code `code`: unlimited, no own clusters, drops
/// allowed, no timers, `role_to_admin = admin`.
pub fn scope(id: u64, group: &DeploymentGroup, code: &str) -> Scope {
    let config = ScopeConfig::default().with_allow_drop(true);
    Scope::new(ScopeId(id), group, name(code), Slug::from_name(code), T0, config)
}

/// A draft deployment of `group` in `scope` with slug `slug`, inheriting its clusters.
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
        timer_due_at: None,
        hostname: None,
        observed: None,
        last_error: None,
        created_at: T0,
    }
}

/// An in-cluster cluster in `state`, slug `cluster-<id>`, uid `uid-<id>`.
pub fn cluster(id: u64, state: ClusterState) -> Cluster {
    Cluster {
        id: ClusterId(id),
        name: name(&format!("Cluster {id}")),
        slug: Slug::from_name(&format!("cluster-{id}")),
        uid: name(&format!("uid-{id}")),
        connection: ClusterConnection::InCluster,
        state,
        created_at: T0,
    }
}

/// The authorization facts of `project`.
pub fn facts(project: &Project) -> ProjectFacts {
    ProjectFacts { id: project.id, owner: project.owner, portal_blocked: project.portal_blocked }
}

/// `deployment` as an authorization resource with `grants`.
pub fn deployment_resource(project: &Project, scope: &Scope, deployment: &Deployment, grants: Grants) -> Resource {
    Resource::Deployment {
        project: facts(project),
        group: deployment.group_id,
        deployment: deployment.id,
        role_to_admin: scope.role_to_admin,
        grants,
    }
}

/// A user principal who is not a platform administrator.
pub fn user(id: u64) -> Principal {
    Principal::user(UserId(id))
}
