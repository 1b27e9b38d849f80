//! Scope rules (SPEC §2) as pure functions: effective clusters, cluster
//! eligibility, `deployment_limit`, scope moves, `allow_drop` and the pause
//! and drop timers.
//!
//! Choices made where SPEC is silent:
//! - A deployment with no clusters of its own inherits its scope's effective
//!   clusters (which are the group's when the scope names none).
//! - Timers are due **at** their deadline: a deployment that entered `deploy`
//!   at `t` with `deployment_pause_after_seconds = s` is due for pause from
//!   `t + s` on (one second earlier it is not).
//! - The pause timer applies in `deploy`; the drop timer in `deploy` and
//!   `pause` (a deployment paused by its timer is still dropped on time),
//!   both measured from the last entry into `deploy`. When both are due the
//!   drop wins; when the scope forbids drops, a due drop never fires and the
//!   pause timer still does.
//! - A deployment that never entered `deploy` has no timers.

use crate::permission::Principal;
use std::collections::BTreeSet;

use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::ids::ClusterId;
use crate::lifecycle::{ClusterState, LifecycleState};
use crate::model::{Cluster, Deployment, DeploymentGroup, Scope};
use crate::permission::{Action, Resource, authorize};

/// Checks that a scope's own cluster list is a subset of its group's.
pub fn check_scope_clusters(group: &DeploymentGroup, scope_cluster_ids: &BTreeSet<ClusterId>) -> Result<()> {
    match scope_cluster_ids.difference(&group.group_cluster_ids).next() {
        Some(outside) => Err(Error::policy(format!(
            "cluster {outside} is not one of group {}'s clusters; a scope may only narrow its group's clusters",
            group.slug
        ))),
        None => Ok(()),
    }
}

/// The clusters a scope's deployments may use: its own list when it has one
/// (checked to be a subset of the group's), else the group's.
pub fn effective_clusters(group: &DeploymentGroup, scope: &Scope) -> Result<BTreeSet<ClusterId>> {
    if scope.deployment_cluster_ids.is_empty() {
        return Ok(group.group_cluster_ids.clone());
    }
    check_scope_clusters(group, &scope.deployment_cluster_ids)?;
    Ok(scope.deployment_cluster_ids.clone())
}

/// The clusters a deployment runs on: its own when it names some, else its
/// scope's effective clusters. Fails unless the result is a non-empty subset
/// of the scope's effective clusters.
pub fn deployment_clusters(
    own: &BTreeSet<ClusterId>,
    group: &DeploymentGroup,
    scope: &Scope,
) -> Result<BTreeSet<ClusterId>> {
    let allowed = effective_clusters(group, scope)?;
    if own.is_empty() {
        if allowed.is_empty() {
            return Err(Error::policy(format!("scope {} has no clusters to run on", scope.code)));
        }
        return Ok(allowed);
    }
    match own.difference(&allowed).next() {
        Some(outside) => Err(Error::policy(format!("cluster {outside} is not allowed in scope {}", scope.code))),
        None => Ok(own.clone()),
    }
}

/// Checks that every cluster a deploy would use is `active`.
pub fn check_clusters_active<'a>(clusters: impl IntoIterator<Item = &'a Cluster>) -> Result<()> {
    for cluster in clusters {
        if cluster.state != ClusterState::Active {
            return Err(Error::policy(format!(
                "cluster {} is {}, not active; deploys need every cluster active",
                cluster.slug, cluster.state
            )));
        }
    }
    Ok(())
}

/// Checks that a scope holding `live_deployments` has room for one more.
pub fn check_limit(scope: &Scope, live_deployments: usize) -> Result<()> {
    match scope.deployment_limit {
        Some(limit) if live_deployments >= limit as usize => {
            Err(Error::policy(format!("scope {} is full: its deployment_limit is {limit}", scope.code)))
        }
        _ => Ok(()),
    }
}

