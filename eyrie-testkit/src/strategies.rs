//! proptest strategies for the core's values.

use std::collections::BTreeSet;

use eyrie_core::{
    Action, ClusterState, DeploymentId, Grants, GroupId, InvitationState, LifecycleState, Principal, ProjectFacts,
    ProjectId, Resource, Role, UserId,
};
use proptest::prelude::*;
use proptest::sample::select;

/// Any role.
pub fn role() -> impl Strategy<Value = Role> {
    select(Role::ALL.to_vec())
}

/// Any role or none.
pub fn maybe_role() -> impl Strategy<Value = Option<Role>> {
    proptest::option::of(role())
}

/// Any action.
pub fn action() -> impl Strategy<Value = Action> {
    select(Action::ALL.to_vec())
}

/// Any grants, each level present or not.
pub fn grants() -> impl Strategy<Value = Grants> {
    (maybe_role(), maybe_role(), maybe_role()).prop_map(|(project, group, deployment)| Grants {
        project,
        group,
        deployment,
    })
}

/// A user principal with id 1–5 (1 tends to be an owner), platform admin or not.
pub fn user_principal() -> impl Strategy<Value = Principal> {
    (1u64..=5, any::<bool>()).prop_map(|(id, platform_admin)| Principal::User { id: UserId(id), platform_admin })
}

/// Project facts with owner 1–5 and either blocking state.
pub fn project_facts() -> impl Strategy<Value = ProjectFacts> {
    (1u64..=5, any::<bool>()).prop_map(|(owner, portal_blocked)| ProjectFacts {
        id: ProjectId(1),
        owner: UserId(owner),
        portal_blocked,
    })
}

/// A project, group or deployment resource of one project, with any grants.
pub fn tenant_resource() -> impl Strategy<Value = Resource> {
    (project_facts(), grants(), role(), 0u8..3).prop_map(|(project, grants, role_to_admin, level)| match level {
        0 => Resource::Project { project, grants },
        1 => Resource::Group { project, group: GroupId(1), grants },
        _ => Resource::Deployment { project, group: GroupId(1), deployment: DeploymentId(1), role_to_admin, grants },
    })
}

/// A set of up to 6 cluster ids from 1–8.
pub fn cluster_ids() -> impl Strategy<Value = BTreeSet<u64>> {
    proptest::collection::btree_set(1u64..=8, 0..6)
}

/// Any deployment state.
pub fn lifecycle_state() -> impl Strategy<Value = LifecycleState> {
    select(LifecycleState::ALL.to_vec())
}

/// Any cluster state.
pub fn cluster_state() -> impl Strategy<Value = ClusterState> {
    select(ClusterState::ALL.to_vec())
}

/// Any invitation state.
pub fn invitation_state() -> impl Strategy<Value = InvitationState> {
    select(InvitationState::ALL.to_vec())
}

/// Any human name: printable text of 0–80 characters from several scripts.
pub fn human_name() -> impl Strategy<Value = String> {
    "[ a-zA-Z0-9_.,!?'&éèüößçñøåæœ日本語Ωж-]{0,80}"
}

/// Any valid inheritable settings (no references to other records).
pub fn settings() -> impl Strategy<Value = eyrie_core::Settings> {
    let quantity = || proptest::option::of(select(vec!["100m", "250m", "1", "2", "512Mi", "1Gi", "10Gi"]));
    (
        proptest::option::of(0u32..=eyrie_core::model::MAX_REPLICAS),
        quantity(),
        quantity(),
        quantity(),
        quantity(),
        quantity(),
    )
        .prop_map(|(replicas, cpu_r, cpu_l, mem_r, mem_l, storage)| {
            let q = |v: Option<&str>| v.and_then(|s| s.parse().ok());
            let mut s = eyrie_core::Settings::default();
            (s.replicas, s.cpu_request, s.cpu_limit) = (replicas, q(cpu_r), q(cpu_l));
            (s.memory_request, s.memory_limit, s.storage_size) = (q(mem_r), q(mem_l), q(storage));
            s
        })
}

/// A seed for [`crate::conformance::model_based`]: each seed is one random
/// sequence of store operations (creates, updates, deletes, checks).
pub fn operation_seed() -> impl Strategy<Value = u64> {
    any::<u64>()
}
