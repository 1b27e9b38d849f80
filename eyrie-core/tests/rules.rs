//! Scope rules, timers at their boundary instants, and the effective view.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use eyrie_core::rules::{
    ScopeMove, TimerAction, check_clusters_active, check_drop_allowed, check_limit, check_scope_clusters,
    check_scope_move, deployment_clusters, due_timer,
};
use eyrie_core::{
    ClusterId, ClusterState, EffectiveDeployment, ErrorKind, Grants, GroupType, LifecycleState, Role, Source, UserId,
};
use eyrie_testkit::builders::{self, T0};

fn ids(v: &[u64]) -> std::collections::BTreeSet<ClusterId> {
    v.iter().copied().map(ClusterId).collect()
}

mod timers {
    use super::*;

    const PAUSE: u64 = 3600;
    const DROP: u64 = 86_400;

    fn setup(allow_drop: bool, state: LifecycleState) -> (eyrie_core::Scope, eyrie_core::Deployment) {
        let project = builders::project(1, UserId(1));
        let group = builders::group(1, &project, GroupType::Odoo, &[1]);
        let mut scope = builders::scope(1, &group, "dev");
        scope.allow_drop = allow_drop;
        scope.deployment_pause_after_seconds = Some(PAUSE);
        scope.deployment_drop_after_seconds = Some(DROP);
        let mut d = builders::deployment(1, &group, &scope, "d");
        d.state = state;
        d.entered_deploy_at = Some(T0);
        (scope, d)
    }

    #[test]
    fn pause_fires_exactly_at_its_deadline() {
        for allow_drop in [true, false] {
            let (scope, d) = setup(allow_drop, LifecycleState::Deploy);
            let at = T0.plus_seconds(PAUSE);
            assert_eq!(due_timer(&d, &scope, eyrie_core::Timestamp(at.0 - 1000)), None, "one second before");
            assert_eq!(due_timer(&d, &scope, eyrie_core::Timestamp(at.0 - 1)), None, "one millisecond before");
            assert_eq!(due_timer(&d, &scope, at), Some(TimerAction::Pause), "exactly at");
            assert_eq!(due_timer(&d, &scope, at.plus_seconds(1)), Some(TimerAction::Pause), "after");
        }
    }

    #[test]
    fn drop_fires_at_its_deadline_only_when_the_scope_allows_it() {
        for state in [LifecycleState::Deploy, LifecycleState::Pause] {
            let (scope, d) = setup(true, state);
            let at = T0.plus_seconds(DROP);
            let before = due_timer(&d, &scope, eyrie_core::Timestamp(at.0 - 1000));
            assert_ne!(before, Some(TimerAction::Drop), "one second before, {state}");
            assert_eq!(due_timer(&d, &scope, at), Some(TimerAction::Drop), "exactly at, {state}");
            assert_eq!(due_timer(&d, &scope, at.plus_seconds(1)), Some(TimerAction::Drop), "after, {state}");

            let (scope, d) = setup(false, state);
            let expected = (state == LifecycleState::Deploy).then_some(TimerAction::Pause);
            assert_eq!(due_timer(&d, &scope, at), expected, "allow_drop = false never drops, {state}");
            assert_eq!(due_timer(&d, &scope, at.plus_seconds(DROP * 10)), expected);
        }
    }

    #[test]
    fn only_deploy_pauses_and_states_before_deploy_have_no_timers() {
        let far = T0.plus_seconds(DROP * 100);
        let (scope, d) = setup(true, LifecycleState::Pause);
        assert_eq!(due_timer(&d, &scope, T0.plus_seconds(PAUSE)), None, "a paused deployment is not paused again");
        for state in [LifecycleState::Draft, LifecycleState::Initialize, LifecycleState::Dropped] {
            let (scope, d) = setup(true, state);
            assert_eq!(due_timer(&d, &scope, far), None, "{state}");
        }
        let (scope, mut d) = setup(true, LifecycleState::Deploy);
        d.entered_deploy_at = None;
        assert_eq!(due_timer(&d, &scope, far), None, "never entered deploy");
    }