/// Checks that the scope allows drops.
pub fn check_drop_allowed(scope: &Scope) -> Result<()> {
    if scope.allow_drop {
        Ok(())
    } else {
        Err(Error::policy(format!("scope {} does not allow dropping (allow_drop = false)", scope.code)))
    }
}

/// Everything a scope move needs to be judged.
#[derive(Debug, Clone, Copy)]
pub struct ScopeMove<'a> {
    /// The deployment to move.
    pub deployment: &'a Deployment,
    /// Its group.
    pub group: &'a DeploymentGroup,
    /// Its current scope.
    pub from: &'a Scope,
    /// The target scope.
    pub to: &'a Scope,
    /// Live deployments now in the target scope.
    pub live_in_target: usize,
    /// The deployment as a resource under its current scope's `role_to_admin`.
    pub from_resource: &'a Resource,
    /// The deployment as a resource under the target scope's `role_to_admin`.
    pub to_resource: &'a Resource,
}

/// Gates a move to another scope: same group only; the actor passes the
/// `role_to_admin` of both scopes; the target has room; the deployment's
/// clusters are allowed there. Returns the clusters it would run on.
pub fn check_scope_move(actor: Principal, m: &ScopeMove<'_>) -> Result<BTreeSet<ClusterId>> {
    if m.to.group_id != m.deployment.group_id || m.from.group_id != m.deployment.group_id {
        return Err(Error::policy("a deployment can only move to a scope of its own group"));
    }
    authorize(actor, Action::DeploymentAdmin, m.from_resource)?;
    authorize(actor, Action::DeploymentAdmin, m.to_resource)?;
    if m.from.id == m.to.id {
        return deployment_clusters(&m.deployment.cluster_ids, m.group, m.to);
    }
    check_limit(m.to, m.live_in_target)?;
    deployment_clusters(&m.deployment.cluster_ids, m.group, m.to)
}

/// What a timer asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimerAction {
    /// Pause the deployment.
    Pause,
    /// Drop the deployment.
    Drop,
}

/// The deadlines of a deployment's timers under its scope, whatever its state:
/// `(pause_at, drop_at)`. `drop_at` is `None` when the scope forbids drops.
pub fn timer_deadlines(deployment: &Deployment, scope: &Scope) -> (Option<Timestamp>, Option<Timestamp>) {
    let Some(entered) = deployment.entered_deploy_at else {
        return (None, None);
    };
    let pause = scope.deployment_pause_after_seconds.map(|s| entered.plus_seconds(s));
    let drop = scope.deployment_drop_after_seconds.filter(|_| scope.allow_drop).map(|s| entered.plus_seconds(s));
    (pause, drop)
}

/// The instant the deployment's next timer falls due in its current state,
/// if it has one: the pause deadline counts in `deploy`, the drop deadline
/// (when the scope allows drops) in `deploy` and `pause`.
pub fn next_timer_at(deployment: &Deployment, scope: &Scope) -> Option<Timestamp> {
    let (pause_at, drop_at) = timer_deadlines(deployment, scope);
    match deployment.state {
        LifecycleState::Deploy => match (pause_at, drop_at) {
            (Some(p), Some(d)) => Some(p.min(d)),
            (p, d) => p.or(d),
        },
        LifecycleState::Pause => drop_at,
        _ => None,
    }
}

/// The timer action due for `deployment` at `now`, if any (see the module docs).
pub fn due_timer(deployment: &Deployment, scope: &Scope, now: Timestamp) -> Option<TimerAction> {
    let (pause_at, drop_at) = timer_deadlines(deployment, scope);
    let state = deployment.state;
    let in_drop_states = matches!(state, LifecycleState::Deploy | LifecycleState::Pause);
    if in_drop_states && drop_at.is_some_and(|at| now >= at) {
        return Some(TimerAction::Drop);
    }
    if state == LifecycleState::Deploy && pause_at.is_some_and(|at| now >= at) {
        return Some(TimerAction::Pause);
    }
    None
}
