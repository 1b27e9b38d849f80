//! Property tests over arbitrary hierarchies, grants and transitions.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::collections::BTreeSet;

use eyrie_core::permission::Requirement;
use eyrie_core::rules::{deployment_clusters, effective_clusters};
use eyrie_core::validate::is_dns_label;
use eyrie_core::{
    Action, ClusterId, ClusterState, GroupType, InvitationState, LifecycleState, Principal, Resource, Role, Slug,
    UserId, explain,
};
use eyrie_testkit::{builders, strategies as st};
use proptest::prelude::*;

fn with_grants(resource: &Resource, f: impl FnOnce(&mut eyrie_core::Grants)) -> Resource {
    let mut r = *resource;
    match &mut r {
        Resource::Global => {}
        Resource::Project { grants, .. } | Resource::Group { grants, .. } | Resource::Deployment { grants, .. } => {
            f(grants)
        }
    }
    r
}

fn tenant_scoped(action: Action) -> bool {
    !matches!(action.requirement(), Requirement::Anyone | Requirement::PlatformAdmin)
}

/// Walks `steps` from `start`: every accepted move must be an edge of the
/// spec's graph and every refused one must not be.
fn walk<S: Copy + PartialEq + std::fmt::Debug>(
    start: S,
    steps: &[S],
    edges: &[(S, S)],
    transition: impl Fn(S, S) -> eyrie_core::Result<S>,
) -> Result<(), TestCaseError> {
    let mut state = start;
    for &to in steps {
        match transition(state, to) {
            Ok(next) => {
                prop_assert!(edges.contains(&(state, to)), "{state:?} -> {to:?} was accepted");
                state = next;
            }
            Err(_) => prop_assert!(!edges.contains(&(state, to)), "{state:?} -> {to:?} was refused"),
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn no_grant_means_every_tenant_action_is_refused(
        resource in st::tenant_resource(),
        action in st::action(),
        platform_admin in any::<bool>(),
    ) {
        prop_assume!(tenant_scoped(action));
        let resource = with_grants(&resource, |g| *g = eyrie_core::Grants::default());
        let owner = resource.project().map(|p| p.owner);
        let stranger = UserId(99);
        prop_assume!(owner != Some(stranger));
        let decision = explain(Principal::User { id: stranger, platform_admin }, action, &resource);
        prop_assert!(!decision.allowed, "{decision}");
    }

    #[test]
    fn the_owner_may_do_everything_in_their_project(
        resource in st::tenant_resource(),
        action in st::action(),
        platform_admin in any::<bool>(),
    ) {
        prop_assume!(action.requirement() != Requirement::PlatformAdmin);
        let owner = resource.project().map(|p| p.owner).unwrap_or(UserId(1));
        let decision = explain(Principal::User { id: owner, platform_admin }, action, &resource);
        prop_assert!(decision.allowed, "{decision}");
    }

    #[test]
    fn raising_one_grant_never_removes_a_permission(
        resource in st::tenant_resource(),
        action in st::action(),
        actor in st::user_principal(),
        level in 0u8..3,
        raise_to in st::role(),
    ) {
        let before = explain(actor, action, &resource);
        let raised = with_grants(&resource, |g| {
            let slot = match level { 0 => &mut g.project, 1 => &mut g.group, _ => &mut g.deployment };
            if let Some(current) = slot {
                *current = (*current).max(raise_to);
            }
        });
        let after = explain(actor, action, &raised);
        prop_assert!(!before.allowed || after.allowed, "before: {before}; after: {after}");
    }

    #[test]
    fn effective_clusters_are_a_subset_of_the_groups(
        group_clusters in st::cluster_ids(),
        scope_clusters in st::cluster_ids(),
        own in st::cluster_ids(),
    ) {
        let project = builders::project(1, UserId(1));
        let group_ids: Vec<u64> = group_clusters.iter().copied().collect();
        let group = builders::group(1, &project, GroupType::Odoo, &group_ids);
        let mut scope = builders::scope(1, &group, "dev");
        scope.deployment_cluster_ids = scope_clusters.iter().copied().map(ClusterId).collect();
        match effective_clusters(&group, &scope) {
            Ok(effective) => {
                prop_assert!(effective.is_subset(&group.group_cluster_ids));
                let own: BTreeSet<ClusterId> = own.iter().copied().map(ClusterId).collect();
                if let Ok(chosen) = deployment_clusters(&own, &group, &scope) {
                    prop_assert!(!chosen.is_empty());
                    prop_assert!(chosen.is_subset(&effective));
                }
            }
            Err(_) => prop_assert!(!scope.deployment_cluster_ids.is_subset(&group.group_cluster_ids)),
        }
    }

    #[test]
    fn accepted_slugs_are_dns_labels(text in "[a-z0-9-]{0,70}|.{0,20}") {
        if let Ok(slug) = text.parse::<Slug>() {
            prop_assert!(is_dns_label(slug.as_str()));
            prop_assert_eq!(slug.as_str(), text.as_str());
        } else {
            prop_assert!(!is_dns_label(&text));
        }
    }

    #[test]
    fn every_slug_derived_from_a_name_is_accepted(name in st::human_name()) {
        let slug = Slug::from_name(&name);
        prop_assert!(is_dns_label(slug.as_str()), "{:?} -> {:?}", name, slug);
        prop_assert_eq!(slug.as_str().parse::<Slug>().ok(), Some(slug.clone()));
        prop_assert_eq!(Slug::from_name(&name), slug);
    }

    #[test]
    fn deployment_transitions_stay_in_the_graph(steps in proptest::collection::vec(st::lifecycle_state(), 0..40)) {
        use LifecycleState::*;
        let edges = [(Draft, Initialize), (Initialize, Deploy), (Deploy, Pause), (Pause, Deploy),
            (Draft, Dropped), (Initialize, Dropped), (Deploy, Dropped), (Pause, Dropped)];
        walk(Draft, &steps, &edges, |from, to| from.transition(to))?;
    }

    #[test]
    fn cluster_transitions_stay_in_the_graph(steps in proptest::collection::vec(st::cluster_state(), 0..40)) {
        use ClusterState::*;
        let edges = [(Draft, Init), (Init, Active), (Active, Transitioning), (Transitioning, Cancel), (Cancel, Delete),
            (Transitioning, Active), (Draft, Cancel), (Init, Cancel), (Active, Cancel)];
        walk(Draft, &steps, &edges, |from, to| from.transition(to))?;
    }

    #[test]
    fn invitation_transitions_stay_in_the_graph(steps in proptest::collection::vec(st::invitation_state(), 0..10)) {
        let mut state = InvitationState::Pending;
        let mut moves = 0;
        for to in steps {
            if let Ok(next) = state.transition(to) {
                prop_assert_eq!(state, InvitationState::Pending);
                prop_assert_ne!(next, InvitationState::Pending);
                state = next;
                moves += 1;
            }
        }
        prop_assert!(moves <= 1, "an invitation is answered at most once");
    }
}

#[test]
fn platform_admins_manage_clusters_but_not_tenants() {
    let admin = Principal::User { id: UserId(9), platform_admin: true };
    let project = builders::project(1, UserId(1));
    let resource = Resource::Project { project: builders::facts(&project), grants: Default::default() };
    assert!(explain(admin, Action::ManageClusters, &resource).allowed);
    assert!(explain(admin, Action::ManageClusters, &Resource::Global).allowed);
    assert!(!explain(admin, Action::ReadProject, &resource).allowed);
    assert!(!explain(Principal::user(UserId(2)), Action::ManageClusters, &Resource::Global).allowed);
    let member = Resource::Project {
        project: builders::facts(&project),
        grants: eyrie_core::Grants { project: Some(Role::User), ..Default::default() },
    };
    assert!(explain(admin, Action::ReadProject, &member).allowed, "with a membership, like anyone");
}