    #[test]
    fn timers_count_from_the_last_entry_into_deploy() {
        let (scope, mut d) = setup(true, LifecycleState::Deploy);
        d.entered_deploy_at = Some(T0.plus_seconds(500));
        assert_eq!(due_timer(&d, &scope, T0.plus_seconds(PAUSE)), None);
        assert_eq!(due_timer(&d, &scope, T0.plus_seconds(PAUSE + 500)), Some(TimerAction::Pause));
    }
}

#[test]
fn scope_clusters_must_narrow_the_groups() {
    let project = builders::project(1, UserId(1));
    let group = builders::group(1, &project, GroupType::Odoo, &[1, 2]);
    assert!(check_scope_clusters(&group, &ids(&[1])).is_ok());
    assert!(check_scope_clusters(&group, &ids(&[])).is_ok());
    let e = check_scope_clusters(&group, &ids(&[1, 3])).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PolicyViolation);
    assert!(e.to_string().contains("cls-0000000000000003"), "{e}");
}

#[test]
fn deployment_clusters_inherit_or_narrow() {
    let project = builders::project(1, UserId(1));
    let group = builders::group(1, &project, GroupType::Odoo, &[1, 2, 3]);
    let mut scope = builders::scope(1, &group, "prod");
    assert_eq!(deployment_clusters(&ids(&[]), &group, &scope).unwrap(), ids(&[1, 2, 3]));
    scope.deployment_cluster_ids = ids(&[2, 3]);
    assert_eq!(deployment_clusters(&ids(&[]), &group, &scope).unwrap(), ids(&[2, 3]));
    assert_eq!(deployment_clusters(&ids(&[3]), &group, &scope).unwrap(), ids(&[3]));
    assert_eq!(deployment_clusters(&ids(&[1]), &group, &scope).unwrap_err().kind(), ErrorKind::PolicyViolation);
}

#[test]
fn deploys_need_every_cluster_active() {
    let active = builders::cluster(1, ClusterState::Active);
    let init = builders::cluster(2, ClusterState::Init);
    assert!(check_clusters_active([&active]).is_ok());
    let e = check_clusters_active([&active, &init]).unwrap_err();
    assert!(e.to_string().contains("cluster-2 is init"), "{e}");
}

#[test]
fn limits_and_drops() {
    let project = builders::project(1, UserId(1));
    let group = builders::group(1, &project, GroupType::Odoo, &[1]);
    let mut scope = builders::scope(1, &group, "prod");
    assert!(check_limit(&scope, 1_000_000).is_ok(), "None = unlimited");
    scope.deployment_limit = Some(2);
    assert!(check_limit(&scope, 1).is_ok());
    assert_eq!(check_limit(&scope, 2).unwrap_err().kind(), ErrorKind::PolicyViolation);
    scope.deployment_limit = Some(0);
    assert!(check_limit(&scope, 0).is_err());
    assert!(check_drop_allowed(&scope).is_ok());
    scope.allow_drop = false;
    assert!(check_drop_allowed(&scope).unwrap_err().to_string().contains("allow_drop"));
}

#[test]
fn scope_moves_are_gated() {
    let project = builders::project(1, UserId(1));
    let group = builders::group(1, &project, GroupType::Odoo, &[1, 2]);
    let other_group = builders::group(2, &project, GroupType::Odoo, &[1, 2]);
    let mut dev = builders::scope(1, &group, "dev");
    dev.role_to_admin = Role::Developer;
    let mut prod = builders::scope(2, &group, "prod");
    prod.role_to_admin = Role::Admin;
    prod.deployment_limit = Some(1);
    prod.deployment_cluster_ids = ids(&[1]);
    let foreign = builders::scope(3, &other_group, "prod");
    let mut d = builders::deployment(1, &group, &dev, "d");
    let member = |role| Grants { project: Some(role), ..Grants::default() };
    let check = |actor, d: &eyrie_core::Deployment, to: &eyrie_core::Scope, live, grants| {
        let from_r = builders::deployment_resource(&project, &dev, d, grants);
        let to_r = builders::deployment_resource(&project, to, d, grants);
        let m = ScopeMove {
            deployment: d,
            group: &group,
            from: &dev,
            to,
            live_in_target: live,
            from_resource: &from_r,
            to_resource: &to_r,
        };
        check_scope_move(actor, &m)
    };
    let dev_user = builders::user(2);
    assert_eq!(check(dev_user, &d, &foreign, 0, member(Role::Admin)).unwrap_err().kind(), ErrorKind::PolicyViolation);
    let e = check(dev_user, &d, &prod, 0, member(Role::Developer)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "prod's role_to_admin is admin: {e}");
    assert_eq!(check(dev_user, &d, &prod, 1, member(Role::Admin)).unwrap_err().kind(), ErrorKind::PolicyViolation);
    assert_eq!(check(dev_user, &d, &prod, 0, member(Role::Admin)).unwrap(), ids(&[1]));
    d.cluster_ids = ids(&[2]);
    let e = check(dev_user, &d, &prod, 0, member(Role::Admin)).unwrap_err();
    assert!(e.to_string().contains("not allowed in scope prod"), "{e}");
}

#[test]
fn effective_view_resolves_deployment_scope_group_default() {
    let mut project = builders::project(1, UserId(1));
    project.domain = Some("acme.example".parse().unwrap());
    let mut group = builders::group(1, &project, GroupType::Odoo, &[1, 2]);
    group.settings.replicas = Some(2);
    group.settings.cpu_request = Some("1".parse().unwrap());
    group.settings.memory_limit = Some("3Gi".parse().unwrap());
    group.settings.params.insert("workers".into(), "8".into());
    group.settings.params.insert("db_filter".into(), "^shop$".into());
    let mut scope = builders::scope(1, &group, "prod");
    scope.settings.replicas = Some(3);
    scope.settings.cpu_request = Some("2".parse().unwrap());
    scope.settings.params.insert("workers".into(), "16".into());
    scope.deployment_cluster_ids = ids(&[2]);
    let mut d = builders::deployment(1, &group, &scope, "shop");
    d.settings.replicas = Some(5);
    d.settings.params.insert("limit_time".into(), "60".into());

    let e = EffectiveDeployment::resolve(&project, &group, &scope, &d).unwrap();
    assert_eq!((e.replicas.value, e.replicas.source), (5, Source::Deployment));
    assert_eq!((e.cpu_request.value.as_str(), e.cpu_request.source), ("2", Source::Scope));
    assert_eq!((e.memory_limit.value.as_str(), e.memory_limit.source), ("3Gi", Source::Group));
    assert_eq!((e.storage_size.value.as_str(), e.storage_size.source), ("10Gi", Source::Default));
    assert_eq!(e.params["workers"].value, "16");
    assert_eq!(e.params["workers"].source, Source::Scope);
    assert_eq!(e.params["db_filter"].source, Source::Group, "params merge key by key");
    assert_eq!(e.params["limit_time"].source, Source::Deployment);
    assert_eq!((e.cluster_ids.value.clone(), e.cluster_ids.source), (ids(&[2]), Source::Scope));
    let host = e.host.clone().unwrap();
    assert_eq!((host.value.as_str(), host.source), ("shop.acme.example", Source::Project));
    assert_eq!(e.namespace.value, d.namespace());
    assert_eq!(e.group_type, GroupType::Odoo, "the type is always the group's");

    scope.root_subdomain = Some("prod.acme.example".parse().unwrap());
    let e = EffectiveDeployment::resolve(&project, &group, &scope, &d).unwrap();
    assert_eq!(e.host.as_ref().unwrap().value, "shop.prod.acme.example");
    assert!(e.entries().iter().any(|(k, v, s)| k == "replicas" && v == "5" && *s == Source::Deployment));

    let other_group = builders::group(2, &project, GroupType::Odoo, &[1]);
    assert!(EffectiveDeployment::resolve(&project, &other_group, &scope, &d).is_err());
}

#[test]
fn groups_and_deployments_expose_the_project_namespace() {
    let project = builders::project(7, UserId(1));
    let group = builders::group(1, &project, GroupType::Pgo, &[1]);
    let scope = builders::scope(1, &group, "dev");
    let d = builders::deployment(1, &group, &scope, "db");
    let ns = eyrie_core::Namespace::name_for(project.namespace_uid);
    assert_eq!(group.namespace(), ns);
    assert_eq!(d.namespace(), ns);
    assert!(!ns.contains(project.slug.as_str()), "never derived from the slug");
}
